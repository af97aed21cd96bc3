//! Media-link proposals: a bulk media import (`sluice media import`) links
//! assets to a product's `assets` attribute through review, like any
//! reviewed change. The proposal's source is `media`, its author a system
//! actor (no user, so any approver may decide it), and it applies as the
//! approving person would (asset links are Sluice-owned values).
//!
//! Linking appends: assets the product already has keep their place (a
//! person may have reordered them), the new ones follow in the order given.
//! Asking again for what master or a pending proposal already has, or for
//! what an approver rejected, opens nothing.

use serde_json::Value as Json;

use super::error::WorkflowError;
use super::model::{FieldState, ProposedChange, Status};
use super::storage::{COLUMNS, from_row};
use crate::audit::{self, Actor, AuditEvent};
use crate::catalog::product::ValueKey;
use crate::catalog::schema::{AttributeType, Schema};
use crate::catalog::store;
use crate::db::{Db, Timestamp};
use crate::workflow::write::{self, ChangeSet, ValueChange, WriteError, Writer};

/// The `source` of media-link proposals.
pub const MEDIA_SOURCE: &str = "media";

/// Links to propose for one product.
#[derive(Debug, Clone)]
pub struct AssetLinks<'a> {
    pub sku: &'a str,
    /// An `assets` attribute, neither localizable nor scopable.
    pub attribute: &'a str,
    /// Asset ids in the order they should follow each other.
    pub assets: &'a [String],
    /// The proposal's note (where the links come from).
    pub note: &'a str,
}

/// What became of a product's links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// A submitted proposal was opened (superseding an older media one).
    Proposed {
        proposal: i64,
        supersedes: Option<i64>,
    },
    /// Master already links every asset.
    AlreadyLinked,
    /// A pending proposal already adds every asset.
    AlreadyProposed(i64),
    /// An approver rejected exactly these links; they are not asked again.
    Rejected(i64),
}

