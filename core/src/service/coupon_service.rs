//! Coupon codes: creators share a code rather than a link. Each affiliate may have codes;
//! a Stripe checkout that used one (its promotion code, or the code in the checkout's
//! metadata) credits the code's affiliate, even without a click. When a click of another
//! affiliate led to the same checkout, `ALPES_COUPON_PRIORITY` decides (`code` by default).

use chrono::{DateTime, Utc};
use entity::{
    affiliate_coupons as coupons,
    affiliates::{self, AffiliateStatus},
    orders::{self, OrderStatus},
};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::{Alias, Expr, ExprTrait, Query},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{affiliate_service, audit, campaign_service, rollup};
use crate::{
    auth::Caller,
    context::Ctx,
    db,
    error::{AppError, AppResult, Problems},
};

pub use crate::model::coupons::Coupon;

/// The most codes one affiliate may have.
pub const MAX_CODES_PER_AFFILIATE: u64 = 50;

/// Which of code and click credits a checkout that has both, from different affiliates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponPriority {
    Code,
    Click,
}

impl CouponPriority {
    pub fn of(setting: &str) -> Self {
        if setting.eq_ignore_ascii_case("click") {
            Self::Click
        } else {
            Self::Code
        }
    }
}

/// A new code for an affiliate (ADMIN).
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    affiliate: &str,
    code: &str,
    stripe_promotion_code: Option<&str>,
    campaign: Option<&str>,
) -> AppResult<Coupon> {
    caller.require_admin()?;
    let mut problems = Problems::default();
    let code = problems.check(parse_code(code));
    let promotion =
        problems.check(stripe_promotion_code.map(str::trim).filter(|p| !p.is_empty()).map(parse_promotion).transpose());
    let (Some(code), Some(promotion)) = (code, promotion) else {
        return Err(problems.into_error());
    };
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let affiliate = affiliate_service::resolve(&txn, affiliate).await.map_err(|_| AppError::UnknownReference {
        field: "affiliateId".into(),
        entity: "affiliate",
        id: affiliate.to_string(),
    })?;
    let campaign_id = match campaign.map(str::trim).filter(|c| !c.is_empty()) {
        Some(reference) => Some(
            campaign_service::resolve(&txn, reference)
                .await
                .map_err(|_| AppError::UnknownReference {
                    field: "campaignId".into(),
                    entity: "campaign",
                    id: reference.to_string(),
                })?
                .id,
        ),
        None => None,
    };
    let held = coupons::Entity::find().filter(coupons::Column::AffiliateId.eq(affiliate.id)).count(&txn).await?;
    if held >= MAX_CODES_PER_AFFILIATE {
        return Err(AppError::validation("code", format!("an affiliate has at most {MAX_CODES_PER_AFFILIATE} codes")));
    }
    let taken = coupons::Entity::find().filter(coupons::Column::Code.eq(&code)).one(&txn).await?.is_some();
    if taken {
        return Err(AppError::conflict("code", format!("the code {code} is taken")));
    }
    if let Some(promotion) = &promotion {
        if coupons::Entity::find().filter(coupons::Column::StripePromotionCode.eq(promotion)).one(&txn).await?.is_some()
        {
            return Err(AppError::conflict("stripePromotionCode", format!("{promotion} belongs to another code")));
        }
    }
    let coupon = coupons::ActiveModel {
        id: Set(Uuid::now_v7()),
        affiliate_id: Set(affiliate.id),
        code: Set(code),
        stripe_promotion_code: Set(promotion),
        campaign_id: Set(campaign_id),
        created_by: Set(caller.user_id),
        created_at: Set(Utc::now()),
        deactivated_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::from_db_unique(e, &["code", "stripe_promotion_code"]))?;
    let coupon = Coupon::from(coupon);
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "coupon.create",
            entity_type: "coupon",
            entity_id: coupon.id.to_string(),
            before: None,
            after: Some(view(&coupon)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(coupon)
}

/// A code stops crediting anyone from now on (ADMIN); the sales it brought stay its own.
pub async fn deactivate(ctx: &Ctx, caller: &Caller, id: Uuid) -> AppResult<Coupon> {
    caller.require_admin()?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let row = coupons::Entity::find_by_id(id).one(&txn).await?.ok_or_else(|| AppError::not_found("coupon", id))?;
    if row.deactivated_at.is_some() {
        return Ok(row.into());
    }
    let before = view(&Coupon::from(row.clone()));
    let mut active: coupons::ActiveModel = row.into();
    active.deactivated_at = Set(Some(Utc::now()));
    let coupon = Coupon::from(active.update(&txn).await?);
    audit::record(
        &txn,
        caller,
        audit::Change {
            action: "coupon.deactivate",
            entity_type: "coupon",
            entity_id: id.to_string(),
            before: Some(before),
            after: Some(view(&coupon)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(coupon)
}

/// An affiliate's codes (staff, or the affiliate itself), newest first.
pub async fn of_affiliate(ctx: &Ctx, caller: &Caller, affiliate_id: Uuid) -> AppResult<Vec<Coupon>> {
    caller.require_affiliate_access(affiliate_id)?;
    let rows = coupons::Entity::find()
        .filter(coupons::Column::AffiliateId.eq(affiliate_id))
        .order_by_desc(coupons::Column::CreatedAt)
        .limit(MAX_CODES_PER_AFFILIATE)
        .all(&ctx.db)
        .await?;
    Ok(rows.into_iter().map(Coupon::from).collect())
}

/// How much one code brought in a period: paid checkouts and their revenue per currency
/// (less refunds).
#[derive(Debug, Clone)]
pub struct Usage {
    pub coupon: Coupon,
    pub orders: u64,
    pub revenue: Vec<(String, Decimal)>,
}

/// Usage of the codes in `[from, to)`, by paid checkouts, most used first (staff see every
/// code, an affiliate its own). Exact sums, by SQL over the orders that used a code.
pub async fn usage(ctx: &Ctx, caller: &Caller, from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<Vec<Usage>> {
    if to <= from {
        return Err(AppError::validation("to", "to must be after from"));
    }
    let mut codes = coupons::Entity::find();
    if let Some(own) = caller.affiliate_scope() {
        codes = codes.filter(coupons::Column::AffiliateId.eq(own));
    }
    let codes: Vec<Coupon> = codes.all(&ctx.db).await?.into_iter().map(Coupon::from).collect();
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let backend = ctx.db.get_database_backend();
    let net = "(amount - refunded_amount)";
    let mut query = Query::select();
    query
        .from(orders::Entity)
        .column(orders::Column::CouponId)
        .column(orders::Column::Currency)
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("orders"))
        .expr_as(rollup::exact_money_sum(backend, net), Alias::new("revenue"))
        .and_where(Expr::col(orders::Column::CouponId).is_in(codes.iter().map(|c| c.id)))
        .and_where(Expr::col(orders::Column::CreatedAt).gte(from))
        .and_where(Expr::col(orders::Column::CreatedAt).lt(to))
        .and_where(Expr::col(orders::Column::Status).is_in([
            OrderStatus::Paid,
            OrderStatus::PartiallyRefunded,
            OrderStatus::Refunded,
        ]))
        .group_by_col(orders::Column::CouponId)
        .group_by_col(orders::Column::Currency);
    let rows = ctx.db.query_all(&query).await?;
    let mut usage: Vec<Usage> =
        codes.into_iter().map(|coupon| Usage { coupon, orders: 0, revenue: Vec::new() }).collect();
    for row in rows {
        let id: Uuid = row.try_get("", "coupon_id")?;
        let currency: String = row.try_get("", "currency")?;
        let count: i64 = row.try_get("", "orders")?;
        let units: i64 = row.try_get("", "revenue")?;
        if let Some(entry) = usage.iter_mut().find(|u| u.coupon.id == id) {
            entry.orders += u64::try_from(count).unwrap_or(0);
            let amount = crate::domain::money::scaled(rollup::money_of_units(units), &currency);
            entry.revenue.push((currency, amount));
        }
    }
    usage.sort_by(|a, b| b.orders.cmp(&a.orders).then_with(|| a.coupon.code.cmp(&b.coupon.code)));
    Ok(usage)
}

/// The active code a Stripe checkout session used: its promotion code (an id, or the
/// expanded object's code), then a code in its metadata (`coupon`, `promo_code`, `codigo_cupon`).
pub(crate) async fn of_checkout<C: ConnectionTrait>(conn: &C, session: &Value) -> AppResult<Option<Coupon>> {
    let mut promotions: Vec<String> = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    let discounts = session["discounts"].as_array().into_iter().flatten().chain(
        session["total_details"]["breakdown"]["discounts"].as_array().into_iter().flatten().map(|d| &d["discount"]),
    );
    for discount in discounts.take(20) {
        match &discount["promotion_code"] {
            Value::String(id) => promotions.push(id.clone()),
            Value::Object(object) => {
                if let Some(id) = object.get("id").and_then(Value::as_str) {
                    promotions.push(id.to_string());
                }
                if let Some(code) = object.get("code").and_then(Value::as_str) {
                    codes.push(code.to_string());
                }
            }
            _ => {}
        }
    }
    for key in ["coupon", "promo_code", "codigo_cupon"] {
        if let Some(code) = session["metadata"][key].as_str() {
            codes.push(code.to_string());
        }
    }
    let promotions: Vec<String> = promotions.into_iter().filter(|p| p.len() <= 255).collect();
    let codes: Vec<String> = codes.iter().filter_map(|c| parse_code(c).ok()).collect();
    if promotions.is_empty() && codes.is_empty() {
        return Ok(None);
    }
    let found = coupons::Entity::find()
        .filter(coupons::Column::DeactivatedAt.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(coupons::Column::StripePromotionCode.is_in(promotions.clone()))
                .add(coupons::Column::Code.is_in(codes.clone())),
        )
        .all(conn)
        .await?;
    // A promotion code id names the code exactly; a typed code comes next.
    let by_promotion =
        promotions.iter().find_map(|p| found.iter().find(|c| c.stripe_promotion_code.as_deref() == Some(p.as_str())));
    let by_code = codes.iter().find_map(|code| found.iter().find(|c| c.code == *code));
    let Some(coupon) = by_promotion.or(by_code).cloned().map(Coupon::from) else {
        return Ok(None);
    };
    // Only a partner in good standing earns by code.
    let active = affiliates::Entity::find_by_id(coupon.affiliate_id)
        .one(conn)
        .await?
        .is_some_and(|a| a.status == AffiliateStatus::Active);
    Ok(active.then_some(coupon))
}

/// A code as customers type it: 3 to 64 letters, digits, `-` or `_`, kept upper case.
fn parse_code(value: &str) -> AppResult<String> {
    let code = value.trim().to_uppercase();
    let ok = (3..=64).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(code)
    } else {
        Err(AppError::validation("code", "a code has 3 to 64 letters, digits, '-' or '_'"))
    }
}

fn parse_promotion(value: &str) -> AppResult<String> {
    let ok = value.starts_with("promo_")
        && value.len() <= 255
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(value.to_string())
    } else {
        Err(AppError::validation("stripePromotionCode", "a Stripe promotion code id looks like promo_1Mr…"))
    }
}

fn view(coupon: &Coupon) -> Value {
    json!({
        "code": coupon.code,
        "affiliateId": coupon.affiliate_id,
        "stripePromotionCode": coupon.stripe_promotion_code,
        "campaignId": coupon.campaign_id,
        "deactivatedAt": coupon.deactivated_at,
    })
}
