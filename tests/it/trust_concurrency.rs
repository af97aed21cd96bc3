//! Imports under concurrent edits and failures: a batch checked again
//! because a person changed one of its products leaves nothing stale behind
//! for later batches; editors PATCHing while a job runs keep every accepted
//! edit and the job succeeds; a dropped database connection interrupts a job
//! like a crash (it resumes, and only the third interruption fails it); the
//! demo creates its data folder on either backend.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
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
column = "weight"
attribute = "weight"
unit_column = "weight_unit"

[[columns]]
column = "price"
attribute = "base_price"
currency = "USD"
"#;

const HEADER: &str = "sku,family,model,name,color,size,weight,weight_unit,price\n";

/// The schema, the profile, an ERP token and an editor's token.
async fn setup(app: &TestApp) -> (String, String) {
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
    let erp = app.user_token(&[Role::Editor], "import catalog:read").await;
    let editor = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    (erp, editor)
}

async fn send_file(app: &TestApp, token: &str, body: &str) -> i64 {
    let sent = app
        .api_raw(
            Method::POST,
            "/api/v1/imports?profile=test-erp&mode=upsert&name=items.csv",
            token,
            body.as_bytes().to_vec(),
            &[("content-type", "text/csv")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    sent.json()["id"].as_i64().expect("job id")
}

async fn job(app: &TestApp, token: &str, id: i64) -> Value {
    let found = app
        .api(Method::GET, &format!("/api/v1/imports/{id}"), Some(token))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    found.json()
}

/// Sends a file and runs the worker until the queue is empty.
async fn import(app: &TestApp, token: &str, body: &str) -> Value {
    let id = send_file(app, token, body).await;
    sluice::import::worker::drain(&app.state)
        .await
        .expect("worker");
    job(app, token, id).await
}

async fn product(app: &TestApp, token: &str, sku: &str) -> Value {
    let found = app
        .api(Method::GET, &format!("/api/v1/products/{sku}"), Some(token))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{sku}: {}", found.body);
    found.json()
}

fn data<'a>(product: &'a Value, attribute: &str) -> &'a Value {
    &product["values"][attribute][0]["data"]
}

/// An editor's PATCH of a fast-lane value, as a client sends it: the
/// product's ETag in `If-Match`.
async fn patch_boost(
    app: &TestApp,
    token: &str,
    sku: &str,
    etag: &str,
    boost: &str,
) -> TestResponse {
    app.api_json(
        Method::PATCH,
        &format!("/api/v1/products/{sku}"),
        token,
        Some(
            json!({"values": {"search_boost": [{"locale": null, "channel": null, "data": boost}]}}),
        ),
        &[("if-match", etag)],
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.db().pool())
        .await
        .expect("count")
        .try_get(0)
        .expect("count column")
}

