//! Payment files for a batch of payouts, to hand to whoever moves the money: a SEPA
//! credit transfer for a bank (ISO 20022 `pain.001.001.03`, the version every SEPA bank
//! accepts), and the CSV files of PayPal Payouts and Wise batch payments.
//!
//! The amounts are the payouts' own, already rounded to the currency's minor unit; a
//! file never mixes currencies (each of these formats wants one per file).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::{iban, DomainError, DomainResult};

/// Who pays: the programme's own account.
#[derive(Debug, Clone)]
pub struct Debtor {
    pub name: String,
    pub iban: String,
    /// Optional in SEPA since 2016; `NOTPROVIDED` is sent without it.
    pub bic: Option<String>,
}

/// One payout as a transfer.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// The payout's id: the end-to-end reference that comes back on statements.
    pub id: String,
    pub name: String,
    pub email: String,
    /// The affiliate's IBAN (compact), when their account number is one.
    pub iban: Option<String>,
    pub amount: Decimal,
    pub currency: String,
    /// What the affiliate reads on their statement.
    pub reference: String,
}

/// The SEPA credit-transfer initiation (`pain.001.001.03`) of the transfers, one payment
/// block executed on `execution`. SEPA pays euros to IBANs: a transfer in another currency
/// or without an IBAN is refused, naming it (field `payouts`), and nothing is produced.
pub fn sepa(
    debtor: &Debtor,
    message_id: &str,
    created: DateTime<Utc>,
    execution: NaiveDate,
    transfers: &[Transfer],
) -> DomainResult<String> {
    if transfers.is_empty() {
        return Err(DomainError::invalid("payouts", "no payouts to put in the file"));
    }
    let debtor_iban = iban::parse(&debtor.iban, "debtor.iban")?;
    let bic = debtor.bic.as_deref().map(|bic| iban::bic(bic, "debtor.bic")).transpose()?;
    // Each creditor's IBAN in its electronic form, as the file must carry it.
    let mut creditors = Vec::with_capacity(transfers.len());
    for t in transfers {
        if t.currency != "EUR" {
            return Err(DomainError::invalid(
                "payouts",
                format!("SEPA pays euros only; payout {} is in {}", t.id, t.currency),
            ));
        }
        let Some(account) = &t.iban else {
            return Err(DomainError::invalid(
                "payouts",
                format!(
                    "{} (payout {}) has no IBAN on file: their bank details hold another kind of account",
                    t.name, t.id
                ),
            ));
        };
        creditors.push(iban::parse(account, "payouts").map_err(|err| {
            DomainError::invalid("payouts", format!("the IBAN of {} (payout {}) is wrong: {err}", t.name, t.id))
        })?);
        // Databases hand amounts back at their column's scale (61.5000): the cents count.
        if t.amount <= Decimal::ZERO || t.amount.round_dp(2) != t.amount {
            return Err(DomainError::invalid(
                "payouts",
                format!("payout {} has no payable amount ({})", t.id, t.amount),
            ));
        }
    }
    let count = transfers.len();
    let total: Decimal = transfers.iter().map(|t| t.amount).sum();
    let debtor_name = text(&debtor.name, 70);
    let agent = match &bic {
        Some(bic) => format!("<BIC>{bic}</BIC>"),
        None => "<Othr><Id>NOTPROVIDED</Id></Othr>".to_string(),
    };
    let mut xml = String::with_capacity(1024 + count * 512);
    xml.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    xml.push('\n');
    xml.push_str(r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#);
    xml.push_str("<CstmrCdtTrfInitn><GrpHdr>");
    push(&mut xml, "MsgId", &text(message_id, 35));
    push(&mut xml, "CreDtTm", &created.format("%Y-%m-%dT%H:%M:%S").to_string());
    push(&mut xml, "NbOfTxs", &count.to_string());
    push(&mut xml, "CtrlSum", &fixed2(total));
    xml.push_str("<InitgPty>");
    push(&mut xml, "Nm", &debtor_name);
    xml.push_str("</InitgPty></GrpHdr><PmtInf>");
    push(&mut xml, "PmtInfId", &text(message_id, 35));
    push(&mut xml, "PmtMtd", "TRF");
    push(&mut xml, "BtchBookg", "true");
    push(&mut xml, "NbOfTxs", &count.to_string());
    push(&mut xml, "CtrlSum", &fixed2(total));
    xml.push_str("<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>");
    push(&mut xml, "ReqdExctnDt", &execution.format("%Y-%m-%d").to_string());
    xml.push_str("<Dbtr>");
    push(&mut xml, "Nm", &debtor_name);
    xml.push_str("</Dbtr><DbtrAcct><Id>");
    push(&mut xml, "IBAN", &debtor_iban);
    xml.push_str("</Id></DbtrAcct><DbtrAgt><FinInstnId>");
    xml.push_str(&agent);
    xml.push_str("</FinInstnId></DbtrAgt><ChrgBr>SLEV</ChrgBr>");
    for (t, creditor) in transfers.iter().zip(&creditors) {
        xml.push_str("<CdtTrfTxInf><PmtId>");
        push(&mut xml, "EndToEndId", &text(&t.id, 35));
        xml.push_str(r#"</PmtId><Amt><InstdAmt Ccy="EUR">"#);
        xml.push_str(&fixed2(t.amount));
        xml.push_str("</InstdAmt></Amt><Cdtr>");
        push(&mut xml, "Nm", &text(&t.name, 70));
        xml.push_str("</Cdtr><CdtrAcct><Id>");
        push(&mut xml, "IBAN", creditor);
        xml.push_str("</Id></CdtrAcct><RmtInf>");
        push(&mut xml, "Ustrd", &text(&t.reference, 140));
        xml.push_str("</RmtInf></CdtTrfTxInf>");
    }
    xml.push_str("</PmtInf></CstmrCdtTrfInitn></Document>\n");
    Ok(xml)
}

/// PayPal Payouts' CSV (no header): recipient email, amount, currency, customer id (≤ 30
/// characters, no spaces), note to the recipient, wallet `PAYPAL`.
pub fn paypal_csv(transfers: &[Transfer]) -> String {
    let mut out = String::new();
    for t in transfers {
        let customer: String = t.id.chars().filter(|c| !c.is_whitespace()).take(30).collect();
        let row =
            [t.email.clone(), fixed2(t.amount), t.currency.clone(), customer, t.reference.clone(), "PAYPAL".into()];
        out.push_str(&csv_row(&row));
    }
    out
}

/// Wise's batch payment CSV, with the column names of its templates: recipients paid by
/// email (Wise asks them for their bank details) or, with an IBAN on file, to that IBAN.
pub fn wise_csv(transfers: &[Transfer]) -> String {
    let mut out = csv_row(&[
        "name".into(),
        "recipientEmail".into(),
        "paymentReference".into(),
        "receiverType".into(),
        "amountCurrency".into(),
        "amount".into(),
        "sourceCurrency".into(),
        "targetCurrency".into(),
        "IBAN".into(),
    ]);
    for t in transfers {
        out.push_str(&csv_row(&[
            t.name.clone(),
            t.email.clone(),
            t.reference.chars().take(35).collect(),
            "PRIVATE".into(),
            "target".into(),
            fixed2(t.amount),
            t.currency.clone(),
            t.currency.clone(),
            t.iban.clone().unwrap_or_default(),
        ]));
    }
    out
}

/// Text in the SEPA character set (Latin letters, digits, `/ - ? : ( ) . , ' +` and
/// space): accented letters lose their accents, anything else becomes a space, at most
/// `max` characters.
pub fn text(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '/' | '-' | '?' | ':' | '(' | ')' | '.' | ',' | '\'' | '+' | ' ' => {
                out.push(c)
            }
            _ => out.push_str(plain(c)),
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(max).collect::<String>().trim_end().to_string()
}

fn plain(c: char) -> &'static str {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' | 'ą' => "a",
        'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' | 'Ā' | 'Ą' => "A",
        'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'É' | 'È' | 'Ê' | 'Ë' | 'Ē' | 'Ę' | 'Ě' => "E",
        'í' | 'ì' | 'î' | 'ï' | 'ī' => "i",
        'Í' | 'Ì' | 'Î' | 'Ï' | 'Ī' => "I",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' | 'ő' => "o",
        'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' | 'Ø' | 'Ō' | 'Ő' => "O",
        'ú' | 'ù' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'Ú' | 'Ù' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű' => "U",
        'ñ' | 'ń' | 'ň' => "n",
        'Ñ' | 'Ń' | 'Ň' => "N",
        'ç' | 'ć' | 'č' => "c",
        'Ç' | 'Ć' | 'Č' => "C",
        'ś' | 'š' | 'ş' => "s",
        'Ś' | 'Š' | 'Ş' => "S",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ý' | 'ÿ' => "y",
        'Ý' => "Y",
        'ł' => "l",
        'Ł' => "L",
        'ř' => "r",
        'Ř' => "R",
        'ď' => "d",
        'Ď' => "D",
        'ť' => "t",
        'Ť' => "T",
        'ß' => "ss",
        'æ' => "ae",
        'Æ' => "AE",
        'œ' => "oe",
        'Œ' => "OE",
        '&' => "+",
        _ => " ",
    }
}

