//! Authoring: drafts, lanes, editing, creating, submitting and withdrawing.

use sqlx::AnyConnection;

use super::error::WorkflowError;
use super::model::{FieldState, Proposal, ProposedChange, Status};
use super::storage::{COLUMNS, draft_of, from_row, get, get_locked, save, visible};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Permission};
use crate::catalog::product::{Product, ValueKey};
use crate::catalog::schema::{Lane, Schema};
use crate::catalog::store;
use crate::db::{Backend, Db, Timestamp};
use crate::workflow::change::ChangeTarget;
use crate::workflow::write::{self, ChangeSet, ValueChange, WriteError, Writer};

/// The product as its author sees it in the form: master with their own
/// draft's open changes on top, and the value keys the draft supplies.
pub fn with_draft(master: &Product, draft: Option<&Proposal>) -> (Product, Vec<ValueKey>) {
    let mut shown = master.clone();
    let mut drafted = Vec::new();
    for change in draft.into_iter().flat_map(Proposal::open_changes) {
        let target = change.target();
        target.apply(&mut shown, change.after.as_ref());
        if !matches!(target, ChangeTarget::Enabled | ChangeTarget::Categories) {
            drafted.push(target.key());
        }
    }
    (shown, drafted)
}

/// The lane a person's change of `attribute` takes. Asset links are always
/// reviewed, whatever the attribute says; unknown attributes go to review
/// (where they are refused like anywhere else).
pub fn lane_of(schema: &Schema, attribute: &str) -> Lane {
    match schema.attribute(attribute) {
        Some(found) if found.kind == crate::catalog::schema::AttributeType::Assets => {
            Lane::Reviewed
        }
        Some(found) => found.lane,
        None => Lane::Reviewed,
    }
}

/// Splits a person's change set: fast-lane values apply at once; reviewed-lane
/// values and structure changes (enabled, categories) go to review.
pub fn split(schema: &Schema, changes: &ChangeSet) -> (ChangeSet, ChangeSet) {
    let mut direct = ChangeSet::default();
    let mut reviewed = ChangeSet {
        enabled: changes.enabled,
        categories: changes.categories.clone(),
        ..ChangeSet::default()
    };
    for change in &changes.values {
        match lane_of(schema, &change.key.attribute) {
            Lane::Fast => direct.values.push(change.clone()),
            Lane::Reviewed => reviewed.values.push(change.clone()),
        }
    }
    (direct, reviewed)
}

/// What an edit did: the product after its fast-lane part, and the proposal
/// holding its reviewed part (if it had one).
#[derive(Debug, Clone)]
pub struct Edited {
    pub product: Product,
    pub proposal: Option<Proposal>,
}

/// A person's edit of one product.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    pub sku: &'a str,
    /// The version the edit is based on; a product that moved on is refused.
    pub base_version: i64,
    pub changes: &'a ChangeSet,
    /// `None`: reviewed changes go to the author's draft (the browser);
    /// `Some(note)`: they are submitted at once (the API).
    pub submit_note: Option<&'a str>,
}

/// A person's edit of a product. Fast-lane values go through the write path
/// now; the rest is checked exactly as a write would check it and added to
/// the author's draft or submitted at once (see [`Edit`]).
pub async fn edit(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    edit: Edit<'_>,
    now: Timestamp,
) -> Result<Edited, WorkflowError> {
    let Edit {
        sku,
        base_version,
        changes,
        submit_note,
    } = edit;
    caller.require(&Permission::EditCatalog)?;
    let actor = caller.actor();
    let writer = Writer::Person(actor.clone());
    let (direct, reviewed) = split(schema, changes);
    let current = store::find(db.pool(), sku)
        .await?
        .ok_or_else(|| WriteError::NotFound(sku.to_owned()))?;
    if current.product.version != base_version {
        return Err(WriteError::Stale {
            base: base_version,
            current: current.product.version,
        }
        .into());
    }
    // Check the reviewed part against master before anything is written.
    let (_, proposed) = write::preview(schema, &writer, &current.product, &reviewed)?;
    let mut tx = db.begin_write().await?;
    let product = if direct.is_empty() {
        current.product.clone()
    } else {
        let outcome = write::update_in(
            &mut tx,
            db.backend(),
            schema,
            &writer,
            sku,
            Some(base_version),
            &direct,
            now,
        )
        .await?;
        outcome.product().clone()
    };
    // Fields sent but equal to master leave the author's draft (edited back).
    let touched: Vec<ValueKey> = reviewed.targets().map(|t| t.key()).collect();
    let existing_draft = match submit_note {
        None => draft_of(db, product.id, caller.user.id).await?,
        Some(_) => None,
    };
    let proposal = if proposed.is_empty() && existing_draft.is_none() {
        None
    } else {
        let incoming = Incoming {
            base_version,
            proposed,
            touched: &touched,
            submit_note,
        };
        Some(add_to_proposal(&mut tx, caller, &product, incoming, now).await?)
    };
    tx.commit().await?;
    Ok(Edited { product, proposal })
}

