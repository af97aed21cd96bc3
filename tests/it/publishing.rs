//! Governed publishing end to end (issue 6): nothing unapproved or unready
//! reaches a feed, held products keep their last good snapshot while
//! fast-lane values flow, deletes on disabling and leaving the channel's
//! tree, identical payloads publish nothing, feeds stay gapless under
//! concurrent publishers, the feed API's parameters, scopes and ETags, the
//! Google and Shopify formats, manual channels and the readiness endpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice::catalog::product::ProductKind;
use sluice::catalog::schema::{PublishMode, Schema};
use sluice::db::Db;
use sluice::publish::{feed, publisher};
use sluice::workflow::write::{self, ChangeSet, NewProduct};
use sqlx::Row;

use crate::seed::{self, Val, changes, setup_with, system};
use crate::{TestApp, TestResponse};

crate::db_tests!(
    unapproved_changes_never_reach_a_feed,
    an_unready_published_product_is_held_and_fast_lane_values_still_flow,
    disabling_publishes_a_delete_and_enabling_an_upsert,
    leaving_the_channel_tree_publishes_a_delete,
    identical_payloads_publish_nothing,
    feeds_stay_gapless_under_concurrent_publishers,
    feed_parameters_are_checked_and_pages_walk_the_feed,
    feed_tokens_reach_only_their_channel,
    channel_product_etag_and_not_modified,
    google_xml_export_is_valid_rss_with_every_required_field,
    tsv_and_shopify_csv_survive_tabs_commas_quotes_and_newlines,
    manual_channels_publish_only_when_asked,
    readiness_names_channel_locale_attribute_and_reason,
    the_export_command_catches_up_and_writes_whole_files,
);

// ---------------------------------------------------------------------------
// Catalog helpers
// ---------------------------------------------------------------------------

async fn setup(app: &TestApp) -> Schema {
    setup_with(app, |_| {}).await
}

fn new_product(
    sku: &str,
    kind: ProductKind,
    family: &str,
    parent: Option<&str>,
    categories: &[&str],
    values: &[Val<'_>],
) -> NewProduct {
    NewProduct {
        categories: seed::categories(categories),
        values: changes(values),
        ..seed::new_product(sku, kind, family, parent)
    }
}

/// A simple product made by the system (an approved write).
async fn create(
    app: &TestApp,
    schema: &Schema,
    sku: &str,
    family: &str,
    categories: &[&str],
    values: &[Val<'_>],
) {
    let product = new_product(sku, ProductKind::Simple, family, None, categories, values);
    app.create_as_system(schema, product).await;
}

/// An apparel model (name in both locales) with variants `(sku, color, size)`.
async fn create_model(
    app: &TestApp,
    schema: &Schema,
    sku: &str,
    name: &str,
    categories: &[&str],
    variants: &[(&str, &str, &str)],
) {
    let model_values = [
        ("name", Some("en_US"), None, json!(name)),
        ("name", Some("de_DE"), None, json!(format!("{name} (de)"))),
        (
            "description",
            Some("en_US"),
            None,
            json!("<p>Soft cotton.</p>"),
        ),
        (
            "base_price",
            None,
            None,
            json!([{"amount": "25.00", "currency": "USD"}]),
        ),
    ];
    let model = new_product(
        sku,
        ProductKind::Model,
        "apparel",
        None,
        categories,
        &model_values,
    );
    app.create_as_system(schema, model).await;
    for (variant, color, size) in variants {
        let values = [
            ("color", None, None, json!(color)),
            ("size", None, None, json!(size)),
        ];
        let product = new_product(
            variant,
            ProductKind::Variant,
            "apparel",
            Some(sku),
            &[],
            &values,
        );
        app.create_as_system(schema, product).await;
    }
}

/// Everything a gadget needs on `web` (name and description in en_US and
/// de_DE) and on `google` (title, description, a USD price).
fn gadget(name: &str) -> Vec<Val<'static>> {
    vec![
        ("name", Some("en_US"), None, json!(name)),
        ("name", Some("de_DE"), None, json!(format!("{name} DE"))),
        (
            "description",
            Some("en_US"),
            None,
            json!("<p>A fine gadget.</p>"),
        ),
        (
            "description",
            Some("de_DE"),
            None,
            json!("<p>Ein feines Gerät.</p>"),
        ),
        (
            "base_price",
            None,
            None,
            json!([{"amount": "15.00", "currency": "USD"}, {"amount": "14.00", "currency": "EUR"}]),
        ),
    ]
}

/// `values` with `extra` in place of any value of the same key.
fn with<'a>(mut values: Vec<Val<'a>>, extra: Vec<Val<'a>>) -> Vec<Val<'a>> {
    for value in extra {
        values.retain(|v| (v.0, v.1, v.2) != (value.0, value.1, value.2));
        values.push(value);
    }
    values
}

/// A system (approved) change to values; `Value::Null` data removes a value.
async fn system_values(app: &TestApp, schema: &Schema, sku: &str, values: &[Val<'_>]) {
    system_change(
        app,
        schema,
        sku,
        ChangeSet {
            values: changes(values),
            ..ChangeSet::default()
        },
    )
    .await;
}

async fn system_change(app: &TestApp, schema: &Schema, sku: &str, change: ChangeSet) {
    app.update_as_system(schema, sku, &change).await;
}

async fn set_enabled(app: &TestApp, schema: &Schema, sku: &str, enabled: bool) {
    system_change(
        app,
        schema,
        sku,
        ChangeSet {
            enabled: Some(enabled),
            ..ChangeSet::default()
        },
    )
    .await;
}

// ---------------------------------------------------------------------------
// People and the API
// ---------------------------------------------------------------------------

struct Tokens {
    /// A connector: every feed (and the catalog, for readiness).
    feed: String,
    editor: String,
    approver: String,
    admin: String,
}

async fn tokens(app: &TestApp) -> Tokens {
    Tokens {
        feed: app.user_token(&[Role::Viewer], "feed:* catalog:read").await,
        editor: app
            .user_token(&[Role::Editor], "catalog:read catalog:write")
            .await,
        approver: app
            .user_token(&[Role::Approver], "catalog:read catalog:write")
            .await,
        admin: app.user_token(&[Role::Admin], "admin catalog:read").await,
    }
}

fn one_value(data: Value) -> Value {
    json!([{"locale": null, "channel": null, "data": data}])
}

fn localized(locale: &str, data: Value) -> Value {
    json!([{"locale": locale, "channel": null, "data": data}])
}

async fn version_of(app: &TestApp, token: &str, sku: &str) -> i64 {
    let found = app
        .api(Method::GET, &format!("/api/v1/products/{sku}"), Some(token))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    found.json()["version"].as_i64().expect("version")
}

/// A PATCH by a person, based on the current version.
async fn patch(app: &TestApp, token: &str, sku: &str, body: Value) -> TestResponse {
    let version = version_of(app, token, sku).await;
    let tag = format!("\"{version}\"");
    app.api_json(
        Method::PATCH,
        &format!("/api/v1/products/{sku}"),
        token,
        Some(body),
        &[("if-match", &tag)],
    )
    .await
}

async fn approve(app: &TestApp, token: &str, id: i64) {
    let approved = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{id}/approve"),
            token,
            None,
            &[],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.json()["status"], "approved", "{}", approved.body);
}

// ---------------------------------------------------------------------------
// Feeds, snapshots, exports, readiness
// ---------------------------------------------------------------------------

/// The feed's head (last sequence number) as the counter row says.
async fn head(app: &TestApp, channel: &str) -> i64 {
    feed::head(app.db(), channel).await.expect("head")
}

/// Every event after `after`, through the API, page by page.
async fn events(app: &TestApp, token: &str, channel: &str, after: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = after;
    loop {
        let page = app
            .api(
                Method::GET,
                &format!("/api/v1/channels/{channel}/feed?after={after}&limit=1000"),
                Some(token),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let json = page.json();
        out.extend(json["events"].as_array().expect("events").iter().cloned());
        after = json["next_after"].as_i64().expect("next_after");
        if !json["has_more"].as_bool().expect("has_more") {
            return out;
        }
    }
}

/// The product as the channel has it now; `None` on 404.
async fn snapshot(app: &TestApp, token: &str, channel: &str, sku: &str) -> Option<Value> {
    let response = app
        .api(
            Method::GET,
            &format!("/api/v1/channels/{channel}/products/{sku}"),
            Some(token),
        )
        .await;
    match response.status {
        StatusCode::OK => Some(response.json()),
        StatusCode::NOT_FOUND => {
            assert_eq!(response.error_code(), "not_found");
            None
        }
        other => panic!("snapshot {channel}/{sku}: {other}: {}", response.body),
    }
}

async fn export(app: &TestApp, token: &str, channel: &str, file: &str) -> String {
    let response = app
        .api(
            Method::GET,
            &format!("/api/v1/channels/{channel}/{file}"),
            Some(token),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.body
}

/// The JSON Lines export: SKU → payload.
async fn export_jsonl(app: &TestApp, token: &str, channel: &str) -> BTreeMap<String, Value> {
    let body = export(app, token, channel, "export.jsonl").await;
    let mut out = BTreeMap::new();
    for line in body.lines() {
        let payload: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("export line is not JSON ({err}): {line}"));
        let sku = payload["sku"].as_str().expect("sku").to_owned();
        assert!(out.insert(sku, payload).is_none(), "one line per product");
    }
    out
}

async fn readiness(app: &TestApp, token: &str, sku: &str) -> Value {
    let response = app
        .api(
            Method::GET,
            &format!("/api/v1/products/{sku}/readiness"),
            Some(token),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

/// One channel's entry of a readiness answer.
fn on<'r>(readiness: &'r Value, channel: &str) -> &'r Value {
    readiness["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} in {readiness}"))
}

/// Every reason of one channel's entry, over all locales.
fn reasons(channel: &Value) -> Vec<Value> {
    channel["locales"]
        .as_array()
        .expect("locales")
        .iter()
        .flat_map(|l| l["reasons"].as_array().expect("reasons").iter().cloned())
        .collect()
}

/// The data of `attribute` in a channel payload, for `locale` (`None`: the
/// unlocalized value); `Null` when the payload does not carry it.
fn data(payload: &Value, attribute: &str, locale: Option<&str>) -> Value {
    payload["values"][attribute]
        .as_array()
        .and_then(|entries| entries.iter().find(|e| e["locale"].as_str() == locale))
        .map_or(Value::Null, |e| e["data"].clone())
}

/// A price's amount in `currency` from a channel payload.
fn price(payload: &Value, currency: &str) -> Option<String> {
    data(payload, "base_price", None)
        .as_array()?
        .iter()
        .find(|p| p["currency"] == currency)
        .and_then(|p| p["amount"].as_str())
        .map(str::to_owned)
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Nothing unapproved reaches a channel
// ---------------------------------------------------------------------------

const PROFILE: &str = r#"
code = "pub-erp"
label = "Publishing test ERP"
identifier = "sku"
family = { fixed = "gadgets" }

[[columns]]
column = "name_en"
attribute = "name"
locale = "en_US"
seed = true

[[columns]]
column = "name_de"
attribute = "name"
locale = "de_DE"
seed = true

[[columns]]
column = "description_en"
attribute = "description"
locale = "en_US"
seed = true

[[columns]]
column = "description_de"
attribute = "description"
locale = "de_DE"
seed = true

[[columns]]
column = "price"
attribute = "base_price"
currency = "USD"

[[columns]]
column = "gtin"
attribute = "gtin"
"#;

const ERP_HEADER: &str = "sku,name_en,name_de,description_en,description_de,price,gtin\n";

async fn import(app: &TestApp, token: &str, rows: &str) -> Value {
    app.import_csv(token, "pub-erp", format!("{ERP_HEADER}{rows}").into_bytes())
        .await
}

async fn unapproved_changes_never_reach_a_feed(app: TestApp) {
    setup(&app).await;
    sluice::import::profiles::put(
        app.db().pool(),
        "pub-erp",
        PROFILE,
        "test",
        app.clock().now(),
    )
    .await
    .expect("profile");
    let t = tokens(&app).await;
    let importer = app.user_token(&[Role::Editor], "import catalog:read").await;

    // The ERP creates a product with everything web and google need; it
    // arrives disabled, so nothing is published yet.
    let job = import(
        &app,
        &importer,
        "P-1,Kettle,Wasserkocher,<p>Boils water.</p>,<p>Kocht Wasser.</p>,15.00,4006381333931\n",
    )
    .await;
    assert_eq!(job["counts"]["created"], 1, "{job}");
    assert_eq!(job["counts"]["failed"], 0, "{job}");
    app.settle().await;
    assert_eq!(head(&app, "web").await, 0);
    assert_eq!(head(&app, "google").await, 0);
    let ready = readiness(&app, &t.feed, "P-1").await;
    assert_eq!(on(&ready, "web")["ready"], false, "{ready}");
    assert_eq!(on(&ready, "web")["publication"], "none", "{ready}");
    assert!(
        reasons(on(&ready, "web"))
            .iter()
            .any(|r| r["kind"] == "disabled"),
        "{ready}"
    );
    assert!(snapshot(&app, &t.feed, "web", "P-1").await.is_none());

    // An editor enables it: a proposal, which publishes nothing.
    let enabling = patch(&app, &t.editor, "P-1", json!({"enabled": true})).await;
    assert_eq!(enabling.status, StatusCode::ACCEPTED, "{}", enabling.body);
    let enabling = enabling.json()["id"].as_i64().expect("proposal id");
    app.settle().await;
    assert_eq!(head(&app, "web").await, 0, "a proposal publishes nothing");
    assert_eq!(head(&app, "google").await, 0);

    // Approved: exactly one upsert per channel.
    approve(&app, &t.approver, enabling).await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", 0).await;
    assert_eq!(web.len(), 1, "{web:?}");
    assert_eq!(web[0]["seq"], 1);
    assert_eq!(web[0]["op"], "upsert");
    assert_eq!(web[0]["sku"], "P-1");
    assert_eq!(data(&web[0]["product"], "name", Some("en_US")), "Kettle");
    assert_eq!(
        data(&web[0]["product"], "name", Some("de_DE")),
        "Wasserkocher"
    );
    assert_eq!(events(&app, &t.feed, "google", 0).await.len(), 1);
    assert_eq!(
        snapshot(&app, &t.feed, "web", "P-1").await.as_ref(),
        Some(&web[0]["product"]),
        "the snapshot is what the feed said"
    );

    // An editor proposes a new name: master, feed, snapshot and export keep
    // the approved one.
    let rename = patch(
        &app,
        &t.editor,
        "P-1",
        json!({"values": {"name": localized("en_US", json!("Electric kettle"))}}),
    )
    .await;
    assert_eq!(rename.status, StatusCode::ACCEPTED, "{}", rename.body);
    let rename = rename.json()["id"].as_i64().expect("proposal id");
    app.settle().await;
    assert_eq!(head(&app, "web").await, 1, "no event for a proposal");
    assert_eq!(head(&app, "google").await, 1, "no event for a proposal");
    let snap = snapshot(&app, &t.feed, "web", "P-1")
        .await
        .expect("published");
    assert_eq!(data(&snap, "name", Some("en_US")), "Kettle");
    let exported = export_jsonl(&app, &t.feed, "web").await;
    assert_eq!(exported.len(), 1);
    assert_eq!(data(&exported["P-1"], "name", Some("en_US")), "Kettle");
    let google_export = export(&app, &t.feed, "google", "export.xml").await;
    assert!(google_export.contains("<g:title>Kettle</g:title>"));
    assert!(!google_export.contains("Electric"), "{google_export}");

    // The ERP sends a new price (fast lane: flows) and a new GTIN (reviewed
    // lane: an import proposal, which does not).
    let job = import(
        &app,
        &importer,
        "P-1,Kettle,Wasserkocher,<p>Boils water.</p>,<p>Kocht Wasser.</p>,17.50,0025000044984\n",
    )
    .await;
    assert_eq!(job["counts"]["failed"], 0, "{job}");
    assert_eq!(job["counts"]["proposed"], 1, "{job}");
    app.settle().await;
    let web = events(&app, &t.feed, "web", 1).await;
    assert_eq!(web.len(), 1, "one upsert for the price: {web:?}");
    let product = &web[0]["product"];
    assert_eq!(price(product, "USD").as_deref(), Some("17.50"), "{product}");
    assert_eq!(data(product, "gtin", None), "4006381333931", "{product}");
    assert_eq!(data(product, "name", Some("en_US")), "Kettle");
    assert_eq!(events(&app, &t.feed, "google", 1).await.len(), 1);
    let listed = app
        .api(
            Method::GET,
            "/api/v1/proposals?status=submitted&sku=P-1",
            Some(&t.approver),
        )
        .await
        .json();
    let gtin_proposal = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| {
            p["changes"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["attribute"] == "gtin"))
        })
        .unwrap_or_else(|| panic!("an import proposal for gtin: {listed}"))["id"]
        .as_i64()
        .expect("id");

    // The approver approves the name: exactly one upsert with it, and the
    // GTIN still the approved one.
    approve(&app, &t.approver, rename).await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", 2).await;
    assert_eq!(web.len(), 1, "{web:?}");
    assert_eq!(web[0]["seq"], 3);
    assert_eq!(web[0]["op"], "upsert");
    let product = &web[0]["product"];
    assert_eq!(data(product, "name", Some("en_US")), "Electric kettle");
    assert_eq!(data(product, "gtin", None), "4006381333931");
    assert_eq!(price(product, "USD").as_deref(), Some("17.50"));

    approve(&app, &t.approver, gtin_proposal).await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", 3).await;
    assert_eq!(web.len(), 1, "{web:?}");
    assert_eq!(data(&web[0]["product"], "gtin", None), "0025000044984");
    assert_eq!(
        snapshot(&app, &t.feed, "web", "P-1").await.as_ref(),
        Some(&web[0]["product"])
    );
    assert_eq!(
        export_jsonl(&app, &t.feed, "web").await.get("P-1"),
        Some(&web[0]["product"])
    );
    assert_eq!(head(&app, "web").await, 4);
}

