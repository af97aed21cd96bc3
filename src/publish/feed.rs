//! Reading what was published: feed pages, one product's snapshot, the
//! channel's full snapshot for exports, and the channel page's figures.
//! Payloads were rendered at publish time, so a feed page is a range read
//! plus concatenation of stored bytes.

use super::overview::ReadinessBreakdown;
use super::readiness::Reason;
use crate::db::{Backend, Db, Timestamp};

/// Most events per feed page.
pub const MAX_PAGE: i64 = 1000;
/// Publications read per query while streaming an export.
pub const EXPORT_CHUNK: i64 = 1000;

/// A feed page, already rendered as the contract's JSON.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub json: String,
    pub events: usize,
    pub next_after: i64,
}

/// Events after `after`, at most `limit`, as
/// `{"events": [{"seq","op","sku","product"}], "next_after", "has_more"}`.
///
/// The database concatenates the page itself (stored payloads are already
/// JSON), so a page of 1,000 events comes back as one row instead of 1,000:
/// per-row driver overhead was most of a page's cost.
pub async fn page(db: &Db, channel: &str, after: i64, limit: i64) -> Result<FeedPage, sqlx::Error> {
    let (event, aggregate) = match db.backend() {
        Backend::Sqlite => (
            "'{\"seq\":' || seq || ',\"op\":\"' || op || '\",\"sku\":' || json_quote(sku) \
             || ',\"product\":' || COALESCE(payload, 'null') || '}'",
            "group_concat(event, ',' ORDER BY seq)",
        ),
        Backend::Postgres => (
            "'{\"seq\":' || seq || ',\"op\":\"' || op || '\",\"sku\":' || to_json(sku)::text \
             || ',\"product\":' || COALESCE(payload, 'null') || '}'",
            "string_agg(event, ',' ORDER BY seq)",
        ),
    };
    let sql = format!(
        "SELECT COUNT(*) AS events, MAX(seq) AS last, {aggregate} AS body FROM \
         (SELECT seq, {event} AS event FROM feed_events WHERE channel = $1 AND seq > $2 \
          ORDER BY seq LIMIT $3) page"
    );
    let (events, last, body): (i64, Option<i64>, Option<String>) =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(channel)
            .bind(after)
            .bind(limit)
            .fetch_one(db.pool())
            .await?;
    let next_after = last.unwrap_or(after);
    let has_more = events > 0
        && sqlx::query("SELECT seq FROM feed_events WHERE channel = $1 AND seq > $2 LIMIT 1")
            .bind(channel)
            .bind(next_after)
            .fetch_optional(db.pool())
            .await?
            .is_some();
    let body = body.unwrap_or_default();
    let mut json = String::with_capacity(body.len() + 64);
    json.push_str("{\"events\":[");
    json.push_str(&body);
    json.push_str("],\"next_after\":");
    json.push_str(&next_after.to_string());
    json.push_str(",\"has_more\":");
    json.push_str(if has_more { "true" } else { "false" });
    json.push('}');
    Ok(FeedPage {
        json,
        events: usize::try_from(events).unwrap_or(0),
        next_after,
    })
}

/// The feed's last sequence number (0 before the first event).
pub async fn head(db: &Db, channel: &str) -> Result<i64, sqlx::Error> {
    Ok(
        crate::db::counters::read(db.pool(), &format!("feed:{channel}"))
            .await?
            .unwrap_or(0),
    )
}

/// A product as its channel has it now.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub sku: String,
    pub state: String,
    pub payload: String,
    pub hash: String,
    pub seq: i64,
    pub reasons: Vec<Reason>,
}

/// The published (or held) snapshot of a SKU on a channel; `None` when the
/// channel does not have it (never published, or deleted).
pub async fn snapshot(db: &Db, channel: &str, sku: &str) -> Result<Option<Snapshot>, sqlx::Error> {
    let row: Option<SnapshotRow> = sqlx::query_as(
        "SELECT pb.sku, pb.state, fe.payload, pb.hash, pb.seq, pb.reasons FROM publications pb \
         JOIN products p ON p.id = pb.product_id \
         JOIN feed_events fe ON fe.channel = pb.channel AND fe.seq = pb.seq \
         WHERE pb.channel = $1 AND p.sku_key = $2 AND pb.state <> 'deleted'",
    )
    .bind(channel)
    .bind(crate::catalog::store::sku_key(sku))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Snapshot {
        sku: row.sku,
        state: row.state,
        payload: row.payload.unwrap_or_default(),
        hash: row.hash.unwrap_or_default(),
        seq: row.seq,
        reasons: reasons_of(row.reasons),
    }))
}

/// A publication with its event's payload, as stored.
#[derive(sqlx::FromRow)]
struct SnapshotRow {
    sku: String,
    state: String,
    payload: Option<String>,
    hash: Option<String>,
    seq: i64,
    reasons: Option<String>,
}

