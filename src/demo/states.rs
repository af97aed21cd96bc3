//! The demo's publishing states: after the demo catalog and the demo ERP
//! import, every channel shows what a new user should see there — products
//! published, a few held at their last good snapshot with the reason, some
//! not ready, and proposals waiting for an approver. Runs once per data
//! folder.
//!
//! Everything goes through the normal paths: the publisher catches up, a
//! few published products lose a value through the single write path (so
//! they are held, not removed), and the demo editor makes proposals as a
//! person would, one of which gives a held product back its German copy.
//! Products are picked by what they are (ready and published everywhere,
//! and the change holds them on exactly the intended channels), in SKU
//! order, so every demo folder tells the same story.

use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::audit::{self, Actor, AuditEvent};
use crate::auth::users;
use crate::auth::{AuthError, Caller, Credential};
use crate::catalog::product::{Product, ProductKind, ValueKey};
use crate::catalog::schema::Schema;
use crate::catalog::store::{self, ProductFilter, ProductSort, SchemaCache, StoredProduct};
use crate::db::{Clock, Db, Timestamp};
use crate::publish::images::{self, LinkedAssets};
use crate::publish::publisher::{PublishError, State};
use crate::publish::readiness::{self, ChannelReadiness};
use crate::publish::{feed, worker};
use crate::workflow::proposals::{self, Edit, WorkflowError};
use crate::workflow::write::{self, ChangeSet, ValueChange, WriteError, Writer};

/// The audit action that marks a data folder as staged.
const MARKER_ACTION: &str = "demo.stage";
const MARKER_TARGET: &str = "publishing states";

/// The demo user who authors the waiting proposals (see `DEMO_USERS`).
const EDITOR_EMAIL: &str = "editor@sluice.local";

/// A value some published products lose, and the channels that must then
/// hold them (and no others).
struct Hold {
    attribute: &'static str,
    locale: Option<&'static str>,
    products: usize,
    channels: &'static [&'static str],
}

/// German copy withdrawn (web only: the other channels sell in English), a
/// GTIN the ERP has not sent yet (Google only) and a weight Shopify needs
/// for shipping rates (the web shop requires it for electronics too).
const HOLDS: [Hold; 3] = [
    Hold {
        attribute: "description",
        locale: Some("de_DE"),
        products: 2,
        channels: &["web"],
    },
    Hold {
        attribute: "gtin",
        locale: None,
        products: 2,
        channels: &["google"],
    },
    Hold {
        attribute: "weight",
        locale: None,
        products: 1,
        channels: &["shopify", "web"],
    },
];

/// A value the demo removed, as it was.
struct Removed {
    sku: String,
    key: ValueKey,
    before: Json,
}

/// Proposals to leave waiting: at least this many.
const MIN_PROPOSALS: usize = 3;

/// One channel's figures, as its channel page counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFigures {
    pub channel: String,
    pub published: i64,
    pub held: i64,
    /// Sellable products not ready in some locale of the channel (held ones included).
    pub not_ready: i64,
}

/// A product the demo held on purpose, and the value it lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedHold {
    pub sku: String,
    pub value: ValueKey,
    pub channels: Vec<String>,
}

/// What [`stage_once`] staged.
#[derive(Debug, Clone)]
pub struct Staged {
    pub holds: Vec<StagedHold>,
    /// Ids of the submitted proposals waiting for review.
    pub proposals: Vec<i64>,
    pub channels: Vec<ChannelFigures>,
}

impl Staged {
    /// One line: `web 180 published, 3 held, 40 not ready; …; 4 proposals waiting`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .channels
            .iter()
            .map(|c| {
                format!(
                    "{} {} published, {} held, {} not ready",
                    c.channel, c.published, c.held, c.not_ready
                )
            })
            .collect();
        parts.push(format!("{} proposals waiting", self.proposals.len()));
        parts.join("; ")
    }
}

