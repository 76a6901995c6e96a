//! Input checks shared by every entry point (GraphQL, REST, CLI).

use crate::error::DomainError;

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces.
/// Returns it trimmed and lower-cased, the form we store and compare.
pub fn email(value: &str) -> Result<String, DomainError> {
    let email = value.trim().to_lowercase();
    let valid = email.len() <= 320
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(DomainError::invalid("email", format!("'{value}' is not a valid email address")))
    }
}

/// A required free-text field: trimmed, not empty, at most `max` characters.
pub fn text(value: &str, field: &str, max: usize) -> Result<String, DomainError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(field, format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(DomainError::invalid(field, format!("{field} must be at most {max} characters")));
    }
    Ok(trimmed.to_string())
}

/// An optional free-text field: blank becomes `None`.
pub fn optional_text(value: Option<&str>, field: &str, max: usize) -> Result<Option<String>, DomainError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(v, field, max).map(Some),
    }
}

/// A password for a person: long enough to resist guessing.
pub fn password(value: &str) -> Result<(), DomainError> {
    let refuse = |why: &str| Err(DomainError::invalid("password", why));
    if value.chars().count() < MIN_PASSWORD_CHARS {
        return refuse("password must be at least 12 characters");
    }
    if value.len() > 1024 {
        return refuse("password is too long");
    }
    let lower = value.to_lowercase();
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if distinct.len() < 5 {
        return refuse("password has too few different characters");
    }
    // A common password as it is, or with digits and symbols added at the end
    // ("password2024!", "qwertyuiop123").
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ');
    if is_common_password(&lower) || (stem.chars().count() >= 6 && is_common_password(stem)) {
        return refuse("password is too common: it is in lists that attackers try first");
    }
    Ok(())
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Lower-cased common passwords of six characters or more (the list of zxcvbn-ts,
/// `@zxcvbn-ts/language-common` 4.1.3, MIT licence: leaked-password frequency lists).
static COMMON_PASSWORDS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| include_str!("common_passwords.txt").lines().collect());

fn is_common_password(lowercase: &str) -> bool {
    COMMON_PASSWORDS.contains(lowercase)
}

/// An absolute http(s) URL, as a tracking link's destination.
pub fn http_url(value: &str, field: &str) -> Result<String, DomainError> {
    let url = value.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| DomainError::invalid(field, "URL must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::invalid(field, format!("'{value}' is not a valid URL")));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let good = [("Maria.Gonzalez@Email.com ", "maria.gonzalez@email.com"), ("a+b@x.co", "a+b@x.co")];
        for (input, stored) in good {
            assert_eq!(email(input).ok().as_deref(), Some(stored), "{input}");
        }
        for bad in ["", "plain", "a@b", "@x.com", "a@@x.com", "a b@x.com", "a@.x.com", "a@x..com", "a@x.com."] {
            assert!(email(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn texts() {
        assert_eq!(text("  Ana ", "name", 10).ok().as_deref(), Some("Ana"));
        assert!(text("   ", "name", 10).is_err());
        assert!(text("abcdefghijk", "name", 10).is_err());
        assert_eq!(optional_text(Some("  "), "phone", 10).ok(), Some(None));
    }

    #[test]
    fn urls() {
        assert!(http_url("https://shop.example.com/p?x=1", "u").is_ok());
        for bad in ["ftp://x.com", "https://", "shop.example.com", "https://a b.com", "javascript:alert(1)"] {
            assert!(http_url(bad, "u").is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(password("short").is_err());
        assert!(password("eleven char").is_err(), "12 characters at least");
        assert!(password("long enough pass").is_ok());
        assert!(password("correct horse battery staple").is_ok());
        for common in [
            "aaaaaaaaaaaa",
            "abababab1212",
            "123456789012",
            "qwertyuiop123",
            "Password2024!",
            "administrator",
            "1qaz2wsx3edc",
        ] {
            assert!(password(common).is_err(), "{common}");
        }
    }
}
