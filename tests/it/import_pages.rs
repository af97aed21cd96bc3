//! The import pages: upload form (multipart, streamed, CSRF token in the
//! action URL), the job page before and after the worker ran, grouped
//! errors, the failed-rows download, dry runs, permissions, the size limit
//! and the dashboard's failed-import figure.

use axum::http::{Method, StatusCode};
use sluice::auth::Role;
use sluice::import::jobs;
use sluice::import::run::RunOptions;

use crate::{Client, TestApp, TestResponse};

crate::db_tests!(
    editor_uploads_a_file_and_follows_the_job,
    dry_run_says_nothing_was_written,
    a_running_job_shows_its_progress_and_refreshes,
    form_problems_are_shown_next_to_the_fields,
    people_without_the_import_permission_are_refused,
    upload_without_the_csrf_token_is_refused,
);

/// A profile for the test catalog: SKU, a fixed family and three ERP
/// columns; `name` is owned by Sluice and not seeded, so it is ignored
/// with a warning.
const PROFILE: &str = r#"
code = "erp-test"
label = "Test ERP export"
identifier = "sku"
family = { fixed = "gadgets" }

[[columns]]
column = "name"
attribute = "name"
locale = "en_US"

[[columns]]
column = "weight"
attribute = "weight"
unit_column = "weight_uom"

[[columns]]
column = "base_price"
attribute = "base_price"
currency = "USD"

[[columns]]
column = "gtin"
attribute = "gtin"
"#;

/// Three rows: one good, one with a bad weight, one with a bad GTIN check digit.
const CSV: &str = "sku,name,weight,weight_uom,base_price,gtin\n\
A-1,Alpha,1.5,kg,19.99,4006381333931\n\
A-2,Beta,heavy,kg,5.00,\n\
A-3,Gamma,2,kg,7.50,1234567890123\n";

const BOUNDARY: &str = "----sluice-test-7d3a9c";

async fn setup(app: &TestApp) {
    app.seed_schema().await;
    sluice::import::profiles::put(
        app.db().pool(),
        "erp-test",
        PROFILE,
        "test",
        app.clock().now(),
    )
    .await
    .expect("store profile");
}

/// A multipart body as a browser sends the import form.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    if let Some((name, content)) = file {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: text/csv\r\n\r\n{content}\r\n"
        ));
    }
    for (name, value) in fields {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    body
}

async fn post_multipart(client: &Client, path: &str, body: String) -> TestResponse {
    client
        .request(
            Method::POST,
            path,
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            body,
        )
        .await
}

/// The value of `attribute="…"` on the element that carries `marker`.
fn attribute_after(body: &str, marker: &str, attribute: &str) -> String {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not on page: {body}"));
    let rest = &body[at..];
    let needle = format!("{attribute}=\"");
    let start = rest.find(&needle).expect("attribute") + needle.len();
    let end = rest[start..].find('"').expect("end of attribute") + start;
    rest[start..end].replace("&amp;", "&")
}

/// Sends the upload form of `/imports` as the browser would (its action URL
/// carries the CSRF token, its hidden key makes a double submit harmless).
async fn upload(client: &Client, mode: &str, file: (&str, &str)) -> TestResponse {
    let page = client.get("/imports").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let action = attribute_after(
        &page.body,
        "<form method=\"post\" action=\"/imports?",
        "action",
    );
    let key = attribute_after(&page.body, "name=\"key\"", "value");
    post_multipart(
        client,
        &action,
        multipart(
            &[("profile", "erp-test"), ("mode", mode), ("key", &key)],
            Some(file),
        ),
    )
    .await
}

fn job_id(location: &str) -> i64 {
    location
        .strip_prefix("/imports/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a job page: {location}"))
}

/// `<th scope="row">LABEL</th><td class="count-value">N</td>`
fn count(body: &str, label: &str, n: i64) -> bool {
    body.contains(&format!(
        "<th scope=\"row\">{label}</th><td class=\"count-value\">{n}</td>"
    ))
}

