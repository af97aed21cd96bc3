//! Mapping profiles: the admin pages (form and TOML editors, problems against
//! the schema, stale saves, delete) and profiles in `sluice schema
//! export/apply` files.

use axum::http::StatusCode;
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::schema::Attribute;
use sluice::catalog::store;
use sluice::import::profile::Transform;
use sluice::import::profiles::{self, Base, ProfileError};
use sluice::schema_code::{self, Action, SchemaError, SchemaFile};

use crate::{Client, TestApp};

crate::db_tests!(
    admin_creates_a_profile_with_the_form,
    admin_edits_a_profile_as_toml_and_its_comments_stay,
    invalid_toml_is_shown_with_its_line,
    a_profile_naming_a_missing_attribute_is_refused,
    a_save_over_a_newer_version_is_refused,
    profile_pages_are_for_admins_only,
    admin_deletes_a_profile,
    profiles_round_trip_through_schema_export_and_apply,
);

const LIST: &str = "/settings/profiles";
const NEW: &str = "/settings/profiles/new";

/// A profile for the test catalog (tests/it/fixtures/catalog.toml), with comments.
const BASIC: &str = r#"# The basic ERP export: this comment stays when edited as TOML.
code = "basic"
label = "Basic ERP export"
identifier = "sku"
family = { fixed = "apparel" }

[[columns]]
column = "title"   # the ERP calls the name "title"
attribute = "name"
locale = "en_US"
seed = true

[[columns]]
column = "price"
attribute = "base_price"
currency = "USD"
"#;

/// The value of the first hidden field `name` on a page.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field on the page: {body}"))
        + marker.len();
    let end = body[start..].find('"').expect("end of value") + start;
    body[start..end].to_owned()
}

