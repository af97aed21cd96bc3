//! Trust in people's edits: a stale form save never undoes a colleague's
//! change, a multiselect saved in another order is no change, and an import
//! proposal is validated as the import that will apply it.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::ValueKey;
use sluice::workflow::proposals::{self, ProposalFilter, Status};
use sqlx::Row;

use crate::harness::{PASSWORD, set_values};
use crate::seed::new_product;
use crate::{Client, TestApp, db_tests};

db_tests!(
    a_cleared_multiselect_survives_the_conflict_page,
    import_proposal_is_validated_as_the_import,
    multiselect_in_another_order_is_no_change,
    stale_save_keeps_a_colleagues_change,
    both_changed_one_field_and_each_chooses,
    stale_save_in_the_reviewed_lane_keeps_an_approved_change,
);

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
    let schema = sluice::schema_code::parse(&text).expect("schema parses");
    sluice::schema_code::apply(
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
    app.import_csv(token, "erp", format!("{HEADER}{rows}").into_bytes())
        .await
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
    app.stored(sku).await.expect("product")
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

// ---- the product form as a browser submits it ----

/// `&amp;` and friends back to text (askama escapes attribute values and text).
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The attributes of one tag (`<input a="b" c>`), values unescaped.
fn attributes(tag: &str) -> Vec<(String, Option<String>)> {
    let inner = tag.trim_start_matches('<').trim_end_matches('>');
    let mut rest = inner.split_once(char::is_whitespace).map_or("", |(_, r)| r);
    let mut found = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..end].to_owned();
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix("=\"") {
            let close = after.find('"').expect("closing quote");
            found.push((name, Some(unescape(&after[..close]))));
            rest = &after[close + 1..];
        } else {
            found.push((name, None));
        }
    }
    found
}

fn attribute<'a>(attributes: &'a [(String, Option<String>)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_deref().unwrap_or(""))
}

/// What a browser sends when the product form on `page` is submitted as it
/// is: inputs (checked boxes and radios only), selects, textareas; nothing
/// disabled.
fn product_form(page: &str) -> Vec<(String, String)> {
    let start = page.find("class=\"product-form\"").expect("product form");
    let end = start + page[start..].find("</form>").expect("end of form");
    let form = &page[start..end];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let close = rest.find('>').expect("end of tag");
        let tag = &rest[..=close];
        rest = &rest[close + 1..];
        let attrs = attributes(tag);
        let Some(name) = attribute(&attrs, "name").map(str::to_owned) else {
            continue;
        };
        if attribute(&attrs, "disabled").is_some() {
            continue;
        }
        if tag.starts_with("<input") {
            let kind = attribute(&attrs, "type").unwrap_or("text");
            if !matches!(kind, "checkbox" | "radio") || attribute(&attrs, "checked").is_some() {
                fields.push((name, attribute(&attrs, "value").unwrap_or("").to_owned()));
            }
        } else if tag.starts_with("<textarea") {
            let text_end = rest.find("</textarea>").expect("end of textarea");
            fields.push((name, unescape(&rest[..text_end])));
        } else if tag.starts_with("<select") {
            let select_end = rest.find("</select>").expect("end of select");
            let options: Vec<Vec<(String, Option<String>)>> = rest[..select_end]
                .split("<option")
                .skip(1)
                .map(|o| attributes(&format!("<option{}", &o[..o.find('>').expect(">") + 1])))
                .collect();
            let chosen = options
                .iter()
                .find(|o| attribute(o, "selected").is_some())
                .or(options.first());
            if let Some(option) = chosen {
                fields.push((name, attribute(option, "value").unwrap_or("").to_owned()));
            }
        }
    }
    fields
}

/// The field set to one value (the person typed or chose it).
fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_owned(), value.to_owned()));
}

/// The boxes of a multiselect ticked as `codes`.
fn tick(fields: &mut Vec<(String, String)>, name: &str, codes: &[&str]) {
    fields.retain(|(n, _)| n != name);
    fields.extend(codes.iter().map(|c| (name.to_owned(), (*c).to_owned())));
}

fn value_of<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Submits the form fields as the browser would (they carry the CSRF token).
async fn submit(client: &Client, sku: &str, fields: &[(String, String)]) -> crate::TestResponse {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    client.post_raw(&format!("/products/{sku}"), &pairs).await
}

