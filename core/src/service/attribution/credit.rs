//! Credits: a conversion's value split over its touches under an attribution model.

use super::*;

/// One credited touch under one model (stored, or computed to compare models).
#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    pub id: Option<Uuid>,
    pub position: i32,
    pub interaction_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub channel: Option<String>,
    pub model: StoredModel,
    pub weight: Decimal,
    pub amount: Decimal,
    pub currency: String,
    pub is_current: bool,
}

impl From<attribution_credits::Model> for Credit {
    fn from(m: attribution_credits::Model) -> Self {
        Self {
            id: Some(m.id),
            position: m.position,
            interaction_id: m.interaction_id,
            campaign_id: m.campaign_id,
            affiliate_id: m.affiliate_id,
            channel: m.channel,
            model: m.model,
            weight: m.weight,
            amount: m.amount,
            currency: m.currency,
            is_current: m.is_current,
        }
    }
}

/// The Markov state of a touch: its campaign when it has one, else its channel.
pub(super) fn markov_state(touch: &JourneyTouch, codes: &HashMap<Uuid, String>) -> String {
    match touch.campaign_id {
        Some(id) => codes.get(&id).cloned().unwrap_or_else(|| id.to_string()),
        None => touch.channel.clone(),
    }
}

/// Weights of the touches under `stored` (Markov needs a fitted model and the campaign codes).
pub(super) fn weights_for(
    stored: StoredModel,
    settings: &AttributionSettings,
    touches: &[JourneyTouch],
    conversion_at: DateTime<Utc>,
    markov: Option<(&MarkovModel, &HashMap<Uuid, String>)>,
) -> Vec<Decimal> {
    let points: Vec<Touchpoint> = touches.iter().map(JourneyTouch::touchpoint).collect();
    let heuristic = match stored {
        StoredModel::LastClick => model::AttributionModel::LastClick,
        StoredModel::FirstClick => model::AttributionModel::FirstClick,
        StoredModel::Linear => model::AttributionModel::Linear,
        StoredModel::TimeDecay => {
            model::AttributionModel::TimeDecay { half_life_days: settings.time_decay_half_life_days }
        }
        StoredModel::PositionBased => model::AttributionModel::PositionBased,
        StoredModel::Markov => {
            let Some((fitted, codes)) = markov else {
                return model::weights(&model::AttributionModel::Linear, &points, conversion_at);
            };
            let states: Vec<Touchpoint> = touches
                .iter()
                .zip(points)
                .map(|(touch, point)| Touchpoint { channel: markov_state(touch, codes), ..point })
                .collect();
            return fitted.touchpoint_weights(&states);
        }
    };
    model::weights(&heuristic, &points, conversion_at)
}

/// Credits of `touches` for a conversion of `value` (touches with no weight get none).
pub(super) fn credits_for(
    stored: StoredModel,
    weights: &[Decimal],
    touches: &[JourneyTouch],
    value: Decimal,
    currency: &str,
) -> Vec<Credit> {
    let minor = Currency::parse(currency, "currency").map(|c| c.minor_units()).unwrap_or(2);
    let amounts = model::split_amount(value, minor, weights);
    touches
        .iter()
        .zip(weights.iter().zip(amounts))
        .filter(|(_, (weight, _))| !weight.is_zero())
        .map(|(touch, (weight, amount))| Credit {
            id: None,
            position: touch.position,
            interaction_id: touch.interaction_id,
            campaign_id: touch.campaign_id,
            affiliate_id: touch.affiliate_id,
            channel: Some(touch.channel.clone()),
            model: stored,
            weight: *weight,
            amount,
            currency: currency.to_string(),
            is_current: true,
        })
        .collect()
}