/// The form's fields for a profile with the given column rows
/// (column, attribute, locale, currency, value map), every row seeded that
/// `seeded` lists, and one blank row as a page sends it.
fn form_fields<'a>(
    general: &[(&'a str, &'a str)],
    rows: &[(&'a str, &'a str, &'a str, &'a str, &'a str)],
    seeded: &[&'a str],
) -> Vec<(&'a str, &'a str)> {
    let mut fields = general.to_vec();
    for &(column, attribute, locale, currency, value_map) in
        rows.iter().chain([("", "", "", "", "")].iter())
    {
        fields.extend([
            ("col_column", column),
            ("col_attribute", attribute),
            ("col_locale", locale),
            ("col_channel", ""),
            ("col_currency", currency),
            ("col_currency_column", ""),
            ("col_unit", ""),
            ("col_unit_column", ""),
            (
                "col_transforms",
                if column.is_empty() { "" } else { "trim" },
            ),
            ("col_value_map", value_map),
            ("col_default", ""),
        ]);
    }
    fields.extend(seeded.iter().map(|index| ("col_seed", *index)));
    fields
}

const GENERAL: [(&str, &str); 14] = [
    ("editor", "form"),
    ("code", "erp-basic"),
    ("label", "Basic ERP"),
    ("format", "csv"),
    ("delimiter", ";"),
    ("encoding", "utf8"),
    ("identifier", "sku"),
    ("family_column", ""),
    ("family_fixed", "apparel"),
    ("family_map", ""),
    ("parent", ""),
    ("category_column", "cats"),
    ("category_separator", "|"),
    ("empty_cells", "clear"),
];

async fn admin_creates_a_profile_with_the_form(app: TestApp) {
    app.seed_schema().await;
    let admin = app.login_as(Role::Admin).await;
    let list = admin.get(LIST).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("No mapping profiles yet."));
    assert!(list.body.contains("href=\"/settings/profiles/new\""));
    assert!(
        !list.body.contains("Not built yet"),
        "the placeholder is gone"
    );

    let form = admin.get(NEW).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body
            .contains("comments are kept only when you edit as TOML")
    );

    let fields = form_fields(
        &GENERAL,
        &[
            ("title", "name", "en_US", "", ""),
            ("colour", "color", "", "", "Rot=red\r\nBlau = blue"),
            ("price", "base_price", "", "USD", ""),
        ],
        &["0", "1"],
    );
    let created = admin.post_form(NEW, NEW, &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(
        created.location(),
        "/settings/profiles/erp-basic?notice=profile_created"
    );

    let stored = profiles::get(app.db().pool(), "erp-basic")
        .await
        .expect("get")
        .expect("stored");
    let profile = &stored.profile;
    assert_eq!(profile.label, "Basic ERP");
    assert_eq!(profile.delimiter, Some(';'));
    assert_eq!(profile.family.fixed.as_deref(), Some("apparel"));
    assert_eq!(
        profile.categories.as_ref().map(|c| c.separator.as_str()),
        Some("|")
    );
    let columns: Vec<(&str, &str, bool)> = profile
        .columns
        .iter()
        .map(|c| (c.column.as_str(), c.attribute.as_str(), c.seed))
        .collect();
    assert_eq!(
        columns,
        [
            ("title", "name", true),
            ("colour", "color", true),
            ("price", "base_price", false)
        ]
    );
    assert_eq!(profile.columns[0].transforms, [Transform::Trim]);
    assert_eq!(
        profile.columns[1].value_map.get("Blau").map(String::as_str),
        Some("blue")
    );
    assert_eq!(profile.columns[2].currency.as_deref(), Some("USD"));
    assert!(stored.toml.contains("code = \"erp-basic\""));
    assert!(stored.updated_by.starts_with("admin-"));

    let page = admin.get(created.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Mapping profile created."));
    assert!(page.body.contains("value=\"colour\""));
    assert!(page.body.contains("Rot=red"));
    assert!(
        page.body.contains("[[columns]]"),
        "the TOML editor shows it"
    );
    // Ownership notes: the seeded Sluice-owned columns only seed new products.
    assert!(page.body.contains("only seeds new products"));

    let list = admin.get(LIST).await.body;
    assert!(list.contains("href=\"/settings/profiles/erp-basic\""));
    assert!(list.contains("<td>3</td>"), "three columns: {list}");
    assert!(list.contains(">none<"), "no problems: {list}");

    // The code is taken now.
    let again = admin.post_form(NEW, NEW, &fields).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("already exists"), "{}", again.body);

    // A form with field errors is shown again with the input kept.
    let mut bad = form_fields(
        &GENERAL,
        &[
            ("title", "", "en_US", "", ""),
            ("gtin", "gtin", "", "", "x"),
        ],
        &[],
    );
    bad[1] = ("code", "second");
    bad[8] = ("family_fixed", "");
    let refused = admin.post_form(NEW, NEW, &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Give either the column"));
    assert!(refused.body.contains("Row 1: name the attribute it fills"));
    assert!(refused.body.contains("Row 2: value map line 1"));
    assert!(refused.body.contains("value=\"second\""));
    assert!(
        profiles::get(app.db().pool(), "second")
            .await
            .expect("get")
            .is_none()
    );

    let actions = app.audit_actions().await;
    assert!(actions.contains(&("profile.save".to_owned(), "erp-basic".to_owned())));
}

async fn admin_edits_a_profile_as_toml_and_its_comments_stay(app: TestApp) {
    app.seed_schema().await;
    let admin = app.login_as(Role::Admin).await;
    let created = admin
        .post_form(NEW, NEW, &[("editor", "toml"), ("definition", BASIC)])
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(
        created.location(),
        "/settings/profiles/basic?notice=profile_created"
    );
    let path = "/settings/profiles/basic";
    let stored = profiles::get(app.db().pool(), "basic")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.toml, BASIC, "stored exactly as written");

    // Edited as TOML (with the CRLF line ends a browser sends): comments stay.
    let page = admin.get(path).await;
    let loaded = hidden(&page.body, "updated");
    let edited = BASIC.replace("Basic ERP export", "Basic ERP export, v2");
    let saved = admin
        .post_form(
            path,
            &format!("{path}/toml"),
            &[
                ("updated", &loaded),
                ("definition", &edited.replace('\n', "\r\n")),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), format!("{path}?notice=profile_saved"));
    let stored = profiles::get(app.db().pool(), "basic")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.toml, edited);
    assert!(stored.toml.contains("# the ERP calls the name \"title\""));
    let page = admin.get(saved.location()).await.body;
    assert!(page.contains("Mapping profile saved."));
    assert!(page.contains("this comment stays when edited as TOML"));

    // The TOML may not rename the profile.
    let renamed = admin
        .post_form(
            path,
            &format!("{path}/toml"),
            &[
                ("updated", &hidden(&page, "updated")),
                ("definition", &edited.replace("\"basic\"", "\"renamed\"")),
            ],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        renamed.body.contains("cannot change here"),
        "{}",
        renamed.body
    );

    // Saving the form re-serializes: the profile stays, the comments go.
    let mut fields = form_fields(
        &GENERAL,
        &[
            ("title", "name", "en_US", "", ""),
            ("price", "base_price", "", "USD", ""),
        ],
        &["0"],
    );
    let token = hidden(&page, "updated");
    fields.push(("updated", &token));
    let saved = admin.post_form(path, path, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let stored = profiles::get(app.db().pool(), "basic")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.profile.code, "basic", "the path names the profile");
    assert_eq!(stored.profile.label, "Basic ERP");
    assert!(!stored.toml.contains('#'), "{}", stored.toml);
    assert_eq!(stored.profile.columns.len(), 2);
}

