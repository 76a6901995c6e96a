//! What the ingest accepts: touches, conversions and sessions, and what it answers.

use super::*;

/// A campaign or affiliate as a client names it (id or code), or as we already know it.
#[derive(Debug, Clone)]
pub enum Ref {
    Given { value: String, field: &'static str },
    Known(Uuid),
}

/// Which seed event a touchpoint publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchEvent {
    /// `evento-impresion-registrada` (seed 002).
    Impression,
    /// `interaccion-registrada` with the seed 003 `InteraccionRegistrada` payload.
    Interaction,
}

/// A new tracking session (seed 001), opened by a click through a tracking link.
#[derive(Debug, Clone, Default)]
pub struct SessionInput {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub landing_path: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct TouchInput {
    /// The client's id, the idempotency key; generated when absent.
    pub external_id: Option<String>,
    pub kind: TouchKind,
    pub occurred_at: DateTime<Utc>,
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
    /// The raw IP; only its salted hash is stored.
    pub ip: Option<String>,
    pub session: Option<SessionInput>,
    pub flags: Vec<String>,
    pub event: TouchEvent,
}

#[derive(Debug, Clone)]
pub(crate) struct ConversionInput {
    pub external_id: Option<String>,
    pub kind: ConversionKind,
    pub value: Decimal,
    pub currency: String,
    pub occurred_at: DateTime<Utc>,
    pub campaign: Option<Ref>,
    pub affiliate: Option<Ref>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// The click that led here (`alpes_cid`), when known.
    pub click_id: Option<String>,
    pub channel: Option<String>,
    pub customer_email: Option<String>,
    pub customer: Value,
    pub products: Value,
    pub metadata: Value,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// Recorded without a key (the legacy switch): held for review whatever its score.
    pub unverified: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Item {
    Touch(TouchInput),
    Conversion(ConversionInput),
}

#[derive(Debug, Clone)]
pub(crate) enum Stored {
    Touch(interactions::Model),
    Conversion(conversions::Model),
}

/// What the ingest answered: the stored row, and whether it was already there.
#[derive(Debug, Clone)]
pub(crate) struct Receipt {
    pub stored: Stored,
    pub replayed: bool,
}

impl Ref {
    /// The lookup key: a UUID in canonical form, or a code in lower case.
    pub(super) fn key(&self) -> String {
        match self {
            Ref::Known(id) => id.to_string(),
            Ref::Given { value, .. } => ref_key(value),
        }
    }
}

pub(super) fn ref_text(reference: &Ref) -> String {
    match reference {
        Ref::Given { value, .. } => value.clone(),
        Ref::Known(id) => id.to_string(),
    }
}

/// Who sent a touch or a conversion, as far as the transport tells: the client's IP
/// (hashed before it is stored), its user agent and its first-party cookie ids. Empty for
/// messages from the bus, which have no browser behind them.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub anonymous_id: Option<String>,
    pub click_id: Option<String>,
}
