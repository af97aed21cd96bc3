//! Database access: backend choice by URL, connection pools, migrations, write
//! transactions and the few types (timestamps) every module stores.
//!
//! SQL is written once with `$1` placeholders, `RETURNING` and `ON CONFLICT`,
//! which SQLite and PostgreSQL both understand, and runs through sqlx's `Any`
//! driver. The few places where the dialects differ ask [`Backend`].

pub mod builder;
pub mod bulk;
pub mod counters;
mod migrations;
mod timestamp;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};

pub use timestamp::{Clock, Timestamp};

/// A write transaction on either backend.
pub type WriteTx = Transaction<'static, Any>;

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The statement that opens a write transaction. On SQLite it takes the
    /// write lock up front, so two writers never deadlock on upgrade.
    fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// A statement that takes a transaction-scoped lock on a text key, where
    /// the engine needs one; SQLite's `BEGIN IMMEDIATE` already serializes writers.
    pub fn lock_key(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("SELECT pg_advisory_xact_lock(hashtext($1))"),
        }
    }

    /// The backend a connection talks to (for code that holds only a connection).
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// `FOR SHARE`: readers that must see a row unchanged until they commit.
    pub fn share_lock(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR SHARE",
        }
    }

    /// `FOR UPDATE OF alias` where the engine has row locks (only the named
    /// table's rows, so outer-joined tables may be read alongside); SQLite
    /// serializes writers instead.
    pub fn lock_rows_of(self, alias: &str) -> String {
        match self {
            Backend::Sqlite => String::new(),
            Backend::Postgres => format!(" FOR UPDATE OF {alias}"),
        }
    }
}

/// Failures while opening or preparing the database. Each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error(
        "database URL {0:?} has an unknown scheme; use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnknownScheme(String),
    #[error("cannot open database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("cannot migrate database {url}: {reason}")]
    Migrate { url: String, reason: String },
}

