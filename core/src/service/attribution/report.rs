//! The attribution report: credited value per campaign/channel under every model.

use chrono::NaiveDate;

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

    /// The names of only these campaigns and affiliates (those a report's rows name).
    async fn of(
        db: &DatabaseConnection,
        group: GroupBy,
        campaigns: HashSet<Uuid>,
        affiliates: HashSet<Uuid>,
    ) -> AppResult<Self> {
        let mut directory = Self { campaigns: HashMap::new(), affiliates: HashMap::new() };
        if group == GroupBy::Campaign {
            let ids: Vec<Uuid> = campaigns.into_iter().collect();
            for chunk in ids.chunks(500) {
                for c in campaigns::Entity::find().filter(campaigns::Column::Id.is_in(chunk.to_vec())).all(db).await? {
                    directory.campaigns.insert(c.id, (c.code, c.name));
                }
            }
        }
        if group == GroupBy::Affiliate {
            let ids: Vec<Uuid> = affiliates.into_iter().collect();
            for chunk in ids.chunks(500) {
                for a in affiliates::Entity::find().filter(affiliates::Column::Id.is_in(chunk.to_vec())).all(db).await?
                {
                    directory.affiliates.insert(a.id, (a.code, a.name));
                }
            }
        }
        Ok(directory)
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
///
/// Both are streamed from the database a row at a time: the journeys as they come, the
/// touches in time order, each person's path kept as a short list of numbers (plus the ids
/// of the people who converted, to leave them out). One pass counts the paths of every
/// grouping (campaign, affiliate, channel).
pub(super) async fn markov_paths(
    db: &DatabaseConnection,
    settings: &AttributionSettings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<MarkovPaths> {
    use futures::TryStreamExt;
    use sea_orm::{
        sea_query::{Alias, ExprTrait, Query},
        ActiveEnum, StreamTrait,
    };
    let taken = Utc::now();
    let directory = Directory::load(db).await?;
    // Each grouping's states as small numbers: a touch's key is looked up once, its name
    // kept once.
    let mut states: [Interner; 3] = Default::default();
    let mut counts: [MarkovCounts; 3] = [MarkovCounts::new(), MarkovCounts::new(), MarkovCounts::new()];
    let mut path: Vec<u32> = Vec::new();
    // The journeys' touches as text, read for the three fields a path needs (the rest of
    // each touch is skipped, not decoded).
    let mut journeys = journeys::Entity::find()
        .select_only()
        .column_as(Expr::col(journeys::Column::Touchpoints).cast_as(Alias::new("TEXT")), "touchpoints")
        .filter(journeys::Column::Status.eq(JourneyStatus::Attributed))
        .filter(journeys::Column::CreatedAt.gte(from))
        .filter(journeys::Column::CreatedAt.lte(to + Duration::days(1)))
        .into_tuple::<String>()
        .stream(db)
        .await?;
    while let Some(text) = journeys.try_next().await? {
        let touches: Vec<PathTouch<'_>> = serde_json::from_str(&text).unwrap_or_default();
        for ((group, states), counts) in GROUPS.iter().zip(states.iter_mut()).zip(counts.iter_mut()) {
            path.clear();
            for touch in &touches {
                let state = states.state(&directory, *group, touch.campaign_id, touch.affiliate_id, &touch.channel);
                // Repeats of one state make one step of the chain: keep the path short.
                if path.last() != Some(&state) {
                    path.push(state);
                }
            }
            let names: Vec<&str> = path.iter().map(|s| states.name(*s)).collect();
            counts.add_path(&names, true);
        }
    }
    drop(journeys);
    // Everyone who converted (attributed yet or not) is left out of the non-converting paths.
    let mut converted: HashSet<PersonKey> = HashSet::new();
    let mut people = conversions::Entity::find()
        .select_only()
        .column(conversions::Column::UserId)
        .column(conversions::Column::AnonymousId)
        .filter(conversions::Column::OccurredAt.gte(from))
        .into_tuple::<(Option<String>, Option<String>)>()
        .stream(db)
        .await?;
    while let Some((user, anon)) = people.try_next().await? {
        converted.extend(user.as_deref().map(person_key));
        converted.extend(anon.as_deref().map(person_key));
    }
    drop(people);
    let start = from - Duration::days(i64::from(settings.attribution_lookback_days));
    let (i, l) = (Alias::new("i"), Alias::new("l"));
    let person = "COALESCE(i.user_id, l.user_id, i.anonymous_id)";
    let mut touches = Query::select();
    touches
        .expr_as(Expr::cust(person), Alias::new("person"))
        .columns(
            ["user_id", "anonymous_id", "campaign_id", "affiliate_id", "channel"].map(|c| (i.clone(), Alias::new(c))),
        )
        .from_as(interactions::Entity, i.clone())
        .join_as(
            sea_orm::JoinType::LeftJoin,
            identity_links::Entity,
            l.clone(),
            Expr::col((l.clone(), identity_links::Column::AnonymousId))
                .equals((i.clone(), interactions::Column::AnonymousId)),
        )
        .and_where(Expr::col((i.clone(), interactions::Column::OccurredAt)).gte(start))
        .and_where(Expr::col((i.clone(), interactions::Column::OccurredAt)).lte(to))
        .and_where(
            Expr::col((i.clone(), interactions::Column::Kind)).is_in(
                [InteractionKind::Click, InteractionKind::Impression, InteractionKind::View].map(|k| k.to_value()),
            ),
        )
        .and_where(Expr::cust(format!("{person} IS NOT NULL")))
        .order_by((i.clone(), interactions::Column::OccurredAt), sea_orm::Order::Asc)
        .order_by((i.clone(), interactions::Column::Id), sea_orm::Order::Asc);
    type Row = (String, Option<String>, Option<String>, Option<Uuid>, Option<Uuid>, Option<String>);
    // In time order (the index's), each person's path grows in memory as numbers standing
    // for its states: sorting every touch by person in SQL cost ten times the read. A
    // person is kept as a 128-bit hash of its id and one list of steps, each the three
    // groupings' states (half a million people at 10 million touches: ~60 MB less than
    // their ids and a list per grouping).
    let mut people: HashMap<PersonKey, Vec<[u32; 3]>> = HashMap::new();
    let mut rows = db.stream(&touches).await?;
    while let Some(row) = rows.try_next().await? {
        let (person, user, anon, campaign, affiliate, channel): Row = (
            row.try_get("", "person")?,
            row.try_get("", "user_id")?,
            row.try_get("", "anonymous_id")?,
            row.try_get("", "campaign_id")?,
            row.try_get("", "affiliate_id")?,
            row.try_get("", "channel")?,
        );
        let person = person_key(&person);
        if converted.contains(&person)
            || user.as_deref().is_some_and(|u| converted.contains(&person_key(u)))
            || anon.as_deref().is_some_and(|a| converted.contains(&person_key(a)))
        {
            continue;
        }
        let channel = channel.as_deref().unwrap_or(DIRECT);
        let mut step = [0u32; 3];
        for ((group, state), states) in GROUPS.iter().zip(step.iter_mut()).zip(states.iter_mut()) {
            *state = states.state(&directory, *group, campaign, affiliate, channel);
        }
        let path = people.entry(person).or_default();
        // Repeats of one step make one step of the chain: keep the path short.
        if path.last() != Some(&step) {
            path.push(step);
        }
    }
    drop(rows);
    let mut names: Vec<&str> = Vec::new();
    for path in people.values() {
        for (g, (states, counts)) in states.iter().zip(counts.iter_mut()).enumerate() {
            names.clear();
            names.extend(path.iter().map(|step| states.name(step[g])));
            counts.add_path(&names, false);
        }
    }
    Ok(MarkovPaths { counts, fitted: Default::default(), directory, taken })
}

/// A person's id (a user id, or an anonymous one) as a 128-bit hash: two ids of the half
/// million people of a count share one with a chance of about 10⁻²⁷.
type PersonKey = u128;

fn person_key(id: &str) -> PersonKey {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        id.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// What a path needs of a touch stored in `journeys.touchpoints` (its other fields are
/// skipped).
#[derive(Deserialize)]
struct PathTouch<'a> {
    campaign_id: Option<Uuid>,
    affiliate_id: Option<Uuid>,
    #[serde(borrow)]
    channel: std::borrow::Cow<'a, str>,
}

/// The states of one grouping as small numbers: each touch's (campaign, affiliate, channel)
/// looked up once, its name kept once.
#[derive(Default)]
struct Interner {
    by_touch: HashMap<(Option<Uuid>, Option<Uuid>), HashMap<String, u32>>,
    by_name: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn state(
        &mut self,
        directory: &Directory,
        group: GroupBy,
        campaign: Option<Uuid>,
        affiliate: Option<Uuid>,
        channel: &str,
    ) -> u32 {
        if let Some(state) = self.by_touch.get(&(campaign, affiliate)).and_then(|c| c.get(channel)) {
            return *state;
        }
        let name = directory.key(group, campaign, affiliate, channel).0;
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let state = *self.by_name.entry(name.clone()).or_insert(next);
        if state == next {
            self.names.push(name);
        }
        self.by_touch.entry((campaign, affiliate)).or_default().insert(channel.to_string(), state);
        state
    }

    fn name(&self, state: u32) -> &str {
        self.names.get(state as usize).map_or("", String::as_str)
    }
}

/// The groupings of a report, in the order of [`MarkovPaths::counts`].
const GROUPS: [GroupBy; 3] = [GroupBy::Campaign, GroupBy::Affiliate, GroupBy::Channel];

/// Path counts of one period under every grouping, with the names of their keys.
pub(super) struct MarkovPaths {
    counts: [MarkovCounts; 3],
    /// Each grouping's chain, solved when first asked for.
    fitted: [OnceLock<Arc<MarkovModel>>; 3],
    directory: Directory,
    /// When the count began: a journey made after it is not in it.
    pub(super) taken: DateTime<Utc>,
}

/// The most states a Markov chain is solved for: its solution takes `m³` steps and `m²`
/// numbers (2 000 states: 8·10⁹ steps, 32 MB). A grouping with more (tens of thousands of
/// affiliates) is refused rather than let take the machine.
pub(super) const MAX_MARKOV_STATES: usize = 2_500;

/// `counts` solved, off the runtime's threads (thousands of states take seconds).
pub(super) async fn fit(
    counts: impl std::ops::Deref<Target = MarkovCounts> + Send + 'static,
) -> AppResult<MarkovModel> {
    if counts.states() > MAX_MARKOV_STATES {
        return Err(AppError::validation(
            "groupBy",
            format!(
                "the Markov model of this grouping has {} states, more than the {MAX_MARKOV_STATES} it is solved for; \
                 group by campaign or channel, or ask a heuristic model",
                counts.states()
            ),
        ));
    }
    tokio::task::spawn_blocking(move || counts.fit())
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("solving the Markov chain: {e}")))
}

