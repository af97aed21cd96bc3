//! ERP imports end to end over the API and the worker: creation, unchanged
//! re-imports, idempotency keys, lanes and superseding proposals, ownership,
//! `full`, `dry-run`, row errors and the errors.csv round trip, the messy
//! corpus, and a crash between batches.

use axum::http::{Method, StatusCode};
use serde_json::Value;
use sluice::auth::Role;
use sluice::import::run::RunOptions;
use sqlx::Row;

use crate::{TestApp, TestResponse, db_tests};

const PROFILE: &str = r#"
code = "test-erp"
label = "Test ERP"
identifier = "sku"
parent = "model"
family = { column = "family" }
categories = { column = "categories", separator = "|" }

[[columns]]
column = "name"
attribute = "name"
locale = "en_US"
seed = true

[[columns]]
column = "color"
attribute = "color"
seed = true

[[columns]]
column = "size"
attribute = "size"
seed = true

[[columns]]
column = "description"
attribute = "description"
locale = "en_US"

[[columns]]
column = "weight"
attribute = "weight"
unit_column = "weight_unit"

[[columns]]
column = "price"
attribute = "base_price"
currency = "USD"

[[columns]]
column = "gtin"
attribute = "gtin"
transforms = ["trim", "pad_gtin"]
"#;

const HEADER: &str =
    "sku,family,model,name,color,size,description,weight,weight_unit,price,gtin,categories\n";

async fn setup(app: &TestApp) -> String {
    app.seed_schema().await;
    sluice::import::profiles::put(
        app.db().pool(),
        "test-erp",
        PROFILE,
        "test",
        app.clock().now(),
    )
    .await
    .expect("store profile");
    app.user_token(&[Role::Editor], "import catalog:read").await
}

async fn send_file(
    app: &TestApp,
    token: &str,
    mode: &str,
    body: &str,
    key: Option<&str>,
) -> TestResponse {
    let mut headers = vec![("content-type", "text/csv")];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    app.api_raw(
        Method::POST,
        &format!("/api/v1/imports?profile=test-erp&mode={mode}&name=items.csv"),
        token,
        body.as_bytes().to_vec(),
        &headers,
    )
    .await
}

/// Sends a file, runs the worker, answers the finished job.
async fn import(app: &TestApp, token: &str, mode: &str, body: &str) -> Value {
    let sent = send_file(app, token, mode, body, None).await;
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

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.db().pool())
        .await
        .expect("count")
        .try_get(0)
        .expect("count column")
}

async fn product(app: &TestApp, token: &str, sku: &str) -> Value {
    let found = app
        .api(Method::GET, &format!("/api/v1/products/{sku}"), Some(token))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{sku}: {}", found.body);
    found.json()
}

fn value<'a>(product: &'a Value, attribute: &str) -> &'a Value {
    &product["values"][attribute][0]["data"]
}

fn counts(job: &Value) -> (i64, i64, i64, i64, i64, i64) {
    let c = &job["counts"];
    let n = |k: &str| c[k].as_i64().unwrap_or(-1);
    (
        n("read"),
        n("created"),
        n("updated"),
        n("unchanged"),
        n("proposed"),
        n("failed"),
    )
}

