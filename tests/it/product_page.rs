//! The product page as a merchandiser reads it (variants first, the channel
//! preview folded away, labels instead of codes, each field's lane, a read
//! view for viewers, rich text rendered safely, errors summarised at the
//! top) and creating a product in the browser (`/products/new`).

use axum::http::StatusCode;
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::{Product, ProductKind, ValueKey};
use sluice::workflow::proposals::{self, ProposalFilter, Status};
use sluice::workflow::write::NewProduct;

use crate::harness::set_values;
use crate::seed;
use crate::{TestApp, db_tests};

db_tests!(
    model_page_puts_variants_above_the_closed_preview,
    history_and_conflict_page_show_labels_not_codes,
    each_field_shows_its_lane,
    viewer_gets_a_read_view,
    rich_text_is_sanitized_and_history_shows_text,
    refused_save_lists_its_errors_at_the_top,
    new_product_creates_simple_model_and_variant,
    new_product_refuses_bad_input_and_other_roles,
);

/// The test catalog plus a PIM-owned fast-lane length (`width`) on gadgets,
/// and labels for a few attributes, options and a category (the rest keep
/// none, to show the fallback to the code).
async fn seed(app: &TestApp) {
    let fixture = include_str!("fixtures/catalog.toml");
    let width = "[[attributes]]\ncode = \"width\"\ntype = \"measurement\"\n\
        group = \"marketing\"\nowner = \"pim\"\nlane = \"fast\"\nlabels = { en_US = \"Width\" }\n\
        validation = { unit_family = \"length\", default_unit = \"CENTIMETER\" }\n\n\
        [[families]]\ncode = \"apparel\"";
    let gadgets = "attributes = [\"name\", \"description\", \"search_boost\", \"gtin\", \"base_price\", \"sale_price\", \"weight\", \"manual_url\"]";
    let replacements = [
        ("[[families]]\ncode = \"apparel\"", width.to_owned()),
        (
            gadgets,
            gadgets.replace("\"manual_url\"]", "\"manual_url\", \"width\"]"),
        ),
        (
            "code = \"color\"\ntype = \"select\"",
            "code = \"color\"\ntype = \"select\"\nlabels = { en_US = \"Color\" }".to_owned(),
        ),
        (
            "code = \"size\"\ntype = \"select\"",
            "code = \"size\"\ntype = \"select\"\nlabels = { en_US = \"Size\" }".to_owned(),
        ),
        (
            "{ code = \"l\" }",
            "{ code = \"l\", labels = { en_US = \"L\" } }".to_owned(),
        ),
        (
            "code = \"description\"\ntype = \"textarea\"",
            "code = \"description\"\ntype = \"textarea\"\nlabels = { en_US = \"Description\" }"
                .to_owned(),
        ),
        (
            "code = \"weight\"\ntype = \"measurement\"",
            "code = \"weight\"\ntype = \"measurement\"\nlabels = { en_US = \"Weight\" }".to_owned(),
        ),
        (
            "code = \"shirts\"\nparent = \"clothing\"",
            "code = \"shirts\"\nparent = \"clothing\"\nlabels = { en_US = \"Shirts & tops\" }"
                .to_owned(),
        ),
        (
            "options = [{ code = \"cotton\" }, { code = \"wool\" }",
            "options = [{ code = \"cotton\", labels = { en_US = \"Cotton\" } }, { code = \"wool\", labels = { en_US = \"Merino wool\" } }"
                .to_owned(),
        ),
    ];
    let mut text = fixture.to_owned();
    for (from, to) in replacements {
        assert!(text.contains(from), "the fixture has {from}");
        text = text.replacen(from, &to, 1);
    }
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

/// A product written by the system (as an import would), values for all channels.
async fn create(
    app: &TestApp,
    sku: &str,
    kind: ProductKind,
    family: &str,
    parent: Option<&str>,
    categories: &[&str],
    values: &[(&str, Option<&str>, Value)],
) {
    let schema = app.schema().await;
    let product = NewProduct {
        categories: seed::categories(categories),
        values: set_values(values.iter().cloned()),
        ..seed::new_product(sku, kind, family, parent)
    };
    app.create_as_system(&schema, product).await;
}

/// A gadget with a name, an ERP price and weight.
async fn radio(app: &TestApp) {
    create(
        app,
        "G-1",
        ProductKind::Simple,
        "gadgets",
        None,
        &["electronics"],
        &[
            ("name", Some("en_US"), json!("Radio")),
            ("search_boost", None, json!("2")),
            (
                "base_price",
                None,
                json!([{"amount": "10.00", "currency": "USD"}]),
            ),
            ("weight", None, json!({"amount": "1.5", "unit": "KILOGRAM"})),
        ],
    )
    .await;
}

async fn master(app: &TestApp, sku: &str) -> Option<Product> {
    app.stored(sku).await
}

/// From `marker` to the end of the element section or card it sits in.
fn section<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} on the page: {body}"));
    let end = body[start..]
        .find("</section>")
        .map_or(body.len(), |e| e + start);
    &body[start..end]
}