const PAGE: &str = "/products/TEE-1?locale=en_US&channel=web";

/// A simple apparel product made by the system.
async fn tee(app: &TestApp, values: &[(&str, Option<&str>, Value)]) {
    let schema = app.schema().await;
    let product = sluice::workflow::write::NewProduct {
        values: set_values(values.iter().cloned()),
        ..new_product(
            "TEE-1",
            sluice::catalog::product::ProductKind::Simple,
            "apparel",
            None,
        )
    };
    app.create_as_system(&schema, product).await;
}

/// Rewrites one stored value as it is, bypassing the write path: a row
/// written before multiselects had one order.
async fn store_raw(app: &TestApp, sku: &str, attribute: &str, data: Value) {
    let row = sqlx::query("SELECT id, product_values FROM products WHERE sku = $1")
        .bind(sku)
        .fetch_one(app.db().pool())
        .await
        .expect("product row");
    let id: i64 = row.try_get("id").expect("id");
    let text: String = row.try_get("product_values").expect("values");
    let mut values: Value = serde_json::from_str(&text).expect("values JSON");
    values[attribute][0]["data"] = data;
    sqlx::query("UPDATE products SET product_values = $1 WHERE id = $2")
        .bind(values.to_string())
        .bind(id)
        .execute(app.db().pool())
        .await
        .expect("rewrite values");
}

/// The changes of the newest version, as `attribute: before → after`.
async fn last_changes(app: &TestApp, sku: &str) -> Vec<String> {
    let product = master(app, sku).await;
    let versions = sluice::workflow::history::versions(app.db(), product.id, 1)
        .await
        .expect("history");
    versions[0]
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.attribute,
                c.before.clone().unwrap_or(Value::Null),
                c.after.clone().unwrap_or(Value::Null)
            )
        })
        .collect()
}

