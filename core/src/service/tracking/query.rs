//! Reading touches and conversions, scoped to what the caller may see.

use super::*;
use crate::model::{affiliates::Affiliate, campaigns::Campaign, tracking_links::TrackingLink};
use sea_orm::{PaginatorTrait, QueryOrder, RelationTrait};

/// A stored touchpoint by our id or the client's id, if the caller may see it.
pub async fn get_touch(
    db: &DatabaseConnection,
    caller: &Caller,
    id: &str,
    kind_filter: Option<InteractionKind>,
) -> AppResult<Interaction> {
    let mut query = interactions::Entity::find();
    query = match Uuid::parse_str(id.trim()) {
        Ok(uuid) => query.filter(
            Condition::any().add(interactions::Column::Id.eq(uuid)).add(interactions::Column::ExternalId.eq(id.trim())),
        ),
        Err(_) => query.filter(interactions::Column::ExternalId.eq(id.trim())),
    };
    if let Some(kind) = kind_filter {
        query = query.filter(interactions::Column::Kind.eq(kind));
    }
    let row = query.one(db).await?.ok_or_else(|| AppError::not_found("interaction", id))?;
    visible(caller, row.affiliate_id).map_err(|_| AppError::not_found("interaction", id))?;
    Ok(row.into())
}

/// A stored conversion by our id or the client's id, if the caller may see it.
pub async fn get_conversion(db: &DatabaseConnection, caller: &Caller, id: &str) -> AppResult<Conversion> {
    let mut query = conversions::Entity::find().filter(conversion_by_reference(id));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(seen_by(own));
    }
    let row = query.one(db).await?.ok_or_else(|| AppError::not_found("conversion", id))?;
    Ok(row.into())
}

/// A conversion by our id or the client's (`conv_98765`), whoever asks.
pub(crate) async fn resolve_conversion<C: ConnectionTrait>(conn: &C, reference: &str) -> AppResult<conversions::Model> {
    conversions::Entity::find()
        .filter(conversion_by_reference(reference))
        .one(conn)
        .await?
        .ok_or_else(|| AppError::not_found("conversion", reference))
}

/// The id (its own, else ours) of the last click of `visitor` (a seed 001 tracking
/// session, kept as the visitor's anonymous id) at or before `at`: the click a checkout
/// of that session came from.
pub async fn last_click_of<C: ConnectionTrait>(
    conn: &C,
    visitor: &str,
    at: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let click = interactions::Entity::find()
        .filter(interactions::Column::AnonymousId.eq(visitor))
        .filter(interactions::Column::Kind.eq(InteractionKind::Click))
        .filter(interactions::Column::OccurredAt.lte(at))
        .order_by_desc(interactions::Column::OccurredAt)
        .one(conn)
        .await?;
    Ok(click.map(|c| if c.external_id.is_empty() { c.id.to_string() } else { c.external_id }))
}

/// The conversion whose id or external id is `reference`.
fn conversion_by_reference(reference: &str) -> Condition {
    let reference = reference.trim();
    match Uuid::parse_str(reference) {
        Ok(uuid) => {
            Condition::any().add(conversions::Column::Id.eq(uuid)).add(conversions::Column::ExternalId.eq(reference))
        }
        Err(_) => Condition::all().add(conversions::Column::ExternalId.eq(reference)),
    }
}

/// The conversions `own` sees: its own and those a current credit gives it a share of
/// (`affiliate_conversions`, kept by triggers). For a list, [`seen_newest_first`] walks
/// that table's index instead.
pub fn seen_by(own: Uuid) -> Condition {
    Condition::all().add(
        conversions::Column::Id.in_subquery(
            sea_orm::sea_query::Query::select()
                .column(affiliate_conversions::Column::ConversionId)
                .from(affiliate_conversions::Entity)
                .and_where(affiliate_conversions::Column::AffiliateId.eq(own))
                .to_owned(),
        ),
    )
}

/// Conversions `own` sees, as a query whose page is read newest first from the index of
/// `affiliate_conversions` (affiliate, time, id), joined to each conversion by its key:
/// the page costs its own rows, whatever the size of the affiliate's set.
fn seen_newest_first(own: Uuid) -> sea_orm::Select<conversions::Entity> {
    conversions::Entity::find()
        .join_rev(sea_orm::JoinType::InnerJoin, affiliate_conversions::Relation::Conversions.def())
        .filter(affiliate_conversions::Column::AffiliateId.eq(own))
}

pub(super) fn visible(caller: &Caller, affiliate_id: Option<Uuid>) -> AppResult<()> {
    match (caller.affiliate_scope(), affiliate_id) {
        (None, _) => Ok(()),
        (Some(own), Some(id)) if own == id => Ok(()),
        _ => Err(AppError::Forbidden("affiliates can only see their own data".into())),
    }
}

/// Touchpoints of one campaign (id or code), newest first.
pub async fn touches_of_campaign(
    db: &DatabaseConnection,
    caller: &Caller,
    campaign: &str,
    kind_filter: InteractionKind,
    page: PageRequest,
) -> AppResult<Page<Interaction>> {
    let campaign = crate::service::campaign_service::resolve(db, campaign).await?;
    let mut query = interactions::Entity::find()
        .filter(interactions::Column::CampaignId.eq(campaign.id))
        .filter(interactions::Column::Kind.eq(kind_filter));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(interactions::Column::AffiliateId.eq(own));
    }
    Ok(crate::service::newest_first(db, query, interactions::Column::OccurredAt, interactions::Column::Id, page)
        .await?
        .map(Interaction::from))
}

