//! Review: approving, rejecting, commenting, and rebasing a conflict.

use serde_json::Value as Json;

use super::authoring::must_be_author;
use super::error::WorkflowError;
use super::model::{FieldState, Proposal, ProposedChange, Status, change_set_of};
use super::storage::{add_comment, get, get_locked, save, visible};
use crate::audit::{self, Actor, AuditEvent};
use crate::auth::{Caller, Permission};
use crate::catalog::product::{Product, ValueKey};
use crate::catalog::schema::Schema;
use crate::catalog::{store, values};
use crate::db::{Db, Timestamp};
use crate::workflow::write::{self, Outcome, WriteError, Writer};

/// Four eyes: nobody approves or rejects their own proposal (admins
/// included) unless self-approval is switched on.
pub fn check_reviewer(
    caller: &Caller,
    proposal: &Proposal,
    allow_self_approval: bool,
) -> Result<(), WorkflowError> {
    caller.require(&Permission::Review)?;
    if proposal.author_user_id == Some(caller.user.id) && !allow_self_approval {
        return Err(WorkflowError::Forbidden(
            "you cannot approve or reject your own proposal: a second person must review it"
                .to_owned(),
        ));
    }
    if proposal.status != Status::Submitted {
        return Err(WorkflowError::WrongState(format!(
            "proposal {} is {}; only submitted proposals are reviewed",
            proposal.id,
            proposal.status.as_str()
        )));
    }
    Ok(())
}

/// Whether `caller` may decide proposal `id` now, judged in the order every
/// decision is: rights (403), existence (404; someone else's draft does not
/// exist), four eyes (403), state (409). For refusing input that cannot be
/// read only after these, as the decision itself would.
pub async fn check_review(
    db: &Db,
    caller: &Caller,
    id: i64,
    allow_self_approval: bool,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::Review)?;
    let proposal = visible(caller, get(db.pool(), id).await?)?;
    check_reviewer(caller, &proposal, allow_self_approval)?;
    Ok(proposal)
}

/// The audit action of an approval, whole or of some fields.
pub(super) const APPROVE_ACTION: &str = "proposal.approve";

/// Approvals per UTC day from `since` on, as `(YYYY-MM-DD, count)`: every
/// approval counts, of a whole proposal or of some of its fields.
pub async fn approvals_per_day(
    db: &Db,
    since: Timestamp,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    audit::per_day(db, APPROVE_ACTION, since).await
}

