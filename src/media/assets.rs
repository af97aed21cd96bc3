//! The `assets` and `asset_renditions` tables: what is stored, its review
//! status, its metadata, and which renditions exist.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::AnyConnection;

use super::MediaError;
use crate::audit::{self, Actor, AuditEvent};
use crate::db::builder::SqlBuilder;
use crate::db::bulk::Param;
use crate::db::{Backend, Db, Timestamp, WriteTx};

/// Where an asset is in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    Pending,
    Approved,
    Rejected,
}

impl AssetStatus {
    pub const ALL: [AssetStatus; 3] = [
        AssetStatus::Pending,
        AssetStatus::Approved,
        AssetStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::Pending => "pending",
            AssetStatus::Approved => "approved",
            AssetStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A stored file and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    pub id: String,
    pub sha256: String,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// As shown (EXIF orientation applied); `None` for documents.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The EXIF orientation (1–8) the renditions apply.
    pub orientation: u8,
    /// Alt text per locale.
    pub alt_text: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub status: AssetStatus,
    pub reject_reason: Option<String>,
    pub uploaded_by: String,
    #[serde(skip)]
    pub uploaded_by_user: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    /// `queued`, `done` or `failed`.
    pub renditions: String,
    pub renditions_error: Option<String>,
    pub version: i64,
    pub created: Timestamp,
    pub updated: Timestamp,
}

impl Asset {
    /// An image (renditions are made from it) rather than a document.
    pub fn is_image(&self) -> bool {
        self.media_type.starts_with("image/")
    }

