//! The review pages: the queue and its filters, the proposal page (diff with
//! word-level highlighting, validation, readiness impact, comments), four
//! eyes, partial and bulk approval, rejection, withdrawal, conflicts and
//! rebase, and the dashboard's queue count and notices.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sluice::auth::users::User;
use sluice::auth::{Caller, Credential, Role};
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::catalog::schema::Schema;
use sluice::catalog::store;
use sluice::workflow::proposals::{self, FieldState, Status};
use sluice::workflow::write::{ChangeSet, NewProduct, ValueChange};

use crate::harness::PASSWORD;
use crate::seed;
use crate::{Client, TestApp};

crate::db_tests!(
    queue_lists_submitted_proposals_and_filters,
    proposal_page_shows_diff_validation_and_readiness,
    four_eyes_author_and_other_roles_cannot_approve,
    approver_approves_selected_fields_then_all,
    reject_requires_a_comment,
    author_submits_a_draft_and_withdraws,
    conflict_shows_base_theirs_mine_and_rebase_resubmits,
    bulk_approve_reports_each_proposal,
    dashboard_shows_queue_count_and_my_notices,
    proposal_page_reads_in_labels,
);

async fn schema(app: &TestApp) -> Schema {
    app.seed_schema().await;
    store::load_schema(app.db().pool()).await.expect("schema")
}

