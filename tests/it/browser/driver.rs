//! The machinery under the journeys: chromedriver started per test on a free
//! port, one Chromium session per person (own profile, cookies and download
//! folder), the app served on a real port, and on failure a screenshot and
//! the HTML of every open browser before the panic goes on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use serde_json::{Value, json};
use sluice::auth::Role;

use crate::TestApp;
use crate::harness::{PASSWORD, Served};

pub const BROWSER_ENV: &str = "SLUICE_TEST_BROWSER";
pub const DRIVER_ENV: &str = "SLUICE_TEST_CHROMEDRIVER";
pub const ARTIFACTS_ENV: &str = "SLUICE_TEST_ARTIFACTS";

/// As root on a machine without network, headless Chromium stalls without
/// the background-networking flags and refuses to start without `--no-sandbox`.
const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// How long a page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(15);

/// The desktop window the journeys run in (the narrow check resizes).
pub const DESKTOP: (u32, u32) = (1280, 900);

/// Runs `journey` against a fresh app (`make_app`) served on a real port,
/// with its own chromedriver; keeps the artefacts of a failure.
pub async fn run<A, F, Fut>(test: &str, make_app: fn() -> A, journey: F)
where
    A: Future<Output = TestApp>,
    F: FnOnce(BrowserTest) -> Fut,
    Fut: Future<Output = ()>,
{
    let chromium = std::env::var(BROWSER_ENV).unwrap_or_else(|_| {
        panic!(
            "{BROWSER_ENV} is not set: the browser journeys need Chromium \
             (e.g. {BROWSER_ENV}=/usr/bin/chromium; chromedriver from {DRIVER_ENV} or PATH)"
        )
    });
    assert!(
        Path::new(&chromium).is_file(),
        "{BROWSER_ENV}={chromium} is not a file"
    );
    let artifacts = artifacts_dir(test);
    // A folder left by an earlier failure would mislead.
    let _ = std::fs::remove_dir_all(&artifacts);

    let app = make_app().await;
    let served = app.serve().await;
    let driver = Chromedriver::start().await;
    let sessions = Sessions::default();
    let test_context = BrowserTest {
        served,
        app,
        driver_url: driver.url.clone(),
        chromium,
        sessions: sessions.clone(),
    };
    let outcome = AssertUnwindSafe(journey(test_context)).catch_unwind().await;
    if outcome.is_err() {
        keep_artifacts(&sessions, &artifacts).await;
    }
    close_all(&sessions).await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

pub fn artifacts_dir(test: &str) -> PathBuf {
    let root = std::env::var_os(ARTIFACTS_ENV).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts"),
        PathBuf::from,
    );
    root.join(test)
}

/// A screenshot and the HTML of each open browser, as it was when the
/// journey failed.
async fn keep_artifacts(sessions: &Sessions, dir: &Path) {
    let open: Vec<(String, Client)> = sessions
        .lock()
        .expect("sessions")
        .iter()
        .map(|s| (s.label.clone(), s.client.clone()))
        .collect();
    if std::fs::create_dir_all(dir).is_err() {
        eprintln!("browser artefacts: cannot create {}", dir.display());
        return;
    }
    for (label, client) in open {
        let capture = async {
            let url = client.current_url().await.map(|u| u.to_string());
            let html = client.source().await.unwrap_or_default();
            let png = client.screenshot().await.unwrap_or_default();
            (url, html, png)
        };
        let Ok((url, html, png)) = tokio::time::timeout(Duration::from_secs(20), capture).await
        else {
            eprintln!("browser artefacts: {label} did not answer");
            continue;
        };
        let url = url.unwrap_or_else(|err| format!("(unknown: {err})"));
        let _ = std::fs::write(dir.join(format!("{label}.png")), png);
        let _ = std::fs::write(
            dir.join(format!("{label}.html")),
            format!("<!-- {url} -->\n{html}"),
        );
        eprintln!(
            "browser artefacts: {label} at {url}: {}",
            dir.join(format!("{label}.png")).display()
        );
    }
}

async fn close_all(sessions: &Sessions) {
    let open: Vec<Session> = std::mem::take(&mut *sessions.lock().expect("sessions"));
    for session in open {
        let _ = tokio::time::timeout(Duration::from_secs(20), session.client.close()).await;
        drop(session.profile);
    }
}