pub(super) async fn campaign_codes<C: ConnectionTrait>(
    conn: &C,
    ids: impl Iterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, String>> {
    let ids: HashSet<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = campaigns::Entity::find().filter(campaigns::Column::Id.is_in(ids)).all(conn).await?;
    Ok(rows.into_iter().map(|c| (c.id, c.code)).collect())
}

/// Credits of `journey` under `stored`: the stored ones when it is the journey's current
/// model, else computed from its touches (not stored).
pub async fn credits(
    ctx: &Ctx,
    markov: &Markov,
    journey: &Journey,
    stored: Option<StoredModel>,
) -> AppResult<Vec<Credit>> {
    let want = stored.unwrap_or(journey.model);
    if want == journey.model {
        // The current credits; after a revert, the last ones given (no longer current).
        let rows = attribution_credits::Entity::find()
            .filter(attribution_credits::Column::JourneyId.eq(journey.id))
            .order_by_asc(attribution_credits::Column::Position)
            .all(&ctx.db)
            .await?;
        let latest = rows.iter().map(|c| c.created_at).max();
        let shown: Vec<Credit> = if rows.iter().any(|c| c.is_current) {
            rows.into_iter().filter(|c| c.is_current).map(Credit::from).collect()
        } else {
            rows.into_iter().filter(|c| Some(c.created_at) == latest).map(Credit::from).collect()
        };
        if !shown.is_empty() || journey.status != JourneyStatus::HeldForReview {
            return Ok(shown);
        }
    }
    let conversion = conversions::Entity::find_by_id(journey.conversion_id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| AppError::not_found("conversion", journey.conversion_id))?;
    let touches = touches_of(journey);
    let codes = campaign_codes(&ctx.db, touches.iter().filter_map(|t| t.campaign_id)).await?;
    let fitted = match want {
        StoredModel::Markov => Some(markov_for(ctx, markov, &touches, &codes, Some(journey.created_at)).await?),
        _ => None,
    };
    let weights = weights_for(
        want,
        &ctx.config.attribution,
        &touches,
        conversion.occurred_at,
        fitted.as_deref().map(|m| (m, &codes)),
    );
    let mut list = credits_for(want, &weights, &touches, conversion.value, &conversion.currency);
    for credit in &mut list {
        credit.is_current = false;
    }
    Ok(list)
}

pub(super) fn credit_row(
    credit: &Credit,
    journey_id: Uuid,
    conversion_id: Uuid,
    now: DateTime<Utc>,
) -> attribution_credits::ActiveModel {
    attribution_credits::ActiveModel {
        id: Set(Uuid::now_v7()),
        journey_id: Set(journey_id),
        conversion_id: Set(conversion_id),
        interaction_id: Set(credit.interaction_id),
        position: Set(credit.position),
        campaign_id: Set(credit.campaign_id),
        affiliate_id: Set(credit.affiliate_id),
        channel: Set(credit.channel.clone()),
        model: Set(credit.model),
        weight: Set(credit.weight),
        amount: Set(credit.amount),
        currency: Set(credit.currency.clone()),
        is_current: Set(true),
        created_at: Set(now),
    }
}

pub(super) async fn store_credits<C: ConnectionTrait>(
    conn: &C,
    list: &[Credit],
    journey_id: Uuid,
    conversion_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Vec<attribution_credits::Model>> {
    let mut stored = Vec::with_capacity(list.len());
    for credit in list {
        stored.push(credit_row(credit, journey_id, conversion_id, now).insert(conn).await?);
    }
    Ok(stored)
}

// ---------------------------------------------------------------------------------------
// Events (seed 003, field for field)

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn touch(position: i32, channel: &str, campaign_id: Option<Uuid>) -> JourneyTouch {
        JourneyTouch {
            position,
            interaction_id: Some(Uuid::now_v7()),
            at: Utc::now(),
            kind: "CLICK".into(),
            channel: channel.into(),
            campaign_id,
            affiliate_id: None,
            source: None,
            medium: None,
            is_click: true,
        }
    }

    #[test]
    fn credits_split_the_value_exactly_and_skip_touches_without_weight() {
        let touches = [touch(1, "email", None), touch(2, "paid_search", None), touch(3, "affiliate", None)];
        let third = Decimal::ONE / Decimal::from(3);
        let weights = [third, Decimal::ZERO, Decimal::ONE - third];
        for (value, currency) in [(dec!(100.00), "USD"), (dec!(100001), "JPY"), (dec!(10.000), "KWD")] {
            let credits = credits_for(StoredModel::Linear, &weights, &touches, value, currency);
            assert_eq!(credits.iter().map(|c| c.position).collect::<Vec<_>>(), [1, 3], "{currency}");
            assert_eq!(credits.iter().map(|c| c.amount).sum::<Decimal>(), value, "{currency}");
            assert!(credits.iter().all(|c| c.currency == currency && c.is_current && c.id.is_none()));
        }
    }

    #[test]
    fn a_markov_state_is_the_campaign_code_when_there_is_one_else_the_channel() {
        let known = Uuid::now_v7();
        let codes = HashMap::from([(known, "black-friday".to_string())]);
        assert_eq!(markov_state(&touch(1, "email", Some(known)), &codes), "black-friday");
        assert_eq!(markov_state(&touch(1, "email", None), &codes), "email");
        let unknown = Uuid::now_v7();
        assert_eq!(markov_state(&touch(1, "email", Some(unknown)), &codes), unknown.to_string());
    }
}
