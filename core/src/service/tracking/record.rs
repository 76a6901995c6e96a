//! The one way into tracking ingest: a command per kind of event. Every transport — the
//! seed REST bodies, GraphQL, the bus, the click redirect and the demo seeder — fills a
//! command with what it received, unchecked, and says how it names the fields; the
//! command is checked and authorized here, once, turned into the writer's input here, and
//! handed to the ingest writer. A bad field is refused with the name the client used.

use super::*;

/// How a transport names the fields of a touch or a conversion, so that an error names
/// the field the client sent (`campaña_id` on a seed route, `campaignId` in GraphQL).
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: &'static str,
    pub occurred_at: &'static str,
    pub campaign: &'static str,
    pub affiliate: &'static str,
    pub user_id: &'static str,
    pub anonymous_id: &'static str,
    pub click_id: &'static str,
    pub channel: &'static str,
    pub source: &'static str,
    pub medium: &'static str,
    pub gclid: &'static str,
    pub fbclid: &'static str,
    pub referrer: &'static str,
    pub user_agent: &'static str,
    pub ip: &'static str,
    pub email: &'static str,
    pub value: &'static str,
    pub currency: &'static str,
    pub products: &'static str,
    pub metadata: &'static str,
}

impl Fields {
    /// The fields under their own (English, snake_case) names: for callers inside the
    /// service, and the base a transport changes a few names of.
    pub const PLAIN: Fields = Fields {
        id: "id",
        occurred_at: "occurred_at",
        campaign: "campaign",
        affiliate: "affiliate",
        user_id: "user_id",
        anonymous_id: "anonymous_id",
        click_id: "click_id",
        channel: "channel",
        source: "source",
        medium: "medium",
        gclid: "gclid",
        fbclid: "fbclid",
        referrer: "referrer",
        user_agent: "user_agent",
        ip: "ip",
        email: "email",
        value: "value",
        currency: "currency",
        products: "products",
        metadata: "metadata",
    };
}

/// Who records: a public tracking route or the bus (anyone; the transport limits size
/// and rate), or a signed-in caller (ADMIN for any affiliate, an AFFILIATE for itself;
/// ANALYST may not record). Conversions are stricter: see [`record_conversion`].
#[derive(Debug, Clone, Copy)]
pub enum Recorder<'a> {
    Public,
    Caller(&'a Caller),
}

/// A touch as a transport received it: nothing checked yet.
#[derive(Debug, Clone, Default)]
pub struct TouchCommand {
    pub id: Option<String>,
    /// When it happened; now when absent.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The campaign and affiliate as the client names them (id or code), or as known.
    pub campaign: Option<Ref>,
    pub affiliate: Option<Ref>,
    pub tracking_link_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub gclid: Option<String>,
    pub fbclid: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// A click through a tracking link opens a session.
    pub session: Option<SessionInput>,
    /// What the transport knows of the sender, used where the body says nothing.
    pub client: Client,
}

/// A conversion as a transport received it: nothing checked yet.
#[derive(Debug, Clone, Default)]
pub struct ConversionCommand {
    pub id: Option<String>,
    pub kind: Option<ConversionKind>,
    pub value: Decimal,
    /// Without one, the programme's currency (`ALPES_CURRENCY`).
    pub currency: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub campaign: Option<Ref>,
    pub affiliate: Option<Ref>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub click_id: Option<String>,
    pub channel: Option<String>,
    pub customer_email: Option<String>,
    /// What else the client says of the customer (never the email: it is hashed).
    pub customer: Option<Value>,
    pub products: Option<Value>,
    pub metadata: Option<Value>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub client: Client,
}

/// What a command stored, and whether it was there already (a repeat of the same id).
#[derive(Debug, Clone)]
pub struct Recorded<T> {
    pub row: T,
    pub replayed: bool,
}

/// Seed 002 `POST /tracking/impresiones`, GraphQL `recordImpression`: an impression of a
/// campaign (the campaign is required).
pub async fn record_impression(
    ctx: &Ctx,
    ingest: &Ingestor,
    who: Recorder<'_>,
    mut command: TouchCommand,
    fields: &Fields,
) -> AppResult<Recorded<Interaction>> {
    command.campaign = checked_ref(command.campaign)?;
    if command.campaign.is_none() {
        return Err(AppError::validation(fields.campaign, format!("{} is required", fields.campaign)));
    }
    record_touch(ctx, ingest, who, command, TouchKind::Impression, TouchEvent::Impression, fields).await
}