// ---------------------------------------------------------------------------
// 2. Held at the last good snapshot
// ---------------------------------------------------------------------------

async fn an_unready_published_product_is_held_and_fast_lane_values_still_flow(app: TestApp) {
    let schema = setup(&app).await;
    let t = tokens(&app).await;
    create(&app, &schema, "G-1", "gadgets", &[], &gadget("Radio")).await;
    app.settle().await;
    let good = snapshot(&app, &t.feed, "web", "G-1")
        .await
        .expect("published");
    let (web0, google0) = (head(&app, "web").await, head(&app, "google").await);
    assert_eq!((web0, google0), (1, 1));

    // An approved change removes a value web requires (in de_DE only).
    system_values(
        &app,
        &schema,
        "G-1",
        &[("description", Some("de_DE"), None, Value::Null)],
    )
    .await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", web0).await;
    assert!(web.is_empty(), "held, not deleted nor changed: {web:?}");
    assert_eq!(
        snapshot(&app, &t.feed, "web", "G-1").await.as_ref(),
        Some(&good),
        "web still answers the last good payload"
    );
    assert_eq!(
        data(&good, "description", Some("de_DE")),
        "<p>Ein feines Gerät.</p>"
    );
    let ready = readiness(&app, &t.feed, "G-1").await;
    let on_web = on(&ready, "web");
    assert_eq!(on_web["ready"], false, "{ready}");
    assert_eq!(on_web["publication"], "held", "{ready}");
    let de = on_web["locales"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["locale"] == "de_DE")
        .expect("de_DE");
    assert_eq!(de["ready"], false);
    assert!(
        de["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "missing"
                && r["attribute"] == "description"
                && r["locale"] == "de_DE"),
        "{de}"
    );
    let en = on_web["locales"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["locale"] == "en_US")
        .expect("en_US");
    assert_eq!(en["ready"], true, "{en}");
    // google carries only en_US: nothing changed there.
    assert_eq!(on(&ready, "google")["publication"], "published", "{ready}");
    assert_eq!(on(&ready, "google")["ready"], true, "{ready}");
    assert_eq!(head(&app, "google").await, google0);
    // The held product stays in the export, with its last good content.
    assert_eq!(
        export_jsonl(&app, &t.feed, "web").await.get("G-1"),
        Some(&good)
    );

    // A fast-lane change by an editor flows onto the held snapshot.
    let boost = patch(
        &app,
        &t.editor,
        "G-1",
        json!({"values": {"search_boost": one_value(json!("7"))}}),
    )
    .await;
    assert_eq!(boost.status, StatusCode::OK, "fast lane: {}", boost.body);
    app.settle().await;
    let web = events(&app, &t.feed, "web", web0).await;
    assert_eq!(web.len(), 1, "{web:?}");
    assert_eq!(web[0]["op"], "upsert");
    let held = &web[0]["product"];
    assert_eq!(data(held, "search_boost", None), json!("7"), "{held}");
    assert_eq!(
        data(held, "description", Some("de_DE")),
        "<p>Ein feines Gerät.</p>",
        "the old good content stays: {held}"
    );
    assert_eq!(
        snapshot(&app, &t.feed, "web", "G-1").await.as_ref(),
        Some(held)
    );
    assert_eq!(
        on(&readiness(&app, &t.feed, "G-1").await, "web")["publication"],
        "held"
    );

    // So does an ERP price.
    system_values(
        &app,
        &schema,
        "G-1",
        &[(
            "base_price",
            None,
            None,
            json!([{"amount": "19.99", "currency": "USD"}, {"amount": "14.00", "currency": "EUR"}]),
        )],
    )
    .await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", web0 + 1).await;
    assert_eq!(web.len(), 1, "{web:?}");
    let held = &web[0]["product"];
    assert_eq!(price(held, "USD").as_deref(), Some("19.99"), "{held}");
    assert_eq!(data(held, "search_boost", None), json!("7"));
    assert_eq!(
        data(held, "description", Some("de_DE")),
        "<p>Ein feines Gerät.</p>"
    );

    // An approved content change waits while the product is held: the
    // snapshot is the last *ready* one, not a mix.
    let web_before = head(&app, "web").await;
    system_values(
        &app,
        &schema,
        "G-1",
        &[("name", Some("en_US"), None, json!("Radio Pro"))],
    )
    .await;
    app.settle().await;
    assert!(
        events(&app, &t.feed, "web", web_before).await.is_empty(),
        "content of a held product waits"
    );
    let snap = snapshot(&app, &t.feed, "web", "G-1").await.unwrap();
    assert_eq!(data(&snap, "name", Some("en_US")), "Radio");
    // google is ready: the new name goes there.
    let google = events(&app, &t.feed, "google", head(&app, "google").await - 1).await;
    assert_eq!(
        data(&google[0]["product"], "name", Some("en_US")),
        "Radio Pro"
    );

    // Ready again: one upsert with everything current, published again.
    system_values(
        &app,
        &schema,
        "G-1",
        &[(
            "description",
            Some("de_DE"),
            None,
            json!("<p>Wieder da.</p>"),
        )],
    )
    .await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", web_before).await;
    assert_eq!(web.len(), 1, "{web:?}");
    let product = &web[0]["product"];
    assert_eq!(data(product, "name", Some("en_US")), "Radio Pro");
    assert_eq!(
        data(product, "description", Some("de_DE")),
        "<p>Wieder da.</p>"
    );
    assert_eq!(price(product, "USD").as_deref(), Some("19.99"));
    let ready = readiness(&app, &t.feed, "G-1").await;
    assert_eq!(on(&ready, "web")["publication"], "published", "{ready}");
    assert_eq!(on(&ready, "web")["ready"], true, "{ready}");
    let all = events(&app, &t.feed, "web", 0).await;
    assert!(
        all.iter().all(|e| e["op"] == "upsert"),
        "never a delete: {all:?}"
    );

    // A requirement added later holds published products; it deletes nothing.
    let good = snapshot(&app, &t.feed, "web", "G-1").await.unwrap();
    let web_before = head(&app, "web").await;
    setup_with(&app, |schema| {
        let gadgets = schema
            .families
            .iter_mut()
            .find(|f| f.code == "gadgets")
            .unwrap();
        gadgets
            .requirements
            .get_mut("web")
            .unwrap()
            .push("gtin".to_owned());
    })
    .await;
    app.settle().await;
    assert!(events(&app, &t.feed, "web", web_before).await.is_empty());
    let ready = readiness(&app, &t.feed, "G-1").await;
    assert_eq!(on(&ready, "web")["publication"], "held", "{ready}");
    assert!(
        reasons(on(&ready, "web"))
            .iter()
            .any(|r| r["kind"] == "missing" && r["attribute"] == "gtin"),
        "{ready}"
    );
    assert_eq!(
        snapshot(&app, &t.feed, "web", "G-1").await.as_ref(),
        Some(&good)
    );
}