/// The page from `start` to the next `end`.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = position(body, start);
    let to = body[from..].find(end).map_or(body.len(), |e| e + from);
    &body[from..to]
}

/// Where `marker` first appears on the page.
fn position(body: &str, marker: &str) -> usize {
    body.find(marker)
        .unwrap_or_else(|| panic!("no {marker} on the page: {body}"))
}

/// The label (with its badges) of the input `id`.
fn label_of<'a>(body: &'a str, id: &str) -> &'a str {
    let start = position(body, &format!("<label for=\"{id}\">"));
    let end = body[start..].find("</label>").expect("end of label") + start;
    &body[start..end]
}

async fn model_page_puts_variants_above_the_closed_preview(app: TestApp) {
    seed(&app).await;
    create(
        &app,
        "TEE",
        ProductKind::Model,
        "apparel",
        None,
        &[],
        &[("name", Some("en_US"), json!("Tee"))],
    )
    .await;
    for (sku, color, size) in [("TEE-BLUE-L", "blue", "l"), ("TEE-RED-S", "red", "s")] {
        create(
            &app,
            sku,
            ProductKind::Variant,
            "apparel",
            Some("TEE"),
            &[],
            &[("color", None, json!(color)), ("size", None, json!(size))],
        )
        .await;
    }
    app.settle().await;
    let editor = app.login_as(Role::Editor).await;
    let page = editor.get("/products/TEE?channel=web").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    let variants = position(&page.body, "id=\"variants-heading\"");
    assert!(variants < position(&page.body, "class=\"product-form\""));
    assert!(variants < position(&page.body, "id=\"preview\""));
    assert!(variants < position(&page.body, "id=\"history\""));
    let table = section(&page.body, "id=\"variants-heading\"");
    assert!(table.contains("Variants (2)"), "{table}");
    assert!(table.contains("<td>Color: Blue, Size: L</td>"), "{table}");
    assert!(table.contains("<td>Color: Red, Size: s</td>"), "{table}");
    assert!(!table.contains("color: blue"), "no codes: {table}");
    assert!(
        table.contains("class=\"table-scroll\""),
        "scrolls at phone width"
    );

    // The preview (the ProductGroup of every variant) is folded away.
    let preview = section(&page.body, "id=\"preview\"");
    assert!(preview.contains("<details>"), "{preview}");
    assert!(!preview.contains("<details open"), "closed: {preview}");
    assert!(
        preview.contains("<summary><h2 id=\"preview-heading\">Channel preview: web</h2></summary>")
    );
    assert!(preview.contains("&#34;@type&#34;: &#34;ProductGroup&#34;"));

    // A simple product has no variants card.
    create(&app, "G-9", ProductKind::Simple, "gadgets", None, &[], &[]).await;
    let simple = editor.get("/products/G-9").await;
    assert!(!simple.body.contains("variants-heading"));
}

