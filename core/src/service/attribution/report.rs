//! The attribution report: credited value per campaign/channel under every model.

use super::*;
use crate::domain::commission::{Period, MAX_PERIOD_DAYS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Campaign,
    Affiliate,
    Channel,
}

/// One line of the report: what `model` gives to `key` in `currency`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub model: StoredModel,
    /// Campaign or affiliate code, or channel.
    pub key: String,
    pub name: String,
    pub conversions: Decimal,
    pub value: Decimal,
    pub currency: String,
    /// MARKOV rows: the key's removal effect.
    pub removal_effect: Option<f64>,
}

pub struct Report {
    pub models: Vec<StoredModel>,
    pub rows: Vec<ReportRow>,
    /// Attributed conversions in the period.
    pub conversions: u64,
}

pub const ALL_MODELS: [StoredModel; 6] = [
    StoredModel::LastClick,
    StoredModel::FirstClick,
    StoredModel::Linear,
    StoredModel::TimeDecay,
    StoredModel::PositionBased,
    StoredModel::Markov,
];

/// Names of the keys of a report.
pub(super) struct Directory {
    campaigns: HashMap<Uuid, (String, String)>,
    affiliates: HashMap<Uuid, (String, String)>,
}

impl Directory {
    async fn load(db: &DatabaseConnection) -> AppResult<Self> {
        let campaigns = campaigns::Entity::find().all(db).await?;
        let affiliates = affiliates::Entity::find().all(db).await?;
        Ok(Self {
            campaigns: campaigns.into_iter().map(|c| (c.id, (c.code, c.name))).collect(),
            affiliates: affiliates.into_iter().map(|a| (a.id, (a.code, a.name))).collect(),
        })
    }

    /// The report key and name of a touch.
    fn key(&self, group: GroupBy, campaign: Option<Uuid>, affiliate: Option<Uuid>, channel: &str) -> (String, String) {
        let named = match group {
            GroupBy::Campaign => campaign.and_then(|id| self.campaigns.get(&id)),
            GroupBy::Affiliate => affiliate.and_then(|id| self.affiliates.get(&id)),
            GroupBy::Channel => None,
        };
        match named {
            Some((code, name)) => (code.clone(), name.clone()),
            None => (channel.to_string(), channel.to_string()),
        }
    }
}

/// Converting paths (from the attributed journeys) and non-converting ones (the touches of
/// people without a conversion) over `[from, to]`, as sequences of report keys.
pub(super) async fn markov_paths(
    db: &DatabaseConnection,
    settings: &AttributionSettings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: GroupBy,
) -> AppResult<(MarkovCounts, Directory)> {
    let directory = Directory::load(db).await?;
    let mut counts = MarkovCounts::new();
    let journeys = journeys::Entity::find()
        .filter(journeys::Column::Status.eq(JourneyStatus::Attributed))
        .filter(journeys::Column::CreatedAt.gte(from))
        .filter(journeys::Column::CreatedAt.lte(to + Duration::days(1)))
        .all(db)
        .await?;
    let mut converted: HashSet<String> = HashSet::new();
    for journey in &journeys {
        let path: Vec<String> = touches_of(journey)
            .iter()
            .map(|t| directory.key(group, t.campaign_id, t.affiliate_id, &t.channel).0)
            .collect();
        counts.add_path(&path, true);
    }
    // Everyone who converted (attributed yet or not) is left out of the non-converting paths.
    let people: Vec<(Option<String>, Option<String>)> = conversions::Entity::find()
        .select_only()
        .column(conversions::Column::UserId)
        .column(conversions::Column::AnonymousId)
        .filter(conversions::Column::OccurredAt.gte(from))
        .into_tuple()
        .all(db)
        .await?;
    for (user, anon) in people {
        converted.extend(user);
        converted.extend(anon);
    }
    let links: HashMap<String, String> =
        identity_links::Entity::find().all(db).await?.into_iter().map(|l| (l.anonymous_id, l.user_id)).collect();
    let start = from - Duration::days(i64::from(settings.attribution_lookback_days));
    let rows = interactions::Entity::find()
        .filter(interactions::Column::OccurredAt.gte(start))
        .filter(interactions::Column::OccurredAt.lte(to))
        .filter(interactions::Column::Kind.is_in([
            InteractionKind::Click,
            InteractionKind::Impression,
            InteractionKind::View,
        ]))
        .order_by_asc(interactions::Column::OccurredAt)
        .order_by_asc(interactions::Column::Id)
        .all(db)
        .await?;
    let mut paths: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows {
        let person = row
            .user_id
            .clone()
            .or_else(|| row.anonymous_id.as_ref().map(|anon| links.get(anon).cloned().unwrap_or_else(|| anon.clone())));
        let Some(person) = person else { continue };
        if converted.contains(&person)
            || row.user_id.as_ref().is_some_and(|u| converted.contains(u))
            || row.anonymous_id.as_ref().is_some_and(|a| converted.contains(a))
        {
            continue;
        }
        let channel = row.channel.as_deref().unwrap_or(DIRECT);
        paths.entry(person).or_default().push(directory.key(group, row.campaign_id, row.affiliate_id, channel).0);
    }
    for path in paths.values() {
        counts.add_path(path, false);
    }
    Ok((counts, directory))
}

