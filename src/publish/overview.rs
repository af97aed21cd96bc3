//! Figures for the overview pages (dashboard, channel pages, product grid):
//! each channel's products split by where they stand (ready, held, or not
//! ready by the first reason kind that keeps them out), the products missing
//! each required value, which values a page of products misses, held
//! products counted once across channels, and feed events per UTC day.
//!
//! Reasons are stored as JSON text (`product_readiness.reasons`); the counts
//! over a whole channel match them with LIKE patterns in the database, so a
//! large catalog is counted without being read into memory.

use std::collections::{BTreeSet, HashMap};

use sqlx::{AnyConnection, Row};

use super::readiness::{Reason, ReasonKind};
use crate::catalog::schema::Schema;
use crate::catalog::store::containing;
use crate::db::{Db, Timestamp, bulk};

/// A channel's sellable products (models aside), each counted once: ready,
/// held, or not ready by the first of its reason kinds in the order of the
/// fields below (disabled before outside the tree before missing values …).
/// Every product is in exactly one figure, so they add up to the total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadinessBreakdown {
    pub ready: i64,
    /// Not ready, kept published at its last good snapshot.
    pub held: i64,
    /// The product or its model is disabled.
    pub disabled: i64,
    /// Outside the channel's category tree.
    pub outside_tree: i64,
    /// A value the channel requires is missing.
    pub missing: i64,
    /// A value is present but invalid.
    pub invalid: i64,
    /// A format limit is broken (Google's text lengths).
    pub format_limits: i64,
    /// Not ready for a reason this page does not know (none today).
    pub other: i64,
}

impl ReadinessBreakdown {
    /// Products not ready now, held ones included.
    pub fn not_ready(&self) -> i64 {
        self.held
            + self.disabled
            + self.outside_tree
            + self.missing
            + self.invalid
            + self.format_limits
            + self.other
    }

    pub fn total(&self) -> i64 {
        self.ready + self.not_ready()
    }
}

/// The LIKE pattern of a stored reason of `kind` (serde writes the kind as
/// `"kind":"snake_case"`; quotes inside messages are escaped, so a message
/// cannot match).
fn kind_pattern(kind: ReasonKind) -> String {
    let name = serde_json::to_string(&kind).unwrap_or_default();
    containing(&format!("\"kind\":{name}"))
}

/// Splits a channel's products by where they stand (see [`ReadinessBreakdown`]).
pub async fn breakdown(db: &Db, channel: &str) -> Result<ReadinessBreakdown, sqlx::Error> {
    // Per product, the most telling reason over its locales: the lowest rank.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT verdict, COUNT(*) AS n FROM (\
           SELECT CASE WHEN MIN(r.ready) = 1 THEN 'ready' \
             WHEN MAX(CASE WHEN pb.state = 'held' THEN 1 ELSE 0 END) = 1 THEN 'held' \
             ELSE MIN(CASE WHEN r.ready = 1 THEN '9' \
               WHEN r.reasons LIKE $2 ESCAPE '\\' OR r.reasons LIKE $3 ESCAPE '\\' THEN '1' \
               WHEN r.reasons LIKE $4 ESCAPE '\\' THEN '2' \
               WHEN r.reasons LIKE $5 ESCAPE '\\' THEN '3' \
               WHEN r.reasons LIKE $6 ESCAPE '\\' THEN '4' \
               WHEN r.reasons LIKE $7 ESCAPE '\\' THEN '5' \
               ELSE '6' END) END AS verdict \
           FROM product_readiness r \
           JOIN products p ON p.id = r.product_id AND p.kind <> 'model' \
           LEFT JOIN publications pb ON pb.channel = r.channel AND pb.product_id = r.product_id \
           WHERE r.channel = $1 GROUP BY r.product_id) verdicts \
         GROUP BY verdict",
    )
    .bind(channel)
    .bind(kind_pattern(ReasonKind::Disabled))
    .bind(kind_pattern(ReasonKind::ModelDisabled))
    .bind(kind_pattern(ReasonKind::NotInChannel))
    .bind(kind_pattern(ReasonKind::Missing))
    .bind(kind_pattern(ReasonKind::Invalid))
    .bind(kind_pattern(ReasonKind::TooLong))
    .fetch_all(db.pool())
    .await?;
    let mut split = ReadinessBreakdown::default();
    for (verdict, n) in rows {
        let figure = match verdict.as_str() {
            "ready" => &mut split.ready,
            "held" => &mut split.held,
            "1" => &mut split.disabled,
            "2" => &mut split.outside_tree,
            "3" => &mut split.missing,
            "4" => &mut split.invalid,
            "5" => &mut split.format_limits,
            _ => &mut split.other,
        };
        *figure += n;
    }
    Ok(split)
}

/// The attributes a channel can miss: those its families require and
/// those its format mapping reads.
fn requirable(schema: &Schema, channel: &str) -> Vec<String> {
    let mut codes: BTreeSet<String> = schema
        .families
        .iter()
        .filter_map(|f| f.requirements.get(channel))
        .flatten()
        .cloned()
        .collect();
    if let Some(found) = schema.channel(channel) {
        codes.extend(
            found
                .mapping
                .fields()
                .into_iter()
                .map(|(_, code)| code.to_owned())
                .filter(|code| schema.attribute(code).is_some()),
        );
    }
    codes.into_iter().collect()
}