/// A person creates a product. The product is born with its structure (SKU,
/// kind, family, parent, a variant's axis values) and its fast-lane values,
/// disabled and in no category; its reviewed-lane values, its categories and
/// enabling it go into a submitted proposal, so nothing unapproved can
/// reach a channel. A bad reviewed value creates nothing.
pub async fn create(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    new: write::NewProduct,
    now: Timestamp,
) -> Result<Edited, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let axes = schema
        .family(&new.family)
        .map(|f| f.variant_axes.clone())
        .unwrap_or_default();
    let is_variant = new.kind == crate::catalog::product::ProductKind::Variant;
    let (direct, reviewed_values): (Vec<ValueChange>, Vec<ValueChange>) =
        new.values.iter().cloned().partition(|change| {
            let fast = lane_of(schema, &change.key.attribute) == Lane::Fast;
            fast || (is_variant && axes.contains(&change.key.attribute))
        });
    let reviewed = ChangeSet {
        values: reviewed_values,
        enabled: new.enabled.then_some(true),
        categories: (!new.categories.is_empty()).then(|| new.categories.clone()),
    };
    let writer = Writer::Person(caller.actor());
    let structure = write::NewProduct {
        enabled: false,
        categories: Vec::new(),
        values: direct,
        ..new
    };
    // One transaction: a bad reviewed value, or any failure, creates nothing.
    let mut tx = db.begin_write().await?;
    let product = write::create_in(&mut tx, schema, &writer, structure, now).await?;
    if reviewed.is_empty() {
        tx.commit().await?;
        return Ok(Edited {
            product,
            proposal: None,
        });
    }
    let (_, proposed) = write::preview(schema, &writer, &product, &reviewed)?;
    let incoming = Incoming {
        base_version: product.version,
        proposed,
        touched: &[],
        submit_note: Some("New product"),
    };
    let proposal = add_to_proposal(&mut tx, caller, &product, incoming, now).await?;
    tx.commit().await?;
    Ok(Edited {
        product,
        proposal: Some(proposal),
    })
}