async fn history_and_conflict_page_show_labels_not_codes(app: TestApp) {
    seed(&app).await;
    create(
        &app,
        "SHIRT-1",
        ProductKind::Simple,
        "apparel",
        None,
        &["shirts"],
        &[
            ("color", None, json!("blue")),
            ("material", None, json!(["cotton", "wool"])),
            ("weight", None, json!({"amount": "1.5", "unit": "KILOGRAM"})),
            ("is_new", None, json!(true)),
        ],
    )
    .await;
    let viewer = app.login_as(Role::Viewer).await;
    let page = viewer.get("/products/SHIRT-1").await;
    let history = section(&page.body, "id=\"history\"");
    for shown in [
        "<th scope=\"row\">Color</th><td class=\"before\">—</td><td class=\"after\">Blue</td>",
        "<td class=\"after\">Cotton, Merino wool</td>",
        "<td class=\"after\">1.5 kg</td>",
        "<td class=\"after\">Shirts &#38; tops</td>",
        // is_new has no label in the fixture: its code is the fallback.
        "<th scope=\"row\">is_new</th><td class=\"before\">—</td><td class=\"after\">Yes</td>",
        "<th scope=\"row\">Family</th>",
    ] {
        assert!(history.contains(shown), "{shown} in {history}");
    }
    for code in ["KILOGRAM", ">blue<", ">shirts<", "cotton"] {
        assert!(!history.contains(code), "{code} in {history}");
    }

    // Two editors change the width from the same version: the second is
    // refused (409) with both values in centimetres, by label.
    create(&app, "G-2", ProductKind::Simple, "gadgets", None, &[], &[]).await;
    let first = app.login_as(Role::Editor).await;
    let second = app.login_as(Role::Editor).await;
    let form = |amount: &'static str| {
        [
            ("version", "1"),
            ("locale", "en_US"),
            ("channel", "web"),
            ("v.width.amount", amount),
            ("v.width.unit", "CENTIMETER"),
        ]
    };
    let saved = first
        .post_form("/products/G-2", "/products/G-2", &form("12"))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let refused = second
        .post_form("/products/G-2", "/products/G-2", &form("15"))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let alert = between(&refused.body, "role=\"alert\"", "</tbody>");
    assert!(
        alert.contains("<tr><td>Width</td><td>—</td><td>12 cm</td></tr>"),
        "{alert}"
    );
    let clashes = between(&refused.body, "id=\"clashes\"", "</fieldset>");
    assert!(
        clashes.contains(
            "<th scope=\"row\">Width</th><td class=\"theirs\">12 cm</td><td class=\"yours\">15 cm</td>"
        ),
        "{clashes}"
    );
    let history = section(&refused.body, "id=\"history\"");
    assert!(
        history.contains("<td class=\"after\">12 cm</td>"),
        "{history}"
    );
    for shown in [alert, clashes, history] {
        assert!(!shown.contains("CENTIMETER"), "{shown}");
    }
    // The unit select shows symbols; it still sends codes.
    assert!(
        refused
            .body
            .contains("<option value=\"CENTIMETER\" selected>cm</option>")
    );
}

async fn each_field_shows_its_lane(app: TestApp) {
    seed(&app).await;
    radio(&app).await;
    let editor = app.login_as(Role::Editor).await;
    let page = editor.get("/products/G-1?locale=en_US&channel=web").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for (id, badge, not) in [
        ("v.name", "needs review", ["applies now", ">ERP<"]),
        ("v.description", "needs review", ["applies now", ">ERP<"]),
        ("v.search_boost", "applies now", ["needs review", ">ERP<"]),
        ("v.width.amount", "applies now", ["needs review", ">ERP<"]),
        ("v.weight.amount", ">ERP<", ["applies now", "needs review"]),
        ("v.gtin", ">ERP<", ["applies now", "needs review"]),
    ] {
        let label = label_of(&page.body, id);
        assert!(label.contains(badge), "{id}: {label}");
        for other in not {
            assert!(!label.contains(other), "{id}: {label}");
        }
    }

    // Readiness reasons link to `#v.CODE`: a measurement's inputs are
    // `v.weight.amount` and `v.weight.unit`, so their wrapper carries the id.
    assert!(
        page.body
            .contains("<span class=\"inline\" id=\"v.weight\">"),
        "a measurement is a link target"
    );

    // A variant's field set on its model shows where it comes from instead.
    create(&app, "TEE", ProductKind::Model, "apparel", None, &[], &[]).await;
    create(
        &app,
        "TEE-RED-S",
        ProductKind::Variant,
        "apparel",
        Some("TEE"),
        &[],
        &[("color", None, json!("red")), ("size", None, json!("s"))],
    )
    .await;
    let page = editor.get("/products/TEE-RED-S").await;
    let label = label_of(&page.body, "v.search_boost");
    assert!(label.contains("inherited from TEE"), "{label}");
    assert!(!label.contains("applies now"), "{label}");
}

