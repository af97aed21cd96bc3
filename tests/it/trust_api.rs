//! Trust in the API's semantics (issue 11): rights, existence and state are
//! judged before input on every proposal route, in the API and the pages
//! alike; someone else's draft does not exist; a bad or mismatched cursor is
//! a 400 naming it; `If-Match` compares strongly as RFC 9110 says; and every
//! streamed download arrives whole through a gzip-accepting client.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::users::User;
use sluice::auth::{Caller, Credential, Role};
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::catalog::store;
use sluice::workflow::proposals;
use sluice::workflow::write::{self, ChangeSet, NewProduct, ValueChange, Writer};
use tower::ServiceExt;

use crate::harness::PASSWORD;
use crate::{Client, TestApp, db_tests};

db_tests!(
    rights_existence_and_state_come_before_input,
    someone_elses_draft_does_not_exist_on_any_route,
    a_bad_or_mismatched_cursor_is_a_400_naming_it,
    channel_exports_arrive_whole_through_gzip,
    if_match_compares_strongly_as_rfc_9110_says,
    import_errors_arrive_whole_through_gzip,
);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A response with its body as bytes (a compressed body is not text).
struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }
}

/// A GET with the given headers, through the real router.
async fn get_raw(app: &TestApp, path: &str, headers: &[(&str, String)]) -> RawResponse {
    let mut request = Request::builder().method(Method::GET).uri(path);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the whole body arrives")
        .to_bytes()
        .to_vec();
    RawResponse {
        status,
        headers,
        body,
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a complete gzip stream");
    out
}

/// What curl `--compressed` and Python requests send.
const ACCEPT_GZIP: &str = "gzip, deflate";

/// Fetches `path` plainly and through gzip (with `auth` headers on both),
/// checks the compressed one was compressed and decompresses to exactly the
/// plain bytes, and answers the plain body.
async fn same_through_gzip(app: &TestApp, path: &str, auth: &[(&str, String)]) -> String {
    let plain = get_raw(app, path, auth).await;
    assert_eq!(plain.status, StatusCode::OK, "{path}: {}", plain.text());
    assert_eq!(plain.header("content-encoding"), None, "{path}");
    let mut headers = auth.to_vec();
    headers.push(("accept-encoding", ACCEPT_GZIP.to_owned()));
    let zipped = get_raw(app, path, &headers).await;
    assert_eq!(zipped.status, StatusCode::OK, "{path}");
    assert_eq!(zipped.header("content-encoding"), Some("gzip"), "{path}");
    assert_eq!(
        zipped.header("content-type"),
        plain.header("content-type"),
        "{path}"
    );
    let unzipped = gunzip(&zipped.body);
    assert!(
        unzipped == plain.body,
        "{path}: the gzip body decompresses to {} bytes, the plain one has {}",
        unzipped.len(),
        plain.body.len()
    );
    plain.text()
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

/// An ERP profile whose columns seed everything the web channel needs.
const PROFILE: &str = r#"
code = "trust-erp"
label = "Trust ERP"
identifier = "sku"
family = { column = "family" }

[[columns]]
column = "name_en"
attribute = "name"
locale = "en_US"
seed = true

[[columns]]
column = "name_de"
attribute = "name"
locale = "de_DE"
seed = true

[[columns]]
column = "description_en"
attribute = "description"
locale = "en_US"
seed = true

[[columns]]
column = "description_de"
attribute = "description"
locale = "de_DE"
seed = true

[[columns]]
column = "weight"
attribute = "weight"
unit_column = "weight_unit"

[[columns]]
column = "price"
attribute = "base_price"
currency = "USD"
"#;

const HEADER: &str =
    "sku,family,name_en,name_de,description_en,description_de,weight,weight_unit,price";

async fn store_profile(app: &TestApp) {
    sluice::import::profiles::put(
        app.db().pool(),
        "trust-erp",
        PROFILE,
        "test",
        app.clock().now(),
    )
    .await
    .expect("store profile");
}

/// Sends a file as an ERP does, runs the worker, answers the finished job.
async fn import(app: &TestApp, token: &str, file: &str) -> Value {
    app.import_csv(token, "trust-erp", file.as_bytes().to_vec())
        .await
}

/// `count` enabled gadgets ready for the web channel, with names that
/// need quoting in every format (commas, quotes, tabs, markup).
async fn ready_gadgets(app: &TestApp, count: usize) {
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    let value = |attribute: &str, locale: &str, data: Value| ValueChange {
        key: ValueKey::new(attribute, Some(locale), None),
        data: Some(data),
    };
    for i in 0..count {
        let product = NewProduct {
            sku: format!("G-{i:05}"),
            kind: ProductKind::Simple,
            family: "gadgets".to_owned(),
            parent: None,
            enabled: true,
            categories: Vec::new(),
            values: vec![
                value(
                    "name",
                    "en_US",
                    json!(format!("Radio, \"loud\"\tmodel {i}")),
                ),
                value("name", "de_DE", json!(format!("Radio {i} <laut> & klar"))),
                value("description", "en_US", json!("<p>A fine gadget.</p>")),
                value("description", "de_DE", json!("<p>Ein feines Gerät.</p>")),
            ],
        };
        write::create(
            app.db(),
            &schema,
            &Writer::System(Actor::system("test")),
            product,
            app.clock().now(),
        )
        .await
        .expect("create a gadget");
    }
}

// ---------------------------------------------------------------------------
// 1, 2. Proposals: rights, existence and state before input
// ---------------------------------------------------------------------------

/// Alice (editor) proposes; Bob (approver) reviews; Ed (editor) and Vic
/// (viewer) look on. Each has an API token and a signed-in browser.
struct Cast {
    alice: User,
    alice_api: String,
    alice_web: Client,
    bob_api: String,
    bob_web: Client,
    ed_api: String,
    ed_web: Client,
    vic_api: String,
    vic_web: Client,
}

async fn member(app: &TestApp, email: &str, role: Role) -> (User, String, Client) {
    let user = app.user(email, &[role]).await;
    let token = app.token(email, "catalog:read catalog:write").await;
    let web = app.client();
    let login = web.login(email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "login {email}");
    (user, token, web)
}

async fn cast(app: &TestApp) -> Cast {
    let (alice, alice_api, alice_web) = member(app, "alice@shop.test", Role::Editor).await;
    let (_, bob_api, bob_web) = member(app, "bob@shop.test", Role::Approver).await;
    let (_, ed_api, ed_web) = member(app, "ed@shop.test", Role::Editor).await;
    let vic = app.user("vic@shop.test", &[Role::Viewer]).await;
    let vic_api = app.token(&vic.email, "catalog:read").await;
    let vic_web = app.client();
    let login = vic_web.login(&vic.email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "login {}", vic.email);
    Cast {
        alice,
        alice_api,
        alice_web,
        bob_api,
        bob_web,
        ed_api,
        ed_web,
        vic_api,
        vic_web,
    }
}

/// Alice renames `sku` in English: submitted with a note, or a draft.
async fn alice_proposes(app: &TestApp, alice: &User, sku: &str, name: &str, submit: bool) -> i64 {
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    let version = store::find(app.db().pool(), sku)
        .await
        .expect("find")
        .expect("product")
        .product
        .version;
    let changes = ChangeSet {
        values: vec![ValueChange {
            key: ValueKey::new("name", Some("en_US"), None),
            data: Some(json!(name)),
        }],
        ..ChangeSet::default()
    };
    let edit = proposals::Edit {
        sku,
        base_version: version,
        changes: &changes,
        submit_note: submit.then_some("please review"),
    };
    let caller = Caller {
        user: alice.clone(),
        credential: Credential::Session,
    };
    proposals::edit(app.db(), &schema, &caller, edit, app.clock().now())
        .await
        .expect("alice proposes")
        .proposal
        .expect("a reviewed change makes a proposal")
        .id
}

/// Three proposals of Alice's on three products: submitted, draft, withdrawn.
async fn three_proposals(app: &TestApp, cast: &Cast) -> (i64, i64, i64) {
    ready_gadgets(app, 3).await;
    let submitted = alice_proposes(app, &cast.alice, "G-00000", "Loud radio", true).await;
    let draft = alice_proposes(app, &cast.alice, "G-00001", "Quiet radio", false).await;
    let withdrawn = alice_proposes(app, &cast.alice, "G-00002", "Old radio", true).await;
    let response = app
        .api(
            Method::POST,
            &format!("/api/v1/proposals/{withdrawn}/withdraw"),
            Some(&cast.alice_api),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    (submitted, draft, withdrawn)
}

async fn status_of(app: &TestApp, id: i64) -> proposals::Status {
    proposals::get(app.db().pool(), id)
        .await
        .expect("proposal")
        .status
}

/// A POST to the API with a raw body, as a connector sends it.
async fn api_post(app: &TestApp, token: &str, path: &str, body: Option<&str>) -> StatusCode {
    let response = match body {
        Some(body) => {
            app.api_raw(
                Method::POST,
                path,
                token,
                body.as_bytes().to_vec(),
                &[("content-type", "application/json")],
            )
            .await
        }
        None => app.api(Method::POST, path, Some(token)).await,
    };
    if response.status != StatusCode::OK {
        // Every refusal has the API error shape.
        response.error_code();
    }
    response.status
}

/// A form POST from a signed-in browser (the CSRF token from the dashboard).
async fn page_post(web: &Client, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    web.post_form("/", path, fields).await.status
}

async fn rights_existence_and_state_come_before_input(app: TestApp) {
    app.seed_schema().await;
    let cast = cast(&app).await;
    let (submitted, _, withdrawn) = three_proposals(&app, &cast).await;
    let unknown = 999_999;
    let api = |id: i64, action: &str| format!("/api/v1/proposals/{id}/{action}");
    let page = |id: i64, action: &str| format!("/proposals/{id}/{action}");
    use StatusCode as S;

    // Reject with no reason given: whoever may not reject hears that first.
    for (who, token, id, body, due) in [
        (
            "the author, no review right",
            &cast.alice_api,
            submitted,
            Some(r#"{"comment": ""}"#),
            S::FORBIDDEN,
        ),
        (
            "the author, no comment field",
            &cast.alice_api,
            submitted,
            Some("{}"),
            S::FORBIDDEN,
        ),
        (
            "the author, no body",
            &cast.alice_api,
            submitted,
            None,
            S::FORBIDDEN,
        ),
        (
            "the author, broken JSON",
            &cast.alice_api,
            submitted,
            Some(r#"{"comment": "#),
            S::FORBIDDEN,
        ),
        (
            "an editor",
            &cast.ed_api,
            submitted,
            Some(r#"{"comment": ""}"#),
            S::FORBIDDEN,
        ),
        (
            "a viewer",
            &cast.vic_api,
            unknown,
            Some(r#"{"comment": ""}"#),
            S::FORBIDDEN,
        ),
        (
            "an approver, unknown id",
            &cast.bob_api,
            unknown,
            Some(r#"{"comment": ""}"#),
            S::NOT_FOUND,
        ),
        (
            "an approver, unknown id, no body",
            &cast.bob_api,
            unknown,
            None,
            S::NOT_FOUND,
        ),
        (
            "an approver, withdrawn",
            &cast.bob_api,
            withdrawn,
            Some(r#"{"comment": "  "}"#),
            S::CONFLICT,
        ),
        (
            "an approver, withdrawn, no body",
            &cast.bob_api,
            withdrawn,
            None,
            S::CONFLICT,
        ),
        // Only now is the comment itself the problem.
        (
            "an approver, blank comment",
            &cast.bob_api,
            submitted,
            Some(r#"{"comment": "  "}"#),
            S::UNPROCESSABLE_ENTITY,
        ),
        (
            "an approver, no comment field",
            &cast.bob_api,
            submitted,
            Some("{}"),
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let status = api_post(&app, token, &api(id, "reject"), body).await;
        assert_eq!(status, due, "API reject by {who}");
    }
    // The same on the page.
    for (who, web, id, due) in [
        ("the author", &cast.alice_web, submitted, S::FORBIDDEN),
        ("an editor", &cast.ed_web, submitted, S::FORBIDDEN),
        ("a viewer", &cast.vic_web, unknown, S::FORBIDDEN),
        (
            "an approver, unknown id",
            &cast.bob_web,
            unknown,
            S::NOT_FOUND,
        ),
        (
            "an approver, withdrawn",
            &cast.bob_web,
            withdrawn,
            S::CONFLICT,
        ),
        (
            "an approver, blank comment",
            &cast.bob_web,
            submitted,
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let status = page_post(web, &page(id, "reject"), &[("comment", " ")]).await;
        assert_eq!(status, due, "page reject by {who}");
    }

    // Approve: a body that cannot be read comes after rights and state too.
    for (who, token, id, body, due) in [
        (
            "the author, broken JSON",
            &cast.alice_api,
            submitted,
            Some("{\"fields\": ["),
            S::FORBIDDEN,
        ),
        (
            "the author, unknown field",
            &cast.alice_api,
            submitted,
            Some(r#"{"fields": [{"attribute": "nope"}]}"#),
            S::FORBIDDEN,
        ),
        (
            "an approver, unknown id, broken JSON",
            &cast.bob_api,
            unknown,
            Some("[1, 2"),
            S::NOT_FOUND,
        ),
        (
            "an approver, withdrawn, broken JSON",
            &cast.bob_api,
            withdrawn,
            Some("nope"),
            S::CONFLICT,
        ),
        (
            "an approver, withdrawn",
            &cast.bob_api,
            withdrawn,
            None,
            S::CONFLICT,
        ),
        (
            "an approver, broken JSON",
            &cast.bob_api,
            submitted,
            Some("nope"),
            S::BAD_REQUEST,
        ),
        (
            "an approver, unknown field",
            &cast.bob_api,
            submitted,
            Some(r#"{"fields": [{"attribute": "nope"}]}"#),
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let status = api_post(&app, token, &api(id, "approve"), body).await;
        assert_eq!(status, due, "API approve by {who}");
    }
    // On the page, an empty choice or a forged field key is input as well.
    for (who, web, id, fields, due) in [
        (
            "the author, empty choice",
            &cast.alice_web,
            submitted,
            &[("scope", "selected")][..],
            S::FORBIDDEN,
        ),
        (
            "the author, forged key",
            &cast.alice_web,
            submitted,
            &[("scope", "selected"), ("fields", "|x")][..],
            S::FORBIDDEN,
        ),
        (
            "an approver, unknown id, empty choice",
            &cast.bob_web,
            unknown,
            &[("scope", "selected")][..],
            S::NOT_FOUND,
        ),
        (
            "an approver, withdrawn, empty choice",
            &cast.bob_web,
            withdrawn,
            &[("scope", "selected")][..],
            S::CONFLICT,
        ),
        (
            "an approver, withdrawn, forged key",
            &cast.bob_web,
            withdrawn,
            &[("fields", "|x")][..],
            S::CONFLICT,
        ),
        (
            "an approver, withdrawn, all",
            &cast.bob_web,
            withdrawn,
            &[("scope", "all")][..],
            S::CONFLICT,
        ),
        (
            "an approver, empty choice",
            &cast.bob_web,
            submitted,
            &[("scope", "selected")][..],
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let status = page_post(web, &page(id, "approve"), fields).await;
        assert_eq!(status, due, "page approve by {who}");
    }

    // Withdraw: only an author with edit rights, of an open proposal.
    for (who, token, id, due) in [
        ("a viewer, unknown id", &cast.vic_api, unknown, S::FORBIDDEN),
        (
            "an approver, not the author",
            &cast.bob_api,
            submitted,
            S::FORBIDDEN,
        ),
        (
            "the author, unknown id",
            &cast.alice_api,
            unknown,
            S::NOT_FOUND,
        ),
        (
            "the author, withdrawn",
            &cast.alice_api,
            withdrawn,
            S::CONFLICT,
        ),
    ] {
        let status = api_post(&app, token, &api(id, "withdraw"), None).await;
        assert_eq!(status, due, "API withdraw by {who}");
        let web = match who {
            w if w.starts_with("a viewer") => &cast.vic_web,
            w if w.starts_with("an approver") => &cast.bob_web,
            _ => &cast.alice_web,
        };
        let status = page_post(web, &page(id, "withdraw"), &[]).await;
        assert_eq!(status, due, "page withdraw by {who}");
    }

    // Comments and submitting a draft (pages only).
    for (who, web, id, body, due) in [
        ("a viewer, empty", &cast.vic_web, unknown, "", S::FORBIDDEN),
        (
            "an editor, unknown id, empty",
            &cast.ed_web,
            unknown,
            "",
            S::NOT_FOUND,
        ),
        (
            "an editor, empty",
            &cast.ed_web,
            submitted,
            "",
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let status = page_post(web, &page(id, "comments"), &[("body", body)]).await;
        assert_eq!(status, due, "comment by {who}");
    }
    for (who, web, id, due) in [
        ("a viewer, unknown id", &cast.vic_web, unknown, S::FORBIDDEN),
        (
            "an editor, not the author",
            &cast.ed_web,
            submitted,
            S::FORBIDDEN,
        ),
        (
            "the author, unknown id",
            &cast.alice_web,
            unknown,
            S::NOT_FOUND,
        ),
        (
            "the author, already submitted",
            &cast.alice_web,
            submitted,
            S::CONFLICT,
        ),
    ] {
        let status = page_post(web, &page(id, "submit"), &[("note", "")]).await;
        assert_eq!(status, due, "submit by {who}");
    }

    // Rebase: a forged form is judged after rights, existence and state.
    for (who, web, id, due) in [
        ("a viewer, unknown id", &cast.vic_web, unknown, S::FORBIDDEN),
        (
            "an editor, not the author",
            &cast.ed_web,
            submitted,
            S::FORBIDDEN,
        ),
        (
            "the author, unknown id",
            &cast.alice_web,
            unknown,
            S::NOT_FOUND,
        ),
        (
            "the author, not in conflict",
            &cast.alice_web,
            submitted,
            S::CONFLICT,
        ),
    ] {
        for choice in ["mine", "maybe"] {
            let fields = [("r:name|en_US|", choice)];
            let status = page_post(web, &page(id, "rebase"), &fields).await;
            assert_eq!(status, due, "rebase ({choice}) by {who}");
        }
        let forged = [("r:|x", "mine")];
        let status = page_post(web, &page(id, "rebase"), &forged).await;
        assert_eq!(status, due, "rebase (forged key) by {who}");
    }

    // Restore: rights, then the product, then the body.
    let restore = |sku: &str| format!("/api/v1/products/{sku}/restore");
    for (who, token, sku, body, due) in [
        (
            "a viewer, broken JSON",
            &cast.vic_api,
            "G-00000",
            Some("{\"version\": "),
            S::FORBIDDEN,
        ),
        (
            "a viewer, no body",
            &cast.vic_api,
            "NOPE-1",
            None,
            S::FORBIDDEN,
        ),
        (
            "an editor, unknown SKU, broken JSON",
            &cast.ed_api,
            "NOPE-1",
            Some("{\"version\": "),
            S::NOT_FOUND,
        ),
        (
            "an editor, unknown SKU, no body",
            &cast.ed_api,
            "NOPE-1",
            None,
            S::NOT_FOUND,
        ),
        (
            "an editor, broken JSON",
            &cast.ed_api,
            "G-00000",
            Some("{\"version\": "),
            S::BAD_REQUEST,
        ),
        (
            "an editor, no such version",
            &cast.ed_api,
            "G-00000",
            Some(r#"{"version": 99}"#),
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let status = api_post(&app, token, &restore(sku), body).await;
        assert_eq!(status, due, "restore by {who}");
    }

    // Nothing was decided by any of it.
    assert_eq!(
        status_of(&app, submitted).await,
        proposals::Status::Submitted
    );
    assert_eq!(
        status_of(&app, withdrawn).await,
        proposals::Status::Withdrawn
    );
}

async fn someone_elses_draft_does_not_exist_on_any_route(app: TestApp) {
    app.seed_schema().await;
    let cast = cast(&app).await;
    let (_, draft, _) = three_proposals(&app, &cast).await;
    let api = format!("/api/v1/proposals/{draft}");
    let page = format!("/proposals/{draft}");
    use StatusCode as S;

    // Alice sees her draft; to anyone else it answers exactly as a proposal
    // that does not exist: 404, or 403 where their role may not do that to
    // any proposal at all.
    let own = app.api(Method::GET, &api, Some(&cast.alice_api)).await;
    assert_eq!(own.status, S::OK, "{}", own.body);
    assert_eq!(own.json()["status"], "draft");
    assert_eq!(cast.alice_web.get(&page).await.status, S::OK);
    let nowhere = "/api/v1/proposals/999999";
    let nowhere_page = "/proposals/999999";
    let reviews = |who: &str| who == "an approver";
    for (who, token, web) in [
        ("an approver", &cast.bob_api, &cast.bob_web),
        ("an editor", &cast.ed_api, &cast.ed_web),
    ] {
        let read = app.api(Method::GET, &api, Some(token)).await;
        assert_eq!(read.status, S::NOT_FOUND, "API read by {who}");
        assert_eq!(web.get(&page).await.status, S::NOT_FOUND, "page by {who}");
        for (action, body, for_reviewers) in [
            ("approve", None, true),
            (
                "approve",
                Some(r#"{"fields": [{"attribute": "name", "locale": "en_US"}]}"#),
                true,
            ),
            ("reject", Some(r#"{"comment": "no"}"#), true),
            ("reject", Some(r#"{"comment": ""}"#), true),
            ("withdraw", None, false),
        ] {
            let due = if reviews(who) == for_reviewers {
                S::NOT_FOUND
            } else {
                S::FORBIDDEN
            };
            let status = api_post(&app, token, &format!("{api}/{action}"), body).await;
            assert_eq!(status, due, "API {action} {body:?} by {who}");
            let unknown = api_post(&app, token, &format!("{nowhere}/{action}"), body).await;
            assert_eq!(
                status, unknown,
                "API {action} {body:?} by {who}: as if absent"
            );
        }
        for (action, fields, for_reviewers) in [
            ("approve", &[("scope", "all")][..], Some(true)),
            ("approve", &[("scope", "selected")][..], Some(true)),
            ("reject", &[("comment", "no")][..], Some(true)),
            ("reject", &[("comment", "")][..], Some(true)),
            ("withdraw", &[][..], Some(false)),
            ("submit", &[("note", "mine now")][..], Some(false)),
            ("rebase", &[("r:name|en_US|", "mine")][..], Some(false)),
            ("rebase", &[("r:name|en_US|", "maybe")][..], Some(false)),
            // Editors and approvers alike comment.
            ("comments", &[("body", "I was here")][..], None),
            ("comments", &[("body", "")][..], None),
        ] {
            let due = if for_reviewers.is_none_or(|r| r == reviews(who)) {
                S::NOT_FOUND
            } else {
                S::FORBIDDEN
            };
            let status = page_post(web, &format!("{page}/{action}"), fields).await;
            assert_eq!(status, due, "page {action} {fields:?} by {who}");
            let unknown = page_post(web, &format!("{nowhere_page}/{action}"), fields).await;
            assert_eq!(
                status, unknown,
                "page {action} {fields:?} by {who}: as if absent"
            );
        }
    }
    // The draft is as Alice left it, with no stranger's comment on it.
    assert_eq!(status_of(&app, draft).await, proposals::Status::Draft);
    let comments = proposals::comments(app.db(), draft)
        .await
        .expect("comments");
    assert!(comments.is_empty(), "{comments:?}");
    // The list does not show it either.
    let listed = app
        .api(
            Method::GET,
            "/api/v1/proposals?status=draft",
            Some(&cast.bob_api),
        )
        .await;
    assert_eq!(listed.json()["items"], json!([]), "{}", listed.body);
}

// ---------------------------------------------------------------------------
// 3. Cursors
// ---------------------------------------------------------------------------

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Walks `/api/v1/products` in `sort`, two at a time, as a connector does.
async fn walk(app: &TestApp, token: &str, sort: &str) -> Vec<String> {
    let mut skus = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut path = format!("/api/v1/products?limit=2&sort={}", encode(sort));
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={}", encode(cursor)));
        }
        let page = app.api(Method::GET, &path, Some(token)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let page = page.json();
        for item in page["items"].as_array().expect("items") {
            skus.push(item["sku"].as_str().expect("sku").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return skus,
        }
    }
    panic!("the walk in {sort} does not end: {skus:?}");
}

/// Asserts a 400 in the API error shape whose details name `field`.
fn assert_bad_parameter(response: &crate::TestResponse, field: &str, says: &str) {
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.body
    );
    assert_eq!(response.error_code(), "bad_request");
    let error = &response.json()["error"];
    assert_eq!(error["details"][0]["field"], field, "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{says:?} not in {message:?}");
}

async fn a_bad_or_mismatched_cursor_is_a_400_naming_it(app: TestApp) {
    app.seed_schema().await;
    ready_gadgets(&app, 5).await;
    app.settle().await;
    let reader = app.user_token(&[Role::Viewer], "catalog:read").await;
    let all: Vec<String> = (0..5).map(|i| format!("G-{i:05}")).collect();
    let backwards: Vec<String> = all.iter().rev().cloned().collect();
    // Each sort walks whole with its own cursors.
    assert_eq!(walk(&app, &reader, "sku").await, all);
    assert_eq!(walk(&app, &reader, "-sku").await, backwards);
    let mut newest_first = walk(&app, &reader, "-updated").await;
    newest_first.sort();
    assert_eq!(newest_first, all);

    let first_page = |sort: &str| {
        let path = format!("/api/v1/products?limit=2&sort={}", encode(sort));
        let app = &app;
        let reader = &reader;
        async move {
            let page = app.api(Method::GET, &path, Some(reader)).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            page.json()["next_cursor"]
                .as_str()
                .expect("a next page")
                .to_owned()
        }
    };
    let by_update = first_page("-updated").await;
    let by_sku = first_page("sku").await;
    let by_sku_down = first_page("-sku").await;
    // A connector that keeps one sort's cursor but sends another sort (or
    // none: the default is by SKU) is told so instead of getting page 1 again.
    for (cursor, sort, made_for) in [
        (&by_update, "sku", "-updated"),
        (&by_update, "", "-updated"),
        (&by_update, "-sku", "-updated"),
        (&by_sku, "-updated", "sku"),
        (&by_sku, "-sku", "sku"),
        (&by_sku_down, "sku", "-sku"),
    ] {
        let path = format!(
            "/api/v1/products?limit=2&sort={}&cursor={}",
            encode(sort),
            encode(cursor)
        );
        let mixed = app.api(Method::GET, &path, Some(&reader)).await;
        assert_bad_parameter(&mixed, "cursor", made_for);
    }
    // Cursors this API never gave out.
    for garbage in [
        "abc",
        "page2",
        "s.",
        "u.yesterday.3",
        "u.2026-12-03T09:00:00.000000Z",
        "x.G-00001",
        "%00",
    ] {
        let path = format!("/api/v1/products?cursor={}", encode(garbage));
        let response = app.api(Method::GET, &path, Some(&reader)).await;
        assert_bad_parameter(&response, "cursor", "cursor");
    }
    // An empty cursor is no cursor: the first page.
    let empty = app
        .api(
            Method::GET,
            "/api/v1/products?limit=2&cursor=",
            Some(&reader),
        )
        .await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert_eq!(empty.json()["items"][0]["sku"], "G-00000");
    // The product grid reads the same cursors.
    let viewer = app.login_as(Role::Viewer).await;
    let grid = viewer
        .get(&format!("/products?sort=sku&cursor={}", encode(&by_update)))
        .await;
    assert_eq!(grid.status, StatusCode::BAD_REQUEST, "{}", grid.body);
    assert!(grid.body.contains("-updated"), "{}", grid.body);
    let grid = viewer
        .get(&format!(
            "/products?sort=-updated&cursor={}",
            encode(&by_update)
        ))
        .await;
    assert_eq!(grid.status, StatusCode::OK);

    // The feed's `after`: not a number, or past the feed's last event.
    let connector = app.user_token(&[Role::Viewer], "feed:web").await;
    let feed = |after: &str| {
        let path = format!("/api/v1/channels/web/feed?after={}", encode(after));
        let app = &app;
        let connector = &connector;
        async move { app.api(Method::GET, &path, Some(connector)).await }
    };
    let caught_up = feed("5").await;
    assert_eq!(caught_up.status, StatusCode::OK, "{}", caught_up.body);
    assert_eq!(caught_up.json()["events"], json!([]));
    assert_eq!(caught_up.json()["next_after"], 5);
    assert_bad_parameter(&feed("6").await, "after", "past the last event");
    assert_bad_parameter(&feed("999999").await, "after", "start again from 0");
    assert_bad_parameter(&feed("abc").await, "after", "abc");
    assert_bad_parameter(&feed("-1").await, "after", "-1");
    let limit = app
        .api(
            Method::GET,
            "/api/v1/channels/web/feed?limit=0",
            Some(&connector),
        )
        .await;
    assert_bad_parameter(&limit, "limit", "between 1 and");
    // The other lists' `before` is an id: anything else is a 400 too.
    let importer = app.user_token(&[Role::Editor], "import catalog:read").await;
    for (path, token) in [
        ("/api/v1/proposals?before=abc", &reader),
        ("/api/v1/imports?before=abc", &importer),
    ] {
        let response = app.api(Method::GET, path, Some(token)).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            response.body.contains("before"),
            "{path}: {}",
            response.body
        );
    }
}

// ---------------------------------------------------------------------------
// 4. If-Match
// ---------------------------------------------------------------------------

/// Sets `search_boost` (a fast-lane value) with these `If-Match` header lines.
async fn set_boost(
    app: &TestApp,
    token: &str,
    sku: &str,
    if_match: &[&str],
    boost: &str,
) -> crate::TestResponse {
    let headers: Vec<(&str, &str)> = if_match.iter().map(|tag| ("if-match", *tag)).collect();
    app.api_json(
        Method::PATCH,
        &format!("/api/v1/products/{sku}"),
        token,
        Some(
            json!({"values": {"search_boost": [{"locale": null, "channel": null, "data": boost}]}}),
        ),
        &headers,
    )
    .await
}

async fn boost_of(app: &TestApp, token: &str, sku: &str) -> (Value, String) {
    let found = app
        .api(Method::GET, &format!("/api/v1/products/{sku}"), Some(token))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let tag = found.header("etag").expect("an ETag").to_owned();
    (
        found.json()["values"]["search_boost"][0]["data"].clone(),
        tag,
    )
}

async fn if_match_compares_strongly_as_rfc_9110_says(app: TestApp) {
    app.seed_schema().await;
    ready_gadgets(&app, 1).await;
    let sku = "G-00000";
    let ann = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    let bob = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    assert_eq!(
        boost_of(&app, &ann, sku).await,
        (Value::Null, "\"1\"".to_owned())
    );

    // A weak tag (as a compressing proxy rewrites ETags) never matches in
    // the strong comparison If-Match uses, even for the current version.
    let weak = set_boost(&app, &bob, sku, &["W/\"1\""], "9").await;
    assert_eq!(
        weak.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        weak.body
    );
    assert_eq!(weak.error_code(), "precondition_failed");
    assert!(weak.body.contains("weak"), "{}", weak.body);
    assert_eq!(
        boost_of(&app, &ann, sku).await.0,
        Value::Null,
        "nothing applied"
    );

    // Ann and Bob both read version 1; Ann saves first, Bob's save is stale.
    let first = set_boost(&app, &ann, sku, &["\"1\""], "2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.header("etag"), Some("\"2\""));
    let stale = set_boost(&app, &bob, sku, &["\"1\""], "9").await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );

    // A list matches when any strong member does.
    let listed = set_boost(&app, &bob, sku, &["\"1\", \"2\""], "3").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.header("etag"), Some("\"3\""));
    let only_weak_matches = set_boost(&app, &bob, sku, &["\"2\", W/\"3\""], "9").await;
    assert_eq!(
        only_weak_matches.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        only_weak_matches.body
    );
    let none_match = set_boost(&app, &bob, sku, &["\"7\",\"8\""], "9").await;
    assert_eq!(
        none_match.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        none_match.body
    );
    // A well-formed tag this server never gave out simply does not match.
    let foreign = set_boost(&app, &bob, sku, &["\"abc\""], "9").await;
    assert_eq!(
        foreign.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        foreign.body
    );
    // Several If-Match header lines are one list.
    let lines = set_boost(&app, &ann, sku, &["\"9\"", " \"3\" "], "4").await;
    assert_eq!(lines.status, StatusCode::OK, "{}", lines.body);
    assert_eq!(lines.header("etag"), Some("\"4\""));

    // `*` matches whatever version the product is at.
    let any = set_boost(&app, &bob, sku, &["*"], "5").await;
    assert_eq!(any.status, StatusCode::OK, "{}", any.body);
    assert_eq!(any.header("etag"), Some("\"5\""));
    assert_eq!(
        boost_of(&app, &ann, sku).await,
        (json!("5"), "\"5\"".to_owned())
    );
    // ... and there is nothing to match when the product does not exist.
    let absent = set_boost(&app, &bob, "NOPE", &["*"], "5").await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND, "{}", absent.body);

    // Unchanged: no If-Match is 428, an unreadable one 400.
    let missing = set_boost(&app, &bob, sku, &[], "6").await;
    assert_eq!(
        missing.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        missing.body
    );
    for garbage in ["5", "\"5", "W/5", "\"5\" \"6\"", "*, \"5\""] {
        let response = set_boost(&app, &bob, sku, &[garbage], "6").await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{garbage}: {}",
            response.body
        );
    }
    assert_eq!(
        boost_of(&app, &ann, sku).await.0,
        json!("5"),
        "only the matching writes applied"
    );

    // If-None-Match compares weakly: a proxy's W/ tag still means "unchanged".
    for (sent, status) in [
        ("\"5\"", StatusCode::NOT_MODIFIED),
        ("W/\"5\"", StatusCode::NOT_MODIFIED),
        ("\"4\", \"5\"", StatusCode::NOT_MODIFIED),
        ("*", StatusCode::NOT_MODIFIED),
        ("\"4\"", StatusCode::OK),
    ] {
        let response = app
            .api_json(
                Method::GET,
                &format!("/api/v1/products/{sku}"),
                &ann,
                None,
                &[("if-none-match", sent)],
            )
            .await;
        assert_eq!(response.status, status, "If-None-Match: {sent}");
    }
}

// ---------------------------------------------------------------------------
// 5. Streamed responses under gzip
// ---------------------------------------------------------------------------

async fn channel_exports_arrive_whole_through_gzip(app: TestApp) {
    app.seed_schema().await;
    // More than one export chunk (1,000 publications), so the stream has
    // several pieces and an end.
    let products = 1_205;
    ready_gadgets(&app, products).await;
    app.settle().await;
    let feed = app.user_token(&[Role::Viewer], "feed:*").await;
    let auth = bearer(&feed);

    let jsonl = same_through_gzip(&app, "/api/v1/channels/web/export.jsonl", &auth).await;
    assert_eq!(jsonl.lines().count(), products, "one line per product");
    for line in jsonl.lines() {
        let payload: Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(payload["sku"].is_string(), "{line}");
    }
    assert!(jsonl.contains("\"G-01204\""), "the last product is there");

    let xml = same_through_gzip(&app, "/api/v1/channels/web/export.xml", &auth).await;
    assert_eq!(xml.matches("<item>").count(), products);
    assert!(xml.trim_end().ends_with("</rss>"), "the feed is closed");

    let tsv = same_through_gzip(&app, "/api/v1/channels/web/export.tsv", &auth).await;
    assert_eq!(tsv.lines().count(), products + 1, "a header and a row each");

    let shopify = same_through_gzip(&app, "/api/v1/channels/web/shopify.csv", &auth).await;
    assert!(shopify.contains("G-01204"), "the last product is there");
    assert!(
        shopify.lines().count() > products,
        "a header and a row each"
    );

    // An empty channel streams a whole (empty) file too.
    let empty = same_through_gzip(&app, "/api/v1/channels/google/export.xml", &auth).await;
    assert!(empty.trim_end().ends_with("</rss>"), "{empty}");
    assert_eq!(empty.matches("<item>").count(), 0);
}

async fn import_errors_arrive_whole_through_gzip(app: TestApp) {
    app.seed_schema().await;
    store_profile(&app).await;
    let importer = app.user_token(&[Role::Editor], "import catalog:read").await;
    // 2,500 bad rows (three pages of the errors stream) between good ones.
    let mut file = format!("{HEADER}\r\n");
    let bad = 2_500;
    for i in 0..bad {
        file.push_str(&format!(
            "B-{i:05},gadgets,Lamp {i},Lampe,,,heavy,kg,5.00\r\n"
        ));
        if i % 500 == 0 {
            file.push_str(&format!("OK-{i:05},gadgets,Fine,Gut,,,1,kg,5.00\r\n"));
        }
    }
    let job = import(&app, &importer, &file).await;
    assert_eq!(job["status"], "partial", "{job}");
    assert_eq!(job["counts"]["failed"], bad, "{job}");
    let id = job["id"].as_i64().expect("id");

    let api = same_through_gzip(
        &app,
        &format!("/api/v1/imports/{id}/errors.csv"),
        &bearer(&importer),
    )
    .await;
    let lines: Vec<&str> = api.lines().collect();
    assert_eq!(lines.len(), bad + 1, "a header and every failed row");
    assert_eq!(lines[0], format!("{HEADER},error"));
    assert!(lines[bad].starts_with("B-02499,"), "{}", lines[bad]);
    assert!(
        lines[bad].contains("heavy is not a number"),
        "{}",
        lines[bad]
    );

    // The same file from the import page, for a signed-in editor.
    let editor = app.login_as(Role::Editor).await;
    let session = editor.cookie("sluice_session").expect("a session cookie");
    let page = same_through_gzip(
        &app,
        &format!("/imports/{id}/errors.csv"),
        &[("cookie", format!("sluice_session={session}"))],
    )
    .await;
    assert_eq!(page, api);
}
