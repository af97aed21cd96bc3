//! Mapping profiles as stored: one row per profile holding its TOML as saved
//! (comments included), parsed on read. [`save`] and [`delete`] are the
//! checked, audited writes (pages and the demo); `sluice schema apply`
//! writes through [`put`] inside its own transaction.

use sqlx::{Any, Executor};

use super::profile::MappingProfile;
use crate::audit::{self, Actor, AuditEvent};
use crate::catalog::store;
use crate::db::{Db, Timestamp, WriteTx};

/// A profile with its stored text.
#[derive(Debug, Clone)]
pub struct StoredProfile {
    pub profile: MappingProfile,
    pub toml: String,
    pub updated: Timestamp,
    pub updated_by: String,
}

/// Parses a profile's TOML with a message that names the line.
pub fn parse(toml_text: &str) -> Result<MappingProfile, String> {
    toml::from_str(toml_text).map_err(|err| err.to_string())
}

/// A `mapping_profiles` row as stored; [`ProfileRow::parse`] reads its TOML.
#[derive(sqlx::FromRow)]
struct ProfileRow {
    code: String,
    definition: String,
    updated_at: Timestamp,
    updated_by: String,
}

impl ProfileRow {
    fn parse(self) -> Result<StoredProfile, sqlx::Error> {
        let profile = parse(&self.definition).map_err(|err| {
            let code = &self.code;
            sqlx::Error::Decode(format!("stored mapping profile {code} is not valid: {err}").into())
        })?;
        Ok(StoredProfile {
            profile,
            toml: self.definition,
            updated: self.updated_at,
            updated_by: self.updated_by,
        })
    }
}

/// A profile by code.
pub async fn get<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    code: &str,
) -> Result<Option<StoredProfile>, sqlx::Error> {
    let row: Option<ProfileRow> = sqlx::query_as(
        "SELECT code, definition, updated_at, updated_by FROM mapping_profiles WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(executor)
    .await?;
    row.map(ProfileRow::parse).transpose()
}

/// Every profile, by code.
pub async fn list<'e, E: Executor<'e, Database = Any>>(
    executor: E,
) -> Result<Vec<StoredProfile>, sqlx::Error> {
    let rows: Vec<ProfileRow> = sqlx::query_as(
        "SELECT code, definition, updated_at, updated_by FROM mapping_profiles ORDER BY code",
    )
    .fetch_all(executor)
    .await?;
    rows.into_iter().map(ProfileRow::parse).collect()
}

/// Stores a profile's text (insert or replace). Callers check it first.
pub async fn put<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    code: &str,
    toml_text: &str,
    by: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mapping_profiles (code, definition, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (code) DO UPDATE SET definition = excluded.definition, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(code)
    .bind(toml_text)
    .bind(now)
    .bind(by)
    .execute(executor)
    .await?;
    Ok(())
}

/// The demo profile `erp-items`, stored by [`seed_demo`].
pub const DEMO_PROFILE: &str = include_str!("../demo/erp-items.toml");

/// Why a profile could not be saved or deleted.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the profile is not valid TOML: {0}")]
    Syntax(String),
    #[error("the profile has {} problem(s):\n  {}", .0.len(), .0.join("\n  "))]
    Invalid(Vec<String>),
    #[error("there is already a mapping profile {0}")]
    Exists(String),
    #[error("there is no mapping profile {0}")]
    NotFound(String),
    #[error(
        "the profile's code is {found:?} but this is profile {expected}; the code cannot change here (to copy a profile under another code, create a new one)"
    )]
    CodeChanged { expected: String, found: String },
    #[error(
        "mapping profile {code} {since} since it was loaded; reload it and make the change again"
    )]
    Stale {
        code: String,
        /// `was changed by … at …` or `was deleted`.
        since: String,
        /// What is stored now (`None` when it was deleted).
        current: Option<Box<StoredProfile>>,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a save is based on: the optimistic-concurrency check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// A new profile: refused if the code is taken.
    New,
    /// The profile `code` as loaded when it was last saved at `updated`:
    /// refused if it changed (or was deleted) since, or if the text names
    /// another code.
    Loaded { code: String, updated: Timestamp },
}

/// A profile as TOML, the way the form editor and `sluice schema apply`
/// store it (`toml::to_string_pretty`, without the empty lists and tables
/// that parsing fills in anyway). Comments are not kept.
pub fn to_toml(profile: &MappingProfile) -> Result<String, toml::ser::Error> {
    let full = toml::to_string_pretty(profile)?;
    let tidy = tidy_toml(&full);
    Ok(if parse(&tidy).as_ref() == Ok(profile) {
        tidy
    } else {
        full
    })
}

