//! Tier bonuses: once a calendar month (UTC) has ended, each active affiliate whose credited
//! sales in it reached a tier with a bonus is paid that bonus as a commission, once per
//! affiliate, month and tier (`tier_awards`), through the usual lifecycle.

use entity::{commission_tiers, tier_awards};
use sea_orm::DatabaseTransaction;

use super::*;
use crate::{
    domain::tier::{self as tiers, Tier},
    model::tiers::TierAward,
    service::tier_service,
};

/// Awards the bonuses of `month` (a whole calendar month that has ended). Returns the
/// awards made now (those made before are not made again).
pub async fn award_tier_bonuses(
    ctx: &Ctx,
    caller: &Caller,
    month: Period,
    now: DateTime<Utc>,
) -> AppResult<Vec<TierAward>> {
    caller.require_admin()?;
    if tiers::month_of(month.from) != month {
        return Err(AppError::validation("period", "bonuses are awarded for a calendar month (YYYY-MM)"));
    }
    if month.to > now {
        return Err(AppError::validation("period", "the month has not ended yet"));
    }
    let name = tiers::month_name(&month);
    let all = tier_service::list(&ctx.db).await?;
    let mut made = Vec::new();
    let mut currencies: Vec<&str> = all.iter().filter(|t| t.bonus.is_some()).map(|t| t.currency.as_str()).collect();
    currencies.dedup();
    for currency in currencies {
        let of: Vec<&commission_tiers::Model> = all.iter().filter(|t| t.currency == currency).collect();
        let rules: Vec<Tier> =
            of.iter().map(|t| Tier { min_sales: t.min_sales, rate: t.rate, bonus: t.bonus }).collect();
        let sales = tier_service::sales_by_affiliate(
            &ctx.db,
            None,
            currency,
            month.from,
            month.to - chrono::Duration::microseconds(1),
            None,
        )
        .await?;
        for (affiliate, sold) in sales {
            for rule in tiers::bonuses(&rules, sold) {
                let Some(tier) = of.iter().find(|t| t.min_sales == rule.min_sales) else { continue };
                let (txn, _turn) = db::write_txn(&ctx.db).await?;
                if let Some(award) = award(&txn, caller, affiliate, &name, tier, sold, now).await? {
                    txn.commit().await?;
                    made.push(award.into());
                }
            }
        }
    }
    if !made.is_empty() {
        ctx.events_committed();
    }
    Ok(made)
}

/// One bonus, unless already awarded or the affiliate is not an active partner.
async fn award(
    txn: &DatabaseTransaction,
    caller: &Caller,
    affiliate: Uuid,
    period: &str,
    tier: &commission_tiers::Model,
    sales: Decimal,
    now: DateTime<Utc>,
) -> AppResult<Option<tier_awards::Model>> {
    let Some(bonus) = tier.bonus else { return Ok(None) };
    let done = tier_awards::Entity::find_by_id((affiliate, period.to_string(), tier.id)).one(txn).await?;
    let active = affiliates::Entity::find_by_id(affiliate)
        .one(txn)
        .await?
        .is_some_and(|a| a.status == entity::affiliates::AffiliateStatus::Active);
    if done.is_some() || !active {
        return Ok(None);
    }
    let mut model = draft(affiliate, &tier.currency, sales, now);
    model.commission_type = CommissionType::Flat;
    model.config = json!({
        "origen": "bono_nivel",
        "periodo": period,
        "nivel_id": tier.id,
        "nivel": tier.name,
        "ventas": sales.to_string(),
        "tasa_explicita": { "tipo": "fijo", "valor": bonus.to_string() },
    });
    let model = insert(txn, model).await?;
    record_created(txn, caller, &model).await?;
    let award = tier_awards::ActiveModel {
        affiliate_id: Set(affiliate),
        period: Set(period.to_string()),
        tier_id: Set(tier.id),
        sales: Set(sales),
        amount: Set(bonus),
        currency: Set(tier.currency.clone()),
        commission_id: Set(model.id),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(Some(award))
}

/// The bonuses awarded, newest month first (staff: all; an affiliate: its own), at most
/// `limit`.
pub async fn tier_awards(
    db: &DatabaseConnection,
    caller: &Caller,
    affiliate: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<TierAward>> {
    let mut query = tier_awards::Entity::find();
    if let Some(id) = affiliate {
        caller.require_affiliate_access(id)?;
        query = query.filter(tier_awards::Column::AffiliateId.eq(id));
    }
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(tier_awards::Column::AffiliateId.eq(own));
    }
    Ok(query
        .order_by_desc(tier_awards::Column::Period)
        .order_by_desc(tier_awards::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(TierAward::from)
        .collect())
}
