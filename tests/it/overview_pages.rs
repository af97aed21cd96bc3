//! The overview pages of issue 12: the product grid (result count, previous
//! and next pages, sortable headers with recently updated first, inherited
//! names, badges naming the missing values, the "New product" link), the
//! dashboard (held products counted once, the readiness table and bars, the
//! 14-day activity charts) and the channel page's not-ready breakdown.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice::auth::{Caller, Credential};
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::catalog::schema::Schema;
use sluice::catalog::store::{self, ProductCount, ProductFilter};
use sluice::workflow::proposals;
use sluice::workflow::write::{ChangeSet, NewProduct, ValueChange};

use crate::TestApp;
use crate::channel_pages::{create, figure, gadget, held_change, listed, section, update};
use crate::seed::{Val, changes, new_product, setup_with};

crate::db_tests!(
    grid_counts_what_the_filters_match,
    grid_pages_forward_and_back,
    grid_sorts_by_its_headers_and_defaults_to_recently_updated,
    grid_names_inherited_names_and_missing_values,
    dashboard_counts_a_product_held_on_two_channels_once,
    channel_page_breaks_not_ready_down_by_reason_kind,
    charts_render_with_no_data,
    activity_counts_imports_approvals_and_feed_events_on_their_utc_day,
);

async fn setup(app: &TestApp) -> Schema {
    setup_with(app, |_| {}).await
}

