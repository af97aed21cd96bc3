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
            // At least one accepted edit to check, even when the job was quicker.
            if done.load(Ordering::SeqCst) && !accepted.is_empty() {
                return (accepted, refused);
            }
        }
    };
    let (result, (accepted, refused)) = tokio::join!(running, editing);
    result.expect("worker");

    let finished = job(&app, &erp, id).await;
    assert_eq!(
        finished["status"],
        "succeeded",
        "{finished} ({} edits accepted, {refused} refused)",
        accepted.len()
    );
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
    an_interrupted_worker_cannot_requeue_a_job_taken_over,
    a_resumed_full_import_counts_every_product_it_disabled,
    an_import_succeeds_while_editors_patch_its_products,
);

/// `rows` new gadgets, one per row.
fn new_gadgets(rows: usize) -> String {
    let mut file = HEADER.to_owned();
    for i in 0..rows {
        file.push_str(&format!(
            "N-{i:05},gadgets,,Item {i},,,{},kg,9.99\n",
            i % 50 + 1
        ));
    }
    file
}

/// Counts each committed batch wrote: one product, one version and one
/// change-log entry per row, with no gap in the change log.
async fn assert_written_once(app: &TestApp, rows: i64) {
    assert_eq!(count(app, "SELECT COUNT(*) FROM products").await, rows);
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM product_versions").await,
        rows
    );
    assert_eq!(
        count(app, "SELECT MAX(seq) - MIN(seq) + 1 FROM change_log").await,
        count(app, "SELECT COUNT(*) FROM change_log").await,
        "the change log has no gap"
    );
}

/// Ends the backends (other than its own) that are writing products in
/// this test's schema, as an operator's `pg_terminate_backend` or a
/// failover would; answers their process ids (a backend holds its locks
/// for a moment after it was told to end, so it may be named twice).
async fn terminate_writers(control: &sluice::db::Db, schema: &str) -> Vec<i64> {
    sqlx::query(
        "SELECT CAST(a.pid AS BIGINT) AS pid, pg_terminate_backend(a.pid) AS ended \
         FROM pg_stat_activity a WHERE a.pid <> pg_backend_pid() AND a.pid IN ( \
           SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = $1 AND c.relname = 'products' AND l.mode = 'RowExclusiveLock')",
    )
    .bind(schema)
    .fetch_all(control.pool())
    .await
    .expect("terminate")
    .iter()
    .map(|row| row.try_get("pid").expect("pid"))
    .collect()
}

