//! Attribution: which touchpoints of a journey get the credit for a conversion, and how
//! much of its value each one gets.
//!
//! - Heuristic models ([`AttributionModel`], [`weights`]): last click, first click, linear,
//!   time decay, position based. One weight per touchpoint, summing to exactly 1.
//! - Money ([`split_amount`]): a total split by weights in the currency's minor unit,
//!   largest remainder first, so that the parts add up to the total exactly.
//! - Data-driven ([`MarkovModel`]): a first-order Markov chain over all journeys, solved
//!   exactly as an absorbing chain; a channel's credit is its removal effect.
//!
//! Pure functions: no I/O, no clock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use uuid::Uuid;

/// Digits after the point of a weight (`attribution_credits.weight` is `DECIMAL(20, 12)`).
pub const WEIGHT_SCALE: u32 = 12;
/// Digits after the point of fractional conversion counts in the Markov report.
pub const CONVERSION_SCALE: u32 = 4;
/// Half-life of the time-decay model when the campaign does not set one.
pub const DEFAULT_HALF_LIFE_DAYS: f64 = 7.0;
/// The channel of a visit without a referrer or campaign; never preferred by the click models.
pub const DIRECT: &str = "direct";

/// One touch of a journey, as the attribution models see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touchpoint {
    /// The interaction it comes from.
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// `paid_search`, `social`, `affiliate`, `direct`, …
    pub channel: String,
    pub campaign: Option<String>,
    pub affiliate: Option<String>,
    /// A click (as opposed to an impression or a view).
    pub is_click: bool,
}

impl Touchpoint {
    /// The `direct` channel (case-insensitive).
    pub fn is_direct(&self) -> bool {
        self.channel.eq_ignore_ascii_case(DIRECT)
    }

    /// What the click models look for first: a click that is not direct.
    fn is_credited_click(&self) -> bool {
        self.is_click && !self.is_direct()
    }
}

/// The heuristic (rule-based) models. The data-driven one is [`MarkovModel`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttributionModel {
    /// The last non-direct click gets everything; without one, the last touch.
    LastClick,
    /// The first non-direct click gets everything; without one, the first touch.
    FirstClick,
    /// Equal shares.
    Linear,
    /// Weight ∝ 2^(−Δt / half-life), Δt = conversion time − touch time.
    TimeDecay { half_life_days: f64 },
    /// 40 % first, 40 % last, 20 % shared by the middle ones; 50/50 with two; 100 with one.
    PositionBased,
}

impl AttributionModel {
    /// Time decay with the default half-life of 7 days.
    pub const TIME_DECAY_DEFAULT: Self = Self::TimeDecay { half_life_days: DEFAULT_HALF_LIFE_DAYS };

    /// The stored name: `LAST_CLICK`, `FIRST_CLICK`, `LINEAR`, `TIME_DECAY`, `POSITION_BASED`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::LastClick => "LAST_CLICK",
            Self::FirstClick => "FIRST_CLICK",
            Self::Linear => "LINEAR",
            Self::TimeDecay { .. } => "TIME_DECAY",
            Self::PositionBased => "POSITION_BASED",
        }
    }

    /// The model of a stored name (case-insensitive); time decay gets the default half-life.
    /// `None` for unknown names and for `MARKOV`, which is not a heuristic model.
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_uppercase().as_str() {
            "LAST_CLICK" => Some(Self::LastClick),
            "FIRST_CLICK" => Some(Self::FirstClick),
            "LINEAR" => Some(Self::Linear),
            "TIME_DECAY" => Some(Self::TIME_DECAY_DEFAULT),
            "POSITION_BASED" => Some(Self::PositionBased),
            _ => None,
        }
    }
}

/// Indices of `touchpoints` in time order; touches at the same instant keep their input order.
fn time_order(touchpoints: &[Touchpoint]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..touchpoints.len()).collect();
    order.sort_by_key(|&i| touchpoints[i].at); // stable
    order
}

/// The touches in `[conversion_at − lookback_days, conversion_at]` (both ends included),
/// sorted by time; touches at the same instant keep their input order.
pub fn within_window(touchpoints: &[Touchpoint], conversion_at: DateTime<Utc>, lookback_days: u32) -> Vec<Touchpoint> {
    let start = conversion_at - Duration::days(i64::from(lookback_days));
    let mut kept: Vec<Touchpoint> =
        touchpoints.iter().filter(|t| t.at >= start && t.at <= conversion_at).cloned().collect();
    kept.sort_by_key(|t| t.at); // stable
    kept
}

