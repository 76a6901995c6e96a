//! `alpes reconcile`: a reconciliation as text for people, JSON or CSV for programs.

use std::fmt::Write;

use crate::{
    http::rest::commission_csv::push_csv_line,
    service::reconciliation::{Books, Reconciliation},
};

/// How a reconciliation is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Csv,
}

pub fn render(report: &Reconciliation, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Text => text(report),
        Format::Json => {
            let mut value = serde_json::to_value(report)?;
            value["violations"] = report.violations().into();
            value["balanced"] = report.balanced().into();
            serde_json::to_string_pretty(&value)? + "\n"
        }
        Format::Csv => csv(report),
    })
}

fn text(report: &Reconciliation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Reconciliation from {} to {}", report.from.to_rfc3339(), report.to.to_rfc3339());
    if report.currencies.is_empty() {
        let _ = writeln!(out, "\nNo orders, conversions, commissions or payouts in the period.");
    }
    for books in &report.currencies {
        books_text(&mut out, books);
    }
    let _ = writeln!(out, "\nChecks");
    for check in &report.checks {
        let mark = if check.violations == 0 { "ok  " } else { "FAIL" };
        let _ = writeln!(out, "  {mark} {:<32} {:>8}  {}", check.code, check.violations, check.description);
        if !check.examples.is_empty() {
            let ids: Vec<String> = check.examples.iter().map(|id| id.to_string()).collect();
            let _ = writeln!(out, "       e.g. {} {}", check.subject.name(), ids.join(", "));
        }
    }
    let _ = match report.violations() {
        0 => writeln!(out, "\nThe books balance: no violations."),
        n => writeln!(out, "\n{n} violations."),
    };
    out
}

fn books_text(out: &mut String, b: &Books) {
    let c = &b.currency;
    let _ = writeln!(out, "\n{c}");
    let _ = writeln!(
        out,
        "  Stripe        {} orders: paid {} {c}, refunded {} {c}, net {} {c}",
        b.orders, b.paid, b.refunded, b.net
    );
    for t in &b.conversions {
        let _ = writeln!(out, "  Conversions   {:<18} {:>8}  {} {c}", t.status, t.count, t.amount);
    }
    let _ = writeln!(out, "  Credits       {:<18} {:>8}  {} {c}", "current", b.credits, b.credited);
    for t in &b.commissions {
        let _ = writeln!(
            out,
            "  Commissions   {:<18} {:>8}  {} {c} (on a base of {} {c})",
            t.status, t.count, t.amount, t.base
        );
    }
    let _ = writeln!(out, "  Clawbacks     {:<18} {:>8}  {} {c}", "live", b.clawbacks, b.clawed_back);
    for t in &b.payouts {
        let _ = writeln!(out, "  Payouts       {:<18} {:>8}  {} {c}", t.status, t.count, t.amount);
    }
}

