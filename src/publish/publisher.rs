//! The publisher: follows the change log and, per changed product and
//! channel, records readiness and publishes what is ready.
//!
//! Every round is one transaction that holds the publish lock (an advisory
//! lock on PostgreSQL, the write lock on SQLite), so any number of workers
//! or app nodes may run it: they take turns, and the per-channel counter row
//! `feed:<channel>` hands out feed numbers inside the same transaction, so a
//! feed's commit order is its sequence order and it has no gaps.

use std::collections::{BTreeMap, HashMap};

use sqlx::{AnyConnection, FromRow};

use super::images::{self, LinkedAssets};
use super::payload::{self, Payload};
use super::readiness::{self, ChannelReadiness};
use crate::audit::{self, Actor, AuditEvent};
use crate::catalog::product::{Product, ProductKind, Values};
use crate::catalog::schema::{Channel, PublishMode, Schema};
use crate::catalog::store::{self, PRODUCT_COLUMNS, PRODUCT_FROM, StoredProduct, resolved_values};
use crate::db::builder::SqlBuilder;
use crate::db::bulk::{self, Param};
use crate::db::{Backend, Db, Timestamp};
use crate::workflow::history;

/// Products per round: one transaction, bounded memory.
pub const ROUND: usize = 1000;

/// Where a publication stands on its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Published,
    Held,
    Deleted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Published => "published",
            State::Held => "held",
            State::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "published" => Some(State::Published),
            "held" => Some(State::Held),
            "deleted" => Some(State::Deleted),
            _ => None,
        }
    }
}

/// Which channels a round publishes to.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Following the change log: automatic channels publish, manual ones
    /// collect pending products.
    Follow,
    /// One channel, now, whatever its mode (publish pending, republish all).
    Channel(&'a str),
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub products: usize,
    pub events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("unknown channel {0}")]
    UnknownChannel(String),
}

struct Existing {
    sku: String,
    state: State,
    hash: Option<String>,
    /// The published payload: a held product's last good snapshot.
    payload: Option<String>,
    reasons: Option<String>,
}

/// One change to write for a product on a channel.
struct Outcome {
    channel: String,
    product_id: i64,
    sku: String,
    group_key: String,
    state: State,
    payload: Option<String>,
    hash: Option<String>,
    reasons: Option<String>,
    /// `Some(op)` when a feed event goes with it.
    event: Option<&'static str>,
}

/// Follows the change log for one round (or one chunk of a rebuild after a
/// schema change). Returns what it did; zero products means caught up.
/// `public_url` (`SLUICE_PUBLIC_URL`) starts the payloads' image links.
pub async fn follow_once(
    db: &Db,
    schema: &Schema,
    public_url: &str,
    now: Timestamp,
) -> Result<Round, PublishError> {
    let mut tx = begin(db).await?;
    let (last_seq, judged_by, mut rebuild_after): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT last_seq, schema_version, rebuild_after FROM publish_cursor WHERE name = 'publisher'",
    )
    .fetch_one(&mut *tx)
    .await?;
    if judged_by != schema.version {
        // Requirements, mappings or channels may have changed: judge every
        // product again (identical payloads publish nothing). A publisher
        // that has not followed anything yet will meet every product in the
        // log, which starts with the first product ever written.
        rebuild_after = (last_seq > 0).then_some(0);
    }
    let entries =
        history::changes_after(&mut tx, last_seq, i64::try_from(ROUND * 4).unwrap_or(2000)).await?;
    let mut ids: Vec<i64> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut next_seq = last_seq;
    for &(seq, id) in &entries {
        next_seq = seq;
        if seen.insert(id) {
            ids.push(id);
        }
        if ids.len() >= ROUND {
            break;
        }
    }
    // The rebuild walks the products once the log is caught up.
    if ids.is_empty()
        && let Some(after) = rebuild_after
    {
        ids = store::ids_after(&mut tx, after, round_size()).await?;
        rebuild_after = (ids.len() == ROUND).then(|| ids.last().copied()).flatten();
    }
    let round = publish_products(&mut tx, schema, public_url, &ids, Scope::Follow, now).await?;
    sqlx::query(
        "UPDATE publish_cursor SET last_seq = $1, schema_version = $2, rebuild_after = $3 \
         WHERE name = 'publisher'",
    )
    .bind(next_seq)
    .bind(schema.version)
    .bind(rebuild_after)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(round)
}