async fn invalid_toml_is_shown_with_its_line(app: TestApp) {
    app.seed_schema().await;
    let admin = app.login_as(Role::Admin).await;
    let broken = "code = \"broken\"\nidentifier = [\n";
    let response = admin
        .post_form(NEW, NEW, &[("editor", "toml"), ("definition", broken)])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.body.contains("The TOML could not be read"),
        "{}",
        response.body
    );
    assert!(response.body.contains("line 2"), "{}", response.body);
    assert!(
        response
            .body
            .contains(">code = &#34;broken&#34;\nidentifier = [\n</textarea>")
            || response
                .body
                .contains(">code = &quot;broken&quot;\nidentifier = [\n</textarea>"),
        "the text is kept: {}",
        response.body
    );

    // The same on an existing profile's TOML editor; the stored text stays.
    let actor = Actor::system("test");
    profiles::save(app.db(), &actor, BASIC, Base::New, app.clock().now())
        .await
        .expect("save");
    let path = "/settings/profiles/basic";
    let page = admin.get(path).await;
    let response = admin
        .post_form(
            path,
            &format!("{path}/toml"),
            &[
                ("updated", &hidden(&page.body, "updated")),
                ("definition", "code = \"basic\"\n\n[[columns]\n"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("line 3"), "{}", response.body);
    let stored = profiles::get(app.db().pool(), "basic")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.toml, BASIC);

    // Unknown fields are refused too (a typo is not silently ignored).
    let typo = BASIC.replace("identifier", "identifer");
    let response = admin
        .post_form(NEW, NEW, &[("editor", "toml"), ("definition", &typo)])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("identifer"), "{}", response.body);
}