/// The open changes of `email`'s draft of `sku`, as `attribute: before → after`.
async fn draft_changes(app: &TestApp, email: &str, sku: &str) -> Vec<String> {
    let user = sluice::auth::users::find_by_email(app.db(), email)
        .await
        .expect("user lookup")
        .expect("user");
    let product = master(app, sku).await;
    proposals::draft_of(app.db(), product.id, user.id)
        .await
        .expect("draft")
        .map(|draft| {
            draft
                .open_changes()
                .map(|c| {
                    format!(
                        "{}: {} → {}",
                        c.attribute,
                        c.before.clone().unwrap_or(Value::Null),
                        c.after.clone().unwrap_or(Value::Null)
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn multiselect_in_another_order_is_no_change(app: TestApp) {
    let token = setup_erp(&app).await;
    import(
        &app,
        &token,
        "G-1,gadgets,Pocket radio,4006381333931,\"usb_c, usb_a\"\n",
    )
    .await;
    assert_eq!(
        master(&app, "G-1")
            .await
            .values
            .get(&key("connectivity", None)),
        Some(&json!(["usb_a", "usb_c"])),
        "stored in the order of the attribute's options"
    );
    tee(
        &app,
        &[
            ("name", Some("en_US"), json!("Plain tee")),
            ("material", None, json!(["wool", "cotton"])),
        ],
    )
    .await;
    assert_eq!(
        master(&app, "TEE-1")
            .await
            .values
            .get(&key("material", None)),
        Some(&json!(["cotton", "wool"]))
    );
    // Rows written before there was one order keep theirs.
    store_raw(&app, "TEE-1", "material", json!(["wool", "cotton"])).await;
    store_raw(&app, "G-1", "connectivity", json!(["usb_c", "usb_a"])).await;
    let tee_version = master(&app, "TEE-1").await.version;
    let radio_version = master(&app, "G-1").await.version;

    // The editor saves the page as it is: nothing changed, nothing to review.
    let editor = browser(&app, "eve@shop.test", &[Role::Editor]).await;
    let page = editor.get(PAGE).await;
    let fields = product_form(&page.body);
    assert_eq!(
        fields
            .iter()
            .filter(|(n, _)| n == "v.material")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>(),
        ["cotton", "wool"],
        "the boxes go in option order"
    );
    let saved = submit(&editor, "TEE-1", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        saved.location().ends_with("notice=product_unchanged"),
        "{}",
        saved.location()
    );
    assert_eq!(
        draft_changes(&app, "eve@shop.test", "TEE-1").await,
        Vec::<String>::new()
    );

    // Changing another field drafts that field only.
    let mut fields = product_form(&editor.get(PAGE).await.body);
    set(&mut fields, "v.name", "Soft tee");
    let saved = submit(&editor, "TEE-1", &fields).await;
    assert!(
        saved.location().ends_with("notice=draft_saved"),
        "{}",
        saved.location()
    );
    assert_eq!(
        draft_changes(&app, "eve@shop.test", "TEE-1").await,
        ["name: \"Plain tee\" → \"Soft tee\""]
    );
    // The API with the same set in yet another order proposes nothing either.
    let api = app
        .user_token(&[Role::Editor], "catalog:read catalog:write")
        .await;
    let patched = app
        .api_json(
            Method::PATCH,
            "/api/v1/products/TEE-1",
            &api,
            Some(json!({"values": {"material": [{"locale": null, "channel": null, "data": ["cotton", "wool"]}]}})),
            &[("if-match", &format!("\"{tee_version}\""))],
        )
        .await;
    // 200 with the product: no proposal (that would be a 202).
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(master(&app, "TEE-1").await.version, tee_version);

    // The ERP sends the same set in another order: unchanged.
    let job = import(
        &app,
        &token,
        "G-1,gadgets,Pocket radio,4006381333931,\"usb_a,usb_c\"\n",
    )
    .await;
    assert_eq!(job["counts"]["updated"], 0, "{job}");
    assert_eq!(job["counts"]["unchanged"], 1, "{job}");
    assert_eq!(master(&app, "G-1").await.version, radio_version);
    // A different set is a change, stored in option order, and history says so.
    let job = import(
        &app,
        &token,
        "G-1,gadgets,Pocket radio,4006381333931,\"hdmi, usb_c\"\n",
    )
    .await;
    assert_eq!(job["counts"]["updated"], 1, "{job}");
    assert_eq!(
        last_changes(&app, "G-1").await,
        ["connectivity: [\"usb_c\",\"usb_a\"] → [\"usb_c\",\"hdmi\"]"]
    );

    // A proposal made over the old order still applies when master's row
    // is rewritten in option order meanwhile (a set is no conflict).
    let mut fields = product_form(&editor.get(PAGE).await.body);
    tick(&mut fields, "v.material", &["cotton", "linen"]);
    submit(&editor, "TEE-1", &fields).await;
    let draft = draft_changes(&app, "eve@shop.test", "TEE-1").await;
    assert!(
        draft.contains(&"material: [\"wool\",\"cotton\"] → [\"cotton\",\"linen\"]".to_owned()),
        "{draft:?}"
    );
    store_raw(&app, "TEE-1", "material", json!(["cotton", "wool"])).await;
    let id = submit_draft(&app, &editor, "TEE-1").await;
    let approver = browser(&app, "ann@shop.test", &[Role::Approver]).await;
    let path = format!("/proposals/{id}");
    let approved = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    assert_eq!(
        proposals::get(app.db().pool(), id)
            .await
            .expect("proposal")
            .status,
        Status::Approved
    );
    assert_eq!(
        master(&app, "TEE-1")
            .await
            .values
            .get(&key("material", None)),
        Some(&json!(["cotton", "linen"]))
    );
}

/// Submits the signed-in person's draft of `sku` from the product page.
async fn submit_draft(app: &TestApp, client: &Client, sku: &str) -> i64 {
    let page = client.get(&format!("/products/{sku}")).await;
    let marker = "action=\"/proposals/";
    let start = page.body.find(marker).expect("draft panel") + marker.len();
    let id: i64 = page.body[start..]
        .split('/')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("draft id");
    let response = client
        .post_form(
            &format!("/products/{sku}"),
            &format!("/proposals/{id}/submit"),
            &[("note", "please")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let _ = app;
    id
}

async fn stale_save_keeps_a_colleagues_change(app: TestApp) {
    seed(&app).await;
    tee(
        &app,
        &[
            ("name", Some("en_US"), json!("Plain tee")),
            ("search_boost", None, json!("1")),
            ("is_new", None, json!(false)),
        ],
    )
    .await;
    let admin = browser(&app, "root@shop.test", &[Role::Admin]).await;
    let editor = browser(&app, "eve@shop.test", &[Role::Editor]).await;
    // Both open the product.
    let mut theirs = product_form(&admin.get(PAGE).await.body);
    let mut mine = product_form(&editor.get(PAGE).await.body);
    assert_eq!(value_of(&mine, "v.is_new"), Some("false"));

    set(&mut theirs, "v.is_new", "true");
    let saved = submit(&admin, "TEE-1", &theirs).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(last_changes(&app, "TEE-1").await, ["is_new: false → true"]);

    // The editor's form still says No for New arrival; they change the boost
    // only. The form is stale: refused (409, nothing saved), with the
    // colleague's change shown and the editor's own kept.
    set(&mut mine, "v.search_boost", "5");
    let refused = submit(&editor, "TEE-1", &mine).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(master(&app, "TEE-1").await.version, 2, "nothing was saved");
    assert!(
        !refused.body.contains("Changed by both of you"),
        "no field was changed by both: {}",
        refused.body
    );
    let mine = product_form(&refused.body);
    assert_eq!(value_of(&mine, "version"), Some("2"));
    assert_eq!(value_of(&mine, "v.is_new"), Some("true"), "theirs shown");
    assert_eq!(value_of(&mine, "v.search_boost"), Some("5"), "yours kept");
    // "Save again" applies the boost only.
    let saved = submit(&editor, "TEE-1", &mine).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let product = master(&app, "TEE-1").await;
    assert_eq!(product.values.get(&key("is_new", None)), Some(&json!(true)));
    assert_eq!(
        product.values.get(&key("search_boost", None)),
        Some(&json!("5"))
    );
    assert_eq!(product.version, 3);
    assert_eq!(
        last_changes(&app, "TEE-1").await,
        ["search_boost: \"1\" → \"5\""]
    );

    // The same form sent again (a double click): nothing more happens.
    let again = submit(&editor, "TEE-1", &mine).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let product = master(&app, "TEE-1").await;
    assert_eq!(product.version, 3);
    assert_eq!(product.values.get(&key("is_new", None)), Some(&json!(true)));

    // A stale form with a bad value: the colleague's change is shown first
    // (409, the bad input kept), then the value is refused (422) on the
    // current version, and fixing it saves the code name only.
    let mut theirs = product_form(&admin.get(PAGE).await.body);
    let mut mine = product_form(&editor.get(PAGE).await.body);
    set(&mut theirs, "v.is_new", "false");
    assert_eq!(
        submit(&admin, "TEE-1", &theirs).await.status,
        StatusCode::SEE_OTHER
    );
    set(&mut mine, "v.code_name", "tee 7");
    let stale = submit(&editor, "TEE-1", &mine).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let again = product_form(&stale.body);
    assert_eq!(value_of(&again, "version"), Some("4"));
    assert_eq!(value_of(&again, "v.is_new"), Some("false"), "theirs shown");
    assert_eq!(value_of(&again, "v.code_name"), Some("tee 7"), "yours kept");
    let refused = submit(&editor, "TEE-1", &again).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let mut again = product_form(&refused.body);
    assert_eq!(value_of(&again, "version"), Some("4"));
    assert_eq!(value_of(&again, "v.is_new"), Some("false"));
    set(&mut again, "v.code_name", "TEE-7");
    let saved = submit(&editor, "TEE-1", &again).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let product = master(&app, "TEE-1").await;
    assert_eq!(
        product.values.get(&key("is_new", None)),
        Some(&json!(false))
    );
    assert_eq!(
        product.values.get(&key("code_name", None)),
        Some(&json!("TEE-7"))
    );
    assert_eq!(
        last_changes(&app, "TEE-1").await,
        ["code_name: null → \"TEE-7\""]
    );
}

async fn both_changed_one_field_and_each_chooses(app: TestApp) {
    seed(&app).await;
    tee(
        &app,
        &[
            ("name", Some("en_US"), json!("Plain tee")),
            ("search_boost", None, json!("1")),
            ("is_new", None, json!(false)),
        ],
    )
    .await;
    let admin = browser(&app, "root@shop.test", &[Role::Admin]).await;
    let editor = browser(&app, "eve@shop.test", &[Role::Editor]).await;
    let mut theirs = product_form(&admin.get(PAGE).await.body);
    let mut mine = product_form(&editor.get(PAGE).await.body);
    set(&mut theirs, "v.is_new", "true");
    set(&mut theirs, "v.search_boost", "7");
    assert_eq!(
        submit(&admin, "TEE-1", &theirs).await.status,
        StatusCode::SEE_OTHER
    );

    set(&mut mine, "v.search_boost", "5");
    set(&mut mine, "v.code_name", "TEE-42");
    let refused = submit(&editor, "TEE-1", &mine).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    // Nothing of the editor's was saved.
    let product = master(&app, "TEE-1").await;
    assert_eq!(product.version, 2);
    assert_eq!(product.values.get(&key("code_name", None)), None);
    // Theirs beside yours, with a choice; the page works without JavaScript.
    assert!(
        refused.body.contains("Changed by both of you"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("<td class=\"theirs\">7</td><td class=\"yours\">5</td>"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("name=\"keep.search_boost\" value=\"theirs\" required")
    );
    assert!(
        refused
            .body
            .contains("name=\"keep.search_boost\" value=\"yours\" required")
    );
    // The form now shows their New arrival and keeps the editor's own input.
    let mut again = product_form(&refused.body);
    assert_eq!(value_of(&again, "version"), Some("2"));
    assert_eq!(value_of(&again, "v.is_new"), Some("true"));
    assert_eq!(value_of(&again, "v.search_boost"), Some("5"));
    assert_eq!(value_of(&again, "v.code_name"), Some("TEE-42"));

    // "Save again", keeping yours.
    set(&mut again, "keep.search_boost", "yours");
    let saved = submit(&editor, "TEE-1", &again).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let product = master(&app, "TEE-1").await;
    assert_eq!(product.version, 3);
    assert_eq!(product.values.get(&key("is_new", None)), Some(&json!(true)));
    assert_eq!(
        product.values.get(&key("search_boost", None)),
        Some(&json!("5"))
    );
    assert_eq!(
        product.values.get(&key("code_name", None)),
        Some(&json!("TEE-42"))
    );
    let mut changes = last_changes(&app, "TEE-1").await;
    changes.sort();
    assert_eq!(
        changes,
        [
            "code_name: null → \"TEE-42\"",
            "search_boost: \"7\" → \"5\""
        ]
    );
    // "Save again" clicked twice: the second is stale, and brings nothing new.
    let twice = submit(&editor, "TEE-1", &again).await;
    assert_eq!(twice.status, StatusCode::SEE_OTHER, "{}", twice.body);
    assert!(
        twice.location().ends_with("notice=product_unchanged"),
        "{}",
        twice.location()
    );
    assert_eq!(master(&app, "TEE-1").await.version, 3);

    // Another round, and this time the editor keeps theirs.
    let mut theirs = product_form(&admin.get(PAGE).await.body);
    let mut mine = product_form(&editor.get(PAGE).await.body);
    set(&mut theirs, "v.search_boost", "8");
    assert_eq!(
        submit(&admin, "TEE-1", &theirs).await.status,
        StatusCode::SEE_OTHER
    );
    set(&mut mine, "v.search_boost", "6");
    set(&mut mine, "v.is_new", "false");
    let refused = submit(&editor, "TEE-1", &mine).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let mut again = product_form(&refused.body);
    set(&mut again, "keep.search_boost", "theirs");
    let saved = submit(&editor, "TEE-1", &again).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let product = master(&app, "TEE-1").await;
    assert_eq!(
        product.values.get(&key("search_boost", None)),
        Some(&json!("8"))
    );
    assert_eq!(
        product.values.get(&key("is_new", None)),
        Some(&json!(false))
    );
    assert_eq!(last_changes(&app, "TEE-1").await, ["is_new: true → false"]);
}

async fn stale_save_in_the_reviewed_lane_keeps_an_approved_change(app: TestApp) {
    seed(&app).await;
    tee(
        &app,
        &[
            ("name", Some("en_US"), json!("Plain tee")),
            ("material", None, json!(["cotton"])),
        ],
    )
    .await;
    let alice = browser(&app, "alice@shop.test", &[Role::Editor]).await;
    let bob = browser(&app, "bob@shop.test", &[Role::Editor]).await;
    let approver = browser(&app, "ann@shop.test", &[Role::Approver]).await;
    let mut alices = product_form(&alice.get(PAGE).await.body);
    let mut bobs = product_form(&bob.get(PAGE).await.body);
    let mut bobs_second_tab = bobs.clone();

    // Alice renames the product; it is reviewed and approved.
    set(&mut alices, "v.name", "Soft tee");
    let saved = submit(&alice, "TEE-1", &alices).await;
    assert!(
        saved.location().ends_with("notice=draft_saved"),
        "{}",
        saved.location()
    );
    let id = submit_draft(&app, &alice, "TEE-1").await;
    let path = format!("/proposals/{id}");
    let approved = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    assert_eq!(
        master(&app, "TEE-1")
            .await
            .values
            .get(&key("name", Some("en_US"))),
        Some(&json!("Soft tee"))
    );

    // Bob's form still shows the old name; he adds a material only. His
    // form is stale: shown again with the approved name, then saved again.
    tick(&mut bobs, "v.material", &["cotton", "wool"]);
    let refused = submit(&bob, "TEE-1", &bobs).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let bobs = product_form(&refused.body);
    assert_eq!(value_of(&bobs, "v.name"), Some("Soft tee"));
    let saved = submit(&bob, "TEE-1", &bobs).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        saved.location().ends_with("notice=draft_saved"),
        "{}",
        saved.location()
    );
    assert_eq!(
        draft_changes(&app, "bob@shop.test", "TEE-1").await,
        ["material: [\"cotton\"] → [\"cotton\",\"wool\"]"],
        "no change of the name nobody asked for"
    );

    // In his other tab Bob renamed it too: side by side, and he keeps his.
    set(&mut bobs_second_tab, "v.name", "Bob's tee");
    let refused = submit(&bob, "TEE-1", &bobs_second_tab).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("<td class=\"theirs\">Soft tee</td><td class=\"yours\">Bob&#39;s tee</td>")
            || refused.body.contains(
                "<td class=\"theirs\">Soft tee</td><td class=\"yours\">Bob&#x27;s tee</td>"
            ),
        "{}",
        refused.body
    );
    let mut again = product_form(&refused.body);
    // The form shows his draft's material, not the old one of that tab.
    assert_eq!(
        again
            .iter()
            .filter(|(n, _)| n == "v.material")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>(),
        ["cotton", "wool"]
    );
    set(&mut again, "keep.name", "yours");
    let saved = submit(&bob, "TEE-1", &again).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let mut draft = draft_changes(&app, "bob@shop.test", "TEE-1").await;
    draft.sort();
    assert_eq!(
        draft,
        [
            "material: [\"cotton\"] → [\"cotton\",\"wool\"]",
            "name: \"Soft tee\" → \"Bob's tee\""
        ]
    );
    assert_eq!(
        master(&app, "TEE-1")
            .await
            .values
            .get(&key("name", Some("en_US"))),
        Some(&json!("Soft tee")),
        "master waits for review"
    );
}

/// Unticking every box of a multiselect on a stale form is a change that
/// survives the 409 page: the page shows the boxes unticked, and "Save
/// again" drafts the cleared value.
async fn a_cleared_multiselect_survives_the_conflict_page(app: TestApp) {
    seed(&app).await;
    tee(
        &app,
        &[
            ("name", Some("en_US"), json!("Plain tee")),
            ("material", None, json!(["cotton", "wool"])),
            ("is_new", None, json!(false)),
        ],
    )
    .await;
    let admin = browser(&app, "root@shop.test", &[Role::Admin]).await;
    let editor = browser(&app, "eve@shop.test", &[Role::Editor]).await;
    let mut theirs = product_form(&admin.get(PAGE).await.body);
    let mut mine = product_form(&editor.get(PAGE).await.body);
    set(&mut theirs, "v.is_new", "true");
    assert_eq!(
        submit(&admin, "TEE-1", &theirs).await.status,
        StatusCode::SEE_OTHER
    );

    tick(&mut mine, "v.material", &[]);
    assert_eq!(value_of(&mine, "v.material.present"), Some("1"));
    let refused = submit(&editor, "TEE-1", &mine).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let again = product_form(&refused.body);
    assert_eq!(
        value_of(&again, "v.material"),
        None,
        "the boxes stay unticked as the editor left them"
    );
    let saved = submit(&editor, "TEE-1", &again).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        draft_changes(&app, "eve@shop.test", "TEE-1").await,
        ["material: [\"cotton\",\"wool\"] → null"]
    );
    assert_eq!(
        master(&app, "TEE-1").await.values.get(&key("is_new", None)),
        Some(&json!(true))
    );
}