async fn viewer_gets_a_read_view(app: TestApp) {
    seed(&app).await;
    radio(&app).await;
    let viewer = app.login_as(Role::Viewer).await;
    let page = viewer.get("/products/G-1?locale=en_US&channel=web").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("class=\"product-form\""));
    assert!(!page.body.contains(">Save</button>"));
    for control in [
        "name=\"v.",
        "<textarea",
        " readonly",
        " disabled",
        "type=\"checkbox\"",
    ] {
        assert!(!page.body.contains(control), "{control} on a read view");
    }
    let read = between(&page.body, "class=\"read-view\"", "<aside>");
    assert!(read.contains("<dt id=\"v.name\">Name"), "{read}");
    assert!(read.contains("<dd>Radio</dd>"), "{read}");
    assert!(read.contains("<dd>10.00 USD</dd>"), "{read}");
    assert!(read.contains("<dd>1.5 kg</dd>"), "{read}");
    assert!(read.contains("badge-erp"), "ERP values say so: {read}");

    // The editor gets the form.
    let editor = app.login_as(Role::Editor).await;
    let page = editor.get("/products/G-1").await;
    assert!(page.body.contains("class=\"product-form\""));
    assert!(page.body.contains(">Save</button>"));
    assert!(!page.body.contains("class=\"read-view\""));
}

