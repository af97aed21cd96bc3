//! Admin screens for the catalog schema: lists, edit-as-TOML pages with plan
//! preview, category moves and the whole schema as code.

use axum::http::StatusCode;
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::catalog::schema::Schema;
use sluice::catalog::store;
use sluice::schema_code;
use sluice::workflow::write::{self, NewProduct, ValueChange, Writer};

use crate::TestApp;

crate::db_tests!(
    schema_pages_are_for_admins_only,
    admin_sees_the_schema_lists,
    previewing_an_attribute_edit_changes_nothing_and_saving_applies_it,
    bad_toml_and_invalid_schemas_are_shown_next_to_the_text,
    attributes_are_created_and_deleted_through_the_plan,
    categories_move_and_loops_are_refused,
    the_whole_schema_round_trips,
    destructive_changes_need_the_tick,
);

const SEED: &str = r#"
[[locales]]
code = "en_US"
label = "English"

[[currencies]]
code = "USD"

[[channels]]
code = "web"
labels = { en_US = "Web shop" }
locales = ["en_US"]
currencies = ["USD"]
output_format = "json"
url_template = "https://shop.example.com/p/{sku}"

[[groups]]
code = "marketing"
labels = { en_US = "Marketing" }

[[attributes]]
code = "name"
type = "text"
labels = { en_US = "Product name" }
group = "marketing"
localizable = true
owner = "pim"
lane = "fast"
validation = { max_length = 120 }

[[attributes]]
code = "color"
type = "select"
labels = { en_US = "Color" }
group = "marketing"
owner = "pim"
lane = "reviewed"
options = [
  { code = "red", labels = { en_US = "Red" } },
  { code = "blue", labels = { en_US = "Blue" } },
]

[[attributes]]
code = "erp_code"
type = "text"
labels = { en_US = "ERP code" }
group = "marketing"
owner = "erp"
lane = "fast"

[[families]]
code = "shirts"
labels = { en_US = "Shirts" }
attributes = ["name", "color", "erp_code"]
requirements = { web = ["name", "color"] }
variant_axes = ["color"]

[[categories]]
code = "master"
labels = { en_US = "All products" }

[[categories]]
code = "tops"
parent = "master"
labels = { en_US = "Tops" }
"#;

async fn seed(app: &TestApp) {
    let schema = schema_code::parse(SEED).expect("seed parses");
    schema_code::apply(
        app.db(),
        &Actor::system("test"),
        &schema,
        false,
        false,
        app.clock().now(),
    )
    .await
    .expect("seed applies");
}

async fn schema(app: &TestApp) -> Schema {
    store::load_schema(app.db().pool())
        .await
        .expect("load schema")
}

const PAGES: [&str; 11] = [
    "/settings/attributes",
    "/settings/attributes/color",
    "/settings/attributes/new",
    "/settings/families",
    "/settings/families/shirts",
    "/settings/categories",
    "/settings/categories/tops",
    "/settings/channels",
    "/settings/channels/web",
    "/settings/schema",
    "/settings/schema.toml",
];

