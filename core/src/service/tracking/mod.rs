//! Tracking ingest: impressions, clicks, views and conversions from sites and partners
//! (seeds 001, 002, 003), stored exactly once and fast.
//!
//! Transports record through the commands of [`record`] (one entry per kind of event,
//! which checks and authorizes once); the commands hand their input to one
//! [`Ingestor`]: requests queue up while the previous
//! transaction commits, and the next transaction takes all of them at once (group
//! commit). A request is answered only after its transaction committed, so an
//! acknowledged event is durable; many requests share the cost of one commit.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use chrono::{DateTime, SubsecRound, Utc};
use entity::{
    affiliate_conversions,
    affiliates::{self, AffiliateStatus},
    campaigns::{self, CampaignStatus},
    conversions::{self, ConversionStatus, ConversionType},
    identity_links,
    interactions::{self, InteractionKind},
    tracking_links, tracking_sessions,
};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use self::sqlite_writer::{Key, SqliteWriter, Unit};
use super::{affiliate_service, insert_in_chunks, outbox, Page, PageRequest};
use crate::{
    auth::{Caller, Role},
    context::Ctx,
    db,
    domain::{
        envelope::Envelope,
        money::Currency,
        pii,
        tracking::{self, ConversionKind, TouchKind},
        validate, DomainError,
    },
    error::{AppError, AppResult},
    model::{conversions::Conversion, interactions::Interaction},
    wire::events::{
        conversion_recorded as conversion_event, impression_recorded as impression_event,
        interaction_recorded as interaction_event, named,
    },
};

mod sqlite_writer;

mod batch;
mod ingest;
mod input;
mod query;
mod record;
mod rows;

use batch::*;
pub use ingest::*;
pub use input::*;
pub use query::*;
pub use record::*;
pub use rows::*;