/// Why the demo states could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("there is no demo editor {EDITOR_EMAIL} to author the proposals")]
    NoEditor,
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stages the publishing states unless this data folder was staged before
/// (or its demo editor has proposals already: then it is someone's demo in
/// progress). Answers what it staged, or `None`.
///
/// The marker is written first, in its own transaction: two demo starts
/// never both stage, and a run that fails half-way is not repeated over a
/// catalog it already changed.
pub async fn stage_once(
    db: &Db,
    schema_cache: &SchemaCache,
    clock: &Clock,
    public_url: &str,
) -> Result<Option<Staged>, StageError> {
    let actor = Actor::system("sluice demo");
    let editor = users::find_by_email(db, EDITOR_EMAIL)
        .await?
        .ok_or(StageError::NoEditor)?;
    if editor_has_proposals(db).await? {
        return Ok(None);
    }
    let mut tx = db.begin_write().await?;
    db.lock_key(&mut tx, "demo.stage").await?;
    let epoch = Timestamp::from_offset(OffsetDateTime::UNIX_EPOCH);
    if audit::exists_since(&mut *tx, MARKER_ACTION, MARKER_TARGET, epoch).await? {
        return Ok(None);
    }
    audit::record(
        &mut *tx,
        &actor,
        AuditEvent::new(MARKER_ACTION, MARKER_TARGET),
        clock.now(),
    )
    .await?;
    tx.commit().await?;

    // 1. Everything ready is published.
    worker::catch_up(db, schema_cache, clock, public_url).await?;
    let schema = schema_cache.get(db).await?;
    let (candidates, linked) = published_everywhere(db, &schema).await?;

    // 2. A few published products stop being ready: held, with the reason.
    let writer = Writer::System(actor);
    let mut holds = Vec::new();
    let mut removed: Vec<Removed> = Vec::new();
    for hold in &HOLDS {
        let key = ValueKey::new(hold.attribute, hold.locale, None);
        let changes = ChangeSet {
            values: vec![ValueChange {
                key: key.clone(),
                data: None,
            }],
            ..ChangeSet::default()
        };
        let mut staged = 0;
        for product in &candidates {
            if staged == hold.products {
                break;
            }
            if removed.iter().any(|r| r.sku == product.sku) {
                continue;
            }
            let Some(before) = product.values.get(&key).cloned() else {
                continue;
            };
            let Ok((after, _)) = write::preview(&schema, &writer, product, &changes) else {
                continue;
            };
            if unready_channels(&schema, &after, &linked) != hold.channels {
                continue;
            }
            write::update(
                db,
                &schema,
                &writer,
                &product.sku,
                Some(product.version),
                &changes,
                clock.now(),
            )
            .await?;
            removed.push(Removed {
                sku: product.sku.clone(),
                key: key.clone(),
                before,
            });
            holds.push(StagedHold {
                sku: product.sku.clone(),
                value: key.clone(),
                channels: hold.channels.iter().map(|c| (*c).to_owned()).collect(),
            });
            staged += 1;
        }
        if staged < hold.products {
            tracing::warn!(
                demo.attribute = hold.attribute,
                demo.staged = staged,
                "the demo found too few published products to hold for this value"
            );
        }
    }
    worker::catch_up(db, schema_cache, clock, public_url).await?;

    // 3. Proposals waiting for an approver, made by the demo editor.
    let caller = Caller {
        user: editor,
        credential: Credential::Session,
    };
    let proposals = propose(db, &schema, &caller, &candidates, &removed, clock).await?;

    // 4. Not ready products come from the catalog itself (missing copy and
    // GTINs, disabled products, the ERP's new items): the figures show them.
    let mut channels = Vec::new();
    for channel in &schema.channels {
        let status = feed::status(db, &channel.code).await?;
        channels.push(ChannelFigures {
            channel: channel.code.clone(),
            published: status.published,
            held: status.held,
            not_ready: status.not_ready,
        });
    }
    Ok(Some(Staged {
        holds,
        proposals,
        channels,
    }))
}

async fn editor_has_proposals(db: &Db) -> Result<bool, WorkflowError> {
    let filter = proposals::ProposalFilter {
        author: Some(EDITOR_EMAIL.to_owned()),
        limit: 1,
        ..proposals::ProposalFilter::default()
    };
    Ok(!proposals::list(db, &filter).await?.is_empty())
}

