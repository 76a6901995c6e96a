//! `alpes import`: the history of the systems Alpes replaces, from files of their own
//! bodies, one row a record — NDJSON (one JSON object a line) or CSV (a header of field
//! names; `a.b` names a field `b` inside `a`; a cell starting with `[` or `{` is JSON).
//!
//! | kind | a row is | the same as |
//! |---|---|---|
//! | affiliates | seed 004 `POST /api/v1/afiliados` | `codigo` or `afiliado_id` (else the email) |
//! | campaigns | seed 004 `POST /api/v1/campanas` | `codigo` or `campana_id` (else the name) |
//! | interactions | seed 003 `InteraccionRegistrada` | `id_interaccion` |
//! | impressions | seed 002 `POST /tracking/impresiones` | `id` |
//! | tracking events | seed 001 `tracking_event` joined with its `tracking_session` (a `purchase` is a conversion) | `id` |
//! | orders | seed 001 `orders` (a Stripe checkout: its order and, paid, its sale) | `stripe_session_id` |
//! | conversions | seed 004 `POST /api/v1/conversiones` (`valor_conversion`) or seed 002 `POST /tracking/conversiones` (`valor`) | `id` |
//! | commissions | seed 004 `POST /api/v1/comisiones` with its `estado` | its conversion and affiliate |
//!
//! Every row goes the way the same body goes through the API — checked the same, stored
//! exactly once, its events and audit rows written — and keeps its own time, however old.
//! A row the system has already (the same id, code or email) is counted and left as it
//! is, so a second run of the same files changes nothing; a touch or conversion without
//! its id is refused, since a second run could not know it. A refused row is reported
//! with its line and the reason, and the rest goes on.

use std::{
    io::BufRead,
    path::{Path, PathBuf},
};

use futures::StreamExt;
use rust_decimal::{prelude::ToPrimitive, Decimal};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{affiliate_service, campaign_service, commission as commissions, stripe_service, tracking, Progress};
use crate::{
    auth::Caller,
    context::Ctx,
    domain::money::Currency,
    error::AppError,
    model::commissions::CommissionStatus,
    service::tracking::{Ingestor, Recorder},
    wire::{
        affiliates::CrearAfiliado,
        campaigns::CrearCampana,
        commissions::CrearComision,
        conversions::{Registrar, SEED_004},
        tracking::{
            conversion_from_command, impression_from_command, interaction_from_seed, sql_time, tracking_event, Seed001,
            SEED_001, SEED_002, SEED_003,
        },
    },
};

