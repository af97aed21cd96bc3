//! The media API and the media files (issue 14): upload (one file or
//! several) with dedupe, content type from the bytes, the size limit, pixel
//! bombs, truncated and refused files, path traversal in names; rights;
//! list, read, alt texts and tags with `If-Match`, four-eyes review; and
//! the files at `/media/{id}/{preset}` and `/media/{id}/original` with
//! their sizes, ETags, caching, visibility and security headers.

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice::catalog::schema::{RenditionFormat, default_media_presets};
use sluice::media::assets;
use tower::ServiceExt;

use crate::harness::PASSWORD;
use crate::{TestApp, TestResponse};

/// The media limit of these tests: small, so an oversized file is cheap.
const MAX_MEDIA_BYTES: &str = "300000";

/// A global request limit far below the media limit: uploads must pass
/// the route's own limit, not this one.
const MAX_BODY_BYTES: &str = "20000";

const SETTINGS: &[(&str, &str)] = &[
    ("SLUICE_MEDIA_URL", "memory://"),
    ("SLUICE_MAX_MEDIA_BYTES", MAX_MEDIA_BYTES),
    ("SLUICE_MAX_BODY_BYTES", MAX_BODY_BYTES),
    ("SLUICE_PUBLIC_URL", "https://pim.example.com"),
];

/// `db_tests!` with the media settings above.
macro_rules! media_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::sqlite_with(super::SETTINGS).await;
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "PostgreSQL: run with SLUICE_TEST_POSTGRES_URL and -- --include-ignored"]
                async fn postgres() {
                    let app = $crate::TestApp::postgres_with(super::SETTINGS).await;
                    super::$name(app).await;
                }
            }
        )*
    };
}

media_tests!(
    upload_stores_once_and_answers_the_existing_asset_again,
    the_type_comes_from_the_bytes_and_names_lose_their_folders,
    an_upload_may_exceed_the_global_body_limit_but_not_the_media_limit,
    pixel_bombs_truncated_svg_and_empty_files_are_refused_with_422,
    several_files_are_judged_one_by_one,
    uploading_needs_catalog_write_and_an_editor,
    renditions_have_each_presets_size_and_format,
    etags_answer_304_and_only_the_versioned_url_of_an_approved_asset_is_immutable,
    pending_media_is_404_to_strangers_and_served_to_the_signed_in,
    the_original_is_a_download_for_the_signed_in,
    every_media_answer_is_nosniff_and_sandboxed,
    a_gzip_client_gets_the_image_bytes_unchanged,
    approval_needs_four_eyes_and_rejection_a_reason,
    metadata_changes_need_the_current_version,
    the_list_filters_and_pages,
    the_openapi_document_describes_the_media_api,
);

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A PNG of `width` × `height` whose pixels depend on `seed` (different
/// seeds, different bytes).
fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x as u8).wrapping_mul(7) ^ seed,
            (y as u8).wrapping_mul(13),
            seed,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A PNG of noise, which does not compress: about `3 × width × height` bytes.
fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let image = image::RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&image)
        .expect("encode jpeg");
    out.into_inner()
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A few hundred bytes whose header claims 50,000 × 50,000 pixels.
fn pixel_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&[0u8; 1000]).unwrap();
    png_chunk(&mut out, b"IDAT", &zlib.finish().unwrap());
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A file part: field name, file name, bytes.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

