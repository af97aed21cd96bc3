//! Review and approval through the API: four eyes, partial approval,
//! conflicts and rebase, concurrent approvals, withdraw, restore, and which
//! role may call which workflow route.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::{Caller, Credential, Role};
use sluice::catalog::product::ValueKey;
use sluice::workflow::proposals::{self, Resolution};

use crate::{TestApp, TestResponse};

crate::db_tests!(
    the_master_never_holds_an_unapproved_reviewed_value,
    nobody_approves_their_own_proposal,
    partial_approval_leaves_the_rest_open,
    a_changed_field_turns_into_a_conflict_that_the_author_rebases,
    two_approvals_of_the_same_field_at_once_apply_exactly_one,
    authors_withdraw_and_restore_past_versions,
    workflow_routes_for_every_role,
);

fn value(data: Value) -> Value {
    json!([{"locale": null, "channel": null, "data": data}])
}

fn name(data: &str) -> Value {
    json!([{"locale": "en_US", "channel": null, "data": data}])
}

struct People {
    editor: String,
    approver: String,
    other_approver: String,
}

async fn people(app: &TestApp) -> People {
    People {
        editor: app
            .user_token(&[Role::Editor], "catalog:read catalog:write")
            .await,
        approver: app
            .user_token(&[Role::Approver], "catalog:read catalog:write")
            .await,
        other_approver: app
            .user_token(&[Role::Approver], "catalog:read catalog:write")
            .await,
    }
}

async fn product(app: &TestApp, token: &str, sku: &str) -> Value {
    let response = app
        .api(Method::GET, &format!("/api/v1/products/{sku}"), Some(token))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

fn data_of(product: &Value, attribute: &str) -> Value {
    product["values"][attribute][0]["data"].clone()
}

async fn create_gadget(app: &TestApp, token: &str, sku: &str) {
    let response = app
        .api_json(
            Method::POST,
            "/api/v1/products",
            token,
            Some(json!({"sku": sku, "family": "gadgets", "enabled": false})),
            &[],
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    assert!(response.json().get("pending_proposal").is_none());
}

async fn patch(app: &TestApp, token: &str, sku: &str, version: i64, body: Value) -> TestResponse {
    let tag = format!("\"{version}\"");
    app.api_json(
        Method::PATCH,
        &format!("/api/v1/products/{sku}"),
        token,
        Some(body),
        &[("if-match", &tag)],
    )
    .await
}

async fn approve(app: &TestApp, token: &str, id: i64, body: Option<Value>) -> TestResponse {
    app.api_json(
        Method::POST,
        &format!("/api/v1/proposals/{id}/approve"),
        token,
        body,
        &[],
    )
    .await
}

async fn the_master_never_holds_an_unapproved_reviewed_value(app: TestApp) {
    app.seed_schema().await;
    let p = people(&app).await;
    create_gadget(&app, &p.editor, "G-1").await;

    // Fast lane only: applied at once, 200 with the product.
    let fast = patch(
        &app,
        &p.editor,
        "G-1",
        1,
        json!({"values": {"search_boost": value(json!("4"))}}),
    )
    .await;
    assert_eq!(fast.status, StatusCode::OK, "{}", fast.body);
    assert_eq!(data_of(&fast.json(), "search_boost"), "4");

    // Reviewed lane: 202 with the submitted proposal; master unchanged.
    let proposed = patch(
        &app,
        &p.editor,
        "G-1",
        2,
        json!({"values": {"name": name("Radio")}, "categories": ["electronics"]}),
    )
    .await;
    assert_eq!(proposed.status, StatusCode::ACCEPTED, "{}", proposed.body);
    let proposal = proposed.json();
    assert_eq!(proposal["status"], "submitted");
    assert_eq!(proposal["base_version"], 2);
    assert_eq!(proposal["changes"].as_array().unwrap().len(), 2);
    let master = product(&app, &p.editor, "G-1").await;
    assert!(master["values"].get("name").is_none(), "{master}");
    assert_eq!(master["categories"], json!([]));
    assert_eq!(master["version"], 2);

    // A second PATCH is a proposal of its own: a submitted proposal never
    // changes under an approver's eyes.
    let second = patch(
        &app,
        &p.editor,
        "G-1",
        2,
        json!({"values": {"name": name("Pocket radio")}, "note": "shorter"}),
    )
    .await;
    assert_eq!(second.status, StatusCode::ACCEPTED);
    let second = second.json();
    assert_ne!(second["id"], proposal["id"]);
    assert_eq!(second["note"], "shorter");
    let first = app
        .api(
            Method::GET,
            &format!("/api/v1/proposals/{}", proposal["id"]),
            Some(&p.editor),
        )
        .await
        .json();
    assert_eq!(
        first["changes"].as_array().unwrap().len(),
        2,
        "unchanged: {first}"
    );
    assert!(
        product(&app, &p.editor, "G-1").await["values"]
            .get("name")
            .is_none()
    );

    // Invalid reviewed values are refused before anything is proposed.
    let invalid = patch(
        &app,
        &p.editor,
        "G-1",
        2,
        json!({"values": {"name": name(&"x".repeat(50))}}),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Approval applies through the write path.
    let id = proposal["id"].as_i64().unwrap();
    let approved = approve(&app, &p.approver, id, None).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.json()["status"], "approved");
    let master = product(&app, &p.editor, "G-1").await;
    assert_eq!(data_of(&master, "name"), "Radio");
    assert_eq!(master["categories"], json!(["electronics"]));
    // The second proposal changed the same field from the same base: conflict.
    let second_id = second["id"].as_i64().unwrap();
    let conflict = approve(&app, &p.approver, second_id, None).await.json();
    assert_eq!(conflict["status"], "conflict", "{conflict}");
    let history = app
        .api(Method::GET, "/api/v1/products/G-1/history", Some(&p.editor))
        .await
        .json();
    assert!(
        history[0]["actor"]
            .as_str()
            .unwrap()
            .contains(&format!("approving #{id}")),
        "{history}"
    );
    let listed = app
        .api(
            Method::GET,
            "/api/v1/proposals?status=approved",
            Some(&p.editor),
        )
        .await
        .json();
    assert_eq!(listed["items"][0]["id"], id);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "proposal.approve")
    );
}