/// Rows of touches and conversions in flight at once: the ingest writer commits them in
/// groups.
const IN_FLIGHT: usize = 64;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Affiliates,
    Campaigns,
    Interactions,
    Impressions,
    TrackingEvents,
    Orders,
    Conversions,
    Commissions,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Affiliates,
        Kind::Campaigns,
        Kind::Interactions,
        Kind::Impressions,
        Kind::TrackingEvents,
        Kind::Orders,
        Kind::Conversions,
        Kind::Commissions,
    ];

    /// The names a file or `--kind` may use: ours and the seeds'.
    fn names(self) -> &'static [&'static str] {
        match self {
            Kind::Affiliates => &["affiliates", "afiliados"],
            Kind::Campaigns => &["campaigns", "campanas", "campañas"],
            Kind::Interactions => &["interactions", "interacciones"],
            Kind::Impressions => &["impressions", "impresiones"],
            Kind::TrackingEvents => &["tracking_events", "tracking_event"],
            Kind::Orders => &["orders", "ordenes", "órdenes", "pedidos"],
            Kind::Conversions => &["conversions", "conversiones"],
            Kind::Commissions => &["commissions", "comisiones"],
        }
    }

    pub fn name(self) -> &'static str {
        self.names()[0]
    }

    pub fn parse(name: &str) -> Option<Kind> {
        let name = name.trim().to_lowercase();
        Kind::ALL.into_iter().find(|kind| kind.names().contains(&name.as_str()))
    }

    /// From a file's name: `afiliados.csv`, `2024-conversions.ndjson`.
    pub fn of_file(path: &Path) -> Option<Kind> {
        let stem = path.file_stem()?.to_str()?.to_lowercase();
        Kind::ALL.into_iter().find(|kind| kind.names().iter().any(|name| stem.contains(name)))
    }

    /// The order files are best imported in: what rows refer to first.
    fn rank(self) -> usize {
        Kind::ALL.iter().position(|k| *k == self).unwrap_or(usize::MAX)
    }
}

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn of_file(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_lowercase().as_str() {
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// One file to import.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub kind: Kind,
    pub format: Format,
    /// Seed 001 `purchase` events are the same sales as its `orders`: when an orders file
    /// is imported too, the order is the sale and the purchase row is counted as there.
    pub purchases_are_orders: bool,
}

impl Source {
    /// The file, its kind (`kind`, else its name) and its format (its extension).
    pub fn new(path: PathBuf, kind: Option<Kind>) -> Result<Self, String> {
        let kind = kind.or_else(|| Kind::of_file(&path)).ok_or_else(|| {
            format!(
                "{}: cannot tell what it holds from its name; name it after one of {} or give --kind",
                path.display(),
                Kind::ALL.map(Kind::name).join(", ")
            )
        })?;
        let format = Format::of_file(&path)
            .ok_or_else(|| format!("{}: the name must end in .ndjson, .jsonl, .json or .csv", path.display()))?;
        Ok(Self { path, kind, format, purchases_are_orders: false })
    }
}

/// Sorts sources so that what rows refer to (affiliates, campaigns) comes first.
/// With an orders file among them, seed 001's purchase events are left to it.
pub fn in_order(mut sources: Vec<Source>) -> Vec<Source> {
    sources.sort_by_key(|s| s.kind.rank());
    let orders = sources.iter().any(|s| s.kind == Kind::Orders);
    for source in &mut sources {
        source.purchases_are_orders = orders && source.kind == Kind::TrackingEvents;
    }
    sources
}

/// What became of one file's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub read: u64,
    pub imported: u64,
    pub already_there: u64,
    pub refused: u64,
}

/// A row that was not imported: where it is, why, and the row.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub file: String,
    pub line: u64,
    pub reason: String,
    pub row: Value,
}

enum Outcome {
    Imported,
    AlreadyThere,
    Refused(String),
}

/// A row read from a file: its line (1-based; a CSV's first row is line 2) and its body.
struct Row {
    line: u64,
    body: Result<Value, String>,
}

/// Imports one file; `refused` hears of each row not imported. An error is returned only
/// when the file cannot be read or the database fails (what was committed stays, and a
/// second run goes on from there).
pub async fn import_file(
    ctx: &Ctx,
    ingest: &Ingestor,
    source: &Source,
    progress: &dyn Progress,
    refused: &mut dyn FnMut(Refusal) -> std::io::Result<()>,
) -> anyhow::Result<Summary> {
    progress.stage(source.kind.name(), count_rows(source)?);
    let rows = read_rows(source)?;
    let system = Caller::system();
    let mut summary = Summary::default();
    let mut outcomes = futures::stream::iter(rows)
        .map(|row| {
            let system = &system;
            async move {
                let row = row?;
                let outcome = match row.body.clone() {
                    Ok(body) => import_row(ctx, ingest, system, source, body).await?,
                    Err(reason) => Outcome::Refused(reason),
                };
                anyhow::Ok((row, outcome))
            }
        })
        .buffered(match source.kind {
            // One transaction each; the order of a file is kept.
            Kind::Affiliates | Kind::Campaigns | Kind::Orders | Kind::Commissions => 1,
            Kind::Interactions | Kind::Impressions | Kind::TrackingEvents | Kind::Conversions => IN_FLIGHT,
        });
    while let Some(done) = outcomes.next().await {
        let (row, outcome) = done?;
        summary.read += 1;
        match outcome {
            Outcome::Imported => summary.imported += 1,
            Outcome::AlreadyThere => summary.already_there += 1,
            Outcome::Refused(reason) => {
                summary.refused += 1;
                refused(Refusal {
                    file: source.path.display().to_string(),
                    line: row.line,
                    reason,
                    row: row.body.unwrap_or(Value::Null),
                })?;
            }
        }
        progress.advance(1);
    }
    Ok(summary)
}

