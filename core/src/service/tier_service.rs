//! Programme tiers (admin): thresholds on an affiliate's credited sales in a calendar month
//! (UTC), the rate each gives and the bonus a month that ends above it pays (see
//! `domain::tier`). An affiliate's month so far and its place among the tiers.

use chrono::{DateTime, Utc};
use entity::{
    commission_tiers as tiers,
    commissions::{self, CommissionStatus},
    conversions::{self, ConversionType},
};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::{Expr, ExprTrait, Query},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::{audit, rollup};
use crate::{
    auth::Caller,
    context::Ctx,
    db,
    domain::{
        commission::Period,
        money::{self, Currency},
        tier::{self as rules, Tier},
        validate,
    },
    error::{AppError, AppResult, Problems},
    model::tiers::CommissionTier,
};

/// At most this many tiers in the programme.
pub const MAX_TIERS: u64 = 50;

/// A tier as given by an admin.
#[derive(Debug, Clone, Default)]
pub struct TierInput {
    pub name: String,
    pub currency: String,
    pub min_sales: Decimal,
    pub rate: Option<Decimal>,
    pub bonus: Option<Decimal>,
}

/// Where an affiliate's month stands against the tiers of one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub currency: String,
    pub month: Period,
    /// Credited sales of the month so far.
    pub sales: Decimal,
    pub tier: Option<CommissionTier>,
    pub next: Option<CommissionTier>,
}

fn rule_of(tier: &tiers::Model) -> Tier {
    Tier { min_sales: tier.min_sales, rate: tier.rate, bonus: tier.bonus }
}

/// The programme's tiers, by currency and threshold.
pub async fn all(db: &sea_orm::DatabaseConnection) -> AppResult<Vec<CommissionTier>> {
    Ok(list(db).await?.into_iter().map(Into::into).collect())
}

pub(crate) async fn list<C: ConnectionTrait>(conn: &C) -> AppResult<Vec<tiers::Model>> {
    Ok(tiers::Entity::find()
        .order_by_asc(tiers::Column::Currency)
        .order_by_asc(tiers::Column::MinSales)
        .all(conn)
        .await?)
}

/// The tiers of one currency, as rules.
pub async fn rules_in<C: ConnectionTrait>(conn: &C, currency: &str) -> AppResult<Vec<Tier>> {
    Ok(tiers::Entity::find()
        .filter(tiers::Column::Currency.eq(currency))
        .all(conn)
        .await?
        .iter()
        .map(rule_of)
        .collect())
}

/// A tier's terms once checked.
struct Terms {
    name: String,
    currency: Currency,
    min_sales: Decimal,
    rate: Option<Decimal>,
    bonus: Option<Decimal>,
}

fn check(input: &TierInput) -> AppResult<Terms> {
    let mut problems = Problems::default();
    let name = problems.check(validate::text(&input.name, "name", 100));
    let currency = problems.check(Currency::parse(&input.currency, "currency"));
    let min_sales = currency.and_then(|c| problems.check(c.amount(input.min_sales, "minSales")));
    if min_sales.is_some_and(|m| m <= Decimal::ZERO) {
        problems.check::<(), _>(Err(AppError::validation("minSales", "a tier starts above zero sales")));
    }
    let rate = problems.check(input.rate.map(|r| money::rate(r, "rate")).transpose());
    let bonus = currency.and_then(|c| problems.check(input.bonus.map(|b| c.amount(b, "bonus")).transpose()));
    if bonus.flatten().is_some_and(|b| b <= Decimal::ZERO) {
        problems.check::<(), _>(Err(AppError::validation("bonus", "a bonus is above zero")));
    }
    if input.rate.is_none() && input.bonus.is_none() {
        problems.check::<(), _>(Err(AppError::validation("rate", "a tier gives a rate, a bonus or both")));
    }
    match (name, currency, min_sales, rate, bonus) {
        (Some(name), Some(currency), Some(min_sales), Some(rate), Some(bonus)) if problems.is_empty() => {
            Ok(Terms { name, currency, min_sales, rate, bonus })
        }
        _ => Err(problems.into_error()),
    }
}