async fn nobody_approves_their_own_proposal(app: TestApp) {
    app.seed_schema().await;
    // Even an admin who is also an approver cannot approve their own change.
    let boss = app
        .user_token(
            &[Role::Admin, Role::Editor, Role::Approver],
            "catalog:read catalog:write admin",
        )
        .await;
    create_gadget(&app, &boss, "G-1").await;
    let proposed = patch(
        &app,
        &boss,
        "G-1",
        1,
        json!({"values": {"name": name("Radio")}}),
    )
    .await;
    let id = proposed.json()["id"].as_i64().unwrap();
    let own = approve(&app, &boss, id, None).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    assert!(own.body.contains("your own proposal"));
    let own_reject = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{id}/reject"),
            &boss,
            Some(json!({"comment": "no"})),
            &[],
        )
        .await;
    assert_eq!(own_reject.status, StatusCode::FORBIDDEN);
    assert!(
        product(&app, &boss, "G-1").await["values"]
            .get("name")
            .is_none()
    );

    // With self-approval switched on (one-person shops), it goes through.
    let solo = TestApp::sqlite_with(&[("SLUICE_ALLOW_SELF_APPROVAL", "true")]).await;
    solo.seed_schema().await;
    let owner = solo
        .user_token(
            &[Role::Admin, Role::Editor, Role::Approver],
            "catalog:read catalog:write",
        )
        .await;
    create_gadget(&solo, &owner, "G-1").await;
    let proposed = patch(
        &solo,
        &owner,
        "G-1",
        1,
        json!({"values": {"name": name("Radio")}}),
    )
    .await;
    let id = proposed.json()["id"].as_i64().unwrap();
    assert_eq!(
        approve(&solo, &owner, id, None).await.status,
        StatusCode::OK
    );
    let dashboard = solo.login_as(Role::Admin).await.get("/").await;
    assert!(
        dashboard.body.to_lowercase().contains("self-approval"),
        "the dashboard says so"
    );
}