/// GraphQL `recordClick`, the `/r/{code}` redirect and the demo seeder: a click, which
/// opens a tracking session with its UTM and click ids.
pub async fn record_click(
    ctx: &Ctx,
    ingest: &Ingestor,
    who: Recorder<'_>,
    command: TouchCommand,
    fields: &Fields,
) -> AppResult<Recorded<Interaction>> {
    record_touch(ctx, ingest, who, command, TouchKind::Click, TouchEvent::Interaction, fields).await
}

/// Seed 003 `InteraccionRegistrada` (REST and bus): a touch of any kind, by a person known
/// by user id or anonymous id.
pub async fn record_interaction(
    ctx: &Ctx,
    ingest: &Ingestor,
    who: Recorder<'_>,
    kind: TouchKind,
    command: TouchCommand,
    fields: &Fields,
) -> AppResult<Recorded<Interaction>> {
    record_touch(ctx, ingest, who, command, kind, TouchEvent::Interaction, fields).await
}

/// Seed 002 `POST /tracking/conversiones`, seed 004 `POST /api/v1/conversiones`, GraphQL
/// `recordConversion`: a conversion, attributed later by the attribution worker.
///
/// A conversion makes commissions, so it is recorded only by an ADMIN user or an API key
/// with the conversions scope (the shop's server), never by an affiliate. Without either,
/// only when the legacy switch lets keyless conversions in, and then it is marked
/// unverified: always held for review, never approved automatically.
pub async fn record_conversion(
    ctx: &Ctx,
    ingest: &Ingestor,
    who: Recorder<'_>,
    command: ConversionCommand,
    fields: &Fields,
) -> AppResult<Recorded<Conversion>> {
    let unverified = match who {
        Recorder::Caller(caller) => {
            caller.require_conversion_recorder()?;
            false
        }
        Recorder::Public if ctx.config.legacy_keyless_conversions => true,
        Recorder::Public => {
            return Err(AppError::Unauthenticated(
                "recording a conversion needs an API key that may record conversions \
                 (X-Api-Key or Authorization: Bearer)"
                    .into(),
            ))
        }
    };
    let affiliate = checked_ref(command.affiliate)?;
    let currency =
        Currency::parse(command.currency.as_deref().unwrap_or(ctx.config.currency.as_str()), fields.currency)?;
    let value = currency.amount(command.value, fields.value)?;
    let products = command.products.unwrap_or_else(|| json!([]));
    if !products.is_array() {
        return Err(AppError::validation(fields.products, format!("{} must be a JSON array", fields.products)));
    }
    let metadata = command.metadata.unwrap_or_else(|| json!({}));
    if !metadata.is_object() {
        return Err(AppError::validation(fields.metadata, format!("{} must be a JSON object", fields.metadata)));
    }
    let client = command.client;
    let input = ConversionInput {
        external_id: external_id(command.id, fields)?,
        kind: command.kind.unwrap_or(ConversionKind::Sale),
        value,
        currency: currency.code().to_string(),
        occurred_at: occurred_at(ctx.config.max_event_age_days, command.occurred_at, fields.occurred_at)?,
        campaign: checked_ref(command.campaign)?,
        affiliate,
        user_id: tracking::identifier(command.user_id.as_deref(), fields.user_id)?,
        anonymous_id: tracking::identifier(command.anonymous_id.as_deref(), fields.anonymous_id)?
            .or(client.anonymous_id),
        click_id: tracking::identifier(command.click_id.as_deref(), fields.click_id)?.or(client.click_id),
        channel: tracking::identifier(command.channel.as_deref(), fields.channel)?,
        customer_email: command
            .customer_email
            .as_deref()
            .map(|email| validate::email(email).map_err(|err| renamed(err, fields.email)))
            .transpose()?,
        // Who the customer is is kept only as hashes.
        customer: crate::domain::pii::minimise_customer(command.customer.unwrap_or_else(|| json!({}))),
        products,
        metadata,
        referrer: text(command.referrer, fields.referrer, 2048)?,
        user_agent: text(command.user_agent, fields.user_agent, 512)?.or(client.user_agent),
        ip: text(command.ip, fields.ip, 64)?.or(client.ip),
        unverified,
    };
    let receipt = ingest.submit(Item::Conversion(input)).await?;
    match receipt.stored {
        Stored::Conversion(row) => Ok(Recorded { row: row.into(), replayed: receipt.replayed }),
        Stored::Touch(_) => Err(AppError::internal(anyhow::anyhow!("a conversion was stored as a touch"))),
    }
}