/// A product made by the system, with `(attribute, locale, channel, data)` values.
async fn product(
    app: &TestApp,
    schema: &Schema,
    sku: &str,
    family: &str,
    categories: &[&str],
    values: &[seed::Val<'_>],
) {
    let product = NewProduct {
        categories: seed::categories(categories),
        values: seed::changes(values),
        ..seed::new_product(sku, ProductKind::Simple, family, None)
    };
    app.create_as_system(schema, product).await;
}

/// A user with `roles`, and a browser signed in as them.
async fn person(app: &TestApp, email: &str, roles: &[Role]) -> (User, Client) {
    let user = app.user(email, roles).await;
    let client = app.client();
    let response = client.login(email, PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "login {email}");
    (user, client)
}

fn caller(user: &User) -> Caller {
    Caller {
        user: user.clone(),
        credential: Credential::Session,
    }
}

/// Proposes `(attribute, locale, channel, data)` changes to `sku` as `user`:
/// submitted with `note`, or left a draft with `None`. Returns the proposal id.
async fn propose(
    app: &TestApp,
    schema: &Schema,
    user: &User,
    sku: &str,
    changes: &[(&str, Option<&str>, Option<&str>, Value)],
    note: Option<&str>,
) -> i64 {
    let version = store::find(app.db().pool(), sku)
        .await
        .expect("find")
        .expect("product")
        .product
        .version;
    let changes = ChangeSet {
        values: changes
            .iter()
            .map(|(attribute, locale, channel, data)| ValueChange {
                key: ValueKey::new(attribute, *locale, *channel),
                data: Some(data.clone()),
            })
            .collect(),
        ..ChangeSet::default()
    };
    let edit = proposals::Edit {
        sku,
        base_version: version,
        changes: &changes,
        submit_note: note,
    };
    proposals::edit(app.db(), schema, &caller(user), edit, app.clock().now())
        .await
        .unwrap_or_else(|err| panic!("propose on {sku}: {err}"))
        .proposal
        .expect("a reviewed-lane change makes a proposal")
        .id
}

async fn status_of(app: &TestApp, id: i64) -> Status {
    proposals::get(app.db().pool(), id)
        .await
        .expect("proposal")
        .status
}

async fn master_value(app: &TestApp, sku: &str, key: ValueKey) -> Option<Value> {
    store::find(app.db().pool(), sku)
        .await
        .expect("find")
        .expect("product")
        .product
        .values
        .get(&key)
        .cloned()
}

fn name_en() -> ValueKey {
    ValueKey::new("name", Some("en_US"), None)
}

/// The SKUs listed in the queue table (links to product pages).
fn listed(body: &str) -> Vec<String> {
    body.split("<a href=\"/products/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

async fn queue_lists_submitted_proposals_and_filters(app: TestApp) {
    let schema = schema(&app).await;
    let alice = app.user("alice@shop.test", &[Role::Editor]).await;
    let bob = app.user("bob@shop.test", &[Role::Editor]).await;
    product(
        &app,
        &schema,
        "TEE-1",
        "apparel",
        &["shirts"],
        &[("name", Some("en_US"), None, json!("Plain tee"))],
    )
    .await;
    product(&app, &schema, "GAD-1", "gadgets", &["electronics"], &[]).await;
    product(&app, &schema, "DRAFT-1", "gadgets", &[], &[]).await;
    product(&app, &schema, "NEW-1", "gadgets", &[], &[]).await;
    let tee = propose(
        &app,
        &schema,
        &alice,
        "TEE-1",
        &[("name", Some("en_US"), None, json!("Soft tee"))],
        Some("softer"),
    )
    .await;
    let gadget = propose(
        &app,
        &schema,
        &bob,
        "GAD-1",
        &[(
            "manual_url",
            None,
            None,
            json!("https://example.com/manual.pdf"),
        )],
        Some("manual"),
    )
    .await;
    propose(
        &app,
        &schema,
        &alice,
        "DRAFT-1",
        &[("name", Some("en_US"), None, json!("Draft name"))],
        None,
    )
    .await;
    app.clock().advance(time::Duration::days(2));
    propose(
        &app,
        &schema,
        &bob,
        "NEW-1",
        &[("name", Some("en_US"), None, json!("Fresh"))],
        Some("new"),
    )
    .await;
    // Signed in after the clock moved, so the sessions are fresh.
    let (_, approver) = person(&app, "ann@shop.test", &[Role::Approver]).await;
    let (_, viewer) = person(&app, "vic@shop.test", &[Role::Viewer]).await;

    // Default: the submitted ones, newest first, with a checkbox for an approver.
    let page = approver.get("/proposals").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Review queue"));
    assert_eq!(listed(&page.body), ["NEW-1", "GAD-1", "TEE-1"]);
    assert!(page.body.contains(&format!("name=\"ids\" value=\"{tee}\"")));
    assert!(page.body.contains("Approve selected"));
    assert!(page.body.contains("Name (en_US)"), "fields summary");
    assert!(page.body.contains("2 days ago"), "submitted age");
    // A viewer reads the queue but has nothing to approve with.
    let page = viewer.get("/proposals").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("name=\"ids\""));
    assert!(!page.body.contains("Approve selected"));

    let cases: [(&str, &[&str]); 10] = [
        (
            "/proposals?status=any",
            &["NEW-1", "DRAFT-1", "GAD-1", "TEE-1"],
        ),
        ("/proposals?status=draft", &["DRAFT-1"]),
        ("/proposals?family=apparel", &["TEE-1"]),
        ("/proposals?category=clothing", &["TEE-1"]),
        ("/proposals?author=bob", &["NEW-1", "GAD-1"]),
        ("/proposals?sku=GAD-1", &["GAD-1"]),
        ("/proposals?age=1", &["GAD-1", "TEE-1"]),
        // name is required on google for apparel; gadgets require nothing there.
        ("/proposals?channel=google", &["TEE-1"]),
        ("/proposals?channel=web&family=gadgets", &["NEW-1"]),
        (&format!("/proposals?before_id={gadget}"), &["TEE-1"]),
    ];
    for (path, expected) in cases {
        let page = approver.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert_eq!(listed(&page.body), expected, "{path}");
    }
    for bad in [
        "/proposals?status=maybe",
        "/proposals?category=nope",
        "/proposals?age=2",
        "/proposals?channel=moon",
    ] {
        assert_eq!(
            approver.get(bad).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

async fn proposal_page_shows_diff_validation_and_readiness(app: TestApp) {
    let schema = schema(&app).await;
    let (alice, author) = person(&app, "alice@shop.test", &[Role::Editor]).await;
    let (_, approver) = person(&app, "ann@shop.test", &[Role::Approver]).await;
    let (_, viewer) = person(&app, "vic@shop.test", &[Role::Viewer]).await;
    product(
        &app,
        &schema,
        "GAD-7",
        "gadgets",
        &[],
        &[
            ("name", Some("en_US"), None, json!("Compact travel charger")),
            ("name", Some("de_DE"), None, json!("Ladegerät")),
            ("description", Some("en_US"), None, json!("Charges fast")),
        ],
    )
    .await;
    let id = propose(
        &app,
        &schema,
        &alice,
        "GAD-7",
        &[
            ("name", Some("en_US"), None, json!("Compact solar charger")),
            (
                "description",
                Some("de_DE"),
                None,
                json!("Lädt <strong>schnell</strong>"),
            ),
        ],
        Some("Solar & more"),
    )
    .await;
    let path = format!("/proposals/{id}");

    let page = approver.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains("href=\"/products/GAD-7\""),
        "links the product"
    );
    assert!(
        body.contains("Solar &#38; more") || body.contains("Solar &amp; more"),
        "the note, escaped"
    );
    // Side by side, only the changed word highlighted.
    assert!(body.contains("Compact <del>travel</del> charger"), "{body}");
    assert!(body.contains("Compact <ins>solar</ins> charger"), "{body}");
    // A new rich-text value is wholly added and reads as text; its HTML is
    // there on demand, escaped, never rendered.
    assert!(body.contains("<ins>Lädt schnell</ins>"), "{body}");
    let html = body
        .split("<details class=\"html-diff\">")
        .nth(1)
        .unwrap_or_else(|| panic!("the HTML on demand: {body}"));
    assert!(
        html.contains("<ins>Lädt &#60;strong&#62;schnell&#60;/strong&#62;</ins>"),
        "{html}"
    );
    assert!(
        !body.contains("<strong>schnell"),
        "never rendered unsanitized"
    );
    assert!(body.contains("field-open"), "state badge per field");
    assert!(body.contains("All open changes pass validation"));
    // web needs name and description in en_US and de_DE: the proposal makes it ready.
    assert!(body.contains("becomes ready"), "{body}");
    assert!(body.contains("is missing in de_DE</code>"), "{body}");
    // Google's format needs a USD price, which no change here provides.
    assert!(body.contains("stays not ready"), "{body}");
    assert!(body.contains("has no USD price"), "{body}");
    assert!(body.contains(&format!("action=\"/proposals/{id}/approve\"")));
    assert!(
        body.contains("value=\"name|en_US|\""),
        "field keys for approve selected"
    );
    assert!(body.contains(&format!("action=\"/proposals/{id}/reject\"")));

    // The author may withdraw but not approve; a viewer may do nothing.
    let page = author.get(&path).await;
    assert!(!page.body.contains("/approve\""));
    assert!(
        page.body
            .contains(&format!("action=\"/proposals/{id}/withdraw\""))
    );
    let page = viewer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    for action in ["/approve\"", "/reject\"", "/withdraw\"", "/comments\""] {
        assert!(!page.body.contains(action), "viewer sees no {action}");
    }

    // Comments go to the thread; an empty one is refused beside the field.
    let response = approver
        .post_form(
            &path,
            &format!("{path}/comments"),
            &[("body", "Is the solar panel included?")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), format!("{path}?notice=comment_added"));
    let page = author.get(&format!("{path}?notice=comment_added")).await;
    assert!(page.body.contains("Is the solar panel included?"));
    assert!(page.body.contains("Comment added."));
    let response = author
        .post_form(&path, &format!("{path}/comments"), &[("body", "  ")])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("id=\"comment-body-error\""));
    assert_eq!(
        viewer.get("/proposals/999999").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn four_eyes_author_and_other_roles_cannot_approve(app: TestApp) {
    let schema = schema(&app).await;
    // The author holds the approver role too: four eyes still applies.
    let (alice, author) = person(&app, "alice@shop.test", &[Role::Editor, Role::Approver]).await;
    let (_, editor) = person(&app, "ed@shop.test", &[Role::Editor]).await;
    let (_, viewer) = person(&app, "vic@shop.test", &[Role::Viewer]).await;
    let (_, admin) = person(&app, "adm@shop.test", &[Role::Admin]).await;
    product(
        &app,
        &schema,
        "TEE-4",
        "apparel",
        &[],
        &[("name", Some("en_US"), None, json!("Plain tee"))],
    )
    .await;
    let id = propose(
        &app,
        &schema,
        &alice,
        "TEE-4",
        &[("name", Some("en_US"), None, json!("Soft tee"))],
        Some("n"),
    )
    .await;
    let path = format!("/proposals/{id}");

    let page = author.get(&path).await;
    assert!(
        !page.body.contains("/approve\""),
        "no approve form for the author"
    );
    assert!(
        !page.body.contains("/reject\""),
        "no reject form for the author"
    );
    assert!(page.body.contains("a second person must review it"));
    for client in [&author, &editor, &viewer, &admin] {
        let response = client
            .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
        let response = client
            .post_form(&path, &format!("{path}/approve"), &[("scope", "selected")])
            .await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "empty choice: {}",
            response.body
        );
        let response = client
            .post_form(&path, &format!("{path}/reject"), &[("comment", "")])
            .await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "reject: {}",
            response.body
        );
    }
    let response = author
        .post_form(
            &path,
            "/proposals/bulk-approve",
            &[("ids", &id.to_string())],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.body.contains("Approved 0 of 1"),
        "{}",
        response.body
    );
    assert_eq!(
        editor
            .post_form(
                &path,
                "/proposals/bulk-approve",
                &[("ids", &id.to_string())]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status_of(&app, id).await, Status::Submitted);
    assert_eq!(
        master_value(&app, "TEE-4", name_en()).await,
        Some(json!("Plain tee"))
    );
}

async fn approver_approves_selected_fields_then_all(app: TestApp) {
    let schema = schema(&app).await;
    let (alice, _) = person(&app, "alice@shop.test", &[Role::Editor]).await;
    let (_, approver) = person(&app, "ann@shop.test", &[Role::Approver]).await;
    product(
        &app,
        &schema,
        "TEE-5",
        "apparel",
        &[],
        &[("name", Some("en_US"), None, json!("Plain tee"))],
    )
    .await;
    let id = propose(
        &app,
        &schema,
        &alice,
        "TEE-5",
        &[
            ("name", Some("en_US"), None, json!("Soft tee")),
            ("color", None, None, json!("red")),
        ],
        Some("n"),
    )
    .await;
    let path = format!("/proposals/{id}");

    let response = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "selected")])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("Choose at least one field"));

    let response = approver
        .post_form(
            &path,
            &format!("{path}/approve"),
            &[("fields", "name|en_US|"), ("scope", "selected")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.location(),
        format!("{path}?notice=fields_approved")
    );
    let proposal = proposals::get(app.db().pool(), id).await.unwrap();
    assert_eq!(proposal.status, Status::Submitted);
    let states: Vec<(String, FieldState)> = proposal
        .changes
        .iter()
        .map(|c| (c.attribute.clone(), c.state))
        .collect();
    assert_eq!(
        states,
        [
            ("name".to_owned(), FieldState::Applied),
            ("color".to_owned(), FieldState::Open)
        ]
    );
    assert_eq!(
        master_value(&app, "TEE-5", name_en()).await,
        Some(json!("Soft tee"))
    );
    assert_eq!(
        master_value(&app, "TEE-5", ValueKey::new("color", None, None)).await,
        None
    );
    let page = approver
        .get(&format!("{path}?notice=fields_approved"))
        .await;
    assert!(page.body.contains("field-applied") && page.body.contains("field-open"));
    assert!(
        !page.body.contains("value=\"name|en_US|\""),
        "an applied field is no longer selectable"
    );
    assert!(page.body.contains("value=\"color||\""));

    // A field that is not open is refused beside the form.
    let response = approver
        .post_form(
            &path,
            &format!("{path}/approve"),
            &[("fields", "name|en_US|"), ("scope", "selected")],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("not an open field"));

    let response = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        response.location(),
        format!("{path}?notice=proposal_approved")
    );
    assert_eq!(status_of(&app, id).await, Status::Approved);
    assert_eq!(
        master_value(&app, "TEE-5", ValueKey::new("color", None, None)).await,
        Some(json!("red"))
    );
    let page = approver.get(&path).await;
    assert!(!page.body.contains("/approve\""), "nothing left to approve");
    assert!(page.body.contains("ann@shop.test"), "decided by");
    // Approving again is a state conflict.
    let response = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT);
}

