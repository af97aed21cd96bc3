//! The browser side of governed publishing (issue 6): the channel list and
//! channel page (counts, most-missing attributes, held products with their
//! reasons, feed head, pulls and recent events), publish pending and
//! republish for admins only and behind CSRF, the product page's
//! publication state and channel preview, the grid's readiness filter, the
//! dashboard's readiness per channel and the channel settings form.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice::catalog::product::ProductKind;
use sluice::catalog::schema::{PublishMode, Schema};
use sluice::catalog::store;
use sluice::workflow::write::{ChangeSet, NewProduct};

use crate::seed::{Val, changes, new_product, setup_with};
use crate::{Client, TestApp};

crate::db_tests!(
    channel_pages_show_counts_held_reasons_pulls_and_events,
    admins_publish_pending_and_republish_from_the_channel_page,
    product_page_shows_publication_state_and_channel_preview,
    grid_filters_by_stored_readiness_for_channel_and_locale,
    channel_settings_save_publish_mode_and_mapping,
);

async fn setup(app: &TestApp) -> Schema {
    setup_with(app, |_| {}).await
}

async fn create_as(
    app: &TestApp,
    schema: &Schema,
    sku: &str,
    kind: ProductKind,
    family: &str,
    parent: Option<&str>,
    values: &[Val<'_>],
) {
    let product = NewProduct {
        values: changes(values),
        ..new_product(sku, kind, family, parent)
    };
    app.create_as_system(schema, product).await;
}

/// A simple product made by the system (an approved write).
pub(crate) async fn create(
    app: &TestApp,
    schema: &Schema,
    sku: &str,
    family: &str,
    values: &[Val<'_>],
) {
    create_as(app, schema, sku, ProductKind::Simple, family, None, values).await;
}

pub(crate) async fn update(app: &TestApp, schema: &Schema, sku: &str, values: &[Val<'_>]) {
    let change = ChangeSet {
        values: changes(values),
        ..ChangeSet::default()
    };
    app.update_as_system(schema, sku, &change).await;
}

/// Everything a gadget needs on `web` (name and description in en_US and
/// de_DE) and on `google` (title, description, a USD price).
pub(crate) fn gadget(name: &str) -> Vec<Val<'static>> {
    vec![
        ("name", Some("en_US"), None, json!(name)),
        ("name", Some("de_DE"), None, json!(format!("{name} DE"))),
        (
            "description",
            Some("en_US"),
            None,
            json!("<p>A fine gadget.</p>"),
        ),
        (
            "description",
            Some("de_DE"),
            None,
            json!("<p>Ein feines Gerät.</p>"),
        ),
        (
            "base_price",
            None,
            None,
            json!([{"amount": "19.90", "currency": "USD"}, {"amount": "18.50", "currency": "EUR"}]),
        ),
    ]
}

/// Takes GAD-1's German description away (a content change: published
/// products are held) and lowers its price (a fast-lane change, which
/// still flows onto the held snapshot).
pub(crate) fn held_change() -> Vec<Val<'static>> {
    vec![
        ("description", Some("de_DE"), None, Value::Null),
        (
            "base_price",
            None,
            None,
            json!([{"amount": "17.90", "currency": "USD"}, {"amount": "16.50", "currency": "EUR"}]),
        ),
    ]
}

/// The figure shown with `id` (`count-ready` …) on a channel page.
pub(crate) fn figure(body: &str, id: &str) -> i64 {
    let marker = format!("id=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id} on the page: {body}"))
        + marker.len();
    let end = body[start..].find('<').expect("end of figure") + start;
    body[start..end]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{id} is not a number"))
}

/// The text of the section that starts at `marker` (up to the next `</section>`).
pub(crate) fn section<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} on the page: {body}"));
    let end = body[start..]
        .find("</section>")
        .map_or(body.len(), |e| e + start);
    &body[start..end]
}