// ---------------------------------------------------------------------------
// 3. Deletes
// ---------------------------------------------------------------------------

async fn disabling_publishes_a_delete_and_enabling_an_upsert(app: TestApp) {
    let schema = setup(&app).await;
    let t = tokens(&app).await;
    create(&app, &schema, "G-1", "gadgets", &[], &gadget("Radio")).await;
    create(&app, &schema, "G-2", "gadgets", &[], &gadget("Lamp")).await;
    app.settle().await;
    assert_eq!(head(&app, "web").await, 2);
    assert_eq!(head(&app, "google").await, 2);

    set_enabled(&app, &schema, "G-1", false).await;
    app.settle().await;
    for channel in ["web", "google"] {
        let new = events(&app, &t.feed, channel, 2).await;
        assert_eq!(new.len(), 1, "{channel}: {new:?}");
        assert_eq!(new[0]["seq"], 3);
        assert_eq!(new[0]["op"], "delete", "{channel}");
        assert_eq!(new[0]["sku"], "G-1");
        assert!(
            new[0].get("product").is_some_and(Value::is_null),
            "a delete carries \"product\": null: {}",
            new[0]
        );
        assert!(snapshot(&app, &t.feed, channel, "G-1").await.is_none());
    }
    let ready = readiness(&app, &t.feed, "G-1").await;
    assert_eq!(on(&ready, "web")["publication"], "none", "{ready}");
    assert!(
        reasons(on(&ready, "web"))
            .iter()
            .any(|r| r["kind"] == "disabled")
    );
    let exported = export_jsonl(&app, &t.feed, "web").await;
    assert_eq!(
        exported.keys().collect::<Vec<_>>(),
        ["G-2"],
        "a deleted product leaves the export"
    );

    // A deleted product gets no more events, whatever changes on it.
    system_values(
        &app,
        &schema,
        "G-1",
        &[("search_boost", None, None, json!("3"))],
    )
    .await;
    app.settle().await;
    assert_eq!(head(&app, "web").await, 3, "no second delete, no upsert");
    assert_eq!(head(&app, "google").await, 3);

    // Enabled (and ready) again: an upsert with the current values.
    set_enabled(&app, &schema, "G-1", true).await;
    app.settle().await;
    for channel in ["web", "google"] {
        let new = events(&app, &t.feed, channel, 3).await;
        assert_eq!(new.len(), 1, "{channel}: {new:?}");
        assert_eq!(new[0]["op"], "upsert");
        assert_eq!(new[0]["sku"], "G-1");
        assert_eq!(data(&new[0]["product"], "search_boost", None), json!("3"));
        assert!(snapshot(&app, &t.feed, channel, "G-1").await.is_some());
    }

    // A held product that is disabled is deleted too.
    system_values(
        &app,
        &schema,
        "G-2",
        &[("description", Some("de_DE"), None, Value::Null)],
    )
    .await;
    app.settle().await;
    assert_eq!(head(&app, "web").await, 4, "held: no event");
    assert_eq!(
        on(&readiness(&app, &t.feed, "G-2").await, "web")["publication"],
        "held"
    );
    set_enabled(&app, &schema, "G-2", false).await;
    app.settle().await;
    let new = events(&app, &t.feed, "web", 4).await;
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        (&new[0]["op"], &new[0]["sku"]),
        (&json!("delete"), &json!("G-2"))
    );
    assert!(snapshot(&app, &t.feed, "web", "G-2").await.is_none());

    // Disabling a model deletes its variants (never the model, which was
    // never published) and only them.
    create_model(
        &app,
        &schema,
        "M-1",
        "Tee",
        &[],
        &[("M-1-RED-S", "red", "s"), ("M-1-BLUE-M", "blue", "m")],
    )
    .await;
    app.settle().await;
    let before = head(&app, "web").await;
    let published = events(&app, &t.feed, "web", 5).await;
    let skus: BTreeSet<&str> = published
        .iter()
        .map(|e| e["sku"].as_str().unwrap())
        .collect();
    assert_eq!(
        skus,
        BTreeSet::from(["M-1-BLUE-M", "M-1-RED-S"]),
        "variants only, never the model: {published:?}"
    );
    assert_eq!(published[0]["product"]["group_id"], "M-1");
    assert!(
        snapshot(&app, &t.feed, "web", "M-1").await.is_none(),
        "a model is never published itself"
    );
    // A change on the model reaches every variant.
    system_values(
        &app,
        &schema,
        "M-1",
        &[("name", Some("en_US"), None, json!("Tee shirt"))],
    )
    .await;
    app.settle().await;
    let renamed = events(&app, &t.feed, "web", before).await;
    assert_eq!(renamed.len(), 2, "{renamed:?}");
    for event in &renamed {
        assert_eq!(event["op"], "upsert");
        assert_eq!(data(&event["product"], "name", Some("en_US")), "Tee shirt");
    }
    let before = before + 2;
    set_enabled(&app, &schema, "M-1", false).await;
    app.settle().await;
    let new = events(&app, &t.feed, "web", before).await;
    let deleted: BTreeSet<&str> = new
        .iter()
        .filter(|e| e["op"] == "delete")
        .map(|e| e["sku"].as_str().unwrap())
        .collect();
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(deleted, BTreeSet::from(["M-1-BLUE-M", "M-1-RED-S"]));
    let ready = readiness(&app, &t.feed, "M-1-RED-S").await;
    assert!(
        reasons(on(&ready, "web"))
            .iter()
            .any(|r| r["kind"] == "model_disabled"),
        "{ready}"
    );
}

