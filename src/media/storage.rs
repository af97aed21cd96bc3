//! Where media bytes live: an `object_store` behind one small interface.
//! `file://PATH` is a local folder (the default, under the data folder),
//! `s3://BUCKET/PREFIX` is S3 or an S3-compatible server (endpoint, region,
//! path-style and credentials from the usual `AWS_*` environment
//! variables), `memory://` keeps everything in memory (tests).
//!
//! Writes go to a temporary key and are renamed onto the final one, so a
//! crash never leaves half a file under an asset's key.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::MediaError;

/// The media object store of this process.
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    /// Prepended to every key (the `s3://bucket/PREFIX` part).
    prefix: String,
    /// The URL it was opened from, credentials left out (logs, the health page).
    describe: String,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("url", &self.describe)
            .finish()
    }
}

fn storage_error(err: impl std::fmt::Display) -> MediaError {
    MediaError::Storage(err.to_string())
}

impl MediaStore {
    /// Opens the store `url` names.
    pub fn open(url: &str) -> Result<Self, MediaError> {
        if url.starts_with("memory://") {
            return Ok(Self {
                inner: Arc::new(object_store::memory::InMemory::new()),
                prefix: String::new(),
                describe: "memory://".into(),
            });
        }
        if let Some(path) = url.strip_prefix("file://") {
            std::fs::create_dir_all(path)
                .map_err(|err| MediaError::Storage(format!("cannot create {path}: {err}")))?;
            let local = object_store::local::LocalFileSystem::new_with_prefix(path)
                .map_err(storage_error)?;
            return Ok(Self {
                inner: Arc::new(local),
                prefix: String::new(),
                describe: url.to_owned(),
            });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(MediaError::Storage(format!("{url} names no bucket")));
            }
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(storage_error)?;
            return Ok(Self {
                inner: Arc::new(s3),
                prefix: prefix.trim_matches('/').to_owned(),
                describe: url.to_owned(),
            });
        }
        Err(MediaError::Storage(format!(
            "{url} is not a media URL; use file://PATH, s3://BUCKET/PREFIX or memory://"
        )))
    }

    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Stores `bytes` under `key`: written to a temporary key first, then
    /// renamed, so `key` holds the whole file or nothing.
    pub async fn put_atomic(&self, key: &str, bytes: Bytes) -> Result<(), MediaError> {
        let temporary = self.path(&format!("tmp/{}", uuid::Uuid::new_v4()));
        self.inner
            .put(&temporary, PutPayload::from(bytes))
            .await
            .map_err(storage_error)?;
        if let Err(err) = self.inner.rename(&temporary, &self.path(key)).await {
            let _ = self.inner.delete(&temporary).await;
            return Err(storage_error(err));
        }
        Ok(())
    }

    /// The bytes under `key`, or `None` when there are none.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, MediaError> {
        match self.inner.get(&self.path(key)).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(storage_error)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(storage_error(err)),
        }
    }

    /// Whether `key` holds a file.
    pub async fn exists(&self, key: &str) -> Result<bool, MediaError> {
        match self.inner.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(storage_error(err)),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(storage_error(err)),
        }
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }
}
