//! Campaigns: what affiliates promote, with their commission and attribution rules (seed 004).

use chrono::{DateTime, Utc};
use entity::campaigns::{self, AttributionModel, CampaignStatus, CommissionType};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::{Expr, ExprTrait, Func},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{audit, free_code, like_pattern, outbox, taken, Page, PageRequest};
use crate::{
    auth::Caller,
    context::Ctx,
    db,
    domain::{
        code,
        money::{self, Currency},
        subscription, validate,
    },
    error::{AppError, AppResult, Problems},
    model::campaigns::Campaign,
    wire::events::campaign as event,
};

pub const DEFAULT_LOOKBACK_DAYS: i32 = 30;

#[derive(Debug, Clone, Default)]
pub struct CampaignCommission {
    pub conversion_rate: Option<Decimal>,
    pub sale_rate: Option<Decimal>,
    pub bonus_targets: Option<Decimal>,
    pub commission_type: Option<CommissionType>,
    pub flat_amount: Option<Decimal>,
    /// Renewals of a subscription: their rate (`None`: the first sale's).
    pub recurring_rate: Option<Decimal>,
    /// Months after the first sale during which renewals earn (`None`: 12; 0: none).
    pub recurring_months: Option<i32>,
    /// Renewals earn for the customer's lifetime.
    pub recurring_lifetime: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub code: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub budget: Option<Decimal>,
    pub currency: String,
    pub campaign_type: Option<String>,
    pub channels: Vec<String>,
    /// Hosts its links may point to (subdomains included).
    pub allowed_domains: Vec<String>,
    pub targeting: Option<Value>,
    pub commission: CampaignCommission,
    pub attribution_model: Option<AttributionModel>,
    pub lookback_days: Option<i32>,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CampaignPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub budget: Option<Decimal>,
    pub currency: Option<String>,
    pub campaign_type: Option<String>,
    pub channels: Option<Vec<String>>,
    pub allowed_domains: Option<Vec<String>>,
    pub targeting: Option<Value>,
    pub commission: Option<CampaignCommission>,
    pub attribution_model: Option<AttributionModel>,
    pub lookback_days: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    pub status: Option<CampaignStatus>,
    pub search: Option<String>,
}

pub async fn create(ctx: &Ctx, caller: &Caller, input: NewCampaign) -> AppResult<Campaign> {
    caller.require_admin()?;
    // Every input is checked, so that a form hears of all its wrong fields at once.
    let mut problems = Problems::default();
    let name = problems.check(validate::text(&input.name, "name", 200));
    let description = problems.check(validate::optional_text(input.description.as_deref(), "description", 5000));
    let dates = problems.check(check_dates(input.starts_at, input.ends_at));
    let currency = problems.check(Currency::parse(&input.currency, "currency"));
    let budget =
        currency.and_then(|currency| problems.check(input.budget.map(|b| currency.amount(b, "budget")).transpose()));
    let campaign_type = problems.check(validate::text(input.campaign_type.as_deref().unwrap_or("general"), "type", 40));
    let channels = problems.check(channels(&input.channels));
    let allowed_domains = problems.check(domains(&input.allowed_domains));
    let targeting = problems.check(targeting(input.targeting));
    let commission = currency.and_then(|currency| problems.check(commission(&input.commission, currency)));
    let lookback_days = problems.check(lookback(input.lookback_days.unwrap_or(DEFAULT_LOOKBACK_DAYS)));
    let requested_code = problems.check(input.code.as_deref().map(|c| code::parse(c, "code")).transpose());
    let (
        Some(name),
        Some(description),
        Some(()),
        Some(currency),
        Some(budget),
        Some(campaign_type),
        Some(channels),
        Some(allowed_domains),
        Some(targeting),
        Some(commission),
        Some(lookback_days),
        Some(requested_code),
    ) = (
        name,
        description,
        dates,
        currency,
        budget,
        campaign_type,
        channels,
        allowed_domains,
        targeting,
        commission,
        lookback_days,
        requested_code,
    )
    else {
        return Err(problems.into_error());
    };

    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let code = match requested_code {
        Some(code) => {
            ensure_code_free(&txn, &code, None).await?;
            code
        }
        None => free_code::<campaigns::Entity, _>(&txn, campaigns::Column::Code, campaigns::Column::Id, &name).await?,
    };
    let now = Utc::now();
    let model = campaigns::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code),
        name: Set(name),
        description: Set(description),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        budget: Set(budget),
        currency: Set(currency.code().to_string()),
        campaign_type: Set(campaign_type),
        channels: Set(json!(channels)),
        targeting: Set(targeting),
        allowed_domains: Set(Some(json!(allowed_domains))),
        conversion_rate: Set(commission.conversion_rate),
        sale_rate: Set(commission.sale_rate),
        bonus_targets: Set(commission.bonus_targets),
        commission_type: Set(commission.commission_type.unwrap_or(CommissionType::Percentage)),
        flat_amount: Set(commission.flat_amount),
        attribution_model: Set(input.attribution_model.unwrap_or(AttributionModel::LastClick)),
        lookback_days: Set(lookback_days),
        status: Set(CampaignStatus::Draft),
        recurring_rate: Set(commission.recurring_rate),
        recurring_months: Set(commission.recurring_months),
        recurring_lifetime: Set(commission.recurring_lifetime.unwrap_or(false)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["code"]))?;
    outbox::record(&txn, event(&model, "campana_creada")).await?;
    audit::record(&txn, caller, change("campaign.create", None, &model)).await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(model.into())
}