async fn leaving_the_channel_tree_publishes_a_delete(app: TestApp) {
    // web sells clothing only; google everything.
    let schema = setup_with(&app, |schema| {
        let web = schema
            .channels
            .iter_mut()
            .find(|c| c.code == "web")
            .unwrap();
        web.category_root = Some("clothing".to_owned());
    })
    .await;
    let t = tokens(&app).await;
    create(
        &app,
        &schema,
        "S-1",
        "gadgets",
        &["shirts"],
        &gadget("Shirt"),
    )
    .await;
    create(
        &app,
        &schema,
        "E-1",
        "gadgets",
        &["electronics"],
        &gadget("Radio"),
    )
    .await;
    create(&app, &schema, "N-1", "gadgets", &[], &gadget("Nowhere")).await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", 0).await;
    assert_eq!(
        web.iter().map(|e| e["sku"].clone()).collect::<Vec<_>>(),
        [json!("S-1")],
        "only what is under clothing: {web:?}"
    );
    assert_eq!(head(&app, "google").await, 3);
    for sku in ["E-1", "N-1"] {
        let ready = readiness(&app, &t.feed, sku).await;
        assert_eq!(on(&ready, "web")["ready"], false, "{ready}");
        assert!(
            reasons(on(&ready, "web"))
                .iter()
                .any(|r| r["kind"] == "not_in_channel"),
            "{ready}"
        );
    }

    // Moved out of the tree: a delete on web; google only sees new categories.
    system_change(
        &app,
        &schema,
        "S-1",
        ChangeSet {
            categories: Some(vec!["electronics".to_owned()]),
            ..ChangeSet::default()
        },
    )
    .await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", 1).await;
    assert_eq!(web.len(), 1, "{web:?}");
    assert_eq!(web[0]["op"], "delete");
    assert_eq!(web[0]["sku"], "S-1");
    assert!(web[0]["product"].is_null());
    assert!(snapshot(&app, &t.feed, "web", "S-1").await.is_none());
    let google = events(&app, &t.feed, "google", 3).await;
    assert_eq!(google.len(), 1, "{google:?}");
    assert_eq!(google[0]["op"], "upsert");

    // Back in (one category inside is enough): an upsert.
    system_change(
        &app,
        &schema,
        "S-1",
        ChangeSet {
            categories: Some(vec!["electronics".to_owned(), "clothing".to_owned()]),
            ..ChangeSet::default()
        },
    )
    .await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", 2).await;
    assert_eq!(web.len(), 1, "{web:?}");
    assert_eq!(web[0]["op"], "upsert");
    assert_eq!(web[0]["sku"], "S-1");
}

// ---------------------------------------------------------------------------
// 4. Identical payloads publish nothing
// ---------------------------------------------------------------------------

async fn identical_payloads_publish_nothing(app: TestApp) {
    let schema = setup(&app).await;
    let t = tokens(&app).await;
    create(&app, &schema, "G-1", "gadgets", &[], &gadget("Radio")).await;
    app.settle().await;
    let (web0, google0) = (head(&app, "web").await, head(&app, "google").await);
    assert_eq!((web0, google0), (1, 1));

    // Settling again, and republishing everything, change nothing.
    app.settle().await;
    for channel in ["web", "google"] {
        let republished = app
            .api_json(
                Method::POST,
                &format!("/api/v1/channels/{channel}/republish"),
                &t.admin,
                None,
                &[],
            )
            .await;
        let job = crate::trust_jobs::run_queued_job(&app, &t.admin, &republished).await;
        assert_eq!(job["result"]["events"], 0, "{job}");
    }
    assert_eq!(head(&app, "web").await, web0);
    assert_eq!(head(&app, "google").await, google0);

    // A description for google only: google changes, web does not.
    system_values(
        &app,
        &schema,
        "G-1",
        &[(
            "description",
            Some("en_US"),
            Some("google"),
            json!("<p>For Google.</p>"),
        )],
    )
    .await;
    app.settle().await;
    assert_eq!(head(&app, "web").await, web0, "web does not carry it");
    let google = events(&app, &t.feed, "google", google0).await;
    assert_eq!(google.len(), 1, "{google:?}");
    assert_eq!(
        data(&google[0]["product"], "description", Some("en_US")),
        "<p>For Google.</p>"
    );
    let google0 = google0 + 1;

    // A de_DE name: web changes, google (en_US only) does not.
    system_values(
        &app,
        &schema,
        "G-1",
        &[("name", Some("de_DE"), None, json!("Funkgerät"))],
    )
    .await;
    app.settle().await;
    assert_eq!(head(&app, "google").await, google0, "google has no de_DE");
    assert_eq!(events(&app, &t.feed, "web", web0).await.len(), 1);
    let web0 = web0 + 1;

    // A EUR price: web changes, google (USD only) does not.
    system_values(
        &app,
        &schema,
        "G-1",
        &[(
            "base_price",
            None,
            None,
            json!([{"amount": "15.00", "currency": "USD"}, {"amount": "13.00", "currency": "EUR"}]),
        )],
    )
    .await;
    app.settle().await;
    assert_eq!(head(&app, "google").await, google0, "google has no EUR");
    assert_eq!(events(&app, &t.feed, "web", web0).await.len(), 1);
    let web0 = web0 + 1;

    // A value changed and changed back before the publisher looked: the
    // payload is the same, so nothing is published.
    system_values(
        &app,
        &schema,
        "G-1",
        &[("search_boost", None, None, json!("5"))],
    )
    .await;
    system_values(
        &app,
        &schema,
        "G-1",
        &[("search_boost", None, None, Value::Null)],
    )
    .await;
    app.settle().await;
    assert_eq!(head(&app, "web").await, web0);
    assert_eq!(head(&app, "google").await, google0);

    // A description for a channel the product's google payload overrides
    // anyway: the global en_US description changes, google keeps its own.
    system_values(
        &app,
        &schema,
        "G-1",
        &[(
            "description",
            Some("en_US"),
            None,
            json!("<p>A finer gadget.</p>"),
        )],
    )
    .await;
    app.settle().await;
    assert_eq!(
        head(&app, "google").await,
        google0,
        "google's own description wins"
    );
    assert_eq!(events(&app, &t.feed, "web", web0).await.len(), 1);
    let web0 = web0 + 1;

    // A schema change that touches no payload (a group's label) makes the
    // publisher judge everything again, and publish nothing.
    setup_with(&app, |schema| {
        let group = schema
            .groups
            .iter_mut()
            .find(|g| g.code == "marketing")
            .unwrap();
        group
            .labels
            .insert("en_US".to_owned(), "Marketing copy".to_owned());
    })
    .await;
    app.settle().await;
    assert_eq!(head(&app, "web").await, web0);
    assert_eq!(head(&app, "google").await, google0);

    // One that does (web stops selling in EUR): one upsert on web only.
    let schema = setup_with(&app, |schema| {
        let web = schema
            .channels
            .iter_mut()
            .find(|c| c.code == "web")
            .unwrap();
        web.currencies = vec!["USD".to_owned()];
    })
    .await;
    app.settle().await;
    let web = events(&app, &t.feed, "web", web0).await;
    assert_eq!(web.len(), 1, "{web:?}");
    assert_eq!(price(&web[0]["product"], "EUR"), None);
    assert_eq!(price(&web[0]["product"], "USD").as_deref(), Some("15.00"));
    assert_eq!(head(&app, "google").await, google0);
    let web0 = web0 + 1;

    // Held, then ready again with exactly the content it was held at: no
    // event either way, and the publication is "published" again.
    system_values(
        &app,
        &schema,
        "G-1",
        &[("description", Some("de_DE"), None, Value::Null)],
    )
    .await;
    app.settle().await;
    assert_eq!(
        on(&readiness(&app, &t.feed, "G-1").await, "web")["publication"],
        "held"
    );
    system_values(
        &app,
        &schema,
        "G-1",
        &[(
            "description",
            Some("de_DE"),
            None,
            json!("<p>Ein feines Gerät.</p>"),
        )],
    )
    .await;
    app.settle().await;
    let ready = readiness(&app, &t.feed, "G-1").await;
    assert_eq!(on(&ready, "web")["publication"], "published", "{ready}");
    assert_eq!(head(&app, "web").await, web0, "the same payload throughout");
    assert_eq!(head(&app, "google").await, google0);
}

// ---------------------------------------------------------------------------
// 5. Gapless under concurrent publishers
// ---------------------------------------------------------------------------

const BULK: usize = 300;