/// A database URL whose password never reaches a log line or an error.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn backend(&self) -> Result<Backend, DbSetupError> {
        let scheme = self.0.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(DbSetupError::UnknownScheme(self.redacted())),
        }
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) if parsed.password().is_some() => {
                // set_password only fails for URLs that cannot carry one.
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The shared connection pool and the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Opens a pool. SQLite gets WAL, foreign keys and a busy timeout on every
    /// connection; PostgreSQL must answer within a few seconds or startup fails.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self, DbSetupError> {
        sqlx::any::install_default_drivers();
        let backend = url.backend()?;
        let connect_err = |err: sqlx::Error| DbSetupError::Connect {
            url: url.redacted(),
            reason: err.to_string(),
        };
        let mut raw = url.expose().to_owned();
        if backend == Backend::Sqlite && !raw.contains("mode=") {
            raw.push_str(if raw.contains('?') { "&" } else { "?" });
            raw.push_str("mode=rwc");
        }
        let options = AnyConnectOptions::from_str(&raw).map_err(connect_err)?;
        // One direct connection first: a pool only reports "timed out", this
        // reports "connection refused" or "database does not exist".
        let probe = tokio::time::timeout(
            Duration::from_secs(5),
            AnyConnection::connect_with(&options),
        )
        .await
        .map_err(|_| DbSetupError::Connect {
            url: url.redacted(),
            reason: "no answer within 5 seconds".to_owned(),
        })?
        .map_err(connect_err)?;
        probe.close().await.map_err(connect_err)?;
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .max_connections(max_connections.max(1));
        let pool_options = match backend {
            // 16 KiB pages (new databases only) and a WAL checkpointed every
            // 128 MB: an import writes hundreds of MB, and each checkpoint
            // costs an fsync (measured: 16,800 → 19,100 items/s).
            Backend::Sqlite => pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                         PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY; \
                         PRAGMA wal_autocheckpoint = 8192; PRAGMA journal_size_limit = 134217728;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(Self { pool, backend })
    }

    /// Brings the schema to the newest migration of this backend.
    pub async fn migrate(&self, url: &DatabaseUrl) -> Result<(), DbSetupError> {
        migrations::migrator(self.backend)
            .run(&self.pool)
            .await
            .map_err(|err| DbSetupError::Migrate {
                url: url.redacted(),
                reason: err.to_string(),
            })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        self.pool.begin_with(self.backend.begin_write()).await
    }

    /// Serializes transactions that name the same key until they end (a no-op
    /// on SQLite, whose write transactions are serialized anyway).
    pub async fn lock_key(&self, tx: &mut WriteTx, key: &str) -> Result<(), sqlx::Error> {
        if let Some(sql) = self.backend.lock_key() {
            sqlx::query(sql).bind(key).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Connections open and idle, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A boolean column as stored: PostgreSQL `BOOLEAN`, or SQLite `INTEGER`
/// 0/1. Row structs read one with `#[sqlx(try_from = "StoredBool")]` on a
/// `bool` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBool(bool);

impl From<StoredBool> for bool {
    fn from(stored: StoredBool) -> bool {
        stored.0
    }
}

impl sqlx::Type<Any> for StoredBool {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <bool as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <bool as sqlx::Type<Any>>::compatible(ty) || <i64 as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for StoredBool {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match <bool as sqlx::Decode<Any>>::decode(value.clone()) {
            Ok(flag) => Ok(StoredBool(flag)),
            Err(_) => Ok(StoredBool(<i64 as sqlx::Decode<Any>>::decode(value)? != 0)),
        }
    }
}

/// Reads a boolean column: PostgreSQL `BOOLEAN`, or SQLite `INTEGER` 0/1.
pub fn get_bool(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// Groups by the UTC day of a stored timestamp column (`YYYY-MM-DD`, the
/// first ten characters of its stored text) as `day`.
pub fn utc_day(column: &str) -> String {
    format!("SUBSTR({column}, 1, 10)")
}

/// `(day, n)` pairs from rows with a `day` and an `n` column: counts per
/// UTC day, as the dashboard's charts take them.
pub fn day_counts(rows: &[sqlx::any::AnyRow]) -> Result<Vec<(String, i64)>, sqlx::Error> {
    use sqlx::Row;
    rows.iter()
        .map(|row| Ok((row.try_get("day")?, row.try_get("n")?)))
        .collect()
}

/// True when the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

/// True when the error is an interruption rather than a fault of the work:
/// the connection or the pool failed (`Io`, `PoolTimedOut`, `PoolClosed`),
/// PostgreSQL lost the connection (SQLSTATE class 08), was shut down
/// (57P01/57P02/57P03) or gave up a transaction to let another through
/// (40001 serialization, 40P01 deadlock), or SQLite stayed busy or locked
/// past the busy timeout (another process held the write lock). The same
/// work may succeed when run again.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| transient_code(&code)),
        _ => false,
    }
}

/// A PostgreSQL SQLSTATE (five characters) or a SQLite extended result
/// code (a number whose low byte is the primary code) that says "try again".
fn transient_code(code: &str) -> bool {
    if code.len() == 5 {
        // Class 08 is the connection's, except a protocol violation: that
        // is a bug on our side, and retrying repeats it.
        return (code.starts_with("08") && code != "08P01")
            || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01");
    }
    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
    code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// A database error with a given code, as either driver reports one.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl fmt::Display for Coded {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "error {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            self.0
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn database(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Coded(code)))
    }

    #[test]
    fn interruptions_are_transient_and_faults_are_not() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        for transient in [
            sqlx::Error::Io(reset),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            database("08006"),
            database("08003"),
            database("57P01"),
            database("57P02"),
            database("57P03"),
            database("40001"),
            database("40P01"),
            database("5"),
            database("517"),
            database("6"),
            database("262"),
        ] {
            assert!(is_transient(&transient), "{transient:?}");
        }
        for fault in [
            sqlx::Error::RowNotFound,
            sqlx::Error::Protocol("unexpected message".to_owned()),
            sqlx::Error::ColumnNotFound("sku".to_owned()),
            database("08P01"),
            database("23505"),
            database("23503"),
            database("57014"),
            database("42P01"),
            database("2067"),
            database("787"),
            database("1"),
        ] {
            assert!(!is_transient(&fault), "{fault:?}");
        }
    }
}
