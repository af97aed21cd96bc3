//! The composition root, above everything: prepare (data folder, database,
//! migrations), spawn this node's workers, build the router, serve until
//! SIGTERM or Ctrl-C.

use std::net::SocketAddr;

use axum::Router;

use crate::config::{Config, ConfigError};
use crate::services::Services;
pub use crate::web::AppState;

/// Creates the data folder, opens the database and migrates it. Any failure
/// is one clear line for the operator.
pub async fn prepare(config: Config) -> Result<AppState, ConfigError> {
    Ok(AppState::from(Services::prepare(config).await?))
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
    let housekeeping = tokio::spawn(housekeeping(state.services.clone()));
    let importer = crate::import::worker::spawn(state.services.clone());
    let publisher = crate::publish::worker::spawn(state.services.clone());
    let job_worker = crate::jobs::worker::spawn(state.services.clone());
    let renditions = crate::media::renditions::spawn(
        state.db.clone(),
        state.media.clone(),
        state.schema.clone(),
        state.clock.clone(),
    );
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
    // A rendition in flight is made again after its lease runs out.
    renditions.abort();
    db.close().await;
    tracing::info!("sluice stopped");
    Ok(())
}

/// Every ten minutes: forget expired sessions and old login attempts, and
/// remove temporary media files older than an hour.
async fn housekeeping(services: Services) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        let now = services.clock.now();
        let sessions =
            crate::auth::sessions::purge_expired(&services.db, services.session_policy(), now)
                .await;
        let attempts = crate::auth::throttle::purge_old(services.db.pool(), now).await;
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
        // Temporary media keys a crashed write left behind (any node's:
        // a write in flight is younger than an hour).
        match services
            .media
            .store
            .sweep_temporary(now.minus(time::Duration::hours(1)))
            .await
        {
            Ok(0) => {}
            Ok(swept) => tracing::info!(media.swept = swept, "stale temporary media files removed"),
            Err(err) => tracing::warn!(error = %err, "sweeping temporary media files failed"),
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
