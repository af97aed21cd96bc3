//! `AppState`: what every handler can reach. It is the process's
//! [`Services`] (reached through `Deref`, so handlers read `state.db`)
//! plus what only HTTP needs (metrics).

use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::db::{Clock, Db};
use crate::services::Services;
use crate::web::metrics::Metrics;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub services: Services,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Fails only when the media store cannot be opened.
    pub fn new(db: Db, config: Config, clock: Clock) -> Result<Self, crate::config::ConfigError> {
        Services::new(db, config, clock).map(Self::from)
    }

    /// Queues `task` for `actor` and wakes this node's job worker (the pages
    /// and the API both come through here).
    pub async fn queue_job(
        &self,
        task: &crate::jobs::Task,
        actor: &crate::audit::Actor,
    ) -> Result<crate::jobs::Job, crate::jobs::JobError> {
        let job = crate::jobs::enqueue(&self.db, task, actor, self.clock.now()).await?;
        self.jobs.wake();
        Ok(job)
    }
}

impl From<Services> for AppState {
    fn from(services: Services) -> Self {
        Self {
            services,
            metrics: Arc::new(Metrics::default()),
        }
    }
}

/// The HTTP state is the services plus metrics: handlers and extractors
/// reach the services as `state.db`, `state.clock`, and pass `&state` where
/// a worker or command takes `&Services`.
impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}
