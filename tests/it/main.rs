//! The integration suite: the real router over a real database. Every test
//! runs on SQLite (a temporary file) and, when `SLUICE_TEST_POSTGRES_URL` is
//! set, on PostgreSQL in a schema of its own that is dropped afterwards.
//! `TEST_LOG=1` shows the application's logs.

mod harness;

mod api;
mod auth;
mod catalog;
mod channel_pages;
mod config;
mod import_pages;
mod imports;
mod pages;
mod profiles;
mod publishing;
mod review_pages;
mod schema_pages;
mod settings;
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

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}
