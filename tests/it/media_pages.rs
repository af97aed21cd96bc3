//! The media library pages: the grid with its filters and paging, the
//! upload form without JavaScript (several files, a summary) and as the
//! script sends it (one file, JSON), permissions, bulk approve with four
//! eyes, and the asset page (metadata, renditions, alt texts with a stale
//! version, review, where used, history).

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::auth::user::User;
use sluice::catalog::product::ProductKind;
use sluice::media::assets::{Asset, Decision};
use tower::ServiceExt;

use crate::harness::PASSWORD;
use crate::seed::{changes, new_product};
use crate::{Client, TestApp, TestResponse};

crate::db_tests!(
    library_lists_filters_and_pages,
    upload_without_javascript_summarises_each_file,
    the_script_upload_answers_json,
    viewers_see_no_upload_form_and_cannot_post,
    bulk_approve_skips_the_approvers_own_uploads,
    asset_page_shows_metadata_and_renditions,
    stale_alt_text_edit_is_refused_and_keeps_the_input,
    approve_and_reject_with_a_reason,
    where_used_lists_the_linking_products,
);

const BOUNDARY: &str = "----sluice-media-5f1e";

/// A small PNG whose pixels (and so whose hash) depend on `seed`.
fn png(seed: u8, width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([seed, (x % 256) as u8, (y % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A PNG that does not compress (pseudo-random pixels).
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    let image = image::RgbImage::from_fn(width, height, |_, _| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A tiny PDF (stored as a document, with an icon).
fn pdf(seed: u32) -> Vec<u8> {
    format!("%PDF-1.4\n% sluice test {seed}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
        .into_bytes()
}

const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";

/// A signed-in browser for a new user with `roles`, and that user.
async fn login(app: &TestApp, roles: &[Role]) -> (Client, User) {
    let email = format!("media-{}@test.local", uuid::Uuid::new_v4().simple());
    let user = app.user(&email, roles).await;
    let client = app.client();
    let response = client.login(&email, PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    (client, user)
}

/// Stores a file as `actor` through the domain, as an upload would.
async fn stored(app: &TestApp, actor: &Actor, name: &str, bytes: Vec<u8>, tags: &[&str]) -> Asset {
    let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
    sluice::media::upload::upload(
        app.db(),
        &app.state.media,
        actor,
        name,
        bytes.into(),
        &tags,
        app.clock().now(),
    )
    .await
    .unwrap_or_else(|err| panic!("upload {name}: {err}"))
    .asset
}

async fn decide(app: &TestApp, id: &str, decision: Decision) {
    sluice::publish::assets::decide(
        app.db(),
        id,
        &decision,
        &Actor::system("test"),
        true,
        app.clock().now(),
    )
    .await
    .expect("decide");
}

/// A multipart body: text fields first, then the files.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The value of `attribute="…"` on the element that carries `marker`.
fn attribute_after(body: &str, marker: &str, attribute: &str) -> String {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not on page: {body}"));
    let rest = &body[at..];
    let needle = format!("{attribute}=\"");
    let start = rest.find(&needle).expect("attribute") + needle.len();
    let end = rest[start..].find('"').expect("end of attribute") + start;
    rest[start..end].replace("&amp;", "&")
}

/// Posts a binary multipart body with the browser's session cookie to the
/// upload form's action (which carries the CSRF token).
async fn post_upload(
    app: &TestApp,
    client: &Client,
    body: Vec<u8>,
    accept_json: bool,
) -> TestResponse {
    let page = client.get("/media").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let action = attribute_after(
        &page.body,
        "<form method=\"post\" action=\"/media?",
        "action",
    );
    send_upload(app, client, &action, body, accept_json).await
}

async fn send_upload(
    app: &TestApp,
    client: &Client,
    path: &str,
    body: Vec<u8>,
    accept_json: bool,
) -> TestResponse {
    let session = client.cookie("sluice_session").expect("signed in");
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::COOKIE, format!("sluice_session={session}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::CONTENT_LENGTH, body.len());
    if accept_json {
        request = request.header(header::ACCEPT, "application/json");
    }
    let mut request = request.body(Body::from(body)).expect("request");
    request.extensions_mut().insert(ConnectInfo(client.addr));
    let response = app.router.clone().oneshot(request).await.expect("answer");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// How many cards the library page shows.
fn cards(body: &str) -> usize {
    body.matches("class=\"media-card\"").count()
}

async fn library_lists_filters_and_pages(app: TestApp) {
    app.seed_schema().await;
    let system = Actor::system("test");
    let shoe = stored(
        &app,
        &system,
        "shoe.png",
        png(1, 8, 8),
        &["summer", "shoes"],
    )
    .await;
    let boot = stored(&app, &system, "boot.png", png(2, 8, 8), &["winter"]).await;
    stored(&app, &system, "manual.pdf", pdf(0), &["docs"]).await;
    decide(&app, &shoe.id, Decision::Approve).await;
    decide(
        &app,
        &boot.id,
        Decision::Reject {
            reason: "blurry".into(),
        },
    )
    .await;
    let (viewer, _) = login(&app, &[Role::Viewer]).await;

    let all = viewer.get("/media").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(cards(&all.body), 3);
    assert!(all.body.contains("3 assets"));
    assert!(
        all.body.contains(&format!(
            "<img src=\"/media/{}/thumbnail\" loading=\"lazy\" alt=\"shoe.png\"",
            shoe.id
        )),
        "{}",
        all.body
    );
    assert!(all.body.contains("Pending (1)") && all.body.contains("Approved (1)"));
    assert!(all.body.contains("PNG · ") && all.body.contains("8 × 8"));

    let dashboard = viewer.get("/").await;
    assert!(
        dashboard
            .body
            .contains("<p class=\"figure\" id=\"pending-assets\">1</p>"),
        "the dashboard counts pending assets"
    );
    assert!(dashboard.body.contains("href=\"/media?status=pending\""));

    let approved = viewer.get("/media?status=approved").await;
    assert_eq!(cards(&approved.body), 1);
    assert!(approved.body.contains("shoe.png"));
    let rejected = viewer.get("/media?status=rejected").await;
    assert_eq!(cards(&rejected.body), 1);
    assert!(rejected.body.contains("boot.png"));

    let by_tag = viewer.get("/media?q=WINTER").await;
    assert_eq!(cards(&by_tag.body), 1, "{}", by_tag.body);
    assert!(by_tag.body.contains("boot.png"));
    let by_name = viewer.get("/media?q=manual").await;
    assert_eq!(cards(&by_name.body), 1);

    let documents = viewer.get("/media?kind=document").await;
    assert_eq!(cards(&documents.body), 1);
    assert!(documents.body.contains("manual.pdf"));
    let images = viewer.get("/media?kind=image&status=pending").await;
    assert_eq!(cards(&images.body), 0, "the only pending asset is a PDF");

    // Usage: a product links the shoe.
    let schema = app.schema().await;
    app.create_as_system(
        &schema,
        sluice::workflow::write::NewProduct {
            values: changes(&[("images", None, None, json!([shoe.id]))]),
            ..new_product("SHOE-1", ProductKind::Simple, "apparel", None)
        },
    )
    .await;
    let used = viewer.get("/media?usage=used").await;
    assert_eq!(cards(&used.body), 1, "{}", used.body);
    assert!(used.body.contains("shoe.png"));
    let unused = viewer.get("/media?usage=unused").await;
    assert_eq!(cards(&unused.body), 2);
    assert!(!unused.body.contains("shoe.png"));

    // Paging: 48 a page.
    for n in 0..47 {
        stored(&app, &system, &format!("sheet-{n:02}.pdf"), pdf(n + 1), &[]).await;
    }
    let first = viewer.get("/media").await;
    assert_eq!(cards(&first.body), 48);
    assert!(first.body.contains("Page 1 of 2"));
    assert!(first.body.contains("href=\"/media?page=2\" rel=\"next\""));
    let second = viewer.get("/media?page=2").await;
    assert_eq!(cards(&second.body), 2);
    assert!(second.body.contains("rel=\"prev\""));
    let filtered = viewer.get("/media?kind=document&page=2").await;
    assert_eq!(cards(&filtered.body), 0, "48 documents fill one page");
    assert_eq!(
        viewer.get("/media?page=zero").await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn upload_without_javascript_summarises_each_file(app: TestApp) {
    app.seed_schema().await;
    let (editor, _) = login(&app, &[Role::Editor]).await;
    let first = png(10, 4, 4);
    let once = post_upload(
        &app,
        &editor,
        multipart(&[("tags", "Summer")], &[("first.png", &first)]),
        false,
    )
    .await;
    assert_eq!(once.status, StatusCode::SEE_OTHER, "{}", once.body);

    let second = png(11, 4, 4);
    let sent = post_upload(
        &app,
        &editor,
        multipart(
            &[("tags", "sale, Summer")],
            &[
                ("again.png", &first),
                ("../../second.png", &second),
                ("evil.svg", SVG),
            ],
        ),
        false,
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let location = sent.location().to_owned();
    assert!(location.starts_with("/media?report="), "{location}");
    let summary = editor.get(&location).await;
    assert_eq!(summary.status, StatusCode::OK);
    let body = &summary.body;
    assert!(
        body.contains("1 new, 1 already stored, 1 refused"),
        "{body}"
    );
    assert!(body.contains("New: <a href=\"/media/"), "{body}");
    assert!(body.contains("second.png</a>") && !body.contains("../"));
    assert!(body.contains("Already stored: <a href=\"/media/"));
    assert!(body.contains("again.png</a>"));
    assert!(body.contains("Refused: evil.svg — SVG files are not accepted"));

    let (list, total) = sluice::media::assets::list(
        app.db(),
        &sluice::media::assets::AssetFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(total, 2, "the duplicate and the SVG stored nothing");
    let new = list
        .iter()
        .find(|a| a.filename == "second.png")
        .expect("new");
    assert_eq!(new.tags, vec!["sale", "summer"]);
    assert!(new.uploaded_by.starts_with("media-"), "{}", new.uploaded_by);

    // The summary is signed for this session: a forged or foreign one shows nothing.
    let forged = location.replace("second.png", "call%20555-0100");
    assert!(!editor.get(&forged).await.body.contains("555-0100"));
    let (other, _) = login(&app, &[Role::Editor]).await;
    assert!(!other.get(&location).await.body.contains("media-report"));

    // Nothing chosen: the form again, 422.
    let empty = post_upload(&app, &editor, multipart(&[("tags", "x")], &[]), false).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Choose one or more files"));

    // Without the CSRF token in the action URL: refused.
    let forged = send_upload(
        &app,
        &editor,
        "/media",
        multipart(&[], &[("x.png", &png(12, 2, 2))]),
        false,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

async fn the_script_upload_answers_json(app: TestApp) {
    app.seed_schema().await;
    let (editor, _) = login(&app, &[Role::Editor]).await;
    let bytes = png(20, 3, 3);
    let answer = post_upload(
        &app,
        &editor,
        multipart(&[("tags", "")], &[("one.png", &bytes)]),
        true,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["files"][0]["outcome"], "created");
    assert_eq!(json["files"][0]["filename"], "one.png");
    let again = post_upload(
        &app,
        &editor,
        multipart(&[], &[("one-again.png", &bytes)]),
        true,
    )
    .await;
    assert_eq!(again.json()["files"][0]["outcome"], "existing");
    assert_eq!(again.json()["files"][0]["asset"], json["files"][0]["asset"]);
    let svg = post_upload(&app, &editor, multipart(&[], &[("x.svg", SVG)]), true).await;
    assert_eq!(svg.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", svg.body);
    assert!(svg.body.contains("SVG files are not accepted"));
}

/// Oversized files: 413 naming the limit, as a page and as JSON (SQLite
/// only: the limit is configuration, not storage).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_files_are_refused_naming_the_limit() {
    let app = TestApp::sqlite_with(&[("SLUICE_MAX_MEDIA_BYTES", "2000")]).await;
    app.seed_schema().await;
    let (editor, _) = login(&app, &[Role::Editor]).await;
    let big = noise_png(40, 40);
    assert!(big.len() > 2000 && big.len() < 20 * 2000);
    let page = post_upload(&app, &editor, multipart(&[], &[("big.png", &big)]), false).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", page.body);
    assert!(
        page.body.contains("SLUICE_MAX_MEDIA_BYTES"),
        "{}",
        page.body
    );
    assert!(page.body.contains("2000 bytes"));
    let json = post_upload(&app, &editor, multipart(&[], &[("big.png", &big)]), true).await;
    assert_eq!(json.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json.error_code(), "payload_too_large");
    assert!(json.body.contains("2000 bytes"));
    // Beside a good file, the big one is listed as refused with the limit.
    let mixed = post_upload(
        &app,
        &editor,
        multipart(&[], &[("big.png", &big), ("small.png", &png(31, 2, 2))]),
        false,
    )
    .await;
    assert_eq!(mixed.status, StatusCode::SEE_OTHER);
    let summary = editor.get(mixed.location()).await;
    assert!(
        summary
            .body
            .contains("Refused: big.png — The file is larger than the media limit"),
        "{}",
        summary.body
    );
    // A request larger than every file at the limit is refused before it is read.
    let huge = noise_png(200, 200);
    let whole = post_upload(&app, &editor, multipart(&[], &[("huge.png", &huge)]), false).await;
    assert_eq!(whole.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(whole.body.contains("SLUICE_MAX_MEDIA_BYTES"));
}

async fn viewers_see_no_upload_form_and_cannot_post(app: TestApp) {
    app.seed_schema().await;
    let asset = stored(&app, &Actor::system("test"), "a.png", png(40, 2, 2), &[]).await;
    let (viewer, _) = login(&app, &[Role::Viewer]).await;
    let page = viewer.get("/media").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("media-upload-form"));
    assert!(
        !page.body.contains("media.js"),
        "no script for people who cannot upload"
    );
    assert!(!page.body.contains("Approve selected"));
    let csrf = page.csrf();
    let posted = send_upload(
        &app,
        &viewer,
        &format!("/media?csrf_token={csrf}"),
        multipart(&[], &[("x.png", &png(41, 2, 2))]),
        false,
    )
    .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.body);
    let asset_page = viewer.get(&format!("/media/{}", asset.id)).await;
    assert_eq!(asset_page.status, StatusCode::OK);
    assert!(!asset_page.body.contains("/metadata\""));
    assert!(!asset_page.body.contains("/decision\""));
    let edit = viewer
        .post_form(
            &format!("/media/{}", asset.id),
            &format!("/media/{}/metadata", asset.id),
            &[("version", "1"), ("tags", "x")],
        )
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    let approve = viewer
        .post_form(
            &format!("/media/{}", asset.id),
            &format!("/media/{}/decision", asset.id),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(approve.status, StatusCode::FORBIDDEN);
}

async fn bulk_approve_skips_the_approvers_own_uploads(app: TestApp) {
    app.seed_schema().await;
    let (approver, me) = login(&app, &[Role::Editor, Role::Approver]).await;
    let mine = stored(&app, &me.actor(), "mine.png", png(50, 2, 2), &[]).await;
    let theirs = stored(
        &app,
        &Actor::system("test"),
        "theirs.png",
        png(51, 2, 2),
        &[],
    )
    .await;
    let other = stored(&app, &Actor::system("test"), "other.pdf", pdf(51), &[]).await;
    let page = approver.get("/media").await;
    assert!(page.body.contains("Approve selected"));
    assert!(page.body.contains(&format!("value=\"{}\"", theirs.id)));
    assert!(
        !page.body.contains(&format!("value=\"{}\"", mine.id)),
        "own uploads have no checkbox"
    );
    // A hand-made form may still name one's own upload: it is skipped.
    let sent = approver
        .post_form(
            "/media",
            "/media/approve",
            &[("asset", &theirs.id), ("asset", &mine.id)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let report = approver.get(sent.location()).await;
    assert!(report.body.contains("Approved: <a"), "{}", report.body);
    assert!(report.body.contains("theirs.png</a>"));
    assert!(report.body.contains("Skipped: <a"));
    assert!(report.body.contains("mine.png</a> — you uploaded it"));
    let get = |id: String| {
        let db = app.db().clone();
        async move {
            sluice::media::assets::get(&db, &id)
                .await
                .expect("get")
                .expect("asset")
        }
    };
    assert_eq!(get(theirs.id.clone()).await.status.as_str(), "approved");
    assert_eq!(get(mine.id.clone()).await.status.as_str(), "pending");
    assert_eq!(get(other.id.clone()).await.status.as_str(), "pending");
    // Nothing selected: refused.
    let none = approver.post_form("/media", "/media/approve", &[]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    // An editor without the approver role may not.
    let (editor, _) = login(&app, &[Role::Editor]).await;
    let refused = editor
        .post_form("/media", "/media/approve", &[("asset", &other.id)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn asset_page_shows_metadata_and_renditions(app: TestApp) {
    app.seed_schema().await;
    let (editor, me) = login(&app, &[Role::Editor]).await;
    let asset = stored(
        &app,
        &me.actor(),
        "Trail Shoe.png",
        png(60, 64, 48),
        &["shoes"],
    )
    .await;
    let document = stored(&app, &me.actor(), "spec.pdf", pdf(60), &[]).await;
    let before = editor.get(&format!("/media/{}", asset.id)).await;
    assert!(before.body.contains("not yet"), "renditions not made yet");
    sluice::media::renditions::drain(app.db(), &app.state.media, &app.state.schema, app.clock())
        .await
        .expect("renditions");
    let page = editor.get(&format!("/media/{}", asset.id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    for fact in [
        "Trail Shoe.png",
        "<code>image/png</code>",
        "64 × 48 pixels",
        asset.sha256.as_str(),
        me.email.as_str(),
        "pending",
        &format!("src=\"/media/{}/preview\"", asset.id),
        "shoes",
    ] {
        assert!(body.contains(fact), "{fact} on the page: {body}");
    }
    for preset in ["thumbnail", "preview", "google", "shopify", "web"] {
        assert!(
            body.contains(&format!("href=\"/media/{}/{preset}\"", asset.id)),
            "{preset}"
        );
    }
    assert!(!body.contains("not yet"), "every rendition is made: {body}");
    assert!(body.contains("64 × 48, WEBP") || body.contains("64 × 48, JPEG"));
    assert!(body.contains("Alt text, English (US)") && body.contains("name=\"alt.de_DE\""));

    let pdf_page = editor.get(&format!("/media/{}", document.id)).await;
    assert!(pdf_page.body.contains(&format!(
        "href=\"/media/{}/original\" download",
        document.id
    )));
    assert!(pdf_page.body.contains("PDF document"));
    assert_eq!(
        editor.get("/media/0123456789abcdef").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        editor.get("/media/..%2Fetc").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn stale_alt_text_edit_is_refused_and_keeps_the_input(app: TestApp) {
    app.seed_schema().await;
    let asset = stored(
        &app,
        &Actor::system("test"),
        "a.png",
        png(70, 2, 2),
        &["old"],
    )
    .await;
    let (one, _) = login(&app, &[Role::Editor]).await;
    let (two, _) = login(&app, &[Role::Editor]).await;
    let path = format!("/media/{}", asset.id);
    let action = format!("/media/{}/metadata", asset.id);
    let page_one = one.get(&path).await;
    let page_two = two.get(&path).await;
    let version = attribute_after(&page_one.body, "name=\"version\"", "value");
    let saved = one
        .post_raw(
            &action,
            &[
                ("csrf_token", &page_one.csrf()),
                ("version", &version),
                ("alt.en_US", "Red trail shoe, side view"),
                ("tags", "shoes, red"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location(),
        format!("/media/{}?notice=asset_saved", asset.id)
    );
    let shown = one.get(saved.location()).await;
    assert!(shown.body.contains("Alt texts and tags saved."));
    assert!(shown.body.contains("value=\"Red trail shoe, side view\""));

    let stale = two
        .post_raw(
            &action,
            &[
                ("csrf_token", &page_two.csrf()),
                ("version", &version),
                ("alt.de_DE", "Roter Laufschuh"),
                ("tags", "schuhe"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(stale.body.contains("Someone changed this asset"));
    assert!(
        stale.body.contains("value=\"Roter Laufschuh\""),
        "the typed text is kept"
    );
    assert!(stale.body.contains("value=\"schuhe\""));
    let stored_now = sluice::media::assets::get(app.db(), &asset.id)
        .await
        .expect("get")
        .expect("asset");
    assert_eq!(stored_now.tags, vec!["shoes", "red"], "nothing overwritten");
    // Saving the kept form again applies it on top of the current version.
    let next = attribute_after(&stale.body, "name=\"version\"", "value");
    assert_eq!(next, stored_now.version.to_string());
    let again = two
        .post_raw(
            &action,
            &[
                ("csrf_token", &page_two.csrf()),
                ("version", &next),
                ("alt.de_DE", "Roter Laufschuh"),
                ("tags", "schuhe"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    // Too long: 422 with the text kept.
    let long = "x".repeat(501);
    let page = one.get(&path).await;
    let refused = one
        .post_raw(
            &action,
            &[
                ("csrf_token", &page.csrf()),
                (
                    "version",
                    &attribute_after(&page.body, "name=\"version\"", "value"),
                ),
                ("alt.en_US", &long),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("longer than 500 characters"));
    assert!(refused.body.contains(&long));
}

async fn approve_and_reject_with_a_reason(app: TestApp) {
    app.seed_schema().await;
    let (uploader, me) = login(&app, &[Role::Editor, Role::Approver]).await;
    let asset = stored(&app, &me.actor(), "a.png", png(80, 2, 2), &[]).await;
    let path = format!("/media/{}", asset.id);
    let decision = format!("/media/{}/decision", asset.id);
    // Four eyes: the uploader is told and refused.
    let own = uploader.get(&path).await;
    assert!(own.body.contains("another approver must review it"));
    let refused = uploader
        .post_form(&path, &decision, &[("decision", "approve")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let (approver, _) = login(&app, &[Role::Approver]).await;
    let no_reason = approver
        .post_form(
            &path,
            &decision,
            &[("decision", "reject"), ("reason", "  ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.body.contains("Say why the asset is rejected"));
    let rejected = approver
        .post_form(
            &path,
            &decision,
            &[
                ("decision", "reject"),
                ("reason", "Watermark in the corner"),
            ],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::SEE_OTHER, "{}", rejected.body);
    let page = approver.get(rejected.location()).await;
    assert!(page.body.contains("Asset rejected"));
    assert!(
        page.body
            .contains("Reject reason</dt><dd>Watermark in the corner")
    );
    let approved = approver
        .post_form(&path, &decision, &[("decision", "approve")])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    let page = approver.get(&path).await;
    assert!(page.body.contains("asset-approved"));
    assert!(!page.body.contains("Reject reason"));
    // The history lists the upload and both decisions, newest first.
    let history = &page.body[page.body.find("history-heading").expect("history")..];
    let approved_at = history.find("asset.approved").expect("approval");
    let rejected_at = history.find("asset.rejected").expect("rejection");
    let uploaded_at = history.find("asset.uploaded").expect("upload");
    assert!(approved_at < rejected_at && rejected_at < uploaded_at);
    assert!(history.contains("reason: Watermark in the corner"));
}

async fn where_used_lists_the_linking_products(app: TestApp) {
    app.seed_schema().await;
    let asset = stored(&app, &Actor::system("test"), "a.png", png(90, 2, 2), &[]).await;
    let (viewer, _) = login(&app, &[Role::Viewer]).await;
    let path = format!("/media/{}", asset.id);
    assert!(
        viewer
            .get(&path)
            .await
            .body
            .contains("No product links this asset.")
    );
    let schema = app.schema().await;
    for sku in ["TEE-2", "TEE-1"] {
        app.create_as_system(
            &schema,
            sluice::workflow::write::NewProduct {
                values: changes(&[("images", None, None, json!([asset.id]))]),
                ..new_product(sku, ProductKind::Simple, "apparel", None)
            },
        )
        .await;
    }
    app.create_as_system(
        &schema,
        new_product("TEE-3", ProductKind::Simple, "apparel", None),
    )
    .await;
    let page = viewer.get(&path).await;
    let used = &page.body[page.body.find("used-heading").expect("where used")..];
    let one = used.find("href=\"/products/TEE-1\"").expect("TEE-1");
    let two = used.find("href=\"/products/TEE-2\"").expect("TEE-2");
    assert!(one < two, "by SKU");
    assert!(!used.contains("TEE-3"));
}

/// The usage filter's cost: one pass over the products that hold asset
/// links. Prints figures; run with
/// `cargo test --release --test it -- --ignored --nocapture usage_filter_cost`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: prints the usage filter's cost over 50,000 products"]
async fn usage_filter_cost() {
    const PRODUCTS: i64 = 50_000;
    let app = TestApp::sqlite().await;
    app.seed_schema().await;
    let asset = stored(&app, &Actor::system("test"), "a.png", png(99, 2, 2), &[]).await;
    let filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(15);
    let mut tx = app.db().pool().begin().await.expect("tx");
    for n in 0..PRODUCTS {
        // Every product holds an image; the values are ~1 KB.
        let image = if n == 0 {
            asset.id.clone()
        } else {
            format!("{n:016x}")
        };
        let values = json!({
            "description": [{"locale": "en_US", "channel": null, "data": filler}],
            "images": [{"locale": null, "channel": null, "data": [image]}],
            "name": [{"locale": "en_US", "channel": null, "data": format!("Product {n}")}],
        })
        .to_string();
        sqlx::query(
            "INSERT INTO products (sku, sku_key, kind, family, enabled, categories, \
             product_values, version, created_at, updated_at) \
             VALUES ($1, $2, 'simple', 'apparel', 1, '[]', $3, 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        )
        .bind(format!("SKU-{n}"))
        .bind(format!("sku-{n}"))
        .bind(values)
        .execute(&mut *tx)
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
    let mut conn = app.db().pool().acquire().await.expect("conn");
    let started = std::time::Instant::now();
    let linked = sluice::catalog::store::linked_asset_ids(&mut conn, &["images".to_owned()])
        .await
        .expect("scan");
    let scan = started.elapsed();
    drop(conn);
    assert_eq!(linked.len(), usize::try_from(PRODUCTS).unwrap());
    let (viewer, _) = login(&app, &[Role::Viewer]).await;
    let started = std::time::Instant::now();
    let page = viewer.get("/media?usage=used").await;
    let page_time = started.elapsed();
    assert_eq!(cards(&page.body), 1);
    let started = std::time::Instant::now();
    let plain = viewer.get("/media").await;
    let plain_time = started.elapsed();
    assert_eq!(cards(&plain.body), 1);
    eprintln!(
        "usage filter over {PRODUCTS} products with images: scan {scan:?}, \
         /media?usage=used {page_time:?}, /media {plain_time:?}"
    );
}

/// The journey in Chromium, under `browser` so that `--skip browser::`
/// leaves it out like the other journeys.
mod browser {
    use super::*;

    crate::browser_tests!(script_uploads_each_file_with_progress);

    /// In Chromium: files chosen in the upload form go one per request through
    /// `media.js` (JSON answers, a progress bar each), the grid reloads; a
    /// refused file stays listed with its reason and nothing reloads.
    async fn script_uploads_each_file_with_progress(test: crate::browser::BrowserTest) {
        test.app.seed_schema().await;
        let folder = tempfile::tempdir().expect("folder");
        let write = |name: &str, bytes: &[u8]| {
            let path = folder.path().join(name);
            std::fs::write(&path, bytes).expect("write file");
            path.display().to_string()
        };
        let photo = write("photo.png", &png(110, 16, 16));
        let sheet = write("sheet.pdf", &pdf(110));
        let evil = write("evil.svg", SVG);
        let (browser, _) = test.signed_in(Role::Editor, "editor").await;
        browser.goto("/media").await;
        assert!(browser.page_text().await.contains("0 assets"));
        assert!(
            browser.page_text().await.contains("or drop files here"),
            "the script shows the drop zone"
        );
        browser.fill("#f-tags", "Summer").await;
        browser
            .find("#f-file")
            .await
            .send_keys(&format!("{photo}\n{sheet}"))
            .await
            .expect("choose files");
        browser
            .find("#media-upload-form button[type=\"submit\"]")
            .await
            .click()
            .await
            .expect("upload");
        browser.wait_for_text("2 assets", false).await;
        assert!(browser.exists("img[alt=\"photo.png\"]").await);
        assert!(
            !browser.exists("#media-report").await,
            "the script's requests answer JSON, not the no-JS summary"
        );
        let (found, _) = sluice::media::assets::list(
            test.app.db(),
            &sluice::media::assets::AssetFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("list");
        assert!(found.iter().all(|a| a.tags == vec!["summer"]), "{found:?}");

        browser
            .find("#f-file")
            .await
            .send_keys(&evil)
            .await
            .expect("choose file");
        browser
            .find("#media-upload-form button[type=\"submit\"]")
            .await
            .click()
            .await
            .expect("upload");
        browser
            .wait_for_text("SVG files are not accepted", false)
            .await;
        assert!(browser.exists("#upload-progress progress").await);
        assert!(
            browser
                .page_text()
                .await
                .contains("Show the library with the new files")
        );
    }
}
