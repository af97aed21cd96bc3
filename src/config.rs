//! Configuration: defaults, then `sluice.toml`, then `SLUICE_*` environment
//! variables. Invalid settings are refused here with one clear line.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::db::{Backend, DatabaseUrl};

/// A setting that cannot be used; its message names the setting and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    ReadFile { path: PathBuf, reason: String },
    #[error("{path} is not valid: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("{name}={value:?} is not valid: {expected}")]
    BadValue {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(transparent)]
    Database(#[from] crate::db::DbSetupError),
    #[error("SLUICE_MEDIA_URL cannot be used: {0}")]
    Media(String),
    #[error("data folder {path} is not usable: {reason}")]
    DataDir { path: PathBuf, reason: String },
}

/// Everything Sluice reads at startup.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub media_url: String,
    pub bind: SocketAddr,
    pub public_url: String,
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: time::Duration,
    /// A session ends this long after login, however active.
    pub session_absolute: time::Duration,
    /// Largest request body accepted by forms and JSON endpoints.
    pub max_body_bytes: usize,
    /// Largest import file accepted by upload or the API (streamed to disk).
    pub max_import_bytes: u64,
    /// Largest media file accepted by upload or the API.
    pub max_media_bytes: u64,
    /// Most pixels (width × height, read from the file's header) an image
    /// may have; a bigger one is refused before it is decoded.
    pub max_media_pixels: u64,
    /// Database connections per app node.
    pub db_max_connections: u32,
    /// How often an idle publisher looks for other nodes' writes (this
    /// node's writes wake it at once).
    pub publish_tick: std::time::Duration,
    /// Take the client address from the last `X-Forwarded-For` entry (set
    /// only behind a reverse proxy that writes it).
    pub trust_proxy: bool,
    /// Let authors approve their own proposals (one-person shops only).
    pub allow_self_approval: bool,
}

/// The keys `sluice.toml` may hold; the same names as the environment
/// variables without the `SLUICE_` prefix, in lower case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    media_url: Option<String>,
    bind: Option<String>,
    public_url: Option<String>,
    secure_cookies: Option<bool>,
    session_idle_minutes: Option<i64>,
    session_max_hours: Option<i64>,
    max_body_bytes: Option<i64>,
    max_import_bytes: Option<i64>,
    max_media_bytes: Option<i64>,
    max_media_pixels: Option<i64>,
    db_max_connections: Option<i64>,
    publish_tick_ms: Option<i64>,
    trust_proxy: Option<bool>,
    allow_self_approval: Option<bool>,
}

