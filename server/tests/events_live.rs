//! The transactional outbox and live events: committed events reach subscribers
//! once, in order, filtered by topic and by the caller's rights, and a relay that
//! starts after a crash publishes what was committed but not yet published.

mod support;

use std::time::Duration;

use alpes::{
    auth::{Caller, Role},
    events::relay,
    graphql,
};
use futures::StreamExt;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use support::{create_affiliate, create_campaign, TestApp};

#[tokio::test]
async fn a_restarted_relay_publishes_what_was_committed() {
    let app = TestApp::new().await;
    // Committed, but no relay is running: as if the process died right after the commit.
    create_affiliate(&app, "Ana", "ana@example.com").await;
    create_campaign(&app, "Verano").await;
    let pending = entity::outbox_events::Entity::find()
        .filter(entity::outbox_events::Column::PublishedAt.is_null())
        .count(app.db())
        .await
        .unwrap();
    // Each change and its audit row's event (`auditoria.eventos`).
    assert_eq!(pending, 4);

    let mut receiver = app.app.state.hub.subscribe();
    assert_eq!(relay::relay_once(&app.app.state, &app.app.state.hub).await.unwrap(), 4);
    let mut received = Vec::new();
    for _ in 0..4 {
        received.push(receiver.recv().await.unwrap());
    }
    assert!(received.windows(2).all(|w| w[0].seq < w[1].seq), "in commit order");
    let (audits, changes): (Vec<_>, Vec<_>) = received.iter().partition(|e| e.topic == "auditoria.eventos");
    let changes: Vec<&str> = changes.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(changes, ["afiliado_creado", "campana_creada"]);
    assert_eq!(audits.len(), 2);
    assert!(audits.iter().all(|e| e.event_type == "auditoria_registrada"));
    let mut audited: Vec<&str> = audits.iter().filter_map(|e| e.envelope["entidad_tipo"].as_str()).collect();
    audited.sort();
    assert_eq!(audited, ["affiliate", "campaign"]);
    assert!(audits.iter().all(|e| e.envelope["datos_auditoria"]["accion"].as_str().is_some_and(|a| !a.is_empty())));
    // Published once: a second pass finds nothing.
    assert_eq!(relay::relay_once(&app.app.state, &app.app.state.hub).await.unwrap(), 0);
    assert!(receiver.try_recv().is_err());
    // And marked published in the database, so a restart does not publish them again.
    let unmarked = entity::outbox_events::Entity::find()
        .filter(entity::outbox_events::Column::PublishedAt.is_null())
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(unmarked, 0, "published rows are marked");
}

#[tokio::test]
async fn a_failed_mutation_leaves_no_event() {
    let app = TestApp::new().await;
    create_affiliate(&app, "Ana", "ana@example.com").await;
    let (_, body) = app
        .post_graphql(
            Some(&app.admin()),
            support::CREATE_AFFILIATE,
            json!({"input": support::affiliate_input("Ana 2", "ana@example.com")}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
    // The first affiliate's event and its audit event; nothing of the refused one.
    assert_eq!(app.count("outbox_events").await, 2);
    assert_eq!(app.count("outbox_events WHERE topic = 'auditoria.eventos'").await, 1);
}

#[tokio::test]
async fn subscriptions_filter_by_topic_and_by_affiliate() {
    let app = TestApp::new().await;
    let state = app.app.state.clone();
    let own = create_affiliate(&app, "Own", "own@example.com").await;
    relay::relay_once(&state, &state.hub).await.unwrap();
    let own_id: uuid::Uuid = own["id"].as_str().unwrap().parse().unwrap();

    let subscribe = |caller: Caller, query: &str| {
        let request = async_graphql::Request::new(query).data(caller.clone());
        let mut request = request;
        request.data = graphql::request_data(&state, Some(caller));
        app.app.schema.execute_stream(request)
    };
    let mut admin_stream = subscribe(
        Caller::system(),
        r#"subscription { events(topics: ["afiliados.eventos"]) { eventType topic aggregateId envelope } }"#,
    );
    let mut affiliate_stream = subscribe(
        Caller::person(None, Role::Affiliate, Some(own_id)),
        "subscription { events { eventType aggregateId } }",
    );
    // Streams are lazy: poll each once so it subscribes to the hub before anything is published.
    for stream in [&mut admin_stream, &mut affiliate_stream] {
        let poll = tokio::time::timeout(Duration::from_millis(100), stream.next()).await;
        assert!(poll.is_err(), "nothing yet");
    }

    create_campaign(&app, "Marketing only").await;
    let other = create_affiliate(&app, "Other", "other@example.com").await;
    app.ok(
        &app.admin(),
        "mutation($i: UpdateAffiliateInput!) { updateAffiliate(input: $i) { id } }",
        json!({"i": {"id": own["id"], "name": "Own 2"}}),
    )
    .await;
    relay::relay_once(&state, &state.hub).await.unwrap();

    let a1 = next(&mut admin_stream).await;
    let a2 = next(&mut admin_stream).await;
    assert_eq!(a1["events"]["eventType"], "afiliado_creado", "campaign event filtered out by topic");
    assert_eq!(a1["events"]["aggregateId"], other["id"]);
    assert_eq!(a1["events"]["envelope"]["datos_afiliado"]["nombre"], "Other");
    assert_eq!(a2["events"]["eventType"], "afiliado_actualizado");

    let f1 = next(&mut affiliate_stream).await;
    assert_eq!(f1["events"]["eventType"], "afiliado_actualizado", "only its own affiliate's events");
    assert_eq!(f1["events"]["aggregateId"], own["id"]);
    let more = tokio::time::timeout(Duration::from_millis(100), affiliate_stream.next()).await;
    assert!(more.is_err(), "no other affiliate's event reaches an affiliate");
}

#[tokio::test]
async fn unknown_topics_are_refused() {
    let app = TestApp::new().await;
    let state = app.app.state.clone();
    let mut request = async_graphql::Request::new(r#"subscription { events(topics: ["nope"]) { id } }"#);
    request.data = graphql::request_data(&state, Some(Caller::system()));
    let mut stream = app.app.schema.execute_stream(request);
    let response = stream.next().await.unwrap();
    assert_eq!(
        response.errors[0].extensions.as_ref().and_then(|e| e.get("code")).map(|v| v.to_string()),
        Some("\"VALIDATION\"".into())
    );
}

async fn next(stream: &mut futures::stream::BoxStream<'static, async_graphql::Response>) -> serde_json::Value {
    let response = tokio::time::timeout(Duration::from_secs(2), stream.next()).await.unwrap().unwrap();
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    response.data.into_json().unwrap()
}
