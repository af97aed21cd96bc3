//! Application state and lifecycle: prepare (data folder, database,
//! migrations), build the router, serve until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;

use crate::auth::sessions::SessionPolicy;
use crate::catalog::store::SchemaCache;
use crate::config::{Config, ConfigError};
use crate::db::{Clock, Db};
use crate::web::metrics::Metrics;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    pub schema: Arc<SchemaCache>,
    pub imports: Arc<crate::import::worker::Imports>,
    pub publishing: Arc<crate::publish::worker::Publishing>,
    pub jobs: Arc<crate::jobs::worker::Jobs>,
}

impl AppState {
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

    pub fn new(db: Db, config: Config, clock: Clock) -> Self {
        Self {
            db,
            config: Arc::new(config),
            clock,
            metrics: Arc::new(Metrics::default()),
            schema: Arc::new(SchemaCache::default()),
            imports: Arc::default(),
            publishing: Arc::default(),
            jobs: Arc::default(),
        }
    }

    /// What the job worker needs (it never sees the whole state).
    pub fn job_services(&self) -> crate::jobs::worker::JobServices {
        crate::jobs::worker::JobServices {
            db: self.db.clone(),
            clock: self.clock.clone(),
            schema: self.schema.clone(),
            jobs: self.jobs.clone(),
            publishing: self.publishing.clone(),
        }
    }

    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle: self.config.session_idle,
            absolute: self.config.session_absolute,
        }
    }
}

/// Creates the data folder, opens the database and migrates it. Any failure
/// is one clear line for the operator.
pub async fn prepare(config: Config) -> Result<AppState, ConfigError> {
    // On either backend: uploads, the demo's ERP file and local media live
    // there even when the database is PostgreSQL.
    config.prepare_data_dir()?;
    let db = Db::connect(&config.database_url, config.db_max_connections).await?;
    db.migrate(&config.database_url).await?;
    Ok(AppState::new(db, config, Clock::system()))
}

/// The router over a prepared state.
pub fn build_router(state: AppState) -> Router {
    crate::web::router(state)
}

/// Binds `SLUICE_BIND` and serves until SIGTERM or Ctrl-C, letting requests
/// in flight finish.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let bind = state.config.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {bind} (SLUICE_BIND): {err}"))?;
    tracing::info!(http.bind = %bind, public_url = %state.config.public_url, "sluice is serving");
    if state.config.public_url.starts_with("https://") && !state.config.secure_cookies {
        tracing::warn!(
            "SLUICE_PUBLIC_URL is https:// but SLUICE_SECURE_COOKIES is off: cookies lack Secure and the __Host- prefix"
        );
    }
    let db = state.db.clone();
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    let importer = crate::import::worker::spawn(state.clone());
    let publisher = crate::publish::worker::spawn(state.clone());
    let job_worker = crate::jobs::worker::spawn(state.job_services());
    let app = build_router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    housekeeping.abort();
    // An import in flight stops between statements; its open batch rolls
    // back and the next start resumes the job after its last batch.
    importer.abort();
    // A publishing round in flight rolls back whole; the next start redoes it.
    publisher.abort();
    // A job step in flight rolls back whole; the job is taken over after
    // its lease (by this node's next start or another node) and resumes.
    job_worker.abort();
    db.close().await;
    tracing::info!("sluice stopped");
    Ok(())
}

/// Every ten minutes: forget expired sessions and old login attempts.
async fn housekeeping(state: AppState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        let now = state.clock.now();
        let sessions =
            crate::auth::sessions::purge_expired(&state.db, state.session_policy(), now).await;
        let attempts = crate::auth::throttle::purge_old(state.db.pool(), now).await;
        match (sessions, attempts) {
            (Ok(sessions), Ok(attempts)) => {
                tracing::debug!(
                    sessions.purged = sessions,
                    login_attempts.purged = attempts,
                    "housekeeping"
                );
            }
            (Err(err), _) | (_, Err(err)) => tracing::warn!(error = %err, "housekeeping failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