/// Runs the queued job `id` while ending its writing connection in the
/// middle of a batch (each time after another batch was committed, so every
/// attempt leaves work applied), until the job was interrupted
/// `interruptions` times or ended. A backend ended just as its batch
/// committed can go unnoticed (the pool replaces it), so interruptions are
/// counted by the job's attempts, not by the backends ended.
async fn import_with_dropped_connections(app: &TestApp, id: i64, interruptions: i64) {
    let schema: String = sqlx::query("SELECT CAST(current_schema() AS TEXT) AS s")
        .fetch_one(app.db().pool())
        .await
        .expect("schema")
        .try_get("s")
        .expect("schema name");
    let control = sluice::db::Db::connect(&app.state.config.database_url, 1)
        .await
        .expect("a connection of the operator's own");
    let done = AtomicBool::new(false);
    let running = async {
        let result = sluice::import::worker::drain(&app.state).await;
        done.store(true, Ordering::SeqCst);
        result
    };
    let killing = async {
        let mut resumed_at = 1i64;
        while !done.load(Ordering::SeqCst) {
            let row =
                sqlx::query("SELECT resume_row, attempts, status FROM import_jobs WHERE id = $1")
                    .bind(id)
                    .fetch_one(control.pool())
                    .await
                    .expect("job");
            let resume: i64 = row.try_get("resume_row").expect("resume row");
            let attempts: i64 = row.try_get("attempts").expect("attempts");
            let status: String = row.try_get("status").expect("status");
            // A running job on its n-th attempt was interrupted n - 1 times.
            if status == "running"
                && attempts - 1 < interruptions
                && resume > resumed_at
                && !terminate_writers(&control, &schema).await.is_empty()
            {
                resumed_at = resume;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    };
    let (result, ()) = tokio::join!(running, killing);
    result.expect("worker");
    control.close().await;
}

/// One dropped connection in the middle of an import: the job goes back to
/// the queue and resumes after its last committed batch; nothing is written
/// twice and the job succeeds on its second attempt.
async fn a_dropped_connection_interrupts_an_import_and_it_resumes(app: TestApp) {
    let (erp, _) = setup(&app).await;
    app.state.imports.set_options(RunOptions {
        batch_size: 50,
        crash_after_batches: None,
    });
    let rows = 3000;
    let id = send_file(&app, &erp, &new_gadgets(rows)).await;
    import_with_dropped_connections(&app, id, 1).await;
    let finished = job(&app, &erp, id).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(finished["counts"]["read"], rows, "{finished}");
    assert_eq!(finished["counts"]["created"], rows, "{finished}");
    let stored = sluice::import::jobs::get(app.db().pool(), id)
        .await
        .expect("job")
        .expect("job row");
    assert_eq!(stored.attempts, 2, "resumed once");
    assert_written_once(&app, rows as i64).await;
}

/// Three interruptions fail the job, with a message that says why; what
/// the committed batches applied stays applied and is counted.
async fn the_third_dropped_connection_fails_the_import(app: TestApp) {
    let (erp, _) = setup(&app).await;
    app.state.imports.set_options(RunOptions {
        batch_size: 50,
        crash_after_batches: None,
    });
    let id = send_file(&app, &erp, &new_gadgets(3000)).await;
    import_with_dropped_connections(&app, id, 3).await;
    let finished = job(&app, &erp, id).await;
    assert_eq!(finished["status"], "failed", "{finished}");
    let stored = sluice::import::jobs::get(app.db().pool(), id)
        .await
        .expect("job")
        .expect("job row");
    assert_eq!(stored.attempts, 3, "failed on its third attempt");
    let message = finished["message"].as_str().unwrap_or_default();
    assert!(message.contains("interrupted 3 times"), "{finished}");
    assert!(
        message.contains("sending the file again is safe"),
        "{finished}"
    );
    let created = finished["counts"]["created"].as_i64().unwrap_or(-1);
    assert!(created > 0 && created < 3000, "{finished}");
    assert_written_once(&app, created).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL: run with SLUICE_TEST_POSTGRES_URL and -- --include-ignored"]
async fn a_dropped_connection_interrupts_an_import_and_it_resumes_postgres() {
    a_dropped_connection_interrupts_an_import_and_it_resumes(TestApp::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL: run with SLUICE_TEST_POSTGRES_URL and -- --include-ignored"]
async fn the_third_dropped_connection_fails_the_import_postgres() {
    the_third_dropped_connection_fails_the_import(TestApp::postgres().await).await;
}

/// SQLite: another process (a `sluice import` from the shell, a backup tool)
/// holds the write lock past the busy timeout in the middle of a job. The
/// job's next batch meets SQLITE_BUSY, an interruption like a crash: the job
/// goes back to the queue and resumes after its last committed batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_database_interrupts_an_import_and_it_resumes_sqlite() {
    use sqlx::Connection;

    let app = TestApp::sqlite().await;
    let (erp, _) = setup(&app).await;
    app.state.imports.set_options(RunOptions {
        batch_size: 10,
        crash_after_batches: None,
    });
    let rows = 3000;
    let id = send_file(&app, &erp, &new_gadgets(rows)).await;
    let mut other = sqlx::AnyConnection::connect(app.state.config.database_url.expose())
        .await
        .expect("another process's connection");
    sqlx::raw_sql("PRAGMA busy_timeout = 0")
        .execute(&mut other)
        .await
        .expect("no busy wait");
    let done = AtomicBool::new(false);
    let running = async {
        let result = sluice::import::worker::drain(&app.state).await;
        done.store(true, Ordering::SeqCst);
        result
    };
    let holding = async {
        // Once a batch is committed, take the write lock …
        loop {
            let resume: i64 = sqlx::query("SELECT resume_row FROM import_jobs WHERE id = $1")
                .bind(id)
                .fetch_one(app.db().pool())
                .await
                .expect("job")
                .try_get("resume_row")
                .expect("resume row");
            if resume > 1 || done.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        // Ask for the lock without waiting and ask again at once: SQLite's
        // own busy wait backs off to 100 ms sleeps and so keeps missing the
        // short gaps between the import's batches.
        loop {
            match sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut other).await {
                Ok(_) => break,
                Err(err) if done.load(Ordering::SeqCst) => {
                    panic!("the import ended before the lock was taken: {err}")
                }
                Err(_) => tokio::task::yield_now().await,
            }
        }
        // … and keep it until the job's run gave up waiting for it.
        while app.state.imports.progress(id).is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        sqlx::raw_sql("COMMIT")
            .execute(&mut other)
            .await
            .expect("release");
    };
    let (result, ()) = tokio::join!(running, holding);
    result.expect("worker");
    let finished = job(&app, &erp, id).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(finished["counts"]["created"], rows, "{finished}");
    let stored = sluice::import::jobs::get(app.db().pool(), id)
        .await
        .expect("job")
        .expect("job row");
    assert_eq!(stored.attempts, 2, "resumed once");
    assert_written_once(&app, rows as i64).await;
}

/// `sluice demo --seed-only` with a data folder that does not exist yet, on
/// either backend: the folder is created (the ERP file, uploads and media
/// live there even when the database is PostgreSQL) and the demo file is
/// imported.
async fn the_demo_creates_its_data_folder(app: TestApp) {
    let data_dir = app.data_dir.join("not").join("there").join("yet");
    assert!(!data_dir.exists());
    let url = app.state.config.database_url.expose().to_owned();
    let cwd = app.data_dir.clone();
    let folder = data_dir.clone();
    let output = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
        for (key, _) in std::env::vars() {
            if key.starts_with("SLUICE_") {
                command.env_remove(key);
            }
        }
        command
            .args(["demo", "--seed-only"])
            .current_dir(cwd)
            .env("SLUICE_DATABASE_URL", url)
            .env("SLUICE_DATA_DIR", folder)
            .env("SLUICE_DEMO_PASSWORD", "demo password for tests")
            .output()
            .expect("run sluice demo")
    })
    .await
    .expect("demo thread");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("the demo file was not imported"),
        "{stdout}"
    );
    assert!(!stdout.contains("No such file or directory"), "{stdout}");
    assert!(data_dir.is_dir(), "{stdout}");
    assert!(data_dir.join("demo-erp-items.csv").is_file(), "{stdout}");
    let imported = sqlx::query("SELECT status FROM import_jobs WHERE origin = 'demo'")
        .fetch_all(app.db().pool())
        .await
        .expect("demo jobs");
    assert_eq!(imported.len(), 1, "{stdout}");
    let status: String = imported[0].try_get("status").expect("status");
    assert_eq!(status, "succeeded", "{stdout}");
}

db_tests!(the_demo_creates_its_data_folder);

/// A worker whose job was taken over (its heartbeat went stale and another
/// worker claimed it) cannot hand it back to the queue when its own
/// interrupted run ends: only the holder of the latest claim may.
async fn an_interrupted_worker_cannot_requeue_a_job_taken_over(app: TestApp) {
    use sluice::import::jobs;
    let (erp, _) = setup(&app).await;
    let id = send_file(&app, &erp, &new_gadgets(3)).await;
    let first = jobs::claim(app.db(), app.clock().now(), Some(id))
        .await
        .expect("claim")
        .expect("the queued job");
    // The first worker stalls past its lease; another takes the job over.
    app.clock().advance(time::Duration::hours(1));
    let second = jobs::claim(app.db(), app.clock().now(), Some(id))
        .await
        .expect("claim")
        .expect("the stale job");
    assert_eq!(second.attempts, first.attempts + 1);
    // The first worker's transient error must not requeue the second's run.
    assert!(
        !jobs::requeue(app.db(), id, first.attempts)
            .await
            .expect("requeue")
    );
    let held = jobs::get(app.db().pool(), id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(held.status.as_str(), "running");
    // The holder of the latest claim may.
    assert!(
        jobs::requeue(app.db(), id, second.attempts)
            .await
            .expect("requeue")
    );
}

/// A `full` job interrupted while disabling (a dropped connection during its
/// last phase) counts on from what it had disabled when it resumes.
async fn a_resumed_full_import_counts_every_product_it_disabled(app: TestApp) {
    let (erp, _) = setup(&app).await;
    import(&app, &erp, &new_gadgets(4)).await;
    // Imports create products disabled; these are on sale now.
    sqlx::query("UPDATE products SET enabled = $1")
        .bind(true)
        .execute(app.db().pool())
        .await
        .expect("enable");
    let sent = app
        .api_raw(
            Method::POST,
            "/api/v1/imports?profile=test-erp&mode=full&name=items.csv",
            &erp,
            new_gadgets(1).into_bytes(),
            &[("content-type", "text/csv")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    let id = sent.json()["id"].as_i64().expect("job id");
    // Its first run disabled N-00001 and was interrupted before the rest.
    sqlx::query("UPDATE products SET enabled = $1 WHERE sku = 'N-00001'")
        .bind(false)
        .execute(app.db().pool())
        .await
        .expect("disable");
    sqlx::query("UPDATE import_jobs SET disabled_count = 1 WHERE id = $1")
        .bind(id)
        .execute(app.db().pool())
        .await
        .expect("count");
    sluice::import::worker::drain(&app.state)
        .await
        .expect("worker");
    let done = job(&app, &erp, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["counts"]["disabled"], 3, "{done}");
}
