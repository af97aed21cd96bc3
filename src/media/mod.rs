//! Media (DAM): stored files identified by the SHA-256 of their bytes,
//! their metadata and review status, and their renditions per preset.
//!
//! - [`storage`]: the object store (a local folder, S3, or memory in tests);
//!   writes land under a temporary key and are renamed, so an asset's key
//!   never holds half a file.
//! - [`imaging`]: pure image work: what a file is (from its bytes, not its
//!   name), its size from the header (a pixel bomb is refused before any
//!   allocation), and renditions.
//! - [`assets`]: the `assets` and `asset_renditions` tables.
//! - [`upload`]: one file in: limits, dedupe, store, record, audit.
//! - [`renditions`]: making renditions in the background and on demand.
//! - [`ingest`]: a folder of files in (`sluice media import`), and the
//!   file-name patterns that say which product a file belongs to.
//!
//! Media sits below the workflow: linking assets to products is a product
//! change (a proposal), made by the layers above.

pub mod assets;
pub mod imaging;
pub mod ingest;
pub mod renditions;
pub mod storage;
pub mod upload;

use std::sync::Arc;

use tokio::sync::Notify;

pub use assets::{Asset, AssetFacts, AssetStatus};
pub use storage::MediaStore;

use crate::config::Config;

/// Why a media file or asset action was refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the file is {size} bytes; at most {limit} bytes are accepted")]
    TooLarge { size: u64, limit: u64 },
    #[error("the file is empty")]
    Empty,
    #[error("{what} files are not accepted; upload JPEG, PNG, WebP, GIF, TIFF or PDF")]
    Unsupported { what: String },
    #[error("the image is {width} × {height} pixels; at most {limit} pixels are accepted")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the file cannot be read as {media_type}: {reason}")]
    Corrupt { media_type: String, reason: String },
    #[error("there is no asset {0}")]
    NotFound(String),
    #[error("there is no media preset {0}")]
    NoPreset(String),
    #[error("{0}")]
    Invalid(String),
    /// Not this actor: the uploader deciding on their own upload (four eyes).
    #[error("{0}")]
    Forbidden(String),
    #[error("asset {id} changed since version {expected}; reload it")]
    Stale { id: String, expected: i64 },
    #[error("media storage failed: {0}")]
    Storage(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What an upload may be.
#[derive(Debug, Clone, Copy)]
pub struct MediaLimits {
    pub max_bytes: u64,
    pub max_pixels: u64,
}

impl MediaLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_bytes: config.max_media_bytes,
            max_pixels: config.max_media_pixels,
        }
    }
}

/// This process's media: the store, the limits, and the rendition worker's
/// wake-up.
#[derive(Debug)]
pub struct Media {
    pub store: MediaStore,
    pub limits: MediaLimits,
    /// The public base URL feeds put in front of `/media/…`.
    pub public_url: String,
    wake: Notify,
}

impl Media {
    pub fn open(config: &Config) -> Result<Self, MediaError> {
        Ok(Self::new(
            MediaStore::open(&config.media_url)?,
            MediaLimits::from_config(config),
            &config.public_url,
        ))
    }

    /// From its parts (tests and benchmarks).
    pub fn new(store: MediaStore, limits: MediaLimits, public_url: &str) -> Self {
        Self {
            store,
            limits,
            public_url: public_url.to_owned(),
            wake: Notify::new(),
        }
    }

    /// A new asset waits for renditions: the worker looks now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// Shared by the services of one process.
pub type MediaHandle = Arc<Media>;
