//! Pipedrive: a deal per paid order (API v2), with the buyer as its person, found by
//! email or created. The deal id is kept on the order, so a repeat never makes a
//! second deal.

use std::time::Instant;

use serde_json::json;

use super::{call, finish, Attempt, OrderFacts, Reply};
use crate::{config::PipedriveSettings, domain::money::json_number};

pub struct Pipedrive {
    http: reqwest::Client,
    settings: PipedriveSettings,
}

/// The deal's title: what was bought and the checkout it came from.
pub fn deal_title(facts: &OrderFacts) -> String {
    let order = &facts.order;
    match &order.product_id {
        Some(product) => format!("Pedido {product} ({})", order.stripe_session_id),
        None => format!("Pedido {}", order.stripe_session_id),
    }
}

/// The `data.id` of a Pipedrive answer.
fn data_id(reply: &Reply) -> Option<i64> {
    reply.body["data"]["id"].as_i64()
}

/// A step that failed: why, and the answer when there was one.
type StepError = (String, Option<Reply>);

fn judge(step: &str, reply: Result<Reply, String>) -> Result<Reply, StepError> {
    match reply {
        Ok(reply) if reply.ok() && reply.body["success"].as_bool() != Some(false) => Ok(reply),
        Ok(reply) => Err((format!("{step}: {}", reply.message()), Some(reply))),
        Err(message) => Err((format!("{step}: {message}"), None)),
    }
}

impl Pipedrive {
    pub fn new(http: reqwest::Client, settings: PipedriveSettings) -> Self {
        Self { http, settings }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2/{path}", self.settings.base_url)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).header("x-api-token", &self.settings.api_token)
    }

    /// The person with this email: found by an exact email search, or created.
    async fn person(&self, email: &str, name: Option<&str>) -> Result<(i64, &'static str), StepError> {
        let search = self.request(reqwest::Method::GET, "persons/search").query(&[
            ("term", email),
            ("fields", "email"),
            ("exact_match", "true"),
        ]);
        let found = judge("person search", call(search).await)?;
        if let Some(id) = found.body["data"]["items"][0]["item"]["id"].as_i64() {
            return Ok((id, "found"));
        }
        let body = json!({
            "name": name.unwrap_or(email),
            "emails": [{ "value": email, "primary": true, "label": "work" }],
        });
        let created = judge("person create", call(self.request(reqwest::Method::POST, "persons").json(&body)).await)?;
        data_id(&created)
            .map(|id| (id, "created"))
            .ok_or_else(|| ("person create: no id in the answer".into(), Some(created)))
    }

    /// The deal titled `title` (searched by the checkout's session id, which the title holds).
    async fn deal_titled(&self, title: &str, session_id: &str) -> Result<Option<i64>, StepError> {
        let search =
            self.request(reqwest::Method::GET, "deals/search").query(&[("term", session_id), ("fields", "title")]);
        let found = judge("deal search", call(search).await)?;
        let items = found.body["data"]["items"].as_array().cloned().unwrap_or_default();
        Ok(items
            .iter()
            .map(|i| &i["item"])
            .find(|item| item["title"].as_str() == Some(title))
            .and_then(|i| i["id"].as_i64()))
    }

    pub async fn send(&self, facts: &OrderFacts) -> Attempt {
        let order = &facts.order;
        if let Some(deal) = &order.pipedrive_deal_id {
            return Attempt::skipped(json!({ "deal_id": deal }), format!("deal {deal} already made for this order"));
        }
        let started = Instant::now();
        let mut deal = json!({
            "title": deal_title(facts),
            "value": json_number(order.amount),
            "currency": order.currency,
        });
        // The log keeps the deal as sent and how the person was had, not the email.
        let mut logged = json!({ "deal": deal.clone() });
        if let Some(email) = &facts.email {
            match self.person(email, facts.name.as_deref()).await {
                Ok((id, how)) => {
                    deal["person_id"] = json!(id);
                    logged["deal"]["person_id"] = json!(id);
                    logged["person"] = json!(how);
                }
                Err((message, None)) => return finish(logged, started, Err(message), |_| Ok(None)),
                Err((message, Some(reply))) => return finish(logged, started, Ok(reply), |_| Err(message)),
            }
        }
        // A deal made by an attempt whose answer was lost (a timeout, a crash before the
        // deal id was kept) is found by its title, which names the checkout: never made twice.
        let title = deal_title(facts);
        match self.deal_titled(&title, &order.stripe_session_id).await {
            Ok(Some(id)) => {
                logged["deal_found"] = json!(id);
                return Attempt { deal_id: Some(id.to_string()), ..Attempt::found(logged, started) };
            }
            Ok(None) => {}
            Err((message, None)) => return finish(logged, started, Err(message), |_| Ok(None)),
            Err((message, Some(reply))) => return finish(logged, started, Ok(reply), |_| Err(message)),
        }
        let result = call(self.request(reqwest::Method::POST, "deals").json(&deal)).await;
        finish(logged, started, result, |reply| {
            let reply = judge("deal create", Ok(reply.clone())).map_err(|(message, _)| message)?;
            data_id(&reply).map(|id| Some(id.to_string())).ok_or_else(|| "deal create: no id in the answer".into())
        })
    }

    /// After a refund: the deal's value is what is left, and a full refund loses the deal.
    pub async fn send_refund(&self, facts: &OrderFacts) -> Attempt {
        let order = &facts.order;
        let Some(deal) = &order.pipedrive_deal_id else {
            // The purchase delivery has not made the deal yet: try again later.
            let started = Instant::now();
            return finish(json!({}), started, Err("no Pipedrive deal for this order yet".into()), |_| Ok(None));
        };
        let left = order.amount - order.refunded_amount;
        let mut body = json!({ "value": json_number(left.max(rust_decimal::Decimal::ZERO)) });
        if left <= rust_decimal::Decimal::ZERO {
            body["status"] = json!("lost");
            body["lost_reason"] = json!("Reembolsado en Stripe");
        }
        let started = Instant::now();
        let path = format!("deals/{deal}");
        let result = call(self.request(reqwest::Method::PATCH, &path).json(&body)).await;
        finish(json!({ "deal_id": deal, "deal": body }), started, result, |reply| {
            judge("deal update", Ok(reply.clone())).map(|_| None).map_err(|(message, _)| message)
        })
    }
}
