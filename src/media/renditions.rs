//! Renditions: one file per image asset and preset, made by a background
//! worker when the asset arrives (every preset), or on first request when
//! one is missing (a new preset, a failed run), and kept in the object
//! store under a key that holds the preset's spec hash.

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use super::assets::{self, Asset, Rendition};
use super::{Media, MediaError, MediaHandle, imaging};
use crate::catalog::schema::{MediaPreset, Schema};
use crate::catalog::store::SchemaCache;
use crate::db::{Clock, Db, Timestamp};

/// A worker holds an asset this long; one that died is taken over after.
const LEASE: time::Duration = time::Duration::minutes(5);

/// The object key of an asset's rendition for a preset as specified now.
pub fn rendition_key(sha256: &str, preset: &MediaPreset) -> String {
    format!(
        "renditions/{}/{sha256}/{}-{}.{}",
        &sha256[..2.min(sha256.len())],
        preset.code,
        preset.spec_hash(),
        preset.format.extension()
    )
}

/// Makes and stores one rendition.
pub async fn make(
    db: &Db,
    media: &Media,
    asset: &Asset,
    preset: &MediaPreset,
    now: Timestamp,
) -> Result<(Rendition, Bytes), MediaError> {
    make_many(db, media, asset, std::slice::from_ref(preset), now)
        .await?
        .pop()
        .ok_or_else(|| MediaError::Invalid("no rendition was made".into()))
}

/// Makes and stores the renditions of one asset for several presets, from
/// one read of the original and one decode.
pub async fn make_many(
    db: &Db,
    media: &Media,
    asset: &Asset,
    presets: &[MediaPreset],
    now: Timestamp,
) -> Result<Vec<(Rendition, Bytes)>, MediaError> {
    if presets.is_empty() {
        return Ok(Vec::new());
    }
    let original = media
        .store
        .get(&asset.original_key())
        .await?
        .ok_or_else(|| MediaError::Storage(format!("the original of {} is missing", asset.id)))?;
    let limits = media.limits;
    let wanted = presets.to_vec();
    let is_image = asset.is_image();
    let rendered = tokio::task::spawn_blocking(move || {
        if is_image {
            imaging::render_all(&original, &wanted, &limits)
        } else {
            wanted.iter().map(imaging::document_icon).collect()
        }
    })
    .await
    .map_err(|err| MediaError::Storage(format!("the rendition stopped: {err}")))??;
    let mut made = Vec::with_capacity(presets.len());
    for (preset, rendered) in presets.iter().zip(rendered) {
        let key = rendition_key(&asset.sha256, preset);
        let bytes = Bytes::from(rendered.bytes);
        media.store.put_atomic(&key, bytes.clone()).await?;
        let rendition = Rendition {
            asset_id: asset.id.clone(),
            preset: preset.code.clone(),
            spec_hash: preset.spec_hash(),
            object_key: key,
            media_type: rendered.media_type.to_owned(),
            width: i64::from(rendered.width),
            height: i64::from(rendered.height),
            size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        };
        assets::record_rendition(db, &rendition, now).await?;
        made.push((rendition, bytes));
    }
    Ok(made)
}

/// The rendition's bytes: the stored file, or made now when it is missing.
pub async fn get_or_make(
    db: &Db,
    media: &Media,
    asset: &Asset,
    preset: &MediaPreset,
    now: Timestamp,
) -> Result<(Rendition, Bytes), MediaError> {
    if let Some(rendition) =
        assets::rendition(db, &asset.id, &preset.code, &preset.spec_hash()).await?
        && let Some(bytes) = media.store.get(&rendition.object_key).await?
    {
        return Ok((rendition, bytes));
    }
    make(db, media, asset, preset, now).await
}

/// Makes every preset's rendition of one asset that is not there yet.
pub async fn make_all(
    db: &Db,
    media: &Media,
    schema: &Schema,
    asset: &Asset,
    now: Timestamp,
) -> Result<usize, MediaError> {
    let mut missing = Vec::new();
    for preset in schema.presets().iter() {
        if assets::rendition(db, &asset.id, &preset.code, &preset.spec_hash())
            .await?
            .is_none()
        {
            missing.push(preset.clone());
        }
    }
    Ok(make_many(db, media, asset, &missing, now).await?.len())
}

/// Works through queued assets until none is left; returns how many it did.
pub async fn drain(
    db: &Db,
    media: &Media,
    schema: &SchemaCache,
    clock: &Clock,
) -> Result<usize, MediaError> {
    let mut done = 0;
    loop {
        let now = clock.now();
        let Some(asset) = assets::claim_for_renditions(db, now, now.plus(LEASE)).await? else {
            return Ok(done);
        };
        let current = schema
            .get(db)
            .await
            .map_err(|err| MediaError::Storage(format!("cannot load the schema: {err}")))?;
        let outcome = make_all(db, media, &current, &asset, now).await;
        match &outcome {
            Ok(_) => assets::finish_renditions(db, &asset.id, None).await?,
            // The store or the database failing is an interruption: the
            // lease runs out and the asset is tried again.
            Err(MediaError::Storage(_) | MediaError::Db(_)) => {}
            Err(err) => {
                tracing::warn!(asset = %asset.id, error = %err, "renditions failed");
                assets::finish_renditions(db, &asset.id, Some(&err.to_string())).await?;
            }
        }
        outcome?;
        done += 1;
    }
}

/// The worker loop: drain, then wait for a new asset or the next tick.
pub fn spawn(
    db: Db,
    media: MediaHandle,
    schema: std::sync::Arc<SchemaCache>,
    clock: Clock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(err) = drain(&db, &media, &schema, &clock).await {
                tracing::warn!(error = %err, "rendition worker cannot catch up; retrying");
            }
            tokio::select! {
                () = media.woken() => {}
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    })
}

/// An absolute image link as feeds carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageLink {
    pub asset: String,
    pub url: String,
    pub width: u32,
    pub height: u32,
}

/// The public, content-addressed URL of an asset's rendition: the asset id
/// is its content hash, the `v` its preset's spec hash, so what the URL
/// names never changes and is cached for a year.
pub fn public_url(base: &str, asset_id: &str, preset: &MediaPreset) -> String {
    format!(
        "{}/media/{asset_id}/{}?v={}",
        base.trim_end_matches('/'),
        preset.code,
        preset.spec_hash()
    )
}

/// The link a feed carries for an image asset of `width` × `height`: the
/// rendition's size is known from the preset without making it.
pub fn link(
    base: &str,
    asset_id: &str,
    width: u32,
    height: u32,
    preset: &MediaPreset,
) -> ImageLink {
    let (width, height) = preset.target_size(width, height);
    ImageLink {
        asset: asset_id.to_owned(),
        url: public_url(base, asset_id, preset),
        width,
        height,
    }
}