const BOUNDARY: &str = "sluice-test-boundary-7MA4YWxkTrZu0gW";

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file_name {
            Some(file_name) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_media(app: &TestApp, token: &str, parts: &[Part<'_>]) -> TestResponse {
    app.api_raw(
        Method::POST,
        "/api/v1/media",
        token,
        multipart(parts),
        &[(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )],
    )
    .await
}

/// Uploads one file and answers the asset's JSON (201 or 200 asserted).
async fn upload_one(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> Value {
    let response = post_media(app, token, &[("file", Some(name), bytes)]).await;
    assert!(
        matches!(response.status, StatusCode::CREATED | StatusCode::OK),
        "{}: {}",
        response.status,
        response.body
    );
    response.json()
}

/// A token of a fresh editor with catalog:write.
async fn editor(app: &TestApp) -> String {
    app.user_token(&[Role::Editor], "catalog:write").await
}

/// A token of a fresh approver with catalog:write.
async fn approver(app: &TestApp) -> String {
    app.user_token(&[Role::Approver], "catalog:write").await
}

async fn approve(app: &TestApp, id: &str) {
    let token = approver(app).await;
    let response = app
        .api_json(
            Method::POST,
            &format!("/api/v1/media/{id}/approve"),
            &token,
            None,
            &[],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

/// A response with its body as bytes.
struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn image(&self) -> image::DynamicImage {
        image::load_from_memory(&self.body).expect("the body is an image")
    }
}

async fn get_raw(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    request_raw(app, Method::GET, path, headers).await
}

async fn request_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the whole body arrives")
        .to_bytes()
        .to_vec();
    RawResponse {
        status,
        headers,
        body,
    }
}

/// The `Cookie` header of a signed-in user with `role`.
async fn session_cookie(app: &TestApp, role: Role) -> String {
    let client = app.login_as(role).await;
    let value = client
        .cookie(sluice::web::cookies::SESSION)
        .expect("a session cookie");
    format!("{}={value}", sluice::web::cookies::SESSION)
}

async fn asset_count(app: &TestApp) -> i64 {
    assets::list(
        app.db(),
        &assets::AssetFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("list assets")
    .1
}

fn assert_media_headers(response: &RawResponse, what: &str) {
    assert_eq!(
        response.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        response.header("content-security-policy"),
        Some("default-src 'none'; sandbox"),
        "{what}"
    );
}

// ---------------------------------------------------------------------------
// Upload
// ---------------------------------------------------------------------------

async fn upload_stores_once_and_answers_the_existing_asset_again(app: TestApp) {
    let token = editor(&app).await;
    let bytes = png(40, 30, 1);
    let first = post_media(
        &app,
        &token,
        &[
            ("file", Some("boot.png"), &bytes),
            ("tags", None, b" Summer, boots,summer ,, "),
        ],
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let asset = first.json();
    let id = asset["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 16);
    assert_eq!(asset["sha256"].as_str().unwrap()[..16], id);
    assert_eq!(first.location(), format!("/api/v1/media/{id}"));
    assert_eq!(first.header("etag"), Some("\"1\""));
    assert_eq!(asset["existing"], false);
    assert_eq!(asset["filename"], "boot.png");
    assert_eq!(asset["media_type"], "image/png");
    assert_eq!(asset["size_bytes"], bytes.len());
    assert_eq!(
        (asset["width"].as_u64(), asset["height"].as_u64()),
        (Some(40), Some(30))
    );
    assert_eq!(asset["status"], "pending");
    assert_eq!(asset["tags"], json!(["summer", "boots"]));
    assert_eq!(asset["alt_text"], json!({}));
    assert!(asset["uploaded_by"].as_str().unwrap().starts_with("api-"));
    assert!(asset["created"].is_string());
    // Every preset's content-addressed URL, absolute.
    for preset in default_media_presets() {
        assert_eq!(
            asset["renditions"][&preset.code],
            format!(
                "https://pim.example.com/media/{id}/{}?v={}",
                preset.code,
                preset.spec_hash()
            )
        );
    }

    // The same bytes again, by someone else under another name: the asset
    // already stored, nothing new.
    let other = editor(&app).await;
    let again = post_media(&app, &other, &[("file", Some("copy.png"), &bytes)]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let again = again.json();
    assert_eq!(again["id"], id);
    assert_eq!(again["existing"], true);
    assert_eq!(again["filename"], "boot.png");
    assert_eq!(asset_count(&app).await, 1);
    let stored = assets::get(app.db(), &id).await.unwrap().expect("stored");
    assert!(
        app.state
            .media
            .store
            .exists(&stored.original_key())
            .await
            .unwrap()
    );
    let uploads = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(action, _)| action == "asset.uploaded")
        .count();
    assert_eq!(uploads, 1);

    // GET answers the same asset with its ETag; If-None-Match → 304.
    let read = app
        .api(Method::GET, &format!("/api/v1/media/{id}"), Some(&token))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.json()["id"], id);
    assert!(read.json().get("existing").is_none());
    let unchanged = app
        .api_json(
            Method::GET,
            &format!("/api/v1/media/{id}"),
            &token,
            None,
            &[("if-none-match", "\"1\"")],
        )
        .await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    let missing = app
        .api(Method::GET, "/api/v1/media/0123456789abcdef", Some(&token))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "not_found");
}

async fn the_type_comes_from_the_bytes_and_names_lose_their_folders(app: TestApp) {
    let token = editor(&app).await;
    let disguised = upload_one(&app, &token, "photo.jpg", &png(20, 20, 2)).await;
    assert_eq!(disguised["media_type"], "image/png");
    assert_eq!(disguised["filename"], "photo.jpg");

    let jpeg = upload_one(&app, &token, "scan.png", &jpeg(24, 16)).await;
    assert_eq!(jpeg["media_type"], "image/jpeg");

    let traversal = upload_one(&app, &token, "../../etc/passwd.png", &png(20, 20, 3)).await;
    assert_eq!(traversal["filename"], "passwd.png");
    let windows = upload_one(&app, &token, "..\\..\\boot.ini.png", &png(20, 20, 4)).await;
    assert_eq!(windows["filename"], "boot.ini.png");

    // A file part without a file name (as some clients send it).
    let nameless = upload_one(&app, &token, "", &png(20, 20, 5)).await;
    assert_eq!(nameless["filename"], "upload");
    let response = post_media(&app, &token, &[("file", None, &png(20, 20, 6))]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    assert_eq!(response.json()["filename"], "upload");

    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let document = upload_one(&app, &token, "sheet.pdf", pdf).await;
    assert_eq!(document["media_type"], "application/pdf");
    assert!(document["width"].is_null());
}

async fn an_upload_may_exceed_the_global_body_limit_but_not_the_media_limit(app: TestApp) {
    let token = editor(&app).await;
    let limit: usize = MAX_MEDIA_BYTES.parse().unwrap();
    let global: usize = MAX_BODY_BYTES.parse().unwrap();

    // Larger than SLUICE_MAX_BODY_BYTES, within SLUICE_MAX_MEDIA_BYTES.
    let large = noisy_png(150, 150);
    assert!(
        large.len() > global && large.len() < limit,
        "{}",
        large.len()
    );
    let response = post_media(&app, &token, &[("file", Some("large.png"), &large)]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);

    // Over SLUICE_MAX_MEDIA_BYTES: 413 naming the limit, nothing stored.
    let oversized = noisy_png(330, 330);
    assert!(oversized.len() > limit, "{}", oversized.len());
    let response = post_media(&app, &token, &[("file", Some("huge.png"), &oversized)]).await;
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        response.body
    );
    assert_eq!(response.error_code(), "payload_too_large");
    let message = response.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("huge.png") && message.contains(MAX_MEDIA_BYTES),
        "{message}"
    );

    // Far over it (beyond the request limit too): still 413 in the API shape.
    let enormous = vec![0u8; limit + 2 * 1024 * 1024];
    let response = post_media(&app, &token, &[("file", Some("zeros.png"), &enormous)]).await;
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        response.body
    );
    assert_eq!(response.error_code(), "payload_too_large");

    // Several files: one over the limit refuses the request, nothing stored.
    let small = png(10, 10, 9);
    let response = post_media(
        &app,
        &token,
        &[
            ("file", Some("small.png"), &small),
            ("file", Some("huge.png"), &oversized),
        ],
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        response.body
    );
    assert_eq!(asset_count(&app).await, 1);

    // Other API routes keep the global limit.
    let response = app
        .api_raw(
            Method::POST,
            "/api/v1/products",
            &token,
            vec![b' '; global + 1],
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        response.body
    );
}

async fn pixel_bombs_truncated_svg_and_empty_files_are_refused_with_422(app: TestApp) {
    let token = editor(&app).await;

    let bomb = pixel_bomb();
    assert!(bomb.len() < 400, "{}", bomb.len());
    let started = Instant::now();
    let response = post_media(&app, &token, &[("file", Some("bomb.png"), &bomb)]).await;
    let took = started.elapsed();
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );
    assert_eq!(response.error_code(), "validation_failed");
    let error = &response.json()["error"];
    assert!(
        error["message"].as_str().unwrap().contains("pixels"),
        "{error}"
    );
    assert_eq!(error["details"][0]["field"], "file");
    assert!(took < Duration::from_secs(2), "refused in {took:?}");

    // A JPEG cut inside its headers, and one cut inside its scan (the
    // decoder would fill the rest grey; the probe wants the end marker).
    let whole = jpeg(64, 64);
    for cut in [&whole[..120], &whole[..whole.len() / 2]] {
        let response = post_media(&app, &token, &[("file", Some("cut.jpg"), cut)]).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            response.body
        );
        let message = response.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains("cannot be read as image/jpeg"),
            "{message}"
        );
    }

    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let response = post_media(&app, &token, &[("file", Some("logo.png"), svg)]).await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );
    assert!(response.body.contains("SVG"), "{}", response.body);

    let html = b"<html><body>hi</body></html>";
    let response = post_media(&app, &token, &[("file", Some("page.jpg"), html)]).await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );

    let response = post_media(&app, &token, &[("file", Some("empty.png"), b"")]).await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );

    // No file at all, and a body that is not multipart.
    let response = post_media(&app, &token, &[("tags", None, b"x")]).await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );
    assert_eq!(response.json()["error"]["details"][0]["field"], "file");
    let response = app
        .api_json(Method::POST, "/api/v1/media", &token, Some(json!({})), &[])
        .await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.body
    );
    assert_eq!(response.error_code(), "bad_request");

    assert_eq!(asset_count(&app).await, 0);
}