/// Stored readiness reasons (JSON text); none when absent or unreadable.
fn reasons_of(text: Option<String>) -> Vec<Reason> {
    text.and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// One chunk of a channel's full snapshot (published and held products,
/// grouped by model so variants are adjacent), after the keyset `after`.
pub async fn export_chunk(
    db: &Db,
    channel: &str,
    after: Option<&(String, String)>,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let (group, sku) = after.cloned().unwrap_or_default();
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT pb.group_key, pb.sku, fe.payload FROM publications pb \
         JOIN feed_events fe ON fe.channel = pb.channel AND fe.seq = pb.seq \
         WHERE pb.channel = $1 AND pb.state <> 'deleted' \
         AND (pb.group_key > $2 OR (pb.group_key = $2 AND pb.sku > $3)) \
         ORDER BY pb.group_key, pb.sku LIMIT $4",
    )
    .bind(channel)
    .bind(group)
    .bind(sku)
    .bind(EXPORT_CHUNK)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(group, sku, payload)| (group, sku, payload.unwrap_or_default()))
        .collect())
}

/// Records that a token pulled the feed (for the channel page).
pub async fn record_pull(
    db: &Db,
    channel: &str,
    token_id: i64,
    token_name: &str,
    after: i64,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO feed_pulls (channel, token_id, token_name, after_seq, at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (channel, token_id) DO UPDATE SET token_name = excluded.token_name, \
         after_seq = excluded.after_seq, at = excluded.at",
    )
    .bind(channel)
    .bind(token_id)
    .bind(token_name)
    .bind(after)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The channel page's figures.
#[derive(Debug, Clone, Default)]
pub struct ChannelStatus {
    pub published: i64,
    pub held: i64,
    pub ready: i64,
    pub not_ready: i64,
    pub pending: i64,
    pub head: i64,
    pub readiness: ReadinessBreakdown,
    pub held_items: Vec<(String, Vec<Reason>)>,
    pub pulls: Vec<(String, i64, Timestamp)>,
    pub recent: Vec<(i64, String, String, Timestamp)>,
}

/// A channel's figures without its lists: what the channel list and the
/// dashboard show for every channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelCounts {
    pub published: i64,
    pub held: i64,
    pub ready: i64,
    pub not_ready: i64,
    pub pending: i64,
    pub head: i64,
    /// The sellable products split by where they stand; `ready` and
    /// `not_ready` are its totals.
    pub readiness: ReadinessBreakdown,
}

/// Published, held, ready, not-ready and pending products and the feed head.
pub async fn counts(db: &Db, channel: &str) -> Result<ChannelCounts, sqlx::Error> {
    let pool = db.pool();
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(channel)
            .fetch_one(pool)
            .await
    };
    // Sellable units (models aside), ready when ready in every locale.
    let readiness = super::overview::breakdown(db, channel).await?;
    Ok(ChannelCounts {
        published: count(
            "SELECT COUNT(*) AS n FROM publications WHERE channel = $1 AND state = 'published'",
        )
        .await?,
        held: count("SELECT COUNT(*) AS n FROM publications WHERE channel = $1 AND state = 'held'")
            .await?,
        ready: readiness.ready,
        not_ready: readiness.not_ready(),
        pending: count("SELECT COUNT(*) AS n FROM publish_pending WHERE channel = $1").await?,
        head: head(db, channel).await?,
        readiness,
    })
}

/// Counts per state, held products with reasons, the last pull per token
/// and the latest events.
pub async fn status(db: &Db, channel: &str) -> Result<ChannelStatus, sqlx::Error> {
    let pool = db.pool();
    let figures = counts(db, channel).await?;
    let mut status = ChannelStatus {
        published: figures.published,
        held: figures.held,
        ready: figures.ready,
        not_ready: figures.not_ready,
        pending: figures.pending,
        head: figures.head,
        readiness: figures.readiness,
        ..ChannelStatus::default()
    };
    let held: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT sku, reasons FROM publications WHERE channel = $1 AND state = 'held' ORDER BY sku LIMIT 50",
    )
    .bind(channel)
    .fetch_all(pool)
    .await?;
    status.held_items = held
        .into_iter()
        .map(|(sku, reasons)| (sku, reasons_of(reasons)))
        .collect();
    status.pulls = sqlx::query_as(
        "SELECT token_name, after_seq, at FROM feed_pulls WHERE channel = $1 ORDER BY at DESC LIMIT 20",
    )
    .bind(channel)
    .fetch_all(pool)
    .await?;
    status.recent = sqlx::query_as(
        "SELECT seq, op, sku, at FROM feed_events WHERE channel = $1 ORDER BY seq DESC LIMIT 20",
    )
    .bind(channel)
    .fetch_all(pool)
    .await?;
    Ok(status)
}

/// Published and held products of a channel: what a full snapshot holds.
pub async fn count_live(db: &Db, channel: &str) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) AS n FROM publications WHERE channel = $1 AND state <> 'deleted'",
    )
    .bind(channel)
    .fetch_one(db.pool())
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