async fn a_profile_naming_a_missing_attribute_is_refused(app: TestApp) {
    app.seed_schema().await;
    let admin = app.login_as(Role::Admin).await;
    let wrong = BASIC
        .replace("attribute = \"name\"", "attribute = \"title_text\"")
        .replace("currency = \"USD\"", "currency = \"GBP\"");
    let response = admin
        .post_form(NEW, NEW, &[("editor", "toml"), ("definition", &wrong)])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .body
            .contains("2 problem(s) against the current schema"),
        "{}",
        response.body
    );
    assert!(response.body.contains("there is no attribute title_text"));
    assert!(response.body.contains("there is no currency GBP"));

    // Through the form: the problem is listed next to the form, the input kept.
    let fields = form_fields(&GENERAL, &[("title", "title_text", "", "", "")], &[]);
    let response = admin.post_form(NEW, NEW, &fields).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("there is no attribute title_text"));
    assert!(response.body.contains("value=\"title_text\""));

    // The domain function says the same, typed.
    let err = profiles::save(
        app.db(),
        &Actor::system("test"),
        &wrong,
        Base::New,
        app.clock().now(),
    )
    .await
    .expect_err("refused");
    match err {
        ProfileError::Invalid(problems) => {
            assert_eq!(problems.len(), 2, "{problems:?}");
            assert!(problems[0].contains("column \"title\""), "{problems:?}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(
        profiles::list(app.db().pool())
            .await
            .expect("list")
            .is_empty()
    );

    // A stored profile that the schema no longer fits shows its problems.
    profiles::save(
        app.db(),
        &Actor::system("test"),
        BASIC,
        Base::New,
        app.clock().now(),
    )
    .await
    .expect("save");
    let mut schema = store::load_schema(app.db().pool()).await.expect("schema");
    schema.currencies.retain(|c| c.code != "USD");
    for channel in &mut schema.channels {
        channel.currencies.retain(|c| c != "USD");
    }
    schema_code::apply(
        app.db(),
        &Actor::system("test"),
        &schema,
        true,
        false,
        app.clock().now(),
    )
    .await
    .expect("drop USD");
    let list = admin.get(LIST).await.body;
    assert!(list.contains("1 problem<"), "{list}");
    let page = admin.get("/settings/profiles/basic").await.body;
    assert!(page.contains("there is no currency USD"), "{page}");
}

async fn a_save_over_a_newer_version_is_refused(app: TestApp) {
    app.seed_schema().await;
    profiles::save(
        app.db(),
        &Actor::system("test"),
        BASIC,
        Base::New,
        app.clock().now(),
    )
    .await
    .expect("save");
    let path = "/settings/profiles/basic";
    let toml_path = format!("{path}/toml");
    let alice = app.login_as(Role::Admin).await;
    let bob = app.login_as(Role::Admin).await;
    let loaded = hidden(&alice.get(path).await.body, "updated");

    let bobs = BASIC.replace("Basic ERP export", "Bob's export");
    let saved = bob
        .post_form(
            path,
            &toml_path,
            &[
                ("updated", &hidden(&bob.get(path).await.body, "updated")),
                ("definition", &bobs),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    // Alice saves over Bob's change with what she loaded before it: 409.
    let alices = BASIC.replace("Basic ERP export", "Alice's export");
    let refused = alice
        .post_form(
            path,
            &toml_path,
            &[("updated", &loaded), ("definition", &alices)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("changed this profile since you loaded it")
    );
    assert!(refused.body.contains("was changed by admin-"));
    assert!(
        refused.body.contains("Alice&#39;s export") || refused.body.contains("Alice&#x27;s export")
    );
    assert!(refused.body.contains("What is stored now"));
    let stored = profiles::get(app.db().pool(), "basic")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.toml, bobs, "Bob's change stays");

    // The form editor is checked the same way.
    let mut fields = form_fields(&GENERAL, &[("title", "name", "en_US", "", "")], &["0"]);
    fields.push(("updated", &loaded));
    let refused_form = alice.post_form(path, path, &fields).await;
    assert_eq!(refused_form.status, StatusCode::CONFLICT);

    // So is delete.
    let refused_delete = alice
        .post_form(path, &format!("{path}/delete"), &[("updated", &loaded)])
        .await;
    assert_eq!(refused_delete.status, StatusCode::CONFLICT);
    assert!(
        profiles::get(app.db().pool(), "basic")
            .await
            .expect("get")
            .is_some()
    );

    // The 409 page hands out the current version: saving again is a deliberate overwrite.
    let current = hidden(&refused.body, "updated");
    assert_eq!(current, stored.updated.to_stored());
    let overwritten = alice
        .post_form(
            path,
            &toml_path,
            &[("updated", &current), ("definition", &alices)],
        )
        .await;
    assert_eq!(
        overwritten.status,
        StatusCode::SEE_OTHER,
        "{}",
        overwritten.body
    );
    let stored = profiles::get(app.db().pool(), "basic")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.toml, alices);

    // A save without the loaded version is refused outright.
    let missing = alice
        .post_form(path, &toml_path, &[("definition", &alices)])
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);

    // Two saves in the same instant still get different versions.
    let actor = Actor::system("test");
    let at = app.clock().now();
    let first = profiles::save(
        app.db(),
        &actor,
        &bobs,
        Base::Loaded {
            code: "basic".to_owned(),
            updated: stored.updated,
        },
        at,
    )
    .await
    .expect("first");
    let second = profiles::save(
        app.db(),
        &actor,
        &alices,
        Base::Loaded {
            code: "basic".to_owned(),
            updated: first.updated,
        },
        at,
    )
    .await
    .expect("second");
    assert!(second.updated > first.updated);
    let stale = profiles::save(
        app.db(),
        &actor,
        &bobs,
        Base::Loaded {
            code: "basic".to_owned(),
            updated: first.updated,
        },
        at,
    )
    .await;
    assert!(
        matches!(stale, Err(ProfileError::Stale { .. })),
        "{stale:?}"
    );
}

async fn profile_pages_are_for_admins_only(app: TestApp) {
    app.seed_schema().await;
    profiles::save(
        app.db(),
        &Actor::system("test"),
        BASIC,
        Base::New,
        app.clock().now(),
    )
    .await
    .expect("save");
    let path = "/settings/profiles/basic";
    for role in [Role::Editor, Role::Approver, Role::Viewer] {
        let client: Client = app.login_as(role).await;
        for page in [LIST, NEW, path] {
            let response = client.get(page).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{role} GET {page}");
        }
        for (target, fields) in [
            (NEW, vec![("editor", "toml"), ("definition", BASIC)]),
            (path, vec![("updated", ""), ("label", "x")]),
            (
                "/settings/profiles/basic/toml",
                vec![("updated", ""), ("definition", BASIC)],
            ),
            ("/settings/profiles/basic/delete", vec![("updated", "")]),
        ] {
            let response = client.post_form("/", target, &fields).await;
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{role} POST {target}"
            );
        }
    }
    let stored = profiles::list(app.db().pool()).await.expect("list");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].toml, BASIC, "nothing changed");
    let anonymous = app.client().get(LIST).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

