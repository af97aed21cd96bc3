//! Signing in and out, throttling, CSRF, session expiry and password changes.

use axum::http::StatusCode;
use sluice::auth::Role;
use sluice::auth::throttle;

use crate::TestApp;
use crate::harness::PASSWORD;

crate::db_tests!(
    login_succeeds_and_starts_a_fresh_session,
    wrong_password_is_refused_without_saying_why,
    disabled_user_cannot_sign_in,
    throttling_kicks_in_per_account_and_lifts,
    throttling_per_address_covers_unknown_accounts,
    missing_or_wrong_csrf_token_is_forbidden,
    idle_session_expires,
    absolute_session_expiry,
    logout_ends_the_session,
    password_change_ends_other_sessions,
    pages_redirect_to_login_and_back,
    a_parallel_burst_of_guesses_cannot_pass_the_limit,
    current_password_guesses_are_throttled,
);

async fn login_succeeds_and_starts_a_fresh_session(app: TestApp) {
    app.user("ada@example.com", &[Role::Editor]).await;
    let browser = app.client();
    // A session id planted before login must not survive it (session fixation).
    browser.set_cookie("sluice_session", "planted-by-an-attacker");
    let response = browser.login("Ada@Example.com", PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.location(), "/");
    let cookie = response.header("set-cookie").unwrap_or_default().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = browser.cookie("sluice_session").expect("session cookie");
    assert_ne!(session, "planted-by-an-attacker");
    assert_eq!(session.len(), 64, "256-bit id, hex");

    let dashboard = browser.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.body.contains("ada@example.com"));

    // Logging in again (the login form of an earlier visit) issues yet another id.
    let form_token = browser
        .cookie("sluice_login_csrf")
        .expect("login csrf cookie");
    let again = browser
        .post_raw(
            "/login",
            &[
                ("csrf_token", &form_token),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_ne!(browser.cookie("sluice_session").expect("cookie"), session);

    // The database keeps only a hash of the id.
    use sqlx::Row;
    let stored: Vec<String> = sqlx::query("SELECT id_hash FROM sessions")
        .fetch_all(app.db().pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("id_hash"))
        .collect();
    assert!(!stored.contains(&session));
    assert_eq!(
        stored.len(),
        1,
        "the earlier session ended at the second login"
    );

    let actions = app.audit_actions().await;
    assert!(actions.iter().filter(|(a, _)| a == "auth.login").count() >= 2);
}

async fn wrong_password_is_refused_without_saying_why(app: TestApp) {
    app.user("ada@example.com", &[Role::Editor]).await;
    let browser = app.client();
    let wrong = browser.login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = app
        .client()
        .login("nobody@example.com", "not the password")
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    // Same words whether or not the account exists; the e-mail is kept in the form.
    let message = "E-mail or password is wrong, or the account is disabled.";
    assert!(wrong.body.contains(message) && unknown.body.contains(message));
    assert!(wrong.body.contains("value=\"ada@example.com\""));
    assert!(!browser.has_cookie("sluice_session"));

    let actions = app.audit_actions().await;
    let failures: Vec<_> = actions
        .iter()
        .filter(|(a, _)| a == "auth.login_failed")
        .map(|(_, target)| target.as_str())
        .collect();
    assert!(failures.contains(&"user:ada@example.com"));
    assert!(failures.contains(&"user:nobody@example.com"));
}

async fn disabled_user_cannot_sign_in(app: TestApp) {
    let user = app.user("ada@example.com", &[Role::Editor]).await;
    sluice::auth::users::set_disabled(
        app.db(),
        &sluice::audit::Actor::system("test"),
        user.id,
        true,
        app.clock().now(),
    )
    .await
    .unwrap();
    let response = app.client().login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(
        response
            .body
            .contains("E-mail or password is wrong, or the account is disabled.")
    );
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|(a, _)| a == "user.disable"));
    assert!(actions.iter().any(|(a, _)| a == "auth.login_failed"));
}

async fn throttling_kicks_in_per_account_and_lifts(app: TestApp) {
    app.user("ada@example.com", &[Role::Editor]).await;
    for attempt in 0..throttle::PER_ACCOUNT {
        // Different addresses: only the per-account limit applies.
        let response = app
            .client()
            .login("ada@example.com", "wrong password")
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    // Now even the right password is refused, with a clear message.
    let throttled = app.client().login("ada@example.com", PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        throttled
            .body
            .contains("Too many failed sign-in attempts. Try again in 15 minute(s)."),
        "{}",
        throttled.body
    );
    // Another account is not affected.
    app.user("bob@example.com", &[Role::Editor]).await;
    assert_eq!(
        app.client().login("bob@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    app.clock()
        .advance(throttle::WINDOW + time::Duration::seconds(1));
    let lifted = app.client().login("ada@example.com", PASSWORD).await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER, "{}", lifted.body);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "auth.login_throttled")
    );
}