/// Two decimals, as these files write amounts.
fn fixed2(amount: Decimal) -> String {
    format!("{:.2}", amount)
}

fn push(xml: &mut String, tag: &str, value: &str) {
    xml.push('<');
    xml.push_str(tag);
    xml.push('>');
    for c in value.chars() {
        match c {
            '&' => xml.push_str("&amp;"),
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '"' => xml.push_str("&quot;"),
            _ => xml.push(c),
        }
    }
    xml.push_str("</");
    xml.push_str(tag);
    xml.push('>');
}

/// One CSV line: fields quoted when they hold a comma, quote or line break; a field that a
/// spreadsheet would run as a formula gets a leading `'`.
fn csv_row(fields: &[String]) -> String {
    let cells: Vec<String> = fields
        .iter()
        .map(|f| {
            let f = if f.starts_with(['=', '+', '-', '@']) && f.parse::<Decimal>().is_err() {
                format!("'{f}")
            } else {
                f.clone()
            };
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect();
    format!("{}\r\n", cells.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn transfer(id: &str, name: &str, iban: Option<&str>, amount: Decimal, currency: &str) -> Transfer {
        Transfer {
            id: id.into(),
            name: name.into(),
            email: format!("{}@example.com", id),
            iban: iban.map(str::to_owned),
            amount,
            currency: currency.into(),
            reference: "Alpes commissions 2026-11".into(),
        }
    }

    fn debtor() -> Debtor {
        Debtor { name: "Alpes Partner Programme".into(), iban: "DE89 3704 0044 0532 0130 00".into(), bic: None }
    }

    #[test]
    fn a_sepa_file_holds_each_transfer_and_their_sum() {
        let created = Utc.with_ymd_and_hms(2026, 12, 5, 10, 30, 0).single().unwrap_or_default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        let transfers = [
            transfer("p1", "María González & Cía", Some("FR1420041010050500013M02606"), dec!(61.50), "EUR"),
            transfer("p2", "Jürgen Groß", Some("nl91-abna 0417 1643 00"), dec!(0.1000), "EUR"),
        ];
        let xml = sepa(&debtor(), "ALPES-20261205-1", created, day, &transfers).unwrap_or_default();
        for part in [
            "<NbOfTxs>2</NbOfTxs><CtrlSum>61.60</CtrlSum>",
            "<CreDtTm>2026-12-05T10:30:00</CreDtTm>",
            "<ReqdExctnDt>2026-12-07</ReqdExctnDt>",
            "<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>",
            "<DbtrAgt><FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId></DbtrAgt>",
            r#"<InstdAmt Ccy="EUR">61.50</InstdAmt></Amt><Cdtr><Nm>Maria Gonzalez + Cia</Nm>"#,
            "<Nm>Jurgen Gross</Nm></Cdtr><CdtrAcct><Id><IBAN>NL91ABNA0417164300</IBAN>",
            "<EndToEndId>p2</EndToEndId>",
        ] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
    }

    #[test]
    fn sepa_refuses_what_it_cannot_pay_naming_the_payout() {
        let now = Utc::now();
        let day = now.date_naive();
        let usd = [transfer("p1", "A", Some("NL91ABNA0417164300"), dec!(5), "USD")];
        let no_iban = [transfer("p2", "B", None, dec!(5), "EUR")];
        let bad_iban = [transfer("p3", "C", Some("NL91ABNA0417164301"), dec!(5), "EUR")];
        for (transfers, why) in [
            (&usd[..], "payout p1 is in USD"),
            (&no_iban[..], "B (payout p2) has no IBAN"),
            (&bad_iban[..], "C (payout p3) is wrong: the IBAN's check digits"),
            (&[][..], "no payouts"),
        ] {
            let Some(err) = sepa(&debtor(), "M", now, day, transfers).err() else { panic!("{why}: passed") };
            assert!(matches!(&err, DomainError::Invalid { field, .. } if field == "payouts"), "{err:?}");
            assert!(err.to_string().contains(why), "{err}");
        }
        let bad_bic = Debtor { bic: Some("DEUT".into()), ..debtor() };
        assert!(
            sepa(&bad_bic, "M", now, day, &[transfer("p", "A", Some("NL91ABNA0417164300"), dec!(1), "EUR")]).is_err()
        );
    }

    #[test]
    fn sepa_text_keeps_the_allowed_set_only() {
        assert_eq!(text("Ñandú <Gaming> «Ltd»", 70), "Nandu Gaming Ltd");
        assert_eq!(text("ab  cd", 3), "ab");
        assert_eq!(text("Zoë O'Brien-Ståhl, 2/3 (x)?+", 70), "Zoe O'Brien-Stahl, 2/3 (x)?+");
    }

    /// Generated input: whatever a name or reference holds, the SEPA text is in the allowed
    /// set and within its length, and a CSV row reads back to its fields.
    #[test]
    fn generated_names_stay_in_the_sepa_set_and_csv_rows_read_back() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261205);
        let alphabet: Vec<char> = "aZ09 ,;\"'\n\r=+-@/()?:.&<>ÁéñÜßøŁ€中🙂\t".chars().collect();
        for _ in 0..5_000 {
            let len = rng.gen_range(0..90);
            let value: String = (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect();
            let max = rng.gen_range(1..80);
            let shown = text(&value, max);
            assert!(shown.chars().count() <= max, "{value:?} → {shown:?}");
            assert!(
                shown.chars().all(|c| c.is_ascii_alphanumeric() || "/-?:().,'+ ".contains(c)),
                "{value:?} → {shown:?}"
            );
            let fields = vec![value.clone(), "x".to_string(), value.replace('=', "")];
            assert_eq!(
                read_csv_row(&csv_row(&fields)),
                fields.iter().map(|f| guarded(f)).collect::<Vec<_>>(),
                "{value:?}"
            );
        }
    }

    /// What a spreadsheet shows of a field: a leading formula sign is kept behind a `'`.
    fn guarded(field: &str) -> String {
        if field.starts_with(['=', '+', '-', '@']) && field.parse::<Decimal>().is_err() {
            format!("'{field}")
        } else {
            field.to_string()
        }
    }

    /// A minimal reader of one RFC 4180 line (quotes doubled inside quoted fields).
    fn read_csv_row(line: &str) -> Vec<String> {
        let line = line.strip_suffix("\r\n").unwrap_or(line);
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', true) => quoted = false,
                ('"', false) if field.is_empty() => quoted = true,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        fields
    }

    #[test]
    fn paypal_and_wise_rows() {
        let t = [
            transfer("0193a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b", "Ana, \"the\" Gamer", None, dec!(1200.5), "USD"),
            transfer("p2", "=HYPERLINK(1)", Some("NL91ABNA0417164300"), dec!(3), "EUR"),
        ];
        let paypal = paypal_csv(&t);
        let lines: Vec<&str> = paypal.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "0193a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b@example.com,1200.50,USD,0193a1b2-c3d4-7e8f-9a0b-1c2d3e,Alpes commissions 2026-11,PAYPAL"
        );
        let wise = wise_csv(&t);
        let lines: Vec<&str> = wise.split("\r\n").collect();
        assert_eq!(lines[0], "name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,sourceCurrency,targetCurrency,IBAN");
        assert!(lines[1].starts_with("\"Ana, \"\"the\"\" Gamer\","), "{}", lines[1]);
        assert!(lines[2].starts_with("'=HYPERLINK(1),p2@example.com"), "{}", lines[2]);
        assert!(lines[2].ends_with(",3.00,EUR,EUR,NL91ABNA0417164300"), "{}", lines[2]);
    }
}