/// One weight per touchpoint: `result[i]` belongs to `touchpoints[i]`. The models read the
/// touches in time order (ties keep input order), whatever order they are given in. The
/// weights have [`WEIGHT_SCALE`] digits and sum to exactly 1; no touches, no weights.
pub fn weights(model: &AttributionModel, touchpoints: &[Touchpoint], conversion_at: DateTime<Utc>) -> Vec<Decimal> {
    let n = touchpoints.len();
    if n == 0 {
        return Vec::new();
    }
    let order = time_order(touchpoints);
    let in_time = |k: usize| &touchpoints[order[k]];
    // Raw weights by position in time order.
    let mut raw = vec![Decimal::ZERO; n];
    match model {
        AttributionModel::LastClick => {
            let pick = (0..n).rev().find(|&k| in_time(k).is_credited_click()).unwrap_or(n - 1);
            raw[pick] = Decimal::ONE;
        }
        AttributionModel::FirstClick => {
            let pick = (0..n).find(|&k| in_time(k).is_credited_click()).unwrap_or(0);
            raw[pick] = Decimal::ONE;
        }
        AttributionModel::Linear => raw.fill(Decimal::ONE),
        AttributionModel::TimeDecay { half_life_days } => {
            let half_life = if half_life_days.is_finite() && *half_life_days > 0.0 {
                *half_life_days
            } else {
                DEFAULT_HALF_LIFE_DAYS
            };
            // Δt in days, touches after the conversion count as at it.
            let ages: Vec<f64> = (0..n)
                .map(|k| ((conversion_at - in_time(k).at).num_milliseconds().max(0) as f64) / 86_400_000.0)
                .collect();
            // Relative to the most recent touch, so the largest weight is 1 and nothing underflows to 0 all at once.
            let youngest = ages.iter().copied().fold(f64::INFINITY, f64::min);
            for (k, age) in ages.iter().enumerate() {
                let w = (-(age - youngest) / half_life).exp2();
                raw[k] = Decimal::from_f64(w).unwrap_or(Decimal::ZERO);
            }
        }
        AttributionModel::PositionBased => match n {
            1 => raw[0] = Decimal::ONE,
            2 => raw.fill(Decimal::ONE),
            _ => {
                let middle = Decimal::new(2, 1) / Decimal::from(n - 2);
                raw.fill(middle);
                raw[0] = Decimal::new(4, 1);
                raw[n - 1] = Decimal::new(4, 1);
            }
        },
    }
    let shares = split_amount(Decimal::ONE, WEIGHT_SCALE, &raw);
    let mut out = vec![Decimal::ZERO; n];
    for (k, share) in shares.into_iter().enumerate() {
        out[order[k]] = share;
    }
    out
}

/// Splits `total` by `weights` into amounts with `minor_units` digits after the point whose
/// sum is `total` exactly: each part gets the floor of its exact share, and the units left
/// over go one by one to the largest remainders (equal remainders: the earlier index first).
///
/// Negative weights count as 0; when no weight is positive the split is equal. A negative
/// total gives negative parts. `total` should already be in the minor unit; if it carries
/// more digits, the parts carry them too (the sum stays exact). No weights, no parts.
pub fn split_amount(total: Decimal, minor_units: u32, weights: &[Decimal]) -> Vec<Decimal> {
    let n = weights.len();
    if n == 0 {
        return Vec::new();
    }
    let scale = minor_units.max(total.normalize().scale()).min(Decimal::MAX_SCALE);
    let mut magnitude = total.abs();
    magnitude.rescale(scale);
    let units = magnitude.mantissa(); // total in units of 10^-scale, exact

    let mut clean: Vec<Decimal> =
        weights.iter().map(|w| if w.is_sign_positive() { *w } else { Decimal::ZERO }).collect();
    let mut sum = clean.iter().try_fold(Decimal::ZERO, |acc, w| acc.checked_add(*w));
    if sum.is_none_or(|s| s.is_zero()) {
        clean.fill(Decimal::ONE);
        sum = Some(Decimal::from(n));
    }
    let sum = sum.unwrap_or(Decimal::ONE);
    let units_dec = Decimal::from_i128_with_scale(units, 0);

    let mut floors = Vec::with_capacity(n);
    let mut remainders = Vec::with_capacity(n);
    for w in &clean {
        let exact = w.checked_div(sum).and_then(|share| units_dec.checked_mul(share)).unwrap_or(Decimal::ZERO);
        let floor = exact.floor();
        floors.push(floor.to_i128().unwrap_or(0));
        remainders.push(exact - floor);
    }
    // Whatever rounding did to the exact shares, the integer fix-up keeps the sum exact.
    let leftover = units - floors.iter().sum::<i128>();
    let mut by_remainder: Vec<usize> = (0..n).collect();
    by_remainder.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    let count = n as i128;
    let (each, extra) = (leftover.div_euclid(count), leftover.rem_euclid(count));
    for (rank, &i) in by_remainder.iter().enumerate() {
        floors[i] += each + i128::from((rank as i128) < extra);
    }
    let negative = total.is_sign_negative() && !total.is_zero();
    floors
        .into_iter()
        .map(|u| {
            let part = Decimal::try_from_i128_with_scale(u, scale).unwrap_or(Decimal::ZERO);
            if negative && !part.is_zero() {
                -part
            } else {
                part
            }
        })
        .collect()
}

/// Turns non-negative f64 weights into exact [`WEIGHT_SCALE`] shares summing to 1.
fn shares_from_f64(raw: &[f64]) -> Vec<Decimal> {
    let decimals: Vec<Decimal> = raw
        .iter()
        .map(|w| if w.is_finite() && *w > 0.0 { Decimal::from_f64(*w).unwrap_or(Decimal::ZERO) } else { Decimal::ZERO })
        .collect();
    split_amount(Decimal::ONE, WEIGHT_SCALE, &decimals)
}

// ---------------------------------------------------------------------------------------
// Markov
// ---------------------------------------------------------------------------------------

/// FxHash (rustc's hasher): channel names are short and trusted-enough, and SipHash would
/// be most of the fit's time on a million journeys.
#[derive(Default)]
struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// Columns of a transition row: the two absorbing states, then the channels.
const TO_CONVERSION: usize = 0;
const TO_NULL: usize = 1;
const TO_CHANNEL: usize = 2;

/// Transition counts of the first-order chain, accumulated journey by journey (or from
/// pre-aggregated path counts, e.g. a SQL `GROUP BY path`). Consecutive repeats of a channel
/// are one state (A > A > B is A > B). Journeys without touches carry no channel and are skipped.
#[derive(Debug, Default, Clone)]
pub struct MarkovCounts {
    index: HashMap<String, usize, FxBuild>,
    names: Vec<String>,
    /// Row 0 is START, row 1 + c is channel c; columns as `TO_*`.
    rows: Vec<Vec<u64>>,
    journeys: u64,
    conversions: u64,
}