async fn throttling_per_address_covers_unknown_accounts(app: TestApp) {
    app.user("ada@example.com", &[Role::Editor]).await;
    let attacker = app.client();
    for n in 0..throttle::PER_ADDRESS {
        let response = attacker
            .login(&format!("guess{n}@example.com"), "password1234")
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    // The address is throttled, even for a real account with the right password...
    let blocked = attacker.login("ada@example.com", PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    // ...while the real user, elsewhere, signs in.
    assert_eq!(
        app.client().login("ada@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    app.clock()
        .advance(throttle::WINDOW + time::Duration::seconds(1));
    assert_eq!(
        attacker.login("ada@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

async fn missing_or_wrong_csrf_token_is_forbidden(app: TestApp) {
    app.user("ada@example.com", &[Role::Admin]).await;
    // Login form without its token.
    let browser = app.client();
    browser.get("/login").await;
    let no_token = browser
        .post_raw(
            "/login",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong = browser
        .post_raw(
            "/login",
            &[
                ("csrf_token", "0000"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(!browser.has_cookie("sluice_session"));

    // Signed-in forms: missing, wrong, and another session's token.
    assert_eq!(
        browser.login("ada@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let fields = [
        ("email", "new@example.com"),
        ("roles", "viewer"),
        ("password", PASSWORD),
    ];
    let missing = browser.post_raw("/settings/users", &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("reload the page"));
    let other = app.client();
    other.login("ada@example.com", PASSWORD).await;
    let foreign = other.get("/").await.csrf();
    let mut with_foreign = vec![("csrf_token", foreign.as_str())];
    with_foreign.extend_from_slice(&fields);
    assert_eq!(
        browser
            .post_raw("/settings/users", &with_foreign)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Logout is state-changing too.
    assert_eq!(
        browser.post_raw("/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        sluice::auth::users::find_by_email(app.db(), "new@example.com")
            .await
            .unwrap()
            .is_none()
    );

    // With the right token it works.
    let ok = browser
        .post_form("/settings/users", "/settings/users", &fields)
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
}

async fn idle_session_expires(app: TestApp) {
    let browser = app.login_as(Role::Viewer).await;
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    // Activity keeps it alive.
    app.clock()
        .advance(app.state.config.session_idle - time::Duration::minutes(5));
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    app.clock()
        .advance(app.state.config.session_idle - time::Duration::minutes(5));
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    // Idle too long: back to the login page.
    app.clock()
        .advance(app.state.config.session_idle + time::Duration::seconds(1));
    let expired = browser.get("/account").await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.location(), "/login?next=%2Faccount");
}

async fn absolute_session_expiry(app: TestApp) {
    let browser = app.login_as(Role::Viewer).await;
    let step = app.state.config.session_idle - time::Duration::minutes(1);
    let mut elapsed = time::Duration::ZERO;
    while elapsed + step < app.state.config.session_absolute {
        app.clock().advance(step);
        elapsed += step;
        assert_eq!(browser.get("/").await.status, StatusCode::OK);
    }
    app.clock().advance(step);
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);
}

async fn logout_ends_the_session(app: TestApp) {
    let browser = app.login_as(Role::Editor).await;
    let old_cookie = browser.cookie("sluice_session").unwrap();
    let response = browser.post_form("/", "/logout", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), "/login?notice=signed_out");
    assert!(!browser.has_cookie("sluice_session"));
    // Replaying the old cookie does not work either.
    browser.set_cookie("sluice_session", &old_cookie);
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "auth.logout")
    );
}

async fn password_change_ends_other_sessions(app: TestApp) {
    app.user("ada@example.com", &[Role::Editor]).await;
    let laptop = app.client();
    let phone = app.client();
    laptop.login("ada@example.com", PASSWORD).await;
    phone.login("ada@example.com", PASSWORD).await;

    let wrong_current = laptop
        .post_form(
            "/account",
            "/account/password",
            &[
                ("current_password", "not it at all"),
                ("password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(wrong_current.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_current
            .body
            .contains("this is not your current password")
    );
    let too_short = laptop
        .post_form(
            "/account",
            "/account/password",
            &[("current_password", PASSWORD), ("password", "short")],
        )
        .await;
    assert_eq!(too_short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_short.body.contains("use at least 10 characters"));

    let changed = laptop
        .post_form(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(
        laptop.get("/").await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        phone.get("/").await.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert_eq!(
        app.client().login("ada@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.client()
            .login("ada@example.com", "a brand new password")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "user.password_change")
    );
}

async fn pages_redirect_to_login_and_back(app: TestApp) {
    app.user("ada@example.com", &[Role::Admin]).await;
    let browser = app.client();
    let response = browser.get("/settings/tokens").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), "/login?next=%2Fsettings%2Ftokens");
    let form = browser.get("/login?next=%2Fsettings%2Ftokens").await;
    assert!(form.body.contains("value=\"/settings/tokens\""));
    let login = browser
        .post_raw(
            "/login",
            &[
                ("csrf_token", &form.csrf()),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/settings/tokens"),
            ],
        )
        .await;
    assert_eq!(login.location(), "/settings/tokens");
    // Never off-site, also with characters browsers drop from URLs.
    for next in [
        "//evil.example",
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%5Cevil.example",
    ] {
        let offsite = app.client().get(&format!("/login?next={next}")).await;
        assert_eq!(offsite.status, StatusCode::OK, "{next}");
        assert!(offsite.body.contains("name=\"next\" value=\"/\""), "{next}");
    }
    let signed_in = app.client();
    signed_in.login("ada@example.com", PASSWORD).await;
    let bounced = signed_in.get("/login?next=/%09/evil.example").await;
    assert_eq!(bounced.location(), "/");
    // An over-long e-mail is cut before it becomes a key, a log field or an audit label.
    let long = format!("{}@example.com", "x".repeat(5000));
    assert_eq!(
        app.client().login(&long, "whatever it is").await.status,
        StatusCode::UNAUTHORIZED
    );
    let entries = sluice::audit::list(
        app.db(),
        &sluice::audit::AuditFilter {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(entries[0].actor.len() <= 254);
}

async fn a_parallel_burst_of_guesses_cannot_pass_the_limit(app: TestApp) {
    app.user("ada@example.com", &[Role::Editor]).await;
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let client = app.client();
        client.get("/login").await;
        burst.spawn(async move {
            client
                .login("ada@example.com", "a wrong guess")
                .await
                .status
        });
    }
    let statuses = burst.join_all().await;
    let refused_after_check = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(refused_after_check + throttled, 12, "{statuses:?}");
    // Exactly the limit had their password checked; the rest were refused first.
    assert_eq!(
        refused_after_check,
        usize::try_from(throttle::PER_ACCOUNT).unwrap(),
        "{statuses:?}"
    );
    // A flood of refused attempts leaves one audit entry, not one per attempt.
    let throttled_entries = app
        .audit_actions()
        .await
        .iter()
        .filter(|(a, _)| a == "auth.login_throttled")
        .count();
    assert_eq!(throttled_entries, 1);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_counts() {
    let app = TestApp::sqlite_with(&[("SLUICE_TRUST_PROXY", "true")]).await;
    app.user("ada@example.com", &[Role::Editor]).await;
    let browser = app
        .client()
        .with_header("x-forwarded-for", "203.0.113.9, 198.51.100.7");
    browser.login("ada@example.com", "a wrong guess").await;
    let entries = sluice::audit::list(
        app.db(),
        &sluice::audit::AuditFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(entries[0].action, "auth.login_failed");
    assert_eq!(
        entries[0].client_addr, "198.51.100.7",
        "the entry our proxy appended"
    );

    // Without the setting the header is ignored: anyone can send it.
    let app = TestApp::sqlite().await;
    app.user("ada@example.com", &[Role::Editor]).await;
    let browser = app.client().with_header("x-forwarded-for", "198.51.100.7");
    browser.login("ada@example.com", "a wrong guess").await;
    let entries = sluice::audit::list(
        app.db(),
        &sluice::audit::AuditFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(entries[0].client_addr, browser.addr.ip().to_string());
}

#[tokio::test]
async fn secure_cookies_use_the_host_prefix() {
    let app = TestApp::sqlite_with(&[("SLUICE_SECURE_COOKIES", "true")]).await;
    app.user("ada@example.com", &[Role::Editor]).await;
    let browser = app.client();
    let form = browser.get("/login").await;
    let csrf_cookie = form.header("set-cookie").unwrap_or_default().to_owned();
    assert!(
        csrf_cookie.starts_with("__Host-sluice_login_csrf="),
        "{csrf_cookie}"
    );
    let response = browser.login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let cookie = response.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("__Host-sluice_session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Domain="),
        "__Host- cookies carry no Domain"
    );
    assert!(response.header("strict-transport-security").is_some());
    // The unprefixed name is not accepted in secure mode.
    let session = browser.cookie("__Host-sluice_session").unwrap();
    let other = app.client();
    other.set_cookie("sluice_session", &session);
    assert_eq!(other.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
}

async fn current_password_guesses_are_throttled(app: TestApp) {
    app.user("ada@example.com", &[Role::Editor]).await;
    let stolen = app.client();
    stolen.login("ada@example.com", PASSWORD).await;
    let guess = [
        ("current_password", "a guess at it"),
        ("password", "whatever new pw"),
    ];
    for _ in 0..throttle::PER_ACCOUNT {
        let answer = stolen
            .post_form("/account", "/account/password", &guess)
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let right = [
        ("current_password", PASSWORD),
        ("password", "whatever new pw"),
    ];
    let throttled = stolen
        .post_form("/account", "/account/password", &right)
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.body.contains("Too many failed sign-in attempts"));
}