impl MarkovPaths {
    fn index(group: GroupBy) -> usize {
        GROUPS.iter().position(|g| *g == group).unwrap_or(0)
    }

    pub(super) fn counts(&self, group: GroupBy) -> &MarkovCounts {
        &self.counts[Self::index(group)]
    }

    /// The chain of `group`, solved once for these counts.
    pub(super) async fn model(self: &Arc<Self>, group: GroupBy) -> AppResult<Arc<MarkovModel>> {
        let index = Self::index(group);
        if let Some(model) = self.fitted[index].get() {
            return Ok(model.clone());
        }
        /// One grouping's counts of shared paths.
        struct Of(Arc<MarkovPaths>, usize);
        impl std::ops::Deref for Of {
            type Target = MarkovCounts;
            fn deref(&self) -> &MarkovCounts {
                &self.0.counts[self.1]
            }
        }
        let model = Arc::new(fit(Of(self.clone(), index)).await?);
        Ok(self.fitted[index].get_or_init(|| model).clone())
    }
}

/// One heuristic model's total for one campaign × affiliate × channel × currency.
struct Total {
    model: StoredModel,
    campaign_id: Option<Uuid>,
    affiliate_id: Option<Uuid>,
    channel: String,
    currency: String,
    conversions: Decimal,
    value: Decimal,
}