/// Proposes appending `links.assets` to the product's attribute. A product
/// or attribute that does not fit, or a value its validation refuses (too
/// many assets), is an error naming why.
pub async fn propose_asset_links(
    db: &Db,
    schema: &Schema,
    actor: &Actor,
    links: AssetLinks<'_>,
    now: Timestamp,
) -> Result<LinkOutcome, WorkflowError> {
    let attribute = schema.attribute(links.attribute).ok_or_else(|| {
        WorkflowError::Invalid(format!("there is no attribute {}", links.attribute))
    })?;
    if attribute.kind != AttributeType::Assets {
        return Err(WorkflowError::Invalid(format!(
            "{} is not an assets attribute",
            links.attribute
        )));
    }
    if attribute.localizable || attribute.scopable {
        return Err(WorkflowError::Invalid(format!(
            "{} has a value per locale or channel; media import links only to one value for all",
            links.attribute
        )));
    }
    let key = ValueKey::new(links.attribute, None, None);
    let mut tx = db.begin_write().await?;
    let product = store::find(&mut *tx, links.sku)
        .await?
        .ok_or_else(|| WriteError::NotFound(links.sku.to_owned()))?
        .product;
    let master = ids_of(product.values.get(&key));
    let Some(after) = appended(&master, links.assets) else {
        return Ok(LinkOutcome::AlreadyLinked);
    };

    let sql = format!(
        "SELECT {COLUMNS} FROM proposals WHERE product_id = $1 \
         AND status IN ('submitted', 'conflict', 'rejected') ORDER BY id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(product.id)
        .fetch_all(&mut *tx)
        .await?;
    let mut supersedes = None;
    let mut rejected_seen = false;
    for row in &rows {
        let proposal = from_row(row)?;
        let proposed = proposal
            .changes
            .iter()
            .find(|c| c.key() == key && c.state == FieldState::Open)
            .map(|c| ids_of(c.after.as_ref()));
        let Some(proposed) = proposed else { continue };
        match proposal.status {
            // Someone (this import or a person) already asks for all of them.
            Status::Submitted | Status::Conflict if appended(&proposed, links.assets).is_none() => {
                return Ok(LinkOutcome::AlreadyProposed(proposal.id));
            }
            // The latest rejected media proposal said no to exactly this.
            Status::Rejected if proposal.source == MEDIA_SOURCE && !rejected_seen => {
                rejected_seen = true;
                if proposed == after {
                    return Ok(LinkOutcome::Rejected(proposal.id));
                }
            }
            Status::Submitted if proposal.source == MEDIA_SOURCE && supersedes.is_none() => {
                supersedes = Some(proposal.id);
            }
            _ => {}
        }
    }

    // Checked as the approving person's write will check it.
    let change = ChangeSet {
        values: vec![ValueChange {
            key: key.clone(),
            data: Some(Json::from(after.clone())),
        }],
        ..ChangeSet::default()
    };
    let (_, proposed) = write::preview(schema, &Writer::Person(actor.clone()), &product, &change)?;
    let changes: Vec<ProposedChange> = proposed
        .into_iter()
        .map(|c| ProposedChange {
            attribute: c.attribute,
            locale: c.locale,
            channel: c.channel,
            before: c.before,
            after: c.after,
            state: FieldState::Open,
            theirs: None,
        })
        .collect();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO proposals (product_id, sku, family, author_user_id, author_label, source, status, \
         note, base_version, changes, created_at, updated_at, submitted_at) \
         VALUES ($1, $2, $3, NULL, $4, $5, 'submitted', $6, $7, $8, $9, $9, $9) RETURNING id",
    )
    .bind(product.id)
    .bind(&product.sku)
    .bind(&product.family)
    .bind(&actor.label)
    .bind(MEDIA_SOURCE)
    .bind(links.note.chars().take(2000).collect::<String>())
    .bind(product.version)
    .bind(serde_json::to_string(&changes).unwrap_or_else(|_| "[]".into()))
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(old) = supersedes {
        sqlx::query(
            "UPDATE proposals SET status = 'withdrawn', updated_at = $1, decided_by_label = $2, decided_at = $1 \
             WHERE id = $3 AND status = 'submitted'",
        )
        .bind(now)
        .bind(&actor.label)
        .bind(old)
        .execute(&mut *tx)
        .await?;
        super::storage::add_comment(
            &mut tx,
            old,
            actor,
            "withdraw",
            &format!("Superseded by proposal #{id} from {}.", actor.label),
            now,
        )
        .await?;
    }
    audit::record(
        &mut *tx,
        actor,
        AuditEvent::new("proposal.submit", format!("proposal #{id} {}", product.sku))
            .detail("source", MEDIA_SOURCE)
            .detail("assets", after.len()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(LinkOutcome::Proposed {
        proposal: id,
        supersedes,
    })
}

/// The asset ids of an `assets` value (anything else reads as none).
fn ids_of(value: Option<&Json>) -> Vec<String> {
    value
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `current` with the assets it lacks appended in order, or `None` when it
/// has them all.
fn appended(current: &[String], assets: &[String]) -> Option<Vec<String>> {
    let mut after = current.to_vec();
    for asset in assets {
        if !after.contains(asset) {
            after.push(asset.clone());
        }
    }
    (after.len() != current.len()).then_some(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn links_append_and_keep_what_is_there() {
        assert_eq!(
            appended(&ids(&["a"]), &ids(&["b", "c"])),
            Some(ids(&["a", "b", "c"]))
        );
        // Already there, even in another order (a person reordered them).
        assert_eq!(appended(&ids(&["b", "a"]), &ids(&["a", "b"])), None);
        assert_eq!(
            appended(&ids(&["b"]), &ids(&["a", "b", "c"])),
            Some(ids(&["b", "a", "c"]))
        );
        assert_eq!(appended(&[], &ids(&["a", "a"])), Some(ids(&["a"])));
        assert_eq!(appended(&ids(&["a"]), &[]), None);
    }
}