/// A GET through the router from another task.
async fn get_json(router: &axum::Router, path: &str, token: &str) -> (StatusCode, Value) {
    use tower::ServiceExt;
    let request = axum::http::Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("router");
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn feeds_stay_gapless_under_concurrent_publishers(app: TestApp) {
    let schema = Arc::new(setup(&app).await);
    let t = tokens(&app).await;
    let now = app.clock().now();
    for batch in 0..3 {
        let mut tx = app.db().begin_write().await.expect("tx");
        for i in 0..BULK / 3 {
            let sku = format!("C-{:03}", batch * (BULK / 3) + i);
            let values = gadget(&sku);
            write::create_in(
                &mut tx,
                &schema,
                &system(),
                new_product(&sku, ProductKind::Simple, "gadgets", None, &[], &values),
                now,
            )
            .await
            .unwrap_or_else(|err| panic!("create {sku}: {err}"));
        }
        tx.commit().await.expect("commit");
    }

    // Several "app nodes", each with its own pool.
    let url = app.state.config.database_url.clone();
    let writing_done = Arc::new(AtomicBool::new(false));
    let publishing_done = Arc::new(AtomicBool::new(false));
    let mut publishers = Vec::new();
    for _ in 0..4 {
        let db = Db::connect(&url, 2).await.expect("publisher pool");
        let schema = schema.clone();
        let done = writing_done.clone();
        publishers.push(tokio::spawn(async move {
            let mut rounds = 0_usize;
            loop {
                let round = publisher::follow_once(&db, &schema, "http://127.0.0.1:8080", now)
                    .await
                    .expect("follow_once");
                rounds += 1;
                if round.products == 0 {
                    if done.load(Ordering::SeqCst)
                        && publisher::backlog(&db).await.expect("backlog") == 0
                    {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            db.close().await;
            rounds
        }));
    }
    let republisher = {
        let db = Db::connect(&url, 2).await.expect("republisher pool");
        let schema = schema.clone();
        tokio::spawn(async move {
            let mut events = 0;
            for _ in 0..3 {
                for channel in ["web", "google"] {
                    events += publisher::republish_all(
                        &db,
                        &schema,
                        "http://127.0.0.1:8080",
                        channel,
                        now,
                    )
                    .await
                    .expect("republish_all")
                    .events;
                }
            }
            db.close().await;
            events
        })
    };
    // A connector paging through web's feed while all this happens.
    let reader = {
        let router = app.router.clone();
        let token = t.feed.clone();
        let done = publishing_done.clone();
        tokio::spawn(async move {
            let mut seen: Vec<i64> = Vec::new();
            let mut after = 0_i64;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (status, page) = get_json(
                    &router,
                    &format!("/api/v1/channels/web/feed?after={after}&limit=37"),
                    &token,
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{page}");
                let events = page["events"].as_array().expect("events");
                let page_seqs = seqs(events);
                for (i, event) in events.iter().enumerate() {
                    let seq = event["seq"].as_i64().expect("seq");
                    assert_eq!(
                        seq,
                        after + 1 + i64::try_from(i).unwrap(),
                        "the reader after {after} would skip or repeat: page {page_seqs:?}"
                    );
                    match event["op"].as_str() {
                        Some("upsert") => assert_eq!(event["product"]["sku"], event["sku"]),
                        Some("delete") => assert!(event["product"].is_null()),
                        other => panic!("op {other:?}"),
                    }
                    seen.push(seq);
                }
                if let Some(last) = seen.last() {
                    after = *last;
                }
                assert_eq!(page["next_after"], after, "page {page_seqs:?}");
                if events.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
        })
    };

    // More writes while they run: prices, disables, re-enables, new products.
    let writer_db = Db::connect(&url, 2).await.expect("writer pool");
    for i in 0..60_usize {
        let sku = format!("C-{:03}", (i * 37) % BULK);
        let amount = format!("{}.{:02}", 20 + i, i % 100);
        write::update(
            &writer_db,
            &schema,
            &system(),
            &sku,
            None,
            &ChangeSet {
                values: changes(&[(
                    "base_price",
                    None,
                    None,
                    json!([{"amount": amount, "currency": "USD"}, {"amount": "14.00", "currency": "EUR"}]),
                )]),
                ..ChangeSet::default()
            },
            now,
        )
        .await
        .unwrap_or_else(|err| panic!("price {sku}: {err}"));
        if i % 6 == 0 {
            let sku = format!("C-{:03}", (i * 11) % BULK);
            let enabled = i % 12 != 0;
            write::update(
                &writer_db,
                &schema,
                &system(),
                &sku,
                None,
                &ChangeSet {
                    enabled: Some(enabled),
                    ..ChangeSet::default()
                },
                now,
            )
            .await
            .unwrap_or_else(|err| panic!("enable {sku}: {err}"));
        }
        if i % 20 == 0 {
            let mut tx = writer_db.begin_write().await.expect("tx");
            for j in 0..10 {
                let sku = format!("N-{i:02}-{j}");
                let values = gadget(&sku);
                write::create_in(
                    &mut tx,
                    &schema,
                    &system(),
                    new_product(&sku, ProductKind::Simple, "gadgets", None, &[], &values),
                    now,
                )
                .await
                .unwrap_or_else(|err| panic!("create {sku}: {err}"));
            }
            tx.commit().await.expect("commit");
        }
    }
    writer_db.close().await;
    writing_done.store(true, Ordering::SeqCst);
    for publisher in publishers {
        publisher.await.expect("publisher task");
    }
    republisher.await.expect("republisher task");
    app.settle().await;
    publishing_done.store(true, Ordering::SeqCst);
    let read = reader.await.expect("reader task");

    for channel in ["web", "google"] {
        let head = head(&app, channel).await;
        let rows = sqlx::query("SELECT seq FROM feed_events WHERE channel = $1 ORDER BY seq")
            .bind(channel)
            .fetch_all(app.db().pool())
            .await
            .expect("events");
        let stored: Vec<i64> = rows.iter().map(|r| r.get("seq")).collect();
        assert_eq!(
            stored,
            (1..=head).collect::<Vec<_>>(),
            "{channel}: exactly 1..=head"
        );
        assert!(
            head >= i64::try_from(BULK).unwrap(),
            "{channel}: every product published"
        );

        // Each product's last event is its publication.
        let rows = sqlx::query(
            "SELECT e.product_id, e.seq, e.op, e.payload, p.state, p.hash AS published, \
             p.seq AS publication_seq FROM feed_events e \
             JOIN publications p ON p.channel = e.channel AND p.product_id = e.product_id \
             WHERE e.channel = $1 AND e.seq = (SELECT MAX(seq) FROM feed_events l \
             WHERE l.channel = e.channel AND l.product_id = e.product_id)",
        )
        .bind(channel)
        .fetch_all(app.db().pool())
        .await
        .expect("last events");
        let products: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT product_id) AS n FROM feed_events WHERE channel = $1",
        )
        .bind(channel)
        .fetch_one(app.db().pool())
        .await
        .expect("count")
        .get("n");
        assert_eq!(
            i64::try_from(rows.len()).unwrap(),
            products,
            "{channel}: every product with events has a publication"
        );
        for row in &rows {
            let op: String = row.get("op");
            let state: String = row.get("state");
            let payload: Option<String> = row.get("payload");
            let published: Option<String> = row.get("published");
            let seq: i64 = row.get("seq");
            let publication_seq: i64 = row.get("publication_seq");
            assert_eq!(publication_seq, seq, "{channel}: the publication's seq");
            match op.as_str() {
                "delete" => {
                    assert_eq!(state, "deleted");
                    assert!(payload.is_none());
                }
                _ => {
                    assert_eq!(op, "upsert");
                    assert_eq!(state, "published");
                    assert_eq!(
                        payload.as_deref().map(sluice::publish::payload::hash),
                        published,
                        "{channel}: the last event is the snapshot"
                    );
                }
            }
        }
    }

    // Publications agree with master: enabled products are published,
    // disabled ones deleted, and republishing everything finds nothing new.
    let enabled: i64 = sqlx::query("SELECT COUNT(*) AS n FROM products WHERE enabled = $1")
        .bind(true)
        .fetch_one(app.db().pool())
        .await
        .expect("count")
        .get("n");
    let published: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM publications WHERE channel = 'web' AND state = 'published'",
    )
    .fetch_one(app.db().pool())
    .await
    .expect("count")
    .get("n");
    assert_eq!(published, enabled);
    for channel in ["web", "google"] {
        let round = publisher::republish_all(
            app.db(),
            &schema,
            &app.state.config.public_url,
            channel,
            now,
        )
        .await
        .expect("republish");
        assert_eq!(round.events, 0, "{channel}: publications match master");
    }

    // The connector saw every event exactly once, in order.
    let web_head = head(&app, "web").await;
    assert_eq!(read, (1..=web_head).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------
// 6. Feed parameters and paging
// ---------------------------------------------------------------------------

async fn feed_parameters_are_checked_and_pages_walk_the_feed(app: TestApp) {
    let schema = setup(&app).await;
    let t = tokens(&app).await;
    for i in 1..=5 {
        create(
            &app,
            &schema,
            &format!("G-{i}"),
            "gadgets",
            &[],
            &gadget(&format!("Gadget {i}")),
        )
        .await;
    }
    app.settle().await;
    assert_eq!(head(&app, "web").await, 5);

    for query in [
        "after=-1",
        "after=abc",
        "after=",
        "after=1.5",
        "after=99999999999999999999",
        "limit=0",
        "limit=1001",
        "limit=abc",
        "limit=-1",
        "limit=",
    ] {
        let response = app
            .api(
                Method::GET,
                &format!("/api/v1/channels/web/feed?{query}"),
                Some(&t.feed),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            response.body
        );
        assert_eq!(response.error_code(), "bad_request", "{query}");
        let name = query.split('=').next().unwrap();
        assert!(
            response.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(name),
            "{query}: the message names the parameter: {}",
            response.body
        );
    }
    let unknown = app
        .api(Method::GET, "/api/v1/channels/nope/feed", Some(&t.feed))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert_eq!(unknown.error_code(), "not_found");
    for path in [
        "/api/v1/channels/nope/products/G-1",
        "/api/v1/channels/nope/export.jsonl",
    ] {
        let response = app.api(Method::GET, path, Some(&t.feed)).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.error_code(), "not_found");
    }

    let page = |after: i64, limit: i64| {
        let app = &app;
        let token = t.feed.clone();
        async move {
            let response = app
                .api(
                    Method::GET,
                    &format!("/api/v1/channels/web/feed?after={after}&limit={limit}"),
                    Some(&token),
                )
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.body);
            let json = response.json();
            let events = json["events"].as_array().unwrap().clone();
            for event in &events {
                for key in ["seq", "op", "sku", "product"] {
                    assert!(event.get(key).is_some(), "{key} in {event}");
                }
            }
            (
                seqs(&events),
                json["next_after"].as_i64().unwrap(),
                json["has_more"].as_bool().unwrap(),
            )
        }
    };
    // Walk it two at a time, as a connector does.
    let mut after = 0;
    let mut walked: Vec<i64> = Vec::new();
    let mut pages = 0;
    loop {
        let (seqs, next_after, has_more) = page(after, 2).await;
        pages += 1;
        assert!(seqs.len() <= 2);
        walked.extend(&seqs);
        if let Some(last) = seqs.last() {
            assert_eq!(next_after, *last);
        }
        after = next_after;
        if !has_more {
            break;
        }
        assert!(pages < 10, "has_more never ends");
    }
    assert_eq!(walked, [1, 2, 3, 4, 5]);
    assert_eq!(pages, 3, "2 + 2 + 1, the last page says has_more false");
    assert_eq!(page(0, 2).await, (vec![1, 2], 2, true));
    assert_eq!(page(2, 2).await, (vec![3, 4], 4, true));
    assert_eq!(page(4, 2).await, (vec![5], 5, false));
    assert_eq!(page(3, 2).await, (vec![4, 5], 5, false), "exactly the rest");
    assert_eq!(
        page(5, 2).await,
        (vec![], 5, false),
        "an empty page keeps after"
    );
    // An `after` past the head is not from this feed: refused, not an
    // empty page a connector would wait on for ever (issue 11).
    let past = app
        .api(
            Method::GET,
            "/api/v1/channels/web/feed?after=100&limit=2",
            Some(&t.feed),
        )
        .await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST, "{}", past.body);
    assert_eq!(page(0, 1000).await, (vec![1, 2, 3, 4, 5], 5, false));
    // Defaults: after=0, a page of up to 100.
    let default = app
        .api(Method::GET, "/api/v1/channels/web/feed", Some(&t.feed))
        .await;
    assert_eq!(default.status, StatusCode::OK);
    assert_eq!(
        seqs(default.json()["events"].as_array().unwrap()),
        [1, 2, 3, 4, 5]
    );
}

// ---------------------------------------------------------------------------
// 7. Scopes
// ---------------------------------------------------------------------------

async fn feed_tokens_reach_only_their_channel(app: TestApp) {
    let schema = setup(&app).await;
    create(&app, &schema, "G-1", "gadgets", &[], &gadget("Radio")).await;
    app.settle().await;
    let google_only = app.user_token(&[Role::Viewer], "feed:google").await;
    let web_only = app.user_token(&[Role::Viewer], "feed:web").await;
    let catalog_only = app.user_token(&[Role::Viewer], "catalog:read").await;
    let admin_without_feed = app.user_token(&[Role::Admin], "admin catalog:read").await;
    let files = [
        "feed",
        "products/G-1",
        "export.jsonl",
        "export.xml",
        "export.tsv",
        "shopify.csv",
    ];
    for file in files {
        let web = format!("/api/v1/channels/web/{file}");
        let google = format!("/api/v1/channels/google/{file}");
        for (token, path) in [
            (&google_only, &web),
            (&web_only, &google),
            (&catalog_only, &web),
            (&catalog_only, &google),
            (&admin_without_feed, &google),
        ] {
            let response = app.api(Method::GET, path, Some(token)).await;
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                response.body
            );
            assert_eq!(response.error_code(), "forbidden");
            assert!(
                !response.body.contains("Radio"),
                "nothing leaks in a refusal"
            );
        }
        for (token, path) in [(&google_only, &google), (&web_only, &web)] {
            let response = app.api(Method::GET, path, Some(token)).await;
            assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
        }
        for path in [&web, &google] {
            let response = app.api(Method::GET, path, None).await;
            assert_eq!(
                response.status,
                StatusCode::UNAUTHORIZED,
                "{path}: {}",
                response.body
            );
            assert_eq!(response.error_code(), "unauthorized");
        }
        let bad = app.api(Method::GET, &web, Some("not-a-token")).await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED, "{web}");
    }
    // A feed token is for feeds: not the catalog, not publishing.
    let response = app
        .api(
            Method::GET,
            "/api/v1/products/G-1/readiness",
            Some(&google_only),
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    let response = app
        .api(Method::GET, "/api/v1/products/G-1", Some(&google_only))
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    let response = app
        .api_json(
            Method::POST,
            "/api/v1/channels/google/publish",
            &google_only,
            None,
            &[],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
}

// ---------------------------------------------------------------------------
// 8. ETag and 304
// ---------------------------------------------------------------------------

async fn channel_product_etag_and_not_modified(app: TestApp) {
    let schema = setup(&app).await;
    let t = tokens(&app).await;
    create(&app, &schema, "G-1", "gadgets", &[], &gadget("Radio")).await;
    // Ready for google only (no de_DE name nor description for web).
    create(
        &app,
        &schema,
        "G-2",
        "gadgets",
        &[],
        &gadget("Lamp")
            .into_iter()
            .filter(|v| v.1 != Some("de_DE"))
            .collect::<Vec<_>>(),
    )
    .await;
    app.settle().await;
    let path = "/api/v1/channels/web/products/G-1";
    let first = app.api(Method::GET, path, Some(&t.feed)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let tag = first.header("etag").expect("an ETag").to_owned();
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2,
        "a quoted strong ETag: {tag}"
    );
    assert_eq!(first.json()["sku"], "G-1");
    let again = app.api(Method::GET, path, Some(&t.feed)).await;
    assert_eq!(
        again.header("etag"),
        Some(tag.as_str()),
        "same while unchanged"
    );
    assert_eq!(again.body, first.body);

    let conditional = |tag: String| {
        let app = &app;
        let token = t.feed.clone();
        async move {
            app.api_json(
                Method::GET,
                path,
                &token,
                None,
                &[("if-none-match", tag.as_str())],
            )
            .await
        }
    };
    let not_modified = conditional(tag.clone()).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty(), "304 has no body");
    assert_eq!(not_modified.header("etag"), Some(tag.as_str()));
    let other = conditional("\"something-else\"".to_owned()).await;
    assert_eq!(other.status, StatusCode::OK);

    // A settle without changes, or a change web does not carry, keeps the tag.
    system_values(
        &app,
        &schema,
        "G-1",
        &[(
            "description",
            Some("en_US"),
            Some("google"),
            json!("<p>Google only.</p>"),
        )],
    )
    .await;
    app.settle().await;
    assert_eq!(
        conditional(tag.clone()).await.status,
        StatusCode::NOT_MODIFIED
    );

    // A published change: a new tag, and the old one no longer matches.
    let boost = patch(
        &app,
        &t.editor,
        "G-1",
        json!({"values": {"search_boost": one_value(json!("2"))}}),
    )
    .await;
    assert_eq!(boost.status, StatusCode::OK, "{}", boost.body);
    // Not published yet: still the old tag.
    assert_eq!(
        conditional(tag.clone()).await.status,
        StatusCode::NOT_MODIFIED
    );
    app.settle().await;
    let changed = conditional(tag.clone()).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let new_tag = changed.header("etag").expect("ETag").to_owned();
    assert_ne!(new_tag, tag);
    assert_eq!(data(&changed.json(), "search_boost", None), json!("2"));
    assert_eq!(
        conditional(new_tag.clone()).await.status,
        StatusCode::NOT_MODIFIED
    );

    // What the channel does not have is a 404.
    for (channel, sku) in [("web", "G-2"), ("web", "NOPE"), ("google", "NOPE")] {
        let response = app
            .api(
                Method::GET,
                &format!("/api/v1/channels/{channel}/products/{sku}"),
                Some(&t.feed),
            )
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{channel}/{sku}");
        assert_eq!(response.error_code(), "not_found");
    }
    assert_eq!(
        app.api(
            Method::GET,
            "/api/v1/channels/google/products/G-2",
            Some(&t.feed)
        )
        .await
        .status,
        StatusCode::OK
    );

    // If-None-Match as caches and proxies send it (RFC 9110 13.1.2): a list
    // of tags, and the weak form a compressing proxy turns a strong tag into.
    let listed = conditional(format!("\"stale\", {new_tag}")).await;
    assert_eq!(
        listed.status,
        StatusCode::NOT_MODIFIED,
        "If-None-Match with a list of tags"
    );
    let weak = conditional(format!("W/{new_tag}")).await;
    assert_eq!(
        weak.status,
        StatusCode::NOT_MODIFIED,
        "If-None-Match compares weakly"
    );
}

