//! The JSON API: bearer tokens, scopes against roles, the error shape, and
//! the OpenAPI document.

use axum::http::{Method, StatusCode};
use sluice::audit::Actor;
use sluice::auth::{Role, Roles, tokens, users};

use crate::TestApp;

crate::db_tests!(
    me_describes_the_token_and_its_user,
    missing_malformed_unknown_and_revoked_tokens_are_401,
    wrong_scope_is_403,
    token_never_exceeds_its_users_roles,
    disabled_users_tokens_stop_working,
    audit_api_filters_and_pages,
    openapi_documents_every_api_route,
    unknown_api_path_is_json_404,
    errors_below_the_handlers_keep_the_error_shape,
    an_approver_token_may_carry_catalog_write,
);

async fn me_describes_the_token_and_its_user(app: TestApp) {
    app.user("connector@example.com", &[Role::Viewer]).await;
    let token = app
        .token("connector@example.com", "feed:google catalog:read")
        .await;
    assert!(token.starts_with("slc_") && token.len() == 68, "{token}");
    let response = app.api(Method::GET, "/api/v1/me", Some(&token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let me = response.json();
    assert_eq!(me["user"]["email"], "connector@example.com");
    assert_eq!(me["roles"], serde_json::json!(["viewer"]));
    assert_eq!(
        me["scopes"],
        serde_json::json!(["catalog:read", "feed:google"])
    );
    assert_eq!(me["token"]["name"], "test token");
    assert!(me["user"].get("password_hash").is_none());

    // Last use is recorded (once a minute at most).
    let listed = tokens::list(app.db()).await.unwrap();
    assert!(listed[0].last_used_at.is_some());
}

async fn missing_malformed_unknown_and_revoked_tokens_are_401(app: TestApp) {
    let none = app.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.error_code(), "unauthorized");
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"sluice\"")
    );

    let malformed = app
        .api(Method::GET, "/api/v1/me", Some("not-a-token"))
        .await;
    assert_eq!(malformed.status, StatusCode::UNAUTHORIZED);
    let unknown = app
        .api(
            Method::GET,
            "/api/v1/me",
            Some(&format!("slc_{}", "0".repeat(64))),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);

    app.user("ada@example.com", &[Role::Admin]).await;
    let token = app.token("ada@example.com", "admin").await;
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", Some(&token))
            .await
            .status,
        StatusCode::OK
    );
    let id = tokens::list(app.db()).await.unwrap()[0].id;
    tokens::revoke(app.db(), &Actor::system("test"), id, app.clock().now())
        .await
        .unwrap();
    let revoked = app.api(Method::GET, "/api/v1/me", Some(&token)).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        revoked.json()["error"]["message"],
        "the token has been revoked"
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "token.revoke")
    );
}

async fn wrong_scope_is_403(app: TestApp) {
    app.user("ada@example.com", &[Role::Admin]).await;
    let read_only = app.token("ada@example.com", "catalog:read").await;
    let response = app
        .api(Method::GET, "/api/v1/users", Some(&read_only))
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.error_code(), "forbidden");
    assert!(
        response.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("this token's scopes (catalog:read)")
    );
    let admin = app.token("ada@example.com", "admin").await;
    let users = app.api(Method::GET, "/api/v1/users", Some(&admin)).await;
    assert_eq!(users.status, StatusCode::OK);
    assert_eq!(users.json()[0]["email"], "ada@example.com");
}

async fn token_never_exceeds_its_users_roles(app: TestApp) {
    // At creation: a scope the user's roles can never use is refused.
    let editor = app.user("eddie@example.com", &[Role::Editor]).await;
    let refused = tokens::create(
        app.db(),
        &Actor::system("test"),
        "too much",
        "eddie@example.com",
        sluice::auth::Scopes::parse_list("admin").unwrap(),
        app.clock().now(),
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("never allow the scope admin"),
        "{refused}"
    );

    // Later: an admin's token with the admin scope stops working when the user
    // loses the admin role.
    let ada = app
        .user("ada@example.com", &[Role::Admin, Role::Editor])
        .await;
    let token = app.token("ada@example.com", "admin catalog:read").await;
    assert_eq!(
        app.api(Method::GET, "/api/v1/users", Some(&token))
            .await
            .status,
        StatusCode::OK
    );
    users::update_profile(
        app.db(),
        &editor.actor(),
        ada.id,
        "",
        Roles::new([Role::Editor]).unwrap(),
        app.clock().now(),
    )
    .await
    .unwrap();
    let demoted = app.api(Method::GET, "/api/v1/users", Some(&token)).await;
    assert_eq!(demoted.status, StatusCode::FORBIDDEN);
    assert!(
        demoted.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("your roles")
    );
    // The token still identifies its user for what the roles allow.
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", Some(&token))
            .await
            .status,
        StatusCode::OK
    );
}

