//! Pages, headers, health, metrics, static files and error pages.

use axum::http::{Method, StatusCode};
use sluice::auth::Role;

use crate::TestApp;

crate::db_tests!(
    every_role_is_refused_admin_pages_it_may_not_see,
    every_navigation_link_answers,
    security_headers_on_every_answer,
    health_readiness_and_metrics,
    static_files_are_cached_and_versioned,
    error_pages_show_no_internals,
    oversized_form_is_413,
    error_pages_keep_the_navigation,
    refused_forms_summarise_their_errors_at_the_top,
);

const ADMIN_PAGES: &[&str] = &[
    "/settings/users",
    "/settings/tokens",
    "/audit",
    "/settings/attributes",
    "/settings/families",
    "/settings/categories",
    "/settings/channels",
    "/settings/profiles",
];

async fn every_role_is_refused_admin_pages_it_may_not_see(app: TestApp) {
    for role in [Role::Editor, Role::Approver, Role::Viewer] {
        let browser = app.login_as(role).await;
        for page in ADMIN_PAGES {
            let response = browser.get(page).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{role} on {page}");
            assert!(
                response.body.contains("403"),
                "{role} on {page}: an error page"
            );
        }
        // Forms behind those pages are refused too, with a valid CSRF token.
        let response = browser
            .post_form(
                "/",
                "/settings/users",
                &[
                    ("email", "x@example.com"),
                    ("roles", "admin"),
                    ("password", "long enough pw"),
                ],
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{role} creating a user"
        );
        // Their navigation does not offer them.
        let dashboard = browser.get("/").await;
        assert!(
            !dashboard.body.contains("href=\"/audit\""),
            "{role} sees no audit link"
        );
    }
    let admin = app.login_as(Role::Admin).await;
    for page in ADMIN_PAGES {
        assert_eq!(
            admin.get(page).await.status,
            StatusCode::OK,
            "admin on {page}"
        );
    }
}

async fn every_navigation_link_answers(app: TestApp) {
    let browser = app.login_as(Role::Viewer).await;
    let media = browser.get("/media").await;
    assert_eq!(media.status, StatusCode::OK);
    assert!(
        media.body.contains("Media library"),
        "the media library is built"
    );
    // Every link in the navigation answers without a server error.
    let admin = app.login_as(Role::Admin).await;
    let dashboard = admin.get("/").await;
    for link in dashboard.body.split("href=\"").skip(1) {
        let href = &link[..link.find('"').unwrap()];
        if href.starts_with('/') && !href.starts_with("/static/") {
            let status = admin.get(href).await.status;
            assert!(status.is_success(), "{href} answered {status}");
        }
    }
}

async fn security_headers_on_every_answer(app: TestApp) {
    let browser = app.login_as(Role::Viewer).await;
    for path in ["/", "/login", "/healthz", "/no-such-page"] {
        let response = browser.get(path).await;
        let csp = response
            .header("content-security-policy")
            .unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            response.header("referrer-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert!(
            response
                .header("x-request-id")
                .is_some_and(|id| id.len() == 36),
            "{path}"
        );
    }
    let api = app.api(Method::GET, "/api/v1/me", None).await;
    assert!(api.header("content-security-policy").is_some());
    // No inline script anywhere in the pages.
    assert!(!browser.get("/").await.body.contains("<script>"));
}