/// The SKUs the product grid lists.
pub(crate) fn listed(body: &str) -> Vec<String> {
    body.split("<td><a href=\"/products/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

async fn channel_pages_show_counts_held_reasons_pulls_and_events(app: TestApp) {
    let schema = setup(&app).await;
    create(&app, &schema, "GAD-1", "gadgets", &gadget("Charger")).await;
    create(
        &app,
        &schema,
        "GAD-2",
        "gadgets",
        &[("name", Some("en_US"), None, json!("Cable"))],
    )
    .await;
    app.settle().await;
    let viewer = app.login_as(Role::Viewer).await;

    // The list: every channel with its format, mode and figures.
    let list = viewer.get("/channels").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        !list.body.contains("Not built yet"),
        "the placeholder is gone"
    );
    for expected in [
        "href=\"/channels/web\"",
        "href=\"/channels/google\"",
        "google_merchant",
        "automatic",
    ] {
        assert!(list.body.contains(expected), "list lacks {expected}");
    }

    let page = viewer.get("/channels/web").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(figure(&page.body, "count-ready"), 1);
    assert_eq!(figure(&page.body, "count-not-ready"), 1);
    assert_eq!(figure(&page.body, "count-published"), 1);
    assert_eq!(figure(&page.body, "count-held"), 0);
    assert_eq!(figure(&page.body, "count-pending"), 0);
    assert!(page.body.contains("feed head #1"), "feed head");
    // GAD-2 misses the description in both locales and its German name.
    let missing = section(&page.body, "id=\"missing-heading\"");
    assert!(missing.contains("<code>description</code>"), "{missing}");
    assert!(missing.contains("href=\"/products?missing=web\""));
    let recent = section(&page.body, "id=\"recent-heading\"");
    assert!(
        recent.contains("#1") && recent.contains("upsert"),
        "{recent}"
    );
    assert!(recent.contains("href=\"/products/GAD-1\""), "{recent}");
    // A viewer sees no publishing buttons.
    assert!(!page.body.contains("Republish all"));
    assert!(!page.body.contains("/publish\""));

    // GAD-1 loses its German description: it stays published, held, with the reason.
    update(&app, &schema, "GAD-1", &held_change()).await;
    app.settle().await;
    let page = viewer.get("/channels/web").await;
    assert_eq!(figure(&page.body, "count-held"), 1);
    assert_eq!(figure(&page.body, "count-ready"), 0);
    let held = section(&page.body, "id=\"held-heading\"");
    assert!(held.contains("href=\"/products/GAD-1\""), "{held}");
    assert!(held.contains("description is missing in de_DE"), "{held}");
    assert!(
        held.contains("href=\"/products/GAD-1?channel=web&#38;locale=de_DE#v.description\""),
        "the reason links to the field: {held}"
    );

    // A connector's pull shows with the token's name.
    let token = app.user_token(&[Role::Viewer], "feed:web").await;
    let pulled = app
        .api(
            Method::GET,
            "/api/v1/channels/web/feed?after=0",
            Some(&token),
        )
        .await;
    assert_eq!(pulled.status, StatusCode::OK, "{}", pulled.body);
    let page = viewer.get("/channels/web").await;
    let pulls = section(&page.body, "id=\"pulls-heading\"");
    assert!(pulls.contains("test token"), "{pulls}");

    // The dashboard: readiness per channel, linking each channel page.
    let dashboard = viewer.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(!dashboard.body.contains("Not built yet"));
    let readiness = section(&dashboard.body, "id=\"readiness-heading\"");
    assert!(readiness.contains("href=\"/channels/web\""), "{readiness}");
    assert!(
        readiness.contains("href=\"/channels/google\""),
        "{readiness}"
    );
    assert!(
        readiness.contains("<span class=\"badge badge-warn\">1</span>"),
        "one held on web: {readiness}"
    );

    let unknown = viewer.get("/channels/moon").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("There is no channel moon."));
}

