//! `TestApp`: the real router over a fresh database, an adjustable clock, and
//! browser-like clients that keep cookies.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use sluice::app::{self, AppState};
use sluice::audit::Actor;
use sluice::auth::users::{self, NewUser, User};
use sluice::auth::{Role, Roles, Scopes, tokens};
use sluice::config::Config;
use sluice::db::{Clock, Db};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";
pub const PG_ENV: &str = "SLUICE_TEST_POSTGRES_URL";

/// Warnings and errors are captured per test and shown only when it fails;
/// `TEST_LOG=1` shows everything from info up.
fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            "info,sqlx=warn"
        } else {
            "warn,sqlx=error"
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// What must be removed when the test ends.
enum Cleanup {
    Sqlite(#[expect(dead_code, reason = "held for its Drop")] tempfile::TempDir),
    Postgres {
        admin_url: String,
        schema: String,
        #[expect(dead_code, reason = "held for its Drop")]
        data_dir: tempfile::TempDir,
    },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Postgres {
            admin_url, schema, ..
        } = self
        {
            let (url, schema) = (admin_url.clone(), schema.clone());
            // Drop runs outside any runtime we may block; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime for cleanup");
                runtime.block_on(async move {
                    if let Ok(db) = Db::connect(&sluice::db::DatabaseUrl::new(url), 1).await {
                        let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(db.pool())
                            .await;
                        db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// The application under test.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub data_dir: std::path::PathBuf,
    next_client: AtomicU32,
    // Last: the database goes away after everything that uses it.
    _cleanup: Cleanup,
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::sqlite_with(&[]).await
    }

    /// SQLite with extra `SLUICE_*` settings.
    pub async fn sqlite_with(settings: &[(&'static str, &str)]) -> TestApp {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("sluice.db").display());
        let data_dir = dir.path().to_owned();
        Self::start(&url, data_dir, Cleanup::Sqlite(dir), settings).await
    }

    /// A fresh PostgreSQL schema; panics when `SLUICE_TEST_POSTGRES_URL` is
    /// not set, because a PostgreSQL test that was asked for must not pass
    /// without running.
    pub async fn postgres() -> TestApp {
        Self::postgres_with(&[]).await
    }

    /// PostgreSQL with extra `SLUICE_*` settings.
    pub async fn postgres_with(settings: &[(&'static str, &str)]) -> TestApp {
        let base = std::env::var(PG_ENV).unwrap_or_else(|_| {
            panic!("{PG_ENV} is not set: PostgreSQL tests need a server (postgres://USER@HOST/DB)")
        });
        init_logs();
        sweep_stale_schemas(&base).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let schema = format!(
            "sluice_t_{now}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let admin = Db::connect(&sluice::db::DatabaseUrl::new(base.clone()), 1)
            .await
            .unwrap_or_else(|err| panic!("{PG_ENV} is set but PostgreSQL is unreachable: {err}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(admin.pool())
            .await
            .expect("create test schema");
        admin.close().await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options[search_path]={schema}");
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().to_owned();
        Self::start(
            &url,
            data_dir,
            Cleanup::Postgres {
                admin_url: base,
                schema,
                data_dir: dir,
            },
            settings,
        )
        .await
    }

    async fn start(
        url: &str,
        data_dir: std::path::PathBuf,
        cleanup: Cleanup,
        settings: &[(&'static str, &str)],
    ) -> TestApp {
        let mut env: HashMap<&str, String> = HashMap::from([
            ("SLUICE_DATABASE_URL", url.to_owned()),
            ("SLUICE_DATA_DIR", data_dir.display().to_string()),
            // Small pools: many tests run side by side against one PostgreSQL.
            ("SLUICE_DB_MAX_CONNECTIONS", "4".to_owned()),
        ]);
        env.extend(settings.iter().map(|&(k, v)| (k, v.to_owned())));
        let config = Config::from_sources(None, &|name| env.get(name).cloned()).expect("config");
        let state = app::prepare(config).await.expect("prepare app");
        let state = AppState::new(
            state.db.clone(),
            (*state.config).clone(),
            Clock::adjustable(),
        )
        .expect("state");
        let router = app::build_router(state.clone());
        TestApp {
            state,
            router,
            data_dir,
            next_client: AtomicU32::new(1),
            _cleanup: cleanup,
        }
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// A browser with its own cookies and its own client address.
    pub fn client(&self) -> Client {
        let n = self.next_client.fetch_add(1, Ordering::SeqCst);
        let addr: SocketAddr = format!("10.0.{}.{}:40000", n / 250, n % 250 + 1)
            .parse()
            .expect("addr");
        Client {
            router: self.router.clone(),
            cookies: Arc::new(Mutex::new(HashMap::new())),
            addr,
            extra_headers: Vec::new(),
        }
    }

    /// Creates a user directly through the domain (password [`PASSWORD`]).
    pub async fn user(&self, email: &str, roles: &[Role]) -> User {
        users::create(
            self.db(),
            &Actor::system("test"),
            NewUser {
                email: email.to_owned(),
                name: String::new(),
                roles: Roles::new(roles.iter().copied()).expect("roles"),
                password: PASSWORD.to_owned(),
            },
            self.clock().now(),
        )
        .await
        .expect("create user")
    }

    /// A signed-in browser for a fresh user holding `role`.
    pub async fn login_as(&self, role: Role) -> Client {
        let email = format!(
            "{}-{}@test.local",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        self.user(&email, &[role]).await;
        let client = self.client();
        let response = client.login(&email, PASSWORD).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "login as {role}: {}",
            response.body
        );
        client
    }

    /// An API token for `email` with the given scopes.
    pub async fn token(&self, email: &str, scopes: &str) -> String {
        tokens::create(
            self.db(),
            &Actor::system("test"),
            "test token",
            email,
            Scopes::parse_list(scopes).expect("scopes"),
            self.clock().now(),
        )
        .await
        .expect("create token")
        .secret
    }

    /// An API request with a bearer token (or none).
    pub async fn api(&self, method: Method, path: &str, token: Option<&str>) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        send(&self.router, request.body(Body::empty()).expect("request")).await
    }

    /// An API request with a JSON body and extra headers.
    pub async fn api_json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        send(&self.router, request.body(body).expect("request")).await
    }

    /// An API request with a raw body (a file) and extra headers.
    pub async fn api_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(
            &self.router,
            request.body(Body::from(body)).expect("request"),
        )
        .await
    }

    /// Serves the app on a real TCP port of 127.0.0.1 with the background
    /// workers a running server has (imports, publisher, jobs), for a real
    /// browser. Everything stops when the answer is dropped.
    pub async fn serve(&self) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("bound address");
        let service = self
            .router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            axum::serve(listener, service).await.expect("server runs");
        });
        Served {
            base_url: format!("http://{addr}"),
            tasks: vec![
                server,
                sluice::import::worker::spawn(self.state.services.clone()),
                sluice::publish::worker::spawn(self.state.services.clone()),
                sluice::jobs::worker::spawn(self.state.services.clone()),
            ],
        }
    }

    /// Lets the publisher catch up with the change log (readiness, snapshots,
    /// feeds), as the background worker does in a running server.
    pub async fn settle(&self) {
        sluice::publish::worker::drain(&self.state)
            .await
            .expect("the publisher catches up");
    }

    /// Applies the test catalog schema (tests/it/fixtures/catalog.toml).
    pub async fn seed_schema(&self) {
        let schema = sluice::schema_code::parse(include_str!("fixtures/catalog.toml"))
            .expect("fixture parses");
        sluice::schema_code::apply(
            self.db(),
            &Actor::system("test"),
            &schema,
            false,
            false,
            self.clock().now(),
        )
        .await
        .expect("fixture applies");
    }

    /// A user with `roles` and a token with `scopes` for them.
    pub async fn user_token(&self, roles: &[Role], scopes: &str) -> String {
        let email = format!("api-{}@test.local", uuid::Uuid::new_v4().simple());
        self.user(&email, roles).await;
        self.token(&email, scopes).await
    }

    /// Audit actions, newest first.
    pub async fn audit_actions(&self) -> Vec<(String, String)> {
        let entries = sluice::audit::list(
            self.db(),
            &sluice::audit::AuditFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("audit list");
        entries.into_iter().map(|e| (e.action, e.target)).collect()
    }
}

impl TestApp {
    /// Sends `file` as a CSV upsert import with mapping profile `profile`,
    /// runs the import worker and answers the finished job.
    pub async fn import_csv(&self, token: &str, profile: &str, file: Vec<u8>) -> serde_json::Value {
        let sent = self
            .api_raw(
                Method::POST,
                &format!("/api/v1/imports?profile={profile}&mode=upsert&name=items.csv"),
                token,
                file,
                &[("content-type", "text/csv")],
            )
            .await;
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
        let id = sent.json()["id"].as_i64().expect("job id");
        sluice::import::worker::drain(&self.state)
            .await
            .expect("import worker");
        let job = self
            .api(Method::GET, &format!("/api/v1/imports/{id}"), Some(token))
            .await;
        assert_eq!(job.status, StatusCode::OK, "{}", job.body);
        job.json()
    }
}

/// Value changes that set each `(attribute, locale, data)`, for a product
/// written through the domain.
pub fn set_values<'a>(
    values: impl IntoIterator<Item = (&'a str, Option<&'a str>, serde_json::Value)>,
) -> Vec<sluice::workflow::write::ValueChange> {
    values
        .into_iter()
        .map(
            |(attribute, locale, data)| sluice::workflow::write::ValueChange {
                key: sluice::catalog::product::ValueKey::new(attribute, locale, None),
                data: Some(data),
            },
        )
        .collect()
}

/// The app on a real port (see [`TestApp::serve`]).
pub struct Served {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn sweep_stale_schemas(base: &str) {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let Ok(db) = Db::connect(&sluice::db::DatabaseUrl::new(base.to_owned()), 1).await
            else {
                return;
            };
            let rows =
                sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sluice\\_t\\_%'")
                    .fetch_all(db.pool())
                    .await
                    .unwrap_or_default();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            for row in rows {
                use sqlx::Row;
                let Ok(name) = row.try_get::<String, _>("nspname") else {
                    continue;
                };
                let created = name.split('_').nth(2).and_then(|s| s.parse::<u64>().ok());
                if created.is_some_and(|at| now.saturating_sub(at) > 3600) {
                    let sql = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(db.pool())
                        .await;
                }
            }
            db.close().await;
        })
        .await;
}

/// A response with its body read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// The API error code, asserting the error shape.
    pub fn error_code(&self) -> String {
        let json = self.json();
        assert!(json["error"]["message"].is_string(), "error shape: {json}");
        assert!(json["error"]["details"].is_array(), "error shape: {json}");
        json["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The value of the first hidden `csrf_token` field on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf_token on page: {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("end of csrf value") + start;
        self.body[start..end].to_owned()
    }
}

async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A browser: keeps cookies, comes from its own address.
#[derive(Clone)]
pub struct Client {
    router: Router,
    cookies: Arc<Mutex<HashMap<String, String>>>,
    pub addr: SocketAddr,
    extra_headers: Vec<(&'static str, String)>,
}

impl Client {
    fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().expect("cookies");
        cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&self, headers: &HeaderMap) {
        let mut cookies = self.cookies.lock().expect("cookies");
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            // Only the attributes say "remove" (a random value may contain anything).
            let removed = attributes.contains("Max-Age=0") || attributes.contains("1970");
            if removed || value.is_empty() {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// Sends this header with every request (e.g. what a proxy adds).
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.extra_headers.push((name, value.to_owned()));
        self
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.lock().expect("cookies").contains_key(name)
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .expect("cookies")
            .insert(name.to_owned(), value.to_owned());
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("cookies").get(name).cloned()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: String,
    ) -> TestResponse {
        self.request_bytes(method, path, content_type, body.into_bytes())
            .await
    }

    /// A request with a body of any bytes (a multipart upload of a file).
    pub async fn request_bytes(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, self.cookie_header());
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        for (name, value) in &self.extra_headers {
            request = request.header(*name, value);
        }
        let mut request = request.body(Body::from(body)).expect("request");
        request.extensions_mut().insert(ConnectInfo(self.addr));
        let response = send(&self.router, request).await;
        self.remember(&response.headers);
        response
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, None, String::new()).await
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.request(
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            body,
        )
        .await
    }

    /// Posts a form with the CSRF token of the page at `form_page`.
    pub async fn post_form(
        &self,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let page = self.get(form_page).await;
        let csrf = page.csrf();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Signs in through the login form.
    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post_form(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }
}