/// Enabled simple products ready and published on every channel, by SKU,
/// and the facts of the assets they link.
async fn published_everywhere(
    db: &Db,
    schema: &Schema,
) -> Result<(Vec<Product>, LinkedAssets), sqlx::Error> {
    let filter = ProductFilter {
        kind: Some(ProductKind::Simple),
        enabled: Some(true),
        ..ProductFilter::default()
    };
    let mut found = Vec::new();
    let mut linked = LinkedAssets::default();
    let mut cursor: Option<store::ProductCursor> = None;
    loop {
        let page = store::list(db, &filter, ProductSort::SkuAsc, cursor.as_ref(), 200).await?;
        let page_assets = {
            let mut conn = db.pool().acquire().await?;
            images::load(
                &mut conn,
                schema,
                page.products.iter().map(|stored| &stored.product.values),
                "",
            )
            .await?
        };
        linked.facts.extend(page_assets.facts);
        for StoredProduct { product, .. } in page.products {
            if !unready_channels(schema, &product, &linked).is_empty() {
                continue;
            }
            let mut everywhere = true;
            for channel in &schema.channels {
                let snapshot = feed::snapshot(db, &channel.code, &product.sku).await?;
                everywhere &=
                    snapshot.is_some_and(|s| State::parse(&s.state) == Some(State::Published));
            }
            if everywhere {
                found.push(product);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((found, linked)),
        }
    }
}

/// The channels a simple product is not ready on, by code.
fn unready_channels<'s>(
    schema: &'s Schema,
    product: &Product,
    linked: &LinkedAssets,
) -> Vec<&'s str> {
    let mut codes: Vec<&str> = schema
        .channels
        .iter()
        .filter(|channel| {
            !readiness::assess(schema, channel, product, None, &product.values, linked).ready()
        })
        .map(|channel| channel.code.as_str())
        .collect();
    codes.sort_unstable();
    codes
}

/// The demo editor's submitted proposals: the German copy of a product
/// held on web (approving it publishes the product again), the color in an
/// English name, a brand read from a product's name (it is not ready
/// without one) and a disabled product back in the range — each only where
/// the catalog has such a product — topped up with SEO titles.
async fn propose(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    candidates: &[Product],
    removed: &[Removed],
    clock: &Clock,
) -> Result<Vec<i64>, StageError> {
    let mut planned: Vec<(String, ChangeSet, &str)> = Vec::new();
    let description = ValueKey::new("description", Some("de_DE"), None);
    if let Some(gone) = removed.iter().find(|r| r.key == description) {
        planned.push((
            gone.sku.clone(),
            set(&description, gone.before.clone()),
            "German description, checked by the Berlin team. The product is held on the web \
             shop until it has one: approving this publishes it again.",
        ));
    }
    let free = |sku: &str, planned: &[(String, ChangeSet, &str)]| {
        !removed.iter().any(|r| r.sku == sku) && !planned.iter().any(|(s, _, _)| s == sku)
    };
    let name = ValueKey::new("name", Some("en_US"), None);
    let color = ValueKey::new("color", None, None);
    if let Some((sku, better)) = candidates
        .iter()
        .filter(|p| free(&p.sku, &planned))
        .find_map(|p| {
            let current = p.values.get(&name)?.as_str()?;
            let label = option_label(schema, "color", p.values.get(&color)?)?;
            let better = format!("{current}, {label}");
            (better.chars().count() <= 120).then(|| (p.sku.clone(), better))
        })
    {
        planned.push((
            sku,
            set(&name, Json::from(better)),
            "Color in the English name: shoppers compare colors in Google Shopping titles.",
        ));
    }
    let almost = almost_ready(db, schema).await?;
    if let Some((product, brand)) = brandless(schema, &almost.ready_but_brand) {
        planned.push((
            product.sku.clone(),
            set(&ValueKey::new("brand", None, None), Json::from(brand)),
            "Brand taken from the product name: it is not ready for web and Google without one.",
        ));
    }
    if let Some(product) = almost.ready_but_disabled.first() {
        planned.push((
            product.sku.clone(),
            ChangeSet {
                enabled: Some(true),
                ..ChangeSet::default()
            },
            "Back in the range: the supplier delivers again. Everything else is complete, so \
             approving this publishes it on every channel.",
        ));
    }
    let seo = ValueKey::new("seo_title", Some("en_US"), Some("web"));
    for product in candidates {
        if planned.len() >= MIN_PROPOSALS {
            break;
        }
        let Some(current) = product.values.get(&name).and_then(Json::as_str) else {
            continue;
        };
        let title = format!("{current} | Free shipping");
        if free(&product.sku, &planned)
            && title.chars().count() <= 70
            && product.values.get(&seo).is_none()
        {
            planned.push((
                product.sku.clone(),
                set(&seo, Json::from(title)),
                "An SEO title for the web shop.",
            ));
        }
    }

    let mut ids = Vec::new();
    for (sku, changes, note) in planned {
        // The version an editor would have opened: the holds moved some products on.
        let Some(current) = store::find(db.pool(), &sku).await? else {
            continue;
        };
        let edited = proposals::edit(
            db,
            schema,
            caller,
            Edit {
                sku: &sku,
                base_version: current.product.version,
                changes: &changes,
                submit_note: Some(note),
            },
            clock.now(),
        )
        .await?;
        if let Some(proposal) = edited.proposal
            && proposal.status == proposals::Status::Submitted
        {
            ids.push(proposal.id);
        }
    }
    Ok(ids)
}