/// How far the publisher is behind the change log (0 when caught up and not rebuilding).
pub async fn backlog(db: &Db) -> Result<i64, sqlx::Error> {
    let (behind, rebuilding): (i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT value FROM counters WHERE name = 'change_log') - last_seq AS behind, \
         rebuild_after FROM publish_cursor WHERE name = 'publisher'",
    )
    .fetch_one(db.pool())
    .await?;
    Ok(behind + i64::from(rebuilding.is_some()))
}

/// Publishes one channel's pending products (manual mode), a round at a time.
pub async fn publish_pending(
    db: &Db,
    schema: &Schema,
    public_url: &str,
    channel: &str,
    now: Timestamp,
) -> Result<Round, PublishError> {
    if schema.channel(channel).is_none() {
        return Err(PublishError::UnknownChannel(channel.to_owned()));
    }
    let mut total = Round::default();
    loop {
        let mut tx = begin(db).await?;
        let ids = pending_ids(&mut tx, channel).await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(total);
        }
        let round = publish_products(
            &mut tx,
            schema,
            public_url,
            &ids,
            Scope::Channel(channel),
            now,
        )
        .await?;
        let mut head = SqlBuilder::new(
            Backend::of(&tx),
            "DELETE FROM publish_pending WHERE channel = ",
        );
        head.push_bind(Param::Text(channel.to_owned()))
            .push(" AND product_id IN");
        bulk::in_list_after(
            &mut tx,
            &head,
            "",
            ids.iter().map(|id| Param::Int(*id)).collect(),
        )
        .await?;
        tx.commit().await?;
        total.products += round.products;
        total.events += round.events;
    }
}

/// Rebuilds every product's payload for one channel (after a mapping
/// change): identical payloads publish nothing, changed ones an event.
pub async fn republish_all(
    db: &Db,
    schema: &Schema,
    public_url: &str,
    channel: &str,
    now: Timestamp,
) -> Result<Round, PublishError> {
    let mut total = Round::default();
    let mut after = 0_i64;
    while let Some((last, round)) =
        republish_round(db, schema, public_url, channel, after, ROUND, now).await?
    {
        total.products += round.products;
        total.events += round.events;
        after = last;
    }
    Ok(total)
}

/// One step of a republish, in one transaction: the next `limit` products
/// by id after `after`, judged and published on `channel`. Answers the last
/// id judged (where the next step starts) and what the step did, or `None`
/// when no product is left. Redoing a step publishes nothing new, so a
/// republish interrupted between steps can resume from any earlier point.
pub async fn republish_round(
    db: &Db,
    schema: &Schema,
    public_url: &str,
    channel: &str,
    after: i64,
    limit: usize,
    now: Timestamp,
) -> Result<Option<(i64, Round)>, PublishError> {
    if schema.channel(channel).is_none() {
        return Err(PublishError::UnknownChannel(channel.to_owned()));
    }
    let mut tx = begin(db).await?;
    let ids = store::ids_after(&mut tx, after, i64::try_from(limit.max(1)).unwrap_or(1000)).await?;
    let Some(last) = ids.last().copied() else {
        tx.commit().await?;
        return Ok(None);
    };
    let round = publish_products(
        &mut tx,
        schema,
        public_url,
        &ids,
        Scope::Channel(channel),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some((last, round)))
}

/// How many products a republish walks (for its progress).
pub async fn republish_total(db: &Db) -> Result<i64, sqlx::Error> {
    store::product_count(db.pool()).await
}

/// What a person can ask of a channel's publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    PublishPending,
    RepublishAll,
}

impl Action {
    pub fn audit_name(self) -> &'static str {
        match self {
            Action::PublishPending => "channel.publish",
            Action::RepublishAll => "channel.republish",
        }
    }
}

/// Runs a person's publish action and records it in the audit log (the
/// page and the API both come through here).
pub async fn run_action(
    db: &Db,
    schema: &Schema,
    public_url: &str,
    channel: &str,
    action: Action,
    actor: &Actor,
    now: Timestamp,
) -> Result<Round, PublishError> {
    let round = match action {
        Action::PublishPending => publish_pending(db, schema, public_url, channel, now).await?,
        Action::RepublishAll => republish_all(db, schema, public_url, channel, now).await?,
    };
    audit::record(
        db.pool(),
        actor,
        AuditEvent::new(action.audit_name(), format!("channel:{channel}"))
            .detail("products", round.products)
            .detail("events", round.events),
        now,
    )
    .await?;
    Ok(round)
}

