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

/// The mark a minimised Stripe event carries: its personal values are hashes now.
pub const MINIMISED_MARK: &str = "alpes_personal_data";

/// Has this stored Stripe event been minimised ([`minimise_stripe_event`])?
pub fn is_minimised(payload: &serde_json::Value) -> bool {
    payload.get(MINIMISED_MARK).and_then(serde_json::Value::as_str) == Some("hashed")
}

/// A Stripe event as it is kept once its raw personal data is no longer needed: the
/// object's identifying values (customer name, email, phone, address, IPs — at any
/// depth) replaced by their SHA-256 as [`minimise_customer`] does, and the event marked so
/// that a replay reads them as hashes. `None` when it is minimised already.
pub fn minimise_stripe_event(payload: &serde_json::Value) -> Option<serde_json::Value> {
    if is_minimised(payload) {
        return None;
    }
    let mut minimised = payload.clone();
    if let Some(data) = minimised.get_mut("data").and_then(serde_json::Value::as_object_mut) {
        for key in ["object", "previous_attributes"] {
            if let Some(value) = data.remove(key) {
                data.insert(key.to_string(), minimise_stripe_object(value));
            }
        }
    }
    if let Some(event) = minimised.as_object_mut() {
        event.insert(MINIMISED_MARK.to_string(), serde_json::Value::String("hashed".into()));
    }
    Some(minimised)
}

/// [`minimise_customer`], plus the email keys Stripe puts outside a customer record.
fn minimise_stripe_object(value: serde_json::Value) -> serde_json::Value {
    let mut value = minimise_customer(value);
    if let Some(fields) = value.as_object_mut() {
        for key in ["customer_email", "receipt_email"] {
            if let Some(serde_json::Value::String(email)) = fields.get(key) {
                let hashed = hash_email(email);
                fields.insert(key.to_string(), serde_json::Value::String(hashed));
            }
        }
    }
    value
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
    fn stripe_events_keep_ids_and_amounts_but_only_hashes_of_the_customer() {
        let event = serde_json::json!({
            "id": "evt_1", "type": "checkout.session.completed",
            "data": { "object": {
                "id": "cs_1", "amount_total": 4900, "currency": "usd", "client_reference_id": "click-1",
                "customer_email": "Ana@Example.com",
                "customer_details": { "email": "Ana@Example.com", "name": "Ana Gómez", "phone": "+57 300 123 4567",
                                      "address": { "line1": "Calle 1", "city": "Bogotá" } },
                "metadata": { "campaign": "spring", "client_ip_address": "203.0.113.9" }
            }}
        });
        let Some(kept) = minimise_stripe_event(&event) else { panic!("a raw event is minimised") };
        let text = kept.to_string();
        for raw in ["Ana@Example.com", "Ana Gómez", "300 123", "Calle 1", "203.0.113.9"] {
            assert!(!text.contains(raw), "{raw} kept: {text}");
        }
        let object = &kept["data"]["object"];
        assert_eq!(object["customer_details"]["email"], hash_email("ana@example.com"));
        assert_eq!(object["customer_email"], hash_email("ana@example.com"));
        assert_eq!(object["customer_details"]["phone"].as_str().map(str::to_owned), hash_phone("+57 300 123 4567"));
        assert_eq!((object["id"].as_str(), object["amount_total"].as_i64()), (Some("cs_1"), Some(4900)));
        assert_eq!(object["metadata"]["campaign"], "spring");
        assert!(is_minimised(&kept) && !is_minimised(&event));
        assert_eq!(minimise_stripe_event(&kept), None, "once");
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
