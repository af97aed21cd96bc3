//! Issue 11, schema purges as background jobs: a destructive schema change
//! that products are affected by answers at once (303 to the job page, or
//! 202 with the job), and the job purges the products in stretches, each
//! its own transaction with history, then applies the schema; audited when
//! queued and when done, failed (nothing applied) when the schema moved on,
//! and resumed after a takeover.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::audit::{Actor, AuditEntry, AuditFilter};
use sluice::auth::Role;
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::catalog::store;
use sluice::jobs::worker::{self as job_worker, LEASE, WorkerOptions};
use sluice::schema_code;
use sluice::workflow::write::{self, NewProduct, ValueChange, Writer};

use crate::TestApp;

crate::db_tests!(
    deleting_a_used_category_from_its_page_runs_as_a_job_with_progress,
    a_destructive_api_write_answers_202_and_the_job_applies_it,
    a_job_whose_schema_moved_on_fails_and_applies_nothing,
    a_schema_job_taken_over_mid_purge_finishes_once_per_product,
    removing_a_used_attribute_on_the_schema_page_is_one_job_for_every_step,
);

/// More products than one stretch of the purge (1,000).
const PRODUCTS: usize = 1_500;

/// A manual's address, as every gadget has one.
const MANUAL: &str = "https://example.com/manual.pdf";

/// The fixture schema and `products` gadgets in `electronics`, each with a
/// search boost and a manual, written by the system (version 1 each).
async fn catalog(app: &TestApp, products: usize) {
    app.seed_schema().await;
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    for n in 1..=products {
        let values = [
            ("name", Some("en_US"), json!(format!("Gadget {n}"))),
            ("search_boost", None, json!("2.5")),
            ("manual_url", None, json!(MANUAL)),
        ];
        let product = NewProduct {
            sku: format!("G-{n}"),
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
        };
        write::create(
            app.db(),
            &schema,
            &Writer::System(Actor::system("test")),
            product,
            app.clock().now(),
        )
        .await
        .unwrap_or_else(|err| panic!("create G-{n}: {err}"));
    }
}

/// One number from the database.
async fn count(app: &TestApp, sql: &'static str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(app.db().pool())
        .await
        .expect("count")
        .try_get::<i64, _>(0)
        .expect("a number")
}

/// Products still assigned to `electronics`.
async fn in_electronics(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM product_categories WHERE category = 'electronics'",
    )
    .await
}

/// Audit entries on the schema, newest first.
async fn schema_audit(app: &TestApp) -> Vec<AuditEntry> {
    sluice::audit::list(
        app.db(),
        &AuditFilter {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .expect("audit")
    .into_iter()
    .filter(|e| e.target == "schema")
    .collect()
}

/// A job through the API.
async fn get_job(app: &TestApp, token: &str, id: i64) -> Value {
    let response = app
        .api(Method::GET, &format!("/api/v1/jobs/{id}"), Some(token))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

/// The number in `<progress ... value="N">` on a page.
fn progress_value(body: &str) -> Option<i64> {
    let at = body.find("<progress")?;
    let tag = &body[at..at + body[at..].find('>')?];
    let value = tag.split("value=\"").nth(1)?;
    value[..value.find('"')?].parse().ok()
}

/// Every product lost `electronics` in exactly one new version, written in
/// `who`'s name, and kept its values.
async fn every_product_left_electronics_once(app: &TestApp, who: &str) {
    assert_eq!(in_electronics(app).await, 0);
    let total = i64::try_from(PRODUCTS).expect("count");
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM products WHERE version = 2").await,
        total,
        "each product has exactly one new version"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM product_versions WHERE version = 2"
        )
        .await,
        total
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM product_versions WHERE version > 2"
        )
        .await,
        0
    );
    for sku in ["G-1", "G-1000", "G-1001", &format!("G-{PRODUCTS}")] {
        let stored = store::find(app.db().pool(), sku)
            .await
            .expect("find")
            .expect("product");
        assert!(stored.product.categories.is_empty(), "{sku}");
        assert_eq!(
            stored
                .product
                .values
                .get(&ValueKey::new("search_boost", None, None)),
            Some(&json!("2.5")),
            "{sku} keeps its other values"
        );
        let history = sluice::workflow::history::versions(app.db(), stored.product.id, 10)
            .await
            .expect("history");
        assert_eq!(history.len(), 2, "{sku}: {history:?}");
        assert_eq!(history[0].actor, who, "{sku}");
        let change = serde_json::to_value(&history[0].changes).expect("changes");
        assert_eq!(
            change,
            json!([{"attribute": "categories", "locale": null, "channel": null,
                    "before": ["electronics"], "after": []}]),
            "{sku}"
        );
    }
}