    /// The object key of the original bytes.
    pub fn original_key(&self) -> String {
        original_key(&self.sha256)
    }
}

/// Where an original's bytes live: by content, so one file is stored once.
pub fn original_key(sha256: &str) -> String {
    format!("originals/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

/// What readiness and feeds need to know of a linked asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetFacts {
    pub status: AssetStatus,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub is_image: bool,
}

const COLUMNS: &str = "id, sha256, filename, media_type, size_bytes, width, height, orientation, \
     alt_text, tags, status, reject_reason, uploaded_by, uploaded_by_user, decided_by, \
     decided_at, renditions, renditions_error, version, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct AssetRow {
    id: String,
    sha256: String,
    filename: String,
    media_type: String,
    size_bytes: i64,
    width: Option<i64>,
    height: Option<i64>,
    orientation: i64,
    alt_text: String,
    tags: String,
    status: String,
    reject_reason: Option<String>,
    uploaded_by: String,
    uploaded_by_user: Option<i64>,
    decided_by: Option<String>,
    decided_at: Option<Timestamp>,
    renditions: String,
    renditions_error: Option<String>,
    version: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl AssetRow {
    fn into_asset(self) -> Asset {
        let dimension = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        Asset {
            id: self.id,
            sha256: self.sha256,
            filename: self.filename,
            media_type: self.media_type,
            size_bytes: self.size_bytes,
            width: dimension(self.width),
            height: dimension(self.height),
            orientation: u8::try_from(self.orientation).unwrap_or(1),
            // Written only by this module as JSON; an unreadable value shows empty.
            alt_text: serde_json::from_str(&self.alt_text).unwrap_or_default(),
            tags: serde_json::from_str(&self.tags).unwrap_or_default(),
            status: AssetStatus::parse(&self.status).unwrap_or(AssetStatus::Pending),
            reject_reason: self.reject_reason,
            uploaded_by: self.uploaded_by,
            uploaded_by_user: self.uploaded_by_user,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
            renditions: self.renditions,
            renditions_error: self.renditions_error,
            version: self.version,
            created: self.created_at,
            updated: self.updated_at,
        }
    }
}

async fn fetch_one_where(
    conn: &mut AnyConnection,
    column: &str,
    value: &str,
) -> Result<Option<Asset>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM assets WHERE {column} = $1");
    Ok(sqlx::query_as::<_, AssetRow>(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_optional(conn)
        .await?
        .map(AssetRow::into_asset))
}

/// One asset by id.
pub async fn get(db: &Db, id: &str) -> Result<Option<Asset>, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    fetch_one_where(&mut conn, "id", id).await
}

/// The asset holding exactly these bytes, if one does.
pub async fn find_by_sha(
    conn: &mut AnyConnection,
    sha256: &str,
) -> Result<Option<Asset>, sqlx::Error> {
    fetch_one_where(conn, "sha256", sha256).await
}

/// An asset about to be recorded.
#[derive(Debug, Clone)]
pub struct NewAsset {
    pub sha256: String,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub orientation: u8,
    pub tags: Vec<String>,
}

/// The id an asset with this hash gets: the hash's first 16 hex digits.
pub fn id_for(sha256: &str) -> String {
    sha256.chars().take(16).collect()
}

/// Records a new asset (pending) and audits the upload, in `tx`. A unique
/// violation means another upload of the same bytes won the race: the
/// caller reads that one.
pub async fn insert(
    tx: &mut WriteTx,
    new: &NewAsset,
    actor: &Actor,
    now: Timestamp,
) -> Result<Asset, sqlx::Error> {
    let id = id_for(&new.sha256);
    let sql = format!(
        "INSERT INTO assets (id, sha256, filename, media_type, size_bytes, width, height, \
         orientation, tags, uploaded_by, uploaded_by_user, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {COLUMNS}"
    );
    let row = sqlx::query_as::<_, AssetRow>(sqlx::AssertSqlSafe(sql))
        .bind(&id)
        .bind(&new.sha256)
        .bind(&new.filename)
        .bind(&new.media_type)
        .bind(new.size_bytes)
        .bind(new.width.map(i64::from))
        .bind(new.height.map(i64::from))
        .bind(i64::from(new.orientation))
        .bind(serde_json::to_string(&new.tags).unwrap_or_else(|_| "[]".into()))
        .bind(&actor.label)
        .bind(actor.user_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    audit::record(
        &mut **tx,
        actor,
        AuditEvent::new("asset.uploaded", format!("asset:{id}"))
            .detail("filename", new.filename.clone())
            .detail("media_type", new.media_type.clone())
            .detail("size_bytes", new.size_bytes)
            .detail("sha256", new.sha256.clone()),
        now,
    )
    .await?;
    Ok(row.into_asset())
}

/// Which assets the media library lists.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    /// Part of the file name or a tag (case-insensitive).
    pub q: Option<String>,
    pub status: Option<AssetStatus>,
    /// `image` or `document`.
    pub kind: Option<String>,
    /// Only these ids (the usage filter, resolved by the caller).
    pub ids: Option<Vec<String>>,
    /// Leave these ids out.
    pub exclude_ids: Option<Vec<String>>,
    pub offset: i64,
    pub limit: i64,
}

fn filtered(backend: Backend, select: &str, filter: &AssetFilter) -> SqlBuilder {
    let mut sql = SqlBuilder::new(backend, select);
    sql.push(" WHERE 1 = 1");
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.to_lowercase().replace(['%', '_'], ""));
        sql.push(" AND (LOWER(filename) LIKE ")
            .push_bind(Param::Text(pattern.clone()))
            .push(" OR LOWER(tags) LIKE ")
            .push_bind(Param::Text(pattern))
            .push(")");
    }
    if let Some(status) = filter.status {
        sql.push(" AND status = ")
            .push_bind(Param::Text(status.as_str().into()));
    }
    match filter.kind.as_deref() {
        Some("image") => {
            sql.push(" AND media_type LIKE 'image/%'");
        }
        Some("document") => {
            sql.push(" AND media_type NOT LIKE 'image/%'");
        }
        _ => {}
    }
    if let Some(ids) = &filter.ids {
        if ids.is_empty() {
            sql.push(" AND 1 = 0");
        } else {
            sql.push(" AND id IN (")
                .push_list(ids.iter().map(|id| Param::Text(id.clone())))
                .push(")");
        }
    }
    if let Some(ids) = filter.exclude_ids.as_ref().filter(|ids| !ids.is_empty()) {
        sql.push(" AND id NOT IN (")
            .push_list(ids.iter().map(|id| Param::Text(id.clone())))
            .push(")");
    }
    sql
}

