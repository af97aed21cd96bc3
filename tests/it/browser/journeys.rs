//! What people do, clicked through in Chromium: sign in, edit in both
//! lanes, review and approve part, see it reach the feed, meet a colleague's
//! newer save (issue 7), import a messy ERP file and fetch its failed rows,
//! and read a product without the means to change it.
//!
//! Selectors are the stable ones: field `name`s, form `action`s, ids and
//! link `href`s, never layout classes.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice::catalog::product::{Product, ProductKind, ValueKey};
use sluice::catalog::store;
use sluice::workflow::proposals;
use sluice::workflow::write::NewProduct;

use super::{Browser, BrowserTest};
use crate::TestApp;
use crate::harness::set_values;
use crate::seed::new_product;

crate::browser_tests!(
    each_role_signs_in,
    editor_edits_both_lanes_and_submits,
    approver_approves_part_and_the_feed_follows,
    stale_save_keeps_the_colleagues_change,
    cleared_multiselect_survives_the_conflict_page,
    messy_erp_file_and_its_failed_rows,
    viewer_sees_no_edit_control,
    editor_creates_a_model_and_its_variant,
);

const SKU: &str = "TEE-1";
const PRODUCT_PAGE: &str = "/products/TEE-1?locale=en_US&channel=web";
/// The product form: the POST form that holds attribute fields.
const PRODUCT_FORM: &str = "form[method=\"post\"]:has([name^=\"v.\"])";

/// The test catalog and TEE-1, a simple apparel product that is ready for
/// the web channel (a name in both of its locales, a color and a size).
async fn seed_tee(app: &TestApp) {
    app.seed_schema().await;
    let schema = app.schema().await;
    let values = [
        ("name", Some("en_US"), json!("Plain tee")),
        ("name", Some("de_DE"), json!("Einfaches Shirt")),
        ("color", None, json!("red")),
        ("size", None, json!("m")),
        ("search_boost", None, json!("1")),
        ("is_new", None, json!(false)),
        ("material", None, json!(["cotton", "wool"])),
    ];
    let product = NewProduct {
        values: set_values(values),
        ..new_product(SKU, ProductKind::Simple, "apparel", None)
    };
    app.create_as_system(&schema, product).await;
}

async fn master(app: &TestApp) -> Product {
    app.stored(SKU).await.expect("TEE-1")
}

fn value<'a>(product: &'a Product, attribute: &str, locale: Option<&str>) -> Option<&'a Value> {
    product.values.get(&ValueKey::new(attribute, locale, None))
}

/// Clicks the product form's Save button and waits for the next page.
async fn save(browser: &Browser) {
    browser
        .click_through(&format!("{PRODUCT_FORM} button[type=\"submit\"]"))
        .await;
}

async fn each_role_signs_in(test: BrowserTest) {
    for (role, label) in [
        (Role::Admin, "admin"),
        (Role::Editor, "editor"),
        (Role::Approver, "approver"),
        (Role::Viewer, "viewer"),
    ] {
        let (browser, email) = test.signed_in(role, label).await;
        // The header names the person; the menu fits the role.
        assert!(
            browser
                .exists(&format!("header a[title=\"{email}\"]"))
                .await,
            "{label}: the header names {email}"
        );
        let admin_menu = browser.exists("nav a[href=\"/settings/users\"]").await;
        assert_eq!(admin_menu, role == Role::Admin, "{label}: settings menu");
        let imports = browser.exists("nav a[href=\"/imports\"]").await;
        assert_eq!(
            imports,
            matches!(role, Role::Admin | Role::Editor),
            "{label}: imports menu"
        );
        // Signing out ends the session: the dashboard asks for a login again.
        browser
            .click_through("form[action=\"/logout\"] button[type=\"submit\"]")
            .await;
        browser.goto("/").await;
        assert!(
            browser.path().await.starts_with("/login"),
            "{label}: signed out, the dashboard sends to the login"
        );
    }
}

