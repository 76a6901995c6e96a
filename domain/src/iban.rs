//! IBAN (ISO 13616): an account number with its country, its length for that country
//! and a mod-97 check that catches a mistyped or swapped digit before money is sent.

use crate::{DomainError, DomainResult};

/// The IBAN length of each country that issues them (the SWIFT IBAN registry).
#[rustfmt::skip]
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22),
    ("BH", 22), ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24),
    ("DE", 22), ("DJ", 27), ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29), ("ES", 24), ("FI", 18),
    ("FK", 18), ("FO", 18), ("FR", 27), ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27),
    ("GT", 28), ("HR", 21), ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27),
    ("JO", 30), ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20),
    ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19), ("MN", 20), ("MR", 27),
    ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23), ("PK", 24), ("PL", 28),
    ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("RU", 33), ("SA", 24), ("SC", 31),
    ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("SO", 23), ("ST", 25), ("SV", 28),
    ("TL", 23), ("TN", 24), ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20), ("YE", 30),
];

/// Does the value read as an IBAN (a country code and two check digits first), rather
/// than a domestic account number? Only those are held to the IBAN rules.
pub fn looks_like(value: &str) -> bool {
    let compact = compact(value);
    let bytes = compact.as_bytes();
    bytes.len() >= 4 && bytes[..2].iter().all(u8::is_ascii_alphabetic) && bytes[2..4].iter().all(u8::is_ascii_digit)
}

/// An IBAN in its electronic form (upper case, no spaces), or why it is not one.
pub fn parse(value: &str, field: &str) -> DomainResult<String> {
    let iban = compact(value);
    if !iban.chars().all(|c| c.is_ascii_alphanumeric()) || !looks_like(&iban) {
        return Err(DomainError::invalid(
            field,
            "an IBAN is a country code, two check digits and the account (letters and digits)",
        ));
    }
    let country = &iban[..2];
    let Some(&(_, length)) = LENGTHS.iter().find(|(code, _)| *code == country) else {
        return Err(DomainError::invalid(field, format!("{country} does not issue IBANs")));
    };
    if iban.len() != length {
        return Err(DomainError::invalid(
            field,
            format!("an IBAN from {country} has {length} characters, this one {}", iban.len()),
        ));
    }
    if remainder(&iban) != 1 {
        return Err(DomainError::invalid(field, "the IBAN's check digits do not match: a character is mistyped"));
    }
    Ok(iban)
}

/// A BIC (ISO 9362), upper case: bank (4 letters), country (2), place (2 letters or
/// digits), and optionally a branch (3).
pub fn bic(value: &str, field: &str) -> DomainResult<String> {
    let bic = value.trim().to_ascii_uppercase();
    let ok = (bic.len() == 8 || bic.len() == 11)
        && bic.chars().take(6).all(|c| c.is_ascii_alphabetic())
        && bic.chars().skip(6).all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(bic)
    } else {
        Err(DomainError::invalid(
            field,
            "a BIC has 8 or 11 characters: bank (4 letters), country (2), place (2), branch (3)",
        ))
    }
}

/// The IBAN in groups of four, as people read and type it.
pub fn printed(iban: &str) -> String {
    iban.as_bytes().chunks(4).map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect::<Vec<_>>().join(" ")
}

fn compact(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase()
}

/// ISO 7064 MOD 97-10 over the IBAN with its first four characters moved to the end and
/// letters as numbers (A = 10 … Z = 35), computed piecewise so it never overflows.
fn remainder(iban: &str) -> u32 {
    let rearranged = iban[4..].chars().chain(iban[..4].chars());
    let mut rest: u32 = 0;
    for c in rearranged {
        let value = c.to_digit(36).unwrap_or(0);
        rest = if value >= 10 { (rest * 100 + value) % 97 } else { (rest * 10 + value) % 97 };
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_ibans_pass_in_any_spacing_and_case() {
        for (given, stored) in [
            ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
            ("gb82west12345698765432", "GB82WEST12345698765432"),
            ("FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),
            ("NL91ABNA0417164300", "NL91ABNA0417164300"),
            ("ES91-2100-0418-4502-0005-1332", "ES9121000418450200051332"),
            ("BE68539007547034", "BE68539007547034"),
            ("MT84MALT011000012345MTLCAST001S", "MT84MALT011000012345MTLCAST001S"),
        ] {
            assert_eq!(parse(given, "iban").as_deref(), Ok(stored), "{given}");
        }
        assert_eq!(printed("DE89370400440532013000"), "DE89 3704 0044 0532 0130 00");
    }

    #[test]
    fn a_mistyped_or_misshaped_iban_is_refused_with_why() {
        let cases = [
            ("DE89 3704 0044 0532 0130 01", "check digits"),
            ("DE98 3704 0044 0532 0130 00", "check digits"),
            ("DE89 3704 0044 0532 0130", "22 characters"),
            ("US64 SVBK US6S 3300 9673 86", "does not issue"),
            ("DE89 3704 0044 0532 0130 0!", "letters and digits"),
            ("1234567890", "country code"),
        ];
        for (given, why) in cases {
            let Some(err) = parse(given, "bankDetails.accountNumber").err() else { panic!("{given} passed") };
            assert!(err.to_string().contains(why), "{given}: {err}");
            assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "bankDetails.accountNumber"));
        }
    }

    #[test]
    fn bics() {
        assert_eq!(bic(" deutdeff ", "bic").as_deref(), Ok("DEUTDEFF"));
        assert_eq!(bic("DEUTDEFF500", "bic").as_deref(), Ok("DEUTDEFF500"));
        for bad in ["DEUT", "DEU1DEFF", "DEUTDEFF5", "DEUTDE!F"] {
            assert!(bic(bad, "bic").is_err(), "{bad}");
        }
    }

    #[test]
    fn domestic_numbers_are_not_taken_for_ibans() {
        assert!(!looks_like("0012345678"));
        assert!(!looks_like("ahorros-123"));
        assert!(looks_like("de89 3704"));
    }

    /// Generated input never panics, and what passes is compact, upper case, and passes again.
    #[test]
    fn generated_account_numbers_never_panic_and_what_passes_is_stable() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(97);
        let alphabet: Vec<char> = "DEGBNLFR0123456789 -abcxyzÄ€".chars().collect();
        let mut passed = 0;
        for _ in 0..20_000 {
            let len = rng.gen_range(0..40);
            let mut value: String = (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect();
            if rng.gen_bool(0.5) {
                // A real IBAN with one character changed, or as it is.
                value = "DE89370400440532013000".to_string();
                if rng.gen_bool(0.5) {
                    let at = rng.gen_range(4..22);
                    value.replace_range(at..at + 1, &rng.gen_range(0..10).to_string());
                }
            }
            if let Ok(iban) = parse(&value, "iban") {
                passed += 1;
                assert!(iban.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{iban}");
                assert_eq!(parse(&printed(&iban), "iban").as_deref(), Ok(iban.as_str()));
            }
        }
        assert!(passed > 1_000, "the real IBAN passes ({passed})");
    }

    #[test]
    fn every_country_length_is_plausible() {
        assert!(LENGTHS.iter().all(|(code, len)| code.len() == 2 && (15..=34).contains(len)));
        let mut codes: Vec<&str> = LENGTHS.iter().map(|(code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LENGTHS.len(), "a country listed twice");
    }
}