async fn record_touch(
    ctx: &Ctx,
    ingest: &Ingestor,
    who: Recorder<'_>,
    command: TouchCommand,
    kind: TouchKind,
    event: TouchEvent,
    fields: &Fields,
) -> AppResult<Recorded<Interaction>> {
    let affiliate = authorize(ctx, who, command.affiliate, fields).await?;
    let client = command.client;
    let input = TouchInput {
        external_id: external_id(command.id, fields)?,
        kind,
        occurred_at: occurred_at(ctx.config.max_event_age_days, command.occurred_at, fields.occurred_at)?,
        campaign: checked_ref(command.campaign)?,
        affiliate,
        tracking_link_id: command.tracking_link_id,
        user_id: tracking::identifier(command.user_id.as_deref(), fields.user_id)?,
        anonymous_id: tracking::identifier(command.anonymous_id.as_deref(), fields.anonymous_id)?
            .or(client.anonymous_id),
        source: text(command.source, fields.source, 255)?,
        medium: text(command.medium, fields.medium, 255)?,
        gclid: text(command.gclid, fields.gclid, 255)?,
        fbclid: text(command.fbclid, fields.fbclid, 255)?,
        referrer: text(command.referrer, fields.referrer, 2048)?,
        user_agent: text(command.user_agent, fields.user_agent, 512)?.or(client.user_agent),
        ip: text(command.ip, fields.ip, 64)?.or(client.ip),
        session: command.session.map(checked_session).transpose()?,
        flags: Vec::new(),
        event,
    };
    let receipt = ingest.submit(Item::Touch(input)).await?;
    match receipt.stored {
        Stored::Touch(row) => Ok(Recorded { row: row.into(), replayed: receipt.replayed }),
        Stored::Conversion(_) => Err(AppError::internal(anyhow::anyhow!("a touch was stored as a conversion"))),
    }
}

/// The affiliate a command may name: any for the public routes and ADMIN; for an
/// AFFILIATE its own (named or not; another one is FORBIDDEN); ANALYST may not record.
async fn authorize(ctx: &Ctx, who: Recorder<'_>, affiliate: Option<Ref>, fields: &Fields) -> AppResult<Option<Ref>> {
    let affiliate = checked_ref(affiliate)?;
    let Recorder::Caller(caller) = who else { return Ok(affiliate) };
    match caller.role {
        Role::Admin => Ok(affiliate),
        Role::Analyst => Err(AppError::Forbidden("analysts have read-only access".into())),
        Role::Affiliate => {
            let own = caller
                .affiliate_scope()
                .ok_or_else(|| AppError::Forbidden("this user is not linked to an affiliate".into()))?;
            let named = match &affiliate {
                None => own,
                Some(Ref::Known(id)) => *id,
                Some(Ref::Given { value, .. }) => match affiliate_service::get(&ctx.db, caller, value).await {
                    Ok(found) => found.id,
                    // Another affiliate's is not visible to this caller: it is not theirs.
                    Err(AppError::NotFound { .. }) => Uuid::nil(),
                    Err(err) => return Err(err),
                },
            };
            if named != own {
                return Err(AppError::Forbidden(format!(
                    "affiliates can only record their own events ({} names another affiliate)",
                    fields.affiliate
                )));
            }
            Ok(Some(Ref::Known(own)))
        }
    }
}

/// The client's id for the event, its idempotency key; made up when absent.
fn external_id(id: Option<String>, fields: &Fields) -> AppResult<Option<String>> {
    Ok(tracking::identifier(id.as_deref(), fields.id)?)
}

