//! Journeys: the touches of one person, across the ids linked to them, before a conversion.

use serde_json::Value;

use super::*;

/// Touches of one journey at most (the most recent ones).
pub(super) const MAX_TOUCHES: u64 = 500;
/// Touches this little after a conversion's time still count (times in whole seconds).
pub(super) const CLOCK_SLACK: Duration = Duration::seconds(1);
/// One touch as stored in `journeys.touchpoints`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyTouch {
    /// 1-based, in time order.
    pub position: i32,
    /// The interaction; `None` for the conversion itself when it names its campaign and no touch was tracked.
    pub interaction_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub channel: String,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub is_click: bool,
}

impl JourneyTouch {
    /// What the caller may see of this touch: staff and the affiliate it belongs to see it
    /// whole; another AFFILIATE caller sees when and what kind, without ids, campaign or
    /// source (another partner's traffic is not its business).
    pub fn seen_by(self, caller: &Caller) -> Self {
        match caller.affiliate_scope() {
            Some(own) if self.affiliate_id != Some(own) => {
                Self { interaction_id: None, campaign_id: None, affiliate_id: None, source: None, medium: None, ..self }
            }
            _ => self,
        }
    }

    pub(super) fn touchpoint(&self) -> Touchpoint {
        Touchpoint {
            id: self.interaction_id.unwrap_or_default(),
            at: self.at,
            channel: self.channel.clone(),
            campaign: self.campaign_id.map(|id| id.to_string()),
            affiliate: self.affiliate_id.map(|id| id.to_string()),
            is_click: self.is_click,
        }
    }
}

/// A journey as stored or as handed out: both keep its touches as stored.
pub trait Touchpoints {
    fn touchpoints(&self) -> &Value;
}

impl Touchpoints for journeys::Model {
    fn touchpoints(&self) -> &Value {
        &self.touchpoints
    }
}

impl Touchpoints for Journey {
    fn touchpoints(&self) -> &Value {
        &self.touchpoints
    }
}

/// The touches of a journey, oldest first.
pub fn touches_of(journey: &impl Touchpoints) -> Vec<JourneyTouch> {
    serde_json::from_value(journey.touchpoints().clone()).unwrap_or_default()
}

/// The anonymous ids and user id that are one person with this conversion's.
pub(super) async fn identity<C: ConnectionTrait>(
    conn: &C,
    user_id: Option<&str>,
    anonymous_id: Option<&str>,
) -> AppResult<(Option<String>, Vec<String>)> {
    let mut user = user_id.map(str::to_owned);
    if user.is_none() {
        if let Some(anon) = anonymous_id {
            user = identity_links::Entity::find_by_id(anon.to_string()).one(conn).await?.map(|link| link.user_id);
        }
    }
    let mut anons: Vec<String> = anonymous_id.map(|a| vec![a.to_string()]).unwrap_or_default();
    if let Some(user) = &user {
        let linked = identity_links::Entity::find().filter(identity_links::Column::UserId.eq(user)).all(conn).await?;
        for link in linked {
            if !anons.contains(&link.anonymous_id) {
                anons.push(link.anonymous_id);
            }
        }
    }
    Ok((user, anons))
}

pub(super) fn is_touch(kind: InteractionKind) -> bool {
    matches!(kind, InteractionKind::Click | InteractionKind::Impression | InteractionKind::View)
}

pub(super) fn kind_name(kind: InteractionKind) -> &'static str {
    match kind {
        InteractionKind::Impression => "IMPRESSION",
        InteractionKind::Click => "CLICK",
        InteractionKind::View => "VIEW",
        InteractionKind::Lead => "LEAD",
        InteractionKind::Purchase => "PURCHASE",
        InteractionKind::Conversion => "CONVERSION",
    }
}