/// A write transaction holding the publish lock: publishers take turns.
async fn begin(db: &Db) -> Result<crate::db::WriteTx, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    db.lock_key(&mut tx, "publish").await?;
    Ok(tx)
}

fn round_size() -> i64 {
    i64::try_from(ROUND).unwrap_or(500)
}

/// The next round of products waiting to be published on `channel`.
async fn pending_ids(conn: &mut AnyConnection, channel: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT product_id AS id FROM publish_pending WHERE channel = $1 ORDER BY product_id LIMIT $2",
    )
    .bind(channel)
    .bind(round_size())
    .fetch_all(&mut *conn)
    .await
}

/// Judges and publishes `ids` on the channels of `scope`, inside the
/// caller's transaction (which holds the publish lock).
pub async fn publish_products(
    conn: &mut AnyConnection,
    schema: &Schema,
    public_url: &str,
    ids: &[i64],
    scope: Scope<'_>,
    now: Timestamp,
) -> Result<Round, PublishError> {
    if ids.is_empty() {
        return Ok(Round::default());
    }
    let products = load_products(conn, ids).await?;
    let model_ids: Vec<i64> = products
        .values()
        .filter_map(|p| p.parent_id)
        .filter(|id| !products.contains_key(id))
        .collect();
    let models = load_products(conn, &model_ids).await?;
    let existing = load_publications(conn, ids).await?;
    // The facts of every asset the round's products link, and of those a
    // published snapshot names (a held product keeps only approved ones):
    // one query for the round.
    let mut asset_ids = std::collections::BTreeSet::new();
    for stored in products.values().chain(models.values()) {
        images::asset_ids(schema, &stored.product.values, &mut asset_ids);
    }
    for found in existing.values() {
        if let Some(bytes) = &found.payload {
            payload::asset_ids_in(bytes, schema, &mut asset_ids);
        }
    }
    let asset_ids: Vec<String> = asset_ids.into_iter().collect();
    let linked = LinkedAssets {
        facts: crate::media::assets::facts(conn, &asset_ids).await?,
        public_url: public_url.to_owned(),
    };

    let channels: Vec<&Channel> = match scope {
        Scope::Follow => schema.channels.iter().collect(),
        Scope::Channel(code) => schema.channels.iter().filter(|c| c.code == code).collect(),
    };
    let mut readiness_rows: Vec<Vec<Param>> = Vec::new();
    let mut pending: Vec<Vec<Param>> = Vec::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    for id in ids {
        let Some(stored) = products.get(id) else {
            // Gone from the master (never happens today: products are not
            // hard-deleted), so every channel that had it gets a delete.
            for channel in &channels {
                if let Some(found) = existing.get(&(channel.code.clone(), *id))
                    && found.state != State::Deleted
                {
                    outcomes.push(deleted(&channel.code, *id, &found.sku));
                }
            }
            continue;
        };
        let product = &stored.product;
        let model = stored
            .parent_id
            .and_then(|pid| products.get(&pid).or_else(|| models.get(&pid)))
            .map(|m| &m.product);
        let values = resolved_values(product, model);
        for channel in &channels {
            let verdict = readiness::assess(schema, channel, product, model, &values, &linked);
            for locale in &verdict.locales {
                readiness_rows.push(vec![
                    Param::Text(channel.code.clone()),
                    Param::Text(locale.locale.clone()),
                    Param::Int(*id),
                    Param::Int(i64::from(locale.ready())),
                    Param::Int(i64::try_from(locale.missing_count()).unwrap_or(i64::MAX)),
                    Param::Text(
                        serde_json::to_string(&locale.reasons).unwrap_or_else(|_| "[]".into()),
                    ),
                ]);
            }
            if product.kind == ProductKind::Model {
                continue;
            }
            if matches!(scope, Scope::Follow) && channel.publish_mode == PublishMode::Manual {
                pending.push(vec![Param::Text(channel.code.clone()), Param::Int(*id)]);
                continue;
            }
            let found = existing.get(&(channel.code.clone(), *id));
            let judged = Judged {
                product,
                model,
                values: &values,
                linked: &linked,
                verdict: &verdict,
            };
            if let Some(outcome) = decide(schema, channel, &judged, found) {
                outcomes.push(outcome);
            }
        }
    }

    // Readiness rows of the channels judged are replaced whole; following
    // the log judges every channel, so rows of removed channels go too.
    let mut head = SqlBuilder::new(Backend::of(conn), "DELETE FROM product_readiness WHERE ");
    if let Scope::Channel(code) = scope {
        head.push("channel = ")
            .push_bind(Param::Text(code.to_owned()))
            .push(" AND ");
    }
    head.push("product_id IN");
    bulk::in_list_after(
        conn,
        &head,
        "",
        ids.iter().map(|id| Param::Int(*id)).collect(),
    )
    .await?;
    bulk::values(
        conn,
        "INSERT INTO product_readiness (channel, locale, product_id, ready, missing_count, reasons)",
        "",
        readiness_rows,
    )
    .await?;
    bulk::values(
        conn,
        "INSERT INTO publish_pending (channel, product_id)",
        "ON CONFLICT (channel, product_id) DO NOTHING",
        pending,
    )
    .await?;
    let events = write_outcomes(conn, outcomes, now).await?;
    Ok(Round {
        products: ids.len(),
        events,
    })
}