pub(super) async fn find_draft_locked(
    conn: &mut AnyConnection,
    product_id: i64,
    user_id: i64,
) -> Result<Option<Proposal>, WorkflowError> {
    let lock = Backend::of(conn).lock_rows_of("proposals");
    let sql = format!(
        "SELECT {COLUMNS} FROM proposals WHERE product_id = $1 AND author_user_id = $2 \
         AND status = 'draft'{lock}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(product_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Adds changes to the author's open draft (or, with `submit_note`, to their
/// open submitted proposal) for the product, or starts a new one. A later
/// change of the same field replaces the earlier one and keeps its `before`.
/// What an edit brings to the author's proposal.
pub(super) struct Incoming<'a> {
    base_version: i64,
    /// The checked changes that differ from master.
    proposed: Vec<write::Change>,
    /// Every reviewed field the edit sent (those equal to master leave the draft).
    touched: &'a [ValueKey],
    submit_note: Option<&'a str>,
}

pub(super) async fn add_to_proposal(
    conn: &mut AnyConnection,
    caller: &Caller,
    product: &Product,
    incoming: Incoming<'_>,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    let Incoming {
        base_version,
        proposed,
        touched,
        submit_note,
    } = incoming;
    let actor = caller.actor();
    // The browser extends the author's draft; the API (which submits at once)
    // always starts a new proposal, so a submitted proposal never changes
    // under an approver's eyes.
    let existing = match submit_note {
        None => find_draft_locked(conn, product.id, caller.user.id).await?,
        Some(_) => None,
    };
    let mut proposal = match existing {
        Some(draft) => draft,
        None => {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO proposals (product_id, sku, family, author_user_id, author_label, source, status, \
                 note, base_version, changes, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'edit', 'draft', '', $6, '[]', $7, $7) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(product.id)
            .bind(&product.sku)
            .bind(&product.family)
            .bind(caller.user.id)
            .bind(&caller.user.email)
            .bind(base_version)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            match inserted {
                Some(id) => get(&mut *conn, id).await?,
                // Another save of the same author started the draft a moment ago.
                None => find_draft_locked(conn, product.id, caller.user.id)
                    .await?
                    .ok_or_else(|| {
                        WorkflowError::WrongState("the draft changed; save again".to_owned())
                    })?,
            }
        }
    };
    let proposed_keys: Vec<ValueKey> = proposed
        .iter()
        .map(|c| ValueKey::new(&c.attribute, c.locale.as_deref(), c.channel.as_deref()))
        .collect();
    proposal.changes.retain(|c| {
        !(c.state == FieldState::Open
            && touched.contains(&c.key())
            && !proposed_keys.contains(&c.key()))
    });
    for change in proposed {
        let incoming = ProposedChange {
            attribute: change.attribute,
            locale: change.locale,
            channel: change.channel,
            before: change.before,
            after: change.after,
            state: FieldState::Open,
            theirs: None,
        };
        match proposal
            .changes
            .iter_mut()
            .find(|c| c.state == FieldState::Open && c.key() == incoming.key())
        {
            Some(existing) => existing.after = incoming.after,
            None => proposal.changes.push(incoming),
        }
    }
    // A field edited back to its master value is no longer a change.
    proposal
        .changes
        .retain(|c| !(c.state == FieldState::Open && c.before == c.after));
    if proposal.status == Status::Draft
        && submit_note.is_none()
        && proposal.open_changes().next().is_none()
    {
        // Everything was edited back: the draft is gone.
        proposal.status = Status::Withdrawn;
    }
    if let Some(note) = submit_note {
        proposal.status = Status::Submitted;
        proposal.submitted = Some(now);
        if !note.is_empty() {
            proposal.note = note.trim().chars().take(2000).collect();
        }
    }
    save(conn, &proposal, now).await?;
    if submit_note.is_some() {
        audit::record(
            &mut *conn,
            &actor,
            AuditEvent::new(
                "proposal.submit",
                format!("proposal #{} {}", proposal.id, proposal.sku),
            ),
            now,
        )
        .await?;
    }
    Ok(proposal)
}

/// Only the author acts on their proposal, and only while they may still
/// edit the catalog (a demoted author, or a token without catalog:write, may not).
pub(super) fn must_be_author(caller: &Caller, proposal: &Proposal) -> Result<(), WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    if proposal.author_user_id == Some(caller.user.id) {
        Ok(())
    } else {
        Err(WorkflowError::Forbidden(
            "only the proposal's author may do this".to_owned(),
        ))
    }
}

/// Submits a draft for review with a note.
pub async fn submit(
    db: &Db,
    caller: &Caller,
    id: i64,
    note: &str,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    must_be_author(caller, &proposal)?;
    if proposal.status != Status::Draft {
        return Err(WorkflowError::WrongState(format!(
            "proposal {id} is {}, not a draft",
            proposal.status.as_str()
        )));
    }
    if proposal.open_changes().next().is_none() {
        return Err(WorkflowError::Invalid(
            "the draft has no changes to submit".to_owned(),
        ));
    }
    proposal.status = Status::Submitted;
    proposal.note = note.trim().chars().take(2000).collect();
    proposal.submitted = Some(now);
    save(&mut tx, &proposal, now).await?;
    audit::record(
        &mut *tx,
        &caller.actor(),
        AuditEvent::new(
            "proposal.submit",
            format!("proposal #{id} {}", proposal.sku),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}

/// The author takes their proposal back.
pub async fn withdraw(
    db: &Db,
    caller: &Caller,
    id: i64,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    must_be_author(caller, &proposal)?;
    if !proposal.status.is_open() {
        return Err(WorkflowError::WrongState(format!(
            "proposal {id} is already {}",
            proposal.status.as_str()
        )));
    }
    proposal.status = Status::Withdrawn;
    save(&mut tx, &proposal, now).await?;
    audit::record(
        &mut *tx,
        &caller.actor(),
        AuditEvent::new(
            "proposal.withdraw",
            format!("proposal #{id} {}", proposal.sku),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}