/// `at` (now when absent), unless in the future or older than `max_days` (when set).
fn occurred_at(max_days: Option<u32>, at: Option<DateTime<Utc>>, field: &str) -> AppResult<DateTime<Utc>> {
    let now = Utc::now();
    let max_age = max_days.map(|days| chrono::Duration::days(i64::from(days)));
    Ok(tracking::event_time(at.unwrap_or(now), now, max_age, field)?)
}

/// A campaign or affiliate named by the client: a valid identifier, or none when blank.
fn checked_ref(reference: Option<Ref>) -> AppResult<Option<Ref>> {
    match reference {
        Some(Ref::Given { value, field }) => {
            Ok(tracking::identifier(Some(&value), field)?.map(|value| Ref::Given { value, field }))
        }
        other => Ok(other),
    }
}

fn checked_session(session: SessionInput) -> AppResult<SessionInput> {
    Ok(SessionInput {
        utm_source: text(session.utm_source, "utm_source", 255)?,
        utm_medium: text(session.utm_medium, "utm_medium", 255)?,
        utm_campaign: text(session.utm_campaign, "utm_campaign", 255)?,
        utm_term: text(session.utm_term, "utm_term", 255)?,
        utm_content: text(session.utm_content, "utm_content", 255)?,
        landing_path: text(session.landing_path, "landing_path", 2048)?,
    })
}

/// Free text: trimmed, blank is none, longer than `max` characters is refused.
fn text(value: Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    Ok(validate::optional_text(value.as_deref(), field, max)?)
}

/// A domain error about `email` reported under the transport's name for it.
fn renamed(err: DomainError, field: &str) -> AppError {
    match err {
        DomainError::Invalid { message, .. } => AppError::validation(field, message),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: Fields = Fields { id: "id_interaccion", ..Fields::PLAIN };

    fn field_of(result: AppResult<impl std::fmt::Debug>) -> Option<String> {
        result.err().and_then(|e| e.field().map(str::to_owned))
    }

    #[test]
    fn ids_are_checked_under_the_transports_name() {
        assert_eq!(external_id(None, &NAMES).ok(), Some(None));
        assert_eq!(external_id(Some("  ".into()), &NAMES).ok(), Some(None));
        assert_eq!(external_id(Some(" a-1 ".into()), &NAMES).ok(), Some(Some("a-1".into())));
        assert_eq!(field_of(external_id(Some("x".repeat(129)), &NAMES)), Some("id_interaccion".into()));
    }

    #[test]
    fn text_is_trimmed_and_limited() {
        assert_eq!(text(Some("  ".into()), "referrer", 10).ok(), Some(None));
        assert_eq!(text(Some(" a ".into()), "referrer", 10).ok(), Some(Some("a".into())));
        assert_eq!(field_of(text(Some("x".repeat(11)), "referrer", 10)), Some("referrer".into()));
    }

    #[test]
    fn named_references_are_checked_under_their_field() {
        let blank = checked_ref(Some(Ref::Given { value: " ".into(), field: "campaña_id" }));
        assert!(matches!(blank, Ok(None)));
        let bad = checked_ref(Some(Ref::Given { value: "a\nb".into(), field: "campaña_id" }));
        assert_eq!(field_of(bad), Some("campaña_id".into()));
        let known = Uuid::now_v7();
        assert!(matches!(checked_ref(Some(Ref::Known(known))), Ok(Some(Ref::Known(id))) if id == known));
    }

    #[test]
    fn times_far_in_the_future_are_refused_under_the_transports_name() {
        let later = Utc::now() + chrono::Duration::days(2);
        assert_eq!(field_of(occurred_at(None, Some(later), "marca_temporal")), Some("marca_temporal".into()));
        assert!(occurred_at(None, None, "timestamp").is_ok());
        let old = Utc::now() - chrono::Duration::days(800);
        assert!(occurred_at(None, Some(old), "timestamp").is_ok(), "history is accepted by default");
        assert_eq!(field_of(occurred_at(Some(400), Some(old), "timestamp")), Some("timestamp".into()));
    }

    #[test]
    fn an_email_error_names_the_transports_field() {
        let err = validate::email("not-an-email").err().map(|e| renamed(e, "datos_cliente.email"));
        assert_eq!(err.as_ref().and_then(AppError::field), Some("datos_cliente.email"));
    }
}
