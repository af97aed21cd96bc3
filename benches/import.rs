//! End-to-end import figures: 100,000 ERP items × 20 columns (apparel and
//! footwear with variants, electronics, home) through the `erp-items`
//! profile — read, map, validate, write with history, change log and
//! completeness — then the same file again (nothing changes, nothing may be
//! written), with the process's peak RSS. SQLite always; PostgreSQL too when
//! `SLUICE_BENCH_POSTGRES_URL` is set (a schema is created and dropped).
//!
//! `cargo bench --bench import` (`SLUICE_BENCH_ITEMS` changes the size)

use std::collections::HashMap;
use std::time::Instant;

use sluice::app::AppState;
use sluice::config::Config;
use sluice::import::generate::{GenerateOptions, generate};
use sluice::import::jobs::{Mode, Status};
use sqlx::Row;

/// The same allocator as the `sluice` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn count(state: &AppState, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(state.db.pool())
    .await
    .unwrap()
    .try_get("n")
    .unwrap()
}

async fn run(label: &str, state: &AppState, file: &std::path::Path, items: usize) {
    sluice::demo::seed_catalog(&state.db, &state.clock)
        .await
        .unwrap();
    let products_before = count(state, "products").await;
    let started = Instant::now();
    let dry =
        sluice::import::cli::import_file(state, file, "erp-items", Mode::DryRun, "bench", false)
            .await
            .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        count(state, "products").await,
        products_before,
        "a dry run writes nothing"
    );
    println!(
        "{label:<10} {:<22} {items} items in {seconds:>6.2} s = {:>7.0} items/s  (would create {})",
        "dry run (checks only)",
        items as f64 / seconds,
        dry.counts.created
    );
    for (pass, expect_writes) in [("first import", true), ("re-import, unchanged", false)] {
        let versions = count(state, "product_versions").await;
        let log = count(state, "change_log").await;
        let started = Instant::now();
        let job = sluice::import::cli::import_file(
            state,
            file,
            "erp-items",
            Mode::Upsert,
            "bench",
            false,
        )
        .await
        .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let written = count(state, "product_versions").await - versions;
        let logged = count(state, "change_log").await - log;
        assert_eq!(job.status, Status::Succeeded, "{:?}", job.message);
        assert_eq!(job.counts.read as usize, items);
        if !expect_writes {
            assert_eq!(
                (written, logged),
                (0, 0),
                "an unchanged file must write nothing"
            );
            assert_eq!(job.counts.unchanged as usize, items);
        }
        println!(
            "{label:<10} {pass:<22} {items} items in {seconds:>6.2} s = {:>7.0} items/s  (created {}, unchanged {}, versions written {written}, change-log entries {logged}; peak RSS so far {:.0} MB)",
            items as f64 / seconds,
            job.counts.created,
            job.counts.unchanged,
            peak_rss_mb(),
        );
    }
    let products = count(state, "products").await - products_before;
    println!("{label:<10} products added: {products}");
}

fn config(data_dir: &std::path::Path, url: Option<String>) -> Config {
    let mut env = HashMap::new();
    env.insert("SLUICE_DATA_DIR".to_owned(), data_dir.display().to_string());
    if let Some(url) = url {
        env.insert("SLUICE_DATABASE_URL".to_owned(), url);
    }
    Config::from_sources(None, &|name| env.get(name).cloned()).unwrap()
}

#[tokio::main]
async fn main() {
    let items: usize = std::env::var("SLUICE_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("erp.csv");
    let report = generate(
        std::io::BufWriter::new(std::fs::File::create(&file).unwrap()),
        GenerateOptions {
            items,
            variants: true,
            messy: false,
            seed: 42,
        },
    )
    .unwrap();
    let bytes = std::fs::metadata(&file).unwrap().len();
    println!(
        "file: {} rows × 20 columns ({} models, {} variants), {:.1} MB",
        report.rows,
        report.models,
        report.variants,
        bytes as f64 / 1e6
    );

    let sqlite_dir = dir.path().join("sqlite");
    let state = sluice::app::prepare(config(&sqlite_dir, None))
        .await
        .unwrap();
    run("SQLite", &state, &file, items).await;
    state.db.close().await;

    if let Ok(base) = std::env::var("SLUICE_BENCH_POSTGRES_URL") {
        let schema = format!("sluice_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&admin)
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options[search_path]={schema}");
        let pg_dir = dir.path().join("pg");
        let state = sluice::app::prepare(config(&pg_dir, Some(url)))
            .await
            .unwrap();
        run("PostgreSQL", &state, &file, items).await;
        state.db.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA \"{schema}\" CASCADE"
        )))
        .execute(&admin)
        .await
        .unwrap();
    }
    println!("peak RSS: {:.0} MB", peak_rss_mb());
}
