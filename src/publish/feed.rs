//! Reading what was published: feed pages, one product's snapshot, the
//! channel's full snapshot for exports, and the channel page's figures.
//! Payloads were rendered at publish time, so a feed page is a range read
//! plus concatenation of stored bytes.

use sqlx::Row;

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
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(channel)
        .bind(after)
        .bind(limit)
        .fetch_one(db.pool())
        .await?;
    let events: i64 = row.try_get("events")?;
    let next_after: i64 = row.try_get::<Option<i64>, _>("last")?.unwrap_or(after);
    let body: Option<String> = row.try_get("body")?;
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
    let row = sqlx::query(
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
    let reasons: Option<String> = row.try_get("reasons")?;
    Ok(Some(Snapshot {
        sku: row.try_get("sku")?,
        state: row.try_get("state")?,
        payload: row
            .try_get::<Option<String>, _>("payload")?
            .unwrap_or_default(),
        hash: row
            .try_get::<Option<String>, _>("hash")?
            .unwrap_or_default(),
        seq: row.try_get("seq")?,
        reasons: reasons
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default(),
    }))
}

/// One chunk of a channel's full snapshot (published and held products,
/// grouped by model so variants are adjacent), after the keyset `after`.
pub async fn export_chunk(
    db: &Db,
    channel: &str,
    after: Option<&(String, String)>,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let (group, sku) = after.cloned().unwrap_or_default();
    let rows = sqlx::query(
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
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("group_key")?,
                row.try_get("sku")?,
                row.try_get::<Option<String>, _>("payload")?
                    .unwrap_or_default(),
            ))
        })
        .collect()
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
        let row = sqlx::query(sql).bind(channel).fetch_one(pool).await?;
        row.try_get::<i64, _>("n")
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
    for row in sqlx::query(
        "SELECT sku, reasons FROM publications WHERE channel = $1 AND state = 'held' ORDER BY sku LIMIT 50",
    )
    .bind(channel)
    .fetch_all(pool)
    .await?
    {
        let text: Option<String> = row.try_get("reasons")?;
        status.held_items.push((
            row.try_get("sku")?,
            text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default(),
        ));
    }
    for row in sqlx::query(
        "SELECT token_name, after_seq, at FROM feed_pulls WHERE channel = $1 ORDER BY at DESC LIMIT 20",
    )
    .bind(channel)
    .fetch_all(pool)
    .await?
    {
        status
            .pulls
            .push((row.try_get("token_name")?, row.try_get("after_seq")?, row.try_get("at")?));
    }
    for row in sqlx::query(
        "SELECT seq, op, sku, at FROM feed_events WHERE channel = $1 ORDER BY seq DESC LIMIT 20",
    )
    .bind(channel)
    .fetch_all(pool)
    .await?
    {
        status.recent.push((
            row.try_get("seq")?,
            row.try_get("op")?,
            row.try_get("sku")?,
            row.try_get("at")?,
        ));
    }
    Ok(status)
}

/// Published and held products of a channel: what a full snapshot holds.
pub async fn count_live(db: &Db, channel: &str) -> Result<u64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM publications WHERE channel = $1 AND state <> 'deleted'",
    )
    .bind(channel)
    .fetch_one(db.pool())
    .await?;
    Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
}