/// The editor changes the boost (fast lane) and the name (reviewed lane) in
/// one save, then also the color, and submits the draft; answers its id.
async fn edit_both_lanes_and_submit(test: &BrowserTest, editor: &Browser) -> i64 {
    editor.goto(PRODUCT_PAGE).await;
    editor.fill("[name=\"v.search_boost\"]", "4").await;
    editor.fill("[name=\"v.name\"]", "Trail tee").await;
    editor.select("[name=\"v.color\"]", "blue").await;
    save(editor).await;

    // The fast lane applied at once; the reviewed lane waits in a draft.
    let product = master(&test.app).await;
    assert_eq!(value(&product, "search_boost", None), Some(&json!("4")));
    assert_eq!(
        value(&product, "name", Some("en_US")),
        Some(&json!("Plain tee"))
    );
    assert_eq!(editor.value("[name=\"v.search_boost\"]").await, "4");
    let submit = editor
        .find("form[action^=\"/proposals/\"][action$=\"/submit\"]")
        .await;
    let action = submit
        .attr("action")
        .await
        .expect("action")
        .unwrap_or_default();
    let id: i64 = action
        .trim_start_matches("/proposals/")
        .trim_end_matches("/submit")
        .parse()
        .unwrap_or_else(|_| panic!("a draft id in {action}"));
    editor
        .fill(
            "form[action$=\"/submit\"] [name=\"note\"]",
            "new season name",
        )
        .await;
    editor
        .click_through("form[action$=\"/submit\"] button[type=\"submit\"]")
        .await;
    let proposal = proposals::get(test.app.db().pool(), id)
        .await
        .expect("the proposal");
    assert_eq!(proposal.status, proposals::Status::Submitted);
    let mut fields: Vec<&str> = proposal
        .open_changes()
        .map(|c| c.attribute.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["color", "name"], "the reviewed lane only");
    id
}

async fn editor_edits_both_lanes_and_submits(test: BrowserTest) {
    seed_tee(&test.app).await;
    let (editor, _) = test.signed_in(Role::Editor, "editor").await;
    let id = edit_both_lanes_and_submit(&test, &editor).await;
    // The editor's own list shows it waiting.
    editor.goto("/proposals").await;
    assert!(
        editor.exists(&format!("a[href=\"/proposals/{id}\"]")).await,
        "the submitted proposal is listed:\n{}",
        editor.page_text().await
    );
}

