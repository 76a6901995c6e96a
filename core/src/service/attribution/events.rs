//! What the seed 003 events of attribution (`ConversionAtribuida`, `AtribucionRevertida`)
//! carry, read from the database; their format is `wire::attribution`.

use super::*;
use crate::wire::events as wire;

/// `ConversionAtribuida` on `eventos-atribucion`: one per credited campaign.
pub(super) async fn attributed_events<C: ConnectionTrait>(
    conn: &C,
    journey: &journeys::Model,
    conversion: &conversions::Model,
    credits: &[attribution_credits::Model],
) -> AppResult<Vec<Envelope>> {
    let codes = campaign_codes(conn, credits.iter().filter_map(|c| c.campaign_id)).await?;
    let mut per_campaign: BTreeMap<Uuid, (Decimal, HashSet<Option<Uuid>>)> = BTreeMap::new();
    for credit in credits {
        if let Some(campaign) = credit.campaign_id {
            let entry = per_campaign.entry(campaign).or_default();
            entry.0 += credit.amount;
            entry.1.insert(credit.affiliate_id);
        }
    }
    Ok(per_campaign
        .into_iter()
        .map(|(campaign, (amount, affiliates))| {
            let affiliate = if affiliates.len() == 1 { affiliates.into_iter().next().flatten() } else { None };
            let code = codes.get(&campaign).cloned().unwrap_or_else(|| campaign.to_string());
            wire::conversion_attributed(journey.id, &code, conversion, amount, affiliate)
        })
        .collect())
}

/// What came of a conversion's attribution, on `conversiones.eventos`: `conversion_procesada`
/// always, after `conversion_validada` when it passed the fraud checks (`validated`).
pub(super) fn outcome_events(conversion: &conversions::Model, validated: bool) -> Vec<Envelope> {
    let mut events = Vec::with_capacity(2);
    if validated {
        events.push(wire::conversion_validated(conversion));
    }
    events.push(wire::conversion_processed(conversion));
    events
}

/// `AtribucionRevertida` on `atribucion-revertida`.
pub(super) async fn reverted_event<C: ConnectionTrait>(conn: &C, journey: &journeys::Model) -> AppResult<Envelope> {
    let touches = touches_of(journey);
    let codes = campaign_codes(conn, touches.iter().filter_map(|t| t.campaign_id)).await?;
    let list: Vec<String> = touches
        .iter()
        .map(|t| {
            let campaign = t.campaign_id.and_then(|id| codes.get(&id).cloned()).unwrap_or_default();
            format!("orden:{},campania:{}", t.position, campaign)
        })
        .collect();
    Ok(wire::attribution_reverted(journey.id, list))
}

// ---------------------------------------------------------------------------------------
// Attributing one conversion

/// The stored (UPPER_SNAKE) name of a status.
pub(super) fn upper<T: Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
