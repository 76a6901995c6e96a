//! Reading commissions, scoped to what the caller may see.

use super::*;

#[derive(Debug, Clone, Default)]
pub struct CommissionFilter {
    pub affiliate_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub conversion_id: Option<Uuid>,
    pub payout_id: Option<Uuid>,
    pub status: Option<CommissionStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// One commission, if the caller may see it (another affiliate's is NOT_FOUND).
pub async fn get(db: &DatabaseConnection, caller: &Caller, id: Uuid) -> AppResult<Commission> {
    let model = find(db, id).await?;
    if caller.affiliate_scope().is_some_and(|own| own != model.affiliate_id) {
        return Err(AppError::not_found("commission", id));
    }
    Ok(model.into())
}

/// Commissions, newest first.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: CommissionFilter,
    page: PageRequest,
) -> AppResult<Page<Commission>> {
    let condition = condition(caller, &filter)?;
    // Programme-wide, the list's size is the rollup's: no count of a million rows.
    let total = match &filter {
        CommissionFilter {
            affiliate_id: None,
            campaign_id: None,
            conversion_id: None,
            payout_id: None,
            status,
            from,
            to,
        } if caller.affiliate_scope().is_none() => {
            let status = status.map(|s| sea_orm::ActiveEnum::to_value(&s));
            crate::service::rollup::programme_total(db, "commissions_by_day", "commissions", status, *from, *to).await?
        }
        _ => None,
    };
    let query = commissions::Entity::find().filter(condition);
    let (first, second) = (commissions::Column::CreatedAt, commissions::Column::Id);
    Ok(crate::service::newest_first_counted(db, query, first, second, page, total).await?.map(Commission::from))
}

pub(super) fn condition(caller: &Caller, filter: &CommissionFilter) -> AppResult<Condition> {
    let mut condition = Condition::all();
    if let Some(id) = filter.affiliate_id {
        caller.require_affiliate_access(id)?;
        condition = condition.add(commissions::Column::AffiliateId.eq(id));
    }
    if let Some(own) = caller.affiliate_scope() {
        condition = condition.add(commissions::Column::AffiliateId.eq(own));
    }
    if let Some(id) = filter.campaign_id {
        condition = condition.add(commissions::Column::CampaignId.eq(id));
    }
    if let Some(id) = filter.conversion_id {
        condition = condition.add(commissions::Column::ConversionId.eq(id));
    }
    if let Some(id) = filter.payout_id {
        condition = condition.add(commissions::Column::PayoutId.eq(id));
    }
    if let Some(status) = filter.status {
        condition = condition.add(commissions::Column::Status.eq(status));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to <= from {
            return Err(AppError::validation("filter.to", "to must be after from"));
        }
    }
    if let Some(from) = filter.from {
        condition = condition.add(commissions::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(commissions::Column::CreatedAt.lt(to));
    }
    Ok(condition)
}
