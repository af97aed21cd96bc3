//! Media in the browser (issue 14): an editor uploads a photo on a product
//! page through the plain file input and submits the draft; an approver
//! approves the asset and the proposal, whose review page shows the image
//! added; the product page then shows it as the main image.

use serde_json::{Value, json};
use sluice::audit::Actor;
use sluice::auth::Role;
use sluice::catalog::product::{ProductKind, ValueKey};
use sluice::media::assets::Decision;
use sluice::workflow::proposals;
use sluice::workflow::write::NewProduct;

use super::BrowserTest;
use crate::harness::set_values;
use crate::media_product::png;
use crate::seed::new_product;

crate::browser_tests!(editor_uploads_an_image_and_it_shows_once_approved);

const SKU: &str = "TEE-1";
const PRODUCT_PAGE: &str = "/products/TEE-1?locale=en_US&channel=web";

async fn editor_uploads_an_image_and_it_shows_once_approved(test: BrowserTest) {
    test.app.seed_schema().await;
    let schema = test.app.schema().await;
    let product = NewProduct {
        values: set_values([
            ("name", Some("en_US"), json!("Plain tee")),
            ("color", None, json!("red")),
            ("size", None, json!("m")),
        ]),
        ..new_product(SKU, ProductKind::Simple, "apparel", None)
    };
    test.app.create_as_system(&schema, product).await;
    let folder = tempfile::tempdir().expect("folder");
    let file = folder.path().join("front.png");
    let bytes = png(7);
    std::fs::write(&file, &bytes).expect("write the photo");
    let id = sluice::media::upload::sha256_hex(&bytes)[..16].to_owned();

    // The editor chooses the file in the plain input and uploads it.
    let (editor, _) = test.signed_in(Role::Editor, "editor").await;
    editor.goto(PRODUCT_PAGE).await;
    assert!(
        editor.page_text().await.contains("No images linked."),
        "an empty strip first"
    );
    editor
        .find("#media-images input[type=\"file\"][name=\"files\"]")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    editor
        .click_through(
            "#media-images form[enctype=\"multipart/form-data\"] button[type=\"submit\"]",
        )
        .await;
    let text = editor.page_text().await;
    assert!(text.contains("Uploaded and linked in your draft"), "{text}");
    let strip = editor.text("#media-images").await;
    assert!(
        strip.contains("main") && strip.contains("pending review"),
        "{strip}"
    );
    assert!(
        editor
            .exists(&format!("#media-images img[src=\"/media/{id}/thumbnail\"]"))
            .await
    );

    // The editor submits the draft from the product page.
    let action = editor
        .find("form[action^=\"/proposals/\"][action$=\"/submit\"]")
        .await
        .attr("action")
        .await
        .expect("action")
        .unwrap_or_default();
    let proposal_id: i64 = action
        .trim_start_matches("/proposals/")
        .trim_end_matches("/submit")
        .parse()
        .unwrap_or_else(|_| panic!("a draft id in {action}"));
    editor
        .fill("form[action$=\"/submit\"] [name=\"note\"]", "front photo")
        .await;
    editor
        .click_through("form[action$=\"/submit\"] button[type=\"submit\"]")
        .await;

    // The approver sees the image added, its asset still pending.
    let (approver, _) = test.signed_in(Role::Approver, "approver").await;
    let review = format!("/proposals/{proposal_id}");
    approver.goto(&review).await;
    let added = format!(".side-after [data-asset=\"{id}\"]");
    assert!(approver.exists(&format!("{added}.media-added")).await);
    assert!(approver.text(&added).await.contains("asset pending review"));
    assert!(
        approver
            .exists(&format!("{added} a[href=\"/media/{id}\"] img"))
            .await
    );

    // The asset is approved (the asset page is the library's), then the
    // proposal on its review page.
    sluice::publish::assets::decide(
        test.app.db(),
        &id,
        &Decision::Approve,
        &Actor::system("approver"),
        false,
        test.app.clock().now(),
    )
    .await
    .expect("approve the asset");
    approver.goto(&review).await;
    assert!(approver.text(&added).await.contains("approved"));
    approver
        .click_through("button[name=\"scope\"][value=\"all\"]")
        .await;
    let proposal = proposals::get(test.app.db().pool(), proposal_id)
        .await
        .expect("the proposal");
    assert_eq!(proposal.status, proposals::Status::Approved);
    let master = test.app.stored(SKU).await.expect("TEE-1");
    assert_eq!(
        master.values.get(&ValueKey::new("images", None, None)),
        Some(&json!([id]))
    );

    // The product page shows it from master: the main image, approved.
    editor.goto(PRODUCT_PAGE).await;
    let strip = editor.text("#media-images").await;
    assert!(
        strip.contains("main") && strip.contains("approved"),
        "{strip}"
    );
    assert!(!strip.contains("in your draft") && !strip.contains("pending"));
    let img = format!("#media-images img[src=\"/media/{id}/thumbnail\"]");
    assert!(editor.exists(&img).await);
    // Where the rendition route is there (the merged app), the browser
    // has drawn the thumbnail.
    let loaded = editor
        .js(
            "const img = document.querySelector(arguments[0]);\
             return fetch(img.src).then(r => r.ok ? img.decode().then(() => img.naturalWidth) : -1);",
            vec![Value::from(img)],
        )
        .await;
    assert!(
        loaded == json!(-1) || loaded.as_i64().is_some_and(|w| w > 0),
        "the thumbnail is served but not drawn: {loaded}"
    );
}