/// A product made by the system, with its categories and enabling.
async fn make(
    app: &TestApp,
    schema: &Schema,
    sku: &str,
    (kind, family, parent): (ProductKind, &str, Option<&str>),
    enabled: bool,
    categories: &[&str],
    values: &[Val<'_>],
) {
    let product = NewProduct {
        enabled,
        categories: crate::seed::categories(categories),
        values: changes(values),
        ..new_product(sku, kind, family, parent)
    };
    app.create_as_system(schema, product).await;
}

/// The text of the result count.
fn result_count(body: &str) -> String {
    let start = body
        .find("id=\"result-count\">")
        .unwrap_or_else(|| panic!("no result count: {body}"))
        + "id=\"result-count\">".len();
    let end = body[start..].find('<').expect("end") + start;
    body[start..end].to_owned()
}

/// The `href` of the link with `rel`, unescaped as a browser would.
fn link(body: &str, rel: &str) -> Option<String> {
    let marker = format!("\" rel=\"{rel}\"");
    let end = body.find(&marker)?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(body[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The `<th>` of a column heading, from `<th` to `</th>`.
fn heading<'a>(body: &'a str, label: &str) -> &'a str {
    let head = section_between(body, "<thead>", "</thead>");
    let at = head
        .find(&format!(">{label}"))
        .unwrap_or_else(|| panic!("no {label} heading: {head}"));
    let body = head;
    let start = body[..at].rfind("<th").expect("th");
    let end = body[at..].find("</th>").expect("end of th") + at;
    &body[start..end]
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:03}")).collect()
}

async fn grid_counts_what_the_filters_match(app: TestApp) {
    let schema = setup(&app).await;
    for sku in numbered("GAD", 3) {
        create(&app, &schema, &sku, "gadgets", &gadget("Lamp")).await;
    }
    for sku in numbered("TEE", 2) {
        create(&app, &schema, &sku, "apparel", &[]).await;
    }
    app.settle().await;
    let viewer = app.login_as(Role::Viewer).await;
    let all = viewer.get("/products").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(result_count(&all.body), "5 products");
    let gadgets = viewer.get("/products?family=gadgets").await;
    assert_eq!(
        result_count(&gadgets.body),
        "3 products match these filters"
    );
    assert_eq!(listed(&gadgets.body).len(), 3);
    // The count follows readiness filters too: only the apparel misses web values.
    let missing = viewer.get("/products?missing=web&sku=tee").await;
    assert_eq!(
        result_count(&missing.body),
        "2 products match these filters"
    );
    let one = viewer.get("/products?sku=GAD-001").await;
    assert_eq!(result_count(&one.body), "1 product match these filters");
    let none = viewer.get("/products?sku=nothing").await;
    assert_eq!(result_count(&none.body), "0 products match these filters");
    assert!(none.body.contains("No products match."));
    // Counting stops past its cap (10,000 on the grid) and says so.
    let filter = ProductFilter::default();
    let capped = store::count(app.db(), &filter, 4).await.expect("count");
    assert_eq!(capped, ProductCount::MoreThan(4));
    let exact = store::count(app.db(), &filter, 5).await.expect("count");
    assert_eq!(exact, ProductCount::Exactly(5));
}

async fn grid_pages_forward_and_back(app: TestApp) {
    let schema = setup(&app).await;
    // 120 products: pages of 50, 50 and 20 by SKU.
    let skus = numbered("P", 120);
    for sku in &skus {
        create(&app, &schema, sku, "gadgets", &[]).await;
    }
    let viewer = app.login_as(Role::Viewer).await;
    let first = viewer.get("/products?sort=sku&family=gadgets").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(listed(&first.body), skus[..50]);
    assert!(link(&first.body, "prev").is_none(), "no previous on page 1");

    let next = link(&first.body, "next").expect("a next page");
    assert!(next.contains("family=gadgets"), "filters kept: {next}");
    let second = viewer.get(&next).await;
    assert_eq!(listed(&second.body), skus[50..100]);
    // Previous from page 2 gives page 1 exactly.
    let back = viewer
        .get(&link(&second.body, "prev").expect("a previous page"))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(listed(&back.body), skus[..50]);
    assert!(link(&back.body, "prev").is_none(), "back on page 1");

    // The last page, then back: page 2, then page 1.
    let last = viewer
        .get(&link(&second.body, "next").expect("page 3"))
        .await;
    assert_eq!(listed(&last.body), skus[100..]);
    assert!(
        link(&last.body, "next").is_none(),
        "nothing after the last page"
    );
    let before_last = viewer
        .get(&link(&last.body, "prev").expect("previous of the last page"))
        .await;
    assert_eq!(listed(&before_last.body), skus[50..100]);
    assert_eq!(
        link(&before_last.body, "next").map(|href| href.contains("cursor=")),
        Some(true)
    );
    let again = viewer
        .get(&link(&before_last.body, "next").expect("next"))
        .await;
    assert_eq!(listed(&again.body), skus[100..]);

    // A page past a cursor that has no rows any more (here: the filter in
    // the link was changed to SKUs that all sort before the cursor) still
    // leads back, to what comes before it, and to the first page.
    let past = next.replace("family=gadgets", "sku=P-00");
    let empty = viewer.get(&past).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert!(listed(&empty.body).is_empty());
    let back = viewer
        .get(&link(&empty.body, "prev").expect("a way back from an empty page"))
        .await;
    assert_eq!(listed(&back.body), skus[..10]);
    assert!(empty.body.contains("First page"), "{}", empty.body);

    // The default sort pages back and forth the same way.
    let newest = viewer.get("/products").await;
    let newest_second = viewer.get(&link(&newest.body, "next").expect("next")).await;
    let newest_back = viewer
        .get(&link(&newest_second.body, "prev").expect("prev"))
        .await;
    assert_eq!(listed(&newest_back.body), listed(&newest.body));

    // The API pages back too, and refuses what is not a cursor.
    let token = app.user_token(&[Role::Viewer], "catalog:read").await;
    let api_page = |query: String| {
        let (app, token) = (&app, &token);
        async move {
            let path = format!("/api/v1/products?sort=sku&limit=2{query}");
            app.api(Method::GET, &path, Some(token)).await
        }
    };
    let page = api_page(String::new()).await.json();
    assert!(page.get("prev_cursor").is_none(), "{page}");
    let cursor = page["next_cursor"].as_str().expect("next cursor");
    let page2 = api_page(format!("&cursor={cursor}")).await.json();
    let prev = page2["prev_cursor"].as_str().expect("prev cursor");
    let page1 = api_page(format!("&before={prev}")).await.json();
    assert_eq!(page1["items"], page["items"]);
    for bad in ["before=0", "before=s.x&cursor=s.y", "before=u.nope"] {
        let refused = api_page(format!("&{bad}")).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let refused = viewer.get("/products?before=0").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}

async fn grid_sorts_by_its_headers_and_defaults_to_recently_updated(app: TestApp) {
    let schema = setup(&app).await;
    create(&app, &schema, "B-GADGET", "gadgets", &[]).await;
    app.clock().advance(time::Duration::seconds(5));
    create(&app, &schema, "A-SHIRT", "apparel", &[]).await;
    app.clock().advance(time::Duration::seconds(5));
    create(&app, &schema, "C-GADGET", "gadgets", &[]).await;
    app.clock().advance(time::Duration::seconds(5));
    // Changing the oldest brings it to the top.
    update(
        &app,
        &schema,
        "B-GADGET",
        &[("search_boost", None, None, json!("2"))],
    )
    .await;

    let editor = app.login_as(Role::Editor).await;
    let page = editor.get("/products").await;
    assert_eq!(listed(&page.body), ["B-GADGET", "C-GADGET", "A-SHIRT"]);
    let updated = heading(&page.body, "Updated");
    assert!(updated.contains("aria-sort=\"descending\""), "{updated}");
    assert!(
        updated.contains("href=\"/products?sort=updated\""),
        "{updated}"
    );
    let sku = heading(&page.body, "SKU");
    assert!(!sku.contains("aria-sort"), "{sku}");
    assert!(sku.contains("href=\"/products?sort=sku\""), "{sku}");
    assert!(
        page.body
            .contains("<a class=\"button primary\" href=\"/products/new\">New product</a>")
    );

    let oldest = editor.get("/products?sort=updated").await;
    assert_eq!(listed(&oldest.body), ["A-SHIRT", "C-GADGET", "B-GADGET"]);
    assert!(heading(&oldest.body, "Updated").contains("aria-sort=\"ascending\""));

    let by_sku = editor.get("/products?sort=sku").await;
    assert_eq!(listed(&by_sku.body), ["A-SHIRT", "B-GADGET", "C-GADGET"]);
    let sku = heading(&by_sku.body, "SKU");
    assert!(sku.contains("aria-sort=\"ascending\""), "{sku}");
    assert!(
        sku.contains("href=\"/products?sort=-sku\""),
        "toggles: {sku}"
    );
    let reversed = editor.get("/products?sort=-sku").await;
    assert_eq!(listed(&reversed.body), ["C-GADGET", "B-GADGET", "A-SHIRT"]);
    assert!(heading(&reversed.body, "SKU").contains("href=\"/products?sort=sku\""));

    // By family (apparel before gadgets), then SKU; filters stay in the links.
    let by_family = editor.get("/products?sort=family").await;
    assert_eq!(listed(&by_family.body), ["A-SHIRT", "B-GADGET", "C-GADGET"]);
    let desc = editor.get("/products?sort=-family").await;
    assert_eq!(listed(&desc.body), ["C-GADGET", "B-GADGET", "A-SHIRT"]);
    let filtered = editor.get("/products?family=gadgets&sort=sku").await;
    assert!(
        heading(&filtered.body, "Updated")
            .contains("href=\"/products?family=gadgets&#38;sort=-updated\""),
        "{}",
        heading(&filtered.body, "Updated")
    );
    let bad = editor.get("/products?sort=price").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // A viewer may not create: no link.
    let viewer = app.login_as(Role::Viewer).await;
    let page = viewer.get("/products").await;
    assert!(!page.body.contains("/products/new"));
}

async fn grid_names_inherited_names_and_missing_values(app: TestApp) {
    let schema = setup(&app).await;
    let model = (ProductKind::Model, "apparel", None);
    let name = ("name", Some("en_US"), None, json!("Trail shirt"));
    make(&app, &schema, "SHIRT", model, true, &[], &[name]).await;
    let variant = (ProductKind::Variant, "apparel", Some("SHIRT"));
    let axes = [
        ("color", None, None, json!("blue")),
        ("size", None, None, json!("m")),
    ];
    make(&app, &schema, "SHIRT-BLUE-M", variant, true, &[], &axes).await;
    let lamp = [("name", Some("en_US"), None, json!("Lamp"))];
    create(&app, &schema, "GAD-1", "gadgets", &lamp).await;
    app.settle().await;

    let viewer = app.login_as(Role::Viewer).await;
    let page = viewer.get("/products?sort=sku").await;
    let row = section_row(&page.body, "SHIRT-BLUE-M");
    assert!(row.contains("Trail shirt"), "{row}");
    assert!(row.contains(">inherited<"), "marked as inherited: {row}");
    let model_row = section_row(&page.body, "SHIRT\"");
    assert!(
        model_row.contains("Trail shirt") && !model_row.contains(">inherited<"),
        "{model_row}"
    );
    // GAD-1 lacks its German name and its description on web.
    let gadget = section_row(&page.body, "GAD-1");
    assert!(gadget.contains("web: description, Name"), "{gadget}");
    assert!(!gadget.contains("web: 3"), "names, not counts: {gadget}");
    // Google wants the variant's GTIN (and more) besides.
    assert!(row.contains("google: "), "{row}");
    assert!(row.contains("gtin"), "{row}");
}

/// The `<tr>` holding the link to `sku` (a prefix of the closing quote).
fn section_row<'a>(body: &'a str, sku: &str) -> &'a str {
    let at = body
        .find(&format!("<td><a href=\"/products/{sku}"))
        .unwrap_or_else(|| panic!("no row {sku}: {body}"));
    let start = body[..at].rfind("<tr>").expect("tr");
    let end = body[at..].find("</tr>").expect("end of row") + at;
    &body[start..end]
}