async fn editor_uploads_a_file_and_follows_the_job(app: TestApp) {
    setup(&app).await;
    let editor = app.login_as(Role::Editor).await;

    let page = editor.get("/imports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    assert!(
        page.body
            .contains("<option value=\"erp-test\">Test ERP export (erp-test)</option>")
    );
    for mode in ["upsert", "full", "dry-run"] {
        assert!(
            page.body.contains(&format!("<option value=\"{mode}\"")),
            "{mode}"
        );
    }
    assert!(
        page.body
            .contains("disables every product that is missing from the file")
    );
    assert!(page.body.contains("No file has been imported yet."));

    let sent = upload(&editor, "upsert", ("items.csv", CSV)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let id = job_id(sent.location());

    // Queued: a progress bar and a page that refreshes itself.
    let queued = editor.get(sent.location()).await;
    assert_eq!(queued.status, StatusCode::OK);
    assert!(
        queued
            .body
            .contains("<span class=\"badge import-queued\">queued</span>")
    );
    assert!(queued.body.contains("<progress"));
    assert!(
        queued
            .body
            .contains("<meta http-equiv=\"refresh\" content=\"2\">")
    );
    assert!(queued.body.contains("items.csv"));
    assert!(
        queued
            .body
            .contains("owned by Sluice and not marked seed = true, so it is ignored"),
        "the ownership warning shows"
    );
    let stored = jobs::get(app.db().pool(), id).await.unwrap().unwrap();
    assert_eq!(stored.origin, "browser");
    assert_eq!(stored.file, "items.csv");

    sluice::import::worker::drain(&app.state)
        .await
        .expect("drain");

    let done = editor.get(sent.location()).await;
    assert_eq!(done.status, StatusCode::OK);
    let body = &done.body;
    assert!(
        body.contains("<span class=\"badge import-partial\">partial</span>"),
        "{body}"
    );
    assert!(
        !body.contains("http-equiv=\"refresh\""),
        "a finished job stops refreshing"
    );
    assert!(!body.contains("<progress"));
    assert!(count(body, "Rows read", 3), "{body}");
    assert!(count(body, "Created", 1), "{body}");
    assert!(count(body, "Failed", 2), "{body}");
    assert!(body.contains("rows/s") || body.contains("Duration"));
    // Errors grouped by kind (the file's column), with an example each.
    assert!(body.contains("<h3><code>weight</code>"), "{body}");
    assert!(body.contains("<h3><code>gtin</code>"), "{body}");
    assert!(body.contains("<code>heavy</code>"), "{body}");
    assert!(body.contains("<code>1234567890123</code>"), "{body}");
    assert!(body.contains(&format!("href=\"/imports/{id}/errors.csv\"")));

    // The failed rows as sent, with an error column.
    let download = editor.get(&format!("/imports/{id}/errors.csv")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(
        download
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        download.headers
    );
    let mut lines = download.body.lines();
    assert_eq!(
        lines.next(),
        Some("sku,name,weight,weight_uom,base_price,gtin,error")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{}", download.body);
    assert!(rows[0].starts_with("A-2,Beta,heavy,"), "{}", rows[0]);
    assert!(rows[1].starts_with("A-3,Gamma,"), "{}", rows[1]);

    // The history lists it.
    let history = editor.get("/imports").await;
    assert!(history.body.contains(&format!("href=\"/imports/{id}\"")));
    assert!(
        history.body.contains("3 read · 1 created · 2 failed"),
        "{}",
        history.body
    );

    // The same form sent twice answers the same job.
    let page = editor.get("/imports").await;
    let action = attribute_after(
        &page.body,
        "<form method=\"post\" action=\"/imports?",
        "action",
    );
    let key = attribute_after(&page.body, "name=\"key\"", "value");
    let body = || {
        multipart(
            &[("profile", "erp-test"), ("mode", "upsert"), ("key", &key)],
            Some(("again.csv", CSV)),
        )
    };
    let first = post_multipart(&editor, &action, body()).await;
    let second = post_multipart(&editor, &action, body()).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(
        first.location(),
        second.location(),
        "a double submit is one job"
    );

    // The dashboard counts the partial import of the last 24 hours.
    let dashboard = editor.get("/").await;
    assert!(
        dashboard
            .body
            .contains("<h2>Failed imports</h2>\n    <p class=\"figure\">1</p>"),
        "{}",
        dashboard.body
    );
    assert!(dashboard.body.contains("href=\"/imports\""));
    assert!(!dashboard.body.contains("arrives with the ERP import"));
}

async fn dry_run_says_nothing_was_written(app: TestApp) {
    setup(&app).await;
    let editor = app.login_as(Role::Editor).await;
    let sent = upload(&editor, "dry-run", ("check.csv", CSV)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    sluice::import::worker::drain(&app.state)
        .await
        .expect("drain");

    let page = editor.get(sent.location()).await;
    let body = &page.body;
    assert!(body.contains("Dry run: nothing was written."), "{body}");
    assert!(count(body, "Would be created", 1), "{body}");
    assert!(
        count(body, "Would be disabled by a full import", 0),
        "{body}"
    );
    assert!(count(body, "Would fail", 2), "{body}");
    // Nothing was created.
    assert_eq!(
        editor.get("/products/A-1").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn a_running_job_shows_its_progress_and_refreshes(app: TestApp) {
    setup(&app).await;
    // The worker stops after one committed row, as if the process died.
    app.state.imports.set_options(RunOptions {
        batch_size: 1,
        crash_after_batches: Some(1),
    });
    let editor = app.login_as(Role::Editor).await;
    let sent = upload(&editor, "upsert", ("items.csv", CSV)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    sluice::import::worker::drain(&app.state)
        .await
        .expect("drain");

    let page = editor.get(sent.location()).await;
    let body = &page.body;
    assert!(
        body.contains("<span class=\"badge import-running\">running</span>"),
        "{body}"
    );
    assert!(body.contains("<h2 id=\"progress-heading\">Running</h2>"));
    assert!(body.contains("<progress id=\"job-progress\""));
    assert!(body.contains("1 row read"), "{body}");
    assert!(body.contains("<meta http-equiv=\"refresh\" content=\"2\">"));
    assert!(
        !body.contains("id=\"errors-heading\""),
        "no errors before the end"
    );

    // Another worker takes it over once the lease ran out, and finishes it.
    app.state.imports.set_options(RunOptions::default());
    app.clock().advance(time::Duration::seconds(120));
    sluice::import::worker::drain(&app.state)
        .await
        .expect("drain");
    let page = editor.get(sent.location()).await;
    assert!(page.body.contains("import-partial"), "{}", page.body);
    assert!(!page.body.contains("http-equiv=\"refresh\""));
}

async fn form_problems_are_shown_next_to_the_fields(app: TestApp) {
    setup(&app).await;
    let editor = app.login_as(Role::Editor).await;
    let page = editor.get("/imports").await;
    let action = attribute_after(
        &page.body,
        "<form method=\"post\" action=\"/imports?",
        "action",
    );

    // No profile chosen: 422, the mode kept.
    let response = post_multipart(
        &editor,
        &action,
        multipart(&[("profile", ""), ("mode", "full")], Some(("a.csv", CSV))),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("Choose a mapping profile."));
    assert!(response.body.contains("<option value=\"full\" selected>"));

    // No file chosen (an empty, nameless part) and an unknown mode.
    let response = post_multipart(
        &editor,
        &action,
        multipart(
            &[("profile", "erp-test"), ("mode", "sideways")],
            Some(("", "")),
        ),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("Choose a file to import."));
    assert!(response.body.contains("Choose upsert, full or dry run."));
    assert!(
        response
            .body
            .contains("<option value=\"erp-test\" selected>")
    );

    // An empty file, and a profile that does not exist.
    let response = post_multipart(
        &editor,
        &action,
        multipart(&[("profile", "erp-test")], Some(("empty.csv", ""))),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.body.contains("The file is empty."),
        "{}",
        response.body
    );
    let response = post_multipart(
        &editor,
        &action,
        multipart(&[("profile", "nope")], Some(("a.csv", CSV))),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("There is no mapping profile nope"));

    // Nothing was queued, and no upload was left behind.
    assert!(jobs::list(app.db(), None, 10).await.unwrap().is_empty());
    assert_eq!(leftover_uploads(&app), 0);

    // A missing or malformed job is a 404 page.
    assert_eq!(
        editor.get("/imports/999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        editor.get("/imports/abc").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        editor.get("/imports/999/errors.csv").await.status,
        StatusCode::NOT_FOUND
    );
}

fn leftover_uploads(app: &TestApp) -> usize {
    std::fs::read_dir(jobs::upload_dir(&app.data_dir))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

async fn people_without_the_import_permission_are_refused(app: TestApp) {
    setup(&app).await;
    let editor = app.login_as(Role::Editor).await;
    let sent = upload(&editor, "upsert", ("items.csv", CSV)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let id = job_id(sent.location());

    for role in [Role::Viewer, Role::Approver] {
        let browser = app.login_as(role).await;
        for path in [
            "/imports".to_owned(),
            format!("/imports/{id}"),
            format!("/imports/{id}/errors.csv"),
        ] {
            assert_eq!(
                browser.get(&path).await.status,
                StatusCode::FORBIDDEN,
                "{role} on {path}"
            );
        }
        // With a valid token the upload is still theirs to make.
        let csrf = browser.get("/").await.csrf();
        let response = post_multipart(
            &browser,
            &format!("/imports?csrf_token={csrf}"),
            multipart(&[("profile", "erp-test")], Some(("x.csv", CSV))),
        )
        .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{role} uploading");
        // Their navigation and dashboard do not offer imports.
        let dashboard = browser.get("/").await;
        assert!(!dashboard.body.contains("href=\"/imports\""), "{role}");
    }
    assert_eq!(jobs::list(app.db(), None, 10).await.unwrap().len(), 1);

    // Signed out: the form sends the browser to the login page.
    let stranger = app.client();
    assert_eq!(stranger.get("/imports").await.status, StatusCode::SEE_OTHER);
}

async fn upload_without_the_csrf_token_is_refused(app: TestApp) {
    setup(&app).await;
    let editor = app.login_as(Role::Editor).await;
    let csrf = editor.get("/imports").await.csrf();
    let body = || multipart(&[("profile", "erp-test")], Some(("items.csv", CSV)));

    // No token, a wrong one, and a token only in the body (never read there:
    // the file streams past the middleware).
    for path in ["/imports", "/imports?csrf_token=wrong"] {
        let response = post_multipart(&editor, path, body()).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
        assert!(response.body.contains("did not come from Sluice"));
    }
    let in_body = multipart(
        &[("csrf_token", &csrf), ("profile", "erp-test")],
        Some(("items.csv", CSV)),
    );
    assert_eq!(
        post_multipart(&editor, "/imports", in_body).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(jobs::list(app.db(), None, 10).await.unwrap().is_empty());

    // The query string counts only for multipart: a URL-encoded form must
    // carry its token in the body.
    let response = editor
        .post_raw(
            &format!("/account/password?csrf_token={csrf}"),
            &[("current", "x"), ("new", "y")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);

    // The right token in the action URL passes.
    let response = post_multipart(&editor, &format!("/imports?csrf_token={csrf}"), body()).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
}

/// A file over `SLUICE_MAX_IMPORT_BYTES` is refused with a 413 page that
/// names the limit, and nothing of it stays on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_limit_is_refused_with_413() {
    let app = TestApp::sqlite_with(&[("SLUICE_MAX_IMPORT_BYTES", "64")]).await;
    setup(&app).await;
    let editor = app.login_as(Role::Editor).await;
    let page = editor.get("/imports").await;
    assert!(page.body.contains("at most 64 bytes"), "{}", page.body);

    let response = upload(&editor, "upsert", ("big.csv", CSV)).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        response
            .body
            .contains("The file is larger than the import limit of 64 bytes"),
        "{}",
        response.body
    );
    assert!(response.body.contains("SLUICE_MAX_IMPORT_BYTES"));
    assert!(jobs::list(app.db(), None, 10).await.unwrap().is_empty());
    assert_eq!(leftover_uploads(&app), 0);

    // A file within the limit still goes through.
    let small = "sku,weight,weight_uom\nA-9,1,kg\n";
    let response = upload(&editor, "upsert", ("small.csv", small)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
}