/// A page of the library, newest first, and how many match in all.
pub async fn list(db: &Db, filter: &AssetFilter) -> Result<(Vec<Asset>, i64), sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let mut page = filtered(
        db.backend(),
        &format!("SELECT {COLUMNS} FROM assets"),
        filter,
    );
    page.push(" ORDER BY created_at DESC, id LIMIT ")
        .push_bind(Param::Int(filter.limit.clamp(1, 500)))
        .push(" OFFSET ")
        .push_bind(Param::Int(filter.offset.max(0)));
    let rows = page.fetch_all(&mut *conn).await?;
    let mut assets = Vec::with_capacity(rows.len());
    for row in &rows {
        assets.push(<AssetRow as sqlx::FromRow<_>>::from_row(row)?.into_asset());
    }
    let count = filtered(db.backend(), "SELECT COUNT(*) AS n FROM assets", filter)
        .build()
        .fetch_one(&mut *conn)
        .await?;
    let total: i64 = sqlx::Row::try_get(&count, "n")?;
    Ok((assets, total))
}

/// The ids of every asset the filter matches (its paging and id lists
/// ignored), newest first: the library's usage filter pages them itself.
pub async fn matching_ids(db: &Db, filter: &AssetFilter) -> Result<Vec<String>, sqlx::Error> {
    let unpaged = AssetFilter {
        ids: None,
        exclude_ids: None,
        ..filter.clone()
    };
    let mut conn = db.pool().acquire().await?;
    let mut sql = filtered(db.backend(), "SELECT id FROM assets", &unpaged);
    sql.push(" ORDER BY created_at DESC, id");
    let rows = sql.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| sqlx::Row::try_get::<String, _>(row, "id"))
        .collect()
}

/// Several assets by id, in no particular order; unknown ids are left out.
pub async fn many(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Asset>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut assets = Vec::with_capacity(ids.len());
    // Bounded statements: SQLite allows 32,766 parameters, PostgreSQL 65,535.
    for chunk in ids.chunks(1000) {
        let mut sql = SqlBuilder::new(
            Backend::of(conn),
            &format!("SELECT {COLUMNS} FROM assets WHERE id IN ("),
        );
        sql.push_list(chunk.iter().map(|id| Param::Text(id.clone())))
            .push(")");
        for row in sql.fetch_all(&mut *conn).await? {
            assets.push(<AssetRow as sqlx::FromRow<_>>::from_row(&row)?.into_asset());
        }
    }
    Ok(assets)
}

/// What readiness and the feeds need of these assets.
pub async fn facts(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, AssetFacts>, sqlx::Error> {
    Ok(many(conn, ids)
        .await?
        .into_iter()
        .map(|asset| {
            let facts = AssetFacts {
                status: asset.status,
                width: asset.width,
                height: asset.height,
                is_image: asset.is_image(),
            };
            (asset.id, facts)
        })
        .collect())
}

/// The review decision on an asset.
#[derive(Debug, Clone)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// Approves or rejects an asset, in `tx`, audited. Four eyes: the uploader
/// cannot decide on their own upload unless `allow_self_approval`. A
/// decision on an asset that is already so decided changes nothing and
/// returns `false`.
pub async fn decide(
    tx: &mut WriteTx,
    id: &str,
    decision: &Decision,
    actor: &Actor,
    allow_self_approval: bool,
    now: Timestamp,
) -> Result<bool, MediaError> {
    let asset = fetch_one_where(&mut *tx, "id", id)
        .await?
        .ok_or_else(|| MediaError::NotFound(id.to_owned()))?;
    if !allow_self_approval
        && asset.uploaded_by_user.is_some()
        && asset.uploaded_by_user == actor.user_id
    {
        return Err(MediaError::Forbidden(
            "you uploaded this asset; another approver must review it".into(),
        ));
    }
    let (status, reason) = match decision {
        Decision::Approve => (AssetStatus::Approved, None),
        Decision::Reject { reason } => {
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(MediaError::Invalid("say why the asset is rejected".into()));
            }
            (AssetStatus::Rejected, Some(reason.to_owned()))
        }
    };
    if asset.status == status && asset.reject_reason == reason {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE assets SET status = $1, reject_reason = $2, decided_by = $3, decided_at = $4, \
         version = version + 1, updated_at = $4 WHERE id = $5",
    )
    .bind(status.as_str())
    .bind(reason.as_deref())
    .bind(&actor.label)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    let mut event = AuditEvent::new(
        match status {
            AssetStatus::Approved => "asset.approved",
            _ => "asset.rejected",
        },
        format!("asset:{id}"),
    )
    .detail("before", asset.status.as_str());
    if let Some(reason) = &reason {
        event = event.detail("reason", reason.clone());
    }
    audit::record(&mut **tx, actor, event, now).await?;
    Ok(true)
}

