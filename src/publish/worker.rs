//! The publisher's background loop: each process runs one, following the
//! change log a round at a time. Several processes may run it at once; the
//! publish lock makes them take turns (see [`super::publisher`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::Instrument;

use tokio::sync::Notify;

use super::publisher::{self, PublishError, Round};
use crate::app::AppState;
use crate::catalog::store::SchemaCache;
use crate::db::{Clock, Db};

/// A token's feed pulls are recorded at most this often per channel: a
/// connector draining a feed should not write a row per page.
const PULL_RECORD_EVERY: Duration = Duration::from_secs(10);

/// The publishing side of the application state.
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

/// Follows the change log until it is caught up (the CLI, tests, benchmarks).
pub async fn drain(state: &AppState) -> Result<Round, PublishError> {
    catch_up(&state.db, &state.schema, &state.clock).await
}

/// [`drain`] without an application state.
pub async fn catch_up(db: &Db, schema: &SchemaCache, clock: &Clock) -> Result<Round, PublishError> {
    let mut total = Round::default();
    let mut idle_rounds = 0;
    loop {
        let current = schema.get(db).await?;
        let round = publisher::follow_once(db, &current, clock.now())
            .instrument(tracing::info_span!(
                "publish_round",
                publish.schema = current.version
            ))
            .await?;
        if round.products == 0 {
            // A rebuild may still be due (the schema moved without a logged
            // change); a second empty round means there is nothing to do.
            idle_rounds += 1;
            if idle_rounds > 1 || publisher::backlog(db).await? == 0 {
                return Ok(total);
            }
            continue;
        }
        idle_rounds = 0;
        total.products += round.products;
        total.events += round.events;
    }
}

/// The loop: drain, then wait for a wake-up or the next tick. A wake-up
/// that comes while a round runs is kept, so the write it announces is
/// followed right after.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tick = state.config.publish_tick;
        loop {
            if let Err(err) = drain(&state).await {
                tracing::warn!(error = %err, "publisher cannot catch up; retrying");
            }
            tokio::select! {
                () = state.publishing.wake.notified() => {}
                () = tokio::time::sleep(tick) => {}
            }
        }
    })
}