/// chromedriver on a free port of 127.0.0.1, in a process group of its
/// own so that nothing it started outlives the test.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    /// Starts chromedriver on port 0 and reads the port it took from its
    /// first lines, so no other test can take the port in between.
    async fn start() -> Chromedriver {
        let program = std::env::var(DRIVER_ENV).unwrap_or_else(|_| "chromedriver".to_owned());
        let mut child = {
            use std::os::unix::process::CommandExt;
            Command::new(&program)
                .arg("--port=0")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|err| {
                    panic!("cannot start {program} ({DRIVER_ENV} or PATH): {err}")
                })
        };
        let stdout = child.stdout.take().expect("chromedriver's output");
        // Dropped at once if the port is not found: the process goes with it.
        let mut driver = Chromedriver {
            child,
            url: String::new(),
        };
        let port = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::task::spawn_blocking(move || announced_port(stdout)),
        )
        .await
        .unwrap_or_else(|_| panic!("{program} did not say its port within 10 s"))
        .expect("reading chromedriver's output")
        .unwrap_or_else(|| panic!("{program} ended without saying its port"));
        driver.url = format!("http://127.0.0.1:{port}");
        driver
    }
}

/// The port of "ChromeDriver was started successfully on port N."; the rest
/// of the output is drained in the background so chromedriver never blocks
/// on a full pipe.
fn announced_port(stdout: std::process::ChildStdout) -> Option<u16> {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(stdout);
    let mut line = String::new();
    while lines.read_line(&mut line).ok()? > 0 {
        let port = line
            .trim_end()
            .strip_prefix("ChromeDriver was started successfully on port ")
            .and_then(|rest| rest.trim_end_matches('.').parse().ok());
        if port.is_some() {
            std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
            return port;
        }
        line.clear();
    }
    None
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session {
    label: String,
    client: Client,
    profile: tempfile::TempDir,
}

type Sessions = Arc<Mutex<Vec<Session>>>;

/// What a journey gets: the app (served on a real port) and browsers.
pub struct BrowserTest {
    // First: the server and its workers stop before the database goes.
    served: Served,
    pub app: TestApp,
    driver_url: String,
    chromium: String,
    sessions: Sessions,
}

impl BrowserTest {
    /// A new browser (its own profile and cookies), in a desktop window.
    /// `label` names its artefacts.
    pub async fn browser(&self, label: &str) -> Browser {
        let profile = tempfile::tempdir().expect("browser profile folder");
        let downloads = profile.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads folder");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": args,
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(Capabilities::from_iter(capabilities))
            .connect(&self.driver_url)
            .await
            .unwrap_or_else(|err| panic!("Chromium session for {label}: {err}"));
        self.sessions.lock().expect("sessions").push(Session {
            label: label.to_owned(),
            client: client.clone(),
            profile,
        });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(10)),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .expect("timeouts");
        let browser = Browser {
            client,
            base_url: self.served.base_url.clone(),
            label: label.to_owned(),
            downloads,
        };
        browser.resize(DESKTOP.0, DESKTOP.1).await;
        browser
    }

    /// A new user holding `role`, signed in through the login form in a
    /// new browser. Answers the browser and the user's email.
    pub async fn signed_in(&self, role: Role, label: &str) -> (Browser, String) {
        let email = format!("{label}@shop.test");
        self.app.user(&email, &[role]).await;
        let browser = self.browser(label).await;
        browser.sign_in(&email, PASSWORD).await;
        (browser, email)
    }
}

/// One person's browser window.
pub struct Browser {
    client: Client,
    base_url: String,
    pub label: String,
    downloads: PathBuf,
}