// ---------------------------------------------------------------------------
// 9. Google Merchant XML
// ---------------------------------------------------------------------------

/// The `<item>`s of a Google RSS feed as element → text, checking the
/// envelope on the way.
fn google_items(xml: &str) -> Vec<BTreeMap<String, String>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut items = Vec::new();
    let mut item: Option<BTreeMap<String, String>> = None;
    let mut element: Option<String> = None;
    let mut text = String::new();
    let mut saw_rss = false;
    let mut saw_channel = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(start) => {
                let name = start.name().as_ref().to_owned();
                match name.as_str() {
                    "rss" => {
                        let attributes: BTreeMap<String, String> = start
                            .attributes()
                            .map(|a| {
                                let a = a.expect("attribute");
                                (a.key.as_ref().to_owned(), a.value.to_string())
                            })
                            .collect();
                        assert_eq!(attributes.get("version").map(String::as_str), Some("2.0"));
                        assert_eq!(
                            attributes.get("xmlns:g").map(String::as_str),
                            Some("http://base.google.com/ns/1.0")
                        );
                        saw_rss = true;
                    }
                    "channel" => {
                        assert!(saw_rss, "channel inside rss");
                        saw_channel = true;
                    }
                    "item" => {
                        assert!(saw_channel, "items inside channel");
                        item = Some(BTreeMap::new());
                    }
                    _ => {
                        element = Some(name);
                        text.clear();
                    }
                }
            }
            Event::Text(content) => text.push_str(&content.xml10_content()),
            Event::GeneralRef(reference) => {
                if let Some(c) = reference.resolve_char_ref().expect("char ref") {
                    text.push(c);
                } else {
                    let name = reference.xml10_content();
                    text.push_str(
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .unwrap_or_else(|| panic!("unknown entity &{name};")),
                    );
                }
            }
            Event::End(end) => {
                let name = end.name().as_ref().to_owned();
                if name == "item" {
                    items.push(item.take().expect("open item"));
                } else if element.as_deref() == Some(name.as_str()) {
                    if let Some(item) = item.as_mut() {
                        assert!(
                            item.insert(name.clone(), text.clone()).is_none()
                                || name == "g:additional_image_link",
                            "{name} once per item"
                        );
                    }
                    element = None;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(saw_rss && saw_channel, "an RSS envelope");
    items
}

async fn google_xml_export_is_valid_rss_with_every_required_field(app: TestApp) {
    // Names may be long here, so Google's own limit is what stops them.
    let schema = setup_with(&app, |schema| {
        let name = schema
            .attributes
            .iter_mut()
            .find(|a| a.code == "name")
            .unwrap();
        name.validation.max_length = Some(300);
    })
    .await;
    let t = tokens(&app).await;
    // Nothing published yet: a valid, empty feed.
    let empty = export(&app, &t.feed, "google", "export.xml").await;
    assert!(google_items(&empty).is_empty(), "{empty}");
    let tricky = "Tom & Jerry <Deluxe> \"quoted\" 'single'";
    let values = with(
        gadget(tricky),
        vec![(
            "description",
            Some("en_US"),
            None,
            json!("<p>Fast &amp; <b>bold</b></p>"),
        )],
    );
    create(&app, &schema, "G-1", "gadgets", &[], &values).await;
    let values = with(
        gadget("Lamp"),
        vec![(
            "base_price",
            None,
            None,
            json!([{"amount": "9.5", "currency": "USD"}]),
        )],
    );
    create(&app, &schema, "G-2", "gadgets", &["electronics"], &values).await;
    let long = "L".repeat(151);
    create(&app, &schema, "L-1", "gadgets", &[], &gadget(&long)).await;
    let values = with(
        gadget("Wordy"),
        vec![(
            "description",
            Some("en_US"),
            None,
            json!(format!("<p>{}</p>", "w".repeat(5001))),
        )],
    );
    create(&app, &schema, "D-1", "gadgets", &[], &values).await;
    let values = with(
        gadget("Euro only"),
        vec![(
            "base_price",
            None,
            None,
            json!([{"amount": "9.00", "currency": "EUR"}]),
        )],
    );
    create(&app, &schema, "E-1", "gadgets", &[], &values).await;
    create(&app, &schema, "X/1&2", "gadgets", &[], &gadget("Odd")).await;
    let long_sku = "S".repeat(51);
    create(&app, &schema, &long_sku, "gadgets", &[], &gadget("Long id")).await;
    app.settle().await;

    // Too long for Google, fine for web.
    let ready = readiness(&app, &t.feed, "L-1").await;
    assert_eq!(on(&ready, "web")["ready"], true, "{ready}");
    let google = on(&ready, "google");
    assert_eq!(google["ready"], false, "{ready}");
    assert_eq!(google["publication"], "none");
    assert!(
        reasons(google).iter().any(|r| r["kind"] == "too_long"
            && r["attribute"] == "name"
            && r["locale"] == "en_US"
            && r["message"].as_str().unwrap().contains("150")),
        "{ready}"
    );
    let ready = readiness(&app, &t.feed, "D-1").await;
    assert!(
        reasons(on(&ready, "google"))
            .iter()
            .any(|r| r["kind"] == "too_long" && r["attribute"] == "description"),
        "{ready}"
    );
    let ready = readiness(&app, &t.feed, "E-1").await;
    assert!(
        reasons(on(&ready, "google"))
            .iter()
            .any(|r| r["kind"] == "missing" && r["attribute"] == "base_price"),
        "no USD price: {ready}"
    );

    let ready = readiness(&app, &t.feed, &long_sku).await;
    assert!(
        reasons(on(&ready, "google"))
            .iter()
            .any(|r| r["kind"] == "too_long" && r["message"].as_str().unwrap().contains("50")),
        "Google ids have at most 50 characters: {ready}"
    );
    assert_eq!(on(&ready, "web")["ready"], true, "{ready}");
    let odd = snapshot(&app, &t.feed, "google", "X%2F1%262")
        .await
        .expect("an escaped SKU in the path");
    assert_eq!(odd["sku"], "X/1&2");

    let response = app
        .api(
            Method::GET,
            "/api/v1/channels/google/export.xml",
            Some(&t.feed),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.contains("xml")),
        "{:?}",
        response.headers
    );
    let items = google_items(&response.body);
    let ids: BTreeSet<&str> = items.iter().map(|i| i["g:id"].as_str()).collect();
    assert_eq!(
        ids,
        BTreeSet::from(["G-1", "G-2", "X/1&2"]),
        "only ready products"
    );
    let price = regex::Regex::new(r"^[0-9]+\.[0-9]{2} USD$").unwrap();
    for item in &items {
        for field in [
            "g:id",
            "g:title",
            "g:description",
            "g:link",
            "g:availability",
            "g:price",
        ] {
            assert!(
                item.get(field).is_some_and(|v| !v.trim().is_empty()),
                "{field} in {item:?}"
            );
        }
        assert!(price.is_match(&item["g:price"]), "{item:?}");
        assert!(
            ["in_stock", "out_of_stock", "preorder", "backorder"]
                .contains(&item["g:availability"].as_str()),
            "{item:?}"
        );
        assert!(
            item["g:link"].starts_with("https://shop.example.com/"),
            "{item:?}"
        );
        assert!(item["g:title"].chars().count() <= 150);
    }
    let g1 = items.iter().find(|i| i["g:id"] == "G-1").unwrap();
    assert_eq!(g1["g:title"], tricky, "escaped and read back whole");
    assert_eq!(g1["g:description"], "Fast & bold", "plain text");
    assert_eq!(g1["g:price"], "15.00 USD");
    let g2 = items.iter().find(|i| i["g:id"] == "G-2").unwrap();
    assert_eq!(g2["g:price"], "9.50 USD");
    let odd = items.iter().find(|i| i["g:id"] == "X/1&2").unwrap();
    assert_eq!(
        odd["g:link"], "https://shop.example.com/en_US/p/X%2F1%262",
        "the SKU is escaped in the URL"
    );

    // A published product whose title grows too long is held on google at
    // its last good title, and stays in the export.
    system_values(
        &app,
        &schema,
        "G-2",
        &[("name", Some("en_US"), None, json!("M".repeat(160)))],
    )
    .await;
    app.settle().await;
    let ready = readiness(&app, &t.feed, "G-2").await;
    assert_eq!(on(&ready, "google")["publication"], "held", "{ready}");
    let items = google_items(&export(&app, &t.feed, "google", "export.xml").await);
    let g2 = items
        .iter()
        .find(|i| i["g:id"] == "G-2")
        .expect("held stays");
    assert_eq!(g2["g:title"], "Lamp");
}

