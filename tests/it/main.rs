//! The integration suite: the real router over a real database. Every test
//! runs on SQLite (a temporary file) and on PostgreSQL in a schema of its own
//! that is dropped afterwards. The PostgreSQL variants are `#[ignore]`d, so a
//! plain `cargo test` lists them as ignored; `cargo test -- --include-ignored`
//! runs them and fails unless `SLUICE_TEST_POSTGRES_URL` names a server.
//! `TEST_LOG=1` shows the application's logs.

mod harness;
mod seed;

mod api;
mod auth;
mod browser;
mod catalog;
mod channel_pages;
mod config;
mod import_pages;
mod imports;
mod media_api;
mod media_core;
mod media_feeds;
mod media_ingest;
mod media_pages;
mod media_product;
mod media_storage;
mod overview_pages;
mod pages;
mod product_page;
mod profiles;
mod publishing;
mod review_pages;
mod schema_pages;
mod settings;
mod trust_api;
mod trust_concurrency;
mod trust_edits;
mod trust_imports;
mod trust_jobs;
mod trust_schema_jobs;
mod workflow;

pub use harness::{Client, TestApp, TestResponse};

/// Declares each listed `async fn NAME(app: TestApp)` as two tests,
/// `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::sqlite().await;
                    super::$name(app).await;
                }

                // Ignored unless asked for (`-- --include-ignored`), so a run
                // without PostgreSQL reports them as ignored, never as passed.
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "PostgreSQL: run with SLUICE_TEST_POSTGRES_URL and -- --include-ignored"]
                async fn postgres() {
                    let app = $crate::TestApp::postgres().await;
                    super::$name(app).await;
                }
            }
        )*
    };
}
