//! Where media bytes live: an `object_store` behind one small interface.
//! `file://PATH` is a local folder (the default, under the data folder),
//! `s3://BUCKET/PREFIX` is S3 or an S3-compatible server (endpoint, region,
//! path-style and credentials from the usual `AWS_*` environment
//! variables, which `?option=value` pairs on the URL override),
//! `memory://` keeps everything in memory (tests).
//!
//! Writes go to a temporary key under `tmp/` and are renamed onto the final
//! one, so a crash never leaves half a file under an asset's key; a
//! temporary key a crash left behind is swept after an hour
//! ([`MediaStore::sweep_temporary`]).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::MediaError;
use crate::db::Timestamp;

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

/// Where temporary keys live, under the store's prefix.
const TEMPORARY: &str = "tmp";

/// URL options whose value is a secret: accepted, never shown.
const SECRET_OPTIONS: [&str; 4] = [
    "access_key_id",
    "secret_access_key",
    "session_token",
    "token",
];

/// An S3 store for `s3://BUCKET/PREFIX[?option=value&…]`: the `AWS_*`
/// environment first (`env` lists it), then the URL's options (any
/// `AmazonS3ConfigKey` name, with or without `aws_`) over it. Path-style
/// requests unless `virtual_hosted_style_request` says otherwise.
fn s3_store(
    url: &str,
    rest: &str,
    env: &mut dyn Iterator<Item = (String, String)>,
) -> Result<(Arc<dyn ObjectStore>, String, String), MediaError> {
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    if bucket.is_empty() {
        return Err(MediaError::Storage(format!(
            "{} names no bucket",
            redact(url)
        )));
    }
    let mut builder = AmazonS3Builder::new();
    for (key, value) in env {
        if key.starts_with("AWS_")
            && let Ok(config) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
        {
            builder = builder.with_config(config, value);
        }
    }
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let config = key
            .to_ascii_lowercase()
            .parse::<AmazonS3ConfigKey>()
            .map_err(|_| {
                MediaError::Storage(format!(
                    "{key} is not an S3 option (see README, Media storage on S3)"
                ))
            })?;
        builder = builder.with_config(config, value.into_owned());
    }
    let store = builder
        .with_bucket_name(bucket)
        .build()
        .map_err(storage_error)?;
    Ok((
        Arc::new(store),
        prefix.trim_matches('/').to_owned(),
        redact(url),
    ))
}

/// The URL with the values of secret options replaced by `***`.
fn redact(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let pairs: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| {
            let bare = key.to_ascii_lowercase();
            let bare = bare.strip_prefix("aws_").unwrap_or(&bare);
            if SECRET_OPTIONS.contains(&bare) {
                format!("{key}=***")
            } else {
                format!("{key}={value}")
            }
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

impl MediaStore {
    /// Opens the store `url` names; S3 settings come from this process's
    /// `AWS_*` environment and the URL's options.
    pub fn open(url: &str) -> Result<Self, MediaError> {
        Self::open_with_env(url, &mut std::env::vars())
    }

    /// [`MediaStore::open`] with the environment given (tests, tools).
    pub fn open_with_env(
        url: &str,
        env: &mut dyn Iterator<Item = (String, String)>,
    ) -> Result<Self, MediaError> {
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
            let (inner, prefix, describe) = s3_store(url, rest, env)?;
            return Ok(Self {
                inner,
                prefix,
                describe,
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
    /// renamed, so `key` holds the whole file or nothing. A failed rename
    /// removes the temporary key (S3 renames by copy and delete: a delete
    /// that fails too leaves it to [`MediaStore::sweep_temporary`]).
    pub async fn put_atomic(&self, key: &str, bytes: Bytes) -> Result<(), MediaError> {
        let temporary = self.path(&format!("{TEMPORARY}/{}", uuid::Uuid::new_v4()));
        self.inner
            .put(&temporary, PutPayload::from(bytes))
            .await
            .map_err(storage_error)?;
        if let Err(err) = self.inner.rename(&temporary, &self.path(key)).await {
            match self.inner.delete(&temporary).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(left) => tracing::warn!(
                    media.key = %temporary,
                    error = %left,
                    "a temporary media file is left for the sweep"
                ),
            }
            return Err(storage_error(err));
        }
        Ok(())
    }

    /// Temporary keys (`tmp/…`) last written before `older_than`: a write
    /// in flight is younger, so these are what a crash left behind.
    pub async fn stale_temporary(&self, older_than: Timestamp) -> Result<Vec<String>, MediaError> {
        let cutoff = older_than.unix_seconds();
        let found: Vec<object_store::ObjectMeta> = self
            .inner
            .list(Some(&self.path(TEMPORARY)))
            .try_collect()
            .await
            .map_err(storage_error)?;
        Ok(found
            .into_iter()
            .filter(|meta| meta.last_modified.timestamp() < cutoff)
            .map(|meta| self.key_of(&meta.location))
            .collect())
    }

    /// Deletes the temporary keys last written before `older_than`;
    /// answers how many it deleted.
    pub async fn sweep_temporary(&self, older_than: Timestamp) -> Result<usize, MediaError> {
        let stale = self.stale_temporary(older_than).await?;
        for key in &stale {
            self.delete(key).await?;
        }
        Ok(stale.len())
    }

    /// Every key under `under` (a folder such as `originals`), sorted.
    pub async fn keys(&self, under: &str) -> Result<Vec<String>, MediaError> {
        let root = (!(under.is_empty() && self.prefix.is_empty())).then(|| self.path(under));
        let found: Vec<object_store::ObjectMeta> = self
            .inner
            .list(root.as_ref())
            .try_collect()
            .await
            .map_err(storage_error)?;
        let mut keys: Vec<String> = found.iter().map(|m| self.key_of(&m.location)).collect();
        keys.sort();
        Ok(keys)
    }

    /// The key of a stored path: the path without the store's prefix.
    fn key_of(&self, location: &Path) -> String {
        let full = location.as_ref();
        if self.prefix.is_empty() {
            return full.to_owned();
        }
        full.strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(full)
            .to_owned()
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

    /// Removes `key`; a key that is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(storage_error(err)),
        }
    }

    /// The URL the store was opened from, secrets replaced by `***`.
    pub fn describe(&self) -> &str {
        &self.describe
    }
}
