//! API keys of machine clients: how a key looks, how it is made and how it is kept.
//!
//! A key is `alpes_sk_` followed by 40 base62 characters (about 238 random bits). Only
//! its SHA-256 is stored; a key that random needs no slow hash, and a lookup by hash
//! finds it in one indexed read.

use rand::{distributions::Alphanumeric, Rng};

/// Every key starts with this, so a leaked one is recognisable (secret scanners) and
/// the service tells a key from a JWT at a glance.
pub const PREFIX: &str = "alpes_sk_";

const RANDOM_CHARS: usize = 40;

/// How many characters of a key are kept in the clear to recognise it in lists.
const SHOWN_CHARS: usize = PREFIX.len() + 6;

/// A new key, never stored as it is.
pub fn generate() -> String {
    let random: String = rand::thread_rng().sample_iter(&Alphanumeric).take(RANDOM_CHARS).map(char::from).collect();
    format!("{PREFIX}{random}")
}

/// Does this credential look like an API key (rather than a JWT)?
pub fn looks_like_key(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

/// Is this a well-formed key? Anything else is refused before any lookup.
pub fn well_formed(key: &str) -> bool {
    key.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.len() == RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// What is stored and looked up: the SHA-256 of the key, hex.
pub fn hash(key: &str) -> String {
    crate::pii::sha256_hex(key)
}

/// The part of a key shown in lists (`alpes_sk_Ab3dE9…`).
pub fn shown_part(key: &str) -> String {
    key.chars().take(SHOWN_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_well_formed_and_recognised() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(well_formed(&a) && looks_like_key(&a));
        assert_eq!(a.len(), PREFIX.len() + RANDOM_CHARS);
        assert!(!well_formed(&format!("{a}x")));
        assert!(!well_formed("alpes_sk_short"));
        assert!(!well_formed(&a.replace(PREFIX, "alpes_pk_")));
        assert!(!looks_like_key("eyJhbGciOiJIUzI1NiJ9.e30.x"));
        assert_eq!(shown_part(&a).len(), PREFIX.len() + 6);
        assert!(a.starts_with(&shown_part(&a)));
    }

    #[test]
    fn only_the_hash_is_kept_and_it_is_stable() {
        let key = generate();
        assert_eq!(hash(&key), hash(&key));
        assert_eq!(hash(&key).len(), 64);
        assert!(!hash(&key).contains(&key[PREFIX.len()..]));
    }
}
