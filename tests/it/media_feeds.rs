//! Images in readiness, feeds and exports (issue 14): only approved images
//! count and reach a channel, Google needs one, the JSON feed carries
//! images with their size, Google XML `image_link` and
//! `additional_image_link`, Shopify image rows, a pending asset appears in
//! no export, a removed or rejected image holds a published product, and
//! presets round-trip as schema code.

use std::io::Cursor;

use axum::http::{Method, StatusCode};
use bytes::Bytes;
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::ProductKind;
use sluice::catalog::schema::{OutputFormat, Schema};
use sluice::media::assets::{self, Decision};
use sluice::media::upload;
use sluice::publish::{assets as asset_review, publisher};
use sluice::schema_code;
use sluice::workflow::write::{ChangeSet, NewProduct};

use crate::TestApp;
use crate::seed::{self, Val, changes, setup_with};

crate::db_tests!(
    only_approved_images_count_and_reach_the_feeds,
    image_size_rules_and_approved_only,
    a_removed_or_rejected_image_holds_the_product,
    presets_round_trip_as_schema_code,
);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The fixture schema with images on gadgets, a Shopify channel, and
/// `edit` on top.
async fn setup(app: &TestApp, edit: impl FnOnce(&mut Schema)) -> Schema {
    setup_with(app, |schema| {
        if let Some(gadgets) = schema.families.iter_mut().find(|f| f.code == "gadgets") {
            gadgets.attributes.push("images".to_owned());
        }
        if let Some(images) = schema.attributes.iter_mut().find(|a| a.code == "images") {
            images
                .labels
                .insert("en_US".to_owned(), "Images".to_owned());
        }
        let mut shopify = schema.channels[1].clone();
        shopify.code = "shopify".to_owned();
        shopify.output_format = OutputFormat::ShopifyCsv;
        schema.channels.push(shopify);
        edit(schema);
    })
    .await
}

/// A JPEG of `width` × `height` in one colour (the colour makes its bytes,
/// and so the asset, its own).
fn jpeg(width: u32, height: u32, shade: u8) -> Bytes {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb([shade, 90, 200]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode a JPEG");
    Bytes::from(out.into_inner())
}

/// Uploads a JPEG as `uploader` and answers its asset id (pending).
async fn upload_jpeg(
    app: &TestApp,
    uploader: &Actor,
    width: u32,
    height: u32,
    shade: u8,
) -> String {
    let uploaded = upload::upload(
        app.db(),
        &app.state.media,
        uploader,
        &format!("photo-{shade}.jpg"),
        jpeg(width, height, shade),
        &[],
        app.clock().now(),
    )
    .await
    .expect("upload");
    assert!(uploaded.created);
    uploaded.asset.id
}

/// Approves or rejects as `approver`, through publishing's decision.
async fn decide(app: &TestApp, approver: &Actor, id: &str, decision: Decision) {
    let changed = asset_review::decide(app.db(), id, &decision, approver, false, app.clock().now())
        .await
        .expect("decide");
    assert!(changed);
}

/// Everything a gadget needs on web, google and shopify, and `images`.
fn gadget(name: &str, images: &[&str]) -> Vec<Val<'static>> {
    let mut values = vec![
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
            json!([{"amount": "15.00", "currency": "USD"}, {"amount": "14.00", "currency": "EUR"}]),
        ),
    ];
    if !images.is_empty() {
        values.push(("images", None, None, json!(images)));
    }
    values
}

async fn create_gadget(app: &TestApp, schema: &Schema, sku: &str, images: &[&str]) {
    let product = NewProduct {
        categories: seed::categories(&["master"]),
        values: changes(&gadget(sku, images)),
        ..seed::new_product(sku, ProductKind::Simple, "gadgets", None)
    };
    app.create_as_system(schema, product).await;
}

/// Sets (or with `Value::Null` removes) a product's images as the system.
async fn set_images(app: &TestApp, schema: &Schema, sku: &str, images: Value) {
    let change = ChangeSet {
        values: changes(&[("images", None, None, images)]),
        ..ChangeSet::default()
    };
    app.update_as_system(schema, sku, &change).await;
}

