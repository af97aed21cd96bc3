//! Pages, headers, health, metrics, static files and error pages.

use axum::http::{Method, StatusCode};
use sluice::auth::Role;

use crate::TestApp;

crate::db_tests!(
    every_role_is_refused_admin_pages_it_may_not_see,
    unbuilt_areas_say_so_and_never_fail,
    security_headers_on_every_answer,
    health_readiness_and_metrics,
    static_files_are_cached_and_versioned,
    error_pages_show_no_internals,
    oversized_form_is_413,
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

async fn unbuilt_areas_say_so_and_never_fail(app: TestApp) {
    let browser = app.login_as(Role::Viewer).await;
    for page in ["/media"] {
        let response = browser.get(page).await;
        assert_eq!(response.status, StatusCode::OK, "{page}");
        assert!(
            response.body.contains("Not built yet"),
            "{page} says so plainly"
        );
    }
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