/// Imports one row; `Err` only when our side failed (the database is away, say).
async fn import_row(
    ctx: &Ctx,
    ingest: &Ingestor,
    system: &Caller,
    source: &Source,
    body: Value,
) -> anyhow::Result<Outcome> {
    match row_outcome(ctx, ingest, system, source, body).await {
        Ok(outcome) => Ok(outcome),
        Err(err @ (AppError::Internal(_) | AppError::Unavailable(_) | AppError::Timeout(_))) => Err(err.into()),
        Err(err) => Ok(Outcome::Refused(describe(&err))),
    }
}

/// An error as the refused-rows file says it: the field first when there is one.
fn describe(err: &AppError) -> String {
    match err.field() {
        Some(field) if !err.to_string().contains(field) => format!("{field}: {err}"),
        _ => err.to_string(),
    }
}

fn body_of<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, AppError> {
    serde_json::from_value(body).map_err(|e| AppError::validation("body", format!("not a valid row: {e}")))
}

async fn row_outcome(
    ctx: &Ctx,
    ingest: &Ingestor,
    system: &Caller,
    source: &Source,
    body: Value,
) -> Result<Outcome, AppError> {
    // Seed 003 interactions and seed 001 events cannot be read without their id; seed
    // 002 and 004 bodies can, so the import asks for it.
    let replayed = match source.kind {
        Kind::Affiliates => return affiliate(ctx, system, body).await,
        Kind::Campaigns => return campaign(ctx, system, body).await,
        Kind::Interactions => {
            let (kind, command) = interaction_from_seed(body)?;
            tracking::record_interaction(ctx, ingest, Recorder::Public, kind, command, &SEED_003).await?.replayed
        }
        Kind::Impressions => {
            require_id(&body, "id")?;
            tracking::record_impression(ctx, ingest, Recorder::Public, impression_from_command(body)?, &SEED_002)
                .await?
                .replayed
        }
        Kind::TrackingEvents => match tracking_event(body)? {
            Seed001::Touch(kind, command) => {
                tracking::record_interaction(ctx, ingest, Recorder::Public, kind, command, &SEED_001).await?.replayed
            }
            Seed001::Conversion(_) if source.purchases_are_orders => true,
            Seed001::Conversion(command) => {
                tracking::record_conversion(ctx, ingest, Recorder::Caller(system), command, &SEED_001).await?.replayed
            }
        },
        Kind::Orders => return order(ctx, body).await,
        Kind::Commissions => return commission(ctx, system, body).await,
        Kind::Conversions if body.get("valor_conversion").is_some() => {
            require_id(&body, "id")?;
            let command = body_of::<Registrar>(body)?.into_command()?;
            tracking::record_conversion(ctx, ingest, Recorder::Caller(system), command, &SEED_004).await?.replayed
        }
        Kind::Conversions => {
            require_id(&body, "id")?;
            let command = conversion_from_command(body)?;
            tracking::record_conversion(ctx, ingest, Recorder::Caller(system), command, &SEED_002).await?.replayed
        }
    };
    Ok(if replayed { Outcome::AlreadyThere } else { Outcome::Imported })
}

async fn affiliate(ctx: &Ctx, system: &Caller, body: Value) -> Result<Outcome, AppError> {
    let mut input = body_of::<CrearAfiliado>(body)?.into_input()?;
    if let Some(code) = &input.code {
        if affiliate_service::resolve(&ctx.db, code).await.is_ok() {
            return Ok(Outcome::AlreadyThere);
        }
    }
    input.commission.currency.get_or_insert_with(|| ctx.config.currency.clone());
    match affiliate_service::create(ctx, system, input).await {
        Ok(_) => Ok(Outcome::Imported),
        // The same person imported before (the email is unique).
        Err(AppError::Conflict { field: Some(field), .. }) if field == "email" => Ok(Outcome::AlreadyThere),
        Err(err) => Err(err),
    }
}

async fn campaign(ctx: &Ctx, system: &Caller, body: Value) -> Result<Outcome, AppError> {
    let input = body_of::<CrearCampana>(body)?.into_input();
    let existing = match &input.code {
        Some(code) => campaign_service::resolve(&ctx.db, code).await.ok(),
        // Without a code one is made from the name: the name is what a second run knows.
        None => campaign_service::find_by_name(&ctx.db, &input.name).await?,
    };
    if existing.is_some() {
        return Ok(Outcome::AlreadyThere);
    }
    campaign_service::create(ctx, system, input).await.map(|_| Outcome::Imported)
}