/// Conversions of one campaign (id or code), newest first.
pub async fn conversions_of_campaign(
    db: &DatabaseConnection,
    caller: &Caller,
    campaign: &str,
    page: PageRequest,
) -> AppResult<Page<Conversion>> {
    let campaign = crate::service::campaign_service::resolve(db, campaign).await?;
    let page = match caller.affiliate_scope() {
        Some(own) => {
            let query = seen_newest_first(own).filter(conversions::Column::CampaignId.eq(campaign.id));
            let (first, second) =
                (affiliate_conversions::Column::OccurredAt, affiliate_conversions::Column::ConversionId);
            crate::service::newest_first_counted(db, query, first, second, page, None).await?
        }
        None => {
            let query = conversions::Entity::find().filter(conversions::Column::CampaignId.eq(campaign.id));
            crate::service::newest_first(db, query, conversions::Column::OccurredAt, conversions::Column::Id, page)
                .await?
        }
    };
    Ok(page.map(Conversion::from))
}

/// The click redirect's lookup: the link, its campaign and its affiliate.
pub async fn link_for_redirect(db: &DatabaseConnection, code: &str) -> AppResult<(TrackingLink, Campaign, Affiliate)> {
    let link = tracking_links::Entity::find()
        .filter(tracking_links::Column::Code.eq(code.trim().to_lowercase()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("tracking link", code))?;
    let campaign = campaigns::Entity::find_by_id(link.campaign_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("campaign", link.campaign_id))?;
    let affiliate = affiliates::Entity::find_by_id(link.affiliate_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("affiliate", link.affiliate_id))?;
    let campaign = Campaign::from(campaign);
    // A link made before its campaign narrowed its domains does not send visitors elsewhere.
    if !campaign.allowed_domains.is_empty()
        && !crate::service::tracking_link_service::destination_allowed(&link.destination_url, &campaign.allowed_domains)
    {
        return Err(AppError::not_found("tracking link", code));
    }
    Ok((link.into(), campaign, affiliate.into()))
}

#[derive(Debug, Clone, Default)]
pub struct ConversionFilter {
    pub affiliate_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub status: Option<ConversionStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Conversions, newest first; an AFFILIATE caller sees only its own.
pub async fn list_conversions(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: ConversionFilter,
    page: PageRequest,
) -> AppResult<Page<Conversion>> {
    let mut condition = Condition::all();
    if let Some(id) = filter.affiliate_id {
        condition = condition.add(conversions::Column::AffiliateId.eq(id));
    }
    if let Some(id) = filter.campaign_id {
        condition = condition.add(conversions::Column::CampaignId.eq(id));
    }
    if let Some(status) = filter.status {
        condition = condition.add(conversions::Column::Status.eq(status));
    }
    if let Some(own) = caller.affiliate_scope() {
        return list_seen(db, own, condition, &filter, page).await;
    }
    if let Some(from) = filter.from {
        condition = condition.add(conversions::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        condition = condition.add(conversions::Column::OccurredAt.lt(to));
    }
    // Programme-wide, the list's size is the rollup's: no count of a million rows.
    let total = match (filter.affiliate_id, filter.campaign_id) {
        (None, None) => {
            let status = filter.status.map(|s| sea_orm::ActiveEnum::to_value(&s));
            let by_channel = "conversions_by_channel";
            crate::service::rollup::programme_total(db, by_channel, "conversions", status, filter.from, filter.to)
                .await?
        }
        _ => None,
    };
    let query = conversions::Entity::find().filter(condition);
    let (first, second) = (conversions::Column::OccurredAt, conversions::Column::Id);
    Ok(crate::service::newest_first_counted(db, query, first, second, page, total).await?.map(Conversion::from))
}

/// An affiliate's list ("My conversions"): the conversions it sees that meet `condition`
/// and the filter's period, from `affiliate_conversions`. With no filter but the period,
/// its size is counted in that table's index alone.
async fn list_seen(
    db: &DatabaseConnection,
    own: Uuid,
    condition: Condition,
    filter: &ConversionFilter,
    page: PageRequest,
) -> AppResult<Page<Conversion>> {
    let mut period = Condition::all();
    if let Some(from) = filter.from {
        period = period.add(affiliate_conversions::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        period = period.add(affiliate_conversions::Column::OccurredAt.lt(to));
    }
    let total = match (filter.affiliate_id, filter.campaign_id, filter.status) {
        (None, None, None) => Some(
            affiliate_conversions::Entity::find()
                .filter(affiliate_conversions::Column::AffiliateId.eq(own))
                .filter(period.clone())
                .count(db)
                .await?,
        ),
        _ => None,
    };
    let query = seen_newest_first(own).filter(condition).filter(period);
    let (first, second) = (affiliate_conversions::Column::OccurredAt, affiliate_conversions::Column::ConversionId);
    Ok(crate::service::newest_first_counted(db, query, first, second, page, total).await?.map(Conversion::from))
}

/// Batch lookup for the GraphQL DataLoader: the conversions the caller may see among `ids`.
pub async fn load_conversions(db: &DatabaseConnection, caller: &Caller, ids: &[Uuid]) -> AppResult<Vec<Conversion>> {
    let mut query = conversions::Entity::find().filter(conversions::Column::Id.is_in(ids.iter().copied()));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(seen_by(own));
    }
    Ok(query.all(db).await?.into_iter().map(Conversion::from).collect())
}
