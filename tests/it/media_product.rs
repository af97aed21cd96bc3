//! Media on the product page and in review (issue 14): the `images` strip
//! with roles and statuses, upload-and-link, move, remove and link by id
//! as changes in the editor's draft, a stale page answered like any
//! product form, viewers kept out, and the review page's before and after
//! thumbnail strips.

use axum::http::{Method, StatusCode};
use bytes::Bytes;
use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::media::assets::Decision;
use sluice::workflow::proposals::{self, Proposal, ProposalFilter, Status};
use sluice::workflow::write::{ChangeSet, NewProduct};

use crate::harness::set_values;
use crate::seed::new_product;
use crate::{Client, TestApp, TestResponse, db_tests};

db_tests!(
    upload_and_link_appends_in_the_draft,
    move_and_remove_keep_the_right_order,
    stale_page_and_bad_links_are_refused,
    viewer_sees_thumbnails_and_may_not_post,
    review_page_shows_before_and_after_strips,
    variant_shows_its_models_images_without_controls,
);

const SKU: &str = "TEE-1";
const PAGE: &str = "/products/TEE-1?locale=en_US&channel=web";

/// A small PNG, different for each `seed`.
pub fn png(seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(40, 30, |x, y| {
        image::Rgb([
            seed,
            u8::try_from(x).unwrap_or(0),
            u8::try_from(y).unwrap_or(0),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// The asset id the bytes get (the first 16 hex digits of their SHA-256).
fn id_of(bytes: &[u8]) -> String {
    sluice::media::upload::sha256_hex(bytes)[..16].to_owned()
}

/// The test catalog and TEE-1 (apparel, `images` at most 3) with `images`.
async fn seed(app: &TestApp, images: &[&str]) {
    app.seed_schema().await;
    let schema = app.schema().await;
    let mut values = vec![
        ("name", Some("en_US"), json!("Plain tee")),
        ("color", None, json!("red")),
        ("size", None, json!("m")),
    ];
    if !images.is_empty() {
        values.push(("images", None, json!(images)));
    }
    let product = NewProduct {
        values: set_values(values),
        ..new_product(SKU, ProductKind::Simple, "apparel", None)
    };
    app.create_as_system(&schema, product).await;
}

/// Stores `bytes` as an asset uploaded by the system; answers its id.
async fn stored_asset(app: &TestApp, name: &str, bytes: Vec<u8>) -> String {
    sluice::media::upload::upload(
        app.db(),
        &app.state.media,
        &Actor::system("test"),
        name,
        Bytes::from(bytes),
        &[],
        app.clock().now(),
    )
    .await
    .expect("upload")
    .asset
    .id
}

/// A hidden field's value in the first form posting to `action` (`""` if none).
fn hidden(page: &str, action: &str, name: &str) -> String {
    let Some(start) = page.find(&format!("action=\"{action}")) else {
        return String::new();
    };
    let form = &page[start..];
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    let marker = format!("name=\"{name}\" value=\"");
    form.find(&marker)
        .map(|at| {
            let rest = &form[at + marker.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_owned()
        })
        .unwrap_or_default()
}

/// The product page's media fields, as a strip's form carries them.
fn strip_fields(page: &TestResponse) -> (String, String) {
    let action = "/products/TEE-1/media/links";
    (
        hidden(&page.body, action, "version"),
        hidden(&page.body, action, "seen"),
    )
}

/// A multipart body of text fields and `files` parts.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----sluice-test-boundary-7c1e";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (filename, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads `files` from the product page's upload form, as a browser does.
async fn upload(client: &Client, files: &[(&str, &[u8])]) -> TestResponse {
    let page = client.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let action = "/products/TEE-1/media?csrf_token=";
    let version = hidden(&page.body, action, "version");
    let seen = hidden(&page.body, action, "seen");
    let fields = [
        ("version", version.as_str()),
        ("locale", "en_US"),
        ("channel", "web"),
        ("attribute", "images"),
        ("seen", seen.as_str()),
    ];
    let (content_type, body) = multipart(&fields, files);
    // The form's own action: the CSRF token rides in its address.
    let at = page
        .body
        .find(&format!("action=\"{action}"))
        .expect("upload form")
        + 8;
    let path = page.body[at..at + page.body[at..].find('"').expect("end")].to_owned();
    assert_eq!(
        path,
        format!("{action}{}", urlencoding(&page.csrf())),
        "the token, encoded"
    );
    client
        .request_bytes(Method::POST, &path, Some(&content_type), body)
        .await
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Presses a strip button (`up:ID`, `down:ID`, `remove:ID`) or links `asset`.
async fn arrange(client: &Client, op: &str, asset: &str) -> TestResponse {
    let page = client.get(PAGE).await;
    let (version, seen) = strip_fields(&page);
    // An empty strip has no button form: the link form carries the same fields.
    let (version, seen) = if version.is_empty() {
        let action = "/products/TEE-1/media/links";
        let at = page
            .body
            .rfind(&format!("action=\"{action}\""))
            .unwrap_or(0);
        (
            hidden(&page.body[at..], action, "version"),
            hidden(&page.body[at..], action, "seen"),
        )
    } else {
        (version, seen)
    };
    client
        .post_raw(
            "/products/TEE-1/media/links",
            &[
                ("csrf_token", &page.csrf()),
                ("version", &version),
                ("locale", "en_US"),
                ("channel", "web"),
                ("attribute", "images"),
                ("seen", &seen),
                ("op", op),
                ("asset", asset),
            ],
        )
        .await
}

/// The open draft proposals of TEE-1.
async fn drafts(app: &TestApp) -> Vec<Proposal> {
    proposals::list(
        app.db(),
        &ProposalFilter {
            statuses: vec![Status::Draft],
            sku: Some(SKU.to_owned()),
            limit: 10,
            ..ProposalFilter::default()
        },
    )
    .await
    .expect("proposals")
}

/// What the only draft proposes for `images`.
async fn drafted_images(app: &TestApp) -> Option<Value> {
    let drafts = drafts(app).await;
    assert!(drafts.len() <= 1, "one draft at most: {drafts:?}");
    drafts
        .first()?
        .changes
        .iter()
        .find(|c| c.attribute == "images")
        .map(|c| c.after.clone().unwrap_or(Value::Null))
}

async fn master_images(app: &TestApp) -> Value {
    let product = app.stored(SKU).await.expect("TEE-1");
    product
        .values
        .get(&ValueKey::new("images", None, None))
        .cloned()
        .unwrap_or(Value::Null)
}

async fn upload_and_link_appends_in_the_draft(app: TestApp) {
    let kept = png(1);
    let kept_id = stored_asset(&app, "kept.png", kept.clone()).await;
    seed(&app, &[&kept_id]).await;
    let editor = app.login_as(Role::Editor).await;

    let new = png(2);
    let new_id = id_of(&new);
    let response = upload(&editor, &[("../../front.png", &new)]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert!(
        response.location().starts_with("/products/TEE-1?")
            && response.location().contains("notice=media_uploaded")
            && response.location().ends_with("#media-images"),
        "{}",
        response.location()
    );
    // Master keeps its image; the draft appends the new one after it.
    assert_eq!(master_images(&app).await, json!([kept_id]));
    assert_eq!(drafted_images(&app).await, Some(json!([kept_id, new_id])));
    let asset = sluice::media::assets::get(app.db(), &new_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(asset.status.as_str(), "pending");
    assert_eq!(asset.filename, "front.png", "no folders in the name");

    // The page shows the draft's strip: main, gallery, the new one pending.
    let page = editor.get(&format!("{PAGE}&notice=media_uploaded")).await;
    assert!(page.body.contains("Uploaded and linked in your draft"));
    let strip = section(&page.body, "media-images");
    assert!(
        strip.contains(&format!("/media/{kept_id}/thumbnail")),
        "{strip}"
    );
    assert!(
        strip.contains(&format!("/media/{new_id}/thumbnail")),
        "{strip}"
    );
    assert!(
        strip.contains(">main<") && strip.contains("2 · gallery"),
        "{strip}"
    );
    assert!(strip.contains("pending review") && strip.contains("in your draft"));
    assert!(
        strip.find(&kept_id) < strip.find(&new_id),
        "the kept image stays first: {strip}"
    );

    // The same bytes again, and a second file: stored once, linked once.
    let other = png(3);
    let response = upload(&editor, &[("again.png", &new), ("back.png", &other)]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        drafted_images(&app).await,
        Some(json!([kept_id, new_id, id_of(&other)]))
    );
    let response = upload(&editor, &[("third-time.png", &new)]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert!(response.location().contains("notice=media_uploaded_known"));
    assert_eq!(drafts(&app).await.len(), 1);

    // No file chosen, a file that is no image, and one past the limit of 3.
    let response = upload(&editor, &[("", b"")]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("choose one or more files"));
    let response = upload(&editor, &[("notes.png", b"just some text, not a picture")]).await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );
    assert!(response.body.contains("notes.png:"), "names the file");
    assert!(response.body.contains("nothing was linked"));
    let response = upload(&editor, &[("fourth.png", &png(4))]).await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );
    assert!(response.body.contains("at most 3"), "{}", response.body);
    assert_eq!(
        drafted_images(&app).await,
        Some(json!([kept_id, new_id, id_of(&other)])),
        "refused uploads change nothing"
    );

    // Without the CSRF token in the form's address: refused.
    let (content_type, body) = multipart(&[("attribute", "images")], &[("x.png", &png(5))]);
    let response = editor
        .request_bytes(
            Method::POST,
            "/products/TEE-1/media",
            Some(&content_type),
            body,
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

/// The `<section id="ID">` of a page.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} on the page: {page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

async fn move_and_remove_keep_the_right_order(app: TestApp) {
    let a = stored_asset(&app, "a.png", png(11)).await;
    let b = stored_asset(&app, "b.png", png(12)).await;
    let c = stored_asset(&app, "c.png", png(13)).await;
    seed(&app, &[&a, &b, &c]).await;
    let editor = app.login_as(Role::Editor).await;

    let response = arrange(&editor, &format!("up:{b}"), "").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert!(
        response
            .location()
            .contains("notice=media_changed#media-images")
    );
    assert_eq!(drafted_images(&app).await, Some(json!([b, a, c])));
    // The page now shows the draft's order; the next move is based on it.
    let response = arrange(&editor, &format!("down:{b}"), "").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    // Back to master's order: the field leaves the draft.
    assert_eq!(drafted_images(&app).await, None);
    arrange(&editor, &format!("down:{a}"), "").await;
    assert_eq!(drafted_images(&app).await, Some(json!([b, a, c])));
    let response = arrange(&editor, &format!("remove:{c}"), "").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(drafted_images(&app).await, Some(json!([b, a])));
    // Moving the first up changes nothing.
    let response = arrange(&editor, &format!("up:{b}"), "").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(drafted_images(&app).await, Some(json!([b, a])));
    // Removing every image proposes no value.
    arrange(&editor, &format!("remove:{a}"), "").await;
    arrange(&editor, &format!("remove:{b}"), "").await;
    assert_eq!(drafted_images(&app).await, Some(Value::Null));
    // Link by id, in any case, appends; the strip shows it.
    let response = arrange(&editor, "link", &c.to_uppercase()).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(drafted_images(&app).await, Some(json!([c])));
    // An id the strip did not show is refused, not guessed.
    let page = editor.get(PAGE).await;
    let (version, _) = strip_fields(&page);
    let response = editor
        .post_raw(
            "/products/TEE-1/media/links",
            &[
                ("csrf_token", &page.csrf()),
                ("version", &version),
                ("attribute", "images"),
                ("seen", &c),
                ("op", &format!("remove:{a}")),
            ],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.body
    );
    // Master is untouched throughout.
    assert_eq!(master_images(&app).await, json!([a, b, c]));
}

async fn stale_page_and_bad_links_are_refused(app: TestApp) {
    let a = stored_asset(&app, "a.png", png(21)).await;
    let b = stored_asset(&app, "b.png", png(22)).await;
    seed(&app, &[&a, &b]).await;
    let editor = app.login_as(Role::Editor).await;
    let page = editor.get(PAGE).await;
    let (version, seen) = strip_fields(&page);
    // A colleague's change lands after the page was opened.
    let schema = app.schema().await;
    let change = ChangeSet {
        values: set_values([("name", Some("en_US"), json!("Heavy tee"))]),
        ..ChangeSet::default()
    };
    app.update_as_system(&schema, SKU, &change).await;

    let response = editor
        .post_raw(
            "/products/TEE-1/media/links",
            &[
                ("csrf_token", &page.csrf()),
                ("version", &version),
                ("locale", "en_US"),
                ("channel", "web"),
                ("attribute", "images"),
                ("seen", &seen),
                ("op", &format!("up:{b}")),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.body);
    assert!(
        response
            .body
            .contains("Someone saved this product while you were editing it"),
        "{}",
        response.body
    );
    assert!(
        response.body.contains("Heavy tee"),
        "their change is listed"
    );
    assert_eq!(drafted_images(&app).await, None, "nothing saved");
    // The 409 page keeps the person's order in the form, based on master now.
    let form_version = app.stored(SKU).await.expect("TEE-1").version.to_string();
    assert!(
        response
            .body
            .contains(&format!("name=\"version\" value=\"{form_version}\""))
    );
    assert!(response.body.contains(&format!("value=\"{b}, {a}\"")));

    // An upload over the stale page: the file is stored, nothing linked.
    let other = png(23);
    let fields = [
        ("version", version.as_str()),
        ("locale", "en_US"),
        ("channel", "web"),
        ("attribute", "images"),
        ("seen", seen.as_str()),
    ];
    let (content_type, body) = multipart(&fields, &[("other.png", &other)]);
    let response = editor
        .request_bytes(
            Method::POST,
            &format!(
                "/products/TEE-1/media?csrf_token={}",
                urlencoding(&page.csrf())
            ),
            Some(&content_type),
            body,
        )
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.body);
    assert_eq!(drafted_images(&app).await, None);

    // Unknown and rejected assets are refused with the reason, at 422.
    let response = arrange(&editor, "link", "0123456789abcdef").await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("there is no asset 0123456789abcdef"));
    let bad = stored_asset(&app, "blurry.png", png(24)).await;
    sluice::publish::assets::decide(
        app.db(),
        &bad,
        &Decision::Reject {
            reason: "too blurry".to_owned(),
        },
        &Actor::system("approver"),
        true,
        app.clock().now(),
    )
    .await
    .expect("reject");
    let response = arrange(&editor, "link", &bad).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("too blurry"), "{}", response.body);
    let response = arrange(&editor, "link", "").await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A form naming another attribute, or none, is a bad request.
    let page = editor.get(PAGE).await;
    let (version, seen) = strip_fields(&page);
    let response = editor
        .post_raw(
            "/products/TEE-1/media/links",
            &[
                ("csrf_token", &page.csrf()),
                ("version", &version),
                ("attribute", "name"),
                ("seen", &seen),
                ("op", &format!("up:{b}")),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(drafted_images(&app).await, None);
}

async fn viewer_sees_thumbnails_and_may_not_post(app: TestApp) {
    let a = stored_asset(&app, "a.png", png(31)).await;
    seed(&app, &[&a]).await;
    let viewer = app.login_as(Role::Viewer).await;
    let page = viewer.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    let strip = section(&page.body, "media-images");
    assert!(strip.contains(&format!("/media/{a}/thumbnail")));
    assert!(strip.contains(">main<"));
    assert!(
        !strip.contains("<form"),
        "no controls for a viewer: {strip}"
    );
    assert!(!page.body.contains("/media/links"));

    let response = viewer
        .post_raw(
            "/products/TEE-1/media/links",
            &[
                ("csrf_token", &page.csrf()),
                ("version", "1"),
                ("attribute", "images"),
                ("seen", &a),
                ("op", &format!("remove:{a}")),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let (content_type, body) = multipart(
        &[("version", "1"), ("attribute", "images"), ("seen", &a)],
        &[("new.png", &png(32))],
    );
    let response = viewer
        .request_bytes(
            Method::POST,
            &format!(
                "/products/TEE-1/media?csrf_token={}",
                urlencoding(&page.csrf())
            ),
            Some(&content_type),
            body,
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(
        sluice::media::assets::get(app.db(), &id_of(&png(32)))
            .await
            .expect("get")
            .is_none(),
        "a viewer's file is not stored"
    );
    assert_eq!(drafts(&app).await.len(), 0);
    assert_eq!(master_images(&app).await, json!([a]));
}

async fn review_page_shows_before_and_after_strips(app: TestApp) {
    let a = stored_asset(&app, "a.png", png(41)).await;
    let b = stored_asset(&app, "b.png", png(42)).await;
    let c = stored_asset(&app, "c.png", png(43)).await;
    seed(&app, &[&a, &b, &c]).await;
    for id in [&a, &b, &c] {
        sluice::publish::assets::decide(
            app.db(),
            id,
            &Decision::Approve,
            &Actor::system("approver"),
            true,
            app.clock().now(),
        )
        .await
        .expect("approve");
    }
    let editor = app.login_as(Role::Editor).await;
    // [a, b, c] → [b, a, new]: a moved, c removed, a new upload added.
    arrange(&editor, &format!("remove:{c}"), "").await;
    arrange(&editor, &format!("up:{b}"), "").await;
    let new = png(44);
    let response = upload(&editor, &[("new.png", &new)]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let new_id = id_of(&new);
    let draft = drafts(&app).await.pop().expect("a draft");
    let path = format!("/proposals/{}", draft.id);
    let response = editor
        .post_form(&path, &format!("{path}/submit"), &[("note", "new photos")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);

    let approver = app.login_as(Role::Approver).await;
    let page = approver.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let cell = |class: &str| {
        let start = page
            .body
            .find(&format!("<td class=\"{class} media-diff\">"))
            .unwrap_or_else(|| panic!("no {class} strip: {}", page.body));
        let rest = &page.body[start..];
        rest[..rest.find("</td>").unwrap_or(rest.len())].to_owned()
    };
    let before = cell("side-before");
    let after = cell("side-after");
    let order = |strip: &str, ids: &[&str]| {
        let at: Vec<usize> = ids
            .iter()
            .map(|id| {
                strip
                    .find(&format!("data-asset=\"{id}\""))
                    .unwrap_or_else(|| panic!("{id} not in {strip}"))
            })
            .collect();
        assert!(
            at.windows(2).all(|w| w[0] < w[1]),
            "order {ids:?} in {strip}"
        );
    };
    order(&before, &[&a, &b, &c]);
    order(&after, &[&b, &a, &new_id]);
    for id in [&a, &b, &c] {
        assert!(before.contains(&format!("href=\"/media/{id}\"")));
        assert!(before.contains(&format!("src=\"/media/{id}/thumbnail\"")));
    }
    assert!(after.contains(&format!("src=\"/media/{new_id}/thumbnail\"")));
    assert!(!after.contains(&format!("data-asset=\"{c}\"")));
    // Marks: c removed, the new image added (and its asset still pending), a
    // or b moved (whichever the common order leaves out).
    let item = |strip: &str, id: &str| {
        let start = strip.find(&format!("data-asset=\"{id}\"")).expect("item");
        let from = strip[..start].rfind("<li").unwrap_or(0);
        let rest = &strip[from..];
        rest[..rest.find("</li>").unwrap_or(rest.len())].to_owned()
    };
    assert!(item(&before, &c).contains("media-removed"));
    assert!(item(&before, &c).contains("removed</del>"));
    let added = item(&after, &new_id);
    assert!(added.contains("media-added") && added.contains("added</ins>"));
    assert!(added.contains("asset pending review"), "{added}");
    assert!(item(&after, &a).contains("approved"));
    assert!(
        item(&after, &a).contains("media-moved") || item(&after, &b).contains("media-moved"),
        "{after}"
    );
    assert!(
        item(&after, &b).contains(">main<"),
        "b is the main image now"
    );
    assert!(item(&before, &a).contains(">main<"));

    // Approving applies the order; the product page then shows it from master.
    sluice::publish::assets::decide(
        app.db(),
        &new_id,
        &Decision::Approve,
        &Actor::system("approver"),
        true,
        app.clock().now(),
    )
    .await
    .expect("approve the new asset");
    let response = approver
        .post_form(&path, &format!("{path}/approve"), &[("scope", "all")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(master_images(&app).await, json!([b, a, new_id]));
    let page = approver.get(PAGE).await;
    let strip = section(&page.body, "media-images");
    order(strip, &[&b, &a, &new_id]);
    assert!(!strip.contains("pending review"));
}

async fn variant_shows_its_models_images_without_controls(app: TestApp) {
    let a = stored_asset(&app, "a.png", png(51)).await;
    app.seed_schema().await;
    let schema = app.schema().await;
    let model = NewProduct {
        values: set_values([("images", None, json!([a]))]),
        ..new_product("HOOD-1", ProductKind::Model, "apparel", None)
    };
    app.create_as_system(&schema, model).await;
    let variant = NewProduct {
        values: set_values([("color", None, json!("red")), ("size", None, json!("m"))]),
        ..new_product(
            "HOOD-1-RED-M",
            ProductKind::Variant,
            "apparel",
            Some("HOOD-1"),
        )
    };
    app.create_as_system(&schema, variant).await;
    let editor = app.login_as(Role::Editor).await;

    let page = editor.get("/products/HOOD-1-RED-M").await;
    assert_eq!(page.status, StatusCode::OK);
    let strip = section(&page.body, "media-images");
    assert!(strip.contains(&format!("/media/{a}/thumbnail")), "{strip}");
    assert!(strip.contains("inherited from HOOD-1"), "{strip}");
    assert!(
        !strip.contains("<form"),
        "changed on the model's page: {strip}"
    );

    // On the model the editor has the controls.
    let page = editor.get("/products/HOOD-1").await;
    let strip = section(&page.body, "media-images");
    assert!(strip.contains("/products/HOOD-1/media/links"), "{strip}");
    // A posted change to the variant's (inherited) images is refused by the
    // write path as on the form: nothing lands in a draft.
    let page = editor.get("/products/HOOD-1-RED-M").await;
    let response = editor
        .post_raw(
            "/products/HOOD-1-RED-M/media/links",
            &[
                ("csrf_token", &page.csrf()),
                ("version", "1"),
                ("attribute", "images"),
                ("seen", ""),
                ("op", "link"),
                ("asset", &a),
            ],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.body
    );
    assert!(response.body.contains("change it on the model"));
    assert!(drafts_of(&app, "HOOD-1-RED-M").await.is_empty());
}

async fn drafts_of(app: &TestApp, sku: &str) -> Vec<Proposal> {
    proposals::list(
        app.db(),
        &ProposalFilter {
            statuses: vec![Status::Draft],
            sku: Some(sku.to_owned()),
            limit: 10,
            ..ProposalFilter::default()
        },
    )
    .await
    .expect("proposals")
}