async fn rich_text_is_sanitized_and_history_shows_text(app: TestApp) {
    seed(&app).await;
    create(
        &app,
        "G-1",
        ProductKind::Simple,
        "gadgets",
        None,
        &[],
        &[(
            "description",
            Some("en_US"),
            json!("<p>Fine <strong>radio</strong></p>"),
        )],
    )
    .await;
    let editor = app.login_as(Role::Editor).await;
    let page = editor.get("/products/G-1?locale=en_US&channel=web").await;
    let preview = section(&page.body, "class=\"rich-preview\"");
    assert!(
        preview.contains("<p>Fine <strong>radio</strong></p>"),
        "rendered beside the source: {preview}"
    );
    assert!(
        page.body.contains(
            "&#60;p&#62;Fine &#60;strong&#62;radio&#60;/strong&#62;&#60;/p&#62;</textarea>"
        ),
        "the source, escaped"
    );

    // History reads as text, with the raw HTML diff on demand.
    let history = section(&page.body, "id=\"history\"");
    assert!(
        history.contains("<td class=\"after\">Fine radio</td>"),
        "{history}"
    );
    assert!(
        history.contains("<summary>HTML of Description (en_US)</summary>"),
        "{history}"
    );
    assert!(history.contains("&#60;strong&#62;"), "raw HTML, escaped");

    // A hostile description sent back with a bad value (422): the form keeps
    // it as escaped source, and the preview renders it sanitized.
    let hostile = "<p>New <em>text</em></p><script>alert(1)</script><img src=x onerror=alert(2)>";
    let refused = editor
        .post_form(
            "/products/G-1",
            "/products/G-1",
            &[
                ("version", "1"),
                ("locale", "en_US"),
                ("channel", "web"),
                ("v.description", hostile),
                ("v.search_boost", "1,5"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("<script>alert"), "{}", refused.body);
    assert!(!refused.body.contains("<img"), "{}", refused.body);
    let preview = section(&refused.body, "class=\"rich-preview\"");
    assert!(preview.contains("<p>New <em>text</em></p>"), "{preview}");
    assert!(!preview.contains("onerror"), "{preview}");
    assert!(!preview.contains("alert("), "{preview}");
    assert!(
        refused.body.contains("&#60;script&#62;alert(1)"),
        "source kept"
    );
}

async fn refused_save_lists_its_errors_at_the_top(app: TestApp) {
    seed(&app).await;
    radio(&app).await;
    let editor = app.login_as(Role::Editor).await;
    let refused = editor
        .post_form(
            "/products/G-1",
            "/products/G-1",
            &[
                ("version", "1"),
                ("locale", "en_US"),
                ("channel", "web"),
                ("v.search_boost", "1,5"),
                ("v.width.amount", "3"),
                ("v.width.unit", ""),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let summary = section(&refused.body, "class=\"alert error-summary\"");
    assert!(
        summary.contains("Not saved: 1 problem to fix."),
        "{summary}"
    );
    assert!(
        summary.contains("<a href=\"#v.width.amount\">Width: choose a unit</a>"),
        "{summary}"
    );
    assert!(
        position(&refused.body, "error-summary")
            < position(&refused.body, "class=\"product-form\"")
    );
    assert!(refused.body.contains("id=\"v.width.amount-error\""));

    // The form is checked before the domain: fixing the unit shows the number's error.
    let refused = editor
        .post_form(
            "/products/G-1",
            "/products/G-1",
            &[
                ("version", "1"),
                ("locale", "en_US"),
                ("channel", "web"),
                ("v.search_boost", "1,5"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = section(&refused.body, "class=\"alert error-summary\"");
    assert!(
        summary.contains("<a href=\"#v.search_boost\">search_boost: "),
        "{summary}"
    );
    assert!(refused.body.contains("id=\"v.search_boost-error\""));
    assert!(refused.body.contains("value=\"1,5\""), "the input is kept");

    // A page without errors has no summary.
    let page = editor.get("/products/G-1").await;
    assert!(!page.body.contains("error-summary"));
}

/// Proposals of a product by status.
async fn proposals_of(app: &TestApp, sku: &str) -> Vec<proposals::Proposal> {
    proposals::list(
        app.db(),
        &ProposalFilter {
            sku: Some(sku.to_owned()),
            limit: 10,
            ..ProposalFilter::default()
        },
    )
    .await
    .expect("proposals")
}

async fn new_product_creates_simple_model_and_variant(app: TestApp) {
    seed(&app).await;
    let editor = app.login_as(Role::Editor).await;
    let start = editor.get("/products/new").await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    assert!(
        start
            .body
            .contains("<option value=\"gadgets\">gadgets</option>")
    );
    assert!(start.body.contains("Continue"));
    assert!(!start.body.contains("name=\"sku\""), "step one first");
    assert!(
        !start.body.contains("error-summary"),
        "no errors before a choice"
    );

    // A simple product: born disabled, enabling and categories in review.
    let step = editor.get("/products/new?family=gadgets&kind=simple").await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.body);
    assert!(step.body.contains("name=\"sku\""));
    assert!(
        !step.body.contains("name=\"axis."),
        "a simple product has no axes"
    );
    let created = editor
        .post_form(
            "/products/new?family=gadgets&kind=simple",
            "/products/new",
            &[
                ("family", "gadgets"),
                ("kind", "simple"),
                ("sku", "NEW-1"),
                ("categories", "electronics"),
                ("enable", "true"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), "/products/NEW-1?notice=product_created");
    let product = master(&app, "NEW-1").await.expect("created");
    assert_eq!(product.kind, ProductKind::Simple);
    assert!(!product.enabled, "born disabled");
    assert!(product.categories.is_empty(), "categories wait for review");
    let pending = proposals_of(&app, "NEW-1").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, Status::Submitted);
    assert_eq!(pending[0].note, "New product");
    let page = editor.get(created.location()).await;
    assert!(
        page.body.contains("Product created, disabled."),
        "{}",
        page.body
    );
    assert!(page.body.contains("badge-off\">disabled"));

    // A model, then a variant of it with its axis values.
    let created = editor
        .post_form(
            "/products/new?family=apparel&kind=model",
            "/products/new",
            &[
                ("family", "apparel"),
                ("kind", "model"),
                ("sku", "NEW-TEE"),
                ("enable", "true"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(
        master(&app, "NEW-TEE").await.expect("model").kind,
        ProductKind::Model
    );

    let step = editor
        .get("/products/new?family=apparel&kind=variant")
        .await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.body);
    assert!(
        step.body.contains("<option value=\"NEW-TEE\">"),
        "models offered"
    );
    let color = section(&step.body, "name=\"axis.color\"");
    assert!(
        color.contains("<option value=\"blue\">Blue</option>"),
        "{color}"
    );
    let created = editor
        .post_form(
            "/products/new?family=apparel&kind=variant",
            "/products/new",
            &[
                ("family", "apparel"),
                ("kind", "variant"),
                ("sku", "NEW-TEE-BL"),
                ("parent", "NEW-TEE"),
                ("axis.color", "blue"),
                ("axis.size", "l"),
                ("enable", "true"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let variant = master(&app, "NEW-TEE-BL").await.expect("variant");
    assert_eq!(variant.kind, ProductKind::Variant);
    assert_eq!(variant.parent.as_deref(), Some("NEW-TEE"));
    assert!(!variant.enabled);
    assert_eq!(
        variant.values.get(&ValueKey::new("color", None, None)),
        Some(&json!("blue")),
        "axis values are structure: applied at birth"
    );
    assert_eq!(proposals_of(&app, "NEW-TEE-BL").await.len(), 1);
    let model = editor.get("/products/NEW-TEE").await;
    let variants = section(&model.body, "id=\"variants-heading\"");
    assert!(variants.contains("NEW-TEE-BL"), "{variants}");
    assert!(variants.contains("Color: Blue, Size: L"), "{variants}");
}

async fn new_product_refuses_bad_input_and_other_roles(app: TestApp) {
    seed(&app).await;
    radio(&app).await;
    create(&app, "TEE", ProductKind::Model, "apparel", None, &[], &[]).await;
    let editor = app.login_as(Role::Editor).await;
    let form = "/products/new?family=gadgets&kind=simple";

    // A SKU that exists: a field error, the input kept, nothing created.
    let taken = editor
        .post_form(
            form,
            "/products/new",
            &[
                ("family", "gadgets"),
                ("kind", "simple"),
                ("sku", "G-1"),
                ("enable", "true"),
            ],
        )
        .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        taken.body
    );
    assert!(
        taken.body.contains("<p class=\"field-error\" id=\"sku-error\">a product with the SKU G-1 already exists</p>"),
        "{}",
        taken.body
    );
    assert!(
        taken
            .body
            .contains("<a href=\"#sku\">SKU: a product with the SKU G-1 already exists</a>")
    );
    assert!(
        taken
            .body
            .contains("name=\"sku\" type=\"text\" value=\"G-1\"")
    );
    assert_eq!(proposals_of(&app, "G-1").await.len(), 0);

    // A variant without a size: the axis's error, linked from the summary.
    let missing = editor
        .post_form(
            "/products/new?family=apparel&kind=variant",
            "/products/new",
            &[
                ("family", "apparel"),
                ("kind", "variant"),
                ("sku", "TEE-X"),
                ("parent", "TEE"),
                ("axis.color", "red"),
                ("axis.size", ""),
            ],
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("<a href=\"#axis.size\">"),
        "{}",
        missing.body
    );
    assert!(missing.body.contains("id=\"axis.size-error\""));
    assert!(
        missing
            .body
            .contains("<option value=\"red\" selected>Red</option>"),
        "the chosen color is kept"
    );
    assert!(master(&app, "TEE-X").await.is_none());

    // A model of a family without axes stays on step one.
    let wrong = editor.get("/products/new?family=gadgets&kind=model").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("id=\"kind-error\""), "{}", wrong.body);
    assert!(!wrong.body.contains("name=\"sku\""));

    // No CSRF token: refused, nothing created.
    let forged = editor
        .post_raw(
            "/products/new",
            &[("family", "gadgets"), ("kind", "simple"), ("sku", "FORGED")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(master(&app, "FORGED").await.is_none());

    // Viewers and approvers may not create products.
    for role in [Role::Viewer, Role::Approver] {
        let other = app.login_as(role).await;
        assert_eq!(
            other.get("/products/new").await.status,
            StatusCode::FORBIDDEN
        );
        let refused = other
            .post_form(
                "/products",
                "/products/new",
                &[("family", "gadgets"), ("kind", "simple"), ("sku", "NOPE-1")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    assert!(master(&app, "NOPE-1").await.is_none());
}
