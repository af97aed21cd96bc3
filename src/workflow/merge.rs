//! Field-level merge of a person's stale edit. A form carries every field
//! it shows, so re-saving it over a product that moved on would also
//! write back the old values of fields a colleague changed meanwhile. Here
//! the edit is compared with what the person saw (master at the form's
//! version, as history rebuilds it, with their own draft on top): only the
//! fields they changed count as theirs to apply. A field a colleague changed
//! too, to something else, is a clash for the person to settle.

use serde_json::Value as Json;

use super::change::ChangeTarget;
use super::history;
use super::proposals::{self, WorkflowError};
use super::write::{ChangeSet, WriteError};
use crate::catalog::product::{Product, ValueKey};
use crate::catalog::schema::Schema;
use crate::catalog::{store, values};
use crate::db::Db;

/// A field both people changed, to different values.
#[derive(Debug, Clone, PartialEq)]
pub struct Clash {
    /// The attribute code, or `enabled` / `categories`.
    pub field: String,
    pub key: ValueKey,
    /// Master's value now.
    pub theirs: Option<Json>,
    /// The person's value.
    pub yours: Option<Json>,
}

/// An edit made against an older version, merged onto master as it is now.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The version the edit now applies to (master's current version).
    pub version: i64,
    /// The fields the person changed, and only those.
    pub changes: ChangeSet,
    /// Fields a colleague changed too; nothing may be applied while any remain.
    pub clashes: Vec<Clash>,
}

/// The value of a field of `product`, structure fields included
/// (categories in order, as forms send them in any).
fn field_value(product: &Product, key: &ValueKey) -> Option<Json> {
    match ChangeTarget::of_key(key) {
        ChangeTarget::Categories => {
            let mut sorted = product.categories.clone();
            sorted.sort();
            Some(Json::from(sorted))
        }
        other => other.value_of(product),
    }
}

/// The value as it would be stored, so that "2" and "2.0", or a
/// multiselect in another order, compare as what they are. Input that does
/// not validate is compared as given (the write path will refuse it).
fn as_stored(schema: &Schema, key: &ValueKey, data: Option<&Json>) -> Option<Json> {
    match (schema.attribute(&key.attribute), data) {
        (_, None | Some(Json::Null)) => None,
        (Some(attribute), Some(data)) => {
            Some(values::normalize(attribute, schema, data).unwrap_or_else(|_| data.clone()))
        }
        (None, Some(data)) => Some(data.clone()),
    }
}

/// What `seen` (the form's record of what it showed) says `key` was, if it
/// says anything about it.
fn seen_value(schema: &Schema, seen: Option<&ChangeSet>, key: &ValueKey) -> Option<Option<Json>> {
    let seen = seen?;
    match ChangeTarget::of_key(key) {
        ChangeTarget::Enabled => seen.enabled.map(|e| Some(Json::from(e))),
        ChangeTarget::Categories => seen
            .categories
            .as_ref()
            .map(|list| Some(Json::from(sorted(list)))),
        ChangeTarget::Value(_) | ChangeTarget::Structure(_) => seen
            .values
            .iter()
            .find(|c| &c.key == key)
            .map(|c| as_stored(schema, key, c.data.as_ref())),
    }
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut list = list.to_vec();
    list.sort();
    list.dedup();
    list
}

/// Merges `changes`, made by `user_id` in a form opened at `base_version`,
/// onto master as it is now. `seen` is what the form showed (its hidden
/// `seen.` fields); where it is silent, what the person saw is rebuilt from
/// history (master at `base_version` with their draft on top). Fields whose
/// input equals what was seen are no change of theirs and are left out.
/// Without `seen`, a form on the current version is taken as it is.
pub async fn onto_current(
    db: &Db,
    schema: &Schema,
    user_id: i64,
    sku: &str,
    base_version: i64,
    changes: &ChangeSet,
    seen: Option<&ChangeSet>,
) -> Result<Merged, WorkflowError> {
    let current = store::find(db.pool(), sku)
        .await?
        .ok_or_else(|| WriteError::NotFound(sku.to_owned()))?
        .product;
    if base_version < 1 || base_version > current.version {
        return Err(WorkflowError::Invalid(format!(
            "the form names version {base_version}, which this product never had; reload the page"
        )));
    }
    let stale = current.version != base_version;
    if !stale && seen.is_none() {
        return Ok(Merged {
            version: current.version,
            changes: changes.clone(),
            clashes: Vec::new(),
        });
    }
    let base = if stale {
        history::master_at(db, &current, base_version).await?
    } else {
        current.clone()
    };
    // Where the form does not say what it showed: master at its version,
    // with the person's own draft on top (the form shows their draft).
    let rebuilt = if stale {
        let draft = proposals::draft_of(db, current.id, user_id).await?;
        Some(proposals::with_draft(&base, draft.as_ref()).0)
    } else {
        None
    };
    let mut merged = Merged {
        version: current.version,
        changes: ChangeSet::default(),
        clashes: Vec::new(),
    };
    // Whether the person changed a field, whether a colleague did meanwhile,
    // and whether they ended up apart: apply yours, leave it, or a clash.
    let mut decide = |key: ValueKey, yours: Option<Json>| -> bool {
        let same = |a: &Option<Json>, b: &Option<Json>| {
            values::same_field(schema, &key.attribute, a.as_ref(), b.as_ref())
        };
        let was = seen_value(schema, seen, &key)
            .or_else(|| rebuilt.as_ref().map(|shown| field_value(shown, &key)));
        if was.is_some_and(|was| same(&was, &yours)) {
            return false;
        }
        let theirs = field_value(&current, &key);
        if same(&field_value(&base, &key), &theirs) {
            return true;
        }
        if !same(&theirs, &yours) {
            merged.clashes.push(Clash {
                field: key.attribute.clone(),
                key,
                theirs,
                yours,
            });
        }
        false
    };
    let mut kept = Vec::new();
    for change in &changes.values {
        let yours = as_stored(schema, &change.key, change.data.as_ref());
        if decide(change.key.clone(), yours) {
            kept.push(change.clone());
        }
    }
    let enabled = changes
        .enabled
        .filter(|e| decide(ChangeTarget::Enabled.key(), Some(Json::from(*e))));
    let categories = changes.categories.clone().filter(|list| {
        decide(
            ChangeTarget::Categories.key(),
            Some(Json::from(sorted(list))),
        )
    });
    merged.changes = ChangeSet {
        values: kept,
        enabled,
        categories,
    };
    Ok(merged)
}

/// `changes` without the given fields (attribute codes, `enabled`,
/// `categories`): the person kept a colleague's value for them.
pub fn without_fields(changes: &ChangeSet, fields: &[String]) -> ChangeSet {
    changes.without_fields(fields)
}
