//! One file in: the size limit, the content hash (the same bytes are stored
//! once and a second upload returns the first asset), what the file is from
//! its bytes, the original stored, the asset recorded and audited, and the
//! rendition worker woken.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::assets::{self, Asset, NewAsset};
use super::{Media, MediaError, imaging};
use crate::audit::Actor;
use crate::db::{Db, Timestamp};

/// Longest file name kept (in characters).
const MAX_FILENAME: usize = 200;

/// The result of an upload.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub asset: Asset,
    /// False when the same bytes were already stored: `asset` is that one.
    pub created: bool,
}

/// The file name as kept: its last path segment (no folders, so no path
/// traversal), without control characters, at most 200 characters; the
/// name is only ever shown, never used as a key.
pub fn sanitize_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "upload".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Hex SHA-256 of the bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Stores one file as an asset (pending review), or returns the asset that
/// already holds these bytes.
pub async fn upload(
    db: &Db,
    media: &Media,
    actor: &Actor,
    filename: &str,
    bytes: Bytes,
    tags: &[String],
    now: Timestamp,
) -> Result<Uploaded, MediaError> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > media.limits.max_bytes {
        return Err(MediaError::TooLarge {
            size,
            limit: media.limits.max_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    let limits = media.limits;
    let checked = bytes.clone();
    // Hashing and probing a large file is CPU work: off the async threads.
    let (sha256, probe) = tokio::task::spawn_blocking(move || {
        let sha256 = sha256_hex(&checked);
        imaging::probe(&checked, &limits).map(|probe| (sha256, probe))
    })
    .await
    .map_err(|err| MediaError::Storage(format!("the upload check stopped: {err}")))??;

    let mut conn = db.pool().acquire().await?;
    if let Some(asset) = assets::find_by_sha(&mut conn, &sha256).await? {
        return Ok(Uploaded {
            asset,
            created: false,
        });
    }
    drop(conn);

    let key = assets::original_key(&sha256);
    if !media.store.exists(&key).await? {
        media.store.put_atomic(&key, bytes.clone()).await?;
    }
    let new = NewAsset {
        sha256: sha256.clone(),
        filename: sanitize_filename(filename),
        media_type: probe.media_type.to_owned(),
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        width: probe.width,
        height: probe.height,
        orientation: probe.orientation,
        tags: assets::clean_tags(tags),
    };
    let mut tx = db.begin_write().await?;
    match assets::insert(&mut tx, &new, actor, now).await {
        Ok(asset) => {
            tx.commit().await?;
            media.wake();
            Ok(Uploaded {
                asset,
                created: true,
            })
        }
        Err(err) if crate::db::is_unique_violation(&err) => {
            // Another upload of the same bytes committed first.
            drop(tx);
            let mut conn = db.pool().acquire().await?;
            let asset = assets::find_by_sha(&mut conn, &sha256)
                .await?
                .ok_or_else(|| MediaError::NotFound(assets::id_for(&sha256)))?;
            Ok(Uploaded {
                asset,
                created: false,
            })
        }
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_folders() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\photos\\boot.jpg"), "boot.jpg");
        assert_eq!(sanitize_filename("..\\..\\win.ini"), "win.ini");
        assert_eq!(sanitize_filename(".."), "upload");
        assert_eq!(sanitize_filename("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(sanitize_filename(".hidden.jpg"), "hidden.jpg");
        assert_eq!(sanitize_filename(&"x".repeat(300)).len(), 200);
    }
}
