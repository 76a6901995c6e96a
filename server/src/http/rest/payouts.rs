//! `/api/v1/pagos/archivo`: the payment file of the PENDING payouts in one currency, to
//! hand to a bank (SEPA `pain.001`) or to PayPal Payouts or Wise (CSV).

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use chrono::NaiveDate;
use serde::Deserialize;

use super::QueryParams;
use crate::{
    error::{AppError, AppResult},
    http::{auth::Authenticated, HttpState},
    service::commission::{self as svc, PayoutFileFormat, PayoutFileRequest},
    state::AppState,
};

pub fn router() -> Router<HttpState> {
    Router::new().route("/api/v1/pagos/archivo", get(file))
}

#[derive(Deserialize)]
struct FileQuery {
    /// `sepa`, `paypal` or `wise`.
    formato: Option<String>,
    /// ISO 4217; SEPA is EUR.
    moneda: Option<String>,
    /// Payout ids, comma-separated; none: every PENDING payout in the currency.
    ids: Option<String>,
    /// SEPA's requested execution day (`YYYY-MM-DD`, UTC); none: today.
    fecha: Option<String>,
}

async fn file(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    QueryParams(query): QueryParams<FileQuery>,
) -> AppResult<Response> {
    let format = PayoutFileFormat::parse(query.formato.as_deref().unwrap_or(""), "formato")?;
    let currency = query.moneda.ok_or_else(|| AppError::validation("moneda", "give the currency (moneda=EUR)"))?;
    let ids = query
        .ids
        .filter(|ids| !ids.trim().is_empty())
        .map(|ids| {
            ids.split(',')
                .map(|id| {
                    id.trim().parse().map_err(|_| AppError::validation("ids", format!("'{id}' is not a payout id")))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let execution_date = query
        .fecha
        .map(|day| {
            NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
                .map_err(|_| AppError::validation("fecha", "the execution day is YYYY-MM-DD"))
        })
        .transpose()?;
    let made = svc::payout_file(&state, &caller, PayoutFileRequest { format, currency, ids, execution_date }).await?;
    Ok((
        [
            (header::CONTENT_TYPE, made.content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", made.filename)),
            (header::HeaderName::from_static("x-payout-count"), made.count.to_string()),
            (header::HeaderName::from_static("x-payout-total"), format!("{} {}", made.total, made.currency)),
        ],
        made.body,
    )
        .into_response())
}