async fn health_readiness_and_metrics(app: TestApp) {
    let client = app.client();
    assert_eq!(client.get("/healthz").await.body, "ok");
    assert_eq!(client.get("/readyz").await.status, StatusCode::OK);
    client.get("/login").await;
    client.get("/settings/users/42").await;
    let metrics = client.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.body;
    assert!(
        text.contains("sluice_http_requests_total{method=\"GET\",route=\"/login\",status=\"200\"}"),
        "{text}"
    );
    // Route templates, never raw paths.
    assert!(text.contains("route=\"/settings/users/{id}\""), "{text}");
    assert!(!text.contains("/settings/users/42"));
    assert!(text.contains("sluice_http_request_duration_seconds_bucket"));
    assert!(text.contains("sluice_db_pool_connections"));
    // Invented methods share one label instead of growing the series.
    client
        .request(
            Method::from_bytes(b"FOO1").unwrap(),
            "/healthz",
            None,
            String::new(),
        )
        .await;
    let text = client.get("/metrics").await.body;
    assert!(
        !text.contains("FOO1") && text.contains("method=\"other\""),
        "{text}"
    );

    // Readiness follows the database.
    app.db().close().await;
    let unready = client.get("/readyz").await;
    assert_eq!(unready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(unready.error_code(), "unavailable");
}

async fn static_files_are_cached_and_versioned(app: TestApp) {
    let client = app.client();
    let login = client.get("/login").await;
    let start = login
        .body
        .find("/static/app.css?v=")
        .expect("versioned css link");
    let href = &login.body[start..start + login.body[start..].find('"').unwrap()];
    let css = client.get(href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.header("cache-control").unwrap().contains("immutable"));
    assert!(css.body.contains(":root"));
    assert_eq!(
        client.get("/static/missing.js").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn error_pages_show_no_internals(app: TestApp) {
    let browser = app.login_as(Role::Admin).await;
    let missing = browser.get("/settings/users/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("<h1>404"), "{}", missing.body);
    let bad_id = browser.get("/settings/users/not-a-number").await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    let nowhere = browser.get("/nowhere").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.body.contains("Nothing lives at /nowhere."));

    // A database failure is a 500 page that says nothing of the cause.
    app.db().close().await;
    let broken_page = browser.get("/").await;
    assert_eq!(broken_page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        broken_page
            .body
            .contains("Something went wrong on our side")
    );
    assert!(!broken_page.body.to_lowercase().contains("pool"));
    assert!(!broken_page.body.to_lowercase().contains("sqlx"));
}

async fn oversized_form_is_413(app: TestApp) {
    let browser = app.login_as(Role::Admin).await;
    let csrf = browser.get("/").await.csrf();
    let huge = "x".repeat(app.state.config.max_body_bytes + 10);
    let response = browser
        .post_raw("/settings/users", &[("csrf_token", &csrf), ("name", &huge)])
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.body.contains("limit"), "{}", response.body);
}

/// The signed-in navigation (and the way to sign out) on a page.
fn has_navigation(body: &str) -> bool {
    body.contains("aria-label=\"Main\"") && body.contains("href=\"/products\"")
}

async fn error_pages_keep_the_navigation(app: TestApp) {
    let editor = app.login_as(Role::Editor).await;
    // An unknown path (the router's fallback), a page refused to the role,
    // a missing product, a form without its CSRF token, a method not allowed.
    let nowhere = editor.get("/nowhere").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.body.contains("Nothing lives at /nowhere."));
    assert!(has_navigation(&nowhere.body), "{}", nowhere.body);
    assert!(nowhere.body.contains("action=\"/logout\""));

    let refused = editor.get("/settings/users").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(has_navigation(&refused.body), "{}", refused.body);
    // The editor's navigation, not an admin's.
    assert!(!refused.body.contains("href=\"/settings/users\""));

    let missing = editor.get("/products/NO-SUCH-SKU").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(has_navigation(&missing.body), "{}", missing.body);

    let forged = editor
        .post_raw("/account/password", &[("password", "x")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("This form has expired"));
    assert!(has_navigation(&forged.body), "{}", forged.body);

    // 405 is shaped below the handlers (the page guard's CSRF check would
    // answer first on a page route).
    let not_allowed = editor
        .request(Method::DELETE, "/healthz", None, String::new())
        .await;
    assert_eq!(not_allowed.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(has_navigation(&not_allowed.body), "{}", not_allowed.body);
    assert!(
        not_allowed.header("allow").is_some(),
        "the Allow header survives the re-rendering"
    );

    // Without a session (or with one that ended) the plain page stays: no
    // navigation to pages the visitor cannot open.
    let stranger = app.client().get("/nowhere").await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    assert!(!has_navigation(&stranger.body), "{}", stranger.body);
    let ended = app.client();
    ended.set_cookie("sluice_session", "not-a-session");
    let ended = ended.get("/nowhere").await;
    assert_eq!(ended.status, StatusCode::NOT_FOUND);
    assert!(!has_navigation(&ended.body));
    // The API keeps its JSON error shape.
    let api = editor.get("/api/v1/nowhere").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.body.starts_with('{'), "{}", api.body);
}

async fn refused_forms_summarise_their_errors_at_the_top(app: TestApp) {
    let admin = app.login_as(Role::Admin).await;
    for fields in [
        vec![("email", "not an address"), ("password", "short")],
        vec![
            ("email", "new@example.com"),
            ("password", "short"),
            ("roles", "editor"),
        ],
    ] {
        let refused = admin
            .post_form("/settings/users", "/settings/users", &fields)
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_summary_lists_every_field_error(&refused.body, "action=\"/settings/users\"");
    }
    // A form that was accepted shows no summary.
    let fine = admin.get("/settings/users").await;
    assert!(!fine.body.contains("form-summary"));

    let account = admin
        .post_form(
            "/account",
            "/account/password",
            &[
                ("current_password", "wrong"),
                ("password", "long enough password"),
            ],
        )
        .await;
    assert_eq!(account.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_summary_lists_every_field_error(&account.body, "action=\"/account/password\"");
    assert!(account.body.contains("href=\"#current_password-error\""));
}

/// The summary comes before the form, and every message shown beside a
/// field (`id="FIELD-error"`) is linked from it.
fn assert_summary_lists_every_field_error(body: &str, form_marker: &str) {
    let summary_at = body
        .find("id=\"form-summary\"")
        .unwrap_or_else(|| panic!("a summary: {body}"));
    let form_at = body.find(form_marker).expect("the form");
    assert!(summary_at < form_at, "the summary comes before the form");
    let summary = &body[summary_at..form_at];
    let beside: Vec<&str> = body[form_at..]
        .split("class=\"field-error\" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(!beside.is_empty(), "errors beside their fields: {body}");
    for id in beside {
        assert!(
            summary.contains(&format!("href=\"#{id}\"")),
            "{id} in {summary}"
        );
    }
}
