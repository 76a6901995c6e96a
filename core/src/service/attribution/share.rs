//! Shares: what each heuristic model gives of one conversion to each campaign × affiliate ×
//! channel, stored once with the conversion's journey (`attribution_shares`). The database
//! sums them per day into `attribution_daily` for the conversions that are `ATTRIBUTED`
//! (see the migration), which is what the attribution report reads.

use sea_orm::sea_query::{Alias, OnConflict, Query};

use super::*;

/// The models the report computes for every conversion, whatever its campaign's own model.
pub const HEURISTIC_MODELS: [StoredModel; 5] = [
    StoredModel::LastClick,
    StoredModel::FirstClick,
    StoredModel::Linear,
    StoredModel::TimeDecay,
    StoredModel::PositionBased,
];

/// Weights are stored as integer 10⁻¹² (their scale), amounts as integer 10⁻⁴.
pub(super) const WEIGHT_UNITS_SCALE: u32 = model::WEIGHT_SCALE;
pub(super) const AMOUNT_UNITS_SCALE: u32 = 4;

/// One model's credit of one conversion to one campaign × affiliate × channel.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Share {
    pub model: StoredModel,
    pub campaign_id: Option<Uuid>,
    pub affiliate_id: Option<Uuid>,
    pub channel: String,
    pub weight: Decimal,
    pub amount: Decimal,
}

/// The shares of a conversion of `value` at `occurred_at` over `touches` (as stored in its
/// journey), under every heuristic model: the same credits the models give one by one,
/// summed per campaign × affiliate × channel.
pub(super) fn shares_of(
    settings: &AttributionSettings,
    touches: &[JourneyTouch],
    occurred_at: DateTime<Utc>,
    value: Decimal,
    currency: &str,
) -> Vec<Share> {
    // (model, campaign, affiliate, channel) → (weight, amount)
    type Key = (usize, Option<Uuid>, Option<Uuid>, String);
    let mut sums: BTreeMap<Key, (Decimal, Decimal)> = BTreeMap::new();
    if touches.is_empty() {
        return Vec::new();
    }
    for (index, stored) in HEURISTIC_MODELS.iter().enumerate() {
        let weights = weights_for(*stored, settings, touches, occurred_at, None);
        for credit in credits_for(*stored, &weights, touches, value, currency) {
            let channel = credit.channel.unwrap_or_else(|| DIRECT.to_string());
            let sum = sums.entry((index, credit.campaign_id, credit.affiliate_id, channel)).or_default();
            sum.0 += credit.weight;
            sum.1 += credit.amount;
        }
    }
    sums.into_iter()
        .map(|((index, campaign_id, affiliate_id, channel), (weight, amount))| Share {
            model: HEURISTIC_MODELS[index],
            campaign_id,
            affiliate_id,
            channel,
            weight,
            amount,
        })
        .collect()
}

/// `value` as an integer count of `10^-scale` (exact: the value's scale is at most `scale`).
pub(super) fn units(value: Decimal, scale: u32) -> AppResult<i64> {
    let mut scaled = value;
    scaled.rescale(scale);
    if scaled.scale() != scale {
        return Err(AppError::internal(anyhow::anyhow!("{value} does not fit scale {scale}")));
    }
    i64::try_from(scaled.mantissa()).map_err(|_| AppError::internal(anyhow::anyhow!("{value} is out of range")))
}

/// Stores a conversion's shares (a second time changes nothing).
pub(super) async fn store_shares<C: ConnectionTrait>(conn: &C, conversion_id: Uuid, shares: &[Share]) -> AppResult<()> {
    for chunk in shares.chunks(100) {
        let mut insert = Query::insert();
        insert.into_table(Alias::new("attribution_shares")).columns(
            ["conversion_id", "model", "campaign_id", "affiliate_id", "channel", "weight", "amount"].map(Alias::new),
        );
        for share in chunk {
            insert
                .values([
                    conversion_id.into(),
                    sea_orm::ActiveEnum::to_value(&share.model).into(),
                    share.campaign_id.unwrap_or_default().into(),
                    share.affiliate_id.unwrap_or_default().into(),
                    share.channel.clone().into(),
                    units(share.weight, WEIGHT_UNITS_SCALE)?.into(),
                    units(share.amount, AMOUNT_UNITS_SCALE)?.into(),
                ])
                .map_err(|e| AppError::internal(anyhow::anyhow!("shares insert: {e}")))?;
        }
        insert.on_conflict(
            OnConflict::columns(["conversion_id", "model", "campaign_id", "affiliate_id", "channel"].map(Alias::new))
                .do_nothing()
                .to_owned(),
        );
        conn.execute(&insert).await?;
    }
    Ok(())
}

/// Computes and stores the shares of the journeys that have none yet (those stored before
/// shares existed), a batch at a time; returns how many conversions got theirs. Runs at
/// start-up and before a rollup rebuild.
pub async fn backfill_shares(db: &DatabaseConnection, settings: &AttributionSettings) -> AppResult<u64> {
    const BATCH: u64 = 500;
    let mut after: Option<Uuid> = None;
    let mut filled = 0;
    loop {
        let mut query = journeys::Entity::find()
            .filter(Expr::cust(
                "NOT EXISTS (SELECT 1 FROM attribution_shares s WHERE s.conversion_id = journeys.conversion_id)",
            ))
            .order_by_asc(journeys::Column::Id)
            .limit(BATCH);
        if let Some(after) = after {
            query = query.filter(journeys::Column::Id.gt(after));
        }
        let batch = query.all(db).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        let ids: Vec<Uuid> = batch.iter().map(|j| j.conversion_id).collect();
        let conversions: HashMap<Uuid, conversions::Model> = conversions::Entity::find()
            .filter(conversions::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let (txn, _turn) = db::write_txn(db).await?;
        for journey in &batch {
            let Some(conversion) = conversions.get(&journey.conversion_id) else { continue };
            let shares = shares_of(
                settings,
                &touches_of(journey),
                conversion.occurred_at,
                conversion.value,
                &conversion.currency,
            );
            if !shares.is_empty() {
                store_shares(&txn, conversion.id, &shares).await?;
                filled += 1;
            }
        }
        txn.commit().await?;
        if (batch.len() as u64) < BATCH {
            break;
        }
    }
    Ok(filled)
}