impl Config {
    /// Reads `SLUICE_CONFIG` (or `./sluice.toml` when present) and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(key, _)| key.starts_with("SLUICE_"))
            .collect();
        let file = match env.get("SLUICE_CONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => Some(PathBuf::from("sluice.toml")).filter(|path| path.exists()),
        };
        let text = match &file {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                        path: path.clone(),
                        reason: source.to_string(),
                    })?,
                )
            }
            None => None,
        };
        Self::from_sources(file.as_deref().zip(text.as_deref()), &|name| {
            env.get(name).cloned()
        })
    }

    /// Builds a configuration from an optional TOML file and an environment lookup.
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let from_file: FileConfig = match file {
            Some((path, text)) => toml::from_str(text).map_err(|err| ConfigError::BadFile {
                path: path.to_owned(),
                message: err.message().to_owned(),
            })?,
            None => FileConfig::default(),
        };

        let data_dir = env("SLUICE_DATA_DIR")
            .map(PathBuf::from)
            .or(from_file.data_dir)
            .unwrap_or_else(|| PathBuf::from("sluice-data"));
        let database_url = env("SLUICE_DATABASE_URL")
            .or(from_file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("sluice.db").display()));
        let database_url = DatabaseUrl::new(database_url);
        database_url.backend()?;
        let media_url = env("SLUICE_MEDIA_URL")
            .or(from_file.media_url)
            .unwrap_or_else(|| format!("file://{}", data_dir.join("media").display()));
        if !(media_url.starts_with("file://")
            || media_url.starts_with("s3://")
            || media_url.starts_with("memory://"))
        {
            return Err(ConfigError::BadValue {
                name: "SLUICE_MEDIA_URL",
                value: media_url,
                expected: "file://PATH, s3://BUCKET/PREFIX or memory:// (tests)",
            });
        }
        let bind_text = env("SLUICE_BIND")
            .or(from_file.bind)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let bind: SocketAddr = bind_text.parse().map_err(|_| ConfigError::BadValue {
            name: "SLUICE_BIND",
            value: bind_text.clone(),
            expected: "an address and port such as 127.0.0.1:8080",
        })?;
        let public_url = env("SLUICE_PUBLIC_URL")
            .or(from_file.public_url)
            .unwrap_or_else(|| format!("http://{bind}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::BadValue {
                name: "SLUICE_PUBLIC_URL",
                value: public_url,
                expected: "an absolute http:// or https:// URL",
            });
        }
        let public_url = public_url.trim_end_matches('/').to_owned();
        let secure_cookies = match env("SLUICE_SECURE_COOKIES") {
            Some(value) => parse_bool("SLUICE_SECURE_COOKIES", &value)?,
            None => from_file.secure_cookies.unwrap_or(false),
        };
        let allow_self_approval = match env("SLUICE_ALLOW_SELF_APPROVAL") {
            Some(value) => parse_bool("SLUICE_ALLOW_SELF_APPROVAL", &value)?,
            None => from_file.allow_self_approval.unwrap_or(false),
        };
        let trust_proxy = match env("SLUICE_TRUST_PROXY") {
            Some(value) => parse_bool("SLUICE_TRUST_PROXY", &value)?,
            None => from_file.trust_proxy.unwrap_or(false),
        };
        let number = |bounds: Bounds, from_file: Option<i64>, default: i64| match env(bounds.name) {
            Some(value) => parse_bounded(bounds, &value),
            None => match from_file {
                Some(number) => parse_bounded(bounds, &number.to_string()),
                None => Ok(default),
            },
        };
        let idle_minutes = number(
            Bounds::new(
                "SLUICE_SESSION_IDLE_MINUTES",
                30 * 24 * 60,
                "a number of minutes from 1 to 43200 (30 days)",
            ),
            from_file.session_idle_minutes,
            120,
        )?;
        let max_hours = number(
            Bounds::new(
                "SLUICE_SESSION_MAX_HOURS",
                365 * 24,
                "a number of hours from 1 to 8760 (a year)",
            ),
            from_file.session_max_hours,
            12,
        )?;
        let max_body_bytes = number(
            Bounds::new(
                "SLUICE_MAX_BODY_BYTES",
                1 << 40,
                "a number of bytes from 1 to 1 TiB",
            ),
            from_file.max_body_bytes,
            2 * 1024 * 1024,
        )?;
        let max_import_bytes = number(
            Bounds::new(
                "SLUICE_MAX_IMPORT_BYTES",
                1 << 40,
                "a number of bytes from 1 to 1 TiB",
            ),
            from_file.max_import_bytes,
            1024 * 1024 * 1024,
        )?;
        let max_media_bytes = number(
            Bounds::new(
                "SLUICE_MAX_MEDIA_BYTES",
                1 << 40,
                "a number of bytes from 1 to 1 TiB",
            ),
            from_file.max_media_bytes,
            100 * 1024 * 1024,
        )?;
        let max_media_pixels = number(
            Bounds::new(
                "SLUICE_MAX_MEDIA_PIXELS",
                1 << 40,
                "a number of pixels from 1 to 2^40",
            ),
            from_file.max_media_pixels,
            100_000_000,
        )?;
        let db_max_connections = number(
            Bounds::new(
                "SLUICE_DB_MAX_CONNECTIONS",
                1000,
                "a number of connections from 1 to 1000",
            ),
            from_file.db_max_connections,
            match database_url.backend()? {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            },
        )?;
        let publish_tick_ms = number(
            Bounds::new(
                "SLUICE_PUBLISH_TICK_MS",
                3_600_000,
                "a number of milliseconds from 1 to 3600000 (an hour)",
            ),
            from_file.publish_tick_ms,
            500,
        )?;

        Ok(Self {
            data_dir,
            database_url,
            media_url,
            bind,
            public_url,
            secure_cookies,
            session_idle: time::Duration::minutes(idle_minutes),
            session_absolute: time::Duration::hours(max_hours),
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            max_import_bytes: u64::try_from(max_import_bytes).unwrap_or(u64::MAX),
            max_media_bytes: u64::try_from(max_media_bytes).unwrap_or(u64::MAX),
            max_media_pixels: u64::try_from(max_media_pixels).unwrap_or(u64::MAX),
            db_max_connections: u32::try_from(db_max_connections).unwrap_or(u32::MAX),
            publish_tick: std::time::Duration::from_millis(
                u64::try_from(publish_tick_ms).unwrap_or(500),
            ),
            trust_proxy,
            allow_self_approval,
        })
    }

    pub fn backend(&self) -> Backend {
        // Checked in `from_sources`.
        self.database_url.backend().unwrap_or(Backend::Sqlite)
    }

    /// Creates the data folder if needed and proves it is writable.
    pub fn prepare_data_dir(&self) -> Result<(), ConfigError> {
        let fail = |err: std::io::Error| ConfigError::DataDir {
            path: self.data_dir.clone(),
            reason: err.to_string(),
        };
        std::fs::create_dir_all(&self.data_dir).map_err(fail)?;
        let probe = self.data_dir.join(".sluice-write-test");
        std::fs::write(&probe, b"ok").map_err(fail)?;
        std::fs::remove_file(&probe).map_err(fail)?;
        Ok(())
    }
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::BadValue {
            name,
            value: value.to_owned(),
            expected: "true or false",
        }),
    }
}