async fn several_files_are_judged_one_by_one(app: TestApp) {
    let token = editor(&app).await;
    let known = png(12, 12, 5);
    upload_one(&app, &token, "known.png", &known).await;
    let fresh = png(12, 12, 6);
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    let response = post_media(
        &app,
        &token,
        &[
            ("file", Some("fresh.png"), &fresh),
            ("file", Some("again.png"), &known),
            ("file", Some("../logo.svg"), svg),
            // An empty file input of a browser form is no file.
            ("file", Some(""), b""),
            ("tags", None, b"batch"),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let batch = response.json();
    let assets = batch["assets"].as_array().expect("assets");
    assert_eq!(assets.len(), 2, "{batch}");
    assert_eq!(assets[0]["filename"], "fresh.png");
    assert_eq!(assets[0]["existing"], false);
    assert_eq!(assets[0]["tags"], json!(["batch"]));
    assert_eq!(assets[1]["filename"], "known.png");
    assert_eq!(assets[1]["existing"], true);
    let errors = batch["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{batch}");
    assert_eq!(errors[0]["index"], 2);
    assert_eq!(errors[0]["filename"], "logo.svg");
    assert_eq!(errors[0]["status"], 422);
    assert_eq!(errors[0]["code"], "validation_failed");
    assert!(errors[0]["message"].as_str().unwrap().contains("SVG"));
    assert_eq!(asset_count(&app).await, 2);
}

async fn uploading_needs_catalog_write_and_an_editor(app: TestApp) {
    let bytes = png(10, 10, 7);
    let parts: &[Part<'_>] = &[("file", Some("a.png"), &bytes)];

    let read_only = app.user_token(&[Role::Editor], "catalog:read").await;
    let response = post_media(&app, &read_only, parts).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    assert_eq!(response.error_code(), "forbidden");
    assert!(response.body.contains("catalog:read"), "{}", response.body);

    let viewer = app.user_token(&[Role::Viewer], "catalog:read").await;
    let response = post_media(&app, &viewer, parts).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);

    let approver_only = app.user_token(&[Role::Approver], "catalog:write").await;
    let response = post_media(&app, &approver_only, parts).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);

    let import_only = app.user_token(&[Role::Editor], "import").await;
    let response = post_media(&app, &import_only, parts).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);

    // The API takes tokens, not sessions: a viewer's session cookie is no
    // credential here (and an editor's neither: no CSRF check guards it).
    for role in [Role::Viewer, Role::Editor] {
        let cookie = session_cookie(&app, role).await;
        let response = app
            .router
            .clone()
            .oneshot(
                Request::builder()
                    .method(Method::POST)
                    .uri("/api/v1/media")
                    .header(header::COOKIE, cookie)
                    .header(
                        header::CONTENT_TYPE,
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .body(Body::from(multipart(parts)))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{role}");
    }
    let none = app.api(Method::GET, "/api/v1/media", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);

    assert_eq!(asset_count(&app).await, 0);

    // A viewer may read.
    let response = app.api(Method::GET, "/api/v1/media", Some(&viewer)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let _ = PASSWORD;
}

// ---------------------------------------------------------------------------
// The files
// ---------------------------------------------------------------------------

async fn renditions_have_each_presets_size_and_format(app: TestApp) {
    let token = editor(&app).await;
    let asset = upload_one(&app, &token, "wide.png", &png(400, 300, 8)).await;
    let id = asset["id"].as_str().unwrap().to_owned();
    approve(&app, &id).await;

    // Made lazily: no worker has run.
    for preset in default_media_presets() {
        let response = get_raw(&app, &format!("/media/{id}/{}", preset.code), &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{}", preset.code);
        let media_type = match preset.format {
            RenditionFormat::Jpeg => "image/jpeg",
            RenditionFormat::Png => "image/png",
            RenditionFormat::Webp => "image/webp",
        };
        assert_eq!(
            response.header("content-type"),
            Some(media_type),
            "{}",
            preset.code
        );
        let image = response.image();
        assert_eq!(
            (image.width(), image.height()),
            preset.target_size(400, 300),
            "{}",
            preset.code
        );
        assert_eq!(
            response.header("cross-origin-resource-policy"),
            Some("cross-origin")
        );
    }

    // Many requests at once for a rendition not made yet: each gets it.
    let fresh = upload_one(&app, &token, "burst.png", &png(300, 200, 20)).await;
    let fresh_id = fresh["id"].as_str().unwrap().to_owned();
    approve(&app, &fresh_id).await;
    let path = format!("/media/{fresh_id}/preview");
    let burst = futures_util::future::join_all((0..6).map(|_| get_raw(&app, &path, &[]))).await;
    for response in &burst {
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body, burst[0].body);
    }
    let made = assets::renditions_of(app.db(), &fresh_id).await.unwrap();
    assert_eq!(made.len(), 1, "{made:?}");

    // Once made, the stored one is served (the same bytes).
    let first = get_raw(&app, &format!("/media/{id}/thumbnail"), &[]).await;
    let second = get_raw(&app, &format!("/media/{id}/thumbnail"), &[]).await;
    assert_eq!(first.body, second.body);

    // A document has its icon, within the preset's box.
    let pdf = b"%PDF-1.4\n%%EOF\n";
    let document = upload_one(&app, &token, "sheet.pdf", pdf).await;
    let doc_id = document["id"].as_str().unwrap().to_owned();
    approve(&app, &doc_id).await;
    let icon = get_raw(&app, &format!("/media/{doc_id}/thumbnail"), &[]).await;
    assert_eq!(icon.status, StatusCode::OK);
    let thumbnail = default_media_presets()
        .into_iter()
        .find(|p| p.code == "thumbnail")
        .unwrap();
    let image = icon.image();
    assert!(image.width() <= thumbnail.width && image.height() <= thumbnail.height);

    // Unknown presets, ids that are no asset, ids that are no id: 404.
    for path in [
        format!("/media/{id}/poster"),
        "/media/0123456789abcdef/thumbnail".to_owned(),
        "/media/..%2F..%2Fetc/thumbnail".to_owned(),
        "/media/XYZ/thumbnail".to_owned(),
    ] {
        let response = get_raw(&app, &path, &[]).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_media_headers(&response, &path);
    }
}

async fn etags_answer_304_and_only_the_versioned_url_of_an_approved_asset_is_immutable(
    app: TestApp,
) {
    let token = editor(&app).await;
    let asset = upload_one(&app, &token, "a.png", &png(50, 40, 10)).await;
    let id = asset["id"].as_str().unwrap().to_owned();
    let sha = asset["sha256"].as_str().unwrap().to_owned();
    let preset = default_media_presets()
        .into_iter()
        .find(|p| p.code == "preview")
        .unwrap();
    let spec = preset.spec_hash();
    let versioned = format!("/media/{id}/preview?v={spec}");
    let cookie = session_cookie(&app, Role::Viewer).await;

    // Pending: even the versioned URL is private (it may be rejected yet).
    let pending = get_raw(&app, &versioned, &[("cookie", &cookie)]).await;
    assert_eq!(pending.status, StatusCode::OK);
    assert_eq!(pending.header("cache-control"), Some("private, no-cache"));
    assert_eq!(
        pending.header("cross-origin-resource-policy"),
        Some("same-origin")
    );
    let etag = pending.header("etag").expect("an ETag").to_owned();
    assert_eq!(etag, format!("\"{sha}-{spec}\""));

    approve(&app, &id).await;
    let immutable = get_raw(&app, &versioned, &[]).await;
    assert_eq!(immutable.status, StatusCode::OK);
    assert_eq!(
        immutable.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(immutable.header("etag"), Some(etag.as_str()));
    // The URL the API hands out is that one.
    let read = app
        .api(Method::GET, &format!("/api/v1/media/{id}"), Some(&token))
        .await;
    assert!(
        read.json()["renditions"]["preview"]
            .as_str()
            .unwrap()
            .ends_with(&versioned)
    );

    for unversioned in [
        format!("/media/{id}/preview"),
        format!("/media/{id}/preview?v=00000000"),
        format!("/media/{id}/preview?x={spec}"),
    ] {
        let response = get_raw(&app, &unversioned, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{unversioned}");
        assert_eq!(
            response.header("cache-control"),
            Some("private, no-cache"),
            "{unversioned}"
        );
        assert_eq!(response.header("etag"), Some(etag.as_str()));
    }

    // If-None-Match: 304 with the same caching, no body; weak tags and
    // lists match too; another tag does not.
    for sent in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".into(),
    ] {
        let response = get_raw(&app, &versioned, &[("if-none-match", &sent)]).await;
        assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{sent}");
        assert!(response.body.is_empty());
        assert_eq!(response.header("etag"), Some(etag.as_str()));
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_media_headers(&response, &sent);
    }
    let other = get_raw(&app, &versioned, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(!other.body.is_empty());

    // Another preset, another tag.
    let thumbnail = get_raw(&app, &format!("/media/{id}/thumbnail"), &[]).await;
    assert_ne!(thumbnail.header("etag"), Some(etag.as_str()));

    // HEAD answers the headers alone.
    let head = request_raw(&app, Method::HEAD, &versioned, &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), Some(etag.as_str()));
}

async fn pending_media_is_404_to_strangers_and_served_to_the_signed_in(app: TestApp) {
    let token = editor(&app).await;
    let asset = upload_one(&app, &token, "secret.png", &png(30, 30, 11)).await;
    let id = asset["id"].as_str().unwrap().to_owned();
    let path = format!("/media/{id}/thumbnail");

    let anonymous = get_raw(&app, &path, &[]).await;
    assert_eq!(anonymous.status, StatusCode::NOT_FOUND);
    assert_media_headers(&anonymous, "anonymous");
    // The same answer as for an id that does not exist.
    let nothing = get_raw(&app, "/media/0123456789abcdef/thumbnail", &[]).await;
    let message = |r: &RawResponse| {
        serde_json::from_slice::<Value>(&r.body).unwrap()["error"]["code"].clone()
    };
    assert_eq!(message(&anonymous), message(&nothing));
    let forged = get_raw(&app, &path, &[("cookie", "sluice_session=forged")]).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let bad_token = get_raw(&app, &path, &[("authorization", "Bearer slc_nonsense")]).await;
    assert_eq!(bad_token.status, StatusCode::NOT_FOUND);

    let cookie = session_cookie(&app, Role::Viewer).await;
    let viewer = get_raw(&app, &path, &[("cookie", &cookie)]).await;
    assert_eq!(viewer.status, StatusCode::OK);
    assert_eq!(viewer.header("cache-control"), Some("private, no-cache"));
    let reader = app.user_token(&[Role::Viewer], "catalog:read").await;
    let by_token = get_raw(
        &app,
        &path,
        &[("authorization", &format!("Bearer {reader}"))],
    )
    .await;
    assert_eq!(by_token.status, StatusCode::OK);
    let feed_only = app.user_token(&[Role::Viewer], "feed:*").await;
    let by_feed_token = get_raw(
        &app,
        &path,
        &[("authorization", &format!("Bearer {feed_only}"))],
    )
    .await;
    assert_eq!(by_feed_token.status, StatusCode::NOT_FOUND);

    // Rejected: hidden again from strangers.
    let reviewer = approver(&app).await;
    let rejected = app
        .api_json(
            Method::POST,
            &format!("/api/v1/media/{id}/reject"),
            &reviewer,
            Some(json!({"reason": "blurry"})),
            &[],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    assert_eq!(
        get_raw(&app, &path, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_raw(&app, &path, &[("cookie", &cookie)]).await.status,
        StatusCode::OK
    );
}

async fn the_original_is_a_download_for_the_signed_in(app: TestApp) {
    let token = editor(&app).await;
    let bytes = png(30, 20, 12);
    let asset = upload_one(&app, &token, "../Müsli & Co.jpg", &bytes).await;
    let id = asset["id"].as_str().unwrap().to_owned();
    approve(&app, &id).await;
    let path = format!("/media/{id}/original");

    // Approved or not, the original is not public.
    let anonymous = get_raw(&app, &path, &[]).await;
    assert_eq!(anonymous.status, StatusCode::NOT_FOUND);
    assert_media_headers(&anonymous, "anonymous original");

    let cookie = session_cookie(&app, Role::Viewer).await;
    let download = get_raw(&app, &path, &[("cookie", &cookie)]).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, bytes);
    assert_eq!(download.header("content-type"), Some("image/png"));
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"M_sli & Co.jpg\"; filename*=UTF-8''M%C3%BCsli%20&%20Co.jpg")
    );
    assert_eq!(download.header("cache-control"), Some("private, no-cache"));
    assert_media_headers(&download, "original");
    let etag = download.header("etag").unwrap().to_owned();
    let again = get_raw(
        &app,
        &path,
        &[("cookie", &cookie), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    let reader = app.user_token(&[Role::Viewer], "catalog:read").await;
    let by_token = get_raw(
        &app,
        &path,
        &[("authorization", &format!("Bearer {reader}"))],
    )
    .await;
    assert_eq!(by_token.status, StatusCode::OK);
}

/// Request headers of a case.
type Headers<'a> = Vec<(&'a str, &'a str)>;

async fn every_media_answer_is_nosniff_and_sandboxed(app: TestApp) {
    let token = editor(&app).await;
    let asset = upload_one(&app, &token, "h.png", &png(20, 20, 13)).await;
    let id = asset["id"].as_str().unwrap().to_owned();
    let cookie = session_cookie(&app, Role::Editor).await;
    let approved = upload_one(&app, &token, "i.png", &png(20, 20, 14)).await;
    let approved_id = approved["id"].as_str().unwrap().to_owned();
    approve(&app, &approved_id).await;

    let cases: Vec<(String, Headers<'_>, StatusCode)> = vec![
        (
            format!("/media/{approved_id}/thumbnail"),
            vec![],
            StatusCode::OK,
        ),
        (
            format!("/media/{id}/thumbnail"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/media/{id}/thumbnail"),
            vec![("cookie", &cookie)],
            StatusCode::OK,
        ),
        (
            format!("/media/{id}/original"),
            vec![("cookie", &cookie)],
            StatusCode::OK,
        ),
        (
            format!("/media/{id}/original"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/media/{id}/nope"),
            vec![("cookie", &cookie)],
            StatusCode::NOT_FOUND,
        ),
        (
            "/media/ffffffffffffffff/web".to_owned(),
            vec![],
            StatusCode::NOT_FOUND,
        ),
    ];
    for (path, headers, status) in &cases {
        let response = get_raw(&app, path, headers).await;
        assert_eq!(response.status, *status, "{path}");
        assert_media_headers(&response, path);
        if status.is_client_error() {
            // The API's error shape, never the HTML page layout.
            assert_eq!(
                response.header("content-type"),
                Some("application/json"),
                "{path}"
            );
        }
    }

    // Other methods: 405 with the same headers, not a page.
    let post = request_raw(
        &app,
        Method::POST,
        &format!("/media/{approved_id}/thumbnail"),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_media_headers(&post, "POST");
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

async fn a_gzip_client_gets_the_image_bytes_unchanged(app: TestApp) {
    let token = editor(&app).await;
    let asset = upload_one(&app, &token, "g.png", &noisy_png(64, 64)).await;
    let id = asset["id"].as_str().unwrap().to_owned();
    approve(&app, &id).await;
    let cookie = session_cookie(&app, Role::Viewer).await;
    for preset in default_media_presets() {
        let path = format!("/media/{id}/{}", preset.code);
        let plain = get_raw(&app, &path, &[]).await;
        let gzip = get_raw(&app, &path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(gzip.status, StatusCode::OK);
        assert_eq!(gzip.header("content-encoding"), None, "{path}");
        assert_eq!(gzip.body, plain.body, "{path}");
        gzip.image();
    }
    let pdf =
        b"%PDF-1.4\n% a document long enough to be worth compressing, if it were text\n%%EOF\n";
    let document = upload_one(&app, &token, "d.pdf", pdf).await;
    let doc_id = document["id"].as_str().unwrap().to_owned();
    let original = get_raw(
        &app,
        &format!("/media/{doc_id}/original"),
        &[("cookie", &cookie), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(original.status, StatusCode::OK);
    assert_eq!(original.header("content-encoding"), None);
    assert_eq!(original.body, pdf);
}

// ---------------------------------------------------------------------------
// Review and metadata
// ---------------------------------------------------------------------------

async fn approval_needs_four_eyes_and_rejection_a_reason(app: TestApp) {
    // An editor who is an approver too uploads…
    let both = app
        .user_token(&[Role::Editor, Role::Approver], "catalog:write")
        .await;
    let asset = upload_one(&app, &both, "mine.png", &png(20, 20, 15)).await;
    let id = asset["id"].as_str().unwrap().to_owned();
    let approve_path = format!("/api/v1/media/{id}/approve");
    let reject_path = format!("/api/v1/media/{id}/reject");

    // …and may not approve or reject it.
    let own = app
        .api_json(Method::POST, &approve_path, &both, None, &[])
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    assert!(own.body.contains("another approver"), "{}", own.body);
    let own = app
        .api_json(
            Method::POST,
            &reject_path,
            &both,
            Some(json!({"reason": "no"})),
            &[],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);

    // An editor is no approver; an approver's read-only token neither.
    let editor = editor(&app).await;
    let response = app
        .api_json(Method::POST, &approve_path, &editor, None, &[])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let read_only = app.user_token(&[Role::Approver], "catalog:read").await;
    let response = app
        .api_json(Method::POST, &approve_path, &read_only, None, &[])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);

    // Another approver: a rejection needs a reason (422), then rejects.
    let reviewer = approver(&app).await;
    for body in [json!({}), json!({"reason": "  "})] {
        let response = app
            .api_json(
                Method::POST,
                &reject_path,
                &reviewer,
                Some(body.clone()),
                &[],
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            response.body
        );
    }
    let response = app
        .api_json(
            Method::POST,
            &reject_path,
            &reviewer,
            Some(json!({"reason": "Wrong colour"})),
            &[],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let rejected = response.json();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reject_reason"], "Wrong colour");
    assert!(rejected["decided_by"].as_str().unwrap().starts_with("api-"));

    // Then approves, after all.
    let response = app
        .api_json(Method::POST, &approve_path, &reviewer, None, &[])
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.json()["status"], "approved");
    assert!(response.json()["reject_reason"].is_null());
    // Approving again changes nothing and still answers the asset.
    let again = app
        .api_json(Method::POST, &approve_path, &reviewer, None, &[])
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["version"], response.json()["version"]);

    let target = format!("asset:{id}");
    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(_, t)| *t == target)
        .map(|(action, _)| action)
        .collect();
    assert_eq!(
        actions,
        ["asset.approved", "asset.rejected", "asset.uploaded"]
    );

    let missing = app
        .api_json(
            Method::POST,
            "/api/v1/media/0123456789abcdef/approve",
            &reviewer,
            None,
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let missing = app
        .api_json(
            Method::POST,
            "/api/v1/media/0123456789abcdef/reject",
            &reviewer,
            Some(json!({"why": 1})),
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn metadata_changes_need_the_current_version(app: TestApp) {
    app.seed_schema().await;
    let token = editor(&app).await;
    let asset = upload_one(&app, &token, "m.png", &png(20, 20, 16)).await;
    let id = asset["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/media/{id}");
    let patch = json!({"alt_text": {"en_US": "A red boot", "de_DE": "Ein roter Stiefel"}, "tags": ["Red", "boot", "red"]});

    let missing = app
        .api_json(Method::PATCH, &path, &token, Some(patch.clone()), &[])
        .await;
    assert_eq!(
        missing.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        missing.body
    );

    let changed = app
        .api_json(
            Method::PATCH,
            &path,
            &token,
            Some(patch.clone()),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    let asset = changed.json();
    assert_eq!(asset["version"], 2);
    assert_eq!(
        asset["alt_text"],
        json!({"de_DE": "Ein roter Stiefel", "en_US": "A red boot"})
    );
    assert_eq!(asset["tags"], json!(["red", "boot"]));

    // The same base version again: 412, nothing changed.
    let stale = app
        .api_json(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"tags": []})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    assert_eq!(stale.error_code(), "precondition_failed");
    let weak = app
        .api_json(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"tags": []})),
            &[("if-match", "W/\"2\"")],
        )
        .await;
    assert_eq!(
        weak.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        weak.body
    );

    // Only what is sent changes; null removes one locale's alt text.
    let partial = app
        .api_json(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"alt_text": {"de_DE": null}})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(partial.status, StatusCode::OK, "{}", partial.body);
    assert_eq!(partial.json()["alt_text"], json!({"en_US": "A red boot"}));
    assert_eq!(partial.json()["tags"], json!(["red", "boot"]));

    // An unknown locale, an alt text too long, an unknown field: refused.
    let unknown = app
        .api_json(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"alt_text": {"xx_XX": "?"}})),
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert_eq!(unknown.json()["error"]["details"][0]["locale"], "xx_XX");
    let long = app
        .api_json(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"alt_text": {"en_US": "x".repeat(501)}})),
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(
        long.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        long.body
    );
    let odd = app
        .api_json(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"status": "approved"})),
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", odd.body);

    // Viewers may not change metadata; the audit log has before and after.
    let viewer = app.user_token(&[Role::Viewer], "catalog:read").await;
    let refused = app
        .api_json(
            Method::PATCH,
            &path,
            &viewer,
            Some(json!({"tags": []})),
            &[("if-match", "\"3\"")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let edits = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(action, _)| action == "asset.metadata")
        .count();
    assert_eq!(edits, 2);
}

async fn the_list_filters_and_pages(app: TestApp) {
    let token = editor(&app).await;
    let mut ids = Vec::new();
    for seed in 0..5u8 {
        let name = format!("shoe-{seed}.png");
        let tags: &[u8] = if seed % 2 == 0 { b"even" } else { b"odd" };
        let bytes = png(16, 16, 100 + seed);
        let response = post_media(
            &app,
            &token,
            &[("file", Some(&name), &bytes), ("tags", None, tags)],
        )
        .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        ids.push(response.json()["id"].as_str().unwrap().to_owned());
        // Newest first is by upload time.
        app.clock().advance(time::Duration::seconds(1));
    }
    upload_one(&app, &token, "manual.pdf", b"%PDF-1.4\n%%EOF\n").await;
    approve(&app, &ids[0]).await;

    let list = |query: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let response = app
                .api(Method::GET, &format!("/api/v1/media{query}"), Some(&token))
                .await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{query}: {}",
                response.body
            );
            response.json()
        }
    };
    let all = list("").await;
    assert_eq!(all["total"], 6);
    assert_eq!(all["items"][0]["filename"], "manual.pdf");
    assert_eq!(all["has_more"], false);
    assert!(all["next_cursor"].is_null());

    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["filename"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&list("?status=approved").await), ["shoe-0.png"]);
    assert_eq!(list("?status=pending").await["total"], 5);
    assert_eq!(names(&list("?kind=document").await), ["manual.pdf"]);
    assert_eq!(list("?kind=image").await["total"], 5);
    assert_eq!(names(&list("?q=odd").await), ["shoe-3.png", "shoe-1.png"]);
    assert_eq!(names(&list("?q=SHOE-2").await), ["shoe-2.png"]);

    // Pages of two, following next_cursor, see every asset once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let query = match &cursor {
            Some(c) => format!("/api/v1/media?limit=2&cursor={c}"),
            None => "/api/v1/media?limit=2".to_owned(),
        };
        let page = app.api(Method::GET, &query, Some(&token)).await.json();
        seen.extend(names(&page));
        if page["has_more"] == false {
            break;
        }
        cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 6, "{seen:?}");

    for bad in [
        "?status=lost",
        "?kind=video",
        "?limit=0",
        "?limit=101",
        "?cursor=abc",
        "?cursor=-2",
    ] {
        let response = app
            .api(Method::GET, &format!("/api/v1/media{bad}"), Some(&token))
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            response.json()["error"]["details"][0]["field"].is_string(),
            "{bad}"
        );
    }
}

async fn the_openapi_document_describes_the_media_api(app: TestApp) {
    let doc = app.api(Method::GET, "/api/openapi.json", None).await.json();
    let upload = &doc["paths"]["/api/v1/media"]["post"];
    let form = &upload["requestBody"]["content"]["multipart/form-data"]["schema"];
    assert!(form.is_object(), "{upload}");
    for status in ["200", "201", "403", "413", "422"] {
        assert!(
            upload["responses"][status].is_object(),
            "{status}: {upload}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["MediaUploadForm"]["properties"]["file"].is_object(),
        "{}",
        schemas["MediaUploadForm"]
    );
    assert!(schemas["UploadBatchView"]["properties"]["errors"].is_object());
    assert!(schemas["AssetView"]["properties"]["renditions"].is_object());
    for (path, method) in [
        ("/api/v1/media", "get"),
        ("/api/v1/media/{id}", "get"),
        ("/api/v1/media/{id}", "patch"),
        ("/api/v1/media/{id}/approve", "post"),
        ("/api/v1/media/{id}/reject", "post"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
}