fn set(key: &ValueKey, data: Json) -> ChangeSet {
    ChangeSet {
        values: vec![ValueChange {
            key: key.clone(),
            data: Some(data),
        }],
        ..ChangeSet::default()
    }
}

/// The English label of a select option.
fn option_label(schema: &Schema, attribute: &str, code: &Json) -> Option<String> {
    let code = code.as_str()?;
    schema
        .attribute(attribute)?
        .options
        .iter()
        .find(|o| o.code == code)
        .and_then(|o| o.labels.get("en_US").cloned())
}

/// Simple products one reviewed change away from being ready everywhere.
struct AlmostReady {
    /// Disabled, and ready on every channel once enabled.
    ready_but_disabled: Vec<Product>,
    /// Enabled, and missing nothing but a brand.
    ready_but_brand: Vec<Product>,
}

async fn almost_ready(db: &Db, schema: &Schema) -> Result<AlmostReady, sqlx::Error> {
    let filter = ProductFilter {
        kind: Some(ProductKind::Simple),
        ..ProductFilter::default()
    };
    let mut almost = AlmostReady {
        ready_but_disabled: Vec::new(),
        ready_but_brand: Vec::new(),
    };
    let mut cursor: Option<store::ProductCursor> = None;
    loop {
        let page = store::list(db, &filter, ProductSort::SkuAsc, cursor.as_ref(), 200).await?;
        for StoredProduct { product, .. } in page.products {
            let linked = readiness::linked_assets(db, schema, [&product.values]).await?;
            let verdicts: Vec<ChannelReadiness> = schema
                .channels
                .iter()
                .map(|c| readiness::assess(schema, c, &product, None, &product.values, &linked))
                .collect();
            let reasons: Vec<&readiness::Reason> = verdicts
                .iter()
                .flat_map(ChannelReadiness::reasons)
                .collect();
            if reasons.is_empty() {
                continue;
            }
            if !product.enabled
                && reasons
                    .iter()
                    .all(|r| r.kind == readiness::ReasonKind::Disabled)
            {
                almost.ready_but_disabled.push(product);
            } else if product.enabled
                && reasons
                    .iter()
                    .all(|r| r.attribute.as_deref() == Some("brand"))
            {
                almost.ready_but_brand.push(product);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(almost),
        }
    }
}

/// A product without a brand whose English name starts with a brand's
/// label, and that brand's code.
fn brandless<'p>(schema: &Schema, products: &'p [Product]) -> Option<(&'p Product, String)> {
    let brand = schema.attribute("brand")?;
    let name = ValueKey::new("name", Some("en_US"), None);
    products.iter().find_map(|product| {
        let text = product.values.get(&name)?.as_str()?;
        brand.options.iter().find_map(|option| {
            let label = option.labels.get("en_US")?;
            text.starts_with(&format!("{label} "))
                .then(|| (product, option.code.clone()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_every_channel_and_the_queue() {
        let staged = Staged {
            holds: Vec::new(),
            proposals: vec![1, 2, 3, 4],
            channels: vec![
                ChannelFigures {
                    channel: "web".into(),
                    published: 180,
                    held: 3,
                    not_ready: 40,
                },
                ChannelFigures {
                    channel: "google".into(),
                    published: 150,
                    held: 2,
                    not_ready: 60,
                },
            ],
        };
        assert_eq!(
            staged.summary(),
            "web 180 published, 3 held, 40 not ready; \
             google 150 published, 2 held, 60 not ready; 4 proposals waiting"
        );
    }
}