pub async fn update(ctx: &Ctx, caller: &Caller, id: Uuid, patch: CampaignPatch) -> AppResult<Campaign> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = find(&txn, id).await?;
    let mut active: campaigns::ActiveModel = before.clone().into();

    // Every field given is checked before any is applied: all wrong ones are named at once.
    let mut problems = Problems::default();
    let name = patch.name.as_deref().map(|name| problems.check(validate::text(name, "name", 200)));
    let code = patch.code.as_deref().map(|code| problems.check(code::parse(code, "code")));
    let description = patch
        .description
        .as_deref()
        .map(|text| problems.check(validate::optional_text(Some(text), "description", 5000)));
    let starts_at = patch.starts_at.unwrap_or(before.starts_at);
    let ends_at = patch.ends_at.or(before.ends_at);
    problems.check(check_dates(starts_at, ends_at));
    let currency = problems.check(Currency::parse(patch.currency.as_deref().unwrap_or(&before.currency), "currency"));
    let budget = currency.and_then(|currency| {
        problems.check(patch.budget.or(before.budget).map(|b| currency.amount(b, "budget")).transpose())
    });
    let campaign_type = patch.campaign_type.as_deref().map(|kind| problems.check(validate::text(kind, "type", 40)));
    let channel_list = patch.channels.as_deref().map(|list| problems.check(channels(list)));
    let domain_list = patch.allowed_domains.as_deref().map(|list| problems.check(domains(list)));
    let targeting = patch.targeting.map(|value| problems.check(targeting(Some(value))));
    let merged_commission = match &patch.commission {
        Some(c) => CampaignCommission {
            conversion_rate: c.conversion_rate.or(before.conversion_rate),
            sale_rate: c.sale_rate.or(before.sale_rate),
            bonus_targets: c.bonus_targets.or(before.bonus_targets),
            commission_type: c.commission_type.or(Some(before.commission_type)),
            flat_amount: c.flat_amount.or(before.flat_amount),
            recurring_rate: c.recurring_rate.or(before.recurring_rate),
            recurring_months: c.recurring_months.or(before.recurring_months),
            recurring_lifetime: c.recurring_lifetime.or(Some(before.recurring_lifetime)),
        },
        None => CampaignCommission {
            conversion_rate: before.conversion_rate,
            sale_rate: before.sale_rate,
            bonus_targets: before.bonus_targets,
            commission_type: Some(before.commission_type),
            flat_amount: before.flat_amount,
            recurring_rate: before.recurring_rate,
            recurring_months: before.recurring_months,
            recurring_lifetime: Some(before.recurring_lifetime),
        },
    };
    let commission = currency.and_then(|currency| problems.check(commission(&merged_commission, currency)));
    let lookback_days = patch.lookback_days.map(|days| problems.check(lookback(days)));
    let (Some(currency), Some(budget), Some(commission)) = (currency, budget, commission) else {
        return Err(problems.into_error());
    };
    if !problems.is_empty() {
        return Err(problems.into_error());
    }

    if let Some(Some(name)) = name {
        active.name = Set(name);
    }
    if let Some(Some(code)) = code {
        ensure_code_free(&txn, &code, Some(id)).await?;
        active.code = Set(code);
    }
    if let Some(Some(description)) = description {
        active.description = Set(description);
    }
    active.starts_at = Set(starts_at);
    active.ends_at = Set(ends_at);
    active.currency = Set(currency.code().to_string());
    active.budget = Set(budget);
    if let Some(Some(kind)) = campaign_type {
        active.campaign_type = Set(kind);
    }
    if let Some(Some(list)) = channel_list {
        active.channels = Set(json!(list));
    }
    if let Some(Some(list)) = domain_list {
        active.allowed_domains = Set(Some(json!(list)));
    }
    if let Some(Some(value)) = targeting {
        active.targeting = Set(value);
    }
    active.conversion_rate = Set(commission.conversion_rate);
    active.sale_rate = Set(commission.sale_rate);
    active.bonus_targets = Set(commission.bonus_targets);
    active.commission_type = Set(commission.commission_type.unwrap_or(CommissionType::Percentage));
    active.flat_amount = Set(commission.flat_amount);
    active.recurring_rate = Set(commission.recurring_rate);
    active.recurring_months = Set(commission.recurring_months);
    active.recurring_lifetime = Set(commission.recurring_lifetime.unwrap_or(false));
    if let Some(model) = patch.attribution_model {
        active.attribution_model = Set(model);
    }
    if let Some(Some(days)) = lookback_days {
        active.lookback_days = Set(days);
    }
    active.updated_at = Set(Utc::now());
    let model = active.update(&txn).await.map_err(|e| AppError::from_db_unique(e, &["code"]))?;
    outbox::record(&txn, event(&model, "campana_actualizada")).await?;
    audit::record(&txn, caller, change("campaign.update", Some(&before), &model)).await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(model.into())
}