async fn partial_approval_leaves_the_rest_open(app: TestApp) {
    app.seed_schema().await;
    let p = people(&app).await;
    create_gadget(&app, &p.editor, "G-1").await;
    let proposed = patch(
        &app,
        &p.editor,
        "G-1",
        1,
        json!({"values": {"name": name("Radio"), "manual_url": value(json!("https://example.com/m.pdf"))}}),
    )
    .await;
    let id = proposed.json()["id"].as_i64().unwrap();
    let some = approve(
        &app,
        &p.approver,
        id,
        Some(json!({"fields": [{"attribute": "name", "locale": "en_US"}]})),
    )
    .await;
    assert_eq!(some.status, StatusCode::OK, "{}", some.body);
    let after = some.json();
    assert_eq!(after["status"], "submitted", "the rest stays open");
    let states: Vec<(String, String)> = after["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["attribute"].as_str().unwrap().to_owned(),
                c["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(states.contains(&("name".into(), "applied".into())));
    assert!(states.contains(&("manual_url".into(), "open".into())));
    let master = product(&app, &p.editor, "G-1").await;
    assert_eq!(data_of(&master, "name"), "Radio");
    assert!(master["values"].get("manual_url").is_none());
    let unknown = approve(
        &app,
        &p.approver,
        id,
        Some(json!({"fields": [{"attribute": "color"}]})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let rest = approve(&app, &p.approver, id, None).await;
    assert_eq!(rest.json()["status"], "approved");
    assert_eq!(
        data_of(&product(&app, &p.editor, "G-1").await, "manual_url"),
        "https://example.com/m.pdf"
    );
    // Decided proposals are not decided again.
    assert_eq!(
        approve(&app, &p.approver, id, None).await.status,
        StatusCode::CONFLICT
    );
}

async fn a_changed_field_turns_into_a_conflict_that_the_author_rebases(app: TestApp) {
    app.seed_schema().await;
    let p = people(&app).await;
    let colleague = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    create_gadget(&app, &p.editor, "G-1").await;
    let mine = patch(&app, &p.editor, "G-1", 1, json!({"values": {"name": name("Mine"), "manual_url": value(json!("https://example.com/a"))}})).await;
    let theirs = patch(
        &app,
        &colleague,
        "G-1",
        1,
        json!({"values": {"name": name("Theirs")}}),
    )
    .await;
    let (mine, theirs) = (
        mine.json()["id"].as_i64().unwrap(),
        theirs.json()["id"].as_i64().unwrap(),
    );
    assert_eq!(
        approve(&app, &p.approver, theirs, None).await.json()["status"],
        "approved"
    );

    // Mine overlaps on name: conflict; manual_url does not overlap and applies.
    let conflicted = approve(&app, &p.approver, mine, None).await.json();
    assert_eq!(conflicted["status"], "conflict", "{conflicted}");
    let name_change = conflicted["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attribute"] == "name")
        .unwrap()
        .clone();
    assert_eq!(name_change["state"], "conflict");
    assert_eq!(name_change["theirs"], "Theirs");
    assert_eq!(name_change["before"], Value::Null, "base");
    assert_eq!(name_change["after"], "Mine");
    let master = product(&app, &p.editor, "G-1").await;
    assert_eq!(data_of(&master, "name"), "Theirs", "nothing lost");
    assert_eq!(data_of(&master, "manual_url"), "https://example.com/a");

    // Only the author rebases; keep mine resubmits with theirs as the new base.
    let schema = sluice::catalog::store::load_schema(app.db().pool())
        .await
        .unwrap();
    let author = caller_of(&app, &p.editor).await;
    let rebased = proposals::rebase(
        app.db(),
        &schema,
        &author,
        mine,
        &[(
            ValueKey::new("name", Some("en_US"), None),
            Resolution::KeepMine,
        )],
        app.clock().now(),
    )
    .await
    .unwrap();
    assert_eq!(rebased.status, proposals::Status::Submitted);
    let approved = approve(&app, &p.other_approver, mine, None).await;
    assert_eq!(approved.json()["status"], "approved", "{}", approved.body);
    assert_eq!(
        data_of(&product(&app, &p.editor, "G-1").await, "name"),
        "Mine"
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "proposal.rebase")
    );
}

/// The caller behind a token (for domain calls in tests).
async fn caller_of(app: &TestApp, token: &str) -> Caller {
    let me = app.api(Method::GET, "/api/v1/me", Some(token)).await.json();
    let user = sluice::auth::users::find_by_email(app.db(), me["user"]["email"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    Caller {
        user,
        credential: Credential::Session,
    }
}

async fn two_approvals_of_the_same_field_at_once_apply_exactly_one(app: TestApp) {
    app.seed_schema().await;
    let p = people(&app).await;
    let colleague = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    create_gadget(&app, &p.editor, "G-1").await;
    let first = patch(
        &app,
        &p.editor,
        "G-1",
        1,
        json!({"values": {"name": name("First")}}),
    )
    .await
    .json()["id"]
        .as_i64()
        .unwrap();
    let second = patch(
        &app,
        &colleague,
        "G-1",
        1,
        json!({"values": {"name": name("Second")}}),
    )
    .await
    .json()["id"]
        .as_i64()
        .unwrap();
    // Really at the same moment: two tasks on a multi-threaded runtime.
    let router = app.router.clone();
    let call = |token: String, id: i64| {
        let router = router.clone();
        tokio::spawn(async move {
            use tower::ServiceExt;
            let request = axum::http::Request::post(format!("/api/v1/proposals/{id}/approve"))
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        })
    };
    let (a, b) = tokio::join!(
        call(p.approver.clone(), first),
        call(p.other_approver.clone(), second)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.0, StatusCode::OK, "{}", a.1);
    assert_eq!(b.0, StatusCode::OK, "{}", b.1);
    let mut statuses = [
        a.1["status"].as_str().unwrap().to_owned(),
        b.1["status"].as_str().unwrap().to_owned(),
    ];
    statuses.sort();
    assert_eq!(statuses, ["approved", "conflict"], "exactly one applies");
    let winner = if a.1["status"] == "approved" {
        "First"
    } else {
        "Second"
    };
    let master = product(&app, &p.editor, "G-1").await;
    assert_eq!(data_of(&master, "name"), winner);
    assert_eq!(master["version"], 2, "one write, nothing lost");
}

async fn authors_withdraw_and_restore_past_versions(app: TestApp) {
    app.seed_schema().await;
    let p = people(&app).await;
    create_gadget(&app, &p.editor, "G-1").await;
    let proposed = patch(
        &app,
        &p.editor,
        "G-1",
        1,
        json!({"values": {"name": name("Radio")}}),
    )
    .await;
    let id = proposed.json()["id"].as_i64().unwrap();
    // The author's read-only token may not withdraw either.
    let me = app
        .api(Method::GET, "/api/v1/me", Some(&p.editor))
        .await
        .json();
    let read_only = app
        .token(me["user"]["email"].as_str().unwrap(), "catalog:read")
        .await;
    let refused = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{id}/withdraw"),
            &read_only,
            None,
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let not_mine = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{id}/withdraw"),
            &p.approver,
            None,
            &[],
        )
        .await;
    assert_eq!(not_mine.status, StatusCode::FORBIDDEN);
    let withdrawn = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{id}/withdraw"),
            &p.editor,
            None,
            &[],
        )
        .await;
    assert_eq!(withdrawn.json()["status"], "withdrawn");
    assert_eq!(
        approve(&app, &p.approver, id, None).await.status,
        StatusCode::CONFLICT
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "proposal.withdraw")
    );

    // Version 2 names it "Radio", version 3 "Radio 2"; restore version 2 as a proposal.
    let first = patch(
        &app,
        &p.editor,
        "G-1",
        1,
        json!({"values": {"name": name("Radio")}}),
    )
    .await
    .json()["id"]
        .as_i64()
        .unwrap();
    approve(&app, &p.approver, first, None).await;
    let second = patch(
        &app,
        &p.editor,
        "G-1",
        2,
        json!({"values": {"name": name("Radio 2")}}),
    )
    .await
    .json()["id"]
        .as_i64()
        .unwrap();
    approve(&app, &p.approver, second, None).await;
    let restore = app
        .api_json(
            Method::POST,
            "/api/v1/products/G-1/restore",
            &p.editor,
            Some(json!({"version": 2})),
            &[],
        )
        .await;
    assert_eq!(restore.status, StatusCode::CREATED, "{}", restore.body);
    let proposal = restore.json();
    assert_eq!(proposal["status"], "submitted");
    assert_eq!(proposal["changes"][0]["after"], "Radio");
    assert_eq!(
        data_of(&product(&app, &p.editor, "G-1").await, "name"),
        "Radio 2",
        "proposed, not applied"
    );
    approve(&app, &p.approver, proposal["id"].as_i64().unwrap(), None).await;
    assert_eq!(
        data_of(&product(&app, &p.editor, "G-1").await, "name"),
        "Radio"
    );
    let bad = app
        .api_json(
            Method::POST,
            "/api/v1/products/G-1/restore",
            &p.editor,
            Some(json!({"version": 99})),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(a, _)| a == "proposal.restore")
    );
}

