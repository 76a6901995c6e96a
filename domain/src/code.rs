//! Human-readable unique codes (slugs) for affiliates, campaigns and links.

use crate::error::DomainError;

/// Turns a name into a slug: lower-case ASCII letters, digits and dashes.
/// Accents are folded (`Campaña Otoño` → `campana-otono`).
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for ch in name.chars().flat_map(fold_accent) {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug.truncate(48);
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        slug.push('x');
    }
    slug
}

fn fold_accent(ch: char) -> impl Iterator<Item = char> {
    let folded = match ch {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ñ' | 'Ñ' => 'n',
        'ç' | 'Ç' => 'c',
        other => other,
    };
    std::iter::once(folded)
}

/// A code given by a client: 2–64 characters of `a-z 0-9 - _`, stored lower-case.
pub fn parse(value: &str, field: &str) -> Result<String, DomainError> {
    let code = value.trim().to_ascii_lowercase();
    let valid = (2..=64).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && code.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(code)
    } else {
        Err(DomainError::invalid(
            field,
            "code must be 2-64 characters of letters, digits, '-' or '_', starting with a letter or digit",
        ))
    }
}

/// A short random code for tracking links (URL-safe, unambiguous letters).
/// Words a chosen link code may not contain: a link `/r/account-login` to another host is
/// a phishing lure that looks like ours.
const RESERVED_WORDS: [&str; 16] = [
    "account", "admin", "alpes", "api", "auth", "billing", "graphql", "login", "logout", "oauth", "password",
    "payment", "secure", "signin", "support", "verify",
];

/// A chosen tracking-link code: a valid [`parse`]d code without a reserved word.
pub fn link_code(value: &str, field: &str) -> Result<String, DomainError> {
    let code = parse(value, field)?;
    let compact: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    match RESERVED_WORDS.iter().find(|word| compact.contains(*word)) {
        Some(word) => Err(DomainError::invalid(field, format!("codes with \"{word}\" are reserved"))),
        None => Ok(code),
    }
}

pub fn random_short(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..len).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_link_codes() {
        assert!(link_code("account-login", "code").is_err());
        assert!(link_code("Sign_In", "code").is_err());
        assert!(link_code("summer-sale", "code").is_ok());
    }

    #[test]
    fn slugs() {
        let cases = [
            ("María González", "maria-gonzalez"),
            ("Campaña Black Friday 2023", "campana-black-friday-2023"),
            ("  --Hello__World!! ", "hello-world"),
            ("!!!", "x"),
        ];
        for (name, slug) in cases {
            assert_eq!(slugify(name), slug, "{name}");
        }
        assert!(slugify(&"a".repeat(100)).len() <= 48);
    }

    #[test]
    fn given_codes() {
        assert_eq!(parse(" AF-Maria_1 ", "code").ok().as_deref(), Some("af-maria_1"));
        for bad in ["a", "-abc", "has space", "ñandu", &"x".repeat(65)] {
            assert!(parse(bad, "code").is_err(), "{bad}");
        }
    }

    #[test]
    fn random_codes_have_the_length_asked() {
        let a = random_short(8);
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
