//! `sluice media import`: a folder of generated images in, assets stored
//! once, refused files reported with the reason, links to products opened
//! as proposals by `media-import`, and a second run that changes nothing.

use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice::catalog::product::ProductKind;
use sluice::import::media_links::{
    self, CsvLinks, LinkSpec, MediaImport, MediaImportReport, ProductLinks,
};
use sluice::workflow::proposals::{self, LinkOutcome, Status};

use crate::seed::{new_product, setup_with};
use crate::{TestApp, db_tests};

/// A small JPEG of one colour (the colour makes the bytes differ).
pub fn jpeg(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    encode(width, height, rgb, image::ImageFormat::Jpeg)
}

pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    encode(width, height, rgb, image::ImageFormat::Png)
}

fn encode(width: u32, height: u32, rgb: [u8; 3], format: image::ImageFormat) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            rgb[0].wrapping_add((x % 7) as u8),
            rgb[1].wrapping_add((y % 5) as u8),
            rgb[2],
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

fn write(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("folder");
    }
    std::fs::write(path, bytes).expect("write");
}

/// The fixture schema with `images` (at most 3 assets) on gadgets, and
/// gadgets G-1 and G-2.
async fn gadgets(app: &TestApp) {
    let schema = setup_with(app, |schema| {
        if let Some(family) = schema.families.iter_mut().find(|f| f.code == "gadgets") {
            family.attributes.push("images".into());
        }
    })
    .await;
    for sku in ["G-1", "G-2"] {
        app.create_as_system(
            &schema,
            new_product(sku, ProductKind::Simple, "gadgets", None),
        )
        .await;
    }
}

async fn run(app: &TestApp, folder: &Path, links: LinkSpec) -> MediaImportReport {
    let import = MediaImport {
        folder: folder.to_owned(),
        links,
        attribute: None,
        make_renditions: true,
    };
    media_links::run(&app.state, &import, false)
        .await
        .expect("media import runs")
}

fn outcome<'a>(report: &'a MediaImportReport, sku: &str) -> &'a ProductLinks {
    report
        .products
        .iter()
        .find(|p| p.sku == sku)
        .unwrap_or_else(|| panic!("{sku} in {report:#?}"))
}

fn proposed(report: &MediaImportReport, sku: &str) -> i64 {
    match outcome(report, sku).outcome {
        Ok(LinkOutcome::Proposed { proposal, .. }) => proposal,
        ref other => panic!("{sku}: {other:?}"),
    }
}