/// A row of seed 001's `orders` table (its metadata columns as seed 000 names them).
#[derive(Deserialize)]
struct OrderRow {
    /// The tracking session the visitor had (seed 001 `event_id`).
    event_id: Option<String>,
    stripe_session_id: String,
    payment_intent_id: Option<String>,
    #[serde(deserialize_with = "crate::wire::decimal")]
    amount: Decimal,
    currency: String,
    status: Option<String>,
    created_at: String,
    gclid: Option<String>,
    fbclid: Option<String>,
    campaign: Option<String>,
    source: Option<String>,
    product_id: Option<String>,
}

/// Seed 001's order: the Stripe checkout it was, handled as the webhook handles one (its
/// order, and when paid its sale conversion at the order's own time), tied to the
/// session's last click before it. Never delivered to Google Ads, Meta or Pipedrive (the
/// replaced system did that). A refunded order is then refunded as Stripe says it.
async fn order(ctx: &Ctx, body: Value) -> Result<Outcome, AppError> {
    let row: OrderRow = body_of(body)?;
    let session = row.stripe_session_id.trim().to_string();
    if session.is_empty() || session.len() > 255 {
        return Err(AppError::validation(
            "stripe_session_id",
            "stripe_session_id is required (at most 255 characters)",
        ));
    }
    let currency = Currency::parse(&row.currency, "currency")?;
    let amount = currency.amount(row.amount, "amount")?;
    let minor = (amount * Decimal::from(10_i64.pow(currency.minor_units())))
        .to_i64()
        .filter(|m| *m > 0)
        .ok_or_else(|| AppError::validation("amount", "amount must be greater than zero"))?;
    let created = sql_time(&row.created_at, "created_at")?;
    let status = row.status.as_deref().map(|s| s.trim().to_lowercase()).unwrap_or_else(|| "paid".into());
    let (paid, refunded) = match status.as_str() {
        "paid" | "pagada" | "pagado" | "complete" | "completed" | "succeeded" => (true, false),
        "refunded" | "reembolsada" | "reembolsado" => (true, true),
        "pending" | "pendiente" | "unpaid" | "open" => (false, false),
        other => {
            return Err(AppError::validation(
                "status",
                format!("status '{other}' is not one of paid, refunded or pending"),
            ))
        }
    };
    let intent = row.payment_intent_id.clone().unwrap_or_else(|| format!("pi_import_{session}"));
    let click = match row.event_id.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(visitor) => tracking::last_click_of(&ctx.db, visitor, created).await?,
        None => None,
    };
    let mut metadata = serde_json::json!({ crate::service::integration_service::IMPORT_MARK: "true" });
    for (key, value) in [
        ("gclid", &row.gclid),
        ("fbclid", &row.fbclid),
        ("campaign", &row.campaign),
        ("source", &row.source),
        ("product_id", &row.product_id),
    ] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            metadata[key] = Value::from(value);
        }
    }
    let checkout = stripe_event(
        format!("evt_import_{session}"),
        "checkout.session.completed",
        created.timestamp(),
        serde_json::json!({
            "id": session,
            "object": "checkout.session",
            "created": created.timestamp(),
            "mode": "payment",
            "amount_total": minor,
            "currency": currency.code().to_lowercase(),
            "payment_status": if paid { "paid" } else { "unpaid" },
            "payment_intent": intent,
            "client_reference_id": click,
            "metadata": metadata,
        }),
    );
    let outcome = stripe_service::receive(ctx, checkout).await?;
    if refunded {
        let refund = stripe_event(
            format!("evt_import_refund_{session}"),
            "charge.refunded",
            created.timestamp(),
            serde_json::json!({
                "id": format!("ch_import_{session}"),
                "object": "charge",
                "payment_intent": intent,
                "amount": minor,
                "amount_refunded": minor,
                "currency": currency.code().to_lowercase(),
                "refunded": true,
            }),
        );
        stripe_service::receive(ctx, refund).await?;
    }
    Ok(match outcome {
        stripe_service::Outcome::Duplicate => Outcome::AlreadyThere,
        _ => Outcome::Imported,
    })
}