/// A numeric setting: its name, the largest sensible value and how to say so.
#[derive(Clone, Copy)]
struct Bounds {
    name: &'static str,
    max: i64,
    expected: &'static str,
}

impl Bounds {
    fn new(name: &'static str, max: i64, expected: &'static str) -> Self {
        Self {
            name,
            max,
            expected,
        }
    }
}

fn parse_bounded(bounds: Bounds, value: &str) -> Result<i64, ConfigError> {
    match value.trim().parse::<i64>() {
        Ok(number) if (1..=bounds.max).contains(&number) => Ok(number),
        _ => Err(ConfigError::BadValue {
            name: bounds.name,
            value: value.to_owned(),
            expected: bounds.expected,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let config = Config::from_sources(None, &env_of(&[])).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.database_url.expose(),
            "sqlite://sluice-data/sluice.db"
        );

        let file = "bind = \"127.0.0.1:9000\"\nsecure_cookies = true\n";
        let path = Path::new("sluice.toml");
        let config = Config::from_sources(Some((path, file)), &env_of(&[])).unwrap();
        assert_eq!(config.bind.port(), 9000);
        assert!(config.secure_cookies);

        let env = env_of(&[
            ("SLUICE_BIND", "0.0.0.0:7000"),
            ("SLUICE_SECURE_COOKIES", "false"),
        ]);
        let config = Config::from_sources(Some((path, file)), &env).unwrap();
        assert_eq!(config.bind.port(), 7000);
        assert!(!config.secure_cookies);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let err = Config::from_sources(None, &env_of(&[("SLUICE_DATABASE_URL", "mysql://x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown scheme"), "{err}");

        let err = Config::from_sources(None, &env_of(&[("SLUICE_BIND", "localhost")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SLUICE_BIND"), "{err}");

        let err = Config::from_sources(
            Some((Path::new("s.toml"), "session_idle_minutes = 0")),
            &env_of(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("SLUICE_SESSION_IDLE_MINUTES"), "{err}");
        let err = Config::from_sources(None, &env_of(&[("SLUICE_SESSION_MAX_HOURS", "100000000")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a year"), "{err}");

        let err = Config::from_sources(Some((Path::new("s.toml"), "colour = 1")), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.toml") && err.contains("colour"), "{err}");
    }

    #[test]
    fn password_is_redacted() {
        let url = DatabaseUrl::new("postgres://sluice:hunter2@db.example/sluice");
        assert!(!format!("{url:?} {url}").contains("hunter2"));
    }
}