async fn approver_approves_part_and_the_feed_follows(test: BrowserTest) {
    seed_tee(&test.app).await;
    let feed_token = test.app.user_token(&[Role::Viewer], "feed:web").await;
    let (editor, _) = test.signed_in(Role::Editor, "editor").await;
    let id = edit_both_lanes_and_submit(&test, &editor).await;

    let (approver, _) = test.signed_in(Role::Approver, "approver").await;
    approver.goto("/proposals").await;
    approver
        .click_through(&format!("a[href=\"/proposals/{id}\"]"))
        .await;
    // The diff: before and after of each field, side by side.
    let diff = approver
        .text("section[aria-labelledby=\"changes-heading\"]")
        .await;
    for expected in ["Plain tee", "Trail tee"] {
        assert!(diff.contains(expected), "{expected} in the diff:\n{diff}");
    }
    // The readiness impact, per channel.
    let impact = approver
        .text("section[aria-labelledby=\"readiness-heading\"]")
        .await;
    // Both channels are judged; Google still lacks the ERP's GTIN and price.
    for expected in ["web", "google", "gtin", "base_price"] {
        assert!(
            impact.contains(expected),
            "{expected} in the readiness impact:\n{impact}"
        );
    }

    // Approve the name only; the color stays open.
    let name_box = approver
        .find_xpath("//tr[contains(., 'Trail tee')]//input[@name='fields']")
        .await;
    name_box.click().await.expect("tick the name");
    approver
        .click_through("button[name=\"scope\"][value=\"selected\"]")
        .await;
    let product = master(&test.app).await;
    assert_eq!(
        value(&product, "name", Some("en_US")),
        Some(&json!("Trail tee"))
    );
    assert_eq!(value(&product, "color", None), Some(&json!("red")));
    let proposal = proposals::get(test.app.db().pool(), id)
        .await
        .expect("proposal");
    let open: Vec<&str> = proposal
        .open_changes()
        .map(|c| c.attribute.as_str())
        .collect();
    assert_eq!(open, ["color"], "the color waits");

    // The running server's publisher puts the new name on the web feed.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let feed = test
            .app
            .api(
                Method::GET,
                "/api/v1/channels/web/feed?after=0&limit=100",
                Some(&feed_token),
            )
            .await;
        assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
        let feed = feed.json();
        let latest = feed["events"]
            .as_array()
            .expect("events")
            .iter()
            .rev()
            .find(|e| e["sku"] == SKU)
            .cloned();
        let name = latest
            .as_ref()
            .and_then(|e| {
                e["product"]["values"]["name"]
                    .as_array()?
                    .iter()
                    .find(|v| v["locale"] == "en_US")
                    .map(|v| v["data"].clone())
            })
            .unwrap_or(Value::Null);
        if name == json!("Trail tee") {
            let boost = &latest.expect("event")["product"]["values"]["search_boost"][0]["data"];
            assert!(
                boost == &json!("4") || boost == &json!(4),
                "the fast-lane boost too: {boost}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the approved name did not reach the web feed: {feed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// TEE-1 open in two editors' browsers: the one who saves first and the
/// one whose form goes stale (with their email).
async fn both_open_tee(test: &BrowserTest) -> (Browser, Browser, String) {
    seed_tee(&test.app).await;
    let (first, _) = test.signed_in(Role::Editor, "first-editor").await;
    let (second, email) = test.signed_in(Role::Editor, "second-editor").await;
    first.goto(PRODUCT_PAGE).await;
    second.goto(PRODUCT_PAGE).await;
    (first, second, email)
}

/// Two editors on one product: the first saves; the second's form is
/// stale. The second gets the conflict page, keeps their boost, clicks
/// "Save" twice, and the first editor's change stands.
async fn stale_save_keeps_the_colleagues_change(test: BrowserTest) {
    let (first, second, _) = both_open_tee(&test).await;
    first.select("[name=\"v.is_new\"]", "true").await;
    first.fill("[name=\"v.search_boost\"]", "7").await;
    save(&first).await;
    assert_eq!(master(&test.app).await.version, 2);

    // The second form still shows the old values; its editor changes the boost.
    second.fill("[name=\"v.search_boost\"]", "5").await;
    save(&second).await;
    assert_eq!(master(&test.app).await.version, 2, "nothing saved");
    assert!(
        second.exists("[role=\"alert\"]").await,
        "the conflict is explained:\n{}",
        second.page_text().await
    );
    // Both changed the boost: theirs beside yours, with a choice; the
    // colleague's other change is shown in the form, the editor's input kept.
    let clash = second.text("#clashes").await;
    assert!(
        clash.contains('7') && clash.contains('5'),
        "theirs and yours:\n{clash}"
    );
    assert_eq!(second.value("[name=\"v.is_new\"]").await, "true");
    assert_eq!(second.value("[name=\"v.search_boost\"]").await, "5");
    second
        .set_checked("[name=\"keep.search_boost\"][value=\"yours\"]", true)
        .await;
    second
        .double_click_through(&format!("{PRODUCT_FORM} button[type=\"submit\"]"))
        .await;

    let product = master(&test.app).await;
    assert_eq!(value(&product, "is_new", None), Some(&json!(true)), "kept");
    assert_eq!(value(&product, "search_boost", None), Some(&json!("5")));
    assert_eq!(product.version, 3, "one save, however many clicks");
    assert!(
        !second.exists("#clashes").await,
        "no conflict left after saving:\n{}",
        second.page_text().await
    );
    // What the second editor sees now is the product as saved.
    second.goto(PRODUCT_PAGE).await;
    assert_eq!(second.value("[name=\"v.is_new\"]").await, "true");
    assert_eq!(second.value("[name=\"v.search_boost\"]").await, "5");
}

/// Unticking every material on a stale form: the conflict page keeps the
/// boxes unticked, and saving again drafts the cleared value.
async fn cleared_multiselect_survives_the_conflict_page(test: BrowserTest) {
    let (first, second, email) = both_open_tee(&test).await;
    first.select("[name=\"v.is_new\"]", "true").await;
    save(&first).await;

    for code in ["cotton", "wool"] {
        second
            .set_checked(&format!("[name=\"v.material\"][value=\"{code}\"]"), false)
            .await;
    }
    save(&second).await;
    assert!(
        second.exists("[role=\"alert\"]").await,
        "the stale form is explained:\n{}",
        second.page_text().await
    );
    for code in ["cotton", "wool"] {
        assert!(
            !second
                .is_checked(&format!("[name=\"v.material\"][value=\"{code}\"]"))
                .await,
            "{code} stays unticked as the editor left it"
        );
    }
    save(&second).await;

    let product = master(&test.app).await;
    assert_eq!(value(&product, "is_new", None), Some(&json!(true)), "kept");
    let user = sluice::auth::users::find_by_email(test.app.db(), &email)
        .await
        .expect("user")
        .expect("editor");
    let draft = proposals::draft_of(test.app.db(), product.id, user.id)
        .await
        .expect("draft")
        .expect("a draft");
    let changes: Vec<(String, Option<Value>)> = draft
        .open_changes()
        .map(|c| (c.attribute.clone(), c.after.clone()))
        .collect();
    assert_eq!(changes, [("material".to_owned(), None)], "cleared");
}

/// An ERP export as it comes: a byte-order mark, `;` between cells, decimal
/// commas, one row with a weight that is no number and one with a GTIN
/// whose check digit is wrong.
const MESSY_EXPORT: &str = "\u{feff}sku;name;weight;weight_uom;base_price;gtin\r\n\
    A-1;Alpha;1,5;kg;19,99;4006381333931\r\n\
    A-2;Beta;heavy;kg;5,00;\r\n\
    A-3;Gamma;2;kg;7,50;1234567890123\r\n";

const MESSY_PROFILE: &str = r#"
code = "erp-export"
label = "ERP export"
identifier = "sku"
decimal_comma = "auto"
family = { fixed = "gadgets" }

[[columns]]
column = "weight"
attribute = "weight"
unit_column = "weight_uom"

[[columns]]
column = "base_price"
attribute = "base_price"
currency = "USD"

[[columns]]
column = "gtin"
attribute = "gtin"
"#;

async fn messy_erp_file_and_its_failed_rows(test: BrowserTest) {
    test.app.seed_schema().await;
    sluice::import::profiles::put(
        test.app.db().pool(),
        "erp-export",
        MESSY_PROFILE,
        "test",
        test.app.clock().now(),
    )
    .await
    .expect("store profile");
    let folder = tempfile::tempdir().expect("folder");
    let file = folder.path().join("items-export.csv");
    std::fs::write(&file, MESSY_EXPORT).expect("write the export");

    let (editor, _) = test.signed_in(Role::Editor, "editor").await;
    editor.goto("/imports").await;
    editor
        .find("input[name=\"file\"]")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    editor.select("[name=\"profile\"]", "erp-export").await;
    editor.select("[name=\"mode\"]", "upsert").await;
    editor
        .click_through("form[enctype=\"multipart/form-data\"] button[type=\"submit\"]")
        .await;
    let job_path = editor.path().await;
    assert!(
        job_path.starts_with("/imports/"),
        "the job page after the upload, not {job_path}:\n{}",
        editor.page_text().await
    );
    // The job page refreshes itself while the import worker runs.
    editor.wait_for_text("partial", true).await;
    let text = editor.page_text().await;
    assert!(text.contains("items-export.csv"), "{text}");

    let (name, bytes) = editor.download("a[href$=\"/errors.csv\"]").await;
    assert!(name.ends_with(".csv"), "downloaded {name}");
    let csv = String::from_utf8(bytes).expect("UTF-8, as sent");
    // Written the way the file came: BOM, `;`, the header plus an error column.
    let csv = csv
        .strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("the BOM is kept: {csv:?}"));
    let mut lines = csv.lines();
    let header = lines.next().expect("header");
    assert!(
        header.starts_with("sku;name;weight;weight_uom;base_price;gtin;"),
        "{header}"
    );
    assert!(header.contains("error"), "{header}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "the two failed rows: {csv}");
    assert!(rows[0].starts_with("A-2;Beta;heavy;"), "{csv}");
    assert!(rows[1].starts_with("A-3;Gamma;2;"), "{csv}");
    assert!(!csv.contains("A-1"), "the good row is not there: {csv}");
    // The good row was applied.
    assert!(
        store::find(test.app.db().pool(), "A-1")
            .await
            .expect("find")
            .is_some()
    );
}

/// The viewer reads the product: no Save button, no field to type in.
async fn viewer_sees_no_edit_control(test: BrowserTest) {
    seed_tee(&test.app).await;
    let (viewer, _) = test.signed_in(Role::Viewer, "viewer").await;
    viewer.goto(PRODUCT_PAGE).await;
    assert!(
        viewer.page_text().await.contains("Plain tee"),
        "the viewer reads the values"
    );
    // Controls of forms that change something (signing out aside).
    let editable = viewer
        .js(
            "return Array.from(document.querySelectorAll(\
               'form[method=post]:not([action=\"/logout\"]) :is(input, select, textarea, button)'))\
             .filter(e => !(e.type === 'hidden' || e.disabled || e.readOnly))\
             .map(e => e.outerHTML.slice(0, 120));",
            vec![],
        )
        .await;
    assert_eq!(editable, json!([]), "no control that edits");
    let buttons = viewer
        .js(
            "return Array.from(document.querySelectorAll('button'))\
             .map(b => b.textContent.trim()).filter(t => /save/i.test(t));",
            vec![],
        )
        .await;
    assert_eq!(buttons, json!([]), "no Save button");
}

/// Step 1 of `/products/new`: family and kind, then Continue.
async fn choose_family_and_kind(browser: &Browser, family: &str, kind: &str) {
    browser
        .select(
            "form[action=\"/products/new\"] select[name=\"family\"]",
            family,
        )
        .await;
    browser
        .select("form[action=\"/products/new\"] select[name=\"kind\"]", kind)
        .await;
    browser
        .click_through("form[method=\"get\"][action=\"/products/new\"] button[type=\"submit\"]")
        .await;
}

const CREATE: &str = "form[method=\"post\"][action=\"/products/new\"] button[type=\"submit\"]";

async fn editor_creates_a_model_and_its_variant(test: BrowserTest) {
    seed_tee(&test.app).await;
    let (editor, _) = test.signed_in(Role::Editor, "editor").await;
    // From the grid's "New product" link.
    editor.goto("/products").await;
    editor.click_through("a[href=\"/products/new\"]").await;
    choose_family_and_kind(&editor, "apparel", "model").await;
    editor.fill("input[name=\"sku\"]", "HOOD-1").await;
    editor.click_through(CREATE).await;
    assert!(
        editor.path().await.starts_with("/products/HOOD-1?"),
        "the new model's page: {}",
        editor.path().await
    );

    // Its variant, with the axis values chosen by their labels' options.
    editor.goto("/products/new").await;
    choose_family_and_kind(&editor, "apparel", "variant").await;
    editor.fill("input[name=\"sku\"]", "HOOD-1-BLUE-L").await;
    editor.fill("input[name=\"parent\"]", "HOOD-1").await;
    editor.select("select[name=\"axis.color\"]", "blue").await;
    editor.select("select[name=\"axis.size\"]", "l").await;
    editor.set_checked("input[name=\"enable\"]", true).await;
    editor.click_through(CREATE).await;
    assert!(
        editor.path().await.starts_with("/products/HOOD-1-BLUE-L?"),
        "the new variant's page: {}",
        editor.path().await
    );

    // Born as DESIGN says: structure applied, disabled, enabling in review.
    let variant = store::find(test.app.db().pool(), "HOOD-1-BLUE-L")
        .await
        .expect("find")
        .expect("the variant exists")
        .product;
    assert_eq!(variant.kind, ProductKind::Variant);
    assert_eq!(variant.parent.as_deref(), Some("HOOD-1"));
    assert!(!variant.enabled, "born disabled");
    assert_eq!(value(&variant, "color", None), Some(&json!("blue")));
    assert_eq!(value(&variant, "size", None), Some(&json!("l")));
    let waiting = proposals::list(
        test.app.db(),
        &proposals::ProposalFilter {
            statuses: vec![proposals::Status::Submitted],
            sku: Some("HOOD-1-BLUE-L".to_owned()),
            limit: 10,
            ..proposals::ProposalFilter::default()
        },
    )
    .await
    .expect("proposals");
    assert_eq!(
        waiting.len(),
        1,
        "enabling it waits in a New product proposal"
    );

    // The model lists it with its axes in labels.
    editor.goto("/products/HOOD-1").await;
    assert!(
        editor.page_text().await.contains("HOOD-1-BLUE-L"),
        "the model lists its variant"
    );
    assert!(
        editor.page_text().await.contains("Blue"),
        "axis value by its label"
    );

    // The same SKU again: refused with the reason at the top and beside
    // the field, the input kept, nothing created twice.
    editor.goto("/products/new").await;
    choose_family_and_kind(&editor, "apparel", "model").await;
    editor.fill("input[name=\"sku\"]", "HOOD-1").await;
    editor.click_through(CREATE).await;
    assert!(
        editor.exists("#errors a[href=\"#sku\"]").await,
        "summary links the field"
    );
    assert!(
        editor.exists("#sku-error").await,
        "the message beside the field"
    );
    assert_eq!(editor.value("input[name=\"sku\"]").await, "HOOD-1");
}