impl MarkovCounts {
    pub fn new() -> Self {
        Self { rows: vec![Vec::new()], ..Self::default() }
    }

    fn channel(&mut self, name: &str) -> usize {
        if let Some(&c) = self.index.get(name) {
            return c;
        }
        let c = self.names.len();
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), c);
        self.rows.push(Vec::new());
        c
    }

    #[inline]
    fn bump(&mut self, row: usize, column: usize, by: u64) {
        let cells = &mut self.rows[row];
        if cells.len() <= column {
            cells.resize(column + 1, 0);
        }
        cells[column] += by;
    }

    /// One journey: its channels in time order, and whether it converted.
    pub fn add_path<S: AsRef<str>>(&mut self, path: &[S], converted: bool) {
        self.add_path_counts(path, u64::from(converted), u64::from(!converted));
    }

    /// `conversions + non_conversions` journeys that all followed `path`.
    pub fn add_path_counts<S: AsRef<str>>(&mut self, path: &[S], conversions: u64, non_conversions: u64) {
        let journeys = conversions + non_conversions;
        if path.is_empty() || journeys == 0 {
            return;
        }
        if self.rows.is_empty() {
            self.rows.push(Vec::new());
        }
        let mut row = 0;
        let mut previous: Option<&str> = None;
        for name in path {
            let name = name.as_ref();
            if previous == Some(name) {
                continue;
            }
            previous = Some(name);
            let c = self.channel(name);
            self.bump(row, TO_CHANNEL + c, journeys);
            row = 1 + c;
        }
        if conversions > 0 {
            self.bump(row, TO_CONVERSION, conversions);
        }
        if non_conversions > 0 {
            self.bump(row, TO_NULL, non_conversions);
        }
        self.journeys += journeys;
        self.conversions += conversions;
    }

    /// How many states the chain has (its channels, or campaigns, affiliates: what a path
    /// is made of).
    pub fn states(&self) -> usize {
        self.names.len()
    }

    /// Solves the chain and every channel's removal.
    ///
    /// With `A = I − Q` over START and the channels and `b` each state's probability of
    /// converting next, `x = A⁻¹ b` are the probabilities of converting from each state
    /// (`x[0]`: from START). `N = A⁻¹` is the chain's fundamental matrix: `N[s][t]` the
    /// visits to `t` expected from `s`, so `N[0][c] / N[c][c]` is the probability that a
    /// journey ever reaches `c`. Removing `c` (every transition into it ends in NULL) loses
    /// exactly the conversions of the journeys that reach it: `x[0]` less that probability
    /// times `x[c]`, the same as solving the chain again without `c` (rank-one update of
    /// `A`). One inverse, `m³` steps for `m` states, instead of a solve per channel (`m⁴/3`:
    /// two thousand affiliates took most of an hour).
    pub fn fit(&self) -> MarkovModel {
        let n = self.names.len();
        let m = n + 1; // unknowns: START, then the channels
        let mut a = vec![0.0f64; m * m];
        let mut b = vec![0.0f64; m];
        for s in 0..m {
            a[s * m + s] = 1.0;
            let Some(cells) = self.rows.get(s) else { continue };
            let total: u64 = cells.iter().sum();
            if total == 0 {
                continue; // no way out recorded: p = 0
            }
            let total = total as f64;
            for (column, &count) in cells.iter().enumerate() {
                if count == 0 {
                    continue;
                }
                let p = count as f64 / total;
                match column {
                    TO_CONVERSION => b[s] = p,
                    TO_NULL => {}
                    _ => a[s * m + 1 + (column - TO_CHANNEL)] -= p,
                }
            }
        }
        let inverse = invert(a, m);
        let x: Vec<f64> =
            (0..m).map(|s| inverse[s * m..(s + 1) * m].iter().zip(&b).map(|(n, p)| n * p).sum()).collect();
        let base = x[0];
        let mut removal_effects = vec![0.0; n];
        if base > 0.0 {
            for (c, effect) in removal_effects.iter_mut().enumerate() {
                let s = 1 + c;
                let visits = inverse[s * m + s];
                if visits > 0.0 {
                    let reached = inverse[s] / visits;
                    *effect = (reached * x[s] / base).clamp(0.0, 1.0);
                }
            }
        }
        let mut channels: Vec<(String, f64)> = self.names.iter().cloned().zip(removal_effects).collect();
        channels.sort_by(|x, y| x.0.cmp(&y.0));
        let index = channels.iter().enumerate().map(|(i, (name, _))| (name.clone(), i)).collect();
        MarkovModel {
            channels,
            index,
            conversion_probability: base,
            journeys: self.journeys,
            conversions: self.conversions,
        }
    }
}

/// The inverse of `a` (`m × m`, row-major) by Gauss–Jordan elimination in place.
///
/// `a = I − Q` of an absorbing chain is a nonsingular M-matrix (every state recorded leads
/// to CONVERSION or NULL): its pivots are positive without row exchanges, and elimination
/// without them is stable. A pivot of zero (no such chain) leaves its row and column as
/// they are. Rows with nothing to eliminate are skipped: sparse chains cost less.
fn invert(mut a: Vec<f64>, m: usize) -> Vec<f64> {
    let mut pivot_row = vec![0.0f64; m];
    for k in 0..m {
        let pivot = a[k * m + k];
        if pivot.abs() < 1e-300 {
            continue;
        }
        a[k * m + k] = 1.0;
        for value in &mut a[k * m..(k + 1) * m] {
            *value /= pivot;
        }
        pivot_row.copy_from_slice(&a[k * m..(k + 1) * m]);
        for (i, row) in a.chunks_exact_mut(m).enumerate() {
            let factor = row[k];
            if i == k || factor == 0.0 {
                continue;
            }
            row[k] = 0.0;
            for (value, p) in row.iter_mut().zip(&pivot_row) {
                *value -= factor * p;
            }
        }
    }
    a
}