async fn reject_requires_a_comment(app: TestApp) {
    let schema = schema(&app).await;
    let (alice, _) = person(&app, "alice@shop.test", &[Role::Editor]).await;
    let (_, approver) = person(&app, "ann@shop.test", &[Role::Approver]).await;
    product(
        &app,
        &schema,
        "TEE-6",
        "apparel",
        &[],
        &[("name", Some("en_US"), None, json!("Plain tee"))],
    )
    .await;
    let id = propose(
        &app,
        &schema,
        &alice,
        "TEE-6",
        &[("name", Some("en_US"), None, json!("Best tee ever"))],
        Some("n"),
    )
    .await;
    let path = format!("/proposals/{id}");

    let response = approver
        .post_form(&path, &format!("{path}/reject"), &[("comment", "   ")])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.body.contains("id=\"reject-comment-error\""),
        "{}",
        response.body
    );
    assert!(
        response
            .body
            .contains("aria-invalid=\"true\" aria-describedby=\"reject-comment-error\"")
    );
    assert!(response.body.contains("rejection needs a comment"));
    assert_eq!(status_of(&app, id).await, Status::Submitted);

    let response = approver
        .post_form(
            &path,
            &format!("{path}/reject"),
            &[("comment", "Superlatives are not allowed.")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        response.location(),
        format!("{path}?notice=proposal_rejected")
    );
    assert_eq!(status_of(&app, id).await, Status::Rejected);
    let page = approver.get(&path).await;
    assert!(page.body.contains("Superlatives are not allowed."));
    assert!(page.body.contains("proposal-rejected"));
    assert_eq!(
        master_value(&app, "TEE-6", name_en()).await,
        Some(json!("Plain tee"))
    );
}

