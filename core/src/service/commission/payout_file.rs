//! The payment file of a batch of PENDING payouts in one currency: SEPA `pain.001` for a
//! bank, or the CSV of PayPal Payouts or Wise. Making it changes no payout (they are
//! marked paid once the money has left); it is audited, without any account number.
//! Its only caller is the REST route, whose parameter names the errors use (`formato`,
//! `moneda`, `ids`, `fecha`).

use chrono::NaiveDate;

use super::*;
use crate::domain::{iban, payout_file};

/// The most payouts in one file (PayPal's limit; banks take files of this size too).
pub const MAX_PAYOUTS_PER_FILE: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutFileFormat {
    /// ISO 20022 `pain.001.001.03`, SEPA credit transfers in euros.
    Sepa,
    /// PayPal Payouts CSV.
    Paypal,
    /// Wise batch payments CSV.
    Wise,
}

impl PayoutFileFormat {
    pub fn parse(value: &str, field: &str) -> AppResult<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "sepa" | "pain.001" => Ok(Self::Sepa),
            "paypal" => Ok(Self::Paypal),
            "wise" => Ok(Self::Wise),
            _ => Err(AppError::validation(field, "the file format is sepa, paypal or wise")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sepa => "sepa",
            Self::Paypal => "paypal",
            Self::Wise => "wise",
        }
    }
}

/// Where the file goes, with what that needs.
enum Target {
    Sepa(payout_file::Debtor),
    Paypal,
    Wise,
}

/// What to put in the file.
#[derive(Debug, Clone)]
pub struct PayoutFileRequest {
    pub format: PayoutFileFormat,
    pub currency: String,
    /// These payouts (each PENDING, in the currency); none: every PENDING one in it.
    pub ids: Option<Vec<Uuid>>,
    /// SEPA's requested execution day; none: today (UTC).
    pub execution_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct PayoutFile {
    pub filename: String,
    pub content_type: &'static str,
    pub body: String,
    pub count: usize,
    pub total: Decimal,
    pub currency: String,
}

pub async fn payout_file(ctx: &Ctx, caller: &Caller, request: PayoutFileRequest) -> AppResult<PayoutFile> {
    caller.require_admin()?;
    let currency = Currency::parse(&request.currency, "moneda")?;
    let today = Utc::now().date_naive();
    let execution = request.execution_date.unwrap_or(today);
    if execution < today {
        return Err(AppError::validation("fecha", "the execution date is in the past"));
    }
    // The paying account first: without it no SEPA file can be made, whatever is pending.
    let target = match request.format {
        PayoutFileFormat::Sepa => {
            let config = &ctx.config;
            let (Some(name), Some(account)) = (&config.sepa_debtor_name, &config.sepa_debtor_iban) else {
                return Err(AppError::validation(
                    "formato",
                    "set ALPES_SEPA_DEBTOR_NAME and ALPES_SEPA_DEBTOR_IBAN (the account that pays) to make SEPA files",
                ));
            };
            if currency.code() != "EUR" {
                return Err(AppError::validation("moneda", "SEPA credit transfers are in EUR"));
            }
            Target::Sepa(payout_file::Debtor {
                name: name.clone(),
                iban: account.clone(),
                bic: config.sepa_debtor_bic.clone(),
            })
        }
        PayoutFileFormat::Paypal => Target::Paypal,
        PayoutFileFormat::Wise => Target::Wise,
    };
    let mut query = payouts::Entity::find()
        .filter(payouts::Column::Status.eq(PayoutStatus::Pending))
        .filter(payouts::Column::Currency.eq(currency.code()));
    if let Some(ids) = &request.ids {
        if ids.is_empty() || ids.len() as u64 > MAX_PAYOUTS_PER_FILE {
            return Err(AppError::validation("ids", format!("give 1 to {MAX_PAYOUTS_PER_FILE} payout ids")));
        }
        query = query.filter(payouts::Column::Id.is_in(ids.clone()));
    }
    let rows = query
        .order_by_asc(payouts::Column::CreatedAt)
        .order_by_asc(payouts::Column::Id)
        .limit(MAX_PAYOUTS_PER_FILE + 1)
        .all(&ctx.db)
        .await?;
    if let Some(ids) = &request.ids {
        if let Some(missing) = ids.iter().find(|id| !rows.iter().any(|p| p.id == **id)) {
            return Err(AppError::validation(
                "ids",
                format!("payout {missing} is not a PENDING payout in {}", currency.code()),
            ));
        }
    }
    if rows.is_empty() {
        return Err(AppError::validation("moneda", format!("no PENDING payouts in {}", currency.code())));
    }
    if rows.len() as u64 > MAX_PAYOUTS_PER_FILE {
        return Err(AppError::validation(
            "ids",
            format!("more than {MAX_PAYOUTS_PER_FILE} PENDING payouts in {}: choose them by id", currency.code()),
        ));
    }
    let affiliate_ids: Vec<Uuid> = rows.iter().map(|p| p.affiliate_id).collect();
    let affiliates: HashMap<Uuid, affiliates::Model> = affiliates::Entity::find()
        .filter(affiliates::Column::Id.is_in(affiliate_ids))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut transfers = Vec::with_capacity(rows.len());
    for payout in &rows {
        let affiliate = affiliates
            .get(&payout.affiliate_id)
            .ok_or_else(|| AppError::not_found("affiliate", payout.affiliate_id))?;
        let account = affiliate.bank_account_number.as_deref().filter(|n| iban::looks_like(n));
        let id = payout.id.simple().to_string();
        transfers.push(payout_file::Transfer {
            reference: format!("Commissions {} payout {}", affiliate.code, &id[..8]),
            id,
            name: affiliate.name.clone(),
            email: affiliate.email.clone(),
            iban: account.map(str::to_owned),
            amount: payout.amount,
            currency: payout.currency.clone(),
        });
    }
    let now = Utc::now();
    let stamp = now.format("%Y%m%d-%H%M%S");
    let (body, content_type, extension) = match target {
        Target::Sepa(debtor) => {
            // Unique per file: banks refuse a message id they have seen.
            let message_id = format!("ALPES-{}", Uuid::now_v7().simple());
            let xml = payout_file::sepa(&debtor, &message_id, now, execution, &transfers)?;
            (xml, "application/xml; charset=utf-8", "xml")
        }
        Target::Paypal => (payout_file::paypal_csv(&transfers), "text/csv; charset=utf-8", "csv"),
        Target::Wise => (payout_file::wise_csv(&transfers), "text/csv; charset=utf-8", "csv"),
    };
    let total: Decimal = rows.iter().map(|p| p.amount).sum();
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "payout.export",
            entity_type: "payout",
            entity_id: format!("{}-{}", request.format.name(), stamp),
            before: None,
            after: Some(json!({
                "format": request.format.name(),
                "currency": currency.code(),
                "count": rows.len(),
                "total": total.to_string(),
                "payouts": rows.iter().map(|p| p.id).collect::<Vec<_>>(),
            })),
        },
    )
    .await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(PayoutFile {
        filename: format!(
            "payouts-{}-{}-{}.{}",
            request.format.name(),
            currency.code().to_lowercase(),
            stamp,
            extension
        ),
        content_type,
        body,
        count: rows.len(),
        total,
        currency: currency.code().to_string(),
    })
}