async fn dashboard_counts_a_product_held_on_two_channels_once(app: TestApp) {
    let schema = setup(&app).await;
    create(&app, &schema, "GAD-1", "gadgets", &gadget("Charger")).await;
    create(&app, &schema, "GAD-2", "gadgets", &gadget("Lamp")).await;
    app.settle().await;
    // GAD-1 loses its English description: held on web (required) and on
    // google (its format needs a description).
    update(
        &app,
        &schema,
        "GAD-1",
        &[("description", Some("en_US"), None, Value::Null)],
    )
    .await;
    // GAD-2 loses its German one: held on web only.
    update(&app, &schema, "GAD-2", &held_change()).await;
    app.settle().await;

    let viewer = app.login_as(Role::Viewer).await;
    let web = viewer.get("/channels/web").await;
    assert_eq!(figure(&web.body, "count-held"), 2);
    let google = viewer.get("/channels/google").await;
    assert_eq!(figure(&google.body, "count-held"), 1);

    let dashboard = viewer.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    assert_eq!(figure(&dashboard.body, "held-products"), 2);
    assert!(
        dashboard.body.contains("(3 channel × product pairs)"),
        "{}",
        section(&dashboard.body, "held-total")
    );
    let readiness = section(&dashboard.body, "id=\"readiness-heading\"");
    assert!(
        readiness.contains("<th scope=\"col\">Ready now</th>"),
        "{readiness}"
    );
    assert!(
        readiness.contains("<th scope=\"col\">In the feed</th>"),
        "{readiness}"
    );
    // web: both in the feed, both held, none ready now.
    let web_row = {
        let at = readiness.find("href=\"/channels/web\"").expect("web row");
        let end = readiness[at..].find("</tr>").expect("row end") + at;
        &readiness[at..end]
    };
    assert!(
        web_row.contains("<td class=\"num\">0</td><td class=\"num\">2</td><td class=\"num\">2</td><td class=\"num\"><span class=\"badge badge-warn\">2</span></td>"),
        "{web_row}"
    );
    // The stacked bar says the same, in words and numbers.
    assert!(
        readiness.contains("Products on web: 2 in all; ready 0, held 2"),
        "{readiness}"
    );
}

