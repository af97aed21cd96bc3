//! What the background workers and the commands run on: the database, the
//! clock, the configuration, the schema cache and this node's worker handles
//! (wake a worker, tune it in tests, read a running import's progress). It
//! sits below every worker (import, publish, jobs) so none of them needs the
//! HTTP state; `web::AppState` is these services plus what only HTTP needs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::auth::sessions::SessionPolicy;
use crate::catalog::store::SchemaCache;
use crate::config::{Config, ConfigError};
use crate::db::{Clock, Db};

/// The services of one process.
#[derive(Clone, Debug)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub schema: Arc<SchemaCache>,
    pub imports: Arc<Imports>,
    pub publishing: Arc<Publishing>,
    pub jobs: Arc<Jobs>,
    /// The media store, its limits and the rendition worker's wake-up.
    pub media: crate::media::MediaHandle,
}

impl Services {
    /// Fails only when the media store cannot be opened.
    pub fn new(db: Db, config: Config, clock: Clock) -> Result<Self, ConfigError> {
        let media = crate::media::Media::open(&config)
            .map_err(|err| ConfigError::Media(err.to_string()))?;
        Ok(Self {
            media: Arc::new(media),
            db,
            config: Arc::new(config),
            clock,
            schema: Arc::new(SchemaCache::default()),
            imports: Arc::default(),
            publishing: Arc::default(),
            jobs: Arc::default(),
        })
    }

    /// Creates the data folder, opens the database and migrates it. Any
    /// failure is one clear line for the operator.
    pub async fn prepare(config: Config) -> Result<Self, ConfigError> {
        // On either backend: uploads, the demo's ERP file and local media
        // live there even when the database is PostgreSQL.
        config.prepare_data_dir()?;
        let db = Db::connect(&config.database_url, config.db_max_connections).await?;
        db.migrate(&config.database_url).await?;
        Self::new(db, config, Clock::system())
    }

    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle: self.config.session_idle,
            absolute: self.config.session_absolute,
        }
    }
}

/// How import jobs run. Tests shrink batches and simulate a crash.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub batch_size: usize,
    /// Test hook: after this many committed batches, write part of the next
    /// one and stop as if the process were killed (the transaction is
    /// dropped, never committed; the job stays `running`).
    pub crash_after_batches: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            crash_after_batches: None,
        }
    }
}

/// Live progress of a running import, for the progress bars.
#[derive(Debug, Default)]
pub struct Progress {
    pub rows: AtomicU64,
    pub bytes: AtomicU64,
}

/// The import worker's handle.
#[derive(Debug, Default)]
pub struct Imports {
    wake: Notify,
    live: Mutex<HashMap<i64, Arc<Progress>>>,
    options: Mutex<RunOptions>,
}

impl Imports {
    /// A job was queued: the worker looks now instead of at its next tick.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for [`Imports::wake`] (the worker loop).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Rows and bytes read so far by a job running in this process.
    pub fn progress(&self, job_id: i64) -> Option<(u64, u64)> {
        let live = self.live.lock().ok()?;
        live.get(&job_id).map(|p| {
            (
                p.rows.load(Ordering::Relaxed),
                p.bytes.load(Ordering::Relaxed),
            )
        })
    }

    pub fn options(&self) -> RunOptions {
        self.options.lock().map(|o| *o).unwrap_or_default()
    }

    /// Tests: smaller batches, a simulated crash.
    pub fn set_options(&self, options: RunOptions) {
        if let Ok(mut current) = self.options.lock() {
            *current = options;
        }
    }

    /// The worker starts a job: its progress is shown from now on.
    pub fn track(&self, job_id: i64) -> Arc<Progress> {
        let progress = Arc::new(Progress::default());
        if let Ok(mut live) = self.live.lock() {
            live.insert(job_id, progress.clone());
        }
        progress
    }

    pub fn untrack(&self, job_id: i64) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(&job_id);
        }
    }
}

/// A token's feed pulls are recorded at most this often per channel: a
/// connector draining a feed should not write a row per page.
const PULL_RECORD_EVERY: Duration = Duration::from_secs(10);

/// The publisher's handle.
#[derive(Debug, Default)]
pub struct Publishing {
    wake: Notify,
    pulls: Mutex<HashMap<(String, i64), Instant>>,
}

impl Publishing {
    /// Something was committed: the publisher looks now. Every request that
    /// may have written wakes it (see `web::layers::wake_publisher`), and so
    /// do the import and job workers; other nodes' writes are seen at the
    /// next tick (`SLUICE_PUBLISH_TICK_MS`).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for [`Publishing::wake`] (the publisher loop).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// True when this token's pull of this channel should be recorded now.
    pub fn pull_due(&self, channel: &str, token_id: i64) -> bool {
        let Ok(mut pulls) = self.pulls.lock() else {
            return false;
        };
        let now = Instant::now();
        let key = (channel.to_owned(), token_id);
        match pulls.get(&key) {
            Some(last) if now.duration_since(*last) < PULL_RECORD_EVERY => false,
            _ => {
                pulls.insert(key, now);
                true
            }
        }
    }
}

/// How the job worker runs its steps (tests shrink the steps and simulate a
/// crash). Its default, one publisher round per step, is set in
/// `jobs::worker`, which knows the publisher.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOptions {
    /// Products per step (a republish round, a stretch of a schema purge).
    pub step: usize,
    /// Stop (as if the process died) after this many steps of a job,
    /// leaving it claimed: tests of the takeover.
    pub crash_after_steps: Option<u32>,
}

/// The job worker's handle.
#[derive(Debug, Default)]
pub struct Jobs {
    wake: Notify,
    options: Mutex<WorkerOptions>,
}

impl Jobs {
    /// A job was queued: the worker looks now instead of at its next tick.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for [`Jobs::wake`] (the worker loop).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    pub fn options(&self) -> WorkerOptions {
        self.options.lock().map(|o| *o).unwrap_or_default()
    }

    /// Tests: smaller steps, a simulated crash.
    pub fn set_options(&self, options: WorkerOptions) {
        if let Ok(mut current) = self.options.lock() {
            *current = options;
        }
    }
}
