//! Tracking links: an affiliate × campaign short code that redirects to the shop.

use chrono::Utc;
use entity::{campaigns::CampaignStatus, tracking_links};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::{affiliate_service, audit, campaign_service, outbox, taken, Page, PageRequest};
use crate::{
    auth::Caller,
    context::Ctx,
    db,
    domain::{code, validate},
    error::{AppError, AppResult},
    model::tracking_links::TrackingLink,
    wire::events::link_created,
};

#[derive(Debug, Clone)]
pub struct NewTrackingLink {
    /// Affiliate id or code.
    pub affiliate: String,
    /// Campaign id or code.
    pub campaign: String,
    pub destination_url: String,
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TrackingLinkFilter {
    pub affiliate_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
}

/// Admins create links for anyone; an affiliate creates its own.
pub async fn create(ctx: &Ctx, caller: &Caller, input: NewTrackingLink) -> AppResult<TrackingLink> {
    let destination_url = validate::http_url(&input.destination_url, "destinationUrl")?;
    let requested_code = input.code.as_deref().map(|c| code::link_code(c, "code")).transpose()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let affiliate = affiliate_service::resolve(&txn, &input.affiliate).await?;
    caller.require_affiliate_write(affiliate.id)?;
    if affiliate.status != entity::affiliates::AffiliateStatus::Active {
        return Err(AppError::validation("affiliateId", "the affiliate is suspended"));
    }
    let campaign = campaign_service::resolve(&txn, &input.campaign).await?;
    if campaign.status == CampaignStatus::Ended {
        return Err(AppError::validation("campaignId", "the campaign has ended"));
    }
    check_destination(caller, &campaign, &destination_url)?;
    let code = match requested_code {
        Some(code) => {
            if taken::<tracking_links::Entity, _>(
                &txn,
                tracking_links::Column::Code,
                tracking_links::Column::Id,
                &code,
                None,
            )
            .await?
            {
                return Err(AppError::conflict("code", format!("a tracking link with code {code} already exists")));
            }
            code
        }
        None => code::random_short(8),
    };
    let model = tracking_links::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code),
        affiliate_id: Set(affiliate.id),
        campaign_id: Set(campaign.id),
        destination_url: Set(destination_url),
        created_by: Set(caller.user_id),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["code"]))?;
    let envelope = link_created(&model, affiliate.id, campaign.id, &url_of(ctx, &model.code));
    outbox::record(&txn, envelope).await?;
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "tracking_link.create",
            entity_type: "tracking_link",
            entity_id: model.id.to_string(),
            before: None,
            after: serde_json::to_value(&model).ok(),
        },
    )
    .await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(model.into())
}

/// Links go where their campaign allows: a host of its allowed domains (or a subdomain).
/// Until an admin sets them, only admins create links for the campaign.
fn check_destination(caller: &Caller, campaign: &entity::campaigns::Model, destination: &str) -> AppResult<()> {
    let allowed: Vec<String> =
        campaign.allowed_domains.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    if allowed.is_empty() {
        return match caller.affiliate_scope() {
            Some(_) => Err(AppError::validation(
                "campaignId",
                "this campaign has no allowed link destinations yet; an admin sets them",
            )),
            None => Ok(()),
        };
    }
    if destination_allowed(destination, &allowed) {
        Ok(())
    } else {
        Err(AppError::validation("destinationUrl", format!("links of this campaign go to {}", allowed.join(", "))))
    }
}

/// Is the URL's host one of `allowed` (or under one)?
pub fn destination_allowed(destination: &str, allowed: &[String]) -> bool {
    let rest = destination.split_once("://").map_or(destination, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = host_port.split(':').next().unwrap_or_default();
    campaign_service::host_allowed(host, allowed)
}

/// The public URL of a link: `{public base}/r/{code}`.
pub fn url(ctx: &Ctx, link: &TrackingLink) -> String {
    url_of(ctx, &link.code)
}

fn url_of(ctx: &Ctx, code: &str) -> String {
    format!("{}/r/{code}", ctx.config.public_base_url())
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: TrackingLinkFilter,
    page: PageRequest,
) -> AppResult<Page<TrackingLink>> {
    let mut condition = Condition::all();
    if let Some(id) = filter.affiliate_id {
        condition = condition.add(tracking_links::Column::AffiliateId.eq(id));
    }
    if let Some(id) = filter.campaign_id {
        condition = condition.add(tracking_links::Column::CampaignId.eq(id));
    }
    if let Some(own) = caller.affiliate_scope() {
        condition = condition.add(tracking_links::Column::AffiliateId.eq(own));
    }
    let query = tracking_links::Entity::find().filter(condition);
    Ok(super::newest_first(db, query, tracking_links::Column::CreatedAt, tracking_links::Column::Id, page)
        .await?
        .map(TrackingLink::from))
}

/// Links of many campaigns at once (DataLoader), limited to what the caller may see.
pub async fn by_campaigns(
    db: &DatabaseConnection,
    caller: &Caller,
    campaign_ids: &[Uuid],
) -> AppResult<Vec<TrackingLink>> {
    let mut query =
        tracking_links::Entity::find().filter(tracking_links::Column::CampaignId.is_in(campaign_ids.iter().copied()));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(tracking_links::Column::AffiliateId.eq(own));
    }
    let rows = query.order_by_asc(tracking_links::Column::CreatedAt).all(db).await?;
    Ok(rows.into_iter().map(TrackingLink::from).collect())
}

/// Links of many affiliates at once (DataLoader), limited to what the caller may see.
pub async fn by_affiliates(
    db: &DatabaseConnection,
    caller: &Caller,
    affiliate_ids: &[Uuid],
) -> AppResult<Vec<TrackingLink>> {
    let mut query =
        tracking_links::Entity::find().filter(tracking_links::Column::AffiliateId.is_in(affiliate_ids.iter().copied()));
    if let Some(own) = caller.affiliate_scope() {
        query = query.filter(tracking_links::Column::AffiliateId.eq(own));
    }
    let rows = query.order_by_asc(tracking_links::Column::CreatedAt).all(db).await?;
    Ok(rows.into_iter().map(TrackingLink::from).collect())
}