/// Per attribute, how many of the channel's sellable products miss it (in
/// any locale), most missed first; a product missing two counts for both.
/// `None` stands for a field the channel's format needs but maps no
/// attribute to (fixed in the channel settings, not on products).
pub async fn missing_by_attribute(
    db: &Db,
    schema: &Schema,
    channel: &str,
) -> Result<Vec<(Option<String>, i64)>, sqlx::Error> {
    let codes: Vec<Option<String>> = requirable(schema, channel)
        .into_iter()
        .map(Some)
        .chain([None])
        .collect();
    // A missing reason is stored as `{"kind":"missing","attribute":"CODE",…`,
    // or `{"kind":"missing","message":…` without an attribute (serde keeps
    // the field order of `Reason` and leaves out an absent attribute).
    let columns: Vec<String> = (0..codes.len())
        .map(|i| {
            format!(
                "COUNT(DISTINCT CASE WHEN r.reasons LIKE ${} ESCAPE '\\' THEN r.product_id END) AS m{i}",
                i + 2
            )
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM product_readiness r JOIN products p ON p.id = r.product_id AND p.kind <> 'model' \
         WHERE r.channel = $1 AND r.missing_count > 0",
        columns.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(channel.to_owned());
    for code in &codes {
        let next_field = match code {
            Some(code) => format!("\"attribute\":{}", serde_json::Value::from(code.as_str())),
            None => "\"message\":".to_owned(),
        };
        query = query.bind(containing(&format!("{{\"kind\":\"missing\",{next_field}")));
    }
    let row = query.fetch_one(db.pool()).await?;
    let mut counts = Vec::new();
    for (i, code) in codes.into_iter().enumerate() {
        let n: i64 = row.try_get(format!("m{i}").as_str())?;
        if n > 0 {
            counts.push((code, n));
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(counts)
}

/// What one product misses on one channel: the attributes (in any of the
/// channel's locales), `None` for a field the channel maps no attribute to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingOn {
    pub channel: String,
    pub attributes: Vec<Option<String>>,
}

/// Per product of `ids`, the channels where it misses required values and
/// which (for the grid's badges).
pub async fn missing_values(
    db: &Db,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<MissingOn>>, sqlx::Error> {
    let mut found: HashMap<i64, Vec<MissingOn>> = HashMap::new();
    for chunk in ids.chunks(200) {
        let sql = format!(
            "SELECT product_id, channel, reasons FROM product_readiness \
             WHERE missing_count > 0 AND product_id IN ({}) ORDER BY channel, locale",
            bulk::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for (product_id, channel, text) in query.fetch_all(db.pool()).await? {
            let reasons: Vec<Reason> = serde_json::from_str(&text).unwrap_or_default();
            let per_channel = found.entry(product_id).or_default();
            if per_channel.last().is_none_or(|m| m.channel != channel) {
                per_channel.push(MissingOn {
                    channel,
                    attributes: Vec::new(),
                });
            }
            let Some(entry) = per_channel.last_mut() else {
                continue;
            };
            for reason in reasons
                .into_iter()
                .filter(|r| r.kind == ReasonKind::Missing)
            {
                if !entry.attributes.contains(&reason.attribute) {
                    entry.attributes.push(reason.attribute);
                }
            }
        }
    }
    Ok(found)
}

/// Products held on at least one channel, each counted once.
pub async fn held_products(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(DISTINCT product_id) AS n FROM publications WHERE state = 'held'",
    )
    .fetch_one(db.pool())
    .await
}

/// The counter row of feed events written on the UTC day of `at`.
fn feed_day_counter(day: &str) -> String {
    format!("feed_events_on:{day}")
}

/// The UTC day of a stored moment: `2026-11-28`.
fn day_of(at: Timestamp) -> String {
    at.to_stored().chars().take(10).collect()
}

/// Adds `events` to the day's count, inside the publishing transaction (which
/// holds the publish lock, so the row is no new point of contention): a day
/// is read from one row instead of scanning every event's payload.
pub(super) async fn count_feed_events(
    conn: &mut AnyConnection,
    at: Timestamp,
    events: usize,
) -> Result<(), sqlx::Error> {
    if events == 0 {
        return Ok(());
    }
    crate::db::counters::bump_or_start(
        conn,
        &feed_day_counter(&day_of(at)),
        i64::try_from(events).unwrap_or(i64::MAX),
    )
    .await?;
    Ok(())
}

/// Feed events of every channel on each of `days` (`YYYY-MM-DD`, UTC), as
/// `(day, count)`; days without events are left out. The counters are named
/// one by one: a range over their names would depend on the database's
/// collation (`;` after the digits holds only in byte order).
pub async fn feed_events_per_day(
    db: &Db,
    days: &[String],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let names: Vec<String> = days.iter().map(|day| feed_day_counter(day)).collect();
    let counted = crate::db::counters::read_many(db.pool(), &names).await?;
    Ok(counted
        .into_iter()
        .map(|(name, value)| {
            let day = name.rsplit(':').next().unwrap_or_default().to_owned();
            (day, value)
        })
        .collect())
}

/// Per product, the channels where it misses required values and how many.
pub async fn missing_counts(
    db: &Db,
    product_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<(String, i64)>>, sqlx::Error> {
    let mut counts: std::collections::HashMap<i64, Vec<(String, i64)>> =
        std::collections::HashMap::new();
    for chunk in product_ids.chunks(200) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT product_id, channel, CAST(SUM(missing_count) AS BIGINT) AS missing_count FROM product_readiness \
             WHERE missing_count > 0 AND product_id IN ({}) GROUP BY product_id, channel ORDER BY channel",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64, String, i64)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for (product_id, channel, missing) in query.fetch_all(db.pool()).await? {
            counts
                .entry(product_id)
                .or_default()
                .push((channel, missing));
        }
    }
    Ok(counts)
}
