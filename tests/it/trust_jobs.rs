//! Issue 11, publisher wake-up and long actions: every committed write wakes
//! the background publisher (a save or an approval reaches the feed without
//! waiting for the tick), and "republish all" runs as a background job with
//! progress, audited when queued and when done, claimed by one worker and
//! taken over after a crash.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::app::AppState;
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::catalog::store;
use sluice::workflow::write::{self, NewProduct, ValueChange, Writer};

use crate::TestApp;

crate::db_tests!(a_save_and_an_approval_reach_the_feed_without_waiting_for_the_tick,);

/// Longer than any test may run: an event that arrives came from a wake-up.
const LONG_TICK: Duration = Duration::from_secs(3600);

/// How long a poll waits for something a wake-up should bring at once.
const GENEROUS: Duration = Duration::from_secs(30);

/// A gadget with everything the `web` channel needs.
fn gadget(sku: &str, name: &str) -> NewProduct {
    let values = [
        ("name", Some("en_US"), json!(name)),
        ("name", Some("de_DE"), json!(format!("{name} DE"))),
        ("description", Some("en_US"), json!("<p>A fine gadget.</p>")),
        (
            "description",
            Some("de_DE"),
            json!("<p>Ein feines Gerät.</p>"),
        ),
        (
            "base_price",
            None,
            json!([{"amount": "15.00", "currency": "USD"}, {"amount": "14.00", "currency": "EUR"}]),
        ),
    ];
    NewProduct {
        sku: sku.to_owned(),
        kind: ProductKind::Simple,
        family: "gadgets".to_owned(),
        parent: None,
        enabled: true,
        categories: vec!["electronics".to_owned()],
        values: values
            .into_iter()
            .map(|(attribute, locale, data)| ValueChange {
                key: ValueKey::new(attribute, locale, None),
                data: Some(data),
            })
            .collect(),
    }
}

/// The fixture schema and `products` gadgets `G-1`…, written by the system.
async fn catalog(app: &TestApp, products: usize) {
    app.seed_schema().await;
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    for n in 1..=products {
        write::create(
            app.db(),
            &schema,
            &Writer::System(Actor::system("test")),
            gadget(&format!("G-{n}"), &format!("Gadget {n}")),
            app.clock().now(),
        )
        .await
        .unwrap_or_else(|err| panic!("create G-{n}: {err}"));
    }
}

/// The background publisher as a server runs it, with `tick` between looks.
fn start_publisher(app: &TestApp, tick: Duration) -> tokio::task::JoinHandle<()> {
    let mut config = (*app.state.config).clone();
    config.publish_tick = tick;
    let state = AppState {
        config: Arc::new(config),
        ..app.state.clone()
    };
    sluice::publish::worker::spawn(state)
}

/// Every event of `channel` after `after`, through the feed API.
async fn feed(app: &TestApp, token: &str, channel: &str, after: i64) -> Vec<Value> {
    let page = app
        .api(
            Method::GET,
            &format!("/api/v1/channels/{channel}/feed?after={after}&limit=1000"),
            Some(token),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.json()["events"].as_array().expect("events").clone()
}

/// Polls the feed until an event after `after` satisfies `wanted`; panics
/// with `what` when none came within [`GENEROUS`].
async fn wait_for_event(
    app: &TestApp,
    token: &str,
    after: i64,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + GENEROUS;
    loop {
        if let Some(event) = feed(app, token, "web", after)
            .await
            .into_iter()
            .find(|e| wanted(e))
        {
            return event;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not reach the feed within {} s, though the publisher's tick is {} s: \
             nothing woke the publisher",
            GENEROUS.as_secs(),
            LONG_TICK.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `data` of the value `attribute` (first locale match) in a payload.
fn data_of<'a>(payload: &'a Value, attribute: &str, locale: Option<&str>) -> &'a Value {
    payload["values"][attribute]
        .as_array()
        .and_then(|values| {
            values
                .iter()
                .find(|v| v["locale"].as_str() == locale)
                .map(|v| &v["data"])
        })
        .unwrap_or(&Value::Null)
}

async fn a_save_and_an_approval_reach_the_feed_without_waiting_for_the_tick(app: TestApp) {
    catalog(&app, 1).await;
    let connector = app.user_token(&[Role::Viewer], "feed:* catalog:read").await;
    let editor = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    let publisher = start_publisher(&app, LONG_TICK);
    // The worker's first round at start publishes what exists.
    let first = wait_for_event(&app, &connector, 0, "the first round", |e| {
        e["sku"] == "G-1"
    })
    .await;
    let after = first["seq"].as_i64().expect("seq");

    // A merchandiser's fast-lane save (the API, as a script sends it:
    // If-Match with the version it read).
    let read = app
        .api(Method::GET, "/api/v1/products/G-1", Some(&editor))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let etag = read.header("etag").expect("etag").to_owned();
    let saved = app
        .api_json(
            Method::PATCH,
            "/api/v1/products/G-1",
            &editor,
            Some(json!({"values": {"search_boost": [{"locale": null, "channel": null, "data": "7.5"}]}})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let boosted = wait_for_event(&app, &connector, after, "a fast-lane save", |e| {
        data_of(&e["product"], "search_boost", None)
            .to_string()
            .contains("7.5")
    })
    .await;
    let after = boosted["seq"].as_i64().expect("seq");

    // A reviewed-lane change: a proposal, approved in the browser by
    // someone else.
    let read = app
        .api(Method::GET, "/api/v1/products/G-1", Some(&editor))
        .await;
    let etag = read.header("etag").expect("etag").to_owned();
    let proposed = app
        .api_json(
            Method::PATCH,
            "/api/v1/products/G-1",
            &editor,
            Some(json!({"values": {"name": [{"locale": "en_US", "channel": null, "data": "Gadget Pro"}]}})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(proposed.status, StatusCode::ACCEPTED, "{}", proposed.body);
    let id = proposed.json()["id"].as_i64().expect("proposal id");
    let approver = app.login_as(Role::Approver).await;
    let path = format!("/proposals/{id}");
    let approved = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    wait_for_event(&app, &connector, after, "an approval", |e| {
        data_of(&e["product"], "name", Some("en_US")) == "Gadget Pro"
    })
    .await;
    publisher.abort();
}