/// The exact re-check path, made to happen every run: batch 1 (a new model
/// and an update of G-1) and batch 2 (a variant of that model) are checked
/// ahead, as the job's planner does; an editor changes G-1 before batch 1 is
/// written, so the writer finds G-1 moved, rolls the attempt back and checks
/// batch 1 again under lock. Batch 2 must then name the model as it was
/// committed, not the id of the insert that was rolled back.
async fn a_batch_checked_again_leaves_no_stale_model_for_the_next(app: TestApp) {
    use sluice::catalog::product::{ProductKind, ValueKey};
    use sluice::workflow::batch::{self, BatchContext, BatchRow, ExecuteError, JobModels};
    use sluice::workflow::write::ValueChange;

    let (erp, editor) = setup(&app).await;
    let first = import(
        &app,
        &erp,
        &format!("{HEADER}G-1,gadgets,,Radio,,,1.5,kg,19.99\n"),
    )
    .await;
    assert_eq!(first["status"], "succeeded", "{first}");

    let schema = app.state.schema.get(app.db()).await.expect("schema");
    let actor = sluice::audit::Actor::system("import job #99 (test-erp)");
    let ctx = BatchContext {
        schema: &schema,
        actor: &actor,
        job_label: "import job #99 (test-erp)",
        dry_run: false,
    };
    let value = |attribute: &str, data: Value| ValueChange {
        key: ValueKey::new(attribute, None, None),
        data: Some(data),
    };
    let weight = |amount: &str| value("weight", json!({"amount": amount, "unit": "KILOGRAM"}));
    let row = |row: u64, sku: &str, kind, family: &str, parent: Option<&str>| BatchRow {
        row,
        sku: sku.to_owned(),
        kind,
        family: family.to_owned(),
        parent: parent.map(str::to_owned),
        categories: None,
        values: Vec::new(),
        seed: Vec::new(),
        digest: None,
    };
    let mut model = row(2, "SH-9", ProductKind::Model, "apparel", None);
    model.seed = vec![ValueChange {
        key: ValueKey::new("name", Some("en_US"), None),
        data: Some(json!("Linen shirt")),
    }];
    let mut radio = row(3, "G-1", ProductKind::Simple, "gadgets", None);
    radio.values = vec![weight("2")];
    let batch_one = vec![model, radio];
    let mut variant = row(
        4,
        "SH-9-RED-S",
        ProductKind::Variant,
        "apparel",
        Some("SH-9"),
    );
    variant.values = vec![weight("0.2")];
    variant.seed = vec![value("color", json!("red")), value("size", json!("s"))];
    let batch_two = vec![variant];

    // The planner checks both batches ahead, on its own connection.
    let now = app.clock().now();
    let mut planner_models = JobModels::default();
    let mut read = app.db().pool().acquire().await.expect("connection");
    let plan_one = batch::plan_rows(&mut read, &ctx, &batch_one, &mut planner_models, false, now)
        .await
        .expect("plan batch 1");
    let plan_two = batch::plan_rows(&mut read, &ctx, &batch_two, &mut planner_models, false, now)
        .await
        .expect("plan batch 2");
    drop(read);

    // An editor changes G-1 in between, with the right If-Match.
    let current = app
        .api(Method::GET, "/api/v1/products/G-1", Some(&editor))
        .await;
    let etag = current.header("etag").expect("etag").to_owned();
    let edited = patch_boost(&app, &editor, "G-1", &etag, "7").await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);

    // The writer, as the job runs it: the plan meets the moved product, the
    // attempt is rolled back and batch 1 is checked again under lock.
    let mut writer_models = JobModels::default();
    let mut tx = app.db().begin_write().await.expect("tx");
    {
        let mut attempt = sqlx::Connection::begin(&mut *tx).await.expect("savepoint");
        let written = batch::execute_plan(&mut attempt, &ctx, plan_one, now).await;
        assert!(
            matches!(written, Err(ExecuteError::MasterMoved)),
            "{written:?}"
        );
        attempt.rollback().await.expect("rollback");
    }
    let outcomes = batch::import_rows(&mut tx, &ctx, &batch_one, &mut writer_models, now)
        .await
        .expect("batch 1 checked again and written");
    assert_eq!(outcomes.len(), 2);
    tx.commit().await.expect("commit batch 1");

    let mut tx = app.db().begin_write().await.expect("tx");
    let outcomes = batch::execute_plan(&mut tx, &ctx, plan_two, now)
        .await
        .expect("batch 2 names the committed model");
    tx.commit().await.expect("commit batch 2");
    assert_eq!(outcomes, vec![batch::RowOutcome::Created]);

    let variant = product(&app, &editor, "SH-9-RED-S").await;
    assert_eq!(variant["parent"], "SH-9", "{variant}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM products v JOIN products m ON m.id = v.parent_id \
             WHERE v.sku = 'SH-9-RED-S' AND m.sku = 'SH-9'"
        )
        .await,
        1
    );
    // Both writers' changes to G-1 survive.
    let radio = product(&app, &editor, "G-1").await;
    assert_eq!(
        data(&radio, "search_boost").to_string().trim_matches('"'),
        "7",
        "{radio}"
    );
    assert_eq!(data(&radio, "weight")["amount"], "2", "{radio}");
}