async fn pending(app: &TestApp, token: &str) -> Vec<Value> {
    app.api(Method::GET, "/api/v1/proposals?sku=G-1", Some(token))
        .await
        .json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

const ITEMS: &str = "G-1,gadgets,,Pocket radio,,,Nice,1.5,kg,19.99,4006381333931,electronics\n\
G-2,gadgets,,Desk lamp,,,,800,g,34.50,,electronics|master\n\
SH-1,apparel,,Linen shirt,,,,,,49.00,,shirts\n\
SH-1-RED-S,apparel,SH-1,,red,s,,0.2,kg,,0012345678905,\n\
SH-1-BLUE-M,apparel,SH-1,,blue,m,,0.25,kg,,,\n";

async fn creates_then_unchanged_reimport_writes_nothing(app: TestApp) {
    let token = setup(&app).await;
    let file = format!("{HEADER}{ITEMS}");
    let job = import(&app, &token, "upsert", &file).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(counts(&job), (5, 5, 0, 0, 0, 0));
    let radio = product(&app, &token, "G-1").await;
    assert_eq!(
        value(&radio, "weight"),
        &serde_json::json!({"amount": "1.5", "unit": "KILOGRAM"})
    );
    assert_eq!(value(&radio, "name"), "Pocket radio", "seeded on create");
    assert!(
        radio["values"].get("description").is_none(),
        "a column without seed is ignored"
    );
    assert_eq!(
        radio["enabled"], false,
        "imported products are born disabled"
    );
    assert_eq!(radio["categories"], serde_json::json!(["electronics"]));
    let variant = product(&app, &token, "SH-1-RED-S").await;
    assert_eq!(variant["parent"], "SH-1");
    assert_eq!(variant["kind"], "variant");
    assert_eq!(value(&variant, "gtin"), "0012345678905");
    assert!(job["warnings"].to_string().contains("description"), "{job}");

    let versions = count(&app, "SELECT COUNT(*) FROM product_versions").await;
    let log = count(&app, "SELECT COUNT(*) FROM change_log").await;
    assert_eq!((versions, log), (5, 5));
    let again = import(&app, &token, "upsert", &file).await;
    assert_eq!(counts(&again), (5, 0, 0, 5, 0, 0));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM product_versions").await,
        versions
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM change_log").await, log);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM proposals").await, 0);

    // The history names the job.
    let history = app
        .api(Method::GET, "/api/v1/products/G-1/history", Some(&token))
        .await;
    assert!(history.body.contains("import job #"), "{}", history.body);
}