async fn images_of(app: &TestApp, sku: &str) -> Value {
    let product = app.stored(sku).await.expect("product");
    product
        .values
        .get(&sluice::catalog::product::ValueKey::new(
            "images", None, None,
        ))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Every proposal of the product, oldest first.
async fn proposals_of(app: &TestApp, sku: &str) -> Vec<proposals::Proposal> {
    let mut found = proposals::list(
        app.db(),
        &proposals::ProposalFilter {
            statuses: Status::ALL.to_vec(),
            sku: Some(sku.to_owned()),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .expect("proposals");
    found.sort_by_key(|p| p.id);
    found
}

async fn asset_ids(app: &TestApp, report: &MediaImportReport, sku: &str) -> Vec<Value> {
    let id = proposed(report, sku);
    let proposal = proposals::get(app.db().pool(), id).await.expect("proposal");
    proposal.changes[0]
        .after
        .clone()
        .and_then(|v| v.as_array().cloned())
        .expect("a list of asset ids")
}

async fn stored_originals(app: &TestApp) -> usize {
    app.state
        .media
        .store
        .keys("originals")
        .await
        .expect("keys")
        .len()
}

async fn a_folder_goes_in_once_and_its_links_become_proposals(app: TestApp) {
    gadgets(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path();
    write(root, "G-1_2.png", &png(40, 30, [0, 200, 0]));
    write(root, "G-1_1.jpg", &jpeg(64, 48, [200, 0, 0]));
    write(root, "more/G-2_1.jpg", &jpeg(48, 64, [0, 0, 200]));
    // The same bytes under another name: stored once.
    write(root, "copy of G-2.jpg", &jpeg(48, 64, [0, 0, 200]));
    write(
        root,
        "logo_1.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
    );
    let whole = jpeg(64, 64, [90, 90, 90]);
    write(root, "G-2_2.jpg", &whole[..whole.len() - 40]);
    write(root, "NOPE_1.jpg", &jpeg(16, 16, [1, 2, 3]));
    write(root, "notes.txt", b"not media");
    let pattern = || LinkSpec::Pattern("{sku}_{n}.{ext}".into());

    let first = run(&app, root, pattern()).await;
    assert_eq!(first.files, 7, "{first:#?}");
    assert_eq!((first.new_assets, first.duplicates), (4, 1), "{first:#?}");
    assert_eq!(first.skipped, ["notes.txt"]);
    assert_eq!(first.unlinked, ["copy of G-2.jpg"]);
    let refused: Vec<&str> = first.refused.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(refused, ["G-2_2.jpg", "logo_1.svg"]);
    assert!(first.refused[0].1.contains("truncated"), "{first:#?}");
    assert!(first.refused[1].1.contains("SVG"), "{first:#?}");
    assert_eq!(first.proposals_opened(), 2);
    assert_eq!(first.renditions, Some(4));
    let nope = outcome(&first, "NOPE")
        .outcome
        .clone()
        .expect_err("no product");
    assert!(nope.contains("no product with the SKU NOPE"), "{nope}");
    assert!(!first.is_clean());
    let summary = media_links::summary(&first);
    assert!(
        summary.contains("7 files — 4 new assets, 1 already stored, 2 refused"),
        "{summary}"
    );
    assert!(summary.contains("refused logo_1.svg: SVG"), "{summary}");

    // G-1's images in position order; the proposal waits for review.
    let g1 = asset_ids(&app, &first, "G-1").await;
    assert_eq!(g1.len(), 2);
    let pending = proposals_of(&app, "G-1").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, Status::Submitted);
    assert_eq!(pending[0].author, "media-import");
    assert_eq!(pending[0].source, "media");
    assert_eq!(pending[0].author_user_id, None);
    assert_eq!(
        images_of(&app, "G-1").await,
        Value::Null,
        "master holds only approved values"
    );
    let first_asset = sluice::media::assets::get(app.db(), g1[0].as_str().expect("id"))
        .await
        .expect("asset")
        .expect("stored");
    assert_eq!(first_asset.filename, "G-1_1.jpg");
    assert_eq!(stored_originals(&app).await, 4);

    // Again: nothing new, no new proposal.
    let second = run(&app, root, pattern()).await;
    assert_eq!(
        (second.new_assets, second.duplicates),
        (0, 5),
        "{second:#?}"
    );
    assert_eq!(second.proposals_opened(), 0);
    assert_eq!(
        outcome(&second, "G-1").outcome,
        Ok(LinkOutcome::AlreadyProposed(pending[0].id))
    );
    assert_eq!(second.renditions, Some(0));
    assert_eq!(proposals_of(&app, "G-1").await.len(), 1);
    assert_eq!(stored_originals(&app).await, 4);

    // Approved: master links them; a run finds them linked.
    let approver = app
        .user_token(&[Role::Approver], "catalog:read catalog:write")
        .await;
    let approved = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{}/approve", pending[0].id),
            &approver,
            None,
            &[],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(images_of(&app, "G-1").await, Value::Array(g1.clone()));
    // Rejected: not asked again.
    let g2 = proposed(&first, "G-2");
    let rejected = app
        .api_json(
            Method::POST,
            &format!("/api/v1/proposals/{g2}/reject"),
            &approver,
            Some(json!({"comment": "wrong colour"})),
            &[],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let third = run(&app, root, pattern()).await;
    assert_eq!(
        outcome(&third, "G-1").outcome,
        Ok(LinkOutcome::AlreadyLinked)
    );
    assert_eq!(
        outcome(&third, "G-2").outcome,
        Ok(LinkOutcome::Rejected(g2))
    );
    assert_eq!(third.proposals_opened(), 0);

    // A new image is appended after the approved ones.
    write(root, "G-1_3.jpg", &jpeg(32, 32, [10, 250, 10]));
    let fourth = run(&app, root, pattern()).await;
    assert_eq!(fourth.new_assets, 1);
    let after = asset_ids(&app, &fourth, "G-1").await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[..2], g1[..]);
    // A fourth is one too many for `images` (at most 3): refused, saying why.
    write(root, "G-1_4.jpg", &jpeg(32, 32, [10, 10, 250]));
    let fifth = run(&app, root, pattern()).await;
    let too_many = outcome(&fifth, "G-1").outcome.clone().expect_err("max 3");
    assert!(too_many.contains("at most 3"), "{too_many}");
    // The pending proposal for three is still there, untouched.
    let g1_proposals = proposals_of(&app, "G-1").await;
    assert_eq!(g1_proposals.len(), 2);
    assert_eq!(g1_proposals[1].status, Status::Submitted);
}

async fn links_follow_a_commerce_export(app: TestApp) {
    gadgets(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path();
    let photos = root.join("photos");
    write(
        &photos,
        "b/t/bt01-black_main.jpg",
        &jpeg(64, 64, [20, 20, 20]),
    );
    write(&photos, "a.jpg", &jpeg(32, 32, [200, 100, 0]));
    write(&photos, "gallery/b.jpg", &jpeg(32, 32, [0, 100, 200]));
    write(&photos, "x/dup.jpg", &jpeg(8, 8, [1, 1, 1]));
    write(&photos, "y/dup.jpg", &jpeg(8, 8, [2, 2, 2]));
    write(
        root,
        "export.csv",
        b"sku,name,base_image,additional_images\n\
          G-1,Trail,/b/t/bt01-black_main.jpg,\"a.jpg,b.jpg\"\n\
          G-2,Road,/x/y/missing.jpg,dup.jpg\n\
          ,Nameless,a.jpg,\n",
    );
    let csv = || {
        LinkSpec::Csv(CsvLinks {
            file: root.join("export.csv"),
            profile: None,
            sku_column: Some("sku".into()),
            columns: vec!["base_image".into(), "additional_images".into()],
        })
    };
    let first = run(&app, &photos, csv()).await;
    assert_eq!(first.new_assets, 5, "{first:#?}");
    assert_eq!(first.proposals_opened(), 1, "{first:#?}");
    let g1 = asset_ids(&app, &first, "G-1").await;
    let names = {
        let mut names = Vec::new();
        for id in &g1 {
            let asset = sluice::media::assets::get(app.db(), id.as_str().expect("id"))
                .await
                .expect("asset")
                .expect("stored");
            names.push(asset.filename);
        }
        names
    };
    assert_eq!(names, ["bt01-black_main.jpg", "a.jpg", "b.jpg"]);
    assert_eq!(
        first.problems,
        [
            "row 3: /x/y/missing.jpg is not in the folder",
            "row 3: dup.jpg matches 2 files (x/dup.jpg, y/dup.jpg); write its path inside the folder",
            "row 4: the SKU is empty",
        ]
    );
    assert_eq!(first.unlinked, ["x/dup.jpg", "y/dup.jpg"]);

    let second = run(&app, &photos, csv()).await;
    assert_eq!((second.new_assets, second.proposals_opened()), (0, 0));
    assert!(matches!(
        outcome(&second, "G-1").outcome,
        Ok(LinkOutcome::AlreadyProposed(_))
    ));
    assert_eq!(proposals_of(&app, "G-1").await.len(), 1);

    // A column the file does not have is refused before anything is stored.
    let import = MediaImport {
        folder: photos.clone(),
        links: LinkSpec::Csv(CsvLinks {
            file: root.join("export.csv"),
            profile: None,
            sku_column: Some("sku".into()),
            columns: vec!["image".into()],
        }),
        attribute: None,
        make_renditions: false,
    };
    let err = media_links::run(&app.state, &import, false)
        .await
        .expect_err("no such column");
    assert!(err.to_string().contains("has no column image"), "{err}");
    // So is an attribute that is not an assets attribute.
    let import = MediaImport {
        attribute: Some("name".into()),
        links: LinkSpec::Pattern("{sku}_{n}.jpg".into()),
        ..import
    };
    let err = media_links::run(&app.state, &import, false)
        .await
        .expect_err("not assets");
    assert!(
        err.to_string().contains("name is not an assets attribute"),
        "{err}"
    );
}

db_tests!(
    a_folder_goes_in_once_and_its_links_become_proposals,
    links_follow_a_commerce_export,
);
