//! Personal data: normalised and hashed before storage, masked on read.

use sha2::{Digest, Sha256};

/// SHA-256 of a string, lower-case hex (the form Meta's CAPI expects).
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Email normalised as Meta requires (trimmed, lower-case), then hashed.
pub fn hash_email(email: &str) -> String {
    sha256_hex(&email.trim().to_lowercase())
}

/// Phone normalised to digits only (country code included by the caller), then hashed.
pub fn hash_phone(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| sha256_hex(&digits))
}

/// A salted hash of an IP address; the raw address is never stored.
pub fn hash_ip(ip: &str, salt: &str) -> String {
    sha256_hex(&format!("{salt}:{}", ip.trim()))
}

/// Shows only the last four characters of an account number: `••••••7890`.
pub fn mask_account(number: &str) -> String {
    let chars: Vec<char> = number.chars().filter(|c| !c.is_whitespace()).collect();
    let visible = chars.len().min(4);
    let hidden = chars.len() - visible;
    let tail: String = chars[hidden..].iter().collect();
    format!("{}{}", "•".repeat(hidden.max(4)), tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_hash_is_normalised() {
        assert_eq!(hash_email(" John@Example.com "), hash_email("john@example.com"));
        // Known SHA-256 of "john@example.com".
        assert_eq!(hash_email("john@example.com"), "855f96e983f1f8e8be944692b6f719fd54329826cb62e98015efee8e2e071dd4");
    }

    #[test]
    fn phone_hash_uses_digits_only() {
        assert_eq!(hash_phone("+57 300 123 4567"), hash_phone("573001234567"));
        assert_eq!(hash_phone("n/a"), None);
    }

    #[test]
    fn ip_hash_depends_on_salt() {
        assert_ne!(hash_ip("192.168.1.1", "a"), hash_ip("192.168.1.1", "b"));
        assert!(!hash_ip("192.168.1.1", "a").contains("192"));
    }

    #[test]
    fn account_numbers_are_masked() {
        assert_eq!(mask_account("1234567890"), "••••••7890");
        assert_eq!(mask_account("12"), "••••12");
        assert!(!mask_account("1234567890").contains("123456"));
    }
}