// ---------------------------------------------------------------------------
// 10. TSV and Shopify CSV quoting
// ---------------------------------------------------------------------------

async fn tsv_and_shopify_csv_survive_tabs_commas_quotes_and_newlines(app: TestApp) {
    let schema = setup(&app).await;
    let t = tokens(&app).await;
    let nasty_name = "Tee, \"Classic\"\tEdition";
    let nasty_description = "<p>Line one, \"quoted\"\tand tabbed</p>\n<p>Line two\r\nstill two</p>";
    let values = with(
        gadget(nasty_name),
        vec![("description", Some("en_US"), None, json!(nasty_description))],
    );
    create(&app, &schema, "T-1", "gadgets", &[], &values).await;
    create(&app, &schema, "T-2", "gadgets", &[], &gadget("Plain")).await;
    app.settle().await;

    // TSV: one line per item, every line as wide as the header.
    let tsv = export(&app, &t.feed, "google", "export.tsv").await;
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines.len(), 3, "header + 2 items: {tsv:?}");
    let header: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(header[0], "id");
    for line in &lines {
        assert_eq!(
            line.split('\t').count(),
            header.len(),
            "as many cells as the header: {line:?}"
        );
        assert!(!line.contains('\r'), "{line:?}");
    }
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("T-1\t"))
        .expect("T-1 row")
        .split('\t')
        .collect();
    assert_eq!(row[column("title")], "Tee, \"Classic\" Edition");
    let description = row[column("description")];
    assert!(
        description.contains("Line one, \"quoted\"") && description.contains("Line two"),
        "{description:?}"
    );
    assert_eq!(row[column("price")], "15.00 USD");

    // Shopify CSV: parses back, one row per variant.
    create_model(
        &app,
        &schema,
        "M-1",
        "Shirt, \"Oxford\"\tfit",
        &[],
        &[("M-1-RED-S", "red", "s"), ("M-1-BLUE-M", "blue", "m")],
    )
    .await;
    system_values(
        &app,
        &schema,
        "M-1",
        &[("description", Some("en_US"), None, json!(nasty_description))],
    )
    .await;
    app.settle().await;
    let csv_text = export(&app, &t.feed, "web", "shopify.csv").await;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} column"))
    };
    let records: Vec<csv::StringRecord> =
        reader.records().map(|r| r.expect("a CSV record")).collect();
    let skus: Vec<&str> = records.iter().map(|r| &r[column("Variant SKU")]).collect();
    assert_eq!(
        skus.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["M-1-BLUE-M", "M-1-RED-S", "T-1", "T-2"]),
        "one row per sellable unit: {csv_text}"
    );
    assert_eq!(records.len(), 4, "{csv_text}");
    for record in &records {
        assert_eq!(record.len(), headers.len());
    }
    let by_sku = |sku: &str| {
        records
            .iter()
            .find(|r| &r[column("Variant SKU")] == sku)
            .unwrap()
    };
    let t1 = by_sku("T-1");
    assert_eq!(&t1[column("Title")], nasty_name);
    assert_eq!(&t1[column("Option1 Name")], "Title");
    assert_eq!(&t1[column("Option1 Value")], "Default Title");
    assert_eq!(&t1[column("Variant Price")], "15.00");
    let body = &t1[column("Body (HTML)")];
    assert!(
        body.contains("Line one, \"quoted\"") && body.contains('\n'),
        "{body:?}"
    );
    // The model's rows share a handle; its title is on the first only.
    let shirts: Vec<&csv::StringRecord> = records
        .iter()
        .filter(|r| r[column("Variant SKU")].starts_with("M-1-"))
        .collect();
    assert_eq!(shirts.len(), 2);
    assert_eq!(shirts[0][column("Handle")], shirts[1][column("Handle")]);
    assert_eq!(&shirts[0][column("Title")], "Shirt, \"Oxford\"\tfit");
    assert!(shirts[1][column("Title")].is_empty());
    let options: BTreeSet<(&str, &str)> = shirts
        .iter()
        .map(|r| (&r[column("Option1 Value")], &r[column("Option2 Value")]))
        .collect();
    assert_eq!(options, BTreeSet::from([("Red", "s"), ("Blue", "m")]));
    assert_eq!(&shirts[0][column("Variant Price")], "25.00");

    // Shopify handles are unique (FORMATS.md): two products whose SKUs
    // differ only in case and punctuation must not merge into one.
    create(&app, &schema, "AB-1", "gadgets", &[], &gadget("First")).await;
    create(&app, &schema, "ab_1", "gadgets", &[], &gadget("Second")).await;
    app.settle().await;
    let csv_text = export(&app, &t.feed, "web", "shopify.csv").await;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let records: Vec<csv::StringRecord> =
        reader.records().map(|r| r.expect("a CSV record")).collect();
    let handle_of = |sku: &str| {
        records
            .iter()
            .find(|r| &r[column("Variant SKU")] == sku)
            .map(|r| r[column("Handle")].to_owned())
            .unwrap_or_else(|| panic!("{sku} row"))
    };
    assert_ne!(
        handle_of("AB-1"),
        handle_of("ab_1"),
        "distinct products need distinct handles"
    );
    for record in records
        .iter()
        .filter(|r| ["AB-1", "ab_1"].contains(&&r[column("Variant SKU")]))
    {
        assert!(!record[column("Title")].is_empty(), "{record:?}");
    }
}

// ---------------------------------------------------------------------------
// 11. Manual channels
// ---------------------------------------------------------------------------