/// The parts of `[from, to]` (both included): the whole UTC days inside it, read from
/// `attribution_daily`, and the stretches before and after them (at most a day each),
/// read from the shares of their conversions.
struct Split {
    days: Option<(NaiveDate, NaiveDate)>,
    /// Half-open `[start, end)` stretches, or `[start, end]` when the flag says so.
    edges: Vec<(DateTime<Utc>, DateTime<Utc>, bool)>,
}

fn split(from: DateTime<Utc>, to: DateTime<Utc>) -> Split {
    let midnight = |day: NaiveDate| DateTime::<Utc>::from_naive_utc_and_offset(day.and_time(Default::default()), Utc);
    let first =
        if midnight(from.date_naive()) == from { from.date_naive() } else { from.date_naive() + Duration::days(1) };
    // The last day whose every instant is at most `to`.
    let last = (to + Duration::microseconds(1)).date_naive() - Duration::days(1);
    if first > last {
        return Split { days: None, edges: vec![(from, to, true)] };
    }
    let mut edges = Vec::new();
    if from < midnight(first) {
        edges.push((from, midnight(first), false));
    }
    edges.push((midnight(last + Duration::days(1)), to, true));
    Split { days: Some((first, last)), edges }
}

/// `SUM` of a non-negative integer column of weight units, exactly on both backends even
/// past 64 bits: its millions and its remainders summed apart.
fn wide_sum(column: &str) -> [String; 2] {
    [
        format!("CAST(COALESCE(SUM({column} / 1000000), 0) AS BIGINT)"),
        format!("CAST(COALESCE(SUM({column} % 1000000), 0) AS BIGINT)"),
    ]
}