async fn channel_page_breaks_not_ready_down_by_reason_kind(app: TestApp) {
    let schema = setup_with(&app, |schema| {
        for channel in &mut schema.channels {
            if channel.code == "web" {
                channel.category_root = Some("electronics".to_owned());
            }
        }
    })
    .await;
    let simple_gadget = (ProductKind::Simple, "gadgets", None);
    let name_only = vec![("name", Some("en_US"), None, json!("Bare"))];
    // (SKU, enabled, category, values); BARE-OFF is disabled and misses
    // values: it counts once, as disabled.
    let products = [
        ("READY", true, "electronics", gadget("Lamp")),
        ("HELD", true, "electronics", gadget("Fan")),
        ("OFF", false, "electronics", gadget("Old")),
        ("ELSEWHERE", true, "clothing", gadget("Odd")),
        ("BARE-1", true, "electronics", name_only.clone()),
        ("BARE-2", true, "electronics", name_only.clone()),
        ("BARE-OFF", false, "electronics", name_only),
    ];
    for (sku, enabled, category, values) in &products {
        make(
            &app,
            &schema,
            sku,
            simple_gadget,
            *enabled,
            &[category],
            values,
        )
        .await;
    }
    app.settle().await;
    update(&app, &schema, "HELD", &held_change()).await;
    app.settle().await;

    let viewer = app.login_as(Role::Viewer).await;
    let page = viewer.get("/channels/web").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let breakdown = section(&page.body, "id=\"readiness-heading\"");
    let reason = |label: &str| -> i64 {
        let marker = format!("data-reason=\"{label}\">");
        let start = breakdown
            .find(&marker)
            .unwrap_or_else(|| panic!("no {label}: {breakdown}"))
            + marker.len();
        let end = breakdown[start..].find('<').expect("end") + start;
        breakdown[start..end].parse().expect("a number")
    };
    assert_eq!(reason("Held at the last good snapshot"), 1);
    assert_eq!(reason("Disabled (the product or its model)"), 2);
    assert_eq!(reason("Outside the category tree"), 1);
    assert_eq!(reason("Missing required values"), 2);
    assert_eq!(reason("Invalid values"), 0);
    assert_eq!(reason("Format limits (text too long)"), 0);
    let not_ready = figure(&page.body, "count-not-ready");
    assert_eq!(not_ready, 6);
    assert_eq!(figure(&page.body, "breakdown-total"), not_ready);
    assert_eq!(figure(&page.body, "count-ready"), 1);
    assert!(breakdown.contains("6 products not ready"), "{breakdown}");
    assert!(breakdown.contains("Products on web: 7 in all; ready 1, held 1, disabled 2, outside the category tree 1, missing values 2"), "{breakdown}");

    // Missing values by attribute: products, not product × locale.
    let missing = section(&page.body, "id=\"missing-heading\"");
    assert!(!missing.contains("No product misses"), "{missing}");
    let description = missing
        .split("<tr>")
        .find(|row| row.contains("<code>description</code>"))
        .unwrap_or_else(|| panic!("description row: {missing}"));
    // BARE-1, BARE-2, BARE-OFF and HELD (German) miss it.
    assert!(
        description.contains("<td class=\"num\">4</td>"),
        "{description}"
    );

    // Google has no tree and no such gaps: nothing contradicts itself there.
    let google = viewer.get("/channels/google").await;
    let google_missing = section(&google.body, "id=\"missing-heading\"");
    let google_not_ready = figure(&google.body, "count-not-ready");
    assert_eq!(
        google_not_ready > 0,
        !google_missing.contains("No product misses")
    );
}