/// Approves all open fields (`fields: None`) or the chosen ones; the rest stay
/// open. Each chosen field whose master value moved since the proposal was
/// made becomes a conflict; the others apply through the write path, in the
/// same transaction, with the product row locked so two approvals of the same
/// field cannot both apply.
pub async fn approve(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    id: i64,
    fields: Option<&[ValueKey]>,
    allow_self_approval: bool,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::Review)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    check_reviewer(caller, &proposal, allow_self_approval)?;
    if let Some(fields) = fields {
        for field in fields {
            if !proposal.open_changes().any(|c| &c.key() == field) {
                return Err(WorkflowError::Invalid(format!(
                    "{field} is not an open field of proposal {id}"
                )));
            }
        }
    }
    let chosen = |change: &ProposedChange| {
        change.state == FieldState::Open && fields.is_none_or(|f| f.contains(&change.key()))
    };
    // Lock the product and read master as it is now.
    let lock = db.backend().lock_rows_of("p");
    let sql = format!(
        "SELECT {} FROM {} WHERE p.id = $1{lock}",
        store::PRODUCT_COLUMNS,
        store::PRODUCT_FROM
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(proposal.product_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| WriteError::NotFound(proposal.sku.clone()))?;
    let master = store::product_from_row(&row)?.product;
    let mut apply = Vec::new();
    let mut conflicts = 0;
    for change in proposal.changes.iter_mut().filter(|c| chosen(c)) {
        let now_value = current_value(&master, change);
        let same = |a: &Option<Json>, b: &Option<Json>| {
            values::same_field(schema, &change.attribute, a.as_ref(), b.as_ref())
        };
        if same(&now_value, &change.after) {
            change.state = FieldState::Applied;
        } else if !same(&now_value, &change.before) {
            change.state = FieldState::Conflict;
            change.theirs = now_value;
            conflicts += 1;
        } else {
            apply.push(change.clone());
            change.state = FieldState::Applied;
        }
    }
    let apply = change_set_of(&apply);
    let approver = caller.actor();
    if !apply.is_empty() {
        let actor = Actor {
            label: format!(
                "{} (approving #{id} by {})",
                approver.label, proposal.author
            ),
            ..approver.clone()
        };
        let writer = applying_writer(&proposal, actor);
        let outcome = write::update_in(
            &mut tx,
            db.backend(),
            schema,
            &writer,
            &proposal.sku,
            None,
            &apply,
            now,
        )
        .await?;
        if let Outcome::Written { product, .. } = outcome {
            proposal.base_version = proposal.base_version.max(product.version);
        }
    }
    proposal.status = if conflicts > 0 {
        Status::Conflict
    } else if proposal.changes.iter().all(|c| c.state != FieldState::Open) {
        proposal.decided_by = Some(approver.label.clone());
        proposal.decided_at = Some(now);
        Status::Approved
    } else {
        Status::Submitted
    };
    save(&mut tx, &proposal, now).await?;
    let applied: Vec<String> = proposal
        .changes
        .iter()
        .filter(|c| c.state == FieldState::Applied)
        .map(|c| c.key().to_string())
        .collect();
    audit::record(
        &mut *tx,
        &approver,
        AuditEvent::new(APPROVE_ACTION, format!("proposal #{id} {}", proposal.sku))
            .detail("applied", applied)
            .detail("conflicts", conflicts)
            .detail("status", proposal.status.as_str()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}

/// The writer that applies a proposal's changes, and so the writer its
/// changes are validated as: an import proposal carries ERP-owned values,
/// which only an import may write, so it applies as the import would have;
/// any other proposal applies as the approving person.
pub fn applying_writer(proposal: &Proposal, actor: Actor) -> Writer {
    if proposal.source == "import" {
        Writer::Import {
            actor,
            may_seed_pim: false,
        }
    } else {
        Writer::Person(actor)
    }
}

/// Master's current value for a proposed change's field.
pub(super) fn current_value(master: &Product, change: &ProposedChange) -> Option<Json> {
    change.target().value_of(master)
}

/// Rejects a proposal; the comment is required and goes to the thread.
pub async fn reject(
    db: &Db,
    caller: &Caller,
    id: i64,
    comment: &str,
    allow_self_approval: bool,
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    // Rights, existence and state before the comment: who may not reject
    // learns that first, whatever they wrote.
    caller.require(&Permission::Review)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    check_reviewer(caller, &proposal, allow_self_approval)?;
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(WorkflowError::Invalid(
            "say why: a rejection needs a comment".to_owned(),
        ));
    }
    if comment.chars().count() > 4000 {
        return Err(WorkflowError::Invalid(
            "keep the comment to 4000 characters".to_owned(),
        ));
    }
    let actor = caller.actor();
    proposal.status = Status::Rejected;
    proposal.decided_by = Some(actor.label.clone());
    proposal.decided_at = Some(now);
    save(&mut tx, &proposal, now).await?;
    add_comment(&mut tx, id, &actor, "reject", comment, now).await?;
    audit::record(
        &mut *tx,
        &actor,
        AuditEvent::new(
            "proposal.reject",
            format!("proposal #{id} {}", proposal.sku),
        )
        .detail("comment", comment),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}

/// Adds a comment to a proposal's thread.
pub async fn comment(
    db: &Db,
    caller: &Caller,
    id: i64,
    body: &str,
    now: Timestamp,
) -> Result<(), WorkflowError> {
    if !(caller.may(&Permission::EditCatalog) || caller.may(&Permission::Review)) {
        return Err(WorkflowError::Forbidden(
            "only editors and approvers comment on proposals".to_owned(),
        ));
    }
    let mut tx = db.begin_write().await?;
    visible(caller, get(&mut *tx, id).await?)?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Err(WorkflowError::Invalid(
            "write a comment of 1 to 4000 characters".to_owned(),
        ));
    }
    add_comment(&mut tx, id, &caller.actor(), "comment", body, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Only the author rebases, and only a proposal in conflict.
pub(super) fn check_rebaser(caller: &Caller, proposal: &Proposal) -> Result<(), WorkflowError> {
    must_be_author(caller, proposal)?;
    if proposal.status != Status::Conflict {
        return Err(WorkflowError::WrongState(format!(
            "proposal {} is {}, not in conflict",
            proposal.id,
            proposal.status.as_str()
        )));
    }
    Ok(())
}

/// Whether `caller` may rebase proposal `id` now, judged as [`rebase`]
/// judges it (rights 403, existence 404, author 403, state 409), without
/// writing: for refusing an unreadable form only after these.
pub async fn check_rebase(db: &Db, caller: &Caller, id: i64) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let proposal = visible(caller, get(db.pool(), id).await?)?;
    check_rebaser(caller, &proposal)?;
    Ok(proposal)
}

/// How the author settles one conflicting field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    KeepMine,
    TakeTheirs,
}

/// The author settles every conflict (keep mine: the change stays, now
/// based on master's value; take theirs: the change is dropped) and
/// resubmits.
pub async fn rebase(
    db: &Db,
    schema: &Schema,
    caller: &Caller,
    id: i64,
    resolutions: &[(ValueKey, Resolution)],
    now: Timestamp,
) -> Result<Proposal, WorkflowError> {
    caller.require(&Permission::EditCatalog)?;
    let mut tx = db.begin_write().await?;
    let mut proposal = visible(caller, get_locked(&mut tx, id).await?)?;
    check_rebaser(caller, &proposal)?;
    let master = store::find_by_id(&mut *tx, proposal.product_id)
        .await?
        .ok_or_else(|| WriteError::NotFound(proposal.sku.clone()))?
        .product;
    for change in proposal
        .changes
        .iter_mut()
        .filter(|c| c.state == FieldState::Conflict)
    {
        let Some((_, resolution)) = resolutions.iter().find(|(key, _)| *key == change.key()) else {
            return Err(WorkflowError::Invalid(format!(
                "choose keep mine or take theirs for {}",
                change.key()
            )));
        };
        let theirs = current_value(&master, change);
        match resolution {
            Resolution::KeepMine => {
                change.before = theirs;
                let same = values::same_field(
                    schema,
                    &change.attribute,
                    change.before.as_ref(),
                    change.after.as_ref(),
                );
                change.state = if same {
                    FieldState::Dropped
                } else {
                    FieldState::Open
                };
            }
            Resolution::TakeTheirs => change.state = FieldState::Dropped,
        }
        change.theirs = None;
    }
    // The kept changes must still be valid against master as it is now, as
    // the writer that will apply them (an import proposal as the import).
    let writer = applying_writer(&proposal, caller.actor());
    write::preview(schema, &writer, &master, &proposal.open_change_set())?;
    proposal.base_version = master.version;
    proposal.status = if proposal.open_changes().next().is_some() {
        Status::Submitted
    } else {
        Status::Withdrawn
    };
    proposal.submitted = Some(now);
    save(&mut tx, &proposal, now).await?;
    audit::record(
        &mut *tx,
        &caller.actor(),
        AuditEvent::new(
            "proposal.rebase",
            format!("proposal #{id} {}", proposal.sku),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(proposal)
}
