//! The embedded migrations: `migrations/sqlite` and `migrations/postgres` hold
//! the same versions, each written in its own dialect. Append-only.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::Backend;

/// (version, description, SQLite text, PostgreSQL text)
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
        include_str!("../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "catalog",
        include_str!("../../migrations/sqlite/0002_catalog.sql"),
        include_str!("../../migrations/postgres/0002_catalog.sql"),
    ),
    (
        3,
        "proposals",
        include_str!("../../migrations/sqlite/0003_proposals.sql"),
        include_str!("../../migrations/postgres/0003_proposals.sql"),
    ),
    (
        4,
        "imports",
        include_str!("../../migrations/sqlite/0004_imports.sql"),
        include_str!("../../migrations/postgres/0004_imports.sql"),
    ),
    (
        5,
        "publish",
        include_str!("../../migrations/sqlite/0005_publish.sql"),
        include_str!("../../migrations/postgres/0005_publish.sql"),
    ),
    (
        6,
        "import dialect and dropped values",
        include_str!("../../migrations/sqlite/0006_import_dialect_and_dropped_values.sql"),
        include_str!("../../migrations/postgres/0006_import_dialect_and_dropped_values.sql"),
    ),
    (
        7,
        "jobs",
        include_str!("../../migrations/sqlite/0007_jobs.sql"),
        include_str!("../../migrations/postgres/0007_jobs.sql"),
    ),
    (
        8,
        "job payload",
        include_str!("../../migrations/sqlite/0008_job_payload.sql"),
        include_str!("../../migrations/postgres/0008_job_payload.sql"),
    ),
    (
        9,
        "media",
        include_str!("../../migrations/sqlite/0009_media.sql"),
        include_str!("../../migrations/postgres/0009_media.sql"),
    ),
];

pub(super) fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]));
    }
}