impl Browser {
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base_url);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|err| panic!("{}: open {path}: {err}", self.label));
    }

    /// The path and query of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("window size");
    }

    /// Runs `script` in the page (WebDriver's scripts are not bound by the
    /// page's CSP; the pages themselves carry no script).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|err| panic!("{}: script failed: {err}\n{script}", self.label))
    }

    /// A PNG of the window as it is.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("screenshot")
    }

    pub async fn find(&self, css: &str) -> Element {
        self.find_by(Locator::Css(css), css).await
    }

    pub async fn find_xpath(&self, xpath: &str) -> Element {
        self.find_by(Locator::XPath(xpath), xpath).await
    }

    async fn find_by(&self, locator: Locator<'_>, what: &str) -> Element {
        match self.client.find(locator).await {
            Ok(element) => element,
            Err(err) => panic!(
                "{}: no `{what}` on {} ({err})",
                self.label,
                self.path().await
            ),
        }
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{}: find `{css}`: {err}", self.label))
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// Types `text` into the field after clearing it, as a person would.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear field");
        field.send_keys(text).await.expect("type into field");
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("{}: choose {value} in `{css}`: {err}", self.label));
    }

    /// Ticks or unticks a checkbox (or picks a radio button).
    pub async fn set_checked(&self, css: &str, checked: bool) {
        let input = self.find(css).await;
        if input.is_selected().await.expect("checked?") != checked {
            input.click().await.expect("click box");
        }
    }

    pub async fn is_checked(&self, css: &str) -> bool {
        self.find(css).await.is_selected().await.expect("checked?")
    }

    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    pub async fn text(&self, css: &str) -> String {
        // A script that replaces the page between finding the element and
        // reading it leaves a stale element: find it again.
        for _ in 0..20 {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(fantoccini::error::CmdError::Standard(err))
                    if err.error == fantoccini::error::ErrorStatus::StaleElementReference =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("{}: text of {css}: {err}", self.label),
            }
        }
        panic!("{}: {css} kept going stale", self.label)
    }

    /// The text a person reads on the page.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Clicks `css` (a submit button or a link) and waits for the page it
    /// leads to.
    pub async fn click_through(&self, css: &str) {
        let target = self.find(css).await;
        self.mark_page().await;
        target
            .click()
            .await
            .unwrap_or_else(|err| panic!("{}: click `{css}`: {err}", self.label));
        self.wait_for_new_page(css).await;
    }

    /// Two quick clicks on `css`, as an impatient person's double click
    /// (the second may land while the first request is under way), then
    /// the page that ends up shown.
    pub async fn double_click_through(&self, css: &str) {
        let target = self.find(css).await;
        self.mark_page().await;
        let mouse = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: target,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Pause {
                duration: Duration::from_millis(30),
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        // The second click may find the page already gone: that is a
        // double click too.
        let _ = self.client.perform_actions(mouse).await;
        let _ = self.client.release_actions().await;
        self.wait_for_new_page(css).await;
    }

    /// Marks the page shown, so that [`Self::wait_for_new_page`] knows when
    /// another one has replaced it.
    async fn mark_page(&self) {
        self.js("window.__sluiceOldPage = true; return null;", vec![])
            .await;
    }

    async fn wait_for_new_page(&self, after: &str) {
        let script =
            "return window.__sluiceOldPage === undefined && document.readyState === 'complete';";
        let deadline = Instant::now() + PATIENCE;
        loop {
            // While the next page loads, a script may fail: not there yet.
            if let Ok(Value::Bool(true)) = self.client.execute(script, vec![]).await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no new page within {PATIENCE:?} after clicking `{after}`",
                self.label
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's text contains `text`, reloading it between
    /// looks when `reload` (a page that a worker changes).
    pub async fn wait_for_text(&self, text: &str, reload: bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.page_text().await.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {:?} did not appear on {} within {PATIENCE:?}:\n{}",
                self.label,
                text,
                self.path().await,
                self.page_text().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            if reload {
                self.client.refresh().await.expect("reload");
            }
        }
    }

    /// Signs in through the login form and lands on the dashboard.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.goto("/login").await;
        self.fill("input[name=\"email\"]", email).await;
        self.fill("input[name=\"password\"]", password).await;
        self.click_through("form[action=\"/login\"] button[type=\"submit\"]")
            .await;
        let path = self.path().await;
        assert_eq!(
            path,
            "/",
            "{}: signed in as {email}, shown {path}:\n{}",
            self.label,
            self.page_text().await
        );
    }

    /// Clicks the download link `css` and answers the downloaded file's
    /// name and bytes, once the browser has finished writing it.
    pub async fn download(&self, css: &str) -> (String, Vec<u8>) {
        self.find(css).await.click().await.expect("click download");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let done: Vec<PathBuf> = std::fs::read_dir(&self.downloads)
                .expect("downloads folder")
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                // Chromium writes into a hidden temporary file or a
                // `.crdownload`, then renames it to the file's name.
                .filter(|path| {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    name.is_some_and(|n| !n.starts_with('.') && !n.ends_with(".crdownload"))
                })
                .collect();
            if let [file] = done.as_slice() {
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                return (name, std::fs::read(file).expect("downloaded file"));
            }
            assert!(
                Instant::now() < deadline,
                "{}: nothing downloaded within {PATIENCE:?} after clicking `{css}`",
                self.label
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