async fn charts_render_with_no_data(app: TestApp) {
    app.seed_schema().await;
    let editor = app.login_as(Role::Editor).await;
    let dashboard = editor.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    assert!(
        dashboard
            .body
            .contains("Products on web: 0 in all; ready 0, held 0")
    );
    for chart in ["Imports", "Approvals", "Feed events"] {
        assert!(
            dashboard.body.contains(&format!("aria-label=\"{chart}, ")),
            "{chart}: {}",
            section(&dashboard.body, "id=\"activity-heading\"")
        );
        assert!(dashboard.body.contains(&format!("{chart} per UTC day")));
    }
    assert!(dashboard.body.contains(": 0 in all, at most 0 a day"));
    assert!(
        !dashboard.body.contains("class=\"day-bar\""),
        "no bars drawn"
    );
    assert!(!dashboard.body.contains("style="), "no inline style");
    let channel = editor.get("/channels/web").await;
    assert!(channel.body.contains("Products on web: 0 in all"));
    assert!(channel.body.contains("No product misses a required value."));
    assert_eq!(figure(&channel.body, "breakdown-total"), 0);
    // A viewer does not see the imports chart (imports are not theirs).
    let viewer = app.login_as(Role::Viewer).await;
    let dashboard = viewer.get("/").await;
    assert!(!dashboard.body.contains("Imports per UTC day"));
    assert!(dashboard.body.contains("Approvals per UTC day"));
}