/// A fitted Markov attribution model: each channel's removal effect, i.e. the share of the
/// conversion probability lost when the channel is taken out of every journey.
#[derive(Debug, Clone)]
pub struct MarkovModel {
    /// Sorted by name.
    channels: Vec<(String, f64)>,
    index: HashMap<String, usize>,
    conversion_probability: f64,
    journeys: u64,
    conversions: u64,
}

/// One channel's line of the Markov report.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelAllocation {
    pub channel: String,
    pub removal_effect: f64,
    /// Normalised removal effect ([`WEIGHT_SCALE`] digits; the shares sum to 1).
    pub share: Decimal,
    /// Conversions credited ([`CONVERSION_SCALE`] digits; they sum to the conversions).
    pub conversions: Decimal,
    /// Value credited (in the minor unit; it sums to the total value).
    pub value: Decimal,
}

impl MarkovModel {
    /// Fits the model to journeys: channels in time order, and whether each converted.
    pub fn fit<P, S>(paths: &[(P, bool)]) -> Self
    where
        P: AsRef<[S]>,
        S: AsRef<str>,
    {
        let mut counts = MarkovCounts::new();
        for (path, converted) in paths {
            counts.add_path(path.as_ref(), *converted);
        }
        counts.fit()
    }

    /// P(conversion) from START, solved exactly.
    pub fn conversion_probability(&self) -> f64 {
        self.conversion_probability
    }

    /// Journeys with at least one touch that went into the fit.
    pub fn journeys(&self) -> u64 {
        self.journeys
    }

    /// Converted journeys among them.
    pub fn conversions(&self) -> u64 {
        self.conversions
    }

    /// The channels seen, sorted by name, with their removal effects.
    pub fn channels(&self) -> impl Iterator<Item = (&str, f64)> {
        self.channels.iter().map(|(name, effect)| (name.as_str(), *effect))
    }

    /// A channel's removal effect, `None` when it was never seen.
    pub fn removal_effect(&self, channel: &str) -> Option<f64> {
        self.index.get(channel).map(|&i| self.channels[i].1)
    }

    pub fn removal_effects(&self) -> HashMap<String, f64> {
        self.channels.iter().cloned().collect()
    }

    /// Shares among the distinct channels of one conversion's path (order of first
    /// appearance), proportional to their removal effects, summing to exactly 1. When none
    /// of them has an effect (unknown channels, no conversions in the fit), equal shares.
    pub fn path_shares<S: AsRef<str>>(&self, path: &[S]) -> Vec<(String, Decimal)> {
        let mut distinct: Vec<&str> = Vec::new();
        for name in path {
            if !distinct.contains(&name.as_ref()) {
                distinct.push(name.as_ref());
            }
        }
        let raw: Vec<f64> = distinct.iter().map(|name| self.removal_effect(name).unwrap_or(0.0)).collect();
        distinct.into_iter().map(str::to_owned).zip(shares_from_f64(&raw)).collect()
    }

    /// One weight per touchpoint (`result[i]` for `touchpoints[i]`), summing to exactly 1:
    /// each channel's share of [`Self::path_shares`] split evenly among its touches.
    pub fn touchpoint_weights(&self, touchpoints: &[Touchpoint]) -> Vec<Decimal> {
        let mut per_channel: HashMap<&str, usize> = HashMap::new();
        for t in touchpoints {
            *per_channel.entry(t.channel.as_str()).or_default() += 1;
        }
        let raw: Vec<f64> = touchpoints
            .iter()
            .map(|t| {
                let touches = per_channel.get(t.channel.as_str()).copied().unwrap_or(1) as f64;
                self.removal_effect(&t.channel).unwrap_or(0.0) / touches
            })
            .collect();
        shares_from_f64(&raw)
    }

    /// The report: each channel's normalised removal effect times the conversions and the
    /// total value of the fit's journeys (`total_value` in the minor unit `minor_units`).
    /// Shares, conversions and values each sum exactly to 1, the conversions and `total_value`.
    pub fn allocate(&self, total_value: Decimal, minor_units: u32) -> Vec<ChannelAllocation> {
        let raw: Vec<f64> = self.channels.iter().map(|(_, effect)| *effect).collect();
        let decimals: Vec<Decimal> = raw.iter().map(|w| Decimal::from_f64(*w).unwrap_or(Decimal::ZERO)).collect();
        let shares = split_amount(Decimal::ONE, WEIGHT_SCALE, &decimals);
        let mut conversions = Decimal::from(self.conversions);
        conversions.rescale(CONVERSION_SCALE);
        let credited = split_amount(conversions, CONVERSION_SCALE, &decimals);
        let values = split_amount(total_value, minor_units, &decimals);
        self.channels
            .iter()
            .zip(shares)
            .zip(credited)
            .zip(values)
            .map(|((((channel, effect), share), conversions), value)| ChannelAllocation {
                channel: channel.clone(),
                removal_effect: *effect,
                share,
                conversions,
                value,
            })
            .collect()
    }
}