/// Where a seed 004 commission can be brought, in the order its lifecycle goes; REJECTED
/// and CANCELED end it on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Reserved,
    Calculated,
    Approved,
    Paid,
    Rejected,
    Canceled,
}

impl Stage {
    fn of(status: CommissionStatus) -> Stage {
        match status {
            CommissionStatus::Pending => Stage::Reserved,
            CommissionStatus::Calculated => Stage::Calculated,
            CommissionStatus::Approved => Stage::Approved,
            CommissionStatus::Paid => Stage::Paid,
            CommissionStatus::Rejected => Stage::Rejected,
            CommissionStatus::Canceled => Stage::Canceled,
        }
    }

    /// The next move from here towards `target`; none when there or when `target` cannot
    /// be reached from here (an approved commission is not rejected, a paid one stays).
    fn towards(self, target: Stage) -> Option<Stage> {
        use Stage::*;
        match (self, target) {
            (Reserved | Calculated, Rejected) => Some(Rejected),
            (Reserved | Calculated | Approved, Canceled) => Some(Canceled),
            (Reserved, Calculated | Approved | Paid) => Some(Calculated),
            (Calculated, Approved | Paid) => Some(Approved),
            (Approved, Paid) => Some(Paid),
            _ => None,
        }
    }

    /// A state that leaves room for a new commission of the same conversion and affiliate.
    fn ended(self) -> Option<CommissionStatus> {
        match self {
            Stage::Rejected => Some(CommissionStatus::Rejected),
            Stage::Canceled => Some(CommissionStatus::Canceled),
            _ => None,
        }
    }
}

/// Seed 004's commission as the replaced system had it: asked for as
/// `POST /api/v1/comisiones` asks (its conversion and affiliate, base, type and rate), then
/// calculated, approved (with its `comentarios` and `metadatos_aprobacion`), rejected
/// (`motivo_rechazo`), canceled (`motivo_cancelacion`) or paid (`fecha_pago`, and the
/// payment's reference as `pago_id` or `referencia_pago`: a PAID payout of its own, so it
/// is never paid again) as its `estado` says, each move audited and published as a live
/// one is. A conversion has one commission per affiliate, so a second run finds it and
/// changes nothing; a row whose commission stopped on the way (a move refused) is taken
/// on from where it stopped.
async fn commission(ctx: &Ctx, system: &Caller, body: Value) -> Result<Outcome, AppError> {
    require_id(&body, "conversion_id")?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let target = match text("estado").map(str::to_lowercase).as_deref() {
        None | Some("reservada" | "pendiente" | "pending") => Stage::Reserved,
        Some("calculada" | "calculated") => Stage::Calculated,
        Some("aprobada" | "approved") => Stage::Approved,
        Some("pagada" | "pagado" | "paid") => Stage::Paid,
        Some("rechazada" | "rejected") => Stage::Rejected,
        Some("cancelada" | "anulada" | "canceled" | "cancelled") => Stage::Canceled,
        Some(other) => {
            return Err(AppError::validation(
                "estado",
                format!("estado '{other}' is not one of reservada, calculada, aprobada, pagada, rechazada, cancelada"),
            ))
        }
    };
    let approval = commissions::Approval {
        comments: text("comentarios").map(str::to_string),
        metadata: body.get("metadatos_aprobacion").cloned(),
        expected_version: None,
    };
    let rejection = text("motivo_rechazo").unwrap_or("rechazada en el sistema anterior").to_string();
    let cancellation = text("motivo_cancelacion").unwrap_or("cancelada en el sistema anterior").to_string();
    let payment = commissions::PaidElsewhere {
        reference: text("pago_id").or(text("referencia_pago")).map(str::to_string),
        paid_at: text("fecha_pago").map(|at| sql_time(at, "fecha_pago")).transpose()?,
    };
    let input = body_of::<CrearComision>(body)?.into_input()?;
    // A rejected or canceled commission leaves room for a new one, so a second run looks
    // for it first.
    if let Some(status) = target.ended() {
        if ended_before(ctx, &input, status).await? {
            return Ok(Outcome::AlreadyThere);
        }
    }
    let (made, new) = commissions::create(ctx, system, input).await?;
    let mut at = Stage::of(made.status);
    let mut moved = false;
    while let Some(next) = at.towards(target) {
        match next {
            Stage::Calculated => drop(commissions::calculate(ctx, system, made.id, false).await?),
            Stage::Approved => drop(commissions::approve(ctx, system, made.id, approval.clone()).await?),
            Stage::Paid => drop(commissions::record_paid_elsewhere(ctx, system, made.id, payment.clone()).await?),
            Stage::Rejected => drop(commissions::reject(ctx, system, made.id, &rejection).await?),
            Stage::Canceled => drop(commissions::cancel(ctx, system, made.id, &cancellation).await?),
            Stage::Reserved => break,
        }
        at = next;
        moved = true;
    }
    Ok(if new || moved { Outcome::Imported } else { Outcome::AlreadyThere })
}

