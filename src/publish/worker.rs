//! The publisher's background loop: each process runs one, following the
//! change log a round at a time. Several processes may run it at once; the
//! publish lock makes them take turns (see [`super::publisher`]).

use tracing::Instrument;

use super::publisher::{self, PublishError, Round};
use crate::catalog::store::SchemaCache;
use crate::db::{Clock, Db};
pub use crate::services::Publishing;
use crate::services::Services;

/// Follows the change log until it is caught up (the CLI, tests, benchmarks).
pub async fn drain(services: &Services) -> Result<Round, PublishError> {
    catch_up(
        &services.db,
        &services.schema,
        &services.clock,
        &services.config.public_url,
    )
    .await
}

/// [`drain`] from the parts it needs; `public_url` starts image links.
pub async fn catch_up(
    db: &Db,
    schema: &SchemaCache,
    clock: &Clock,
    public_url: &str,
) -> Result<Round, PublishError> {
    let mut total = Round::default();
    let mut idle_rounds = 0;
    loop {
        let current = schema.get(db).await?;
        let round = publisher::follow_once(db, &current, public_url, clock.now())
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
pub fn spawn(services: Services) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tick = services.config.publish_tick;
        loop {
            if let Err(err) = drain(&services).await {
                tracing::warn!(error = %err, "publisher cannot catch up; retrying");
            }
            tokio::select! {
                () = services.publishing.woken() => {}
                () = tokio::time::sleep(tick) => {}
            }
        }
    })
}