/// A product as judged for one channel: what [`decide`] acts on.
struct Judged<'a> {
    product: &'a Product,
    model: Option<&'a Product>,
    values: &'a Values,
    linked: &'a LinkedAssets,
    verdict: &'a ChannelReadiness,
}

/// The publication rules (DESIGN rules 4 and 5) for one product on one channel.
fn decide(
    schema: &Schema,
    channel: &Channel,
    judged: &Judged<'_>,
    found: Option<&Existing>,
) -> Option<Outcome> {
    let Judged {
        product,
        model,
        values,
        linked,
        verdict,
    } = *judged;
    let live = found.filter(|f| f.state != State::Deleted);
    let group_key = model.map_or_else(|| product.sku.clone(), |m| m.sku.clone());
    if !verdict.assigned() {
        return live.map(|_| deleted(&channel.code, product.id, &product.sku));
    }
    if verdict.ready() {
        let built = payload::build(schema, channel, product, model, values, linked);
        let bytes = built.to_bytes();
        let hash = payload::hash(&bytes);
        let same = live.is_some_and(|f| f.hash.as_deref() == Some(hash.as_str()));
        if same && live.is_some_and(|f| f.state == State::Published) {
            return None;
        }
        return Some(Outcome {
            channel: channel.code.clone(),
            product_id: product.id,
            sku: product.sku.clone(),
            group_key,
            state: State::Published,
            payload: Some(bytes),
            hash: Some(hash),
            reasons: None,
            event: (!same).then_some("upsert"),
        });
    }
    // Belongs to the channel but is not ready: held at the last good
    // snapshot if it was ever published, with fast-lane values laid over it.
    let live = live?;
    let good: Payload = live
        .payload
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())?;
    let bytes = payload::overlay_fast_lane(schema, channel, &good, values, linked).to_bytes();
    let hash = payload::hash(&bytes);
    let reasons: Vec<_> = verdict.reasons().into_iter().cloned().collect();
    let reasons = serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into());
    let same = live.hash.as_deref() == Some(hash.as_str());
    if same && live.state == State::Held && live.reasons.as_deref() == Some(reasons.as_str()) {
        return None;
    }
    Some(Outcome {
        channel: channel.code.clone(),
        product_id: product.id,
        sku: product.sku.clone(),
        group_key,
        state: State::Held,
        payload: Some(bytes),
        hash: Some(hash),
        reasons: Some(reasons),
        event: (!same).then_some("upsert"),
    })
}

fn deleted(channel: &str, product_id: i64, sku: &str) -> Outcome {
    Outcome {
        channel: channel.to_owned(),
        product_id,
        sku: sku.to_owned(),
        group_key: sku.to_owned(),
        state: State::Deleted,
        payload: None,
        hash: None,
        reasons: None,
        event: Some("delete"),
    }
}