async fn schema_pages_are_for_admins_only(app: TestApp) {
    seed(&app).await;
    for role in [Role::Editor, Role::Viewer] {
        let client = app.login_as(role).await;
        for page in PAGES {
            let response = client.get(page).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{role} GET {page}");
        }
        for (path, fields) in [
            (
                "/settings/attributes/color",
                vec![("action", "delete"), ("definition", "")],
            ),
            (
                "/settings/schema",
                vec![("action", "apply"), ("definition", "")],
            ),
            ("/settings/categories/tops/move", vec![("parent", "")]),
        ] {
            let response = client.post_form("/", path, &fields).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{role} POST {path}");
        }
    }
    let mut unchanged = schema(&app).await;
    unchanged.version = 0;
    assert_eq!(
        unchanged,
        schema_code::parse(SEED).unwrap(),
        "nothing changed"
    );
    // Not signed in: sent to the login page.
    let anonymous = app.client().get("/settings/attributes").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

async fn admin_sees_the_schema_lists(app: TestApp) {
    seed(&app).await;
    let admin = app.login_as(Role::Admin).await;
    for page in PAGES {
        let response = admin.get(page).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "GET {page}: {}",
            response.body
        );
    }

    let attributes = admin.get("/settings/attributes").await.body;
    for expected in [
        ">Marketing <code class=\"muted\">marketing</code>",
        "href=\"/settings/attributes/color\"",
        "Product name",
        ">select<",
        ">reviewed<",
        "badge-erp",
        ">ERP<",
        "≤ 120 chars",
        "href=\"/settings/schema\"",
        "Edit as code",
        "href=\"/settings/attributes/new\"",
    ] {
        assert!(
            attributes.contains(expected),
            "attributes page lacks {expected}"
        );
    }

    let families = admin.get("/settings/families").await.body;
    for expected in [
        "href=\"/settings/families/shirts\"",
        "Shirts",
        "<td>3</td>",
        ">web</span> name, color",
        "Edit as code",
    ] {
        assert!(
            families.contains(expected),
            "families page lacks {expected}"
        );
    }

    let categories = admin.get("/settings/categories").await.body;
    let master = categories.find("All products").expect("root shown");
    let tops = categories.find(">Tops<").expect("child shown");
    assert!(master < tops);
    assert!(
        categories[master..tops].contains("<ul>"),
        "the child is nested in its parent's list"
    );
    assert!(categories.contains("action=\"/settings/categories/tops/move\""));
    assert!(categories.contains("<label for=\"parent-tops\""));
    assert!(categories.contains("Edit as code"));

    let channels = admin.get("/settings/channels").await.body;
    for expected in [
        "href=\"/settings/channels/web\"",
        "Web shop",
        "en_US",
        "USD",
        ">json<",
        "https://shop.example.com/p/{sku}",
        "Edit as code",
    ] {
        assert!(
            channels.contains(expected),
            "channels page lacks {expected}"
        );
    }

    let edit = admin.get("/settings/attributes/color").await.body;
    assert!(edit.contains("<label for=\"definition\""));
    assert!(edit.contains("code = &#34;color&#34;") || edit.contains("code = &quot;color&quot;"));
    assert!(
        edit.contains("value=\"delete\""),
        "existing entities can be deleted"
    );
    assert!(
        !admin
            .get("/settings/attributes/new")
            .await
            .body
            .contains("value=\"delete\"")
    );
    assert_eq!(
        admin.get("/settings/attributes/nothing").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The `color` attribute as TOML with a third option.
async fn color_with_green(app: &TestApp) -> String {
    let mut color = schema(app).await.attribute("color").unwrap().clone();
    color
        .options
        .push(sluice::catalog::schema::AttributeOption {
            code: "green".to_owned(),
            labels: [("en_US".to_owned(), "Green".to_owned())].into(),
        });
    toml::to_string_pretty(&color).unwrap()
}

async fn previewing_an_attribute_edit_changes_nothing_and_saving_applies_it(app: TestApp) {
    seed(&app).await;
    let admin = app.login_as(Role::Admin).await;
    let page = "/settings/attributes/color";
    let snippet = color_with_green(&app).await;
    let before = schema(&app).await;

    let preview = admin
        .post_form(
            page,
            page,
            &[("action", "preview"), ("definition", &snippet)],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("~ attribute color: options"),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains("Plan: 0 to create, 1 to update, 0 to delete.")
    );
    assert!(preview.body.contains("green"), "the text is kept");
    assert_eq!(schema(&app).await, before, "a preview changes nothing");

    let saved = admin
        .post_form(page, page, &[("action", "save"), ("definition", &snippet)])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location(),
        "/settings/attributes?notice=attribute_saved"
    );
    let after = schema(&app).await;
    let options: Vec<&str> = after
        .attribute("color")
        .unwrap()
        .options
        .iter()
        .map(|o| o.code.as_str())
        .collect();
    assert_eq!(options, ["red", "blue", "green"]);
    assert!(
        admin
            .get(saved.location())
            .await
            .body
            .contains("Attribute saved.")
    );

    // Saving the same again plans nothing.
    let again = admin
        .post_form(page, page, &[("action", "save"), ("definition", &snippet)])
        .await;
    assert_eq!(
        again.location(),
        "/settings/attributes?notice=schema_unchanged"
    );
}

async fn bad_toml_and_invalid_schemas_are_shown_next_to_the_text(app: TestApp) {
    seed(&app).await;
    let admin = app.login_as(Role::Admin).await;
    let page = "/settings/attributes/color";
    let before = schema(&app).await;

    let bad = admin
        .post_form(
            page,
            page,
            &[
                ("action", "save"),
                ("definition", "this is not toml at all"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(">this is not toml at all</textarea>"),
        "text kept"
    );
    assert!(bad.body.contains("id=\"definition-error\""));
    assert!(bad.body.contains("aria-invalid=\"true\""));
    assert!(bad.body.contains("aria-describedby=\"definition-error"));

    let mut color = before.attribute("color").unwrap().clone();
    color.group = "nowhere".to_owned();
    let unknown_group = toml::to_string_pretty(&color).unwrap();
    let invalid = admin
        .post_form(
            page,
            page,
            &[("action", "preview"), ("definition", &unknown_group)],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        invalid
            .body
            .contains("attribute color: unknown group nowhere"),
        "{}",
        invalid.body
    );
    assert!(invalid.body.contains("nowhere&#34;") || invalid.body.contains("nowhere&quot;"));

    color.group = "marketing".to_owned();
    color.code = "colour".to_owned();
    let renamed = toml::to_string_pretty(&color).unwrap();
    let mismatch = admin
        .post_form(page, page, &[("action", "save"), ("definition", &renamed)])
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.body.contains("The code cannot change here."));

    assert_eq!(schema(&app).await, before, "nothing was applied");
}

async fn attributes_are_created_and_deleted_through_the_plan(app: TestApp) {
    seed(&app).await;
    let admin = app.login_as(Role::Admin).await;
    let new = "/settings/attributes/new";
    let material = "code = \"material\"\ntype = \"text\"\ngroup = \"marketing\"\n\
                    owner = \"pim\"\nlane = \"fast\"\n[labels]\nen_US = \"Material\"\n";

    let preview = admin
        .post_form(new, new, &[("action", "preview"), ("definition", material)])
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(preview.body.contains("+ attribute material"));
    assert!(schema(&app).await.attribute("material").is_none());

    let created = admin
        .post_form(new, new, &[("action", "save"), ("definition", material)])
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(
        schema(&app)
            .await
            .attribute("material")
            .unwrap()
            .label("en_US"),
        "Material"
    );

    let taken = admin
        .post_form(new, new, &[("action", "save"), ("definition", material)])
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("already exists"));

    // An attribute a family lists cannot go: the problem names the family.
    let erp = "/settings/attributes/erp_code";
    let in_use = admin
        .post_form(
            erp,
            erp,
            &[("action", "delete"), ("definition", "kept text")],
        )
        .await;
    assert_eq!(in_use.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        in_use
            .body
            .contains("family shirts: unknown attribute erp_code")
    );
    assert!(in_use.body.contains(">kept text</textarea>"));

    let page = "/settings/attributes/material";
    let deleted = admin
        .post_form(page, page, &[("action", "delete"), ("definition", "")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(
        deleted.location(),
        "/settings/attributes?notice=attribute_deleted"
    );
    assert!(schema(&app).await.attribute("material").is_none());
}

async fn categories_move_and_loops_are_refused(app: TestApp) {
    seed(&app).await;
    let admin = app.login_as(Role::Admin).await;
    let list = "/settings/categories";

    let looped = admin
        .post_form(
            list,
            "/settings/categories/master/move",
            &[("parent", "tops")],
        )
        .await;
    assert_eq!(looped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        looped.body.contains("loops back to itself"),
        "{}",
        looped.body
    );
    assert!(looped.body.contains("id=\"parent-master-error\""));
    assert_eq!(schema(&app).await.category("master").unwrap().parent, None);

    let moved = admin
        .post_form(list, "/settings/categories/tops/move", &[("parent", "")])
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(
        moved.location(),
        "/settings/categories?notice=category_moved"
    );
    assert_eq!(schema(&app).await.category("tops").unwrap().parent, None);

    let back = admin
        .post_form(
            list,
            "/settings/categories/master/move",
            &[("parent", "tops")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(
        schema(&app)
            .await
            .category("master")
            .unwrap()
            .parent
            .as_deref(),
        Some("tops")
    );
    let page = admin.get(back.location()).await.body;
    assert!(page.contains("Category moved."));
    let tops = page.find(">Tops<").unwrap();
    let master = page.find(">All products<").unwrap();
    assert!(
        tops < master,
        "the moved category shows under its new parent"
    );
}

async fn the_whole_schema_round_trips(app: TestApp) {
    seed(&app).await;
    let admin = app.login_as(Role::Admin).await;
    let page = "/settings/schema";
    let exported = schema_code::export(&schema(&app).await).unwrap();

    let shown = admin.get(page).await;
    assert!(shown.body.contains("href=\"/settings/schema.toml\""));
    assert!(shown.body.contains("[[attributes]]"));

    let download = admin.get("/settings/schema.toml").await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.header("content-type"), Some("application/toml"));
    assert!(
        download
            .header("content-disposition")
            .is_some_and(|v| v.starts_with("attachment") && v.contains("catalog.toml"))
    );
    assert_eq!(download.body, exported);

    let preview = admin
        .post_form(
            page,
            page,
            &[("action", "preview"), ("definition", &download.body)],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(preview.body.contains("No changes"), "{}", preview.body);

    let applied = admin
        .post_form(
            page,
            page,
            &[("action", "apply"), ("definition", &exported)],
        )
        .await;
    assert_eq!(
        applied.location(),
        "/settings/schema?notice=schema_unchanged"
    );

    // Dropping a category from the text deletes it when applied.
    let mut smaller = schema(&app).await;
    smaller.categories.retain(|c| c.code != "tops");
    let text = schema_code::export(&smaller).unwrap();
    let preview = admin
        .post_form(page, page, &[("action", "preview"), ("definition", &text)])
        .await;
    assert!(preview.body.contains("- category tops"));
    let applied = admin
        .post_form(page, page, &[("action", "apply"), ("definition", &text)])
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    assert_eq!(applied.location(), "/settings/schema?notice=schema_applied");
    assert!(schema(&app).await.category("tops").is_none());

    let broken = admin
        .post_form(page, page, &[("action", "apply"), ("definition", "[[nope")])
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(broken.body.contains(">[[nope</textarea>"));
}

async fn destructive_changes_need_the_tick(app: TestApp) {
    seed(&app).await;
    write::create(
        app.db(),
        &schema(&app).await,
        &Writer::System(Actor::system("test")),
        NewProduct {
            sku: "TEE-1".to_owned(),
            kind: ProductKind::Simple,
            family: "shirts".to_owned(),
            parent: None,
            enabled: true,
            categories: Vec::new(),
            values: vec![ValueChange {
                key: ValueKey::new("name", Some("en_US"), None),
                data: Some(serde_json::json!("Tee")),
            }],
        },
        app.clock().now(),
    )
    .await
    .expect("product");
    let admin = app.login_as(Role::Admin).await;
    let page = "/settings/attributes/name";
    let mut name = schema(&app).await.attribute("name").unwrap().clone();
    name.localizable = false;
    let snippet = toml::to_string_pretty(&name).unwrap();

    let refused = admin
        .post_form(page, page, &[("action", "save"), ("definition", &snippet)])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("Allow destructive changes"));
    assert!(
        refused.body.contains("class=\"plan-update destructive\""),
        "the destructive step is marked in the plan: {}",
        refused.body
    );
    assert!(refused.body.contains("1 product(s) hold values"));
    assert!(refused.body.contains("localizable = false"), "text kept");
    assert!(schema(&app).await.attribute("name").unwrap().localizable);

    let allowed = admin
        .post_form(
            page,
            page,
            &[
                ("action", "save"),
                ("definition", &snippet),
                ("allow_destructive", "true"),
            ],
        )
        .await;
    // A product holds a value it removes: queued as a job, applied when run.
    assert_eq!(allowed.status, StatusCode::SEE_OTHER, "{}", allowed.body);
    assert!(
        allowed.location().starts_with("/jobs/"),
        "{}",
        allowed.location()
    );
    assert!(schema(&app).await.attribute("name").unwrap().localizable);
    sluice::jobs::worker::drain(&app.state)
        .await
        .expect("jobs run");
    assert!(!schema(&app).await.attribute("name").unwrap().localizable);
}
