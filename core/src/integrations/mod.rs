//! Outbound conversions (seed 000): Meta Conversions API, Google Ads offline click
//! conversions and Pipedrive deals, each sent by its own worker from durable
//! `integration_deliveries` rows, each attempt logged in `integrations_log`.
//!
//! The clients here only build requests and read answers; `service::delivery_worker`
//! owns the queue.

pub mod google_ads;
pub mod meta_capi;
pub mod pipedrive;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{
    conversions,
    integration_deliveries::{DeliveryEventKind, Integration},
    interactions, orders, stripe_webhook_events,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::{config::IntegrationSettings, error::AppResult};

/// Which deliveries an order gets: one per integration that is on.
#[derive(Debug, Clone, Default)]
pub struct DeliveryPlan {
    pub integrations: Vec<Integration>,
    pub max_attempts: i32,
}

/// What one attempt to deliver did: the request as logged (secrets left out), the
/// platform's answer, and the outcome.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub request: Value,
    pub http_status: Option<u16>,
    pub response: Option<Value>,
    pub outcome: Outcome,
    pub latency: Duration,
    /// Pipedrive only: the deal made, kept on the order.
    pub deal_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Not sent, on purpose (why); not retried.
    Skipped(String),
    /// Failed (why); retried until the attempts run out.
    Failed(String),
    /// Refused for good by the platform (a 4xx that retrying cannot change: the request
    /// itself is wrong); DEAD at once, with why.
    Rejected(String),
}

/// Whether an HTTP status refuses the request for good. Not: 401 (a token to renew), 408
/// and 429 (come back later), 409 and 425 (a race), nor any 5xx.
pub fn permanent(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 408 | 409 | 425 | 429)
}

impl Outcome {
    /// The `integrations_log.status` of an attempt.
    pub fn log_status(&self) -> &'static str {
        match self {
            Outcome::Succeeded => "SUCCESS",
            Outcome::Skipped(_) => "SKIPPED",
            Outcome::Failed(_) | Outcome::Rejected(_) => "ERROR",
        }
    }
}

impl Attempt {
    /// Done without a request of its own: what was asked for already exists.
    fn found(request: Value, started: Instant) -> Self {
        Self {
            request,
            http_status: None,
            response: None,
            outcome: Outcome::Succeeded,
            latency: started.elapsed(),
            deal_id: None,
        }
    }

    fn skipped(request: Value, reason: impl Into<String>) -> Self {
        Self {
            request,
            http_status: None,
            response: None,
            outcome: Outcome::Skipped(reason.into()),
            latency: Duration::ZERO,
            deal_id: None,
        }
    }
}

/// What the platforms are told about a paid order, gathered when it is sent.
#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub order: orders::Model,
    /// When the purchase happened (the sale conversion's time).
    pub purchased_at: DateTime<Utc>,
    /// The buyer's email as Stripe sent it (for Pipedrive's person); never logged.
    pub email: Option<String>,
    pub name: Option<String>,
    pub client_ip_address: Option<String>,
    pub client_user_agent: Option<String>,
    pub event_source_url: Option<String>,
    /// When the fbclid was first seen (the click), for Meta's `fbc`.
    pub fbclid_seen_at: Option<DateTime<Utc>>,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl OrderFacts {
    /// Reads the order with what the Stripe event and the tracked click said about it.
    pub async fn load<C: ConnectionTrait>(conn: &C, order: orders::Model) -> AppResult<Self> {
        let event = match order.metadata["stripe_event_id"].as_str() {
            Some(id) => stripe_webhook_events::Entity::find_by_id(id.to_string()).one(conn).await?,
            None => None,
        };
        // Once the event is minimised its personal values are hashes: none is sent as a value.
        let raw = event.as_ref().filter(|e| !crate::domain::pii::is_minimised(&e.payload));
        let session = event.as_ref().map(|e| e.payload["data"]["object"].clone()).unwrap_or(Value::Null);
        let personal = raw.map(|e| e.payload["data"]["object"].clone()).unwrap_or(Value::Null);
        let metadata = &session["metadata"];
        let click = match order.click_id {
            Some(id) => interactions::Entity::find_by_id(id).one(conn).await?,
            None => None,
        };
        let conversion =
            conversions::Entity::find().filter(conversions::Column::OrderId.eq(order.id)).one(conn).await?;
        let details = &personal["customer_details"];
        Ok(Self {
            purchased_at: conversion.map(|c| c.occurred_at).unwrap_or(order.created_at),
            email: text(&details["email"]).or_else(|| text(&personal["customer_email"])).map(|e| e.to_lowercase()),
            name: text(&details["name"]),
            client_ip_address: text(&personal["metadata"]["client_ip_address"]),
            client_user_agent: text(&metadata["client_user_agent"])
                .or_else(|| click.as_ref().and_then(|c| c.user_agent.clone())),
            event_source_url: text(&metadata["event_source_url"])
                .or_else(|| text(&session["success_url"]))
                .map(|url| with_session_id(&url, &order.stripe_session_id)),
            fbclid_seen_at: click.as_ref().filter(|c| c.fbclid.is_some()).map(|c| c.occurred_at),
            order,
        })
    }
}