/// Adds a tier (ADMIN). Two tiers of a currency cannot start at the same sales.
pub async fn create(ctx: &Ctx, caller: &Caller, input: TierInput) -> AppResult<CommissionTier> {
    caller.require_admin()?;
    let Terms { name, currency, min_sales, rate, bonus } = check(&input)?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    if tiers::Entity::find().count(&txn).await? >= MAX_TIERS {
        return Err(AppError::validation("name", format!("the programme has at most {MAX_TIERS} tiers")));
    }
    let now = Utc::now();
    let model = tiers::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        currency: Set(currency.code().to_string()),
        min_sales: Set(min_sales),
        rate: Set(rate),
        bonus: Set(bonus),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["minSales"]))?;
    audit::record(&txn, caller, change("tier.create", None, Some(&model))).await?;
    txn.commit().await?;
    Ok(model.into())
}

/// Replaces a tier's terms (ADMIN). Sales already priced keep their rate; bonuses of months
/// not yet awarded follow the new terms.
pub async fn update(ctx: &Ctx, caller: &Caller, id: Uuid, input: TierInput) -> AppResult<CommissionTier> {
    caller.require_admin()?;
    let Terms { name, currency, min_sales, rate, bonus } = check(&input)?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = tiers::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("tier", id))?;
    let mut active: tiers::ActiveModel = before.clone().into();
    active.name = Set(name);
    active.currency = Set(currency.code().to_string());
    active.min_sales = Set(min_sales);
    active.rate = Set(rate);
    active.bonus = Set(bonus);
    active.updated_at = Set(Utc::now());
    let model = active.update(&txn).await.map_err(|e| AppError::from_db_unique(e, &["minSales"]))?;
    audit::record(&txn, caller, change("tier.update", Some(&before), Some(&model))).await?;
    txn.commit().await?;
    Ok(model.into())
}

/// Removes a tier (ADMIN); bonuses it paid stay paid.
pub async fn delete(ctx: &Ctx, caller: &Caller, id: Uuid) -> AppResult<()> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let before = tiers::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("tier", id))?;
    tiers::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(&txn, caller, change("tier.delete", Some(&before), None)).await?;
    txn.commit().await?;
    Ok(())
}

fn change<'a>(action: &'a str, before: Option<&tiers::Model>, after: Option<&tiers::Model>) -> audit::Change<'a> {
    audit::Change {
        action,
        entity_type: "commission_tier",
        entity_id: after.or(before).map(|t| t.id.to_string()).unwrap_or_default(),
        before: before.and_then(|m| serde_json::to_value(m).ok()),
        after: after.and_then(|m| serde_json::to_value(m).ok()),
    }
}

/// The credited sales of `affiliate` in `currency` whose sale happened in `[from, until]`
/// (commissions on sales that are not canceled or rejected, clawbacks apart), leaving out
/// the commission `except`. Exact on both backends; reads the affiliate's commissions made
/// since `from` (a sale's commission is made after the sale).
pub async fn sales_between<C: ConnectionTrait>(
    conn: &C,
    affiliate: Uuid,
    currency: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    except: Option<Uuid>,
) -> AppResult<Decimal> {
    let found = sales_by_affiliate(conn, Some(affiliate), currency, from, until, except).await?;
    Ok(found.first().map_or(Decimal::ZERO, |(_, sales)| *sales))
}