async fn workflow_routes_for_every_role(app: TestApp) {
    app.seed_schema().await;
    let editor = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    create_gadget(&app, &editor, "G-1").await;
    // A fresh submitted proposal for each check.
    let fresh = |body: Value| {
        let editor = editor.clone();
        let app = &app;
        async move {
            let current = product(app, &editor, "G-1").await["version"]
                .as_i64()
                .unwrap();
            patch(app, &editor, "G-1", current, body).await.json()["id"]
                .as_i64()
                .unwrap()
        }
    };
    let roles: [(&str, &[Role], &str); 4] = [
        ("admin", &[Role::Admin], "catalog:read catalog:write admin"),
        ("editor", &[Role::Editor], "catalog:read catalog:write"),
        ("approver", &[Role::Approver], "catalog:read catalog:write"),
        ("viewer", &[Role::Viewer], "catalog:read"),
    ];
    for (label, roles, scopes) in roles {
        let token = app.user_token(roles, scopes).await;
        let id = fresh(json!({"values": {"name": name(&format!("By {label}"))}})).await;
        let list = app
            .api(Method::GET, "/api/v1/proposals", Some(&token))
            .await;
        assert_eq!(list.status, StatusCode::OK, "{label} lists");
        let one = app
            .api(
                Method::GET,
                &format!("/api/v1/proposals/{id}"),
                Some(&token),
            )
            .await;
        assert_eq!(one.status, StatusCode::OK, "{label} reads");
        let approved = approve(&app, &token, id, None).await;
        let expected = if label == "approver" {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            approved.status, expected,
            "{label} approves: {}",
            approved.body
        );
        let id = fresh(json!({"values": {"name": name(&format!("Again {label}"))}})).await;
        let rejected = app
            .api_json(
                Method::POST,
                &format!("/api/v1/proposals/{id}/reject"),
                &token,
                Some(json!({"comment": "not like this"})),
                &[],
            )
            .await;
        assert_eq!(
            rejected.status, expected,
            "{label} rejects: {}",
            rejected.body
        );
        let withdraw = app
            .api_json(
                Method::POST,
                &format!("/api/v1/proposals/{id}/withdraw"),
                &token,
                None,
                &[],
            )
            .await;
        assert!(
            matches!(
                withdraw.status,
                StatusCode::FORBIDDEN | StatusCode::CONFLICT
            ),
            "{label} withdraws another's"
        );
        let current = product(&app, &editor, "G-1").await["version"]
            .as_i64()
            .unwrap();
        let edit = patch(
            &app,
            &token,
            "G-1",
            current,
            json!({"values": {"name": name("x")}}),
        )
        .await;
        let may_edit = matches!(label, "admin" | "editor");
        assert_eq!(
            edit.status.is_success(),
            may_edit,
            "{label} proposes: {}",
            edit.status
        );
        if may_edit {
            let id = edit.json()["id"].as_i64().unwrap();
            let withdraw = app
                .api_json(
                    Method::POST,
                    &format!("/api/v1/proposals/{id}/withdraw"),
                    &token,
                    None,
                    &[],
                )
                .await;
            assert_eq!(
                withdraw.status,
                StatusCode::OK,
                "{label} withdraws their own"
            );
        }
    }
    // Reject needs a comment.
    let approver = app
        .user_token(&[Role::Approver], "catalog:read catalog:write")
        .await;
    let id = fresh(json!({"values": {"name": name("Needs a reason")}})).await;
    let empty = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{id}/reject"),
            &approver,
            Some(json!({"comment": "  "})),
            &[],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A draft is its author's own: others do not see it.
    let schema = sluice::catalog::store::load_schema(app.db().pool())
        .await
        .unwrap();
    let author = caller_of(&app, &editor).await;
    let current = product(&app, &editor, "G-1").await["version"]
        .as_i64()
        .unwrap();
    let changes = sluice::workflow::write::ChangeSet {
        values: vec![sluice::workflow::write::ValueChange {
            key: ValueKey::new("name", Some("en_US"), None),
            data: Some(json!("Draft name")),
        }],
        ..Default::default()
    };
    let edit = proposals::Edit {
        sku: "G-1",
        base_version: current,
        changes: &changes,
        submit_note: None,
    };
    let draft = proposals::edit(app.db(), &schema, &author, edit, app.clock().now())
        .await
        .unwrap()
        .proposal
        .unwrap();
    let path = format!("/api/v1/proposals/{}", draft.id);
    assert_eq!(
        app.api(Method::GET, &path, Some(&approver)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.api(Method::GET, &path, Some(&editor)).await.status,
        StatusCode::OK
    );
    let listed = app
        .api(
            Method::GET,
            "/api/v1/proposals?status=draft",
            Some(&approver),
        )
        .await
        .json();
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");
    let no_token = app.api(Method::GET, "/api/v1/proposals", None).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    let bad_status = app
        .api(
            Method::GET,
            "/api/v1/proposals?status=maybe",
            Some(&approver),
        )
        .await;
    assert_eq!(bad_status.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.api(Method::GET, "/api/v1/proposals/999999", Some(&approver))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
