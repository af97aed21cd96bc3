//! Restoring an earlier version through a proposal.

use super::error::WorkflowError;
use super::model::{FieldState, Proposal, ProposedChange};
use super::storage::get;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Permission};
use crate::catalog::schema::Schema;
use crate::catalog::store;
use crate::db::{Db, Timestamp};
use crate::workflow::write::{self, ChangeSet, ValueChange, WriteError, Writer};

/// Whether `caller` may propose to restore a version of `sku`: rights
/// (403), then existence (404), judged before any input is read.
pub async fn check_restore(db: &Db, caller: &Caller, sku: &str) -> Result<(), WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    store::find(db.pool(), sku)
        .await?
        .ok_or_else(|| WriteError::NotFound(sku.to_owned()))?;
    Ok(())
}

/// Restores a past version as a new submitted proposal: the changes that
/// take the product from now back to that version (values people may write,
/// enabled and categories). ERP-owned values are left to the ERP.
pub async fn restore(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    sku: &str,
    version: i64,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let stored = store::find(db.pool(), sku)
        .await?
        .ok_or_else(|| WriteError::NotFound(sku.to_owned()))?;
    let current = stored.product;
    if version < 1 || version >= current.version {
        return Err(WorkflowError::Invalid(format!(
            "choose a version from 1 to {} to restore",
            current.version - 1
        )));
    }
    // Walk back from now: undo each later version's changes.
    let target = crate::workflow::history::master_at(db, &current, version).await?;
    let mut changes = ChangeSet::default();
    for (key, data) in target.values.iter() {
        if current.values.get(&key) != Some(data) {
            changes.values.push(ValueChange {
                key,
                data: Some(data.clone()),
            });
        }
    }
    for (key, _) in current.values.iter() {
        if target.values.get(&key).is_none() {
            changes.values.push(ValueChange { key, data: None });
        }
    }
    changes.values.retain(|c| {
        schema
            .attribute(&c.key.attribute)
            .is_some_and(|a| a.owner == crate::catalog::schema::Owner::Pim)
    });
    if target.enabled != current.enabled {
        changes.enabled = Some(target.enabled);
    }
    if target.categories != current.categories {
        changes.categories = Some(target.categories.clone());
    }
    let writer = Writer::Person(caller.actor());
    let (_, proposed) = write::preview(schema, &writer, &current, &changes)?;
    if proposed.is_empty() {
        return Err(WorkflowError::Invalid(format!(
            "version {version} holds the same values people edit as now"
        )));
    }
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO proposals (product_id, sku, family, author_user_id, author_label, source, status, \
         note, base_version, changes, created_at, updated_at, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, 'restore', 'submitted', $6, $7, $8, $9, $9, $9) RETURNING id",
    )
    .bind(current.id)
    .bind(&current.sku)
    .bind(&current.family)
    .bind(caller.user.id)
    .bind(&caller.user.email)
    .bind(format!("Restore version {version}"))
    .bind(current.version)
    .bind(
        serde_json::to_string(
            &proposed
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
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into()),
    )
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &caller.actor(),
        AuditEvent::new(
            "proposal.restore",
            format!("proposal #{id} {}", current.sku),
        )
        .detail("version", version),
        now,
    )
    .await?;
    let proposal = get(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(proposal)
}