/// The count a day-bars chart's hidden table gives `day`.
fn day_count(body: &str, chart: &str, day: &str) -> i64 {
    let table = section_between(body, &format!("<caption>{chart} per UTC day"), "</table>");
    let marker = format!("<tr><td>{day}</td><td>");
    let start = table
        .find(&marker)
        .unwrap_or_else(|| panic!("{chart} has no {day}: {table}"))
        + marker.len();
    let end = table[start..].find('<').expect("end") + start;
    table[start..end].parse().expect("a number")
}

fn section_between<'a>(body: &'a str, from: &str, to: &str) -> &'a str {
    let start = body
        .find(from)
        .unwrap_or_else(|| panic!("no {from}: {body}"));
    let end = body[start..].find(to).map_or(body.len(), |e| e + start);
    &body[start..end]
}

async fn activity_counts_imports_approvals_and_feed_events_on_their_utc_day(app: TestApp) {
    let schema = setup(&app).await;
    let day = app.clock().now().to_stored()[..10].to_owned();
    // An import submitted today.
    sluice::import::profiles::put(
        app.db().pool(),
        "tiny",
        "code = \"tiny\"\nlabel = \"Tiny\"\nidentifier = \"sku\"\nfamily = { fixed = \"gadgets\" }\n\n[[columns]]\ncolumn = \"name\"\nattribute = \"name\"\nlocale = \"en_US\"\nseed = true\n",
        "test",
        app.clock().now(),
    )
    .await
    .expect("profile");
    let token = app.user_token(&[Role::Editor], "import catalog:read").await;
    let sent = app
        .api_raw(
            Method::POST,
            "/api/v1/imports?profile=tiny&mode=upsert&name=items.csv",
            &token,
            b"sku,name\nIMP-1,Imported\n".to_vec(),
            &[("content-type", "text/csv")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    // A product published today on both channels: one feed event each.
    create(&app, &schema, "GAD-1", "gadgets", &gadget("Charger")).await;
    app.settle().await;
    // An approval today: an editor proposes a new name, an approver approves it.
    let editor = app.user("ed@test.local", &[Role::Editor]).await;
    let approver = app.user("ap@test.local", &[Role::Approver]).await;
    let as_caller = |user| Caller {
        user,
        credential: Credential::Session,
    };
    let proposed = proposals::edit(
        app.db(),
        &schema,
        &as_caller(editor),
        proposals::Edit {
            sku: "GAD-1",
            base_version: store::find(app.db().pool(), "GAD-1")
                .await
                .expect("find")
                .expect("GAD-1")
                .product
                .version,
            changes: &ChangeSet {
                values: vec![ValueChange {
                    key: ValueKey::new("name", Some("en_US"), None),
                    data: Some(json!("Fast charger")),
                }],
                ..ChangeSet::default()
            },
            submit_note: Some("better name"),
        },
        app.clock().now(),
    )
    .await
    .expect("proposal")
    .proposal
    .expect("a reviewed change");
    proposals::approve(
        app.db(),
        &schema,
        &as_caller(approver),
        proposed.id,
        None,
        false,
        app.clock().now(),
    )
    .await
    .expect("approved");
    app.settle().await;

    // Two days later, today is empty and that day keeps its counts.
    app.clock().advance(time::Duration::days(2));
    let today = app.clock().now().to_stored()[..10].to_owned();
    let browser = app.login_as(Role::Editor).await;
    let dashboard = browser.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
    assert_eq!(day_count(&dashboard.body, "Imports", &day), 1);
    assert_eq!(day_count(&dashboard.body, "Approvals", &day), 1);
    // Created on web and google, then the new name on both.
    assert_eq!(day_count(&dashboard.body, "Feed events", &day), 4);
    for chart in ["Imports", "Approvals", "Feed events"] {
        assert_eq!(day_count(&dashboard.body, chart, &today), 0, "{chart}");
    }
    assert!(
        dashboard.body.contains("<title>Feed events, "),
        "the SVG names itself"
    );
    assert!(dashboard.body.contains(&format!("<title>{day}: 4</title>")));
}
