//! Trust in the API's semantics (issue 11): rights, existence and state are
//! judged before input on every proposal route, in the API and the pages
//! alike; someone else's draft does not exist; a bad or mismatched cursor is
//! a 400 naming it; `If-Match` compares strongly as RFC 9110 says; and every
//! streamed download arrives whole through a gzip-accepting client.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::catalog::store;
use sluice::workflow::write::{self, NewProduct, ValueChange, Writer};
use tower::ServiceExt;

use crate::{TestApp, db_tests};

db_tests!(
    channel_exports_arrive_whole_through_gzip,
    import_errors_arrive_whole_through_gzip,
);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A response with its body as bytes (a compressed body is not text).
struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }
}

/// A GET with the given headers, through the real router.
async fn get_raw(app: &TestApp, path: &str, headers: &[(&str, String)]) -> RawResponse {
    let mut request = Request::builder().method(Method::GET).uri(path);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the whole body arrives")
        .to_bytes()
        .to_vec();
    RawResponse {
        status,
        headers,
        body,
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a complete gzip stream");
    out
}

/// What curl `--compressed` and Python requests send.
const ACCEPT_GZIP: &str = "gzip, deflate";

/// Fetches `path` plainly and through gzip (with `auth` headers on both),
/// checks the compressed one was compressed and decompresses to exactly the
/// plain bytes, and answers the plain body.
async fn same_through_gzip(app: &TestApp, path: &str, auth: &[(&str, String)]) -> String {
    let plain = get_raw(app, path, auth).await;
    assert_eq!(plain.status, StatusCode::OK, "{path}: {}", plain.text());
    assert_eq!(plain.header("content-encoding"), None, "{path}");
    let mut headers = auth.to_vec();
    headers.push(("accept-encoding", ACCEPT_GZIP.to_owned()));
    let zipped = get_raw(app, path, &headers).await;
    assert_eq!(zipped.status, StatusCode::OK, "{path}");
    assert_eq!(zipped.header("content-encoding"), Some("gzip"), "{path}");
    assert_eq!(
        zipped.header("content-type"),
        plain.header("content-type"),
        "{path}"
    );
    let unzipped = gunzip(&zipped.body);
    assert!(
        unzipped == plain.body,
        "{path}: the gzip body decompresses to {} bytes, the plain one has {}",
        unzipped.len(),
        plain.body.len()
    );
    plain.text()
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

/// An ERP profile whose columns seed everything the web channel needs.
const PROFILE: &str = r#"
code = "trust-erp"
label = "Trust ERP"
identifier = "sku"
family = { column = "family" }

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
column = "weight"
attribute = "weight"
unit_column = "weight_unit"

[[columns]]
column = "price"
attribute = "base_price"
currency = "USD"
"#;

const HEADER: &str =
    "sku,family,name_en,name_de,description_en,description_de,weight,weight_unit,price";

async fn store_profile(app: &TestApp) {
    sluice::import::profiles::put(
        app.db().pool(),
        "trust-erp",
        PROFILE,
        "test",
        app.clock().now(),
    )
    .await
    .expect("store profile");
}

/// Sends a file as an ERP does, runs the worker, answers the finished job.
async fn import(app: &TestApp, token: &str, file: &str) -> Value {
    let sent = app
        .api_raw(
            Method::POST,
            "/api/v1/imports?profile=trust-erp&mode=upsert&name=items.csv",
            token,
            file.as_bytes().to_vec(),
            &[("content-type", "text/csv")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    let id = sent.json()["id"].as_i64().expect("job id");
    sluice::import::worker::drain(&app.state)
        .await
        .expect("worker");
    let job = app
        .api(Method::GET, &format!("/api/v1/imports/{id}"), Some(token))
        .await;
    assert_eq!(job.status, StatusCode::OK);
    job.json()
}

/// `count` enabled gadgets ready for the web channel, with names that
/// need quoting in every format (commas, quotes, tabs, markup).
async fn ready_gadgets(app: &TestApp, count: usize) {
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    let value = |attribute: &str, locale: &str, data: Value| ValueChange {
        key: ValueKey::new(attribute, Some(locale), None),
        data: Some(data),
    };
    for i in 0..count {
        let product = NewProduct {
            sku: format!("G-{i:05}"),
            kind: ProductKind::Simple,
            family: "gadgets".to_owned(),
            parent: None,
            enabled: true,
            categories: Vec::new(),
            values: vec![
                value(
                    "name",
                    "en_US",
                    json!(format!("Radio, \"loud\"\tmodel {i}")),
                ),
                value("name", "de_DE", json!(format!("Radio {i} <laut> & klar"))),
                value("description", "en_US", json!("<p>A fine gadget.</p>")),
                value("description", "de_DE", json!("<p>Ein feines Gerät.</p>")),
            ],
        };
        write::create(
            app.db(),
            &schema,
            &Writer::System(Actor::system("test")),
            product,
            app.clock().now(),
        )
        .await
        .expect("create a gadget");
    }
}

// ---------------------------------------------------------------------------
// 5. Streamed responses under gzip
// ---------------------------------------------------------------------------

async fn channel_exports_arrive_whole_through_gzip(app: TestApp) {
    app.seed_schema().await;
    // More than one export chunk (1,000 publications), so the stream has
    // several pieces and an end.
    let products = 1_205;
    ready_gadgets(&app, products).await;
    app.settle().await;
    let feed = app.user_token(&[Role::Viewer], "feed:*").await;
    let auth = bearer(&feed);

    let jsonl = same_through_gzip(&app, "/api/v1/channels/web/export.jsonl", &auth).await;
    assert_eq!(jsonl.lines().count(), products, "one line per product");
    for line in jsonl.lines() {
        let payload: Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(payload["sku"].is_string(), "{line}");
    }
    assert!(jsonl.contains("\"G-01204\""), "the last product is there");

    let xml = same_through_gzip(&app, "/api/v1/channels/web/export.xml", &auth).await;
    assert_eq!(xml.matches("<item>").count(), products);
    assert!(xml.trim_end().ends_with("</rss>"), "the feed is closed");

    let tsv = same_through_gzip(&app, "/api/v1/channels/web/export.tsv", &auth).await;
    assert_eq!(tsv.lines().count(), products + 1, "a header and a row each");

    let shopify = same_through_gzip(&app, "/api/v1/channels/web/shopify.csv", &auth).await;
    assert!(shopify.contains("G-01204"), "the last product is there");
    assert!(
        shopify.lines().count() > products,
        "a header and a row each"
    );

    // An empty channel streams a whole (empty) file too.
    let empty = same_through_gzip(&app, "/api/v1/channels/google/export.xml", &auth).await;
    assert!(empty.trim_end().ends_with("</rss>"), "{empty}");
    assert_eq!(empty.matches("<item>").count(), 0);
}

async fn import_errors_arrive_whole_through_gzip(app: TestApp) {
    app.seed_schema().await;
    store_profile(&app).await;
    let importer = app.user_token(&[Role::Editor], "import catalog:read").await;
    // 2,500 bad rows (three pages of the errors stream) between good ones.
    let mut file = format!("{HEADER}\r\n");
    let bad = 2_500;
    for i in 0..bad {
        file.push_str(&format!(
            "B-{i:05},gadgets,Lamp {i},Lampe,,,heavy,kg,5.00\r\n"
        ));
        if i % 500 == 0 {
            file.push_str(&format!("OK-{i:05},gadgets,Fine,Gut,,,1,kg,5.00\r\n"));
        }
    }
    let job = import(&app, &importer, &file).await;
    assert_eq!(job["status"], "partial", "{job}");
    assert_eq!(job["counts"]["failed"], bad, "{job}");
    let id = job["id"].as_i64().expect("id");

    let api = same_through_gzip(
        &app,
        &format!("/api/v1/imports/{id}/errors.csv"),
        &bearer(&importer),
    )
    .await;
    let lines: Vec<&str> = api.lines().collect();
    assert_eq!(lines.len(), bad + 1, "a header and every failed row");
    assert_eq!(lines[0], format!("{HEADER},error"));
    assert!(lines[bad].starts_with("B-02499,"), "{}", lines[bad]);
    assert!(
        lines[bad].contains("heavy is not a number"),
        "{}",
        lines[bad]
    );

    // The same file from the import page, for a signed-in editor.
    let editor = app.login_as(Role::Editor).await;
    let session = editor.cookie("sluice_session").expect("a session cookie");
    let page = same_through_gzip(
        &app,
        &format!("/imports/{id}/errors.csv"),
        &[("cookie", format!("sluice_session={session}"))],
    )
    .await;
    assert_eq!(page, api);
}
