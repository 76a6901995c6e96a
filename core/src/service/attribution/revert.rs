//! Reverting an attribution (fraud) and re-attributing a conversion to another affiliate.

use super::*;

/// `RevertirAtribucion`: the journey → `REVERTED_FRAUD`, its conversion → `REVERTED`, its
/// credits no longer current; `AtribucionRevertida` is published. Twice is an error.
pub async fn revert(ctx: &Ctx, caller: &Caller, journey_id: &str) -> AppResult<Journey> {
    caller.require_admin()?;
    let uuid = Uuid::parse_str(journey_id.trim()).map_err(|_| AppError::not_found("journey", journey_id))?;
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let journey = journeys::Entity::find_by_id(uuid)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("journey", journey_id))?;
    if !matches!(journey.status, JourneyStatus::Attributed | JourneyStatus::HeldForReview) {
        return Err(AppError::InvalidTransition {
            entity: "journey",
            from: upper(journey.status),
            to: upper(JourneyStatus::RevertedFraud),
        });
    }
    let now = Utc::now().trunc_subsecs(6);
    let moved = journeys::Entity::update_many()
        .col_expr(journeys::Column::Status, Expr::value(JourneyStatus::RevertedFraud))
        .col_expr(journeys::Column::RevertedAt, Expr::value(now))
        .col_expr(journeys::Column::UpdatedAt, Expr::value(now))
        .filter(journeys::Column::Id.eq(journey.id))
        .filter(journeys::Column::Status.eq(journey.status))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::Conflict { field: None, message: "the journey changed meanwhile; try again".into() });
    }
    retire_credits(&txn, journey.id).await?;
    commission::reverse_for_conversion(&txn, journey.conversion_id, "atribución revertida").await?;
    conversions::Entity::update_many()
        .col_expr(conversions::Column::Status, Expr::value(ConversionStatus::Reverted))
        .col_expr(conversions::Column::UpdatedAt, Expr::value(now))
        .filter(conversions::Column::Id.eq(journey.conversion_id))
        .exec(&txn)
        .await?;
    let after = journeys::Model {
        status: JourneyStatus::RevertedFraud,
        reverted_at: Some(now),
        updated_at: now,
        ..journey.clone()
    };
    outbox::record(&txn, reverted_event(&txn, &after).await?).await?;
    audit::record(
        &txn,
        caller,
        Change {
            action: "attribution.revert",
            entity_type: "journey",
            entity_id: journey.id.to_string(),
            before: Some(json!({ "status": journey.status })),
            after: Some(json!({ "status": after.status })),
        },
    )
    .await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(after.into())
}

pub(super) async fn retire_credits<C: ConnectionTrait>(conn: &C, journey_id: Uuid) -> AppResult<()> {
    attribution_credits::Entity::update_many()
        .col_expr(attribution_credits::Column::IsCurrent, Expr::value(false))
        .filter(attribution_credits::Column::JourneyId.eq(journey_id))
        .filter(attribution_credits::Column::IsCurrent.eq(true))
        .exec(conn)
        .await?;
    Ok(())
}

/// What a person decides when re-attributing a conversion.
pub enum Reattribution {
    /// Credit it again under another model.
    Model(StoredModel),
    /// Give all of it to this affiliate (id or code).
    Affiliate(String),
}