async fn admin_deletes_a_profile(app: TestApp) {
    app.seed_schema().await;
    profiles::save(
        app.db(),
        &Actor::system("test"),
        BASIC,
        Base::New,
        app.clock().now(),
    )
    .await
    .expect("save");
    let admin = app.login_as(Role::Admin).await;
    let path = "/settings/profiles/basic";
    let page = admin.get(path).await;
    assert!(
        page.body
            .contains("action=\"/settings/profiles/basic/delete\"")
    );
    let deleted = admin
        .post_form(
            path,
            &format!("{path}/delete"),
            &[("updated", &hidden(&page.body, "updated"))],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(
        deleted.location(),
        "/settings/profiles?notice=profile_deleted"
    );
    let list = admin.get(deleted.location()).await.body;
    assert!(list.contains("Mapping profile deleted."));
    assert!(list.contains("No mapping profiles yet."));
    assert!(
        profiles::get(app.db().pool(), "basic")
            .await
            .expect("get")
            .is_none()
    );
    let actions = app.audit_actions().await;
    assert_eq!(
        actions.first(),
        Some(&("profile.delete".to_owned(), "basic".to_owned()))
    );

    assert_eq!(admin.get(path).await.status, StatusCode::NOT_FOUND);
    let again = admin
        .post_form(LIST, &format!("{path}/delete"), &[("updated", "")])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

/// The second profile of the round trip: it maps an attribute that only the
/// desired schema (the same file) has.
const SECOND: &str = r#"
code = "second"
identifier = "sku"
family = { column = "group", map = { Shirts = "apparel" } }

[[columns]]
column = "note"
attribute = "erp_note"
"#;

async fn profiles_round_trip_through_schema_export_and_apply(app: TestApp) {
    app.seed_schema().await;
    let actor = Actor::system("test");
    let now = app.clock().now();
    profiles::save(app.db(), &actor, BASIC, Base::New, now)
        .await
        .expect("save");

    // Export: the schema, then the profiles as [[profiles]].
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    let version = schema.version;
    let stored = profiles::list(app.db().pool()).await.expect("list");
    let file = SchemaFile {
        schema,
        profiles: Some(stored.into_iter().map(|s| s.profile).collect()),
    };
    let text = schema_code::export_file(&file).expect("export");
    assert!(text.contains("[[profiles]]\ncode = \"basic\""), "{text}");
    assert!(text.contains("[[profiles.columns]]"), "{text}");
    let profiles_part = &text[text.find("[[profiles]]").unwrap_or_default()..];
    assert!(!profiles_part.contains("= []"), "{profiles_part}");
    assert!(
        !profiles_part.contains("[profiles.family.map]"),
        "{profiles_part}"
    );
    assert!(text.find("[[attributes]]") < text.find("[[profiles]]"));

    // Applying the export plans nothing and leaves the stored text (comments) alone.
    let read = schema_code::parse_file(&text).expect("parse");
    assert_eq!(read.profiles, file.profiles);
    let again = schema_code::apply_file(app.db(), &actor, &read, false, false, now)
        .await
        .expect("apply");
    assert!(again.plan.is_empty(), "{}", again.plan);
    assert_eq!(
        profiles::get(app.db().pool(), "basic")
            .await
            .expect("get")
            .expect("stored")
            .toml,
        BASIC
    );

    // No profiles at all exports as `profiles = []`, which reads back as "none".
    let empty = SchemaFile {
        schema: read.schema.clone(),
        profiles: Some(Vec::new()),
    };
    let empty_text = schema_code::export_file(&empty).expect("export");
    assert_eq!(
        schema_code::parse_file(&empty_text)
            .expect("parse")
            .profiles,
        Some(Vec::new())
    );

    // A file without `profiles` leaves them alone; the catalog-only apply too.
    let catalog_only = SchemaFile {
        schema: read.schema.clone(),
        profiles: None,
    };
    let untouched = schema_code::apply_file(app.db(), &actor, &catalog_only, false, false, now)
        .await
        .expect("apply");
    assert!(untouched.plan.is_empty());
    let plain =
        schema_code::parse(&schema_code::export(&read.schema).expect("export")).expect("parse");
    assert!(
        schema_code::apply(app.db(), &actor, &plain, false, true, now)
            .await
            .expect("plan")
            .plan
            .is_empty()
    );

    // The file drops `basic` and adds `second`, which maps an attribute the
    // same file adds: checked against the desired schema, not the stored one.
    let mut desired = read.clone();
    let note: Attribute = toml::from_str(
        "code = \"erp_note\"\ntype = \"text\"\ngroup = \"erp\"\nowner = \"erp\"\nlane = \"fast\"\n",
    )
    .expect("attribute");
    desired.schema.attributes.push(note);
    desired.profiles = Some(vec![profiles::parse(SECOND).expect("second parses")]);
    let dry = schema_code::apply_file(app.db(), &actor, &desired, false, true, now)
        .await
        .expect("dry run");
    let steps: Vec<String> = dry.plan.steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        steps,
        [
            "+ attribute erp_note".to_owned(),
            "+ profile second".to_owned(),
            "- profile basic  [destructive: the mapping profile is deleted; imports that name it are refused]"
                .to_owned(),
        ]
    );
    let refused = schema_code::apply_file(app.db(), &actor, &desired, false, false, now)
        .await
        .expect_err("needs --allow-destructive");
    match refused {
        SchemaError::Destructive(steps) => {
            assert_eq!(steps.len(), 1);
            assert!(steps[0].starts_with("- profile basic"));
        }
        other => panic!("expected Destructive, got {other:?}"),
    }
    assert!(
        profiles::get(app.db().pool(), "basic")
            .await
            .expect("get")
            .is_some(),
        "nothing applied"
    );
    let applied = schema_code::apply_file(app.db(), &actor, &desired, true, false, now)
        .await
        .expect("apply");
    assert!(applied.applied);
    let stored = profiles::list(app.db().pool()).await.expect("list");
    let codes: Vec<&str> = stored.iter().map(|s| s.profile.code.as_str()).collect();
    assert_eq!(codes, ["second"]);
    assert_eq!(stored[0].updated_by, "test");
    let actions = app.audit_actions().await;
    for expected in [
        ("profile.delete", "basic"),
        ("profile.save", "second"),
        ("schema.apply", "schema"),
    ] {
        assert!(
            actions.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {actions:?}"
        );
    }

    // A change to profiles alone leaves the catalog's version as it is.
    let version_after_attribute = store::load_schema(app.db().pool())
        .await
        .expect("schema")
        .version;
    assert!(version_after_attribute > version);
    let mut relabelled = desired.clone();
    if let Some(list) = relabelled.profiles.as_mut() {
        list[0].label = "Second".to_owned();
    }
    let applied = schema_code::apply_file(app.db(), &actor, &relabelled, false, false, now)
        .await
        .expect("apply");
    assert_eq!(applied.plan.steps.len(), 1);
    assert_eq!(applied.plan.steps[0].action, Action::Update);
    assert_eq!(applied.plan.steps[0].detail, "label");
    assert_eq!(
        store::load_schema(app.db().pool())
            .await
            .expect("schema")
            .version,
        version_after_attribute
    );

    // A profile that does not fit the file's schema stops the whole apply.
    let mut broken = relabelled.clone();
    broken.schema.attributes.retain(|a| a.code != "erp_note");
    let err = schema_code::apply_file(app.db(), &actor, &broken, true, false, now)
        .await
        .expect_err("invalid");
    match err {
        SchemaError::Invalid(problems) => assert_eq!(
            problems,
            ["profile second: column \"note\": there is no attribute erp_note"]
        ),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(
        store::load_schema(app.db().pool())
            .await
            .expect("schema")
            .attribute("erp_note")
            .is_some()
    );
}