async fn manual_channels_publish_only_when_asked(app: TestApp) {
    let schema = setup_with(&app, |schema| {
        let web = schema
            .channels
            .iter_mut()
            .find(|c| c.code == "web")
            .unwrap();
        web.publish_mode = PublishMode::Manual;
    })
    .await;
    let t = tokens(&app).await;
    let publish = |token: String, channel: &'static str| {
        let app = &app;
        async move {
            app.api_json(
                Method::POST,
                &format!("/api/v1/channels/{channel}/publish"),
                &token,
                None,
                &[],
            )
            .await
        }
    };
    create(&app, &schema, "G-1", "gadgets", &[], &gadget("Radio")).await;
    create(&app, &schema, "G-2", "gadgets", &[], &gadget("Lamp")).await;
    app.settle().await;
    assert_eq!(head(&app, "web").await, 0, "manual: nothing yet");
    assert_eq!(head(&app, "google").await, 2, "automatic channels go on");
    assert!(snapshot(&app, &t.feed, "web", "G-1").await.is_none());
    // Readiness is judged all the same.
    assert_eq!(
        on(&readiness(&app, &t.feed, "G-1").await, "web")["ready"],
        true
    );

    // Only admins publish.
    for token in [
        t.editor.clone(),
        t.feed.clone(),
        app.user_token(&[Role::Admin], "catalog:read").await,
    ] {
        let refused = publish(token, "web").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert_eq!(refused.error_code(), "forbidden");
    }
    assert_eq!(head(&app, "web").await, 0);
    let unknown = publish(t.admin.clone(), "nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);

    let published = publish(t.admin.clone(), "web").await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    let body = published.json();
    assert_eq!(body["channel"], "web");
    assert_eq!(body["events"], 2, "{body}");
    assert_eq!(body["head"], 2, "{body}");
    let web = events(&app, &t.feed, "web", 0).await;
    assert_eq!(seqs(&web), [1, 2]);
    assert!(web.iter().all(|e| e["op"] == "upsert"));
    assert!(snapshot(&app, &t.feed, "web", "G-1").await.is_some());
    assert!(
        app.audit_actions()
            .await
            .contains(&("channel.publish".to_owned(), "channel:web".to_owned())),
        "publishing is audited"
    );
    // Nothing left to publish.
    assert_eq!(publish(t.admin.clone(), "web").await.json()["events"], 0);

    // Two changes to one product wait, then publish as one event with the latest.
    for amount in ["16.00", "17.00"] {
        system_values(
            &app,
            &schema,
            "G-1",
            &[(
                "base_price",
                None,
                None,
                json!([{"amount": amount, "currency": "USD"}, {"amount": "14.00", "currency": "EUR"}]),
            )],
        )
        .await;
        app.settle().await;
    }
    assert_eq!(head(&app, "web").await, 2, "waiting for publish");
    assert_eq!(head(&app, "google").await, 4, "google got both");
    let snap = snapshot(&app, &t.feed, "web", "G-1").await.unwrap();
    assert_eq!(price(&snap, "USD").as_deref(), Some("15.00"));
    // A disable waits too.
    set_enabled(&app, &schema, "G-2", false).await;
    app.settle().await;
    assert_eq!(head(&app, "web").await, 2);
    assert!(snapshot(&app, &t.feed, "web", "G-2").await.is_some());

    let published = publish(t.admin.clone(), "web").await.json();
    assert_eq!(published["events"], 2, "{published}");
    let web = events(&app, &t.feed, "web", 2).await;
    assert_eq!(web.len(), 2, "{web:?}");
    let g1 = web.iter().find(|e| e["sku"] == "G-1").expect("G-1");
    assert_eq!(g1["op"], "upsert");
    assert_eq!(price(&g1["product"], "USD").as_deref(), Some("17.00"));
    let g2 = web.iter().find(|e| e["sku"] == "G-2").expect("G-2");
    assert_eq!(g2["op"], "delete");
    assert!(g2["product"].is_null());

    // Republishing with nothing changed publishes nothing.
    let republished = app
        .api_json(
            Method::POST,
            "/api/v1/channels/web/republish",
            &t.admin,
            None,
            &[],
        )
        .await;
    let job = crate::trust_jobs::run_queued_job(&app, &t.admin, &republished).await;
    assert_eq!(job["result"]["events"], 0, "{job}");
    let refused = app
        .api_json(
            Method::POST,
            "/api/v1/channels/web/republish",
            &t.editor,
            None,
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(publish(t.admin.clone(), "web").await.json()["events"], 0);
    assert_eq!(head(&app, "web").await, 4);
}

// ---------------------------------------------------------------------------
// 12. The readiness endpoint
// ---------------------------------------------------------------------------

async fn readiness_names_channel_locale_attribute_and_reason(app: TestApp) {
    let schema = setup(&app).await;
    let t = tokens(&app).await;
    // en_US name and description only, no price: web misses de_DE, google a USD price.
    create(
        &app,
        &schema,
        "G-1",
        "gadgets",
        &[],
        &[
            ("name", Some("en_US"), None, json!("Radio")),
            ("description", Some("en_US"), None, json!("<p>Loud.</p>")),
        ],
    )
    .await;
    app.settle().await;
    let ready = readiness(&app, &t.feed, "G-1").await;
    assert_eq!(ready["sku"], "G-1");
    let channels: Vec<&str> = ready["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"].as_str().unwrap())
        .collect();
    assert_eq!(
        channels.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["google", "web"]),
        "{ready}"
    );
    for channel in ready["channels"].as_array().unwrap() {
        assert!(channel["ready"].is_boolean(), "{channel}");
        assert!(channel["publication"].is_string(), "{channel}");
        for locale in channel["locales"].as_array().unwrap() {
            assert!(locale["locale"].is_string(), "{locale}");
            assert!(locale["ready"].is_boolean(), "{locale}");
            let reasons = locale["reasons"].as_array().expect("reasons");
            assert_eq!(
                locale["ready"].as_bool().unwrap(),
                reasons.is_empty(),
                "ready exactly when there is no reason: {locale}"
            );
            for reason in reasons {
                assert!(reason["kind"].is_string(), "{reason}");
                assert!(
                    reason["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{reason}"
                );
            }
        }
    }
    let web = on(&ready, "web");
    assert_eq!(web["ready"], false);
    assert_eq!(web["publication"], "none");
    let locales: Vec<&str> = web["locales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["locale"].as_str().unwrap())
        .collect();
    assert_eq!(locales, ["en_US", "de_DE"], "one entry per channel locale");
    let en = &web["locales"][0];
    assert_eq!(en["ready"], true, "{en}");
    let de = &web["locales"][1];
    assert_eq!(de["ready"], false);
    let mut missing: Vec<(String, String)> = de["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["kind"], "missing", "{r}");
            (
                r["attribute"].as_str().unwrap().to_owned(),
                r["locale"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    missing.sort();
    assert_eq!(
        missing,
        [
            ("description".to_owned(), "de_DE".to_owned()),
            ("name".to_owned(), "de_DE".to_owned())
        ]
    );
    let google = on(&ready, "google");
    assert_eq!(google["ready"], false);
    let locales: Vec<&str> = google["locales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["locale"].as_str().unwrap())
        .collect();
    assert_eq!(locales, ["en_US"]);
    let price_reason = google["locales"][0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["attribute"] == "base_price")
        .unwrap_or_else(|| panic!("the missing price: {google}"))
        .clone();
    assert_eq!(price_reason["kind"], "missing");
    assert!(
        price_reason["message"].as_str().unwrap().contains("USD"),
        "{price_reason}"
    );
    assert!(
        price_reason.get("locale").is_none_or(Value::is_null),
        "a price is not localizable: {price_reason}"
    );

    // Fixed: ready everywhere, and published.
    system_values(
        &app,
        &schema,
        "G-1",
        &[
            ("name", Some("de_DE"), None, json!("Radio")),
            ("description", Some("de_DE"), None, json!("<p>Laut.</p>")),
            (
                "base_price",
                None,
                None,
                json!([{"amount": "5.00", "currency": "USD"}]),
            ),
        ],
    )
    .await;
    app.settle().await;
    let ready = readiness(&app, &t.feed, "G-1").await;
    for channel in ["web", "google"] {
        assert_eq!(on(&ready, channel)["ready"], true, "{ready}");
        assert_eq!(on(&ready, channel)["publication"], "published", "{ready}");
        assert!(reasons(on(&ready, channel)).is_empty());
    }

    let unknown = app
        .api(
            Method::GET,
            "/api/v1/products/NOPE/readiness",
            Some(&t.feed),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "not_found");
    let anonymous = app
        .api(Method::GET, "/api/v1/products/G-1/readiness", None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// `sluice export`: it lets the publisher catch up first (nothing settled
/// here), writes the same bytes the API serves, refuses an unknown channel
/// without leaving a file behind.
async fn the_export_command_catches_up_and_writes_whole_files(app: TestApp) {
    use sluice::publish::export::{ExportError, to_file};
    use sluice::publish::formats::ExportFormat;
    let schema = setup(&app).await;
    let tokens = tokens(&app).await;
    create(&app, &schema, "G-1", "gadgets", &[], &gadget("Radio")).await;
    create(
        &app,
        &schema,
        "G-2",
        "gadgets",
        &[],
        &gadget("Lamp, \"big\""),
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("google.xml");
    let written = to_file(&app.state, "google", ExportFormat::GoogleXml, &path)
        .await
        .expect("export");
    assert_eq!(written.products, 2, "the publisher caught up first");
    let file = std::fs::read_to_string(&path).expect("file");
    assert_eq!(u64::try_from(file.len()).unwrap(), written.bytes);
    assert_eq!(
        file,
        export(&app, &tokens.feed, "google", "export.xml").await
    );
    assert!(
        file.contains("<g:id>G-1</g:id>") && file.contains("<g:id>G-2</g:id>"),
        "{file}"
    );
    assert!(
        !dir.path().join("google.partial").exists(),
        "the partial file is renamed"
    );

    let jsonl = dir.path().join("web.jsonl");
    to_file(&app.state, "web", ExportFormat::Jsonl, &jsonl)
        .await
        .expect("export");
    let lines: Vec<Value> = std::fs::read_to_string(&jsonl)
        .expect("file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one payload per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["sku"], "G-2");

    let missing = dir.path().join("nope.csv");
    let refused = to_file(&app.state, "nope", ExportFormat::ShopifyCsv, &missing).await;
    assert!(
        matches!(refused, Err(ExportError::UnknownChannel(_))),
        "{refused:?}"
    );
    assert!(!missing.exists());
}
