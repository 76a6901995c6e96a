//! The seed 004 CSV exports of commissions and their reports.

use crate::model::commissions;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{
    domain::money::scaled,
    service::commission::Report,
    wire::names::{commission_kind as type_name, commission_status as status_name},
};

/// The header of the commissions CSV export. Fixed: columns are only ever appended.
pub const CSV_HEADER: &str = "comision_id,afiliado_id,campana_id,conversion_id,pago_id,ajusta_comision_id,tipo_comision,monto_base,porcentaje,monto_calculado,moneda,estado,fecha_creacion,fecha_aprobacion,fecha_pago";

/// The header of the report CSV export. Fixed: columns are only ever appended.
pub const REPORT_CSV_HEADER: &str = "clave,nombre,moneda,cantidad,monto,monto_aprobado,monto_pagado";

/// The commissions as CSV, header first.
pub fn to_csv(rows: &[commissions::Commission]) -> String {
    let mut out = String::with_capacity(64 + rows.len() * 200);
    out.push_str(CSV_HEADER);
    out.push('\n');
    let opt = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    for m in rows {
        let fields = [
            m.id.to_string(),
            m.affiliate_id.to_string(),
            opt(m.campaign_id),
            opt(m.conversion_id),
            opt(m.payout_id),
            opt(m.adjusts_commission_id),
            type_name(m.commission_type).to_string(),
            scaled(m.base_amount, &m.currency).to_string(),
            m.rate.map(|r| r.normalize().to_string()).unwrap_or_default(),
            m.amount.map(|a| scaled(a, &m.currency).to_string()).unwrap_or_default(),
            m.currency.clone(),
            status_name(m.status).to_string(),
            m.created_at.to_rfc3339(),
            time(m.approved_at),
            time(m.paid_at),
        ];
        push_csv_line(&mut out, &fields);
    }
    out
}

/// A report as CSV, header first; the per-currency totals follow as rows keyed `TOTAL`.
pub fn report_to_csv(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(REPORT_CSV_HEADER);
    out.push('\n');
    for r in &report.rows {
        let fields = [
            r.key.clone(),
            r.name.clone(),
            r.currency.clone(),
            r.count.to_string(),
            r.amount.to_string(),
            r.approved_amount.to_string(),
            r.paid_amount.to_string(),
        ];
        push_csv_line(&mut out, &fields);
    }
    for t in &report.totals {
        let fields = [
            "TOTAL".to_string(),
            String::new(),
            t.currency.clone(),
            t.count.to_string(),
            t.amount.to_string(),
            t.approved_amount.to_string(),
            t.paid_amount.to_string(),
        ];
        push_csv_line(&mut out, &fields);
    }
    out
}

/// One CSV line (RFC 4180 quoting); a leading `=+-@` is defused so spreadsheets do not
/// run a cell as a formula.
pub(crate) fn push_csv_line(out: &mut String, fields: &[String]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let risky = field.starts_with(['=', '+', '@']) || (field.starts_with('-') && field.parse::<Decimal>().is_err());
        let text = if risky { format!("'{field}") } else { field.clone() };
        if text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out.push('\n');
}