/// The touches of the person inside `[at − lookback, at]`, oldest first (ties by id).
pub(super) async fn touches<C: ConnectionTrait>(
    conn: &C,
    conversion: &conversions::Model,
    user: Option<&str>,
    anons: &[String],
    lookback_days: u32,
) -> AppResult<Vec<interactions::Model>> {
    let mut who = Condition::any();
    if let Some(user) = user {
        who = who.add(interactions::Column::UserId.eq(user));
    }
    if !anons.is_empty() {
        who = who.add(interactions::Column::AnonymousId.is_in(anons.iter().cloned()));
    }
    if let Some(click) = conversion.interaction_id {
        who = who.add(interactions::Column::Id.eq(click));
    }
    if who.is_empty() {
        return Ok(Vec::new());
    }
    let start = conversion.occurred_at - Duration::days(i64::from(lookback_days));
    // Stripe gives whole seconds: a click in the same second as the payment came before it.
    let end = conversion.occurred_at + CLOCK_SLACK;
    let mut rows = interactions::Entity::find()
        .filter(who)
        .filter(interactions::Column::OccurredAt.gte(start))
        .filter(interactions::Column::OccurredAt.lt(end))
        .filter(interactions::Column::Kind.is_in([
            InteractionKind::Click,
            InteractionKind::Impression,
            InteractionKind::View,
        ]))
        .order_by_desc(interactions::Column::OccurredAt)
        .order_by_desc(interactions::Column::Id)
        .limit(MAX_TOUCHES)
        .all(conn)
        .await?;
    rows.reverse();
    Ok(rows)
}

pub(super) fn journey_touches(rows: &[interactions::Model], conversion: &conversions::Model) -> Vec<JourneyTouch> {
    let mut list: Vec<JourneyTouch> = rows
        .iter()
        .filter(|row| is_touch(row.kind))
        .map(|row| JourneyTouch {
            position: 0,
            interaction_id: Some(row.id),
            at: row.occurred_at,
            kind: kind_name(row.kind).to_string(),
            channel: row.channel.clone().unwrap_or_else(|| DIRECT.to_string()),
            campaign_id: row.campaign_id,
            affiliate_id: row.affiliate_id,
            source: row.source.clone(),
            medium: row.medium.clone(),
            is_click: row.kind == InteractionKind::Click,
        })
        .collect();
    // A conversion that names its campaign or affiliate but whose visitor we never saw
    // (a partner's server-to-server call) is its own touch.
    if list.is_empty() && (conversion.campaign_id.is_some() || conversion.affiliate_id.is_some()) {
        list.push(JourneyTouch {
            position: 0,
            interaction_id: None,
            at: conversion.occurred_at,
            kind: "CONVERSION".into(),
            channel: conversion.channel.clone().unwrap_or_else(|| "affiliate".into()),
            campaign_id: conversion.campaign_id,
            affiliate_id: conversion.affiliate_id,
            source: None,
            medium: None,
            is_click: true,
        });
    }
    for (i, touch) in list.iter_mut().enumerate() {
        touch.position = i as i32 + 1;
    }
    list
}

// ---------------------------------------------------------------------------------------
// Credits

pub(crate) async fn journey_of_conversions(
    db: &DatabaseConnection,
    conversion_ids: &[Uuid],
) -> AppResult<Vec<journeys::Model>> {
    Ok(journeys::Entity::find().filter(journeys::Column::ConversionId.is_in(conversion_ids.to_vec())).all(db).await?)
}

/// Batch lookup for the GraphQL DataLoader: the journeys of these conversions (which
/// the caller was allowed to load).
pub async fn load_journeys(db: &DatabaseConnection, conversion_ids: &[Uuid]) -> AppResult<Vec<Journey>> {
    Ok(journey_of_conversions(db, conversion_ids).await?.into_iter().map(Journey::from).collect())
}

/// A journey by id, if the caller may see its conversion.
pub async fn get_journey(db: &DatabaseConnection, caller: &Caller, id: &str) -> AppResult<Journey> {
    let uuid = Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found("journey", id))?;
    let journey =
        journeys::Entity::find_by_id(uuid).one(db).await?.ok_or_else(|| AppError::not_found("journey", id))?;
    if let Some(own) = caller.affiliate_scope() {
        let seen = conversions::Entity::find_by_id(journey.conversion_id)
            .filter(crate::service::tracking::seen_by(own))
            .one(db)
            .await?;
        if seen.is_none() {
            return Err(AppError::not_found("journey", id));
        }
    }
    Ok(journey.into())
}

// ---------------------------------------------------------------------------------------
// Revert and re-attribute (ADMIN)