/// Tags as kept: trimmed, lower-case, without empty ones or repeats, in
/// the order given.
pub fn clean_tags(given: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in given {
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// Alt texts and tags as a person edits them.
#[derive(Debug, Clone, Default)]
pub struct MetadataEdit {
    pub alt_text: BTreeMap<String, String>,
    pub tags: Vec<String>,
}

/// Most characters in one alt text (Google: alt text is read aloud; long
/// descriptions belong in the product's description).
const MAX_ALT: usize = 500;

/// Sets an asset's alt texts and tags if it is still at `expected_version`
/// (no lost update), audited with before and after.
pub async fn update_metadata(
    tx: &mut WriteTx,
    id: &str,
    expected_version: i64,
    edit: &MetadataEdit,
    actor: &Actor,
    now: Timestamp,
) -> Result<Asset, MediaError> {
    let asset = fetch_one_where(&mut *tx, "id", id)
        .await?
        .ok_or_else(|| MediaError::NotFound(id.to_owned()))?;
    if asset.version != expected_version {
        return Err(MediaError::Stale {
            id: id.to_owned(),
            expected: expected_version,
        });
    }
    let alt_text: BTreeMap<String, String> = edit
        .alt_text
        .iter()
        .map(|(locale, text)| (locale.clone(), text.trim().to_owned()))
        .filter(|(_, text)| !text.is_empty())
        .collect();
    if let Some((locale, _)) = alt_text.iter().find(|(_, t)| t.chars().count() > MAX_ALT) {
        return Err(MediaError::Invalid(format!(
            "the alt text in {locale} is longer than {MAX_ALT} characters"
        )));
    }
    let tags = clean_tags(&edit.tags);
    let sql = format!(
        "UPDATE assets SET alt_text = $1, tags = $2, version = version + 1, updated_at = $3 \
         WHERE id = $4 AND version = $5 RETURNING {COLUMNS}"
    );
    let updated = sqlx::query_as::<_, AssetRow>(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::to_string(&alt_text).unwrap_or_else(|_| "{}".into()))
        .bind(serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()))
        .bind(now)
        .bind(id)
        .bind(expected_version)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| MediaError::Stale {
            id: id.to_owned(),
            expected: expected_version,
        })?
        .into_asset();
    audit::record(
        &mut **tx,
        actor,
        AuditEvent::new("asset.metadata", format!("asset:{id}"))
            .detail(
                "alt_text_before",
                serde_json::to_value(&asset.alt_text).unwrap_or_default(),
            )
            .detail(
                "alt_text",
                serde_json::to_value(&updated.alt_text).unwrap_or_default(),
            )
            .detail("tags_before", asset.tags.clone())
            .detail("tags", updated.tags.clone()),
        now,
    )
    .await?;
    Ok(updated)
}

/// A made rendition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Rendition {
    pub asset_id: String,
    pub preset: String,
    pub spec_hash: String,
    pub object_key: String,
    pub media_type: String,
    pub width: i64,
    pub height: i64,
    pub size_bytes: i64,
}

const RENDITION_COLUMNS: &str =
    "asset_id, preset, spec_hash, object_key, media_type, width, height, size_bytes";