/// Whether the row's conversion already has a commission for the row's affiliate in
/// `status` (rejected or canceled).
async fn ended_before(
    ctx: &Ctx,
    input: &commissions::NewCommission,
    status: CommissionStatus,
) -> Result<bool, AppError> {
    let Some(reference) = input.conversion.as_deref() else { return Ok(false) };
    let Ok(conversion) = tracking::resolve_conversion(&ctx.db, reference).await else { return Ok(false) };
    let affiliate = match input.affiliate.as_deref() {
        Some(reference) => match affiliate_service::resolve(&ctx.db, reference).await {
            Ok(affiliate) => Some(affiliate.id),
            Err(_) => return Ok(false),
        },
        None => conversion.affiliate_id,
    };
    let Some(affiliate) = affiliate else { return Ok(false) };
    use entity::commissions::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Ok(Entity::find()
        .filter(Column::ConversionId.eq(conversion.id))
        .filter(Column::AffiliateId.eq(affiliate))
        .filter(Column::AdjustsCommissionId.is_null())
        .filter(Column::Status.eq(status))
        .one(&ctx.db)
        .await?
        .is_some())
}

/// A Stripe event as Stripe sends it, around `object`.
fn stripe_event(id: String, kind: &str, created: i64, object: Value) -> Value {
    serde_json::json!({
        "id": id, "object": "event", "type": kind, "livemode": false, "created": created, "data": { "object": object },
    })
}

fn require_id(body: &Value, field: &str) -> Result<(), AppError> {
    match body.get(field) {
        Some(Value::String(id)) if !id.trim().is_empty() => Ok(()),
        _ => Err(AppError::validation(
            field,
            format!("{field} is required on import: it is how a second run knows the row is in already"),
        )),
    }
}

/// The rows of a file, read as the import takes them: a history of millions of rows
/// costs the rows in flight, not the file.
type Rows = Box<dyn Iterator<Item = anyhow::Result<Row>> + Send>;

fn open(source: &Source) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(&source.path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", source.path.display()))
}

fn read_rows(source: &Source) -> anyhow::Result<Rows> {
    let file = open(source)?;
    let path = source.path.display().to_string();
    match source.format {
        Format::Ndjson => Ok(Box::new(std::io::BufReader::new(file).lines().enumerate().filter_map(
            move |(index, line)| match line {
                Err(e) => Some(Err(anyhow::anyhow!("cannot read {path}: {e}"))),
                Ok(line) if line.trim().is_empty() => None,
                Ok(line) => {
                    let body = match serde_json::from_str::<Value>(&line) {
                        Ok(value @ Value::Object(_)) => Ok(value),
                        Ok(_) => Err("not a JSON object".to_string()),
                        Err(e) => Err(format!("not JSON: {e}")),
                    };
                    Some(Ok(Row { line: index as u64 + 1, body }))
                }
            },
        ))),
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
            let headers: Vec<String> = reader
                .headers()
                .map_err(|e| anyhow::anyhow!("{path}: no header row: {e}"))?
                .iter()
                .map(|h| h.trim().to_string())
                .collect();
            Ok(Box::new(reader.into_records().enumerate().map(move |(index, record)| {
                // A quoted cell may span lines: the record says where it starts.
                let line = |position: Option<&csv::Position>| position.map_or(index as u64 + 2, csv::Position::line);
                Ok(match record {
                    Ok(record) => Row { line: line(record.position()), body: csv_row(&headers, record.iter()) },
                    Err(e) => Row { line: line(e.position()), body: Err(format!("not a CSV row: {e}")) },
                })
            })))
        }
    }
}