/// The heuristic models' totals over `[from, to]`: `models` only (their stored names), per
/// key of `group` and currency (the whole days from the rollup of that grouping, the
/// partial ones per campaign × affiliate × channel), or per currency only.
async fn heuristic_totals(
    db: &DatabaseConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    models: &[StoredModel],
    group: Option<GroupBy>,
) -> AppResult<Vec<Total>> {
    let keyed = group.is_some();
    use sea_orm::{
        sea_query::{Alias, ExprTrait, Query},
        ActiveEnum, QueryResult,
    };
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<sea_orm::Value> = models.iter().map(|m| m.to_value().into()).collect();
    let [weight_hi, weight_lo] = wide_sum("w");
    let keys = ["model", "campaign_id", "affiliate_id", "channel", "currency"];
    let read = |row: &QueryResult| -> AppResult<Total> {
        let model: String = row.try_get("", "model")?;
        let hi: i64 = row.try_get("", "weight_hi")?;
        let lo: i64 = row.try_get("", "weight_lo")?;
        let campaign: Option<Uuid> = row.try_get("", "campaign_id")?;
        let affiliate: Option<Uuid> = row.try_get("", "affiliate_id")?;
        Ok(Total {
            model: StoredModel::try_from_value(&model)
                .map_err(|e| AppError::internal(anyhow::anyhow!("attribution rollup model {model:?}: {e}")))?,
            campaign_id: campaign.filter(|id| !id.is_nil()),
            affiliate_id: affiliate.filter(|id| !id.is_nil()),
            channel: row.try_get::<Option<String>>("", "channel")?.unwrap_or_default(),
            currency: row.try_get("", "currency")?,
            conversions: Decimal::from_i128_with_scale(i128::from(hi) * 1_000_000 + i128::from(lo), WEIGHT_UNITS_SCALE),
            value: Decimal::new(row.try_get("", "value")?, AMOUNT_UNITS_SCALE),
        })
    };
    let parts = split(from, to);
    let mut totals = Vec::new();
    if let Some((first, last)) = parts.days {
        // The rollup of the grouping, with the keys it has (the channel stands for a
        // missing campaign or affiliate).
        let (table, has): (&str, &[&str]) = match group {
            Some(GroupBy::Campaign) => ("attribution_by_campaign", &["campaign_id", "channel"]),
            Some(GroupBy::Affiliate) => ("attribution_by_affiliate", &["affiliate_id", "channel"]),
            Some(GroupBy::Channel) => ("attribution_by_channel", &["channel"]),
            None => ("attribution_by_channel", &[]),
        };
        let mut query = Query::select();
        crate::service::rollup::from_rollup(&mut query, db.get_database_backend(), table);
        for key in keys {
            if has.contains(&key) || matches!(key, "model" | "currency") {
                query.column(Alias::new(key)).group_by_col(Alias::new(key));
            } else {
                query.expr_as(Expr::cust("NULL"), Alias::new(key));
            }
        }
        query
            .expr_as(Expr::cust(weight_hi.replace("w", "conversions")), Alias::new("weight_hi"))
            .expr_as(Expr::cust(weight_lo.replace("w", "conversions")), Alias::new("weight_lo"))
            .expr_as(Expr::cust("CAST(COALESCE(SUM(value), 0) AS BIGINT)"), Alias::new("value"))
            .and_where(Expr::col(Alias::new("day")).gte(first.format("%Y-%m-%d").to_string()))
            .and_where(Expr::col(Alias::new("day")).lte(last.format("%Y-%m-%d").to_string()))
            .and_where(Expr::col(Alias::new("model")).is_in(names.clone()));
        for row in db.query_all(&query).await? {
            totals.push(read(&row)?);
        }
    }
    for (start, end, inclusive) in parts.edges {
        let (sh, c) = (Alias::new("sh"), Alias::new("c"));
        let mut query = Query::select();
        query
            .from_as(Alias::new("attribution_shares"), sh.clone())
            .join_as(
                sea_orm::JoinType::InnerJoin,
                Alias::new("conversions"),
                c.clone(),
                Expr::col((c.clone(), Alias::new("id"))).equals((sh.clone(), Alias::new("conversion_id"))),
            )
            .column((sh.clone(), Alias::new("model")))
            .column((c.clone(), Alias::new("currency")))
            .group_by_col((sh.clone(), Alias::new("model")))
            .group_by_col((c.clone(), Alias::new("currency")));
        for key in ["campaign_id", "affiliate_id", "channel"] {
            if keyed {
                query.column((sh.clone(), Alias::new(key))).group_by_col((sh.clone(), Alias::new(key)));
            } else {
                query.expr_as(Expr::cust("NULL"), Alias::new(key));
            }
        }
        query
            .expr_as(Expr::cust(weight_hi.replace("w", "sh.weight")), Alias::new("weight_hi"))
            .expr_as(Expr::cust(weight_lo.replace("w", "sh.weight")), Alias::new("weight_lo"))
            .expr_as(Expr::cust("CAST(COALESCE(SUM(sh.amount), 0) AS BIGINT)"), Alias::new("value"))
            .and_where(Expr::col((c.clone(), Alias::new("status"))).eq(ConversionStatus::Attributed.to_value()))
            .and_where(Expr::col((c.clone(), Alias::new("occurred_at"))).gte(start))
            .and_where(Expr::col((sh.clone(), Alias::new("model"))).is_in(names.clone()));
        query.and_where(if inclusive {
            Expr::col((c.clone(), Alias::new("occurred_at"))).lte(end)
        } else {
            Expr::col((c.clone(), Alias::new("occurred_at"))).lt(end)
        });
        for row in db.query_all(&query).await? {
            totals.push(read(&row)?);
        }
    }
    Ok(totals)
}

