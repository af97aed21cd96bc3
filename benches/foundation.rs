//! Foundation figures: the cost of one argon2id verification at Sluice's
//! parameters, and the server-side latency of a signed-in page (session
//! lookup + render) through the real router on SQLite.
//!
//! `cargo bench --bench foundation`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use sluice::audit::Actor;
use sluice::auth::users::{self, NewUser};
use sluice::auth::{Role, Roles, password};
use sluice::config::Config;
use tower::ServiceExt;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // argon2id verification
    let hash = password::hash("correct horse battery staple".into())
        .await
        .unwrap();
    let runs = 30;
    let started = Instant::now();
    for _ in 0..runs {
        password::verify("correct horse battery staple".into(), Some(hash.clone()))
            .await
            .unwrap();
    }
    let per_verify = started.elapsed() / runs;
    println!(
        "argon2id verify (m=19456 KiB, t=2, p=1): {:.1} ms",
        per_verify.as_secs_f64() * 1e3
    );

    // signed-in dashboard, server side
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<&str, String> =
        HashMap::from([("SLUICE_DATA_DIR", dir.path().display().to_string())]);
    let config = Config::from_sources(None, &|name| env.get(name).cloned()).unwrap();
    let state = sluice::app::prepare(config).await.unwrap();
    users::create(
        &state.db,
        &Actor::system("bench"),
        NewUser {
            email: "bench@example.com".into(),
            name: "Bench".into(),
            roles: Roles::new([Role::Admin]).unwrap(),
            password: "correct horse battery staple".into(),
        },
        state.clock.now(),
    )
    .await
    .unwrap();
    let router = sluice::app::build_router(state.clone());
    let login_page = router
        .clone()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let csrf_cookie = login_page
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = csrf_cookie.split_once('=').unwrap().1.to_owned();
    let login = router
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::COOKIE, &csrf_cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "csrf_token={token}&email=bench%40example.com&password=correct+horse+battery+staple"
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    let session = login
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let mut timings = Vec::new();
    for _ in 0..1000 {
        let started = Instant::now();
        let response = router
            .clone()
            .oneshot(
                Request::get("/")
                    .header(header::COOKIE, &session)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(response.status().is_success());
        let _ = response.into_body().collect().await.unwrap();
        timings.push(started.elapsed());
    }
    timings.sort();
    println!(
        "dashboard (admin, session lookup + 3 queries + render), 1000 requests: p50 {:.2} ms, p95 {:.2} ms",
        percentile(&timings, 0.50).as_secs_f64() * 1e3,
        percentile(&timings, 0.95).as_secs_f64() * 1e3
    );
}
