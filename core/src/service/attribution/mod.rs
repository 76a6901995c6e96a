//! Attribution (seed 003): every recorded conversion gets its journey — the touches of
//! the person (user id and every anonymous id linked to it) inside the campaign's
//! lookback window — a fraud score, and credits under the campaign's model.
//!
//! Conversions are recorded by the ingest writer and by Stripe webhooks with status
//! `REGISTERED`; the worker here attributes them shortly after, each in its own
//! transaction that moves the status on only if it is still `REGISTERED`, so a
//! conversion is attributed exactly once however many replicas run the worker.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, OnceLock},
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use entity::{
    affiliates,
    attribution_credits::{self, AttributionModel as StoredModel},
    campaigns,
    conversions::{self, ConversionStatus},
    identity_links,
    interactions::{self, InteractionKind},
    journeys::{self, JourneyStatus},
};
use rust_decimal::Decimal;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::audit::{self, Change};
use super::{commission, outbox};
use crate::{
    auth::Caller,
    config::AttributionSettings,
    context::Ctx,
    db,
    domain::{
        attribution::{self as model, MarkovCounts, MarkovModel, Touchpoint, DIRECT},
        envelope::Envelope,
        fraud::{self, FraudFacts, FraudPolicy},
        money::Currency,
        pii,
    },
    error::{AppError, AppResult},
};
// The records handed upward (`model` here is the domain's attribution models).
use crate::model::{conversions::Conversion, journeys::Journey};

mod credit;
mod events;
mod fraud_check;
mod journey;
mod report;
mod revert;
mod share;
mod worker;

pub use credit::*;
use events::*;
use fraud_check::*;
pub use journey::*;
pub use report::*;
pub use revert::*;
use share::*;
pub use share::{backfill_shares, HEURISTIC_MODELS};
pub use worker::*;