/// DRAFT or PAUSED → ACTIVE.
pub async fn activate(ctx: &Ctx, caller: &Caller, id: Uuid) -> AppResult<Campaign> {
    transition(ctx, caller, id, CampaignStatus::Active).await
}

/// ACTIVE → PAUSED.
pub async fn pause(ctx: &Ctx, caller: &Caller, id: Uuid) -> AppResult<Campaign> {
    transition(ctx, caller, id, CampaignStatus::Paused).await
}

async fn transition(ctx: &Ctx, caller: &Caller, id: Uuid, to: CampaignStatus) -> AppResult<Campaign> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = find(&txn, id).await?;
    let allowed = matches!(
        (before.status, to),
        (CampaignStatus::Draft | CampaignStatus::Paused, CampaignStatus::Active)
            | (CampaignStatus::Active, CampaignStatus::Paused)
    );
    if !allowed {
        return Err(AppError::InvalidTransition {
            entity: "campaign",
            from: status_code(before.status).into(),
            to: status_code(to).into(),
        });
    }
    if to == CampaignStatus::Active && before.ends_at.is_some_and(|end| end < Utc::now()) {
        return Err(AppError::validation("endsAt", "the campaign has already ended; move its end date first"));
    }
    let mut active: campaigns::ActiveModel = before.clone().into();
    active.status = Set(to);
    active.updated_at = Set(Utc::now());
    let model = active.update(&txn).await?;
    let (event_type, action) = match to {
        CampaignStatus::Active => ("campana_activada", "campaign.activate"),
        _ => ("campana_pausada", "campaign.pause"),
    };
    outbox::record(&txn, event(&model, event_type)).await?;
    audit::record(&txn, caller, change(action, Some(&before), &model)).await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(model.into())
}

