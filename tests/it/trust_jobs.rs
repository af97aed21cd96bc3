//! Issue 11, publisher wake-up and long actions: every committed write wakes
//! the background publisher (a save or an approval reaches the feed without
//! waiting for the tick), and "republish all" runs as a background job with
//! progress, audited when queued and when done, claimed by one worker and
//! taken over after a crash.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::catalog::store;
use sluice::jobs::worker::{self as job_worker, LEASE, WorkerOptions};
use sluice::services::Services;
use sluice::workflow::write::{self, NewProduct, ValueChange, Writer};

use crate::TestApp;

crate::db_tests!(
    a_save_and_an_approval_reach_the_feed_without_waiting_for_the_tick,
    republish_all_is_queued_as_a_job_and_answers_at_once,
    the_channel_page_queues_a_republish_and_shows_its_progress,
    a_job_is_run_by_one_worker_and_taken_over_after_its_lease,
    a_republish_whose_channel_was_removed_fails_and_says_why,
    only_jobs_this_build_can_read_are_claimed,
);

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
    let services = Services {
        config: Arc::new(config),
        ..app.state.services.clone()
    };
    sluice::publish::worker::spawn(services)
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

async fn republish_all_is_queued_as_a_job_and_answers_at_once(app: TestApp) {
    catalog(&app, 3).await;
    app.settle().await;
    let admin = app.user_token(&[Role::Admin], "admin catalog:read").await;

    let queued = app
        .api_json(
            Method::POST,
            "/api/v1/channels/web/republish",
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let job = queued.json();
    let id = job["id"].as_i64().expect("job id");
    assert_eq!(
        queued.location(),
        format!("/api/v1/jobs/{id}"),
        "{}",
        queued.body
    );
    assert_eq!(job["kind"], "channel.republish", "{job}");
    assert_eq!(job["target"], "channel:web", "{job}");
    assert_eq!(job["status"], "queued", "{job}");
    assert_eq!(job["page"], format!("/jobs/{id}"), "{job}");
    // Queued, not run: the request did no publishing, and the audit log
    // says who asked.
    assert_eq!(
        audit_of(&app, "channel:web").await,
        ["channel.republish.queued"]
    );
    let followed = get_job(&app, &admin, id).await;
    assert_eq!(followed["status"], "queued", "{followed}");
    assert_eq!(followed["progress"]["done"], 0, "{followed}");

    // Only admins queue and follow jobs; an unknown channel or job is a 404.
    let editor = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    let refused = app
        .api_json(
            Method::POST,
            "/api/v1/channels/web/republish",
            &editor,
            None,
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let refused = app
        .api(Method::GET, &format!("/api/v1/jobs/{id}"), Some(&editor))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let unknown = app
        .api_json(
            Method::POST,
            "/api/v1/channels/moon/republish",
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert_eq!(unknown.error_code(), "not_found");
    let unknown = app
        .api(Method::GET, "/api/v1/jobs/999999", Some(&admin))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);

    // The worker runs it: every product judged, nothing new to publish.
    job_worker::drain(&app.state).await.expect("jobs run");
    let done = get_job(&app, &admin, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"]["done"], 3, "{done}");
    assert_eq!(done["progress"]["total"], 3, "{done}");
    assert_eq!(done["progress"]["percent"], 100, "{done}");
    assert_eq!(done["result"]["products"], 3, "{done}");
    assert_eq!(done["result"]["events"], 0, "{done}");
    assert!(done["finished"].is_string(), "{done}");
    assert_eq!(
        audit_of(&app, "channel:web").await,
        ["channel.republish", "channel.republish.queued"]
    );
}

/// Runs the job a 202 answer queued, as the worker does, and answers it
/// as the API shows it then (for other modules' tests of queued actions).
pub(crate) async fn run_queued_job(
    app: &TestApp,
    token: &str,
    queued: &crate::TestResponse,
) -> Value {
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let id = queued.json()["id"].as_i64().expect("job id");
    job_worker::drain(&app.state).await.expect("jobs run");
    let job = get_job(app, token, id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    job
}

/// A job through the API.
async fn get_job(app: &TestApp, token: &str, id: i64) -> Value {
    let response = app
        .api(Method::GET, &format!("/api/v1/jobs/{id}"), Some(token))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

/// Audit actions on `target`, newest first.
async fn audit_of(app: &TestApp, target: &str) -> Vec<String> {
    app.audit_actions()
        .await
        .into_iter()
        .filter(|(_, t)| t == target)
        .map(|(action, _)| action)
        .collect()
}

/// The number in `<progress ... value="N">` on a page.
fn progress_value(body: &str) -> Option<i64> {
    let at = body.find("<progress")?;
    let tag = &body[at..at + body[at..].find('>')?];
    let value = tag.split("value=\"").nth(1)?;
    value[..value.find('"')?].parse().ok()
}

async fn the_channel_page_queues_a_republish_and_shows_its_progress(app: TestApp) {
    catalog(&app, 5).await;
    app.settle().await;
    let admin = app.login_as(Role::Admin).await;
    let viewer = app.login_as(Role::Viewer).await;
    // Steps of two products, and a worker that stops after the first step
    // (as if its process died), so the page can be seen mid-way.
    app.state.jobs.set_options(WorkerOptions {
        step: 2,
        crash_after_steps: Some(1),
    });

    let response = admin
        .post_form("/channels/web", "/channels/web/republish", &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let href = response.location().to_owned();
    assert!(href.starts_with("/jobs/"), "{href}");

    // Queued: the page says so and refreshes itself, without JavaScript.
    let page = admin.get(&href).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Republish all of channel web"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Queued"), "{}", page.body);
    assert!(page.body.contains("<progress"), "{}", page.body);
    assert!(
        page.body.contains("<meta http-equiv=\"refresh\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script"), "{}", page.body);

    // One step of two products out of five: 40 %.
    job_worker::drain(&app.state).await.expect("jobs run");
    // A job's page is an admin's, as in the API: a viewer may not see it.
    assert_eq!(viewer.get(&href).await.status, StatusCode::FORBIDDEN);
    let page = admin.get(&href).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Running"), "{}", page.body);
    assert_eq!(progress_value(&page.body), Some(40), "{}", page.body);
    assert!(page.body.contains("2 of 5 products"), "{}", page.body);

    // Its worker is gone; after the lease another takes it over and ends it.
    app.state.jobs.set_options(WorkerOptions {
        step: 2,
        crash_after_steps: None,
    });
    app.clock().advance(LEASE + time::Duration::seconds(1));
    job_worker::drain(&app.state).await.expect("jobs run");
    let page = admin.get(&href).await;
    assert!(page.body.contains("succeeded"), "{}", page.body);
    assert!(
        page.body.contains(
            "Republished 5 products: 0 feed events (identical payloads publish nothing)."
        ),
        "{}",
        page.body
    );
    assert_eq!(progress_value(&page.body), Some(100), "{}", page.body);
    assert!(
        !page.body.contains("http-equiv=\"refresh\""),
        "{}",
        page.body
    );

    // Not an admin: refused, nothing queued.
    let editor = app.login_as(Role::Editor).await;
    let refused = editor
        .post_form("/channels/web", "/channels/web/republish", &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let missing = admin.get("/jobs/nonsense").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        audit_of(&app, "channel:web").await,
        ["channel.republish", "channel.republish.queued"]
    );
}

async fn a_job_is_run_by_one_worker_and_taken_over_after_its_lease(app: TestApp) {
    catalog(&app, 7).await;
    app.settle().await;
    let admin = app.user_token(&[Role::Admin], "admin catalog:read").await;
    let connector = app.user_token(&[Role::Viewer], "feed:* catalog:read").await;
    let head = feed(&app, &connector, "web", 0).await.len();
    assert_eq!(head, 7);
    // Every payload changes without a change-log entry (as a mapping
    // change does): a republish publishes each product once more.
    sqlx::query("UPDATE products SET product_values = REPLACE(product_values, 'A fine gadget.', 'A finer gadget.')")
        .execute(app.db().pool())
        .await
        .expect("edit");

    let queued = app
        .api_json(
            Method::POST,
            "/api/v1/channels/web/republish",
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let id = queued.json()["id"].as_i64().expect("id");

    // Two workers (two app nodes) look at the same time: one runs it.
    app.state.jobs.set_options(WorkerOptions {
        step: 3,
        crash_after_steps: Some(1),
    });
    let services = app.state.services.clone();
    let (a, b) = tokio::join!(
        job_worker::run_next(&services),
        job_worker::run_next(&services)
    );
    let ran: Vec<i64> = [a.expect("worker a"), b.expect("worker b")]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ran, [id], "exactly one worker claimed the job");
    let job = get_job(&app, &admin, id).await;
    assert_eq!(job["status"], "running", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(job["progress"]["done"], 3, "{job}");

    // Its worker died after a step. While the lease lasts nobody takes it.
    app.state.jobs.set_options(WorkerOptions {
        step: 3,
        crash_after_steps: None,
    });
    app.clock().advance(LEASE - time::Duration::seconds(5));
    assert_eq!(
        job_worker::run_next(&services).await.expect("worker"),
        None,
        "a live lease keeps the job with its worker"
    );
    // After it, another worker takes over and resumes after the last step.
    app.clock().advance(time::Duration::seconds(10));
    job_worker::drain(&services).await.expect("jobs run");
    let job = get_job(&app, &admin, id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["progress"]["done"], 7, "resumed, not restarted: {job}");
    assert_eq!(job["result"]["products"], 7, "{job}");
    assert_eq!(job["result"]["events"], 7, "{job}");
    // Each product once more on the feed, gapless, and one audit entry per
    // queueing and per end.
    let events = feed(&app, &connector, "web", 0).await;
    let seqs: Vec<i64> = events.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!(seqs, (1..=14).collect::<Vec<_>>());
    assert!(events[7..].iter().all(|e| {
        data_of(&e["product"], "description", Some("en_US")) == "<p>A finer gadget.</p>"
    }));
    assert_eq!(
        audit_of(&app, "channel:web").await,
        ["channel.republish", "channel.republish.queued"]
    );
}

async fn a_republish_whose_channel_was_removed_fails_and_says_why(app: TestApp) {
    catalog(&app, 2).await;
    app.settle().await;
    let admin = app.user_token(&[Role::Admin], "admin catalog:read").await;
    let queued = app
        .api_json(
            Method::POST,
            "/api/v1/channels/google/republish",
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let id = queued.json()["id"].as_i64().expect("id");

    // An admin removes the channel before the worker gets to the job.
    let mut schema =
        sluice::schema_code::parse(include_str!("fixtures/catalog.toml")).expect("fixture");
    schema.channels.retain(|c| c.code != "google");
    for family in &mut schema.families {
        family.requirements.remove("google");
    }
    schema.version = 0;
    sluice::schema_code::apply(
        app.db(),
        &Actor::system("test"),
        &schema,
        true,
        false,
        app.clock().now(),
    )
    .await
    .expect("channel removed");

    job_worker::drain(&app.state).await.expect("jobs run");
    let job = get_job(&app, &admin, id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(
        job["message"], "the channel google no longer exists",
        "{job}"
    );
    assert!(job["finished"].is_string(), "{job}");
    let page = app
        .login_as(Role::Admin)
        .await
        .get(&format!("/jobs/{id}"))
        .await;
    assert!(
        page.body.contains("the channel google no longer exists"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("http-equiv=\"refresh\""),
        "{}",
        page.body
    );
    // The end is audited too, with its outcome.
    let entries = sluice::audit::list(
        app.db(),
        &sluice::audit::AuditFilter {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    let done: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "channel.republish" && e.target == "channel:google")
        .collect();
    assert_eq!(done.len(), 1, "{entries:?}");
    assert_eq!(done[0].details["status"], "failed", "{:?}", done[0]);
}

/// A job this build cannot run is left to the nodes that can (a newer kind
/// during a rolling upgrade), and a job whose stored task cannot be read is
/// failed with a reason instead of being claimed again after every lease.
async fn only_jobs_this_build_can_read_are_claimed(app: TestApp) {
    let now = app.clock().now();
    let insert = |kind: &'static str, target: &'static str| {
        sqlx::query(
            "INSERT INTO jobs (kind, target, status, actor_kind, actor_label, client_addr, created_at) \
             VALUES ($1, $2, 'queued', 'system', 'test', '', $3) RETURNING id",
        )
        .bind(kind)
        .bind(target)
        .bind(now)
        .fetch_one(app.db().pool())
    };
    use sqlx::Row;
    let newer: i64 = insert("catalog.reindex", "catalog")
        .await
        .expect("insert")
        .get("id");
    let broken: i64 = insert("channel.republish", "no channel prefix")
        .await
        .expect("insert")
        .get("id");
    let lease = now.plus(time::Duration::minutes(1));
    let claimed = sluice::jobs::claim(app.db(), "worker-1", now, lease)
        .await
        .expect("a broken job is no database error");
    assert!(claimed.is_none(), "neither job can be run here");
    let row = |id: i64| {
        sqlx::query("SELECT status, message FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(app.db().pool())
    };
    let broken_row = row(broken).await.expect("broken job");
    assert_eq!(broken_row.get::<String, _>("status"), "failed");
    let message: Option<String> = broken_row.get("message");
    assert!(
        message
            .as_deref()
            .unwrap_or_default()
            .contains("cannot be read"),
        "{message:?}"
    );
    let newer_row = row(newer).await.expect("newer job");
    assert_eq!(
        newer_row.get::<String, _>("status"),
        "queued",
        "left for a node that knows it"
    );
    // Nothing left to claim, and the broken job stays failed.
    assert!(
        sluice::jobs::claim(app.db(), "worker-1", now, lease)
            .await
            .expect("claim")
            .is_none()
    );
}