/// Re-attributes a conversion (ADMIN): its current credits are retired and new ones made;
/// a conversion held for review is released this way. Audited.
pub async fn reattribute(
    ctx: &Ctx,
    markov: &Markov,
    caller: &Caller,
    conversion_id: &str,
    decision: Reattribution,
) -> AppResult<Conversion> {
    caller.require_admin()?;
    let uuid = Uuid::parse_str(conversion_id.trim()).map_err(|_| AppError::not_found("conversion", conversion_id))?;
    // Markov path counts read a lot; take them before the write turn.
    if matches!(decision, Reattribution::Model(StoredModel::Markov)) {
        markov_counts(ctx, markov).await?;
    }
    let (txn, _turn) = db::write_txn(&ctx.db).await?;
    let conversion = conversions::Entity::find_by_id(uuid)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("conversion", conversion_id))?;
    let journey =
        journeys::Entity::find().filter(journeys::Column::ConversionId.eq(conversion.id)).one(&txn).await?.ok_or_else(
            || AppError::InvalidTransition {
                entity: "conversion",
                from: upper(conversion.status),
                to: upper(ConversionStatus::Attributed),
            },
        )?;
    if !matches!(journey.status, JourneyStatus::Attributed | JourneyStatus::HeldForReview | JourneyStatus::Unattributed)
    {
        return Err(AppError::InvalidTransition {
            entity: "journey",
            from: upper(journey.status),
            to: upper(JourneyStatus::Attributed),
        });
    }
    let touches = touches_of(&journey);
    let previous = attribution_credits::Entity::find()
        .filter(attribution_credits::Column::JourneyId.eq(journey.id))
        .filter(attribution_credits::Column::IsCurrent.eq(true))
        .all(&txn)
        .await?;
    let (new_model, list, change) = match decision {
        Reattribution::Model(stored) => {
            if touches.is_empty() {
                return Err(AppError::validation(
                    "model",
                    "the conversion has no touchpoints to credit; give it to an affiliate instead",
                ));
            }
            let codes = campaign_codes(&txn, touches.iter().filter_map(|t| t.campaign_id)).await?;
            let fitted = match stored {
                StoredModel::Markov => Some(markov_for(ctx, markov, &touches, &codes, Some(journey.created_at)).await?),
                _ => None,
            };
            let weights = weights_for(
                stored,
                &ctx.config.attribution,
                &touches,
                conversion.occurred_at,
                fitted.as_deref().map(|m| (m, &codes)),
            );
            let list = credits_for(stored, &weights, &touches, conversion.value, &conversion.currency);
            (stored, list, json!({ "model": stored }))
        }
        Reattribution::Affiliate(reference) => {
            let affiliate = find_affiliate(&txn, &reference).await?;
            let campaign_id = conversion.campaign_id.or_else(|| {
                previous.iter().max_by_key(|c| c.amount).and_then(|c| c.campaign_id).or_else(|| {
                    touches.iter().rev().find(|t| t.affiliate_id == Some(affiliate.id)).and_then(|t| t.campaign_id)
                })
            });
            let list = vec![Credit {
                id: None,
                position: 0,
                interaction_id: None,
                campaign_id,
                affiliate_id: Some(affiliate.id),
                channel: Some("manual".into()),
                model: journey.model,
                weight: Decimal::new(1, 0),
                amount: conversion.value,
                currency: conversion.currency.clone(),
                is_current: true,
            }];
            (journey.model, list, json!({ "affiliate_id": affiliate.id, "affiliate": affiliate.code }))
        }
    };
    let now = Utc::now().trunc_subsecs(6);
    retire_credits(&txn, journey.id).await?;
    let mut active: journeys::ActiveModel = journey.clone().into();
    active.model = Set(new_model);
    active.status = Set(JourneyStatus::Attributed);
    active.updated_at = Set(now);
    let journey_after = active.update(&txn).await?;
    let mut active: conversions::ActiveModel = conversion.clone().into();
    active.status = Set(ConversionStatus::Attributed);
    active.updated_at = Set(now);
    let conversion_after = active.update(&txn).await?;
    let stored = store_credits(&txn, &list, journey.id, conversion.id, now).await?;
    outbox::record_many(&txn, attributed_events(&txn, &journey_after, &conversion_after, &stored).await?).await?;
    if conversion.status != ConversionStatus::Attributed {
        // Released from review, or credited by hand: validated by a person, processed again.
        outbox::record_many(&txn, outcome_events(&conversion_after, true)).await?;
    }
    // The commissions follow the new credits: the old ones canceled (or clawed back once
    // paid), one reserved per new credit.
    commission::reverse_for_conversion(&txn, conversion.id, "conversión reatribuida").await?;
    commission::reserve_for_credits(&txn, &conversion_after, &stored).await?;
    audit::record(
        &txn,
        caller,
        Change {
            action: "attribution.reattribute",
            entity_type: "conversion",
            entity_id: conversion.id.to_string(),
            before: Some(json!({
                "status": journey.status,
                "model": journey.model,
                "credits": previous.iter().map(|c| json!({ "affiliate_id": c.affiliate_id, "campaign_id": c.campaign_id, "amount": c.amount.to_string() })).collect::<Vec<_>>(),
            })),
            after: Some(json!({ "status": JourneyStatus::Attributed, "decision": change })),
        },
    )
    .await?;
    txn.commit().await?;
    ctx.events_committed();
    Ok(conversion_after.into())
}

pub(super) async fn find_affiliate<C: ConnectionTrait>(conn: &C, reference: &str) -> AppResult<affiliates::Model> {
    let reference = reference.trim();
    let found = match Uuid::parse_str(reference) {
        Ok(id) => affiliates::Entity::find_by_id(id).one(conn).await?,
        Err(_) => affiliates::Entity::find().filter(affiliates::Column::Code.eq(reference)).one(conn).await?,
    };
    found.ok_or_else(|| AppError::UnknownReference {
        field: "affiliateId".into(),
        entity: "affiliate",
        id: reference.to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Report
