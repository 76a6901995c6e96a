//! Domain events in the envelope of seed 004: `evento_id`, `tipo_evento`,
//! `fecha_evento`, the ids, `datos_*`, `metadatos { version, origen }`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The topics, named as in the seeds (NATS subjects are `alpes.<topic>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Affiliates,
    Conversions,
    Marketing,
    Commissions,
    Audit,
    System,
    Attribution,
    AttributionReverted,
    InteractionRecorded,
    ImpressionRecorded,
    ConversionRecorded,
}

impl Topic {
    pub const ALL: [Topic; 11] = [
        Topic::Affiliates,
        Topic::Conversions,
        Topic::Marketing,
        Topic::Commissions,
        Topic::Audit,
        Topic::System,
        Topic::Attribution,
        Topic::AttributionReverted,
        Topic::InteractionRecorded,
        Topic::ImpressionRecorded,
        Topic::ConversionRecorded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topic::Affiliates => "afiliados.eventos",
            Topic::Conversions => "conversiones.eventos",
            Topic::Marketing => "marketing.eventos",
            Topic::Commissions => "comisiones.eventos",
            Topic::Audit => "auditoria.eventos",
            Topic::System => "sistema.eventos",
            Topic::Attribution => "eventos-atribucion",
            Topic::AttributionReverted => "atribucion-revertida",
            Topic::InteractionRecorded => "interaccion-registrada",
            Topic::ImpressionRecorded => "evento-impresion-registrada",
            Topic::ConversionRecorded => "evento-conversion-registrada",
        }
    }

    pub fn parse(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The `metadatos.origen` the seeds give to events of this topic.
    fn origin(self) -> &'static str {
        match self {
            Topic::Affiliates => "afiliados-service",
            Topic::Conversions | Topic::ImpressionRecorded | Topic::ConversionRecorded | Topic::InteractionRecorded => {
                "conversiones-service"
            }
            Topic::Marketing | Topic::Commissions => "marketing-service",
            Topic::Attribution | Topic::AttributionReverted => "atribucion-service",
            Topic::Audit | Topic::System => "alpes",
        }
    }
}

/// One domain event, ready to be written to the outbox.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub id: Uuid,
    pub topic: Topic,
    pub event_type: &'static str,
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    /// The affiliate whose data this is, so affiliate users receive only their own.
    pub affiliate_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub body: Value,
}

impl Envelope {
    /// Builds the seed 004 envelope. `ids` are the top-level id fields
    /// (`afiliado_id`, `campana_id`, …); `data_key` is the `datos_*` field.
    pub fn new(
        topic: Topic,
        event_type: &'static str,
        aggregate_type: &'static str,
        aggregate_id: impl ToString,
        ids: &[(&str, Value)],
        data_key: &str,
        data: Value,
    ) -> Self {
        let id = Uuid::now_v7();
        let occurred_at = Utc::now();
        let mut body = Map::new();
        body.insert("evento_id".into(), json!(id));
        body.insert("tipo_evento".into(), json!(event_type));
        body.insert("fecha_evento".into(), json!(occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true)));
        for (key, value) in ids {
            body.insert((*key).to_string(), value.clone());
        }
        body.insert(data_key.to_string(), data);
        let mut metadata = json!({ "version": "1.0", "origen": topic.origin() });
        if topic == Topic::Commissions {
            metadata["modulo"] = json!("comisiones");
        }
        body.insert("metadatos".into(), metadata);
        Self {
            id,
            topic,
            event_type,
            aggregate_type,
            aggregate_id: aggregate_id.to_string(),
            affiliate_id: None,
            occurred_at,
            body: Value::Object(body),
        }
    }

    /// An event whose payload is fixed by a seed as it is (seed 003's
    /// `InteraccionRegistrada`, `ConversionAtribuida`, …), without the seed 004 envelope.
    pub fn raw(
        topic: Topic,
        event_type: &'static str,
        aggregate_type: &'static str,
        aggregate_id: impl ToString,
        body: Value,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            topic,
            event_type,
            aggregate_type,
            aggregate_id: aggregate_id.to_string(),
            affiliate_id: None,
            occurred_at: Utc::now(),
            body,
        }
    }

    pub fn for_affiliate(mut self, affiliate_id: Option<Uuid>) -> Self {
        self.affiliate_id = affiliate_id;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_the_seed_004_shape() {
        let env = Envelope::new(
            Topic::Affiliates,
            "afiliado_creado",
            "affiliate",
            "af-1",
            &[("afiliado_id", json!("af-1"))],
            "datos_afiliado",
            json!({ "nombre": "María" }),
        );
        let body = &env.body;
        assert_eq!(body["tipo_evento"], "afiliado_creado");
        assert_eq!(body["afiliado_id"], "af-1");
        assert_eq!(body["datos_afiliado"]["nombre"], "María");
        assert_eq!(body["metadatos"]["version"], "1.0");
        assert_eq!(body["metadatos"]["origen"], "afiliados-service");
        assert_eq!(body["evento_id"], json!(env.id));
        assert!(body["fecha_evento"].as_str().is_some_and(|s| s.ends_with('Z')));
    }

    #[test]
    fn topics_round_trip_by_name() {
        for topic in Topic::ALL {
            assert_eq!(Topic::parse(topic.name()), Some(topic));
        }
        assert_eq!(Topic::parse("nope"), None);
    }
}