/// `attributionReport`: what each model (or the one asked for) credits to each campaign,
/// affiliate or channel for the conversions attributed in `[from, to]`, per currency.
///
/// The heuristic models come from the attribution rollup (whole days) and the shares of
/// the conversions of the partial days at either end, so the cost grows with the days and
/// keys shown, not with the conversions.
pub async fn report(
    ctx: &Ctx,
    markov: &Arc<Markov>,
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
    let models: Vec<StoredModel> = match only {
        Some(m) => vec![m],
        None => ALL_MODELS.to_vec(),
    };
    // The attributed conversions of each currency and their value (the report's count, and
    // what Markov splits) are last click's totals: one conversion, its whole value. Without
    // last click among the models asked for, they are read per currency only.
    let wanted: Vec<StoredModel> = models.iter().copied().filter(|m| *m != StoredModel::Markov).collect();
    let mut heuristic = heuristic_totals(db, from, to, &wanted, Some(group)).await?;
    if !wanted.contains(&StoredModel::LastClick) {
        heuristic.extend(heuristic_totals(db, from, to, &[StoredModel::LastClick], None).await?);
    }
    let campaigns: HashSet<Uuid> = heuristic.iter().filter_map(|t| t.campaign_id).collect();
    let affiliates: HashSet<Uuid> = heuristic.iter().filter_map(|t| t.affiliate_id).collect();
    let directory = Directory::of(db, group, campaigns, affiliates).await?;
    let markov_paths =
        if models.contains(&StoredModel::Markov) { Some(markov.paths(ctx, from, to).await?) } else { None };
    let fitted = match &markov_paths {
        Some(paths) => Some(paths.model(group).await?),
        None => None,
    };
    // (model, key, currency) → (name, conversions, value)
    let mut totals: BTreeMap<(usize, String, String), (String, Decimal, Decimal)> = BTreeMap::new();
    let mut per_currency: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    for total in heuristic {
        if total.model == StoredModel::LastClick {
            let entry = per_currency.entry(total.currency.clone()).or_default();
            entry.0 += rust_decimal::prelude::ToPrimitive::to_u64(&total.conversions.round()).unwrap_or(0);
            entry.1 += total.value;
        }
        let Some(index) = models.iter().position(|m| *m == total.model) else { continue };
        let (key, name) = directory.key(group, total.campaign_id, total.affiliate_id, &total.channel);
        let line = totals.entry((index, key, total.currency)).or_insert((name, Decimal::ZERO, Decimal::ZERO));
        line.1 += total.conversions;
        line.2 += total.value;
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
        let every = markov_paths.as_ref().map(|paths| &paths.directory).unwrap_or(&directory);
        let names: HashMap<String, String> = every
            .campaigns
            .values()
            .chain(every.affiliates.values())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_chain_past_the_most_states_is_refused_and_one_within_is_solved() {
        let mut counts = MarkovCounts::new();
        for state in 0..MAX_MARKOV_STATES {
            counts.add_path(&[format!("s{state}")], state % 2 == 0);
        }
        let solved = fit(Box::new(counts.clone())).await.map(|model| model.journeys());
        assert!(matches!(solved, Ok(n) if n == MAX_MARKOV_STATES as u64), "{solved:?}");
        counts.add_path(&["one more"], true);
        match fit(Box::new(counts)).await {
            Err(AppError::Validation { field, message }) => {
                assert_eq!(field.as_deref(), Some("groupBy"));
                assert!(message.contains("2501 states"), "{message}");
            }
            other => panic!("expected VALIDATION on groupBy, got {:?}", other.map(|m| m.journeys())),
        }
    }
}