/// Groups of four rows: an update of an existing product, a new model and
/// two variants; 25-row batches split groups, so variants often name a model
/// from the batch before.
fn concurrent_file(groups: usize) -> String {
    let mut file = HEADER.to_owned();
    for k in 0..groups {
        file.push_str(&format!("E-{k:04},gadgets,,,,,{},kg,\n", k + 2));
        file.push_str(&format!("M-{k:04},apparel,,Shirt {k},,,,,49.00\n"));
        file.push_str(&format!("M-{k:04}-RED-S,apparel,M-{k:04},,red,s,0.2,kg,\n"));
        file.push_str(&format!(
            "M-{k:04}-BLUE-M,apparel,M-{k:04},,blue,m,0.3,kg,\n"
        ));
    }
    file
}

/// A 2,000-row import in 80 batches while an editor PATCHes (with the
/// product's ETag) the products the file updates, aiming just behind the
/// reader so the edits land between a batch's check and its write. The job
/// succeeds; every accepted edit survives beside the file's values; every
/// refused one was refused visibly (412).
async fn an_import_succeeds_while_editors_patch_its_products(app: TestApp) {
    let (erp, editor) = setup(&app).await;
    let groups = 500;
    let mut existing = HEADER.to_owned();
    for k in 0..groups {
        existing.push_str(&format!("E-{k:04},gadgets,,Item {k},,,1,kg,10.00\n"));
    }
    let first = import(&app, &erp, &existing).await;
    assert_eq!(first["status"], "succeeded", "{first}");

    app.state.imports.set_options(RunOptions {
        batch_size: 25,
        crash_after_batches: None,
    });
    let id = send_file(&app, &erp, &concurrent_file(groups)).await;
    let done = AtomicBool::new(false);
    let running = async {
        let result = sluice::import::worker::drain(&app.state).await;
        done.store(true, Ordering::SeqCst);
        result
    };
    let editing = async {
        let mut accepted: HashMap<String, String> = HashMap::new();
        let mut refused = 0usize;
        let mut n = 0usize;
        loop {
            n += 1;
            // Just behind the reader: checked, perhaps not yet written.
            let read = app.state.imports.progress(id).map_or(0, |(rows, _)| rows);
            let group = usize::try_from(read.saturating_sub(2) / 4)
                .unwrap_or(0)
                .saturating_sub(n % 20)
                .min(groups - 1);
            let sku = format!("E-{group:04}");
            let current = app
                .api(
                    Method::GET,
                    &format!("/api/v1/products/{sku}"),
                    Some(&editor),
                )
                .await;
            assert_eq!(current.status, StatusCode::OK, "{}", current.body);
            let etag = current.header("etag").expect("etag").to_owned();
            // search_boost runs from 0 to 10.
            let boost = (n % 10 + 1).to_string();
            let edited = patch_boost(&app, &editor, &sku, &etag, &boost).await;
            match edited.status {
                StatusCode::OK => {
                    accepted.insert(sku, boost);
                }
                StatusCode::PRECONDITION_FAILED => refused += 1,
                other => panic!("PATCH {sku}: {other} {}", edited.body),
            }
            if done.load(Ordering::SeqCst) {
                return (accepted, refused);
            }
        }
    };
    let (result, (accepted, refused)) = tokio::join!(running, editing);
    result.expect("worker");

    let finished = job(&app, &erp, id).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    let c = &finished["counts"];
    assert_eq!(c["read"], 2000, "{finished}");
    assert_eq!(c["failed"], 0, "{finished}");
    assert_eq!(c["created"], 1500, "{finished}");
    assert_eq!(c["updated"], 500, "{finished}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM products WHERE kind = 'variant' AND parent_id IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM products v JOIN products m ON m.id = v.parent_id \
             WHERE v.kind = 'variant' AND v.sku LIKE m.sku || '-%'"
        )
        .await,
        1000
    );
    assert!(
        !accepted.is_empty(),
        "the editor's edits ran ({refused} refused)"
    );
    for (sku, boost) in &accepted {
        let found = product(&app, &editor, sku).await;
        assert_eq!(
            data(&found, "search_boost").to_string().trim_matches('"'),
            boost,
            "{sku}: {found}"
        );
        let k: usize = sku[2..].parse().expect("group");
        assert_eq!(
            data(&found, "weight")["amount"],
            (k + 2).to_string(),
            "{sku}: {found}"
        );
    }
}

db_tests!(
    a_batch_checked_again_leaves_no_stale_model_for_the_next,
    an_import_succeeds_while_editors_patch_its_products,
);