/// `attributionReport`: what each model (or the one asked for) credits to each campaign,
/// affiliate or channel for the conversions attributed in `[from, to]`, per currency.
pub async fn report(
    ctx: &Ctx,
    caller: &Caller,
    only: Option<StoredModel>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: GroupBy,
) -> AppResult<Report> {
    caller.require_staff()?;
    if from > to {
        return Err(AppError::validation("from", "from must not be after to"));
    }
    Period { from, to }.at_most(MAX_PERIOD_DAYS, "to")?;
    let db = &ctx.db;
    let settings = &ctx.config.attribution;
    let models: Vec<StoredModel> = match only {
        Some(m) => vec![m],
        None => ALL_MODELS.to_vec(),
    };
    let attributed = conversions::Entity::find()
        .filter(conversions::Column::Status.eq(ConversionStatus::Attributed))
        .filter(conversions::Column::OccurredAt.gte(from))
        .filter(conversions::Column::OccurredAt.lte(to))
        .all(db)
        .await?;
    let ids: Vec<Uuid> = attributed.iter().map(|c| c.id).collect();
    let mut journeys_by_conversion: HashMap<Uuid, journeys::Model> = HashMap::new();
    for chunk in ids.chunks(500) {
        for j in journey_of_conversions(db, chunk).await? {
            journeys_by_conversion.insert(j.conversion_id, j);
        }
    }
    let (fitted, directory) = if models.contains(&StoredModel::Markov) {
        let (counts, directory) = markov_paths(db, settings, from, to, group).await?;
        (Some(counts.fit()), directory)
    } else {
        (None, Directory::load(db).await?)
    };
    // (model, key, currency) → (name, conversions, value)
    let mut totals: BTreeMap<(usize, String, String), (String, Decimal, Decimal)> = BTreeMap::new();
    let mut per_currency: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    for conversion in &attributed {
        let Some(journey) = journeys_by_conversion.get(&conversion.id) else { continue };
        let touches = touches_of(journey);
        if touches.is_empty() {
            continue;
        }
        let entry = per_currency.entry(conversion.currency.clone()).or_default();
        entry.0 += 1;
        entry.1 += conversion.value;
        for (index, stored) in models.iter().enumerate() {
            if *stored == StoredModel::Markov {
                continue;
            }
            let weights = weights_for(*stored, settings, &touches, conversion.occurred_at, None);
            for credit in credits_for(*stored, &weights, &touches, conversion.value, &conversion.currency) {
                let channel = credit.channel.as_deref().unwrap_or(DIRECT);
                let (key, name) = directory.key(group, credit.campaign_id, credit.affiliate_id, channel);
                let line = totals.entry((index, key, conversion.currency.clone())).or_insert((
                    name,
                    Decimal::ZERO,
                    Decimal::ZERO,
                ));
                line.1 += credit.weight;
                line.2 += credit.amount;
            }
        }
    }
    let mut rows: Vec<ReportRow> = totals
        .into_iter()
        .map(|((index, key, currency), (name, conversions, value))| ReportRow {
            model: models[index],
            key,
            name,
            conversions: conversions.round_dp(model::CONVERSION_SCALE).normalize(),
            value,
            currency,
            removal_effect: None,
        })
        .collect();
    if let Some(fitted) = fitted {
        let channels: Vec<(String, f64)> = fitted.channels().map(|(k, e)| (k.to_string(), e)).collect();
        let weights: Vec<Decimal> =
            channels.iter().map(|(_, e)| Decimal::from_f64_retain(*e).unwrap_or(Decimal::ZERO)).collect();
        let names: HashMap<String, String> = directory
            .campaigns
            .values()
            .chain(directory.affiliates.values())
            .map(|(code, name)| (code.clone(), name.clone()))
            .collect();
        for (currency, (count, value)) in &per_currency {
            let minor = Currency::parse(currency, "currency").map(|c| c.minor_units()).unwrap_or(2);
            let mut count = Decimal::from(*count);
            count.rescale(model::CONVERSION_SCALE);
            let conversions = model::split_amount(count, model::CONVERSION_SCALE, &weights);
            let values = model::split_amount(*value, minor, &weights);
            for (((key, effect), conversions), value) in channels.iter().zip(conversions).zip(values) {
                rows.push(ReportRow {
                    model: StoredModel::Markov,
                    key: key.clone(),
                    name: names.get(key).cloned().unwrap_or_else(|| key.clone()),
                    conversions: conversions.normalize(),
                    value,
                    currency: currency.clone(),
                    removal_effect: Some(*effect),
                });
            }
        }
    }
    let order = |m: StoredModel| models.iter().position(|x| *x == m).unwrap_or(usize::MAX);
    rows.sort_by(|a, b| {
        order(a.model)
            .cmp(&order(b.model))
            .then_with(|| a.currency.cmp(&b.currency))
            .then_with(|| b.value.cmp(&a.value))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(Report { models, rows, conversions: per_currency.values().map(|(n, _)| n).sum() })
}