/// Drops `key = []` lines and table headers with nothing under them from
/// serialized TOML, below the first header (top-level keys stay: there an
/// empty list may mean something). Callers check that the result still
/// parses to the same value and keep the full text otherwise.
pub(crate) fn tidy_toml(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let is_header = |line: &str| line.starts_with('[') && line.ends_with(']');
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut seen_header = false;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if is_header(trimmed) {
            seen_header = true;
            let next = lines[i + 1..]
                .iter()
                .map(|l| l.trim())
                .find(|l| !l.is_empty());
            if !trimmed.starts_with("[[") && next.is_none_or(is_header) {
                continue;
            }
        } else if seen_header && trimmed.ends_with("= []") {
            continue;
        }
        if trimmed.is_empty() && out.last().is_none_or(|l| l.trim().is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    let mut tidy = out.join("\n");
    tidy.push('\n');
    tidy
}

/// Browsers send text areas with CRLF line ends; the stored text uses LF.
fn normalize(toml_text: &str) -> String {
    toml_text.replace("\r\n", "\n")
}

/// `now`, or just after `previous` if the clock has not moved past it, so
/// every save changes the `updated_at` that forms send back.
pub(crate) fn stamp_after(previous: Option<Timestamp>, now: Timestamp) -> Timestamp {
    match previous {
        Some(previous) if previous >= now => previous.plus(time::Duration::microseconds(1)),
        _ => now,
    }
}

/// Removes a profile's row (unchecked; callers record the audit entry).
pub(crate) async fn remove<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    code: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mapping_profiles WHERE code = $1")
        .bind(code)
        .execute(executor)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Serializes writers of one profile (a no-op on SQLite, whose write
/// transactions are serialized anyway), then reads it.
async fn lock_and_get(
    db: &Db,
    tx: &mut WriteTx,
    code: &str,
) -> Result<Option<StoredProfile>, sqlx::Error> {
    db.lock_key(tx, &format!("mapping_profile:{code}")).await?;
    get(&mut **tx, code).await
}

fn stale(code: &str, current: Option<StoredProfile>) -> ProfileError {
    let since = match &current {
        Some(stored) => format!(
            "was changed by {} at {}",
            stored.updated_by,
            stored.updated.display()
        ),
        None => "was deleted".to_owned(),
    };
    ProfileError::Stale {
        code: code.to_owned(),
        since,
        current: current.map(Box::new),
    }
}

/// Checks and stores a profile's TOML (kept as written, comments included):
/// it must parse, and [`MappingProfile::check`] against the stored schema
/// must find nothing. Writes the row and a `profile.save` audit entry in one
/// transaction. The schema is read under a shared lock, so a schema change
/// cannot slip in between the check and the write.
pub async fn save(
    db: &Db,
    actor: &Actor,
    toml_text: &str,
    base: Base,
    now: Timestamp,
) -> Result<StoredProfile, ProfileError> {
    let text = normalize(toml_text);
    let profile = parse(&text).map_err(ProfileError::Syntax)?;
    if let Base::Loaded { code, .. } = &base
        && &profile.code != code
    {
        return Err(ProfileError::CodeChanged {
            expected: code.clone(),
            found: profile.code,
        });
    }
    let mut tx = db.begin_write().await?;
    store::lock_schema_version(&mut tx, false).await?;
    let schema = store::load_schema(&mut *tx).await?;
    let problems = profile.check(&schema);
    if !problems.is_empty() {
        return Err(ProfileError::Invalid(problems));
    }
    let existing = lock_and_get(db, &mut tx, &profile.code).await?;
    match (&base, existing) {
        (Base::New, Some(_)) => return Err(ProfileError::Exists(profile.code)),
        (Base::Loaded { updated, .. }, existing)
            if existing.as_ref().map(|s| s.updated) != Some(*updated) =>
        {
            return Err(stale(&profile.code, existing));
        }
        _ => {}
    }
    let previous = match &base {
        Base::Loaded { updated, .. } => Some(*updated),
        Base::New => None,
    };
    let updated = stamp_after(previous, now);
    put(&mut *tx, &profile.code, &text, &actor.label, updated).await?;
    audit::record(
        &mut *tx,
        actor,
        AuditEvent::new("profile.save", profile.code.clone())
            .detail("created", previous.is_none())
            .detail("definition", text.clone()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(StoredProfile {
        profile,
        toml: text,
        updated,
        updated_by: actor.label.clone(),
    })
}

/// Deletes a profile, recording its last text in a `profile.delete` audit
/// entry. With `loaded`, refused if the profile changed since that save.
pub async fn delete(
    db: &Db,
    actor: &Actor,
    code: &str,
    loaded: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), ProfileError> {
    let mut tx = db.begin_write().await?;
    let Some(existing) = lock_and_get(db, &mut tx, code).await? else {
        return Err(ProfileError::NotFound(code.to_owned()));
    };
    if let Some(loaded) = loaded
        && loaded != existing.updated
    {
        return Err(stale(code, Some(existing)));
    }
    remove(&mut *tx, code).await?;
    audit::record(
        &mut *tx,
        actor,
        AuditEvent::new("profile.delete", code).detail("definition", existing.toml),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores the demo profile `erp-items` unless a profile of that code exists.
/// True when it was stored by this call.
pub async fn seed_demo(db: &Db, now: Timestamp) -> Result<bool, ProfileError> {
    match save(
        db,
        &Actor::system("sluice demo"),
        DEMO_PROFILE,
        Base::New,
        now,
    )
    .await
    {
        Ok(_) => Ok(true),
        Err(ProfileError::Exists(_)) => Ok(false),
        Err(err) => Err(err),
    }
}