/// How many rows a file has, for the progress bar (a quick first pass).
fn count_rows(source: &Source) -> anyhow::Result<u64> {
    let file = open(source)?;
    Ok(match source.format {
        Format::Ndjson => {
            std::io::BufReader::new(file).lines().map_while(Result::ok).filter(|line| !line.trim().is_empty()).count()
                as u64
        }
        Format::Csv => csv::ReaderBuilder::new().flexible(true).from_reader(file).into_records().count() as u64,
    })
}

/// Fields whose value is a whole number (a CSV cell is text otherwise).
const WHOLE_NUMBERS: [&str; 2] = ["marca_temporal", "ventana_dias"];

/// A CSV row as the JSON body it stands for: `a.b` is `{"a": {"b": …}}`, an empty cell
/// is no field, a cell starting with `[` or `{` is JSON.
fn csv_row<'a>(headers: &[String], cells: impl Iterator<Item = &'a str>) -> Result<Value, String> {
    let mut body = Map::new();
    for (name, cell) in headers.iter().zip(cells) {
        let cell = cell.trim();
        if cell.is_empty() || name.is_empty() {
            continue;
        }
        let path: Vec<&str> = name.split('.').collect();
        let last = path.last().copied().unwrap_or_default();
        let value = if cell.starts_with('[') || cell.starts_with('{') {
            serde_json::from_str(cell).map_err(|e| format!("{name}: not JSON: {e}"))?
        } else if WHOLE_NUMBERS.contains(&last) {
            cell.parse::<i64>().map(Value::from).map_err(|_| format!("{name}: '{cell}' is not a whole number"))?
        } else {
            Value::String(cell.to_string())
        };
        let mut object = &mut body;
        for part in &path[..path.len() - 1] {
            let entry = object.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
            object = entry.as_object_mut().ok_or_else(|| format!("{name}: '{part}' is both a value and a group"))?;
        }
        object.insert(last.to_string(), value);
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kinds_and_formats_from_file_names() {
        let kind = |name: &str| Kind::of_file(Path::new(name));
        assert_eq!(kind("afiliados.csv"), Some(Kind::Affiliates));
        assert_eq!(kind("export/2024-campañas.ndjson"), Some(Kind::Campaigns));
        assert_eq!(kind("Conversiones_enero.jsonl"), Some(Kind::Conversions));
        assert_eq!(kind("tracking.csv"), None);
        assert_eq!(Kind::parse(" Impresiones "), Some(Kind::Impressions));
        assert_eq!(Format::of_file(Path::new("a.CSV")), Some(Format::Csv));
        assert_eq!(Format::of_file(Path::new("a.xlsx")), None);
        assert!(Source::new("x.csv".into(), None).is_err());
        assert!(Source::new("afiliados.txt".into(), None).is_err());
        let sources: Vec<Source> = ["conversiones.csv", "afiliados.csv", "campanas.csv"]
            .into_iter()
            .filter_map(|n| Source::new(n.into(), None).ok())
            .collect();
        let kinds: Vec<Kind> = in_order(sources).iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [Kind::Affiliates, Kind::Campaigns, Kind::Conversions]);
    }

    #[test]
    fn a_csv_row_is_the_json_body_it_stands_for() {
        let headers: Vec<String> =
            ["nombre", "configuracion_comisiones.comision_base", "canales", "ventana_dias", "telefono", "codigo"]
                .map(String::from)
                .to_vec();
        let row = csv_row(&headers, ["Ana", "15.5", r#"["web","email"]"#, "30", "", "00123"].into_iter());
        assert_eq!(
            row,
            Ok(json!({
                "nombre": "Ana",
                "configuracion_comisiones": { "comision_base": "15.5" },
                "canales": ["web", "email"],
                "ventana_dias": 30,
                "codigo": "00123"
            }))
        );
        let bad_json = csv_row(&headers, ["Ana", "1", "[oops", "", "", ""].into_iter());
        assert!(bad_json.is_err_and(|e| e.starts_with("canales")));
        assert!(csv_row(&headers, ["Ana", "1", "", "treinta", "", ""].into_iter()).is_err());
        let clash: Vec<String> = ["a", "a.b"].map(String::from).to_vec();
        assert!(csv_row(&clash, ["1", "2"].into_iter()).is_err());
    }
}