/// A Stripe `success_url` names the session with the template `{CHECKOUT_SESSION_ID}`,
/// which Stripe fills in when it sends the buyer there: the page the buyer saw.
fn with_session_id(url: &str, session_id: &str) -> String {
    url.replace("{CHECKOUT_SESSION_ID}", session_id).replace("%7BCHECKOUT_SESSION_ID%7D", session_id)
}

/// The three clients, sharing one HTTP connection pool with a per-request timeout.
pub struct Clients {
    pub meta: Option<meta_capi::MetaCapi>,
    pub google: Option<google_ads::GoogleAds>,
    pub pipedrive: Option<pipedrive::Pipedrive>,
}

impl Clients {
    pub fn new(settings: &IntegrationSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("alpes/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the request (and its token) to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            meta: settings.meta.clone().map(|s| meta_capi::MetaCapi::new(http.clone(), s)),
            google: settings.google.clone().map(|s| google_ads::GoogleAds::new(http.clone(), s)),
            pipedrive: settings.pipedrive.clone().map(|s| pipedrive::Pipedrive::new(http.clone(), s)),
        })
    }

    /// Sends one order to one integration. An integration turned off since the
    /// delivery was made is a failure (it will be sent once it is back on).
    pub async fn send(
        &self,
        integration: Integration,
        kind: DeliveryEventKind,
        facts: &OrderFacts,
        now: DateTime<Utc>,
    ) -> Attempt {
        let off = || Attempt {
            request: json!({}),
            http_status: None,
            response: None,
            outcome: Outcome::Failed(format!("{integration:?} is not configured")),
            latency: Duration::ZERO,
            deal_id: None,
        };
        match (integration, kind) {
            (Integration::MetaCapi, DeliveryEventKind::Purchase) => match &self.meta {
                Some(client) => client.send(facts, now).await,
                None => off(),
            },
            (Integration::MetaCapi, DeliveryEventKind::Refund) => {
                Attempt::skipped(Value::Null, "the Conversions API has no refund event")
            }
            (Integration::GoogleAds, DeliveryEventKind::Purchase) => match &self.google {
                Some(client) => client.send(facts).await,
                None => off(),
            },
            (Integration::GoogleAds, DeliveryEventKind::Refund) => match &self.google {
                Some(client) => client.send_refund(facts).await,
                None => off(),
            },
            (Integration::Pipedrive, DeliveryEventKind::Purchase) => match &self.pipedrive {
                Some(client) => client.send(facts).await,
                None => off(),
            },
            (Integration::Pipedrive, DeliveryEventKind::Refund) => match &self.pipedrive {
                Some(client) => client.send_refund(facts).await,
                None => off(),
            },
        }
    }
}