/// One line per figure: `section,currency,status,count,amount,base`, then one per check:
/// `check,,code,violations,,` with its example ids in a last column.
fn csv(report: &Reconciliation) -> String {
    let mut out = String::from("section,currency,key,count,amount,base,examples\n");
    let line =
        |out: &mut String, section: &str, currency: &str, key: &str, count: u64, amount: String, base: String| {
            push_csv_line(
                out,
                &[section.into(), currency.into(), key.into(), count.to_string(), amount, base, String::new()],
            );
        };
    for b in &report.currencies {
        let c = b.currency.as_str();
        line(&mut out, "orders_paid", c, "", b.orders, b.paid.to_string(), String::new());
        line(&mut out, "orders_refunded", c, "", b.orders, b.refunded.to_string(), String::new());
        line(&mut out, "orders_net", c, "", b.orders, b.net.to_string(), String::new());
        for t in &b.conversions {
            line(&mut out, "conversions", c, &t.status, t.count, t.amount.to_string(), String::new());
        }
        line(&mut out, "credits", c, "", b.credits, b.credited.to_string(), String::new());
        for t in &b.commissions {
            line(&mut out, "commissions", c, &t.status, t.count, t.amount.to_string(), t.base.to_string());
        }
        line(&mut out, "clawbacks", c, "", b.clawbacks, b.clawed_back.to_string(), String::new());
        for t in &b.payouts {
            line(&mut out, "payouts", c, &t.status, t.count, t.amount.to_string(), String::new());
        }
    }
    for check in &report.checks {
        let ids: Vec<String> = check.examples.iter().map(|id| format!("{}:{id}", check.subject.name())).collect();
        push_csv_line(
            &mut out,
            &[
                "check".into(),
                String::new(),
                check.code.into(),
                check.violations.to_string(),
                String::new(),
                String::new(),
                ids.join(" "),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;
    use uuid::Uuid;

    use super::*;
    use crate::service::reconciliation::{Check, CommissionTally, Subject, Tally};

    fn report(violations: u64) -> Reconciliation {
        let at = |d| Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).single().unwrap_or_default();
        Reconciliation {
            from: at(1),
            to: at(30),
            currencies: vec![Books {
                currency: "USD".into(),
                orders: 2,
                paid: dec!(149.00),
                refunded: dec!(24.50),
                net: dec!(124.50),
                conversions: vec![Tally { status: "ATTRIBUTED".into(), count: 2, amount: dec!(149.00) }],
                credits: 3,
                credited: dec!(149.00),
                commissions: vec![CommissionTally {
                    status: "PAID".into(),
                    count: 2,
                    amount: dec!(9.96),
                    base: dec!(124.50),
                }],
                clawbacks: 0,
                clawed_back: dec!(0.00),
                payouts: vec![Tally { status: "PAID".into(), count: 1, amount: dec!(9.96) }],
            }],
            checks: vec![Check {
                code: "PAYOUT_MATCHES_COMMISSIONS",
                description: "A payout's amount, count, affiliate and currency are its commissions'.",
                subject: Subject::Payout,
                violations,
                examples: if violations > 0 { vec![Uuid::nil()] } else { vec![] },
            }],
        }
    }

    #[test]
    fn text_says_whether_the_books_balance_and_names_the_rows_that_do_not() {
        let ok = text(&report(0));
        assert!(ok.contains("paid 149.00 USD, refunded 24.50 USD, net 124.50 USD"), "{ok}");
        assert!(ok.contains("The books balance: no violations."), "{ok}");
        let bad = text(&report(1));
        assert!(bad.contains("FAIL PAYOUT_MATCHES_COMMISSIONS"), "{bad}");
        assert!(bad.contains("e.g. payout 00000000-0000-0000-0000-000000000000"), "{bad}");
        assert!(bad.ends_with("1 violations.\n"), "{bad}");
    }

    #[test]
    fn csv_has_one_line_per_figure_and_per_check_quoted_where_needed() {
        let csv = csv(&report(1));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "section,currency,key,count,amount,base,examples");
        assert!(lines.contains(&"orders_net,USD,,2,124.50,,"), "{csv}");
        assert!(lines.contains(&"commissions,USD,PAID,2,9.96,124.50,"), "{csv}");
        assert!(
            lines.contains(&"check,,PAYOUT_MATCHES_COMMISSIONS,1,,,payout:00000000-0000-0000-0000-000000000000"),
            "{csv}"
        );
        assert_eq!(lines.len(), 1 + 3 + 1 + 1 + 1 + 1 + 1 + 1, "{csv}");
    }

    #[test]
    fn json_carries_the_totals_in_the_api_names() -> anyhow::Result<()> {
        let json: serde_json::Value = serde_json::from_str(&render(&report(1), Format::Json)?)?;
        assert_eq!(json["balanced"], false);
        assert_eq!(json["violations"], 1);
        assert_eq!(json["currencies"][0]["clawedBack"], "0.00");
        assert_eq!(json["checks"][0]["subject"], "PAYOUT");
        Ok(())
    }
}
