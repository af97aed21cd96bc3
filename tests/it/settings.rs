//! Admin screens: users and tokens, and the audit entries they leave.

use axum::http::{Method, StatusCode};
use sluice::auth::Role;
use sluice::auth::users;

use crate::TestApp;
use crate::harness::PASSWORD;

crate::db_tests!(
    admin_creates_a_user_and_bad_input_is_kept,
    admin_changes_roles_and_cannot_lock_themselves_out,
    disabling_ends_sessions_and_enabling_restores_access,
    password_reset_ends_all_sessions,
    tokens_are_shown_once_listed_and_revoked,
    audit_page_filters_by_actor_and_action,
);

async fn admin_creates_a_user_and_bad_input_is_kept(app: TestApp) {
    let admin = app.login_as(Role::Admin).await;
    let bad = admin
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("email", "not-an-email"),
                ("name", "Nina"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("value=\"not-an-email\""), "input kept");
    assert!(bad.body.contains("value=\"Nina\""));
    assert!(
        bad.body.contains("choose at least one role"),
        "{}",
        bad.body
    );

    let bad_email = admin
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("email", "not-an-email"),
                ("roles", "editor"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_email.body.contains("id=\"email-error\""));
    assert!(bad_email.body.contains("aria-invalid=\"true\""));

    let created = admin
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("email", "Nina@Example.com"),
                ("name", "Nina"),
                ("roles", "editor"),
                ("roles", "approver"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert!(created.location().ends_with("?notice=user_created"));
    let nina = users::find_by_email(app.db(), "nina@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(nina.has_role(Role::Editor) && nina.has_role(Role::Approver));
    assert_eq!(
        app.client()
            .login("nina@example.com", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let duplicate = admin
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("email", "NINA@example.com"),
                ("roles", "viewer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.body.contains("already exists"));

    let unknown_role = admin
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("email", "x@example.com"),
                ("roles", "wizard"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(unknown_role.status, StatusCode::UNPROCESSABLE_ENTITY);

    let actions = app.audit_actions().await;
    assert!(actions.contains(&("user.create".to_owned(), "user:nina@example.com".to_owned())));
}

async fn admin_changes_roles_and_cannot_lock_themselves_out(app: TestApp) {
    let admin = app.login_as(Role::Admin).await;
    let vic = app.user("vic@example.com", &[Role::Viewer]).await;
    let page = format!("/settings/users/{}", vic.id);
    let saved = admin
        .post_form(&page, &page, &[("name", "Vic"), ("roles", "editor")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let vic = users::get(app.db(), vic.id).await.unwrap();
    assert!(vic.has_role(Role::Editor) && !vic.has_role(Role::Viewer));
    assert_eq!(vic.name, "Vic");
    let actions = app.audit_actions().await;
    assert!(
        actions
            .iter()
            .any(|(a, t)| a == "user.roles_change" && t == "user:vic@example.com")
    );

    // Removing one's own admin role, or disabling oneself, is refused.
    let me = users::list(app.db())
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.has_role(Role::Admin))
        .unwrap();
    let mine = format!("/settings/users/{}", me.id);
    let refused = admin.post_form(&mine, &mine, &[("roles", "viewer")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("you cannot remove the admin role from yourself")
    );
    let refused = admin
        .post_form(&mine, &format!("{mine}/disable"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("you cannot disable yourself"));
}

async fn disabling_ends_sessions_and_enabling_restores_access(app: TestApp) {
    let admin = app.login_as(Role::Admin).await;
    let eddie = app.user("eddie@example.com", &[Role::Editor]).await;
    let eddie_browser = app.client();
    eddie_browser.login("eddie@example.com", PASSWORD).await;
    let token = app.token("eddie@example.com", "catalog:read").await;

    let page = format!("/settings/users/{}", eddie.id);
    let disabled = admin
        .post_form(&page, &format!("{page}/disable"), &[])
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        eddie_browser.get("/").await.status,
        StatusCode::SEE_OTHER,
        "session ended"
    );
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", Some(&token))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        eddie_browser
            .login("eddie@example.com", PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let enabled = admin.post_form(&page, &format!("{page}/enable"), &[]).await;
    assert_eq!(enabled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        eddie_browser
            .login("eddie@example.com", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", Some(&token))
            .await
            .status,
        StatusCode::OK
    );
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|(a, _)| a == "user.disable"));
    assert!(actions.iter().any(|(a, _)| a == "user.enable"));
}

async fn password_reset_ends_all_sessions(app: TestApp) {
    let admin = app.login_as(Role::Admin).await;
    let vic = app.user("vic@example.com", &[Role::Viewer]).await;
    let vic_browser = app.client();
    vic_browser.login("vic@example.com", PASSWORD).await;
    let page = format!("/settings/users/{}", vic.id);
    let short = admin
        .post_form(&page, &format!("{page}/password"), &[("password", "tiny")])
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("use at least 10 characters"));
    assert_eq!(
        vic_browser.get("/").await.status,
        StatusCode::OK,
        "nothing changed yet"
    );

    let reset = admin
        .post_form(
            &page,
            &format!("{page}/password"),
            &[("password", "a fresh password")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    assert_eq!(vic_browser.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.client()
            .login("vic@example.com", "a fresh password")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, t)| a == "user.password_reset" && t == "user:vic@example.com")
    );
}

async fn tokens_are_shown_once_listed_and_revoked(app: TestApp) {
    let admin = app.login_as(Role::Admin).await;
    app.user("connector@example.com", &[Role::Viewer]).await;
    let bad = admin
        .post_form(
            "/settings/tokens",
            "/settings/tokens",
            &[
                ("name", "shopify"),
                ("user", "connector@example.com"),
                ("scopes", "admin"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("never allow the scope admin"));
    assert!(bad.body.contains("value=\"shopify\""), "input kept");
    let bad_feed = admin
        .post_form(
            "/settings/tokens",
            "/settings/tokens",
            &[
                ("name", "shopify"),
                ("user", "connector@example.com"),
                ("feeds", "Not A Channel"),
            ],
        )
        .await;
    assert_eq!(bad_feed.status, StatusCode::UNPROCESSABLE_ENTITY);

    let created = admin
        .post_form(
            "/settings/tokens",
            "/settings/tokens",
            &[
                ("name", "shopify"),
                ("user", "connector@example.com"),
                ("feeds", "shopify google"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let start = created.body.find("value=\"slc_").expect("secret shown") + "value=\"".len();
    let secret = &created.body[start..start + 68];
    let me = app
        .api(Method::GET, "/api/v1/me", Some(secret))
        .await
        .json();
    assert_eq!(
        me["scopes"],
        serde_json::json!(["feed:google", "feed:shopify"])
    );

    // Listed afterwards without the secret, with its last use.
    let list = admin.get("/settings/tokens").await;
    assert!(!list.body.contains(secret));
    assert!(list.body.contains(&secret[..10]));
    assert!(!list.body.contains(">never<"), "last use shown");

    let id = sluice::auth::tokens::list(app.db()).await.unwrap()[0].id;
    let revoked = admin
        .post_form(
            "/settings/tokens",
            &format!("/settings/tokens/{id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.api(Method::GET, "/api/v1/me", Some(secret))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert!(admin.get("/settings/tokens").await.body.contains("revoked"));
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|(a, _)| a == "token.create"));
    assert!(actions.iter().any(|(a, _)| a == "token.revoke"));
}

async fn audit_page_filters_by_actor_and_action(app: TestApp) {
    let admin = app.login_as(Role::Admin).await;
    app.client()
        .login("mallory@example.com", "guessing hard")
        .await;
    app.user("vic@example.com", &[Role::Viewer]).await;
    let all = admin.get("/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    let failed_at = all
        .body
        .find("auth.login_failed</code>")
        .expect("failed login listed");
    let created_at = all
        .body
        .find("user:vic@example.com")
        .expect("user creation listed");
    assert!(created_at < failed_at, "newest first");

    let by_action = admin.get("/audit?action=auth.login_failed").await;
    assert!(by_action.body.contains("mallory@example.com"));
    assert!(!by_action.body.contains("user:vic@example.com"));
    let by_actor = admin.get("/audit?actor=MALLORY").await;
    assert!(by_actor.body.contains("mallory@example.com"));
    assert!(!by_actor.body.contains("user.create</code>"));
    assert_eq!(
        admin.get("/audit?before=abc").await.status,
        StatusCode::BAD_REQUEST
    );
}