/// Campaigns are programme-wide: every signed-in caller may read them.
pub async fn get(db: &DatabaseConnection, _caller: &Caller, id_or_code: &str) -> AppResult<Campaign> {
    Ok(resolve(db, id_or_code).await?.into())
}

/// The id of a campaign named by UUID or by code.
pub async fn resolve_id(db: &DatabaseConnection, id_or_code: &str) -> AppResult<Uuid> {
    Ok(resolve(db, id_or_code).await?.id)
}

/// Finds a campaign by UUID or by code.
pub(crate) async fn resolve<C: ConnectionTrait>(conn: &C, id_or_code: &str) -> AppResult<campaigns::Model> {
    let found = match Uuid::parse_str(id_or_code.trim()) {
        Ok(id) => campaigns::Entity::find_by_id(id).one(conn).await?,
        Err(_) => {
            campaigns::Entity::find()
                .filter(campaigns::Column::Code.eq(id_or_code.trim().to_lowercase()))
                .one(conn)
                .await?
        }
    };
    found.ok_or_else(|| AppError::not_found("campaign", id_or_code))
}

/// The first campaign made with exactly this name, if any.
pub(crate) async fn find_by_name<C: ConnectionTrait>(conn: &C, name: &str) -> AppResult<Option<campaigns::Model>> {
    Ok(campaigns::Entity::find()
        .filter(campaigns::Column::Name.eq(name.trim()))
        .order_by_asc(campaigns::Column::CreatedAt)
        .one(conn)
        .await?)
}

pub async fn list(
    db: &DatabaseConnection,
    _caller: &Caller,
    filter: CampaignFilter,
    page: PageRequest,
) -> AppResult<Page<Campaign>> {
    let mut condition = Condition::all();
    if let Some(status) = filter.status {
        condition = condition.add(campaigns::Column::Status.eq(status));
    }
    if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = like_pattern(term);
        condition = condition.add(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col(campaigns::Column::Name))).like(pattern.clone()))
                .add(campaigns::Column::Code.like(pattern)),
        );
    }
    let query = campaigns::Entity::find().filter(condition);
    Ok(super::newest_first(db, query, campaigns::Column::CreatedAt, campaigns::Column::Id, page)
        .await?
        .map(Campaign::from))
}

/// Batch lookup for the GraphQL DataLoader.
pub async fn load_many(db: &DatabaseConnection, _caller: &Caller, ids: &[Uuid]) -> AppResult<Vec<Campaign>> {
    let rows = campaigns::Entity::find().filter(campaigns::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(Campaign::from).collect())
}

async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<campaigns::Model> {
    campaigns::Entity::find_by_id(id).one(conn).await?.ok_or_else(|| AppError::not_found("campaign", id))
}

async fn ensure_code_free<C: ConnectionTrait>(conn: &C, code: &str, except: Option<Uuid>) -> AppResult<()> {
    use campaigns::Column;
    if taken::<campaigns::Entity, C>(conn, Column::Code, Column::Id, code, except).await? {
        return Err(AppError::conflict("code", format!("a campaign with code {code} already exists")));
    }
    Ok(())
}

fn check_dates(starts_at: DateTime<Utc>, ends_at: Option<DateTime<Utc>>) -> AppResult<()> {
    match ends_at {
        Some(end) if end < starts_at => Err(AppError::validation("endsAt", "the end date is before the start date")),
        _ => Ok(()),
    }
}

fn lookback(days: i32) -> AppResult<i32> {
    if (1..=365).contains(&days) {
        Ok(days)
    } else {
        Err(AppError::validation("lookbackDays", "lookback window must be between 1 and 365 days"))
    }
}