async fn disabled_users_tokens_stop_working(app: TestApp) {
    let user = app.user("connector@example.com", &[Role::Viewer]).await;
    let token = app.token("connector@example.com", "feed:*").await;
    users::set_disabled(
        app.db(),
        &Actor::system("test"),
        user.id,
        true,
        app.clock().now(),
    )
    .await
    .unwrap();
    let response = app.api(Method::GET, "/api/v1/me", Some(&token)).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

async fn audit_api_filters_and_pages(app: TestApp) {
    app.user("ada@example.com", &[Role::Admin]).await;
    for n in 0..3 {
        app.user(&format!("user{n}@example.com"), &[Role::Viewer])
            .await;
    }
    app.client()
        .login("nobody@example.com", "wrong password")
        .await;
    let token = app.token("ada@example.com", "admin").await;

    let all = app
        .api(Method::GET, "/api/v1/audit?limit=2", Some(&token))
        .await
        .json();
    assert_eq!(all["entries"].as_array().unwrap().len(), 2);
    assert_eq!(all["entries"][0]["action"], "token.create", "newest first");
    let before = all["next_before"].as_i64().unwrap();
    let next = app
        .api(
            Method::GET,
            &format!("/api/v1/audit?limit=2&before={before}"),
            Some(&token),
        )
        .await
        .json();
    assert!(next["entries"][0]["id"].as_i64().unwrap() < before);

    let failed = app
        .api(
            Method::GET,
            "/api/v1/audit?action=auth.login_failed",
            Some(&token),
        )
        .await
        .json();
    assert_eq!(failed["entries"].as_array().unwrap().len(), 1);
    assert_eq!(failed["entries"][0]["actor"], "nobody@example.com");
    let user_changes = app
        .api(
            Method::GET,
            "/api/v1/audit?action=user.&actor=test",
            Some(&token),
        )
        .await
        .json();
    assert_eq!(user_changes["entries"].as_array().unwrap().len(), 4);

    let bad = app
        .api(Method::GET, "/api/v1/audit?limit=0", Some(&token))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "bad_request");
    let bad = app
        .api(Method::GET, "/api/v1/audit?before=abc", Some(&token))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "bad_request");
}

async fn openapi_documents_every_api_route(app: TestApp) {
    let doc = app.api(Method::GET, "/api/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().expect("paths");
    // Every documented operation exists: it answers 401 without a token, not 404/405.
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let concrete = path
                .replace("{id}", "1")
                .replace("{code}", "web")
                .replace("{sku}", "X");
            let response = app.api(method.clone(), &concrete, None).await;
            assert!(
                !matches!(
                    response.status,
                    StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
                ),
                "{method} {path} is documented but not routed"
            );
        }
    }
    // And every route is documented: API modules register routes only through
    // utoipa's `routes!`, which is what fills the document; a plain `.route(`
    // under src/web/api would bypass it.
    let api_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/api");
    for entry in std::fs::read_dir(api_dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(
            !source.contains(".route(") && !source.contains("Router::new("),
            "{} registers a route that bypasses the OpenAPI document",
            path.display()
        );
    }
    for required in ["/api/v1/me", "/api/v1/users", "/api/v1/audit"] {
        assert!(
            paths.contains_key(required),
            "{required} missing from OpenAPI"
        );
    }
}

async fn unknown_api_path_is_json_404(app: TestApp) {
    let response = app.api(Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error_code(), "not_found");
}

async fn errors_below_the_handlers_keep_the_error_shape(app: TestApp) {
    // 405 from routing: JSON under /api, a page elsewhere, with Allow kept.
    let api = app.api(Method::DELETE, "/api/v1/me", None).await;
    assert_eq!(api.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api.error_code(), "method_not_allowed");
    assert!(
        api.header("allow")
            .is_some_and(|allow| allow.contains("GET"))
    );
    let page = app
        .client()
        .request(Method::DELETE, "/account", None, String::new())
        .await;
    assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(page.body.contains("<h1>405"), "{}", page.body);
}

async fn an_approver_token_may_carry_catalog_write(app: TestApp) {
    app.user("april@example.com", &[Role::Approver]).await;
    let token = app.token("april@example.com", "catalog:write").await;
    let me = app
        .api(Method::GET, "/api/v1/me", Some(&token))
        .await
        .json();
    assert_eq!(me["scopes"], serde_json::json!(["catalog:write"]));
    // A viewer can never use it.
    app.user("vic@example.com", &[Role::Viewer]).await;
    let refused = tokens::create(
        app.db(),
        &Actor::system("test"),
        "t",
        "vic@example.com",
        sluice::auth::Scopes::parse_list("catalog:write").unwrap(),
        app.clock().now(),
    )
    .await;
    assert!(refused.is_err());
}
