//! Demo images: one generated picture per model and simple product (its
//! variants inherit it), uploaded through the media pipeline, approved, and
//! linked to the product's `images`, so the feeds carry image links. A few
//! products are left without one, so the Google channel shows what a
//! missing image does to readiness.

use image::{Rgb, RgbImage};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::Actor;
use crate::catalog::product::{ProductKind, ValueKey};
use crate::catalog::store;
use crate::db::{Clock, Db};
use crate::media::assets::{self, Decision};
use crate::media::{Media, upload};
use crate::services::Services;
use crate::workflow::write::{self, ChangeSet, ValueChange, Writer};

/// The attribute the demo links images through.
const IMAGES: &str = "images";
/// Every this-many-th product gets no image.
const WITHOUT_IMAGE_EVERY: usize = 12;
/// Side of a demo picture, in pixels (Google wants at least 250 × 250 for
/// apparel, 100 × 100 otherwise).
const SIDE: u32 = 800;

/// What [`seed_once`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MediaSeed {
    pub assets: usize,
    pub linked: usize,
}

/// Seeds the demo images unless the library holds assets already.
pub async fn seed_once(services: &Services) -> anyhow::Result<Option<MediaSeed>> {
    let seeded = seed_images(&services.db, &services.media, &services.clock, SIDE).await?;
    if seeded.is_some() {
        services.media.wake();
        services.publishing.wake();
    }
    Ok(seeded)
}

/// [`seed_once`] from its parts, with pictures `side` pixels square (the
/// tests make small ones).
pub async fn seed_images(
    db: &Db,
    media: &Media,
    clock: &Clock,
    side: u32,
) -> anyhow::Result<Option<MediaSeed>> {
    if assets::counts(db).await?.values().sum::<i64>() > 0 {
        return Ok(None);
    }
    let schema = store::load_schema(db.pool()).await?;
    if schema.attribute(IMAGES).is_none() {
        return Ok(None);
    }
    let actor = Actor::system("sluice demo");
    let writer = Writer::System(actor.clone());
    let mut seed = MediaSeed::default();
    let mut after = 0;
    let mut index = 0;
    loop {
        let ids = {
            let mut conn = db.pool().acquire().await?;
            store::ids_after(&mut conn, after, 200).await?
        };
        let Some(&last) = ids.last() else { break };
        after = last;
        let mut products = store::find_many(db, &ids).await?;
        products.sort_by_key(|stored| stored.product.id);
        for stored in products {
            let product = stored.product;
            if product.kind == ProductKind::Variant {
                continue;
            }
            index += 1;
            if index % WITHOUT_IMAGE_EVERY == 0 {
                continue;
            }
            let picture = picture(&product.sku, side)?;
            let uploaded = upload::upload(
                db,
                media,
                &actor,
                &format!("{}.jpg", product.sku.to_lowercase()),
                picture.into(),
                &["demo".to_owned()],
                clock.now(),
            )
            .await?;
            let mut tx = db.begin_write().await?;
            assets::decide(
                &mut tx,
                &uploaded.asset.id,
                &Decision::Approve,
                &actor,
                true,
                clock.now(),
            )
            .await?;
            tx.commit().await?;
            seed.assets += usize::from(uploaded.created);
            let changes = ChangeSet {
                values: vec![ValueChange {
                    key: ValueKey::new(IMAGES, None, None),
                    data: Some(json!([uploaded.asset.id])),
                }],
                ..ChangeSet::default()
            };
            write::update(
                db,
                &schema,
                &writer,
                &product.sku,
                None,
                &changes,
                clock.now(),
            )
            .await?;
            seed.linked += 1;
        }
    }
    Ok(Some(seed))
}

/// A product shot stand-in: a soft backdrop, a floor shadow and a rounded
/// shape in a colour drawn from the SKU, so every product looks different
/// and the same SKU always gives the same bytes (and the same asset id).
fn picture(sku: &str, side: u32) -> anyhow::Result<Vec<u8>> {
    let hash = Sha256::digest(sku.as_bytes());
    let hue = f64::from(u16::from_be_bytes([hash[0], hash[1]])) / 65_536.0;
    let colour = hsl(hue, 0.55, 0.5);
    let centre = f64::from(side) / 2.0;
    let radius = f64::from(side) * (0.22 + f64::from(hash[2]) / 2_550.0);
    let mut canvas = RgbImage::new(side, side);
    for (x, y, pixel) in canvas.enumerate_pixels_mut() {
        let (fx, fy) = (f64::from(x), f64::from(y));
        let backdrop = 250.0 - 18.0 * fy / f64::from(side);
        let mut rgb = [backdrop; 3];
        // The shadow under the shape.
        let shadow = ((fx - centre) / (radius * 1.1)).powi(2)
            + ((fy - centre - radius * 0.95) / (radius * 0.18)).powi(2);
        if shadow < 1.0 {
            rgb = rgb.map(|c| c * (0.82 + 0.18 * shadow));
        }
        // A rounded square, lit from the top left.
        let (dx, dy) = ((fx - centre).abs(), (fy - centre).abs());
        let corner = radius * 0.3;
        let inside = dx.max(dy) < radius
            && (dx < radius - corner
                || dy < radius - corner
                || (dx - (radius - corner)).hypot(dy - (radius - corner)) < corner);
        if inside {
            let light = 1.15 - 0.3 * ((fx + fy) / (2.0 * f64::from(side)));
            rgb = colour.map(|c| (c * light).min(255.0));
        }
        *pixel = Rgb(rgb.map(|c| c.clamp(0.0, 255.0) as u8));
    }
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 82).encode_image(&canvas)?;
    Ok(bytes)
}

/// An RGB colour (0–255) from hue, saturation and lightness (0–1).
fn hsl(hue: f64, saturation: f64, lightness: f64) -> [f64; 3] {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let sector = hue * 6.0;
    let x = chroma * (1.0 - (sector % 2.0 - 1.0).abs());
    let (r, g, b) = match sector as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    [r, g, b].map(|c| (c + m) * 255.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_sku_gives_the_same_picture() {
        let first = picture("TS-001", 300).expect("encodes");
        assert_eq!(first, picture("TS-001", 300).expect("encodes"));
        assert_ne!(first, picture("TS-002", 300).expect("encodes"));
        let decoded = image::load_from_memory(&first).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (300, 300));
    }
}