async fn deleting_a_used_category_from_its_page_runs_as_a_job_with_progress(app: TestApp) {
    catalog(&app, PRODUCTS).await;
    let admin = app.login_as(Role::Admin).await;
    // The worker stops after its first stretch, so the page is seen mid-way.
    app.state.jobs.set_options(WorkerOptions {
        step: 1_000,
        crash_after_steps: Some(1),
    });
    let page = "/settings/categories/electronics";

    // Without the tick: refused at once, as before, and nothing queued.
    let refused = admin
        .post_form(page, page, &[("action", "delete"), ("definition", "")])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains(&format!("{PRODUCTS} product(s) would be taken out of it")),
        "{}",
        refused.body
    );

    let response = admin
        .post_form(
            page,
            page,
            &[
                ("action", "delete"),
                ("definition", ""),
                ("allow_destructive", "true"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let href = response.location().to_owned();
    assert!(href.starts_with("/jobs/"), "{href}");
    // Queued, nothing applied yet: the category is defined and still used.
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    assert!(schema.category("electronics").is_some());
    assert_eq!(in_electronics(&app).await, 1_500);

    let queued = admin.get(&href).await;
    assert_eq!(queued.status, StatusCode::OK, "{}", queued.body);
    assert!(
        queued
            .body
            .contains("Schema change: delete category electronics"),
        "{}",
        queued.body
    );
    assert!(queued.body.contains("Queued"), "{}", queued.body);

    // One stretch of 1,000 of 1,500 products: 66 %, the schema unchanged,
    // so readers still find the category defined.
    job_worker::drain(&app.state).await.expect("jobs run");
    let running = admin.get(&href).await;
    assert!(running.body.contains("Running"), "{}", running.body);
    assert_eq!(progress_value(&running.body), Some(66), "{}", running.body);
    assert!(
        running.body.contains("1000 of 1500 products"),
        "{}",
        running.body
    );
    assert_eq!(in_electronics(&app).await, 500);
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    assert!(schema.category("electronics").is_some());

    // Its worker is gone; after the lease another resumes and ends it.
    app.state.jobs.set_options(WorkerOptions {
        step: 1_000,
        crash_after_steps: None,
    });
    app.clock().advance(LEASE + time::Duration::seconds(1));
    job_worker::drain(&app.state).await.expect("jobs run");
    let done = admin.get(&href).await;
    assert!(done.body.contains("succeeded"), "{}", done.body);
    assert!(
        done.body.contains(
            "Applied the schema change (1 step): 1500 products lost values the schema no longer defines, each with a history entry."
        ),
        "{}",
        done.body
    );
    assert_eq!(progress_value(&done.body), Some(100), "{}", done.body);
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    assert!(schema.category("electronics").is_none());

    // The admin is the author of every purge and of both audit entries.
    let audit = schema_audit(&app).await;
    let by = audit[0].actor.clone();
    every_product_left_electronics_once(&app, &by).await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[..2],
        ["schema.apply", "schema.apply.queued"],
        "{audit:?}"
    );
    assert_eq!(audit[1].actor, by);
    assert_ne!(by, "test", "in the name of who asked");
    assert_eq!(audit[0].details["status"], "succeeded", "{:?}", audit[0]);
    assert_eq!(audit[0].details["purged"], 1_500, "{:?}", audit[0]);
}

async fn a_destructive_api_write_answers_202_and_the_job_applies_it(app: TestApp) {
    catalog(&app, PRODUCTS).await;
    let admin = app.user_token(&[Role::Admin], "admin catalog:read").await;

    // A change that purges nothing still applies at once, as before.
    let gizmos = json!({"code": "gizmos", "parent": "master", "labels": {"en_US": "Gizmos"}});
    let created = app
        .api_json(
            Method::PUT,
            "/api/v1/categories/gizmos",
            &admin,
            Some(gizmos),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.json()["applied"], true, "{}", created.body);

    // Refused without allow_destructive: 409 at once, nothing queued.
    let refused = app
        .api_json(
            Method::DELETE,
            "/api/v1/categories/electronics",
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);

    let queued = app
        .api_json(
            Method::DELETE,
            "/api/v1/categories/electronics?allow_destructive=true",
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let job = queued.json();
    let id = job["id"].as_i64().expect("id");
    assert_eq!(queued.location(), format!("/api/v1/jobs/{id}"));
    assert_eq!(job["kind"], "schema.apply", "{job}");
    assert_eq!(job["target"], "schema", "{job}");
    assert_eq!(job["status"], "queued", "{job}");
    assert_eq!(in_electronics(&app).await, 1_500);
    let audit = schema_audit(&app).await;
    assert_eq!(audit[0].action, "schema.apply.queued", "{audit:?}");

    job_worker::drain(&app.state).await.expect("jobs run");
    let done = get_job(&app, &admin, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"]["done"], 1_500, "{done}");
    assert_eq!(done["progress"]["total"], 1_500, "{done}");
    assert_eq!(done["result"]["purged"], 1_500, "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    let categories = app
        .api(Method::GET, "/api/v1/categories", Some(&admin))
        .await
        .json();
    let codes: Vec<&str> = categories
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(!codes.contains(&"electronics"), "{codes:?}");
    assert!(codes.contains(&"gizmos"), "{codes:?}");
    let audit = schema_audit(&app).await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[..2],
        ["schema.apply", "schema.apply.queued"],
        "{audit:?}"
    );
    let by = audit[0].actor.clone();
    assert_eq!(audit[1].actor, by);
    every_product_left_electronics_once(&app, &by).await;
}

async fn a_job_whose_schema_moved_on_fails_and_applies_nothing(app: TestApp) {
    catalog(&app, 20).await;
    let admin = app.user_token(&[Role::Admin], "admin catalog:read").await;
    let queued = app
        .api_json(
            Method::DELETE,
            "/api/v1/categories/electronics?allow_destructive=true",
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let id = queued.json()["id"].as_i64().expect("id");

    // Another admin changes the schema before the worker gets to the job.
    let mut schema = store::load_schema(app.db().pool()).await.expect("schema");
    let before = schema.version;
    schema
        .categories
        .iter_mut()
        .find(|c| c.code == "electronics")
        .expect("electronics")
        .labels
        .insert("en_US".to_owned(), "Electronics & more".to_owned());
    schema_code::apply(
        app.db(),
        &Actor::system("test"),
        &schema,
        false,
        false,
        app.clock().now(),
    )
    .await
    .expect("label changed");

    job_worker::drain(&app.state).await.expect("jobs run");
    let job = get_job(&app, &admin, id).await;
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["message"].as_str().expect("message");
    assert!(
        message.contains(&format!(
            "the schema changed since this change was queued (version {before}, now {})",
            before + 1
        )),
        "{message}"
    );
    assert!(message.contains("make the change again"), "{message}");
    // Nothing applied: the category stays, every product keeps it, no new versions.
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    assert!(schema.category("electronics").is_some());
    assert_eq!(in_electronics(&app).await, 20);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM product_versions WHERE version > 1"
        )
        .await,
        0
    );
    let page = app
        .login_as(Role::Admin)
        .await
        .get(&format!("/jobs/{id}"))
        .await;
    assert!(
        page.body.contains("the schema changed since"),
        "{}",
        page.body
    );
    let audit = schema_audit(&app).await;
    assert_eq!(audit[0].action, "schema.apply", "{audit:?}");
    assert_eq!(audit[0].details["status"], "failed", "{:?}", audit[0]);
}

async fn a_schema_job_taken_over_mid_purge_finishes_once_per_product(app: TestApp) {
    catalog(&app, PRODUCTS).await;
    let admin = app.user_token(&[Role::Admin], "admin catalog:read").await;
    let queued = app
        .api_json(
            Method::DELETE,
            "/api/v1/categories/electronics?allow_destructive=true",
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let id = queued.json()["id"].as_i64().expect("id");

    // Steps of 400; the worker dies after two of them.
    app.state.jobs.set_options(WorkerOptions {
        step: 400,
        crash_after_steps: Some(2),
    });
    let services = app.state.services.clone();
    assert_eq!(
        job_worker::run_next(&services).await.expect("worker"),
        Some(id)
    );
    let job = get_job(&app, &admin, id).await;
    assert_eq!(job["status"], "running", "{job}");
    assert_eq!(job["progress"]["done"], 800, "{job}");
    assert_eq!(job["progress"]["total"], 1_500, "{job}");
    assert_eq!(in_electronics(&app).await, 700);

    // While its lease lasts nobody takes it; after it, another worker
    // resumes after the last product purged.
    app.state.jobs.set_options(WorkerOptions {
        step: 400,
        crash_after_steps: None,
    });
    app.clock().advance(LEASE - time::Duration::seconds(5));
    assert_eq!(job_worker::run_next(&services).await.expect("worker"), None);
    app.clock().advance(time::Duration::seconds(10));
    job_worker::drain(&services).await.expect("jobs run");
    let job = get_job(&app, &admin, id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["progress"]["done"], 1_500, "{job}");
    assert_eq!(
        job["result"]["purged"], 1_500,
        "resumed, not restarted: {job}"
    );
    let audit = schema_audit(&app).await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[..2],
        ["schema.apply", "schema.apply.queued"],
        "one entry when queued and one when done: {audit:?}"
    );
    assert_eq!(actions.iter().filter(|a| **a == "schema.apply").count(), 2);
    let by = audit[0].actor.clone();
    every_product_left_electronics_once(&app, &by).await;
}

async fn removing_a_used_attribute_on_the_schema_page_is_one_job_for_every_step(app: TestApp) {
    catalog(&app, PRODUCTS).await;
    let admin = app.login_as(Role::Admin).await;
    // The whole schema without `manual_url`: out of both families, and deleted.
    let mut desired = store::load_schema(app.db().pool()).await.expect("schema");
    desired.attributes.retain(|a| a.code != "manual_url");
    for family in &mut desired.families {
        family.attributes.retain(|a| a != "manual_url");
    }
    let text = schema_code::export(&desired).expect("export");
    let response = admin
        .post_form(
            "/settings/schema",
            "/settings/schema",
            &[
                ("action", "apply"),
                ("definition", &text),
                ("allow_destructive", "true"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let href = response.location().to_owned();
    assert!(href.starts_with("/jobs/"), "{href}");
    let queued = admin.get(&href).await;
    assert!(
        queued
            .body
            .contains("Schema change: change family gadgets: attributes and 3 more step(s)"),
        "{}",
        queued.body
    );
    let manuals = "SELECT COUNT(*) FROM products WHERE product_values LIKE '%manual_url%'";
    assert_eq!(count(&app, manuals).await, 1_500);

    job_worker::drain(&app.state).await.expect("jobs run");
    let done = admin.get(&href).await;
    assert!(
        done.body.contains(
            "Applied the schema change (4 steps): 1500 products lost values the schema no longer defines, each with a history entry."
        ),
        "{}",
        done.body
    );
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    assert!(schema.attribute("manual_url").is_none());
    assert_eq!(count(&app, manuals).await, 0);
    // One new version each (the family step took the value; the delete
    // found nothing left), the other values kept.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM products WHERE version = 2").await,
        1_500
    );
    let stored = store::find(app.db().pool(), "G-1234")
        .await
        .expect("find")
        .expect("product");
    assert_eq!(stored.product.categories, ["electronics"]);
    assert_eq!(
        stored
            .product
            .values
            .get(&ValueKey::new("search_boost", None, None)),
        Some(&json!("2.5"))
    );
    let history = sluice::workflow::history::versions(app.db(), stored.product.id, 10)
        .await
        .expect("history");
    assert_eq!(
        serde_json::to_value(&history[0].changes).expect("changes"),
        json!([{"attribute": "manual_url", "locale": null, "channel": null,
                "before": MANUAL, "after": null}])
    );
    let audit = schema_audit(&app).await;
    assert_eq!(audit[0].action, "schema.apply", "{audit:?}");
    assert_eq!(audit[0].details["steps"], 4, "{:?}", audit[0]);
    assert_eq!(audit[1].action, "schema.apply.queued", "{audit:?}");
}
