//! Browser journeys: Debian's Chromium, headless, driven over WebDriver
//! (chromedriver + fantoccini) against the app served on a real port of
//! 127.0.0.1, on SQLite and on PostgreSQL.
//!
//! Every journey is `#[ignore]`d, so a plain `cargo test` lists it as
//! ignored with the reason printed and never counts it as passed. Run them
//! with `SLUICE_TEST_BROWSER=/usr/bin/chromium cargo test --test it -- --ignored browser::`
//! (chromedriver from `SLUICE_TEST_CHROMEDRIVER` or `PATH`; the PostgreSQL
//! variants also need `SLUICE_TEST_POSTGRES_URL`). Asked for without
//! `SLUICE_TEST_BROWSER`, they fail with a message saying so. A failing
//! journey leaves a screenshot and the HTML of every open browser in
//! `target/browser-artifacts/<test>/` (or `$SLUICE_TEST_ARTIFACTS/<test>/`).

mod driver;
mod journeys;
mod media;
mod narrow;

pub use driver::{Browser, BrowserTest, run};

/// Declares each listed `async fn NAME(test: BrowserTest)` as two ignored
/// tests, `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! browser_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "browser: set SLUICE_TEST_BROWSER=/usr/bin/chromium and run with -- --ignored"]
                async fn sqlite() {
                    $crate::browser::run(
                        concat!(stringify!($name), "-sqlite"),
                        $crate::TestApp::sqlite,
                        super::$name,
                    )
                    .await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "browser: set SLUICE_TEST_BROWSER=/usr/bin/chromium (and SLUICE_TEST_POSTGRES_URL) and run with -- --ignored"]
                async fn postgres() {
                    $crate::browser::run(
                        concat!(stringify!($name), "-postgres"),
                        $crate::TestApp::postgres,
                        super::$name,
                    )
                    .await;
                }
            }
        )*
    };
}