async fn author_submits_a_draft_and_withdraws(app: TestApp) {
    let schema = schema(&app).await;
    let (alice, author) = person(&app, "alice@shop.test", &[Role::Editor]).await;
    let (_, other) = person(&app, "ed@shop.test", &[Role::Editor]).await;
    product(
        &app,
        &schema,
        "TEE-7",
        "apparel",
        &[],
        &[("name", Some("en_US"), None, json!("Plain tee"))],
    )
    .await;
    let id = propose(
        &app,
        &schema,
        &alice,
        "TEE-7",
        &[("name", Some("en_US"), None, json!("Soft tee"))],
        None,
    )
    .await;
    let path = format!("/proposals/{id}");
    assert_eq!(status_of(&app, id).await, Status::Draft);

    let page = author.get(&path).await;
    assert!(page.body.contains("Submit for review"));
    // Someone else's draft is private: not found, and not submittable.
    assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND);
    let response = other
        .post_form("/", &format!("{path}/submit"), &[("note", "mine now")])
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let response = author
        .post_form(
            &path,
            &format!("{path}/submit"),
            &[("note", "Softer wording")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        response.location(),
        format!("{path}?notice=proposal_submitted")
    );
    let proposal = proposals::get(app.db().pool(), id).await.unwrap();
    assert_eq!(
        (proposal.status, proposal.note.as_str()),
        (Status::Submitted, "Softer wording")
    );

    let response = other
        .post_form(&path, &format!("{path}/withdraw"), &[])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let response = author
        .post_form(&path, &format!("{path}/withdraw"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        response.location(),
        format!("{path}?notice=proposal_withdrawn")
    );
    assert_eq!(status_of(&app, id).await, Status::Withdrawn);
    let page = author.get(&path).await;
    assert!(!page.body.contains("/withdraw\""));
    assert!(page.body.contains("proposal-withdrawn"));
    assert_eq!(
        master_value(&app, "TEE-7", name_en()).await,
        Some(json!("Plain tee"))
    );
}

async fn conflict_shows_base_theirs_mine_and_rebase_resubmits(app: TestApp) {
    let schema = schema(&app).await;
    let (alice, author) = person(&app, "alice@shop.test", &[Role::Editor]).await;
    let (bob, _) = person(&app, "bob@shop.test", &[Role::Editor]).await;
    let (_, approver) = person(&app, "ann@shop.test", &[Role::Approver]).await;
    product(
        &app,
        &schema,
        "TEE-8",
        "apparel",
        &[],
        &[("name", Some("en_US"), None, json!("Plain tee"))],
    )
    .await;
    let mine = propose(
        &app,
        &schema,
        &alice,
        "TEE-8",
        &[("name", Some("en_US"), None, json!("Soft tee"))],
        Some("a"),
    )
    .await;
    let theirs = propose(
        &app,
        &schema,
        &bob,
        "TEE-8",
        &[("name", Some("en_US"), None, json!("Heavy tee"))],
        Some("b"),
    )
    .await;
    let path = format!("/proposals/{mine}");

    let response = approver
        .post_form(
            &format!("/proposals/{theirs}"),
            &format!("/proposals/{theirs}/approve"),
            &[("scope", "all")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let response = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        response.location(),
        format!("{path}?notice=proposal_conflict")
    );
    assert_eq!(status_of(&app, mine).await, Status::Conflict);
    assert_eq!(
        master_value(&app, "TEE-8", name_en()).await,
        Some(json!("Heavy tee"))
    );

    // The author's dashboard says so.
    let dashboard = author.get("/").await;
    assert!(
        dashboard.body.contains(&format!("href=\"{path}\"")),
        "{}",
        dashboard.body
    );
    assert!(dashboard.body.contains("is in conflict"));

    let page = author.get(&path).await;
    assert!(
        page.body
            .contains("<td class=\"conflict-base\">Plain tee</td>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<td class=\"conflict-theirs\">Heavy tee</td>")
    );
    assert!(
        page.body
            .contains("<td class=\"conflict-mine\">Soft tee</td>")
    );
    assert!(page.body.contains("name=\"r:name|en_US|\" value=\"mine\""));
    assert!(
        page.body
            .contains("name=\"r:name|en_US|\" value=\"theirs\"")
    );
    // Only the author rebases.
    let page = approver.get(&path).await;
    assert!(page.body.contains("conflict-theirs") && !page.body.contains("/rebase\""));
    let response = approver
        .post_form(
            &path,
            &format!("{path}/rebase"),
            &[("r:name|en_US|", "mine")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);

    let response = author
        .post_form(&path, &format!("{path}/rebase"), &[])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("id=\"rebase-error\""));
    let response = author
        .post_form(
            &path,
            &format!("{path}/rebase"),
            &[("r:name|en_US|", "mine")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.location(),
        format!("{path}?notice=proposal_rebased")
    );
    let proposal = proposals::get(app.db().pool(), mine).await.unwrap();
    assert_eq!(proposal.status, Status::Submitted);
    assert_eq!(proposal.changes[0].before, Some(json!("Heavy tee")));
    let page = approver.get(&path).await;
    assert!(
        page.body.contains("<del>Heavy</del> tee"),
        "rebased diff against master: {}",
        page.body
    );

    let response = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(
        response.location(),
        format!("{path}?notice=proposal_approved")
    );
    assert_eq!(
        master_value(&app, "TEE-8", name_en()).await,
        Some(json!("Soft tee"))
    );
}

async fn bulk_approve_reports_each_proposal(app: TestApp) {
    let schema = schema(&app).await;
    let (alice, _) = person(&app, "alice@shop.test", &[Role::Editor]).await;
    // The approver also edits: their own proposal cannot be approved by them.
    let (ann, approver) = person(&app, "ann@shop.test", &[Role::Approver, Role::Editor]).await;
    for sku in ["B-1", "B-2", "B-3"] {
        product(&app, &schema, sku, "gadgets", &[], &[]).await;
    }
    let first = propose(
        &app,
        &schema,
        &alice,
        "B-1",
        &[("name", Some("en_US"), None, json!("One"))],
        Some("n"),
    )
    .await;
    let second = propose(
        &app,
        &schema,
        &alice,
        "B-2",
        &[("name", Some("en_US"), None, json!("Two"))],
        Some("n"),
    )
    .await;
    let own = propose(
        &app,
        &schema,
        &ann,
        "B-3",
        &[("name", Some("en_US"), None, json!("Three"))],
        Some("n"),
    )
    .await;

    let queue = approver.get("/proposals").await;
    assert!(queue.body.contains(&format!("value=\"{first}\"")));
    assert!(
        !queue
            .body
            .contains(&format!("name=\"ids\" value=\"{own}\"")),
        "no checkbox for one's own"
    );

    let (a, b, c) = (first.to_string(), second.to_string(), own.to_string());
    let response = approver
        .post_form(
            "/proposals",
            "/proposals/bulk-approve",
            &[("ids", &a), ("ids", &b), ("ids", &c)],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert!(
        response.body.contains("Approved 2 of 3"),
        "{}",
        response.body
    );
    assert!(
        response.body.contains("your own proposal"),
        "names the failure"
    );
    assert_eq!(status_of(&app, first).await, Status::Approved);
    assert_eq!(status_of(&app, second).await, Status::Approved);
    assert_eq!(status_of(&app, own).await, Status::Submitted);
    assert_eq!(
        master_value(&app, "B-2", name_en()).await,
        Some(json!("Two"))
    );
    assert_eq!(master_value(&app, "B-3", name_en()).await, None);

    let response = approver
        .post_form("/proposals", "/proposals/bulk-approve", &[])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("Select at least one proposal"));
}

async fn dashboard_shows_queue_count_and_my_notices(app: TestApp) {
    let schema = schema(&app).await;
    let (alice, author) = person(&app, "alice@shop.test", &[Role::Editor]).await;
    let (_, approver) = person(&app, "ann@shop.test", &[Role::Approver]).await;
    product(&app, &schema, "D-1", "gadgets", &[], &[]).await;
    product(&app, &schema, "D-2", "gadgets", &[], &[]).await;
    let approved = propose(
        &app,
        &schema,
        &alice,
        "D-1",
        &[("name", Some("en_US"), None, json!("One"))],
        Some("n"),
    )
    .await;
    let rejected = propose(
        &app,
        &schema,
        &alice,
        "D-2",
        &[("name", Some("en_US"), None, json!("Two"))],
        Some("n"),
    )
    .await;

    let dashboard = approver.get("/").await;
    assert!(
        dashboard.body.contains("<p class=\"figure\">2</p>"),
        "{}",
        dashboard.body
    );
    assert!(dashboard.body.contains("href=\"/proposals\""));
    assert!(!dashboard.body.contains("Self-approval is enabled"));
    assert!(!author.get("/").await.body.contains("My proposals"));

    let path = format!("/proposals/{approved}");
    approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    let path = format!("/proposals/{rejected}");
    approver
        .post_form(&path, &format!("{path}/reject"), &[("comment", "No.")])
        .await;

    let dashboard = approver.get("/").await;
    assert!(dashboard.body.contains("<p class=\"figure\">0</p>"));
    let dashboard = author.get("/").await;
    assert!(dashboard.body.contains("My proposals"));
    assert!(
        dashboard
            .body
            .contains(&format!("href=\"/proposals/{approved}\""))
    );
    assert!(
        dashboard.body.contains("was approved by ann@shop.test"),
        "{}",
        dashboard.body
    );
    assert!(
        dashboard
            .body
            .contains(&format!("href=\"/proposals/{rejected}\""))
    );
    assert!(dashboard.body.contains("was rejected by ann@shop.test"));
}

/// With `SLUICE_ALLOW_SELF_APPROVAL=true` the dashboard says so and an
/// author may approve their own proposal (a setting, so SQLite only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_approval_switch_shows_and_allows() {
    let app = TestApp::sqlite_with(&[("SLUICE_ALLOW_SELF_APPROVAL", "true")]).await;
    let schema = schema(&app).await;
    let (solo, client) = person(&app, "solo@shop.test", &[Role::Editor, Role::Approver]).await;
    product(&app, &schema, "S-1", "gadgets", &[], &[]).await;
    let id = propose(
        &app,
        &schema,
        &solo,
        "S-1",
        &[("name", Some("en_US"), None, json!("Solo"))],
        Some("n"),
    )
    .await;
    assert!(
        client
            .get("/")
            .await
            .body
            .contains("Self-approval is enabled")
    );
    let path = format!("/proposals/{id}");
    let page = client.get(&path).await;
    assert!(page.body.contains("/approve\""));
    assert!(page.body.contains("Self-approval is enabled"));
    let response = client
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, Status::Approved);
}

async fn proposal_page_reads_in_labels(app: TestApp) {
    let schema = schema(&app).await;
    let (alice, _) = person(&app, "alice@shop.test", &[Role::Editor]).await;
    let (_, approver) = person(&app, "ann@shop.test", &[Role::Approver]).await;
    product(
        &app,
        &schema,
        "TEE-1",
        "apparel",
        &[],
        &[("color", None, None, json!("red"))],
    )
    .await;
    let id = propose(
        &app,
        &schema,
        &alice,
        "TEE-1",
        &[
            ("color", None, None, json!("blue")),
            ("name", Some("en_US"), None, json!("Tee")),
        ],
        Some("colour"),
    )
    .await;
    let page = approver.get(&format!("/proposals/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    // Option labels, not codes, on both sides; the attribute's label.
    assert!(body.contains("<del>Red</del>"), "{body}");
    assert!(body.contains("<ins>Blue</ins>"), "{body}");
    assert!(!body.contains("<ins>blue</ins>"), "{body}");
    assert!(
        body.contains(">Name <span class=\"scope\">en_US</span>"),
        "{body}"
    );
    // A rich-text change whose words stay the same (a link's target) is
    // flagged and its HTML shown at once: the text diff cannot show it.
    product(
        &app,
        &schema,
        "GAD-9",
        "gadgets",
        &[],
        &[(
            "description",
            Some("en_US"),
            None,
            json!("<p>See <a href=\"https://docs.example/a\">the manual</a></p>"),
        )],
    )
    .await;
    let id = propose(
        &app,
        &schema,
        &alice,
        "GAD-9",
        &[(
            "description",
            Some("en_US"),
            None,
            json!("<p>See <a href=\"https://elsewhere.example/a\">the manual</a></p>"),
        )],
        Some("link"),
    )
    .await;
    let page = approver.get(&format!("/proposals/{id}")).await;
    assert!(
        page.body.contains("<details class=\"html-diff\" open>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("only links or formatting changed"));
    assert!(
        page.body.contains("https://<ins>elsewhere</ins>.example/a"),
        "the changed link target is marked: {}",
        page.body
    );

    // The queue's summary names fields by label too.
    let queue = approver.get("/proposals").await;
    assert!(queue.body.contains("Name (en_US)"), "{}", queue.body);
}