async fn idempotency_key_answers_the_same_job(app: TestApp) {
    let token = setup(&app).await;
    let file = format!("{HEADER}{ITEMS}");
    let first = send_file(&app, &token, "upsert", &file, Some("erp-2026-11-28")).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let id = first.json()["id"].clone();
    assert_eq!(first.json()["status"], "queued");
    assert!(
        first
            .header("location")
            .is_some_and(|l| l.ends_with(&format!("/{id}")))
    );
    // While queued, and after it ran: the same job.
    let retry = send_file(&app, &token, "upsert", &file, Some("erp-2026-11-28")).await;
    assert_eq!(
        (retry.status, retry.json()["id"].clone()),
        (StatusCode::ACCEPTED, id.clone())
    );
    sluice::import::worker::drain(&app.state)
        .await
        .expect("worker");
    let retry = send_file(&app, &token, "upsert", &file, Some("erp-2026-11-28")).await;
    assert_eq!(retry.json()["id"], id);
    assert_eq!(retry.json()["status"], "succeeded");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_jobs").await, 1);
    // The same key with another body, or another mode: 422.
    let other = send_file(
        &app,
        &token,
        "upsert",
        &format!("{HEADER}G-9,gadgets,,X,,,,,,,,\n"),
        Some("erp-2026-11-28"),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    assert!(other.body.contains("Idempotency-Key"));
    let other = send_file(&app, &token, "dry-run", &file, Some("erp-2026-11-28")).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Keys belong to their user: another user's same key is a new job.
    let someone_else = app.user_token(&[Role::Editor], "import").await;
    let theirs = send_file(&app, &someone_else, "upsert", &file, Some("erp-2026-11-28")).await;
    assert_eq!(theirs.status, StatusCode::ACCEPTED);
    assert_ne!(theirs.json()["id"], id);
    // Listing shows both with counts.
    let list = app.api(Method::GET, "/api/v1/imports", Some(&token)).await;
    assert_eq!(list.json()["items"].as_array().map(Vec::len), Some(2));
}

async fn imports_need_the_import_scope(app: TestApp) {
    let token = setup(&app).await;
    let reader = app.user_token(&[Role::Editor], "catalog:read").await;
    let file = format!("{HEADER}{ITEMS}");
    assert_eq!(
        send_file(&app, &reader, "upsert", &file, None).await.status,
        StatusCode::FORBIDDEN
    );
    let viewer = app.user_token(&[Role::Viewer], "catalog:read").await;
    assert_eq!(
        app.api(Method::GET, "/api/v1/imports", Some(&viewer))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let unknown = app
        .api_raw(
            Method::POST,
            "/api/v1/imports?profile=nope",
            &token,
            file.into_bytes(),
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_mode = send_file(&app, &token, "merge", HEADER, None).await;
    assert_eq!(bad_mode.status, StatusCode::BAD_REQUEST);
    let empty = send_file(&app, &token, "upsert", "", None).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn lanes_apply_fast_values_and_propose_reviewed_ones(app: TestApp) {
    let token = setup(&app).await;
    import(&app, &token, "upsert", &format!("{HEADER}{ITEMS}")).await;
    // Weight (fast) and GTIN (reviewed) change; the name (Sluice-owned) too, which is ignored.
    let changed = format!("{HEADER}G-1,gadgets,,Other name,,,,2,kg,19.99,96385074,electronics\n");
    let job = import(&app, &token, "upsert", &changed).await;
    assert_eq!(counts(&job), (1, 0, 1, 0, 1, 0), "{job}");
    let radio = product(&app, &token, "G-1").await;
    assert_eq!(value(&radio, "weight")["amount"], "2");
    assert_eq!(
        value(&radio, "gtin"),
        "4006381333931",
        "reviewed: not applied yet"
    );
    assert_eq!(
        value(&radio, "name"),
        "Pocket radio",
        "an import never overwrites a Sluice value"
    );
    assert_eq!(radio["version"], 2);
    let proposals = pending(&app, &token).await;
    assert_eq!(proposals.len(), 1);
    let first = &proposals[0];
    assert_eq!(
        (first["status"].as_str(), first["source"].as_str()),
        (Some("submitted"), Some("import"))
    );
    assert_eq!(first["changes"][0]["after"], "96385074");

    // The same file again: nothing new.
    let again = import(&app, &token, "upsert", &changed).await;
    assert_eq!(counts(&again), (1, 0, 0, 1, 0, 0));
    assert_eq!(pending(&app, &token).await.len(), 1);

    // Another GTIN: the pending import proposal is superseded.
    let newer = format!("{HEADER}G-1,gadgets,,,,,,2,kg,19.99,5012345678900,electronics\n");
    import(&app, &token, "upsert", &newer).await;
    let proposals = pending(&app, &token).await;
    assert_eq!(proposals.len(), 2);
    let statuses: Vec<&str> = proposals
        .iter()
        .filter_map(|p| p["status"].as_str())
        .collect();
    assert!(
        statuses.contains(&"withdrawn") && statuses.contains(&"submitted"),
        "{statuses:?}"
    );
    let open = proposals
        .iter()
        .find(|p| p["status"] == "submitted")
        .expect("open proposal");

    // An approver applies it: the ERP value lands in master.
    let approver = app
        .user_token(&[Role::Approver], "catalog:read catalog:write")
        .await;
    let approved = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{}/approve", open["id"]),
            &approver,
            Some(serde_json::json!({})),
            &[],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(
        value(&product(&app, &token, "G-1").await, "gtin"),
        "5012345678900"
    );
}

async fn full_disables_missing_products_and_dry_run_writes_nothing(app: TestApp) {
    let token = setup(&app).await;
    import(&app, &token, "upsert", &format!("{HEADER}{ITEMS}")).await;
    // People enable the products after review.
    let schema = app.state.schema.get(app.db()).await.expect("schema");
    for sku in ["G-1", "G-2", "SH-1", "SH-1-RED-S", "SH-1-BLUE-M"] {
        sluice::workflow::write::update(
            app.db(),
            &schema,
            &sluice::workflow::write::Writer::System(sluice::audit::Actor::system("test")),
            sku,
            None,
            &sluice::workflow::write::ChangeSet {
                enabled: Some(true),
                ..Default::default()
            },
            app.clock().now(),
        )
        .await
        .expect("enable");
    }
    let without_g2 = ITEMS
        .lines()
        .filter(|l| !l.starts_with("G-2"))
        .collect::<Vec<_>>()
        .join("\n");
    let file = format!("{HEADER}{without_g2}\nG-3,gadgets,,New thing,,,,1,kg,5.00,,\n");

    // dry-run: reports, writes nothing.
    let versions = count(&app, "SELECT COUNT(*) FROM product_versions").await;
    let products = count(&app, "SELECT COUNT(*) FROM products").await;
    let dry = import(&app, &token, "dry-run", &file.replace("1.5,kg", "1.7,kg")).await;
    assert_eq!(dry["status"], "succeeded");
    assert_eq!(counts(&dry), (5, 1, 1, 3, 0, 0), "{dry}");
    assert_eq!(dry["counts"]["disabled"], 1, "what full would disable");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM product_versions").await,
        versions
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM products").await, products);
    assert_eq!(
        value(&product(&app, &token, "G-1").await, "weight")["amount"],
        "1.5"
    );

    // full: G-2 is disabled (never deleted), with a history entry.
    let full = import(&app, &token, "full", &file).await;
    assert_eq!(full["status"], "succeeded", "{full}");
    assert_eq!(full["counts"]["disabled"], 1);
    assert_eq!(full["counts"]["created"], 1);
    let lamp = product(&app, &token, "G-2").await;
    assert_eq!(lamp["enabled"], false);
    assert_eq!(product(&app, &token, "G-1").await["enabled"], true);
    let history = app
        .api(Method::GET, "/api/v1/products/G-2/history", Some(&token))
        .await;
    assert!(history.body.contains("enabled"), "{}", history.body);

    // A full import of a file without rows would disable everything: refused.
    let empty = import(&app, &token, "full", HEADER).await;
    assert_eq!(empty["status"], "failed");
    assert!(
        empty["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no rows")
    );
    assert_eq!(product(&app, &token, "G-1").await["enabled"], true);
}

async fn row_errors_and_errors_csv_round_trip(app: TestApp) {
    let token = setup(&app).await;
    let file = format!(
        "{HEADER}G-1,gadgets,,Radio,,,,1.5,kg,19.99,2500004498,\n\
         G-2,gadgets,,=SUM(A1),,,,heavy,kg,5.00,,\n\
         G-3,toys,,Kite,,,,1,kg,5.00,,\n\
         G-4,gadgets,,Fine,,,,1,kg,5.00,,\n\
         G-1,gadgets,,Radio again,,,,1.5,kg,19.99,,\n\
         G-5,gadgets,,Lamp,,,,1,parsec,5.00,,\n\
         SH-9-RED-S,apparel,SH-9,,red,s,,1,kg,,,\n"
    );
    let job = import(&app, &token, "upsert", &file).await;
    assert_eq!(job["status"], "partial", "{job}");
    assert_eq!(counts(&job), (7, 1, 0, 0, 0, 6));
    let errors = app
        .api(
            Method::GET,
            &format!("/api/v1/imports/{}/errors.csv", job["id"]),
            Some(&token),
        )
        .await;
    assert_eq!(errors.status, StatusCode::OK);
    assert!(
        errors
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/csv"))
    );
    let text = errors.body.clone();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("{},error", HEADER.trim_end()));
    assert_eq!(lines.len(), 7, "{text}");
    for expected in [
        "GTIN 2500004498 has 10 digits; expected 8, 12, 13 or 14",
        "heavy is not a number",
        "\"\"toys\"\" is not a family",
        "the SKU G-1 is also on row 2",
        "parsec",
        "there is no model SH-9",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(
        text.contains(",'=SUM(A1),"),
        "formula cells are escaped: {text}"
    );

    // Fix the rows in the file as a person would, re-send: all apply.
    // The duplicate row goes; the others are corrected.
    let fixed = text
        .lines()
        .filter(|line| !line.contains("is also on row"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("2500004498", "4006381333931")
        .replace(",heavy,", ",2,")
        .replace(",toys,", ",gadgets,")
        .replace("parsec", "g")
        .replace(
            "SH-9-RED-S,apparel,SH-9,,red,s,,1,kg,,,",
            "SH-9,apparel,,Shirt,,,,,,9.00,,",
        );
    let resend = import(&app, &token, "upsert", &fixed).await;
    assert_eq!(resend["counts"]["failed"], 0, "{resend}");
    assert_eq!(resend["status"], "succeeded");
    assert_eq!(
        value(&product(&app, &token, "G-2").await, "name"),
        "=SUM(A1)",
        "the apostrophe is removed again"
    );
    assert_eq!(
        value(&product(&app, &token, "G-1").await, "gtin"),
        "4006381333931"
    );
    assert!(product(&app, &token, "G-3").await["family"] == "gadgets");
}

async fn the_messy_corpus_fails_row_by_row_with_clear_errors(app: TestApp) {
    sluice::demo::seed_catalog(app.db(), app.clock())
        .await
        .expect("demo catalog");
    let token = app.user_token(&[Role::Editor], "import").await;
    let mut bytes = Vec::new();
    let report = sluice::import::generate::generate(
        &mut bytes,
        sluice::import::generate::GenerateOptions {
            items: 400,
            variants: true,
            messy: true,
            seed: 9,
        },
    )
    .expect("generate");
    // The messy export writes decimal commas: the profile says so.
    let profile = include_str!("../../src/demo/erp-items.toml")
        .replace("decimal_comma = \"auto\"", "decimal_comma = true");
    sluice::import::profiles::put(
        app.db().pool(),
        "erp-items",
        &profile,
        "test",
        app.clock().now(),
    )
    .await
    .expect("profile");
    let sent = app
        .api_raw(
            Method::POST,
            "/api/v1/imports?profile=erp-items",
            &token,
            bytes,
            &[],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    sluice::import::worker::drain(&app.state)
        .await
        .expect("worker");
    let id = sent.json()["id"].as_i64().expect("id");
    let job = app
        .api(Method::GET, &format!("/api/v1/imports/{id}"), Some(&token))
        .await
        .json();
    assert_eq!(job["counts"]["read"], 400, "{job}");
    let failed = job["counts"]["failed"].as_i64().unwrap_or(0);
    assert!(
        failed > 0 && failed <= report.faulty as i64,
        "{failed} of {} faulty",
        report.faulty
    );
    assert_eq!(job["status"], "partial");
    // Every error is one of the planted faults, each with its own message.
    let groups = sluice::import::jobs::error_groups(app.db(), id, 1000)
        .await
        .expect("groups");
    let mut duplicates = 0;
    for group in &groups {
        for error in &group.examples {
            let known = error.message.contains("scientific notation")
                || error.message.contains("is not a family")
                || error.message.contains("line breaks")
                || error.message.contains("is also on row")
                || error.message.contains("there is no model")
                || error.message.contains("the model's row");
            assert!(
                known,
                "row {}: {} ({})",
                error.row, error.message, group.kind
            );
            assert!(error.row >= 2);
        }
        if group.kind == "duplicate_sku" {
            duplicates = group.count;
        }
    }
    assert_eq!(duplicates, report.duplicates as i64);
    // BOM, `;`, decimal commas and lost GTIN zeros were handled: the clean rows landed.
    assert!(job["counts"]["created"].as_i64().unwrap_or(0) >= 400 - report.faulty as i64 - 60);
}

async fn a_crash_between_batches_leaves_no_partial_batch_and_the_rerun_completes(app: TestApp) {
    let token = setup(&app).await;
    let mut file = HEADER.to_owned();
    for i in 0..45 {
        file.push_str(&format!("C-{i:03},gadgets,,Item {i},,,,1,kg,5.00,,\n"));
    }
    app.state.imports.set_options(RunOptions {
        batch_size: 10,
        crash_after_batches: Some(2),
    });
    let sent = send_file(&app, &token, "upsert", &file, None).await;
    let id = sent.json()["id"].as_i64().expect("id");
    sluice::import::worker::run_next(&app.state)
        .await
        .expect("worker");
    // Two batches committed; the third was written in part and never committed.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM products").await, 20);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM change_log").await, 20);
    let job = app
        .api(Method::GET, &format!("/api/v1/imports/{id}"), Some(&token))
        .await
        .json();
    assert_eq!(job["status"], "running");
    assert_eq!(job["counts"]["created"], 20);

    // Another worker takes the job over once its lease ran out, and finishes it.
    app.state.imports.set_options(RunOptions::default());
    assert_eq!(
        sluice::import::worker::run_next(&app.state)
            .await
            .expect("worker"),
        None,
        "the lease still holds"
    );
    app.clock().advance(time::Duration::minutes(2));
    assert_eq!(
        sluice::import::worker::run_next(&app.state)
            .await
            .expect("worker"),
        Some(id)
    );
    let job = app
        .api(Method::GET, &format!("/api/v1/imports/{id}"), Some(&token))
        .await
        .json();
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(counts(&job), (45, 45, 0, 0, 0, 0));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM products").await, 45);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM product_versions").await,
        45,
        "one version each"
    );
    let seqs = count(&app, "SELECT MAX(seq) - MIN(seq) + 1 FROM change_log").await;
    assert_eq!(seqs, 45, "the change log has no gap");
}

async fn variants_find_their_model_across_batches(app: TestApp) {
    let token = setup(&app).await;
    app.state.imports.set_options(RunOptions {
        batch_size: 2,
        crash_after_batches: None,
    });
    let file = format!(
        "{HEADER}SH-1,apparel,,Shirt,,,,,,49.00,,shirts\n\
         SH-1-RED-S,apparel,SH-1,,red,s,,0.2,kg,,,\n\
         SH-1-RED-M,apparel,SH-1,,red,m,,0.2,kg,,,\n\
         SH-1-RED-M2,apparel,SH-1,,red,m,,0.2,kg,,,\n\
         G-1,gadgets,SH-1,,,,,1,kg,,,\n"
    );
    for mode in ["dry-run", "upsert"] {
        let job = import(&app, &token, mode, &file).await;
        assert_eq!(counts(&job), (5, 3, 0, 0, 0, 2), "{mode}: {job}");
    }
    let groups = sluice::import::jobs::error_groups(app.db(), 2, 10)
        .await
        .expect("groups");
    let text = format!("{groups:?}");
    assert!(
        text.contains("already has these color/size values"),
        "{text}"
    );
    assert!(
        text.contains("only variants have a parent") || text.contains("no variant axes"),
        "{text}"
    );
}

db_tests!(
    creates_then_unchanged_reimport_writes_nothing,
    idempotency_key_answers_the_same_job,
    imports_need_the_import_scope,
    lanes_apply_fast_values_and_propose_reviewed_ones,
    full_disables_missing_products_and_dry_run_writes_nothing,
    row_errors_and_errors_csv_round_trip,
    the_messy_corpus_fails_row_by_row_with_clear_errors,
    a_crash_between_batches_leaves_no_partial_batch_and_the_rerun_completes,
    variants_find_their_model_across_batches,
);

/// A batch checked ahead of its write (on another connection) is not
/// written over a product that moved in between: the writer notices and the
/// runner checks the batch again under lock.
async fn a_plan_over_a_product_that_moved_is_not_written(app: TestApp) {
    use sluice::catalog::product::{ProductKind, ValueKey};
    use sluice::workflow::batch::{self, BatchContext, BatchRow, ExecuteError, JobModels};
    use sluice::workflow::write::{self, ChangeSet, ValueChange, Writer};
    let token = setup(&app).await;
    import(&app, &token, "upsert", &format!("{HEADER}{ITEMS}")).await;
    let schema = app.state.schema.get(app.db()).await.expect("schema");
    let actor = sluice::audit::Actor::system("test import");
    let ctx = BatchContext {
        schema: &schema,
        actor: &actor,
        job_label: "import job #0 (test)",
        dry_run: false,
    };
    let weight = |amount: &str| ValueChange {
        key: ValueKey::new("weight", None, None),
        data: Some(serde_json::json!({"amount": amount, "unit": "KILOGRAM"})),
    };
    let rows = vec![BatchRow {
        row: 2,
        sku: "G-1".to_owned(),
        kind: ProductKind::Simple,
        family: "gadgets".to_owned(),
        parent: None,
        categories: None,
        values: vec![weight("2")],
        seed: Vec::new(),
        digest: None,
    }];
    let mut read = app.db().pool().acquire().await.expect("connection");
    let plan = batch::plan_rows(
        &mut read,
        &ctx,
        &rows,
        &mut JobModels::default(),
        false,
        app.clock().now(),
    )
    .await
    .expect("plan");
    drop(read);
    write::update(
        app.db(),
        &schema,
        &Writer::System(actor.clone()),
        "G-1",
        None,
        &ChangeSet {
            values: vec![weight("3")],
            ..Default::default()
        },
        app.clock().now(),
    )
    .await
    .expect("a concurrent write");
    let mut tx = app.db().begin_write().await.expect("tx");
    let result = batch::execute_plan(&mut tx, &ctx, plan, app.clock().now()).await;
    assert!(
        matches!(result, Err(ExecuteError::MasterMoved)),
        "{result:?}"
    );
    drop(tx);
    assert_eq!(
        value(&product(&app, &token, "G-1").await, "weight")["amount"],
        "3"
    );
}

db_tests!(a_plan_over_a_product_that_moved_is_not_written);

/// Four eyes hold for imports: whoever sent the file cannot approve the
/// proposal it opened, even with the approver role.
async fn the_sender_of_a_file_cannot_approve_its_proposal(app: TestApp) {
    let token = setup(&app).await;
    import(&app, &token, "upsert", &format!("{HEADER}{ITEMS}")).await;
    app.user("both@test.local", &[Role::Editor, Role::Approver])
        .await;
    let both = app
        .token("both@test.local", "import catalog:read catalog:write")
        .await;
    let changed = format!("{HEADER}G-1,gadgets,,,,,,1.5,kg,19.99,96385074,\n");
    let job = import(&app, &both, "upsert", &changed).await;
    assert_eq!(job["counts"]["proposed"], 1, "{job}");
    let proposal = pending(&app, &both).await[0].clone();
    assert!(
        proposal["author"]
            .as_str()
            .unwrap_or_default()
            .contains("both@test.local"),
        "{proposal}"
    );
    let own = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{}/approve", proposal["id"]),
            &both,
            Some(serde_json::json!({})),
            &[],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
}

/// `full` never switches off the catalog because a file lost its SKUs.
async fn full_refuses_to_disable_when_the_file_names_no_products(app: TestApp) {
    let token = setup(&app).await;
    import(&app, &token, "upsert", &format!("{HEADER}{ITEMS}")).await;
    let schema = app.state.schema.get(app.db()).await.expect("schema");
    sluice::workflow::write::update(
        app.db(),
        &schema,
        &sluice::workflow::write::Writer::System(sluice::audit::Actor::system("test")),
        "G-2",
        None,
        &sluice::workflow::write::ChangeSet {
            enabled: Some(true),
            ..Default::default()
        },
        app.clock().now(),
    )
    .await
    .expect("enable");
    // The SKU column renamed: the job fails before reading a row.
    let renamed = format!(
        "{}G-1,gadgets,,,,,,1,kg,,,\n",
        HEADER.replacen("sku", "item", 1)
    );
    let job = import(&app, &token, "full", &renamed).await;
    assert_eq!(job["status"], "failed");
    assert!(
        job["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no column \"sku\""),
        "{job}"
    );
    // A row without a SKU: the other rows apply, nothing is disabled.
    let holey = format!("{HEADER}G-1,gadgets,,,,,,1.6,kg,19.99,,\n,gadgets,,,,,,1,kg,,,\n");
    let job = import(&app, &token, "full", &holey).await;
    assert_eq!(job["status"], "partial", "{job}");
    assert_eq!(job["counts"]["disabled"], 0);
    assert!(
        job["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no SKU"),
        "{job}"
    );
    assert_eq!(product(&app, &token, "G-2").await["enabled"], true);
    assert_eq!(
        value(&product(&app, &token, "G-1").await, "weight")["amount"],
        "1.6"
    );
}

db_tests!(
    the_sender_of_a_file_cannot_approve_its_proposal,
    full_refuses_to_disable_when_the_file_names_no_products,
);
