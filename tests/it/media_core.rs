//! The media core through the domain: upload, dedupe by content, the
//! rendition worker making every preset, and a worker that died mid-way.

use std::io::Cursor;

use sluice::audit::Actor;
use sluice::catalog::schema::default_media_presets;
use sluice::media::assets::{self, AssetStatus};
use sluice::media::{renditions, upload};

use crate::TestApp;

fn jpeg(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([shade, (x % 256) as u8, (y % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&image)
        .expect("encode");
    out.into_inner()
}

async fn the_same_bytes_are_one_asset_with_every_rendition(app: TestApp) {
    let state = &app.state;
    let actor = Actor::system("test");
    let bytes = jpeg(1600, 900, 40);
    let first = upload::upload(
        &state.db,
        &state.media,
        &actor,
        "folder/Boot.JPG",
        bytes.clone().into(),
        &[],
        app.clock().now(),
    )
    .await
    .expect("upload");
    assert!(first.created);
    assert_eq!(first.asset.filename, "Boot.JPG");
    assert_eq!(first.asset.media_type, "image/jpeg");
    assert_eq!(
        (first.asset.width, first.asset.height),
        (Some(1600), Some(900))
    );
    assert_eq!(first.asset.status, AssetStatus::Pending);
    assert_eq!(first.asset.renditions, "queued");
    assert_eq!(first.asset.id.len(), 16);

    let again = upload::upload(
        &state.db,
        &state.media,
        &actor,
        "another-name.jpg",
        bytes.into(),
        &[],
        app.clock().now(),
    )
    .await
    .expect("second upload");
    assert!(!again.created, "the same bytes are stored once");
    assert_eq!(again.asset.id, first.asset.id);
    assert_eq!(again.asset.filename, "Boot.JPG");

    let done = renditions::drain(&state.db, &state.media, &state.schema, app.clock())
        .await
        .expect("drain");
    assert_eq!(done, 1);
    let asset = assets::get(&state.db, &first.asset.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(asset.renditions, "done");
    let made = assets::renditions_of(&state.db, &asset.id)
        .await
        .expect("renditions");
    let presets = default_media_presets();
    assert_eq!(made.len(), presets.len());
    for preset in &presets {
        let rendition = made
            .iter()
            .find(|r| r.preset == preset.code)
            .unwrap_or_else(|| panic!("a {} rendition", preset.code));
        let (width, height) = preset.target_size(1600, 900);
        assert_eq!(
            (rendition.width, rendition.height),
            (i64::from(width), i64::from(height))
        );
        assert_eq!(rendition.media_type, preset.format.media_type());
        let stored = state
            .media
            .store
            .get(&rendition.object_key)
            .await
            .expect("store")
            .expect("the rendition's bytes are stored");
        let decoded = image::load_from_memory(&stored).expect("decodes");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (width, height),
            "{}",
            preset.code
        );
    }
    // Nothing is left for the worker.
    let again = renditions::drain(&state.db, &state.media, &state.schema, app.clock())
        .await
        .expect("drain");
    assert_eq!(again, 0);
}

async fn a_dead_workers_asset_is_taken_over_after_its_lease(app: TestApp) {
    let state = &app.state;
    let uploaded = upload::upload(
        &state.db,
        &state.media,
        &Actor::system("test"),
        "a.jpg",
        jpeg(64, 48, 200).into(),
        &[],
        app.clock().now(),
    )
    .await
    .expect("upload");
    let now = app.clock().now();
    // A worker claims it and dies.
    let claimed =
        assets::claim_for_renditions(&state.db, now, now.plus(time::Duration::minutes(5)))
            .await
            .expect("claim")
            .expect("claimed");
    assert_eq!(claimed.id, uploaded.asset.id);
    let meanwhile = renditions::drain(&state.db, &state.media, &state.schema, app.clock())
        .await
        .expect("drain");
    assert_eq!(meanwhile, 0, "a held asset is left to its worker");
    app.clock().advance(time::Duration::minutes(6));
    let taken_over = renditions::drain(&state.db, &state.media, &state.schema, app.clock())
        .await
        .expect("drain");
    assert_eq!(taken_over, 1);
}

crate::db_tests!(
    the_same_bytes_are_one_asset_with_every_rendition,
    a_dead_workers_asset_is_taken_over_after_its_lease,
);