/// [`sales_between`] for every affiliate with sales (or one), affiliate by affiliate.
pub async fn sales_by_affiliate<C: ConnectionTrait>(
    conn: &C,
    affiliate: Option<Uuid>,
    currency: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    except: Option<Uuid>,
) -> AppResult<Vec<(Uuid, Decimal)>> {
    let backend = conn.get_database_backend();
    let mut query = Query::select();
    query
        .column((commissions::Entity, commissions::Column::AffiliateId))
        .expr_as(rollup::exact_money_sum(backend, "commissions.base_amount"), sea_orm::sea_query::Alias::new("units"))
        .from(commissions::Entity)
        .inner_join(
            conversions::Entity,
            Expr::col((conversions::Entity, conversions::Column::Id))
                .equals((commissions::Entity, commissions::Column::ConversionId)),
        )
        .and_where(Expr::col((commissions::Entity, commissions::Column::CreatedAt)).gte(from))
        .and_where(Expr::col((commissions::Entity, commissions::Column::Currency)).eq(currency))
        .and_where(Expr::col((commissions::Entity, commissions::Column::AdjustsCommissionId)).is_null())
        .and_where(
            Expr::col((commissions::Entity, commissions::Column::Status))
                .is_not_in([CommissionStatus::Canceled, CommissionStatus::Rejected]),
        )
        .and_where(Expr::col((conversions::Entity, conversions::Column::ConversionType)).eq(ConversionType::Sale))
        .and_where(Expr::col((conversions::Entity, conversions::Column::OccurredAt)).gte(from))
        .and_where(Expr::col((conversions::Entity, conversions::Column::OccurredAt)).lte(until));
    if let Some(id) = except {
        query.and_where(Expr::col((commissions::Entity, commissions::Column::Id)).ne(id));
    }
    if let Some(affiliate) = affiliate {
        query.and_where(Expr::col((commissions::Entity, commissions::Column::AffiliateId)).eq(affiliate));
    }
    query.group_by_col((commissions::Entity, commissions::Column::AffiliateId));
    let mut out = Vec::new();
    for row in conn.query_all(&query).await? {
        let id: Uuid = row.try_get("", "affiliate_id")?;
        let units: i64 = row.try_get("", "units")?;
        out.push((id, rollup::money_of_units(units)));
    }
    Ok(out)
}

/// The rule a sale's commission earns by once the programme's tiers are counted: the
/// affiliate's month up to the sale (this commission's base included) may reach a tier
/// whose rate beats it.
pub async fn with_tiers<C: ConnectionTrait>(
    conn: &C,
    rule: crate::domain::commission::Rule,
    commission: &commissions::Model,
    sale: &conversions::Model,
) -> AppResult<crate::domain::commission::Rule> {
    let tiers = rules_in(conn, &commission.currency).await?;
    if !tiers.iter().any(|t| t.rate.is_some_and(|r| r > rule.value)) {
        return Ok(rule);
    }
    let month = rules::month_of(sale.occurred_at);
    let before = sales_between(
        conn,
        commission.affiliate_id,
        &commission.currency,
        month.from,
        sale.occurred_at,
        Some(commission.id),
    )
    .await?;
    Ok(rules::rule_with_tiers(rule, &tiers, before + commission.base_amount))
}

/// Where an affiliate's month (the one holding `at`) stands in each currency that has tiers.
pub async fn progress<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    affiliate: Uuid,
    at: DateTime<Utc>,
) -> AppResult<Vec<Progress>> {
    caller.require_affiliate_access(affiliate)?;
    let all = list(conn).await?;
    let month = rules::month_of(at);
    let mut out = Vec::new();
    let mut currencies: Vec<&str> = all.iter().map(|t| t.currency.as_str()).collect();
    currencies.dedup();
    for currency in currencies {
        let of: Vec<&tiers::Model> = all.iter().filter(|t| t.currency == currency).collect();
        let sales = sales_between(conn, affiliate, currency, month.from, month.to, None).await?;
        let tier = of.iter().filter(|t| t.min_sales <= sales).max_by_key(|t| t.min_sales).map(|t| (*t).clone().into());
        let next = of.iter().filter(|t| t.min_sales > sales).min_by_key(|t| t.min_sales).map(|t| (*t).clone().into());
        out.push(Progress { currency: currency.to_string(), month, sales, tier, next });
    }
    Ok(out)
}