async fn admins_publish_pending_and_republish_from_the_channel_page(app: TestApp) {
    let schema = setup_with(&app, |schema| {
        for channel in &mut schema.channels {
            if channel.code == "web" {
                channel.publish_mode = PublishMode::Manual;
            }
        }
    })
    .await;
    create(&app, &schema, "GAD-1", "gadgets", &gadget("Charger")).await;
    create(&app, &schema, "GAD-2", "gadgets", &gadget("Lamp")).await;
    app.settle().await;
    let admin = app.login_as(Role::Admin).await;
    let editor = app.login_as(Role::Editor).await;

    let page = admin.get("/channels/web").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("publishing manual"));
    assert_eq!(figure(&page.body, "count-pending"), 2);
    assert_eq!(figure(&page.body, "count-published"), 0);
    assert!(page.body.contains("Publish pending changes (2)"));
    assert!(page.body.contains("action=\"/channels/web/publish\""));
    assert!(page.body.contains("Republish all"));
    // The automatic channel published at once and offers only a republish.
    let google = admin.get("/channels/google").await;
    assert_eq!(figure(&google.body, "count-published"), 2);
    assert!(!google.body.contains("Publish pending changes"));
    assert!(
        google
            .body
            .contains("action=\"/channels/google/republish\"")
    );

    // Not an admin: no buttons, and the POSTs are refused.
    let page = editor.get("/channels/web").await;
    assert!(!page.body.contains("Publish pending changes"));
    assert!(!page.body.contains("Republish all"));
    for action in ["publish", "republish"] {
        let response = editor
            .post_form("/channels/web", &format!("/channels/web/{action}"), &[])
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{action}");
    }
    // An admin's form without its CSRF token is refused too.
    let response = admin.post_raw("/channels/web/publish", &[]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let response = admin
        .post_raw("/channels/web/publish", &[("csrf_token", "forged")])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let page = admin.get("/channels/web").await;
    assert_eq!(figure(&page.body, "count-pending"), 2, "nothing published");

    // Publish pending: both products, two events, and a notice saying so.
    let response = admin
        .post_form("/channels/web", "/channels/web/publish", &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.location(),
        "/channels/web?done=published&products=2&events=2"
    );
    let page = admin.get(response.location()).await;
    assert!(
        page.body
            .contains("Published the pending changes of 2 products: 2 feed events."),
        "{}",
        page.body
    );
    assert_eq!(figure(&page.body, "count-pending"), 0);
    assert_eq!(figure(&page.body, "count-published"), 2);
    assert!(page.body.contains("Publish pending changes (0)"));

    // Republish all: queued as a job (its page follows it); every product
    // judged again, identical payloads publish nothing.
    let response = admin
        .post_form("/channels/web", "/channels/web/republish", &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert!(
        response.location().starts_with("/jobs/"),
        "{}",
        response.location()
    );
    sluice::jobs::worker::drain(&app.state)
        .await
        .expect("jobs run");
    let page = admin.get(response.location()).await;
    assert!(
        page.body.contains(
            "Republished 2 products: 0 feed events (identical payloads publish nothing)."
        ),
        "{}",
        page.body
    );
    // A query that is not a publish outcome puts nothing on the page.
    let page = admin
        .get("/channels/web?done=published&products=%3Cb%3E&events=1")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Published the pending"));

    let response = admin
        .post_form("/channels/web", "/channels/moon/publish", &[])
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(_, target)| target == "channel:web")
        .map(|(action, _)| action)
        .collect();
    assert_eq!(
        actions,
        [
            "channel.republish",
            "channel.republish.queued",
            "channel.publish"
        ]
    );
}