async fn get(app: &TestApp, token: &str, path: &str) -> String {
    let response = app.api(Method::GET, path, Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    response.body
}

async fn readiness(app: &TestApp, token: &str, sku: &str) -> Value {
    serde_json::from_str(&get(app, token, &format!("/api/v1/products/{sku}/readiness")).await)
        .expect("readiness JSON")
}

fn on<'r>(readiness: &'r Value, channel: &str) -> &'r Value {
    readiness["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} in {readiness}"))
}

/// Every reason message of one channel's entry, over all locales.
fn messages(channel: &Value) -> Vec<String> {
    let out: Vec<String> = channel["locales"]
        .as_array()
        .expect("locales")
        .iter()
        .flat_map(|l| l["reasons"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            assert!(
                r["attribute"] == "images" || r["attribute"].is_null(),
                "{r}"
            );
            r["message"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    let mut seen = Vec::new();
    for message in out {
        if !seen.contains(&message) {
            seen.push(message);
        }
    }
    seen
}

/// The payload a channel has now for `sku`, or `None`.
async fn snapshot(app: &TestApp, token: &str, channel: &str, sku: &str) -> Option<Value> {
    let response = app
        .api(
            Method::GET,
            &format!("/api/v1/channels/{channel}/products/{sku}"),
            Some(token),
        )
        .await;
    match response.status {
        StatusCode::OK => Some(response.json()),
        StatusCode::NOT_FOUND => None,
        other => panic!("snapshot {channel}/{sku}: {other}: {}", response.body),
    }
}

/// Every export file of every channel, and every feed, concatenated.
async fn everything_exported(app: &TestApp, token: &str) -> String {
    let mut all = String::new();
    for (channel, files) in [
        ("web", &["export.jsonl", "feed?after=0&limit=1000"][..]),
        (
            "google",
            &[
                "export.xml",
                "export.tsv",
                "export.jsonl",
                "feed?after=0&limit=1000",
            ][..],
        ),
        ("shopify", &["shopify.csv", "feed?after=0&limit=1000"][..]),
    ] {
        for file in files {
            all.push_str(&get(app, token, &format!("/api/v1/channels/{channel}/{file}")).await);
        }
    }
    all
}

fn url(app: &TestApp, asset: &str, preset: &str, schema: &Schema) -> String {
    let preset = schema.preset(preset).expect("preset");
    sluice::media::renditions::public_url(&app.state.config.public_url, asset, &preset)
}

/// The `g:` elements named `name` of the Google XML item with `g:id` = sku.
fn google_values(xml: &str, sku: &str, name: &str) -> Vec<String> {
    let item = xml
        .split("<item>")
        .find(|item| item.contains(&format!("<g:id>{sku}</g:id>")))
        .unwrap_or_else(|| panic!("no item {sku} in {xml}"));
    item.split(&format!("<g:{name}>"))
        .skip(1)
        .map(|rest| {
            rest.split(&format!("</g:{name}>"))
                .next()
                .unwrap_or_default()
                .replace("&amp;", "&")
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

async fn only_approved_images_count_and_reach_the_feeds(app: TestApp) {
    let schema = setup(&app, |_| {}).await;
    let editor = app.user("editor@test.local", &[Role::Editor]).await.actor();
    let approver = app
        .user("approver@test.local", &[Role::Approver])
        .await
        .actor();
    let token = app.user_token(&[Role::Viewer], "feed:* catalog:read").await;
    let main = upload_jpeg(&app, &editor, 1600, 1200, 10).await;
    let second = upload_jpeg(&app, &editor, 640, 480, 20).await;

    create_gadget(&app, &schema, "G-1", &[&main, &second]).await;
    app.settle().await;

    // Pending: Google is not ready and says which asset waits; web and
    // Shopify need no image and publish without one.
    let verdict = readiness(&app, &token, "G-1").await;
    let google = on(&verdict, "google");
    assert_eq!(google["ready"], false, "{verdict}");
    assert_eq!(
        messages(google),
        vec![
            format!("Images: asset {main} is pending review"),
            format!("Images: asset {second} is pending review"),
        ]
    );
    assert_eq!(on(&verdict, "web")["ready"], true, "{verdict}");
    assert!(snapshot(&app, &token, "google", "G-1").await.is_none());
    let web = snapshot(&app, &token, "web", "G-1").await.expect("on web");
    assert!(web.get("images").is_none(), "{web}");
    assert!(web["values"].get("images").is_none(), "{web}");
    let all = everything_exported(&app, &token).await;
    assert!(all.contains("G-1"), "published on web and shopify");
    for pending in [&main, &second] {
        assert!(
            !all.contains(pending.as_str()),
            "pending {pending} in {all}"
        );
    }

    // Approving the main image (another user) re-judges the product at once:
    // the decision logged it for the publisher in its own transaction.
    let uploader_self = asset_review::decide(
        app.db(),
        &main,
        &Decision::Approve,
        &editor,
        false,
        app.clock().now(),
    )
    .await;
    assert!(uploader_self.is_err(), "four eyes");
    decide(&app, &approver, &main, Decision::Approve).await;
    assert!(publisher::backlog(app.db()).await.expect("backlog") > 0);
    app.settle().await;
    let verdict = readiness(&app, &token, "G-1").await;
    assert_eq!(on(&verdict, "google")["ready"], true, "{verdict}");

    let web = snapshot(&app, &token, "web", "G-1").await.expect("on web");
    assert_eq!(
        web["images"],
        json!([{"url": url(&app, &main, "web", &schema), "width": 1600, "height": 1200, "asset": main}])
    );
    assert_eq!(web["values"]["images"][0]["data"], json!([main]), "{web}");
    let google = snapshot(&app, &token, "google", "G-1")
        .await
        .expect("on google");
    assert_eq!(
        google["images"],
        json!([{"url": url(&app, &main, "google", &schema), "width": 1200, "height": 900, "asset": main}])
    );
    let xml = get(&app, &token, "/api/v1/channels/google/export.xml").await;
    assert_eq!(
        google_values(&xml, "G-1", "image_link"),
        vec![url(&app, &main, "google", &schema)]
    );
    assert!(google_values(&xml, "G-1", "additional_image_link").is_empty());
    let all = everything_exported(&app, &token).await;
    assert!(!all.contains(second.as_str()), "still pending: {all}");

    // Both approved: in order, each with its rendition's size.
    decide(&app, &approver, &second, Decision::Approve).await;
    app.settle().await;
    let web = snapshot(&app, &token, "web", "G-1").await.expect("on web");
    let sizes: Vec<(Value, Value, Value)> = web["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| (i["asset"].clone(), i["width"].clone(), i["height"].clone()))
        .collect();
    assert_eq!(
        sizes,
        vec![
            (json!(main), json!(1600), json!(1200)),
            (json!(second), json!(640), json!(480)),
        ]
    );
    let feed: Value = serde_json::from_str(
        &get(&app, &token, "/api/v1/channels/web/feed?after=0&limit=1000").await,
    )
    .expect("feed");
    let last = feed["events"]
        .as_array()
        .and_then(|e| e.last())
        .expect("event");
    assert_eq!(last["product"]["images"], web["images"]);

    let xml = get(&app, &token, "/api/v1/channels/google/export.xml").await;
    assert_eq!(
        google_values(&xml, "G-1", "additional_image_link"),
        vec![url(&app, &second, "google", &schema)]
    );
    let tsv = get(&app, &token, "/api/v1/channels/google/export.tsv").await;
    assert!(
        tsv.contains(&url(&app, &second, "google", &schema).replace(',', "%2C")),
        "{tsv}"
    );

    // Shopify: the first image on the product's row, the second on a row
    // of its own with only Handle, Image Src and Image Position.
    let csv_text = get(&app, &token, "/api/v1/channels/shopify/shopify.csv").await;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 2, "{csv_text}");
    assert_eq!(&rows[0][column("Variant SKU")], "G-1");
    assert_eq!(
        &rows[0][column("Image Src")],
        url(&app, &main, "shopify", &schema)
    );
    assert_eq!(&rows[0][column("Image Position")], "1");
    assert_eq!(&rows[1][column("Handle")], &rows[0][column("Handle")]);
    assert_eq!(
        &rows[1][column("Image Src")],
        url(&app, &second, "shopify", &schema)
    );
    assert_eq!(&rows[1][column("Image Position")], "2");
    let filled: Vec<&str> = headers
        .iter()
        .zip(rows[1].iter())
        .filter(|(_, cell)| !cell.is_empty())
        .map(|(header, _)| header)
        .collect();
    assert_eq!(filled, vec!["Handle", "Image Src", "Image Position"]);

    // The product page judges the same way, and links the field.
    let page = app.login_as(Role::Viewer).await.get("/products/G-1").await;
    assert_eq!(page.status, StatusCode::OK);
}

async fn image_size_rules_and_approved_only(app: TestApp) {
    let schema = setup(&app, |schema| {
        let images = schema
            .attributes
            .iter_mut()
            .find(|a| a.code == "images")
            .expect("images");
        images.validation.min_width = Some(1000);
        images.validation.min_height = Some(800);
        // Required on web, where pending images count too.
        images.validation.approved_only = Some(false);
        if let Some(gadgets) = schema.families.iter_mut().find(|f| f.code == "gadgets") {
            gadgets
                .requirements
                .entry("web".to_owned())
                .or_default()
                .push("images".to_owned());
        }
    })
    .await;
    let editor = app.user("editor@test.local", &[Role::Editor]).await.actor();
    let approver = app
        .user("approver@test.local", &[Role::Approver])
        .await
        .actor();
    let token = app.user_token(&[Role::Viewer], "feed:* catalog:read").await;
    let small = upload_jpeg(&app, &editor, 800, 600, 30).await;
    let large = upload_jpeg(&app, &editor, 1200, 1000, 40).await;
    decide(&app, &approver, &small, Decision::Approve).await;

    create_gadget(&app, &schema, "G-2", &[&small]).await;
    app.settle().await;
    let verdict = readiness(&app, &token, "G-2").await;
    let size = format!("Images: asset {small} is 800 × 600 pixels; at least 1000 × 800 needed");
    for channel in ["web", "google"] {
        let found = on(&verdict, channel);
        assert_eq!(found["ready"], false, "{channel}: {verdict}");
        assert_eq!(messages(found), vec![size.clone()], "{channel}");
    }
    assert_eq!(on(&verdict, "shopify")["ready"], true, "{verdict}");
    // Too small never reaches a channel's image links.
    let shopify = snapshot(&app, &token, "shopify", "G-2")
        .await
        .expect("shopify");
    assert!(shopify.get("images").is_none(), "{shopify}");

    // A large pending image: counts on web (approved_only = false), not on
    // Google, which needs an approved one for image_link; no feed shows it.
    set_images(&app, &schema, "G-2", json!([small, large])).await;
    app.settle().await;
    let verdict = readiness(&app, &token, "G-2").await;
    assert_eq!(on(&verdict, "web")["ready"], true, "{verdict}");
    assert_eq!(
        messages(on(&verdict, "google")),
        vec![
            size.clone(),
            format!("Images: asset {large} is pending review")
        ]
    );
    let all = everything_exported(&app, &token).await;
    assert!(!all.contains(large.as_str()), "pending {large} in {all}");
    decide(&app, &approver, &large, Decision::Approve).await;
    app.settle().await;
    let verdict = readiness(&app, &token, "G-2").await;
    assert_eq!(on(&verdict, "google")["ready"], true, "{verdict}");
    let google = snapshot(&app, &token, "google", "G-2")
        .await
        .expect("google");
    let linked: Vec<&Value> = google["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| &i["asset"])
        .collect();
    assert_eq!(linked, vec![&json!(large)], "the small one is left out");

    // An asset id that names nothing does not count either.
    set_images(&app, &schema, "G-2", json!(["0123456789abcdef"])).await;
    app.settle().await;
    let verdict = readiness(&app, &token, "G-2").await;
    assert_eq!(
        messages(on(&verdict, "google")),
        vec!["Images: asset 0123456789abcdef does not exist".to_owned()]
    );
}

async fn a_removed_or_rejected_image_holds_the_product(app: TestApp) {
    let schema = setup(&app, |_| {}).await;
    let editor = app.user("editor@test.local", &[Role::Editor]).await.actor();
    let approver = app
        .user("approver@test.local", &[Role::Approver])
        .await
        .actor();
    let token = app.user_token(&[Role::Viewer], "feed:* catalog:read").await;
    let first = upload_jpeg(&app, &editor, 1200, 1200, 50).await;
    let second = upload_jpeg(&app, &editor, 1200, 1200, 60).await;
    decide(&app, &approver, &first, Decision::Approve).await;
    decide(&app, &approver, &second, Decision::Approve).await;
    create_gadget(&app, &schema, "G-3", &[&first]).await;
    create_gadget(&app, &schema, "G-4", &[&second]).await;
    app.settle().await;
    for sku in ["G-3", "G-4"] {
        let verdict = readiness(&app, &token, sku).await;
        assert_eq!(
            on(&verdict, "google")["publication"],
            "published",
            "{verdict}"
        );
    }

    // The image removed: held at the last good snapshot, image and all.
    set_images(&app, &schema, "G-3", Value::Null).await;
    app.settle().await;
    let verdict = readiness(&app, &token, "G-3").await;
    let google = on(&verdict, "google");
    assert_eq!(google["publication"], "held", "{verdict}");
    assert_eq!(
        messages(google),
        vec!["Images is missing; Google needs at least one image (image_link)".to_owned()]
    );
    let held = snapshot(&app, &token, "google", "G-3").await.expect("held");
    assert_eq!(held["images"][0]["asset"], json!(first), "{held}");
    // Web needs no image: the removal publishes there.
    let web = snapshot(&app, &token, "web", "G-3").await.expect("web");
    assert!(web.get("images").is_none(), "{web}");

    // The image rejected after publishing: held, and the rejected image
    // leaves the held snapshot (a rejected image never stays in a feed).
    decide(
        &app,
        &approver,
        &second,
        Decision::Reject {
            reason: "shows a competitor's logo".into(),
        },
    )
    .await;
    app.settle().await;
    let verdict = readiness(&app, &token, "G-4").await;
    let google = on(&verdict, "google");
    assert_eq!(google["publication"], "held", "{verdict}");
    assert_eq!(
        messages(google),
        vec![format!("Images: asset {second} was rejected")]
    );
    let held = snapshot(&app, &token, "google", "G-4").await.expect("held");
    assert!(held.get("images").is_none(), "{held}");
    assert!(held["values"].get("images").is_none(), "{held}");
    let xml = get(&app, &token, "/api/v1/channels/google/export.xml").await;
    assert!(google_values(&xml, "G-4", "image_link").is_empty(), "{xml}");
    assert!(!xml.contains(second.as_str()), "{xml}");
    for channel in ["web", "shopify"] {
        let payload = snapshot(&app, &token, channel, "G-4").await.expect("there");
        assert!(
            !payload.to_string().contains(second.as_str()),
            "{channel}: {payload}"
        );
    }

    // Approved again later (a person changes their mind): ready again.
    decide(&app, &approver, &second, Decision::Approve).await;
    app.settle().await;
    let verdict = readiness(&app, &token, "G-4").await;
    assert_eq!(
        on(&verdict, "google")["publication"],
        "published",
        "{verdict}"
    );
}

async fn presets_round_trip_as_schema_code(app: TestApp) {
    let schema = setup(&app, |_| {}).await;
    let actor = Actor::system("test");
    let now = app.clock().now();

    // The export spells out the presets in force (the defaults here), and
    // applying it changes nothing.
    let text = schema_code::export(&schema).expect("export");
    for code in ["thumbnail", "preview", "google", "shopify", "web"] {
        assert!(text.contains(&format!("code = \"{code}\"")), "{text}");
    }
    assert!(text.contains("[[media_presets]]"), "{text}");
    let again = schema_code::parse(&text).expect("parses");
    let plan = schema_code::apply(app.db(), &actor, &again, false, true, now)
        .await
        .expect("plan");
    assert!(plan.plan.is_empty(), "{}", plan.plan);

    // Checks: unique codes, sides 1..=10000, quality 1..=100, a channel's
    // image_preset names a preset, the library's presets kept.
    let mut bad = again.clone();
    bad.media_presets[2].width = 0;
    bad.media_presets[3].quality = 101;
    bad.media_presets[4].code = "google".to_owned();
    bad.media_presets.remove(0);
    bad.channels[0].image_preset = Some("poster".to_owned());
    let problems = schema_code::check(&bad);
    for expected in [
        "media preset google: width must be 1 to 10000 pixels; 0 given",
        "media preset shopify: quality must be 1 to 100; 101 given",
        "media preset google is defined twice",
        "media preset thumbnail is missing",
        "channel web: image_preset names unknown media preset poster",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "{expected} not in {problems:?}"
        );
    }

    // A product published with an image, then the Google preset changes:
    // its spec hash, and so the feed's URLs, change by themselves; every
    // asset's renditions are queued again.
    let editor = app.user("editor@test.local", &[Role::Editor]).await.actor();
    let approver = app
        .user("approver@test.local", &[Role::Approver])
        .await
        .actor();
    let token = app.user_token(&[Role::Viewer], "feed:* catalog:read").await;
    let photo = upload_jpeg(&app, &editor, 2000, 1000, 70).await;
    decide(&app, &approver, &photo, Decision::Approve).await;
    create_gadget(&app, &schema, "G-5", &[&photo]).await;
    app.settle().await;
    sluice::media::renditions::drain(app.db(), &app.state.media, &app.state.schema, app.clock())
        .await
        .expect("renditions");
    let before = snapshot(&app, &token, "google", "G-5")
        .await
        .expect("google");
    assert_eq!(
        before["images"][0]["url"],
        url(&app, &photo, "google", &schema)
    );

    let mut smaller = again.clone();
    let google = smaller
        .media_presets
        .iter_mut()
        .find(|p| p.code == "google")
        .expect("google preset");
    google.width = 800;
    google.height = 800;
    smaller.channels[0].image_preset = Some("preview".to_owned());
    let applied = schema_code::apply(app.db(), &actor, &smaller, false, false, now)
        .await
        .expect("apply");
    let steps: Vec<String> = applied.plan.steps.iter().map(ToString::to_string).collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("media_preset") && s.contains("google")),
        "{steps:?}"
    );
    let stored = app.schema().await;
    assert_eq!(stored.preset("google").map(|p| p.width), Some(800));
    assert_eq!(stored.channels[0].image_preset.as_deref(), Some("preview"));
    let asset = assets::get(app.db(), &photo)
        .await
        .expect("get")
        .expect("asset");
    assert_eq!(asset.renditions, "queued", "renditions made again");

    app.settle().await;
    let after = snapshot(&app, &token, "google", "G-5")
        .await
        .expect("google");
    assert_eq!(
        after["images"],
        json!([{"url": url(&app, &photo, "google", &stored), "width": 800, "height": 400, "asset": photo}])
    );
    assert_ne!(after["images"][0]["url"], before["images"][0]["url"]);
    let web = snapshot(&app, &token, "web", "G-5").await.expect("web");
    assert_eq!(
        web["images"][0]["url"],
        url(&app, &photo, "preview", &stored)
    );

    // Round trip of the changed presets: export, apply, nothing to do.
    let text = schema_code::export(&stored).expect("export");
    let plan = schema_code::apply(
        app.db(),
        &actor,
        &schema_code::parse(&text).expect("parses"),
        false,
        true,
        now,
    )
    .await
    .expect("plan");
    assert!(plan.plan.is_empty(), "{}", plan.plan);
}
