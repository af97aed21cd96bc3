//! Trust in people's edits: a stale form save never undoes a colleague's
//! change, a multiselect saved in another order is no change, and an import
//! proposal is validated as the import that will apply it.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::ValueKey;
use sluice::catalog::store;
use sluice::workflow::proposals::{self, ProposalFilter, Status};
use sqlx::Row;

use crate::harness::PASSWORD;
use crate::{Client, TestApp, db_tests};

db_tests!(import_proposal_is_validated_as_the_import);

/// The test catalog plus an ERP-owned multiselect on gadgets, whose
/// options are listed in the order the schema gives them.
async fn seed(app: &TestApp) {
    let fixture = include_str!("fixtures/catalog.toml");
    let connectivity = "[[attributes]]\ncode = \"connectivity\"\ntype = \"multiselect\"\n\
        group = \"erp\"\nowner = \"erp\"\nlane = \"fast\"\n\
        options = [{ code = \"usb_a\" }, { code = \"usb_c\" }, { code = \"hdmi\" }, { code = \"bluetooth\" }]\n\n\
        [[families]]\ncode = \"apparel\"";
    let gadgets = "attributes = [\"name\", \"description\", \"search_boost\", \"gtin\", \"base_price\", \"sale_price\", \"weight\", \"manual_url\"]";
    assert!(fixture.contains(gadgets), "the fixture's gadgets family");
    let text = fixture
        .replacen("[[families]]\ncode = \"apparel\"", connectivity, 1)
        .replacen(
            gadgets,
            &gadgets.replace("\"manual_url\"]", "\"manual_url\", \"connectivity\"]"),
            1,
        );
    let schema = sluice::catalog::schema_code::parse(&text).expect("schema parses");
    sluice::catalog::schema_code::apply(
        app.db(),
        &Actor::system("test"),
        &schema,
        false,
        false,
        app.clock().now(),
    )
    .await
    .expect("schema applies");
}

const PROFILE: &str = r#"
code = "erp"
label = "ERP"
identifier = "sku"
family = { column = "family" }

[[columns]]
column = "name"
attribute = "name"
locale = "en_US"
seed = true

[[columns]]
column = "gtin"
attribute = "gtin"

[[columns]]
column = "connectivity"
attribute = "connectivity"
"#;

const HEADER: &str = "sku,family,name,gtin,connectivity\n";

/// The schema, the ERP's mapping profile, and the ERP's import token.
async fn setup_erp(app: &TestApp) -> String {
    seed(app).await;
    sluice::import::profiles::put(app.db().pool(), "erp", PROFILE, "test", app.clock().now())
        .await
        .expect("store profile");
    app.user_token(&[Role::Editor], "import catalog:read").await
}

/// Sends `rows` as the ERP's CSV file, runs the worker, answers the job.
async fn import(app: &TestApp, token: &str, rows: &str) -> Value {
    let sent = app
        .api_raw(
            Method::POST,
            "/api/v1/imports?profile=erp&mode=upsert&name=items.csv",
            token,
            format!("{HEADER}{rows}").into_bytes(),
            &[("content-type", "text/csv")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    let id = sent.json()["id"].as_i64().expect("job id");
    sluice::import::worker::drain(&app.state)
        .await
        .expect("worker");
    let job = app
        .api(Method::GET, &format!("/api/v1/imports/{id}"), Some(token))
        .await;
    assert_eq!(job.status, StatusCode::OK);
    job.json()
}

/// A signed-in browser for a new user with `roles`.
async fn browser(app: &TestApp, email: &str, roles: &[Role]) -> Client {
    app.user(email, roles).await;
    let client = app.client();
    let response = client.login(email, PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "login {email}");
    client
}

async fn master(app: &TestApp, sku: &str) -> sluice::catalog::product::Product {
    store::find(app.db().pool(), sku)
        .await
        .expect("find")
        .expect("product")
        .product
}

fn key(attribute: &str, locale: Option<&str>) -> ValueKey {
    ValueKey::new(attribute, locale, None)
}

async fn import_proposal_is_validated_as_the_import(app: TestApp) {
    let token = setup_erp(&app).await;
    let created = import(
        &app,
        &token,
        "G-1,gadgets,Pocket radio,4006381333931,usb_a\n",
    )
    .await;
    assert_eq!(created["counts"]["created"], 1, "{created}");
    // The ERP corrects the GTIN: a reviewed-lane ERP value, so a proposal.
    let job = import(&app, &token, "G-1,gadgets,Pocket radio,96385074,usb_a\n").await;
    assert_eq!(job["counts"]["proposed"], 1, "{job}");
    let pending = proposals::list(
        app.db(),
        &ProposalFilter {
            statuses: vec![Status::Submitted],
            limit: 10,
            ..ProposalFilter::default()
        },
    )
    .await
    .expect("proposals");
    assert_eq!(pending.len(), 1);
    let id = pending[0].id;
    assert_eq!(pending[0].source, "import");

    let approver = browser(&app, "ann@shop.test", &[Role::Approver]).await;
    let path = format!("/proposals/{id}");
    let page = approver.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !page.body.contains("read-only here"),
        "good ERP data gets no red box: {}",
        page.body
    );
    assert!(
        page.body
            .contains("All open changes pass validation against the product as it is now."),
        "{}",
        page.body
    );

    // What the page said is what approval does.
    let approved = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    assert_eq!(
        master(&app, "G-1").await.values.get(&key("gtin", None)),
        Some(&json!("96385074"))
    );
}