async fn product_page_shows_publication_state_and_channel_preview(app: TestApp) {
    let schema = setup(&app).await;
    create(&app, &schema, "GAD-1", "gadgets", &gadget("Charger")).await;
    create(
        &app,
        &schema,
        "GAD-2",
        "gadgets",
        &[("name", Some("en_US"), None, json!("Cable"))],
    )
    .await;
    create_as(
        &app,
        &schema,
        "TEE",
        ProductKind::Model,
        "apparel",
        None,
        &[
            ("name", Some("en_US"), None, json!("Trail tee")),
            ("name", Some("de_DE"), None, json!("Wandershirt")),
        ],
    )
    .await;
    for (sku, color, size) in [("TEE-RED-S", "red", "s"), ("TEE-BLUE-M", "blue", "m")] {
        create_as(
            &app,
            &schema,
            sku,
            ProductKind::Variant,
            "apparel",
            Some("TEE"),
            &[
                ("color", None, None, json!(color)),
                ("size", None, None, json!(size)),
            ],
        )
        .await;
    }
    app.settle().await;
    let viewer = app.login_as(Role::Viewer).await;

    // Published on web: the stored payload and the schema.org JSON-LD.
    let page = viewer.get("/products/GAD-1?channel=web").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let readiness = section(&page.body, "<h2>Readiness</h2>");
    assert!(
        readiness.contains("publication-published"),
        "published on both: {readiness}"
    );
    let preview = section(&page.body, "id=\"preview-heading\"");
    assert!(preview.contains("Channel preview: web"), "{preview}");
    assert!(preview.contains("Exactly what the channel receives"));
    assert!(
        preview.contains("&#34;sku&#34;: &#34;GAD-1&#34;"),
        "the payload, pretty-printed: {preview}"
    );
    assert!(preview.contains("schema.org JSON-LD"));
    assert!(
        preview.contains("&#34;@type&#34;: &#34;Product&#34;"),
        "{preview}"
    );
    // Google gets its payload, without JSON-LD.
    let page = viewer.get("/products/GAD-1?channel=google").await;
    let preview = section(&page.body, "id=\"preview-heading\"");
    assert!(preview.contains("Channel preview: google"), "{preview}");
    assert!(preview.contains("&#34;sku&#34;: &#34;GAD-1&#34;"));
    assert!(!preview.contains("&#34;@type&#34;"));

    // Held: the state with its reason, and the last good snapshot.
    update(&app, &schema, "GAD-1", &held_change()).await;
    app.settle().await;
    let page = viewer.get("/products/GAD-1?channel=web").await;
    let readiness = section(&page.body, "<h2>Readiness</h2>");
    assert!(readiness.contains("publication-held"), "{readiness}");
    assert!(
        readiness.contains("held</span> at its last good snapshot"),
        "{readiness}"
    );
    assert!(
        readiness.contains("description is missing in de_DE"),
        "{readiness}"
    );
    let preview = section(&page.body, "id=\"preview-heading\"");
    assert!(preview.contains("last good snapshot"), "{preview}");
    assert!(
        preview.contains("Ein feines Gerät"),
        "the snapshot keeps the German description: {preview}"
    );
    assert!(
        preview.contains("17.90"),
        "with the current fast-lane price: {preview}"
    );

    // Never published: what it would send, said plainly.
    let page = viewer.get("/products/GAD-2?channel=web").await;
    let readiness = section(&page.body, "<h2>Readiness</h2>");
    assert!(readiness.contains("publication-none"), "{readiness}");
    let preview = section(&page.body, "id=\"preview-heading\"");
    assert!(
        preview.contains("Not published; this is what it would send"),
        "{preview}"
    );
    assert!(preview.contains("it is not ready for web now"), "{preview}");
    assert!(
        preview.contains("&#34;sku&#34;: &#34;GAD-2&#34;"),
        "{preview}"
    );

    // A variant: its payload, and its model's ProductGroup with every variant.
    let page = viewer.get("/products/TEE-RED-S?channel=web").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let preview = section(&page.body, "id=\"preview-heading\"");
    assert!(
        preview.contains("&#34;sku&#34;: &#34;TEE-RED-S&#34;"),
        "{preview}"
    );
    assert!(
        preview.contains("&#34;@type&#34;: &#34;ProductGroup&#34;"),
        "{preview}"
    );
    assert!(preview.contains("&#34;productGroupID&#34;: &#34;TEE&#34;"));
    assert!(preview.contains("TEE-BLUE-M"), "every variant: {preview}");
    // A model is not published itself; it shows the group.
    let page = viewer.get("/products/TEE?channel=web").await;
    let readiness = section(&page.body, "<h2>Readiness</h2>");
    assert!(readiness.contains("models are not published themselves"));
    let preview = section(&page.body, "id=\"preview-heading\"");
    assert!(preview.contains("Models are not published themselves"));
    assert!(preview.contains("&#34;@type&#34;: &#34;ProductGroup&#34;"));
    assert!(preview.contains("TEE-RED-S") && preview.contains("TEE-BLUE-M"));
}

