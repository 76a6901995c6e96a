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

/// Keys of a customer record whose values identify a person (Spanish and English, as shops
/// send them): stored only as hashes.
const IDENTIFYING_KEYS: [&str; 27] = [
    "nombre",
    "nombres",
    "name",
    "full_name",
    "first_name",
    "last_name",
    "apellido",
    "apellidos",
    "telefono",
    "teléfono",
    "phone",
    "celular",
    "movil",
    "móvil",
    "mobile",
    "email",
    "correo",
    "direccion",
    "dirección",
    "address",
    "documento",
    "document",
    "cedula",
    "cédula",
    "dni",
    "ip",
    "fecha_nacimiento",
];

/// A customer record as it may be stored: values under identifying keys (at any depth)
/// replaced by their SHA-256 (phones as digits, the rest trimmed and lower-cased, as Meta
/// matches them); other keys (a city, a segment) kept as sent.
pub fn minimise_customer(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| {
                    let lower = key.to_lowercase();
                    let identifying = IDENTIFYING_KEYS.contains(&lower.as_str())
                        || lower.ends_with("_ip")
                        || lower.contains("ip_address");
                    let value = if identifying { hash_value(&lower, value) } else { minimise_customer(value) };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(minimise_customer).collect()),
        other => other,
    }
}

fn hash_value(key: &str, value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text)
            if ["telefono", "teléfono", "phone", "celular", "movil", "móvil", "mobile"].contains(&key) =>
        {
            hash_phone(&text).map_or(Value::Null, Value::String)
        }
        Value::String(text) => Value::String(sha256_hex(&text.trim().to_lowercase())),
        Value::Number(n) => Value::String(sha256_hex(&n.to_string())),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, hash_value("", v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| hash_value(key, v)).collect()),
        other => other,
    }
}

/// An outbound request as it may be logged: client IP addresses replaced (the platform
/// needs them raw; our log does not).
pub fn redact_ips(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                let lower = key.to_lowercase();
                if lower == "ip" || lower.ends_with("ip_address") || lower.ends_with("_ip") {
                    if field.is_string() {
                        *field = Value::String("[redacted]".into());
                    }
                } else {
                    redact_ips(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_ips),
        _ => {}
    }
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
    fn customer_records_keep_only_hashes_of_who_the_customer_is() {
        let stored = minimise_customer(serde_json::json!({
            "nombre": " Ana Pérez ", "telefono": "+57 300 123 4567", "ubicacion": "Bogotá",
            "direccion": { "calle": "Cra 7 # 12-34", "ciudad": "Bogotá" }, "client_ip_address": "203.0.113.9",
            "segmento": "premium"
        }));
        assert_eq!(stored["nombre"], sha256_hex("ana pérez"));
        assert_eq!(stored["telefono"], hash_phone("573001234567").unwrap_or_default());
        assert_eq!(stored["ubicacion"], "Bogotá");
        assert_eq!(stored["segmento"], "premium");
        assert_eq!(stored["direccion"]["calle"], sha256_hex("cra 7 # 12-34"));
        assert_ne!(stored["client_ip_address"], "203.0.113.9");
        let text = stored.to_string();
        for raw in ["Ana", "300 123", "Cra 7", "203.0.113"] {
            assert!(!text.contains(raw), "{raw} in {text}");
        }
    }

    #[test]
    fn logged_requests_lose_their_ips() {
        let mut request =
            serde_json::json!({ "data": [{ "user_data": { "client_ip_address": "203.0.113.9", "em": ["x"] } }] });
        redact_ips(&mut request);
        assert_eq!(request["data"][0]["user_data"]["client_ip_address"], "[redacted]");
        assert_eq!(request["data"][0]["user_data"]["em"][0], "x");
    }

    #[test]
    fn account_numbers_are_masked() {
        assert_eq!(mask_account("1234567890"), "••••••7890");
        assert_eq!(mask_account("12"), "••••12");
        assert!(!mask_account("1234567890").contains("123456"));
    }
}