/// Host names, lower-cased, without scheme, port or path; at most 50.
fn domains(list: &[String]) -> AppResult<Vec<String>> {
    if list.len() > 50 {
        return Err(AppError::validation("allowedDomains", "at most 50 domains"));
    }
    let mut hosts: Vec<String> = Vec::with_capacity(list.len());
    for domain in list {
        let host = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let labels_ok = host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if host.len() > 253 || !host.contains('.') || !labels_ok {
            return Err(AppError::validation(
                "allowedDomains",
                format!("'{domain}' is not a host name (e.g. shop.example.com, without https:// or a path)"),
            ));
        }
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

/// Does `host` belong to one of `allowed` (itself or a subdomain)?
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    allowed.iter().any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

fn channels(list: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for channel in list {
        let name = channel.trim().to_lowercase();
        let ok =
            (1..=40).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(AppError::validation("channels", format!("'{channel}' is not a valid channel name")));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    if out.len() > 20 {
        return Err(AppError::validation("channels", "at most 20 channels"));
    }
    Ok(out)
}

fn targeting(value: Option<Value>) -> AppResult<Value> {
    match value {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(map)) if map.len() <= 50 => Ok(Value::Object(map)),
        Some(_) => Err(AppError::validation("targeting", "targeting must be a JSON object of at most 50 keys")),
    }
}

fn commission(input: &CampaignCommission, currency: Currency) -> AppResult<CampaignCommission> {
    let mut problems = Problems::default();
    let kind = input.commission_type.unwrap_or(CommissionType::Percentage);
    let flat_amount =
        problems.check(input.flat_amount.map(|a| currency.amount(a, "commissionConfig.flatAmount")).transpose());
    if kind == CommissionType::Flat && flat_amount == Some(None) {
        problems.check::<(), _>(Err(AppError::validation(
            "commissionConfig.flatAmount",
            "a flat commission needs flatAmount",
        )));
    }
    let mut rate =
        |value: Option<Decimal>, field: &str| problems.check(value.map(|r| money::rate(r, field)).transpose());
    let conversion_rate = rate(input.conversion_rate, "commissionConfig.conversionRate");
    let sale_rate = rate(input.sale_rate, "commissionConfig.saleRate");
    let bonus_targets = rate(input.bonus_targets, "commissionConfig.bonusTargets");
    let recurring_rate = rate(input.recurring_rate, "commissionConfig.recurringRate");
    let months = input.recurring_months.filter(|m| !(0..=subscription::MAX_MONTHS).contains(m));
    if months.is_some() {
        problems.check::<(), _>(Err(AppError::validation(
            "commissionConfig.recurringMonths",
            format!("renewals earn for 0 to {} months (or set recurringLifetime)", subscription::MAX_MONTHS),
        )));
    }
    match (flat_amount, conversion_rate, sale_rate, bonus_targets, recurring_rate) {
        (Some(flat_amount), Some(conversion_rate), Some(sale_rate), Some(bonus_targets), Some(recurring_rate))
            if problems.is_empty() =>
        {
            Ok(CampaignCommission {
                conversion_rate,
                sale_rate,
                bonus_targets,
                commission_type: Some(kind),
                flat_amount,
                recurring_rate,
                recurring_months: input.recurring_months,
                recurring_lifetime: input.recurring_lifetime,
            })
        }
        _ => Err(problems.into_error()),
    }
}

pub fn status_code(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Draft => "DRAFT",
        CampaignStatus::Active => "ACTIVE",
        CampaignStatus::Paused => "PAUSED",
        CampaignStatus::Ended => "ENDED",
    }
}

fn change<'a>(action: &'a str, before: Option<&campaigns::Model>, after: &campaigns::Model) -> audit::Change<'a> {
    audit::Change {
        action,
        entity_type: "campaign",
        entity_id: after.id.to_string(),
        before: before.and_then(|m| serde_json::to_value(m).ok()),
        after: serde_json::to_value(after).ok(),
    }
}