async fn grid_filters_by_stored_readiness_for_channel_and_locale(app: TestApp) {
    let schema = setup(&app).await;
    create(&app, &schema, "GAD-1", "gadgets", &gadget("Charger")).await;
    // Ready on web in en_US only.
    create(
        &app,
        &schema,
        "GAD-2",
        "gadgets",
        &[
            ("name", Some("en_US"), None, json!("Cable")),
            ("description", Some("en_US"), None, json!("A cable.")),
        ],
    )
    .await;
    create(&app, &schema, "GAD-3", "gadgets", &[]).await;
    app.settle().await;
    let viewer: Client = app.login_as(Role::Viewer).await;

    let grid = viewer.get("/products").await;
    assert_eq!(grid.status, StatusCode::OK);
    for pair in ["web/en_US", "web/de_DE", "google/en_US"] {
        assert!(
            grid.body.contains(&format!("<option value=\"{pair}\">")),
            "the filter offers {pair}"
        );
    }
    let cases: [(&str, &[&str]); 6] = [
        ("/products?ready=web/en_US", &["GAD-1", "GAD-2"]),
        ("/products?ready=web%2Fde_DE", &["GAD-1"]),
        ("/products?notready=web/de_DE", &["GAD-2", "GAD-3"]),
        ("/products?ready=google/en_US", &["GAD-1"]),
        ("/products?ready=web/en_US&notready=web/de_DE", &["GAD-2"]),
        ("/products?ready=&notready=", &["GAD-1", "GAD-2", "GAD-3"]),
    ];
    for (path, expected) in cases {
        // By SKU: the grid's default is recently updated first.
        let page = viewer.get(&format!("{path}&sort=sku")).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert_eq!(listed(&page.body), expected, "{path}");
    }
    let page = viewer.get("/products?ready=web/de_DE").await;
    assert!(
        page.body
            .contains("<option value=\"web/de_DE\" selected>web/de_DE</option>"),
        "the filter keeps its choice"
    );
    for bad in [
        "/products?ready=web",
        "/products?ready=moon/en_US",
        "/products?notready=google/de_DE",
        "/products?ready=web/",
    ] {
        assert_eq!(
            viewer.get(bad).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }

    // The API takes the same parameters.
    let token = app.user_token(&[Role::Viewer], "catalog:read").await;
    let response = app
        .api(
            Method::GET,
            "/api/v1/products?ready=web/de_DE",
            Some(&token),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let skus: Vec<String> = response.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["sku"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(skus, ["GAD-1"]);
    let response = app
        .api(
            Method::GET,
            "/api/v1/products?notready=google/fr_FR",
            Some(&token),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.body.contains("notready"), "{}", response.body);
    let response = app
        .api(Method::GET, "/api/v1/products?ready=google", Some(&token))
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

async fn channel_settings_save_publish_mode_and_mapping(app: TestApp) {
    setup(&app).await;
    let admin = app.login_as(Role::Admin).await;
    let editor = app.login_as(Role::Editor).await;
    let edit = "/settings/channels/web";
    let action = "/settings/channels/web/publishing";

    let page = admin.get(edit).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&format!("action=\"{action}\"")));
    assert!(page.body.contains("<option value=\"automatic\" selected>"));
    assert!(page.body.contains("name=\"mapping.title\""));
    assert!(
        page.body.contains(
            "id=\"mapping.price\" name=\"mapping.price\" type=\"text\" value=\"base_price\""
        ),
        "{}",
        page.body
    );

    let response = admin
        .post_form(
            edit,
            action,
            &[
                ("publish_mode", "manual"),
                ("mapping.mpn", "code_name"),
                ("mapping.gender", ""),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.location(),
        "/settings/channels/web?notice=channel_saved"
    );
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    let web = schema.channel("web").expect("web");
    assert_eq!(web.publish_mode, PublishMode::Manual);
    assert_eq!(web.mapping.mpn, "code_name");
    assert_eq!(web.mapping.gender, "");
    assert_eq!(web.mapping.price, "base_price", "fields not sent are kept");
    let page = admin.get(response.location()).await;
    assert!(page.body.contains("Channel saved."));
    assert!(page.body.contains("<option value=\"manual\" selected>"));
    let list = admin.get("/settings/channels").await;
    assert!(list.body.contains("<td>manual</td>"), "{}", list.body);
    let channel = admin.get("/channels/web").await;
    assert!(channel.body.contains("Publish pending changes (0)"));

    // A mapping to an attribute of the wrong type is refused beside the field.
    let response = admin
        .post_form(
            edit,
            action,
            &[("publish_mode", "automatic"), ("mapping.price", "name")],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );
    assert!(
        response
            .body
            .contains("mapping.price cannot be filled from name, a text attribute"),
        "{}",
        response.body
    );
    assert!(response.body.contains("id=\"mapping.price-error\""));
    assert!(
        response.body.contains("value=\"name\""),
        "the input is kept"
    );
    let response = admin
        .post_form(edit, action, &[("mapping.stock", "no_such_attribute")])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .body
            .contains("names unknown attribute no_such_attribute")
    );
    let response = admin
        .post_form(edit, action, &[("publish_mode", "sometimes")])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let schema = store::load_schema(app.db().pool()).await.expect("schema");
    let web = schema.channel("web").expect("web");
    assert_eq!(web.publish_mode, PublishMode::Manual, "nothing was changed");
    assert_eq!(web.mapping.price, "base_price");

    // Only admins; an unknown channel is a 404.
    let response = editor
        .post_form("/", action, &[("publish_mode", "automatic")])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let response = admin
        .post_form(edit, "/settings/channels/moon/publishing", &[])
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}