/// Removal effect of every channel over `paths` (channels in time order, converted or not).
pub fn markov_removal_effects(paths: &[(Vec<String>, bool)]) -> HashMap<String, f64> {
    MarkovModel::fit(paths).removal_effects()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap_or_default() + Duration::days(day)
    }

    /// A touch `day` days after 2025-01-01: "channel" (click) or "channel~" (impression).
    fn touch(day: i64, spec: &str) -> Touchpoint {
        let (channel, is_click) = match spec.strip_suffix('~') {
            Some(channel) => (channel, false),
            None => (spec, true),
        };
        Touchpoint {
            id: Uuid::new_v4(),
            at: at(day),
            channel: channel.to_owned(),
            campaign: None,
            affiliate: None,
            is_click,
        }
    }

    fn journey(specs: &[(i64, &str)]) -> Vec<Touchpoint> {
        specs.iter().map(|(day, spec)| touch(*day, spec)).collect()
    }

    fn d(text: &str) -> Decimal {
        text.parse().unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    fn ds(texts: &[&str]) -> Vec<Decimal> {
        texts.iter().map(|t| d(t)).collect()
    }

    fn assert_sums_to_one(weights: &[Decimal]) {
        if !weights.is_empty() {
            assert_eq!(weights.iter().sum::<Decimal>(), Decimal::ONE, "{weights:?}");
        }
    }

    /// Name, model, touches (day, channel spec), expected weights.
    type ModelCase = (&'static str, AttributionModel, Vec<(i64, &'static str)>, Vec<&'static str>);
    /// Name, total, minor units, weights, expected parts.
    type SplitCase = (&'static str, Decimal, u32, Vec<&'static str>, Vec<&'static str>);

    const ALL_MODELS: [AttributionModel; 5] = [
        AttributionModel::LastClick,
        AttributionModel::FirstClick,
        AttributionModel::Linear,
        AttributionModel::TIME_DECAY_DEFAULT,
        AttributionModel::PositionBased,
    ];

    #[test]
    fn heuristic_models_table() {
        use AttributionModel::*;
        let conversion = at(10);
        let cases: Vec<ModelCase> = vec![
            (
                "last click: the last non-direct click",
                LastClick,
                vec![(1, "social"), (2, "paid_search"), (3, "direct")],
                vec!["0", "1", "0"],
            ),
            ("last click: impressions are skipped", LastClick, vec![(1, "social"), (2, "affiliate~")], vec!["1", "0"]),
            ("last click: all direct, the last touch", LastClick, vec![(1, "direct"), (2, "direct")], vec!["0", "1"]),
            (
                "last click: no click at all, the last touch",
                LastClick,
                vec![(1, "social~"), (2, "affiliate~")],
                vec!["0", "1"],
            ),
            (
                "first click: the first non-direct click",
                FirstClick,
                vec![(1, "direct"), (2, "social~"), (3, "affiliate"), (4, "social")],
                vec!["0", "0", "1", "0"],
            ),
            (
                "first click: all direct, the first touch",
                FirstClick,
                vec![(1, "direct"), (2, "direct")],
                vec!["1", "0"],
            ),
            ("linear: halves", Linear, vec![(1, "social"), (2, "direct")], vec!["0.5", "0.5"]),
            (
                "linear: thirds, the extra unit to the earliest",
                Linear,
                vec![(1, "a"), (2, "b"), (3, "c")],
                vec!["0.333333333334", "0.333333333333", "0.333333333333"],
            ),
            (
                "time decay: one half-life older is half the weight",
                AttributionModel::TIME_DECAY_DEFAULT,
                vec![(3, "social"), (10, "affiliate")],
                vec!["0.333333333333", "0.666666666667"],
            ),
            (
                "time decay: two half-lives",
                TimeDecay { half_life_days: 1.0 },
                vec![(8, "a"), (9, "b"), (10, "c")],
                vec!["0.142857142857", "0.285714285714", "0.571428571429"],
            ),
            (
                "time decay: a bad half-life falls back to 7 days",
                TimeDecay { half_life_days: 0.0 },
                vec![(3, "social"), (10, "affiliate")],
                vec!["0.333333333333", "0.666666666667"],
            ),
            ("position based: 50/50 with two", PositionBased, vec![(1, "a"), (2, "b")], vec!["0.5", "0.5"]),
            ("position based: 40/20/40", PositionBased, vec![(1, "a"), (2, "b"), (3, "c")], vec!["0.4", "0.2", "0.4"]),
            (
                "position based: middle split evenly",
                PositionBased,
                vec![(1, "a"), (2, "b"), (3, "c"), (4, "d")],
                vec!["0.4", "0.1", "0.1", "0.4"],
            ),
            (
                "position based: middle thirds",
                PositionBased,
                vec![(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")],
                vec!["0.4", "0.066666666667", "0.066666666667", "0.066666666666", "0.4"],
            ),
        ];
        for (name, model, specs, expected) in cases {
            let got = weights(&model, &journey(&specs), conversion);
            assert_eq!(got, ds(&expected), "{name}");
            assert_sums_to_one(&got);
        }
    }

    #[test]
    fn one_touch_gets_everything_and_no_touch_gets_nothing() {
        for model in ALL_MODELS {
            assert_eq!(weights(&model, &journey(&[(1, "direct~")]), at(10)), vec![Decimal::ONE], "{model:?}");
            assert_eq!(weights(&model, &[], at(10)), Vec::<Decimal>::new(), "{model:?}");
        }
    }

    #[test]
    fn two_touches_under_every_model() {
        let touches = journey(&[(2, "social"), (9, "paid_search")]);
        let expected = [
            ["0", "1"],
            ["1", "0"],
            ["0.5", "0.5"],
            ["0.333333333333", "0.666666666667"], // 7 days = one half-life
            ["0.5", "0.5"],
        ];
        for (model, expected) in ALL_MODELS.iter().zip(expected) {
            assert_eq!(weights(model, &touches, at(9)), ds(&expected), "{model:?}");
        }
    }

    #[test]
    fn all_direct_journeys_still_credit_someone() {
        let touches = journey(&[(1, "direct"), (2, "DIRECT"), (3, "direct")]);
        for model in ALL_MODELS {
            let got = weights(&model, &touches, at(5));
            assert_sums_to_one(&got);
        }
        assert_eq!(weights(&AttributionModel::LastClick, &touches, at(5)), ds(&["0", "0", "1"]));
        assert_eq!(weights(&AttributionModel::FirstClick, &touches, at(5)), ds(&["1", "0", "0"]));
    }

    #[test]
    fn weights_follow_time_not_input_order_and_ties_keep_input_order() {
        // Given out of order: weights still line up with the input.
        let shuffled = journey(&[(3, "c"), (1, "a"), (2, "b")]);
        assert_eq!(weights(&AttributionModel::LastClick, &shuffled, at(5)), ds(&["1", "0", "0"]));
        assert_eq!(weights(&AttributionModel::FirstClick, &shuffled, at(5)), ds(&["0", "1", "0"]));
        assert_eq!(weights(&AttributionModel::PositionBased, &shuffled, at(5)), ds(&["0.4", "0.4", "0.2"]));
        // Two clicks at the same instant: the later in the input is the "last".
        let tied = journey(&[(2, "social"), (2, "affiliate")]);
        assert_eq!(weights(&AttributionModel::LastClick, &tied, at(5)), ds(&["0", "1"]));
        assert_eq!(weights(&AttributionModel::FirstClick, &tied, at(5)), ds(&["1", "0"]));
        assert_eq!(weights(&AttributionModel::TIME_DECAY_DEFAULT, &tied, at(5)), ds(&["0.5", "0.5"]));
        let tied3 = journey(&[(2, "a"), (2, "b"), (2, "c")]);
        assert_eq!(
            weights(&AttributionModel::Linear, &tied3, at(5)),
            ds(&["0.333333333334", "0.333333333333", "0.333333333333"])
        );
    }

    #[test]
    fn time_decay_survives_long_journeys() {
        // 100 touches a day apart with a half-life of 14.4 minutes: the old ones underflow, the sum stays 1.
        let touches: Vec<Touchpoint> = (0..100).map(|day| touch(day, "social")).collect();
        let got = weights(&AttributionModel::TimeDecay { half_life_days: 0.01 }, &touches, at(100));
        assert_sums_to_one(&got);
        assert_eq!(got[99], Decimal::ONE);
        // A touch after the conversion counts as at the conversion.
        let late = journey(&[(5, "a"), (6, "b")]);
        assert_eq!(weights(&AttributionModel::TimeDecay { half_life_days: 1.0 }, &late, at(5)), ds(&["0.5", "0.5"]));
    }

    #[test]
    fn within_window_keeps_the_lookback_both_ends_included() {
        let conversion = at(30);
        let touches = journey(&[
            (25, "in"),
            (1, "too-old"),
            (0, "older"),
            (2, "first-day"),
            (30, "at-conversion"),
            (31, "after"),
        ]);
        let kept: Vec<String> = within_window(&touches, conversion, 28).into_iter().map(|t| t.channel).collect();
        assert_eq!(kept, ["first-day", "in", "at-conversion"]);
        assert!(within_window(&touches, conversion, 0).iter().all(|t| t.channel == "at-conversion"));
        assert!(within_window(&[], conversion, 30).is_empty());
        // Filtered, then attributed: the old touch gets nothing.
        let kept = within_window(&journey(&[(1, "social"), (29, "affiliate")]), conversion, 7);
        assert_eq!(weights(&AttributionModel::FirstClick, &kept, conversion), ds(&["1"]));
    }

    #[test]
    fn model_codes_round_trip() {
        for model in ALL_MODELS {
            assert_eq!(AttributionModel::from_code(model.code()), Some(model));
        }
        assert_eq!(AttributionModel::from_code(" last_click "), Some(AttributionModel::LastClick));
        assert_eq!(AttributionModel::from_code("MARKOV"), None);
    }

    #[test]
    fn split_amount_table() {
        let cases: Vec<SplitCase> = vec![
            ("thirds of 100.00", dec!(100.00), 2, vec!["1", "1", "1"], vec!["33.34", "33.33", "33.33"]),
            ("no minor unit", dec!(1000), 0, vec!["1", "1", "1"], vec!["334", "333", "333"]),
            ("three minor units", dec!(1.000), 3, vec!["1", "1", "1"], vec!["0.334", "0.333", "0.333"]),
            ("largest remainder wins", dec!(0.10), 2, vec!["0.33", "0.33", "0.34"], vec!["0.03", "0.03", "0.04"]),
            ("equal remainders: earlier first", dec!(0.01), 2, vec!["1", "1"], vec!["0.01", "0.00"]),
            ("weights need not sum to 1", dec!(9.00), 2, vec!["2", "1"], vec!["6.00", "3.00"]),
            (
                "zero and negative weights get nothing",
                dec!(5.00),
                2,
                vec!["0", "-3", "1"],
                vec!["0.00", "0.00", "5.00"],
            ),
            ("no positive weight: equal", dec!(1.00), 2, vec!["0", "0"], vec!["0.50", "0.50"]),
            ("negative total", dec!(-10.00), 2, vec!["1", "1", "1"], vec!["-3.34", "-3.33", "-3.33"]),
            ("zero total", dec!(0), 2, vec!["1", "1"], vec!["0.00", "0.00"]),
            (
                "total finer than the minor unit keeps its digits",
                dec!(1.005),
                2,
                vec!["1", "1"],
                vec!["0.503", "0.502"],
            ),
            ("one part", dec!(12.34), 2, vec!["0.2"], vec!["12.34"]),
        ];
        for (name, total, minor_units, w, expected) in cases {
            let got = split_amount(total, minor_units, &ds(&w));
            assert_eq!(got, ds(&expected), "{name}");
            for (part, exp) in got.iter().zip(&expected) {
                assert_eq!(part.to_string(), *exp, "{name}: scale");
            }
            assert_eq!(got.iter().sum::<Decimal>(), total, "{name}: sum");
        }
        assert!(split_amount(dec!(10), 2, &[]).is_empty());
    }

    #[test]
    fn split_amount_always_sums_exactly() {
        // Deterministic pseudo-random weights and totals.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..500 {
            let n = (next() % 12 + 1) as usize;
            let w: Vec<Decimal> =
                (0..n).map(|_| Decimal::new((next() % 1_000_000) as i64, (next() % 8) as u32)).collect();
            let minor_units = (next() % 4) as u32;
            let total = Decimal::new((next() % 100_000_000_000) as i64, minor_units);
            let parts = split_amount(total, minor_units, &w);
            assert_eq!(parts.len(), n);
            assert_eq!(parts.iter().sum::<Decimal>(), total, "{total} by {w:?}");
            assert!(parts.iter().all(|p| !p.is_sign_negative() || p.is_zero()));
        }
    }

    fn paths(list: &[(&str, bool)]) -> Vec<(Vec<String>, bool)> {
        list.iter()
            .map(|(path, converted)| {
                let channels = path.split('>').filter(|c| !c.is_empty()).map(str::to_owned).collect();
                (channels, *converted)
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn markov_classic_example() {
        let journeys = paths(&[("C1>C2>C3", true), ("C1", false), ("C2>C3", false)]);
        let model = MarkovModel::fit(&journeys);
        assert!(close(model.conversion_probability(), 1.0 / 3.0));
        let effects = markov_removal_effects(&journeys);
        assert!(close(effects["C1"], 0.5) && close(effects["C2"], 1.0) && close(effects["C3"], 1.0), "{effects:?}");

        let report = model.allocate(dec!(100.00), 2);
        let lines: Vec<(&str, Decimal, Decimal, Decimal)> =
            report.iter().map(|l| (l.channel.as_str(), l.share, l.conversions, l.value)).collect();
        assert_eq!(
            lines,
            vec![
                ("C1", dec!(0.2), dec!(0.2), dec!(20.00)),
                ("C2", dec!(0.4), dec!(0.4), dec!(40.00)),
                ("C3", dec!(0.4), dec!(0.4), dec!(40.00)),
            ]
        );
        // The converting journey's own shares.
        let shares = model.path_shares(&["C1", "C2", "C3"]);
        assert_eq!(shares, vec![("C1".into(), dec!(0.2)), ("C2".into(), dec!(0.4)), ("C3".into(), dec!(0.4))]);
        let shares = model.path_shares(&["C2", "C3"]);
        assert_eq!(shares, vec![("C2".into(), dec!(0.5)), ("C3".into(), dec!(0.5))]);
    }

    #[test]
    fn markov_collapses_repeats_and_aggregates_paths() {
        let repeated = MarkovModel::fit(&paths(&[("C1>C1>C2>C3>C3", true), ("C1>C1", false), ("C2>C3", false)]));
        let plain = MarkovModel::fit(&paths(&[("C1>C2>C3", true), ("C1", false), ("C2>C3", false)]));
        assert_eq!(repeated.removal_effects(), plain.removal_effects());
        // The same journeys given as counts.
        let mut counts = MarkovCounts::new();
        counts.add_path_counts(&["a", "b"], 3, 1);
        counts.add_path_counts(&["b"], 1, 3);
        let mut one_by_one = MarkovCounts::new();
        for _ in 0..3 {
            one_by_one.add_path(&["a", "b"], true);
            one_by_one.add_path(&["b"], false);
        }
        one_by_one.add_path(&["a", "b"], false);
        one_by_one.add_path(&["b"], true);
        let (x, y) = (counts.fit(), one_by_one.fit());
        assert_eq!(x.removal_effects(), y.removal_effects());
        assert_eq!((x.journeys(), x.conversions()), (8, 4));
        assert!(close(x.conversion_probability(), 0.5));
    }

    #[test]
    fn markov_edge_cases() {
        // One channel: removing it loses everything.
        let single = MarkovModel::fit(&paths(&[("social", true), ("social", false)]));
        assert_eq!(single.removal_effect("social"), Some(1.0));
        assert!(close(single.conversion_probability(), 0.5));
        // No conversions: no effect, nothing to give.
        let none = MarkovModel::fit(&paths(&[("a>b", false), ("b", false)]));
        assert_eq!(none.removal_effect("a"), Some(0.0));
        assert!(none.allocate(dec!(0), 2).iter().all(|l| l.conversions.is_zero() && l.value.is_zero()));
        // Nothing at all, and journeys without touches.
        let empty = MarkovModel::fit(&paths(&[("", true)]));
        assert_eq!((empty.journeys(), empty.channels().count()), (0, 0));
        assert_eq!(empty.conversion_probability(), 0.0);
        assert!(empty.allocate(dec!(10.00), 2).is_empty());
        // Unknown channels on a path: equal shares.
        let shares = single.path_shares(&["x", "y"]);
        assert_eq!(shares, vec![("x".into(), dec!(0.5)), ("y".into(), dec!(0.5))]);
        assert!(single.path_shares::<&str>(&[]).is_empty());
        assert_eq!(single.removal_effect("x"), None);
    }

    #[test]
    fn markov_cycles_are_solved_exactly() {
        // a>b>a loops back: the chain has a cycle, the linear system still has one answer.
        let model = MarkovModel::fit(&paths(&[("a>b>a", true), ("b>a>b", false), ("a", false), ("b", true)]));
        // Brute force: P from the transition counts, by value iteration to convergence.
        // START→a 2, START→b 2; a→b 2, a→CONV 1, a→NULL 1; b→a 2, b→NULL 1, b→CONV 1.
        let (mut pa, mut pb) = (0.0f64, 0.0f64);
        for _ in 0..200 {
            (pa, pb) = (0.5 * pb + 0.25, 0.5 * pa + 0.25);
        }
        assert!(close(model.conversion_probability(), 0.5 * pa + 0.5 * pb));
        // Without a: b→a ends in NULL, so p_b = 1/4; START→a is lost.
        let without_a = 0.5 * 0.25;
        let expected = 1.0 - without_a / model.conversion_probability();
        assert!(close(model.removal_effect("a").unwrap_or(f64::NAN), expected));
    }

    /// Each removal the long way: the chain solved again with the channel's row made
    /// absorbing (Gaussian elimination with partial pivoting).
    fn removal_by_solving_again(counts: &MarkovCounts) -> (f64, Vec<(String, f64)>) {
        fn solve(mut a: Vec<f64>, mut b: Vec<f64>, m: usize) -> f64 {
            for col in 0..m {
                let pivot =
                    (col..m).max_by(|&r, &s| a[r * m + col].abs().total_cmp(&a[s * m + col].abs())).unwrap_or(col);
                for k in 0..m {
                    a.swap(pivot * m + k, col * m + k);
                }
                b.swap(pivot, col);
                for row in col + 1..m {
                    let factor = a[row * m + col] / a[col * m + col];
                    for k in col..m {
                        a[row * m + k] -= factor * a[col * m + k];
                    }
                    b[row] -= factor * b[col];
                }
            }
            let mut x = vec![0.0; m];
            for row in (0..m).rev() {
                let known: f64 = (row + 1..m).map(|k| a[row * m + k] * x[k]).sum();
                x[row] = (b[row] - known) / a[row * m + row];
            }
            x[0]
        }
        let m = counts.names.len() + 1;
        let (mut a, mut b) = (vec![0.0; m * m], vec![0.0; m]);
        for s in 0..m {
            a[s * m + s] = 1.0;
            let cells = counts.rows.get(s).cloned().unwrap_or_default();
            let total: u64 = cells.iter().sum();
            for (column, &count) in cells.iter().enumerate().filter(|(_, c)| **c > 0) {
                let p = count as f64 / total as f64;
                match column {
                    TO_CONVERSION => b[s] = p,
                    TO_NULL => {}
                    _ => a[s * m + 1 + (column - TO_CHANNEL)] -= p,
                }
            }
        }
        let base = solve(a.clone(), b.clone(), m);
        let effects = (0..m - 1)
            .map(|c| {
                let (mut a, mut b) = (a.clone(), b.clone());
                a[(1 + c) * m..(2 + c) * m].fill(0.0);
                a[(1 + c) * m + 1 + c] = 1.0;
                b[1 + c] = 0.0;
                (counts.names[c].clone(), 1.0 - solve(a, b, m) / base)
            })
            .collect();
        (base, effects)
    }

    #[test]
    fn markov_removal_from_the_fundamental_matrix_is_solving_again() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        for seed in 0..40u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let states = rng.gen_range(1..12usize);
            let mut counts = MarkovCounts::new();
            for _ in 0..rng.gen_range(1..200) {
                let path: Vec<String> =
                    (0..rng.gen_range(1..8)).map(|_| format!("s{}", rng.gen_range(0..states))).collect();
                counts.add_path(&path, rng.gen_bool(0.3));
            }
            let model = counts.fit();
            let (base, effects) = removal_by_solving_again(&counts);
            assert!((model.conversion_probability() - base).abs() < 1e-12, "seed {seed}");
            for (name, expected) in effects {
                let effect = model.removal_effect(&name).unwrap_or(f64::NAN);
                let expected = if base > 0.0 { expected.clamp(0.0, 1.0) } else { 0.0 };
                assert!((effect - expected).abs() < 1e-9, "seed {seed}, {name}: {effect} vs {expected}");
            }
        }
    }

    #[test]
    fn markov_touchpoint_weights() {
        let model = MarkovModel::fit(&paths(&[("C1>C2>C3", true), ("C1", false), ("C2>C3", false)]));
        // C1 twice: its 0.2 is halved.
        let touches = journey(&[(1, "C1"), (2, "C2"), (3, "C1"), (4, "C3")]);
        assert_eq!(model.touchpoint_weights(&touches), ds(&["0.1", "0.4", "0.1", "0.4"]));
        assert!(model.touchpoint_weights(&[]).is_empty());
        // Then the money.
        let weights = model.touchpoint_weights(&touches);
        assert_eq!(split_amount(dec!(99.99), 2, &weights), ds(&["10.00", "40.00", "10.00", "39.99"]));
    }
}