/// Numbers the events per channel from its counter row (locked by the
/// UPDATE until commit) and writes events and publications.
async fn write_outcomes(
    conn: &mut AnyConnection,
    outcomes: Vec<Outcome>,
    now: Timestamp,
) -> Result<usize, PublishError> {
    let mut per_channel: BTreeMap<String, i64> = BTreeMap::new();
    for outcome in outcomes.iter().filter(|o| o.event.is_some()) {
        *per_channel.entry(outcome.channel.clone()).or_default() += 1;
    }
    let mut next: HashMap<String, i64> = HashMap::new();
    for (channel, count) in &per_channel {
        let last =
            crate::db::counters::bump_or_start(conn, &format!("feed:{channel}"), *count).await?;
        next.insert(channel.clone(), last - count + 1);
    }
    let mut events = Vec::new();
    let mut publications = Vec::new();
    for outcome in outcomes {
        let Some(op) = outcome.event else {
            // No new event (held reasons changed, a held product ready again
            // with the same payload): the row exists, and keeps its number.
            sqlx::query(
                "UPDATE publications SET state = $1, hash = $2, reasons = $3 \
                 WHERE channel = $4 AND product_id = $5",
            )
            .bind(outcome.state.as_str())
            .bind(outcome.hash)
            .bind(outcome.reasons)
            .bind(outcome.channel)
            .bind(outcome.product_id)
            .execute(&mut *conn)
            .await?;
            continue;
        };
        let slot = next.entry(outcome.channel.clone()).or_default();
        let seq = *slot;
        *slot += 1;
        events.push(vec![
            Param::Text(outcome.channel.clone()),
            Param::Int(seq),
            Param::Text(op.to_owned()),
            Param::Int(outcome.product_id),
            Param::Text(outcome.sku.clone()),
            Param::OptText(outcome.payload),
            Param::At(now),
        ]);
        publications.push(vec![
            Param::Text(outcome.channel),
            Param::Int(outcome.product_id),
            Param::Text(outcome.sku),
            Param::Text(outcome.group_key),
            Param::Text(outcome.state.as_str().to_owned()),
            Param::OptText(outcome.hash),
            Param::OptText(outcome.reasons),
            Param::Int(seq),
            Param::At(now),
        ]);
    }
    let written = events.len();
    bulk::values(
        conn,
        "INSERT INTO feed_events (channel, seq, op, product_id, sku, payload, at)",
        "",
        events,
    )
    .await?;
    super::overview::count_feed_events(conn, now, written).await?;
    bulk::values(
        conn,
        "INSERT INTO publications (channel, product_id, sku, group_key, state, hash, \
         reasons, seq, published_at)",
        "ON CONFLICT (channel, product_id) DO UPDATE SET sku = excluded.sku, \
         group_key = CASE WHEN excluded.state = 'deleted' THEN publications.group_key ELSE excluded.group_key END, \
         state = excluded.state, hash = excluded.hash, \
         reasons = excluded.reasons, seq = excluded.seq, published_at = excluded.published_at",
        publications,
    )
    .await?;
    Ok(written)
}

async fn load_products(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<i64, StoredProduct>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = bulk::in_list(
        conn,
        &format!("SELECT {PRODUCT_COLUMNS} FROM {PRODUCT_FROM} WHERE p.id IN"),
        "",
        ids.iter().map(|id| Param::Int(*id)).collect(),
    )
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in &rows {
        let stored = store::product_from_row(row)?;
        out.insert(stored.product.id, stored);
    }
    Ok(out)
}

async fn load_publications(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<(String, i64), Existing>, sqlx::Error> {
    let rows = bulk::in_list(
        conn,
        "SELECT pb.channel, pb.product_id, pb.sku, pb.state, pb.hash, fe.payload, pb.reasons \
         FROM publications pb LEFT JOIN feed_events fe ON fe.channel = pb.channel AND fe.seq = pb.seq \
         WHERE pb.product_id IN",
        "",
        ids.iter().map(|id| Param::Int(*id)).collect(),
    )
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in &rows {
        let row = PublicationRow::from_row(row)?;
        out.insert(
            (row.channel, row.product_id),
            Existing {
                sku: row.sku,
                state: State::parse(&row.state).unwrap_or(State::Deleted),
                hash: row.hash,
                payload: row.payload,
                reasons: row.reasons,
            },
        );
    }
    Ok(out)
}

/// A publication with its event's payload, as stored.
#[derive(sqlx::FromRow)]
struct PublicationRow {
    channel: String,
    product_id: i64,
    sku: String,
    state: String,
    hash: Option<String>,
    payload: Option<String>,
    reasons: Option<String>,
}