/// A platform's answer: status and body (JSON, or the text wrapped as `{"raw": …}`).
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The platform's own error message, when its body has one.
    pub fn message(&self) -> String {
        let body = &self.body;
        let found = [&body["error"]["message"], &body["error"], &body["error_info"], &body["message"], &body["raw"]]
            .into_iter()
            .find_map(|v| v.as_str().map(str::to_owned));
        match found {
            Some(message) => format!("HTTP {}: {}", self.status, truncate(&message, 500)),
            None => format!("HTTP {}", self.status),
        }
    }
}

/// The largest answer read from an ad platform or CRM.
const MAX_REPLY_BYTES: usize = 1024 * 1024;

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// Sends a request; a transport failure (refused, timed out, …) is an `Err` with a
/// message that never includes the URL (query strings may carry credentials).
pub(crate) async fn call(request: reqwest::RequestBuilder) -> Result<Reply, String> {
    let mut response = request.send().await.map_err(describe)?;
    let status = response.status().as_u16();
    // Read up to the cap: an answer that never ends cannot take the memory.
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(format!("the answer is larger than {} KiB", MAX_REPLY_BYTES / 1024));
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({ "raw": truncate(&String::from_utf8_lossy(&bytes), 2000) }));
    Ok(Reply { status, body })
}

fn describe(err: reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_decode() || err.is_body() {
        "could not read the answer"
    } else {
        "request failed"
    };
    let err = err.without_url();
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        detail = format!("{detail}: {inner}");
        source = inner.source();
    }
    format!("{kind} ({})", truncate(&detail, 300))
}

/// Runs `request` and turns its result into an [`Attempt`] for `logged` (what the log keeps).
pub(crate) async fn attempt(
    logged: Value,
    request: reqwest::RequestBuilder,
    judge: impl FnOnce(&Reply) -> Result<Option<String>, String>,
) -> Attempt {
    let started = Instant::now();
    let result = call(request).await;
    finish(logged, started, result, judge)
}

/// The [`Attempt`] for a request that already ran (or could not be sent).
pub(crate) fn finish(
    logged: Value,
    started: Instant,
    result: Result<Reply, String>,
    judge: impl FnOnce(&Reply) -> Result<Option<String>, String>,
) -> Attempt {
    let latency = started.elapsed();
    match result {
        Err(message) => Attempt {
            request: logged,
            http_status: None,
            response: None,
            outcome: Outcome::Failed(message),
            latency,
            deal_id: None,
        },
        Ok(reply) => {
            let (outcome, deal_id) = match judge(&reply) {
                Ok(id) => (Outcome::Succeeded, id),
                Err(message) if permanent(reply.status) => (Outcome::Rejected(message), None),
                Err(message) => (Outcome::Failed(message), None),
            };
            Attempt {
                request: logged,
                http_status: Some(reply.status),
                response: Some(reply.body),
                outcome,
                latency,
                deal_id,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_request_the_platform_refuses_for_good_is_not_retried() {
        for status in [400, 403, 404, 405, 410, 413, 415, 422] {
            assert!(permanent(status), "{status}");
        }
        for status in [200, 401, 408, 409, 425, 429, 500, 502, 503, 504] {
            assert!(!permanent(status), "{status}");
        }
    }

    #[test]
    fn the_landing_page_names_the_session_stripe_sent_the_buyer_to() {
        let sent = "https://shop.example/gracias?session_id={CHECKOUT_SESSION_ID}";
        assert_eq!(with_session_id(sent, "cs_test_1"), "https://shop.example/gracias?session_id=cs_test_1");
        let encoded = "https://shop.example/ok?s=%7BCHECKOUT_SESSION_ID%7D";
        assert_eq!(with_session_id(encoded, "cs_test_1"), "https://shop.example/ok?s=cs_test_1");
        assert_eq!(with_session_id("https://shop.example/ok", "cs_test_1"), "https://shop.example/ok");
    }
}