/// The rendition of `asset_id` for a preset as it is specified now.
pub async fn rendition(
    db: &Db,
    asset_id: &str,
    preset: &str,
    spec_hash: &str,
) -> Result<Option<Rendition>, sqlx::Error> {
    let sql = format!(
        "SELECT {RENDITION_COLUMNS} FROM asset_renditions \
         WHERE asset_id = $1 AND preset = $2 AND spec_hash = $3"
    );
    sqlx::query_as::<_, Rendition>(sqlx::AssertSqlSafe(sql))
        .bind(asset_id)
        .bind(preset)
        .bind(spec_hash)
        .fetch_optional(db.pool())
        .await
}

/// Every rendition of an asset (the asset page).
pub async fn renditions_of(db: &Db, asset_id: &str) -> Result<Vec<Rendition>, sqlx::Error> {
    let sql = format!(
        "SELECT {RENDITION_COLUMNS} FROM asset_renditions WHERE asset_id = $1 ORDER BY preset"
    );
    sqlx::query_as::<_, Rendition>(sqlx::AssertSqlSafe(sql))
        .bind(asset_id)
        .fetch_all(db.pool())
        .await
}

/// Records a rendition (made twice by two nodes at once: the second is kept
/// out quietly; both wrote the same bytes under the same key).
pub async fn record_rendition(
    db: &Db,
    rendition: &Rendition,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO asset_renditions \
         (asset_id, preset, spec_hash, object_key, media_type, width, height, size_bytes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&rendition.asset_id)
    .bind(&rendition.preset)
    .bind(&rendition.spec_hash)
    .bind(&rendition.object_key)
    .bind(&rendition.media_type)
    .bind(rendition.width)
    .bind(rendition.height)
    .bind(rendition.size_bytes)
    .bind(now)
    .execute(db.pool())
    .await;
    match result {
        Err(err) if crate::db::is_unique_violation(&err) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Takes the oldest asset whose renditions are queued (or whose worker's
/// lease ran out) for this worker until `lease_until`.
pub async fn claim_for_renditions(
    db: &Db,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Option<Asset>, sqlx::Error> {
    let skip_locked = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let claimable = "renditions = 'queued' AND (renditions_lease IS NULL OR renditions_lease < $2)";
    let sql = format!(
        "UPDATE assets SET renditions_lease = $1 \
         WHERE id = (SELECT id FROM assets WHERE {claimable} ORDER BY created_at, id LIMIT 1{skip_locked}) \
         AND {claimable} RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, AssetRow>(sqlx::AssertSqlSafe(sql))
        .bind(lease_until)
        .bind(now)
        .fetch_optional(db.pool())
        .await?
        .map(AssetRow::into_asset))
}

/// The worker is done with an asset: `done`, or `failed` with why.
pub async fn finish_renditions(db: &Db, id: &str, error: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE assets SET renditions = $1, renditions_error = $2, renditions_lease = NULL \
         WHERE id = $3",
    )
    .bind(if error.is_some() { "failed" } else { "done" })
    .bind(error)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Queues an asset's renditions again (the presets changed, or a person
/// asked after a failure).
pub async fn requeue_renditions(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE assets SET renditions = 'queued', renditions_error = NULL, renditions_lease = NULL \
         WHERE id = $1",
    )
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Queues every asset's renditions again (the presets changed): the worker
/// makes what a preset's new spec hash lacks and skips what exists. One
/// statement, so it fits in the transaction that changes the presets.
pub async fn requeue_all_renditions(conn: &mut AnyConnection) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE assets SET renditions = 'queued', renditions_error = NULL, renditions_lease = NULL \
         WHERE renditions <> 'queued' OR renditions_lease IS NOT NULL",
    )
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

/// How many assets there are per status (the library's filter counts and
/// the dashboard).
pub async fn counts(db: &Db) -> Result<HashMap<AssetStatus, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM assets GROUP BY status")
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(status, n)| AssetStatus::parse(&status).map(|s| (s, n)))
        .collect())
}
