//! The write path for many products at once (imports). It makes the same
//! checks as [`super::write`] — owner, lane, family and level, every value,
//! categories, SKU and axis uniqueness — with the same pure functions, then
//! writes the products, history, change log and category index
//! with multi-row statements: a batch of 500 rows costs a dozen statements
//! instead of several thousand.
//!
//! Per existing product, ERP-owned fast-lane values apply at once and
//! reviewed-lane ones become one import proposal (superseding the product's
//! older pending one); Sluice-owned values are never written. A new product
//! is created whole — structure, ERP values, and the Sluice-owned values and
//! categories the profile lets seed it — born disabled, like a person's new
//! product, so only an approved enabling puts it on a channel. A row that
//! changes nothing writes nothing.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use super::proposals::{self, Proposal};
use super::write::{self, Change, ChangeSet, NewProduct, ValueChange, WriteError, Writer};
use crate::audit::Actor;
use crate::catalog::product::{Product, ProductKind};
use crate::catalog::rows::{self, NewRow, UpdatedRow};
use crate::catalog::schema::{Lane, Schema};
use crate::catalog::store::{self, StoredProduct, sku_key};
use crate::db::bulk::{self, Param};
use crate::db::{Backend, Timestamp};
use crate::error::FieldError;

/// One product as a file row brings it.
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub row: u64,
    pub sku: String,
    pub kind: ProductKind,
    pub family: String,
    pub parent: Option<String>,
    /// Seeds a new product's categories.
    pub categories: Option<Vec<String>>,
    /// ERP-owned values, written per lane.
    pub values: Vec<ValueChange>,
    /// Sluice-owned values that may seed a new product.
    pub seed: Vec<ValueChange>,
    /// A digest of the source row, the profile and the schema version. A
    /// product last written from the same digest is unchanged without being
    /// loaded or checked (the re-sent nightly file costs one small query).
    pub digest: Option<String>,
}

/// What became of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Created,
    /// Fast-lane values applied and/or an import proposal opened.
    Changed {
        updated: bool,
        proposed: bool,
    },
    Unchanged,
    Failed(Vec<FieldError>),
}

/// Who imports and how.
pub struct BatchContext<'a> {
    pub schema: &'a Schema,
    pub actor: &'a Actor,
    /// The author of import proposals, e.g. `import job #12 (erp-items)`.
    pub job_label: &'a str,
    /// Check and report only; write nothing.
    pub dry_run: bool,
}

/// Models this job created or changed in earlier batches, by SKU key: later
/// batches name them as parent and resolve against them even
/// before they are committed (a dry run never commits them at all).
#[derive(Debug, Default)]
pub struct JobModels(HashMap<String, Product>);

/// A new product, checked and ready to insert.
pub(super) struct PlannedCreate {
    pub(super) product: Product,
    /// The values and categories as stored, serialized ahead by the planner.
    pub(super) stored: Option<(String, String)>,
    pub(super) digest: Option<String>,
    pub(super) parent_key: Option<String>,
    pub(super) axis: Option<String>,
    pub(super) changes: Vec<Change>,
}

/// A new version of an existing product, checked and ready to write.
pub(super) struct PlannedUpdate {
    /// The product as it will be stored: version already bumped.
    pub(super) product: Product,
    /// The values as stored, serialized ahead by the planner.
    pub(super) stored: Option<String>,
    pub(super) digest: Option<String>,
    /// The variant's axis key; `None` keeps the stored one (only variants
    /// have one, and a non-variant's stays empty).
    pub(super) axis: Option<String>,
    /// Whether the categories changed: the column and the category index
    /// are rewritten only then.
    pub(super) categories_changed: bool,
    pub(super) changes: Vec<Change>,
}

struct PlannedProposal {
    product: Product,
    changes: Vec<Change>,
    supersedes: Option<i64>,
}

fn field_errors(err: WriteError) -> Result<Vec<FieldError>, WriteError> {
    match err {
        WriteError::Invalid(errors) | WriteError::Forbidden(errors) => Ok(errors),
        WriteError::NotFound(_) | WriteError::SkuTaken(_) | WriteError::Stale { .. } => {
            Ok(vec![FieldError::field("sku", err.to_string())])
        }
        other => Err(other),
    }
}

/// Imports a batch of rows in the caller's transaction: checks (with the
/// rows locked) and writes. Row problems are outcomes; a database error
/// (including a unique violation a concurrent writer caused) fails the whole
/// call, and the caller retries row by row.
pub async fn import_rows(
    conn: &mut AnyConnection,
    ctx: &BatchContext<'_>,
    rows: &[BatchRow],
    job_models: &mut JobModels,
    now: Timestamp,
) -> Result<Vec<RowOutcome>, WriteError> {
    write::ensure_schema_current(conn, ctx.schema).await?;
    let plan = plan_rows(conn, ctx, rows, job_models, true, now).await?;
    if ctx.dry_run {
        return Ok(plan.outcomes);
    }
    write_plan(conn, ctx, plan, now)
        .await
        .map_err(|err| match err {
            ExecuteError::Write(err) => err,
            // Impossible with the rows locked and the models checked in this
            // transaction; reported rather than ignored.
            ExecuteError::MasterMoved => WriteError::Database(sqlx::Error::Protocol(
                "a locked product changed, or a model went missing, during an import batch"
                    .to_owned(),
            )),
        })
}

/// A batch checked and ready to write: what becomes of each row and every
/// statement's rows (new products' ids are filled in when they are inserted).
pub struct Plan {
    pub outcomes: Vec<RowOutcome>,
    creates: Vec<PlannedCreate>,
    updates: Vec<PlannedUpdate>,
    proposals: Vec<PlannedProposal>,
    digests_only: Vec<(i64, String)>,
    /// Products the plan writes without a new version (digests, proposals)
    /// and the version it checked them at.
    verify: Vec<(i64, i64)>,
    records: Records,
    slots: Vec<Slot>,
}

/// A product in a plan's records: new (by SKU key) or known.
enum Slot {
    New(String),
    Known(i64),
}

/// Why a plan could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// A product changed after the batch was checked: check it again.
    #[error("a product changed since the batch was checked")]
    MasterMoved,
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl ExecuteError {
    /// For writers that hold their rows locked, where master cannot move:
    /// reported rather than ignored.
    pub(super) fn into_write(self) -> WriteError {
        match self {
            ExecuteError::Write(err) => err,
            ExecuteError::MasterMoved => WriteError::Database(sqlx::Error::Protocol(
                "a locked product changed, or a model went missing, during a write".to_owned(),
            )),
        }
    }
}

impl From<sqlx::Error> for ExecuteError {
    fn from(err: sqlx::Error) -> Self {
        ExecuteError::Write(WriteError::Database(err))
    }
}

/// Checks a batch against master and prepares everything it would write.
/// With `lock`, the products are locked (PostgreSQL) for a write in the same
/// transaction; without, the plan is checked again when written (the
/// versions of changed products must still match).
pub async fn plan_rows(
    conn: &mut AnyConnection,
    ctx: &BatchContext<'_>,
    rows: &[BatchRow],
    job_models: &mut JobModels,
    lock: bool,
    now: Timestamp,
) -> Result<Plan, WriteError> {
    let same = same_digest(conn, rows).await?;

    // Master as it is: the rows' products and the parents they name.
    let mut keys: Vec<String> = rows
        .iter()
        .zip(&same)
        .filter(|(_, same)| !**same)
        .map(|(row, _)| row)
        .flat_map(|r| std::iter::once(sku_key(&r.sku)).chain(r.parent.as_deref().map(sku_key)))
        .collect();
    keys.sort();
    keys.dedup();
    let found = load_products(conn, keys, lock).await?;
    let existing: HashMap<String, StoredProduct> = found
        .into_iter()
        .map(|s| (sku_key(&s.product.sku), s))
        .collect();
    let with_reviewed: Vec<i64> = rows
        .iter()
        .zip(&same)
        .filter(|(_, same)| !**same)
        .map(|(row, _)| row)
        .filter_map(|r| existing.get(&sku_key(&r.sku)).map(|s| s.product.id))
        .collect();
    let pending = proposals::pending_import_proposals(conn, &with_reviewed)
        .await
        .map_err(|err| match err {
            proposals::WorkflowError::Database(db) => WriteError::Database(db),
            other => WriteError::Invalid(vec![FieldError::field("sku", other.to_string())]),
        })?;

    let mut outcomes = vec![RowOutcome::Unchanged; rows.len()];
    let mut creates: Vec<PlannedCreate> = Vec::new();
    let mut updates: Vec<PlannedUpdate> = Vec::new();
    let mut proposals_planned: Vec<PlannedProposal> = Vec::new();
    let mut axes_taken: HashSet<(String, String)> = HashSet::new();
    let mut digests_only: Vec<(i64, String)> = Vec::new();
    let mut verify: Vec<(i64, i64)> = Vec::new();
    let mut created_keys: HashMap<String, usize> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        if same[index] {
            continue;
        }
        let key = sku_key(&row.sku);
        let planned = match existing.get(&key) {
            Some(stored) => plan_update(ctx, row, stored, pending.get(&stored.product.id), now)
                .map(|(update, proposal)| {
                    if update.is_none() {
                        // Written without a new version (a digest, a
                        // proposal): the writer checks the version instead.
                        verify.push((stored.product.id, stored.product.version));
                        if let Some(digest) = &row.digest {
                            digests_only.push((stored.product.id, digest.clone()));
                        }
                    }
                    let outcome = if update.is_none() && proposal.is_none() {
                        RowOutcome::Unchanged
                    } else {
                        RowOutcome::Changed {
                            updated: update.is_some(),
                            proposed: proposal.as_ref().is_some_and(|p| !p.changes.is_empty()),
                        }
                    };
                    updates.extend(update);
                    proposals_planned.extend(proposal);
                    outcome
                }),
            None => {
                let parents = Parents {
                    creates: &creates,
                    created_keys: &created_keys,
                    existing: &existing,
                    job_models,
                };
                plan_create(ctx, row, &parents, &mut axes_taken, now).map(|create| {
                    created_keys.insert(key.clone(), creates.len());
                    creates.push(create);
                    RowOutcome::Created
                })
            }
        };
        outcomes[index] = match planned {
            Ok(outcome) => outcome,
            Err(err) => RowOutcome::Failed(field_errors(err)?),
        };
    }

    let followers = if ctx.dry_run {
        Vec::new()
    } else {
        followers_of(conn, &updates).await?
    };
    let touched = touched_of(&creates, &updates, &followers);
    let records = if ctx.dry_run {
        Records::default()
    } else {
        prepare_records(ctx.actor, &touched, now)
    };
    let documents: Vec<(String, String)> = if ctx.dry_run {
        Vec::new()
    } else {
        creates
            .iter()
            .map(|c| {
                (
                    json_text(&c.product.values, "{}"),
                    json_text(&c.product.categories, "[]"),
                )
            })
            .collect()
    };
    let update_documents: Vec<String> = if ctx.dry_run {
        Vec::new()
    } else {
        updates
            .iter()
            .map(|u| json_text(&u.product.values, "{}"))
            .collect()
    };
    let slots = slots_of(&touched);
    // Later batches of this job resolve parents against
    // the models as this batch leaves them.
    for touched in touched
        .iter()
        .filter(|t| t.changes.is_some() && t.product.kind == ProductKind::Model)
    {
        job_models
            .0
            .insert(sku_key(&touched.product.sku), touched.product.clone());
    }
    drop(touched);
    for (create, stored) in creates.iter_mut().zip(documents) {
        create.stored = Some(stored);
    }
    for (update, stored) in updates.iter_mut().zip(update_documents) {
        update.stored = Some(stored);
    }
    Ok(Plan {
        outcomes,
        creates,
        updates,
        proposals: proposals_planned,
        digests_only,
        verify,
        records,
        slots,
    })
}

/// Writes a plan. A plan made before an earlier batch of the job was
/// committed names that batch's models by SKU; their ids are looked up as
/// the write finds them, never carried over from an attempt that may have
/// been rolled back.
pub async fn execute_plan(
    conn: &mut AnyConnection,
    ctx: &BatchContext<'_>,
    plan: Plan,
    now: Timestamp,
) -> Result<Vec<RowOutcome>, ExecuteError> {
    write::ensure_schema_current(conn, ctx.schema).await?;
    write_plan(conn, ctx, plan, now).await
}

/// [`execute_plan`] once the schema is known to be current.
async fn write_plan(
    conn: &mut AnyConnection,
    ctx: &BatchContext<'_>,
    plan: Plan,
    now: Timestamp,
) -> Result<Vec<RowOutcome>, ExecuteError> {
    let Plan {
        outcomes,
        creates,
        updates,
        proposals: proposals_planned,
        digests_only,
        verify,
        records,
        slots,
    } = plan;
    let written = Written {
        creates: &creates,
        updates: &updates,
        digests_only,
        verify: &verify,
        records,
        slots: &slots,
    };
    persist(conn, written).await?;
    for proposal in proposals_planned {
        proposals::open_import_proposal(
            conn,
            &proposal.product,
            &proposal.changes,
            proposal.supersedes,
            (ctx.job_label, ctx.actor),
            now,
        )
        .await
        .map_err(|err| match err {
            proposals::WorkflowError::Database(db) => WriteError::Database(db),
            other => WriteError::Invalid(vec![FieldError::field("sku", other.to_string())]),
        })?;
    }
    Ok(outcomes)
}

/// Everything a plan writes to the product tables, ids of new products
/// still unknown.
struct Written<'a> {
    creates: &'a [PlannedCreate],
    updates: &'a [PlannedUpdate],
    digests_only: Vec<(i64, String)>,
    verify: &'a [(i64, i64)],
    records: Records,
    slots: &'a [Slot],
}

/// The one place product rows, history, change log and category index are
/// written, for a batch of any size; answers the id of each slot.
async fn persist(conn: &mut AnyConnection, written: Written<'_>) -> Result<Vec<i64>, ExecuteError> {
    let Written {
        creates,
        updates,
        digests_only,
        verify,
        records,
        slots,
    } = written;
    if !verify.is_empty() {
        let current =
            rows::versions_locked(conn, verify.iter().map(|(id, _)| *id).collect()).await?;
        if verify
            .iter()
            .any(|(id, version)| current.get(id) != Some(version))
        {
            return Err(ExecuteError::MasterMoved);
        }
    }
    let ids = insert_products(conn, creates).await?;
    let changed = update_products(conn, updates).await?;
    if changed != updates.len() {
        return Err(ExecuteError::MasterMoved);
    }
    rows::set_digests(conn, digests_only).await?;
    let slot_ids = slots
        .iter()
        .map(|slot| match slot {
            Slot::Known(id) => Ok(*id),
            Slot::New(key) => ids.get(key).copied().ok_or_else(|| {
                WriteError::Database(sqlx::Error::Protocol(format!(
                    "the insert of {key} returned no id"
                )))
            }),
        })
        .collect::<Result<Vec<i64>, WriteError>>()?;
    write_records(conn, records, &slot_ids).await?;
    Ok(slot_ids)
}

/// One product's new version, written by a single write: a batch of one.
pub(super) enum Single {
    Create(PlannedCreate),
    Update(PlannedUpdate),
}

/// Writes one product's new version through [`persist`]; with
/// `follow_variants`, a model's variants get change-log entries too (they
/// inherit what changed). Answers the product as stored, with its id.
pub(super) async fn write_single(
    conn: &mut AnyConnection,
    actor: &Actor,
    single: Single,
    follow_variants: bool,
    now: Timestamp,
) -> Result<Product, ExecuteError> {
    let (creates, updates) = match single {
        Single::Create(create) => (vec![create], Vec::new()),
        Single::Update(update) => (Vec::new(), vec![update]),
    };
    let followers = if follow_variants {
        followers_of(conn, &updates).await?
    } else {
        Vec::new()
    };
    let touched = touched_of(&creates, &updates, &followers);
    let records = prepare_records(actor, &touched, now);
    let slots = slots_of(&touched);
    drop(touched);
    let written = Written {
        creates: &creates,
        updates: &updates,
        digests_only: Vec::new(),
        verify: &[],
        records,
        slots: &slots,
    };
    let ids = persist(conn, written).await?;
    let product = creates
        .into_iter()
        .map(|c| c.product)
        .chain(updates.into_iter().map(|u| u.product))
        .next();
    match (product, ids.first()) {
        (Some(product), Some(id)) => Ok(Product { id: *id, ..product }),
        _ => Err(ExecuteError::MasterMoved),
    }
}

/// Products by SKU key, in id order (the order locks are taken in, so two
/// writers of overlapping batches queue instead of deadlocking); with
/// `lock`, locked for this transaction (PostgreSQL).
async fn load_products(
    conn: &mut AnyConnection,
    keys: Vec<String>,
    lock: bool,
) -> Result<Vec<StoredProduct>, WriteError> {
    let head = format!(
        "SELECT {} FROM {} WHERE p.sku_key IN",
        store::PRODUCT_COLUMNS,
        store::PRODUCT_FROM
    );
    let lock_clause = if lock {
        Backend::of(conn).lock_rows_of("p")
    } else {
        String::new()
    };
    let tail = format!("ORDER BY p.id{lock_clause}");
    let rows = bulk::in_list(
        conn,
        &head,
        &tail,
        keys.into_iter().map(Param::Text).collect(),
    )
    .await?;
    Ok(rows
        .iter()
        .map(store::product_from_row)
        .collect::<Result<Vec<_>, _>>()?)
}

/// Which rows carry the digest their product was last written from.
async fn same_digest(conn: &mut AnyConnection, rows: &[BatchRow]) -> Result<Vec<bool>, WriteError> {
    let keys: Vec<String> = rows
        .iter()
        .filter(|r| r.digest.is_some())
        .map(|r| sku_key(&r.sku))
        .collect();
    if keys.is_empty() {
        return Ok(vec![false; rows.len()]);
    }
    let stored = rows::digests(conn, keys).await?;
    Ok(rows
        .iter()
        .map(|r| {
            r.digest
                .as_ref()
                .is_some_and(|d| stored.get(&sku_key(&r.sku)) == Some(d))
        })
        .collect())
}

/// Where a new variant's model can be: created earlier in this batch, in
/// master, or (dry run) created by an earlier batch.
struct Parents<'a> {
    creates: &'a [PlannedCreate],
    /// SKU key → index in `creates`.
    created_keys: &'a HashMap<String, usize>,
    existing: &'a HashMap<String, StoredProduct>,
    job_models: &'a JobModels,
}

impl Parents<'_> {
    fn find(&self, key: &str) -> Option<&Product> {
        self.created_keys
            .get(key)
            .and_then(|index| self.creates.get(*index))
            .map(|c| &c.product)
            .or_else(|| self.job_models.0.get(key))
            .or_else(|| self.existing.get(key).map(|s| &s.product))
    }
}

/// An existing product: fast-lane ERP values to apply, reviewed-lane ones to
/// propose (unless the pending import proposal already says the same).
fn plan_update(
    ctx: &BatchContext<'_>,
    row: &BatchRow,
    stored: &StoredProduct,
    pending: Option<&Proposal>,
    now: Timestamp,
) -> Result<(Option<PlannedUpdate>, Option<PlannedProposal>), WriteError> {
    let writer = Writer::Import {
        actor: ctx.actor.clone(),
        may_seed_pim: false,
    };
    let mut direct = ChangeSet::default();
    let mut reviewed = ChangeSet::default();
    for change in &row.values {
        match proposals::lane_of(ctx.schema, &change.key.attribute) {
            Lane::Fast => direct.values.push(change.clone()),
            Lane::Reviewed => reviewed.values.push(change.clone()),
        }
    }
    let before = &stored.product;
    let (mut after, applied) = write::preview(ctx.schema, &writer, before, &direct)?;
    let (_, proposed) = write::preview(ctx.schema, &writer, &after, &reviewed)?;
    let update = if applied.is_empty() {
        None
    } else {
        after.version += 1;
        after.updated = now;
        let axis = ctx
            .schema
            .family(&after.family)
            .and_then(|family| write::axis_key(family, after.kind, &after.values));
        Some(PlannedUpdate {
            stored: None,
            digest: row.digest.clone(),
            product: after.clone(),
            axis,
            categories_changed: false,
            changes: applied,
        })
    };
    let proposal = match pending {
        Some(old) if proposals::proposes_same(ctx.schema, old, &proposed) => None,
        Some(old) => Some(PlannedProposal {
            product: after,
            changes: proposed,
            supersedes: Some(old.id),
        }),
        None if proposed.is_empty() => None,
        None => Some(PlannedProposal {
            product: after,
            changes: proposed,
            supersedes: None,
        }),
    };
    Ok((update, proposal))
}

/// A new product, checked as a single create checks it ([`write::check_new`]),
/// and against the variants this batch creates before it.
fn plan_create(
    ctx: &BatchContext<'_>,
    row: &BatchRow,
    parents: &Parents<'_>,
    axes_taken: &mut HashSet<(String, String)>,
    now: Timestamp,
) -> Result<PlannedCreate, WriteError> {
    let writer = Writer::Import {
        actor: ctx.actor.clone(),
        may_seed_pim: true,
    };
    let found = match (row.kind, &row.parent) {
        (ProductKind::Variant, Some(parent_sku)) => parents.find(&sku_key(parent_sku)),
        _ => None,
    };
    let new = NewProduct {
        sku: row.sku.clone(),
        kind: row.kind,
        family: row.family.clone(),
        parent: row.parent.clone(),
        // Born disabled, like a person's new product.
        enabled: false,
        categories: row.categories.clone().unwrap_or_default(),
        values: row.values.iter().chain(&row.seed).cloned().collect(),
    };
    let mut create = write::check_new(ctx.schema, &writer, new, found, now)?;
    create.digest = row.digest.clone();
    // The database would refuse the second with the whole batch.
    if let (Some(parent_key), Some(axis), Some(parent_sku), Some(family)) = (
        &create.parent_key,
        &create.axis,
        &create.product.parent,
        ctx.schema.family(&create.product.family),
    ) && !axes_taken.insert((parent_key.clone(), axis.clone()))
    {
        return Err(WriteError::Invalid(vec![FieldError::field(
            family.variant_axes.first().map_or("sku", String::as_str),
            format!(
                "another variant of {parent_sku} already has these {} values",
                family.variant_axes.join("/")
            ),
        )]));
    }
    Ok(create)
}

/// Inserts new products (models and simple products first, so variants can
/// name them); answers their ids by SKU key. A variant's model is this
/// batch's or one the database holds now: a plan checked ahead may name a
/// model that is not there (an earlier batch failed to create it), and then
/// the batch must be checked again.
async fn insert_products(
    conn: &mut AnyConnection,
    creates: &[PlannedCreate],
) -> Result<HashMap<String, i64>, ExecuteError> {
    let mut ids: HashMap<String, i64> = HashMap::new();
    for variants in [false, true] {
        let mut parents: HashMap<String, i64> = HashMap::new();
        if variants {
            let mut elsewhere: Vec<String> = creates
                .iter()
                .filter_map(|c| c.parent_key.clone())
                .filter(|k| !ids.contains_key(k))
                .collect();
            elsewhere.sort();
            elsewhere.dedup();
            if !elsewhere.is_empty() {
                parents = rows::model_ids(conn, elsewhere).await?;
            }
        }
        let new_rows = creates
            .iter()
            .filter(|c| (c.product.kind == ProductKind::Variant) == variants)
            .map(|create| {
                let parent_id = match &create.parent_key {
                    Some(key) => Some(
                        ids.get(key)
                            .or_else(|| parents.get(key))
                            .copied()
                            .ok_or(ExecuteError::MasterMoved)?,
                    ),
                    None => None,
                };
                let product = &create.product;
                Ok(NewRow {
                    product,
                    parent_id,
                    axis_key: create.axis.clone(),
                    categories: match &create.stored {
                        Some((_, categories)) => categories.clone(),
                        None => json_text(&product.categories, "[]"),
                    },
                    values: match &create.stored {
                        Some((values, _)) => values.clone(),
                        None => json_text(&product.values, "{}"),
                    },
                    digest: create.digest.clone(),
                })
            })
            .collect::<Result<Vec<_>, ExecuteError>>()?;
        ids.extend(rows::insert(conn, new_rows).await?);
    }
    Ok(ids)
}

/// Writes the new documents of updated products in one statement per chunk,
/// each only over the version it was checked against; answers how many
/// were written.
async fn update_products(
    conn: &mut AnyConnection,
    updates: &[PlannedUpdate],
) -> Result<usize, WriteError> {
    let updated = updates
        .iter()
        .map(|u| UpdatedRow {
            product: &u.product,
            values: u
                .stored
                .clone()
                .unwrap_or_else(|| json_text(&u.product.values, "{}")),
            axis_key: u.axis.clone(),
            digest: u.digest.clone(),
            categories: u
                .categories_changed
                .then(|| json_text(&u.product.categories, "[]")),
        })
        .collect();
    Ok(rows::update(conn, updated).await?)
}

fn json_text<T: serde::Serialize>(value: &T, empty: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| empty.to_owned())
}

/// A product a batch writes a version for (`changes`), or a variant of an
/// updated model that follows it (no version of its own).
struct Touched<'a> {
    product: &'a Product,
    changes: Option<&'a Vec<Change>>,
    created: bool,
    /// Its category index is (re)written.
    index_categories: bool,
}

/// New products, then updated ones, then the variants that follow them.
fn touched_of<'a>(
    creates: &'a [PlannedCreate],
    updates: &'a [PlannedUpdate],
    followers: &'a [Product],
) -> Vec<Touched<'a>> {
    creates
        .iter()
        .map(|c| Touched {
            product: &c.product,
            changes: Some(&c.changes),
            created: true,
            index_categories: true,
        })
        .chain(updates.iter().map(|u| Touched {
            product: &u.product,
            changes: Some(&u.changes),
            created: false,
            index_categories: u.categories_changed,
        }))
        .chain(followers.iter().map(|f| Touched {
            product: f,
            changes: None,
            created: false,
            index_categories: false,
        }))
        .collect()
}

/// Where each touched product's id will come from.
fn slots_of(touched: &[Touched<'_>]) -> Vec<Slot> {
    touched
        .iter()
        .map(|t| {
            if t.created {
                Slot::New(sku_key(&t.product.sku))
            } else {
                Slot::Known(t.product.id)
            }
        })
        .collect()
}

/// Variants of updated models: they inherit what changed, so their
/// change-log followers (readiness, publishing) must see them.
async fn followers_of(
    conn: &mut AnyConnection,
    updates: &[PlannedUpdate],
) -> Result<Vec<Product>, WriteError> {
    let updated_models: Vec<Param> = updates
        .iter()
        .filter(|u| u.product.kind == ProductKind::Model)
        .map(|u| Param::Int(u.product.id))
        .collect();
    if updated_models.is_empty() {
        return Ok(Vec::new());
    }
    let written: HashSet<i64> = updates.iter().map(|u| u.product.id).collect();
    let head = format!(
        "SELECT {} FROM {} WHERE p.parent_id IN",
        store::PRODUCT_COLUMNS,
        store::PRODUCT_FROM
    );
    let mut followers = Vec::new();
    for row in bulk::in_list(conn, &head, "ORDER BY p.id", updated_models).await? {
        let variant = store::product_from_row(&row)?.product;
        if !written.contains(&variant.id) {
            followers.push(variant);
        }
    }
    Ok(followers)
}

/// Rows for the tables a version writes, each with the index of its
/// product in the batch's touched list (ids of new products come later).
#[derive(Default)]
struct Records {
    versions: Vec<(usize, Vec<Param>)>,
    /// Every touched product in order: its change-log entry.
    log: Vec<(usize, Vec<Param>)>,
    /// The category index: a category of the product in a slot.
    categories: Vec<(usize, String)>,
    /// Existing products whose category index is replaced.
    replaced: Vec<usize>,
}

/// Everything but the ids: history entries, change-log rows and the
/// category index of new products.
fn prepare_records(actor: &Actor, touched: &[Touched<'_>], now: Timestamp) -> Records {
    let mut records = Records::default();
    for (slot, t) in touched.iter().enumerate() {
        let product = t.product;
        if let Some(changes) = t.changes {
            records.versions.push((
                slot,
                vec![
                    Param::Int(0),
                    Param::Int(product.version),
                    Param::At(now),
                    Param::Text(actor.kind.as_str().to_owned()),
                    Param::Text(actor.label.clone()),
                    Param::OptInt(actor.user_id),
                    Param::Text(json_text(changes, "[]")),
                ],
            ));
        }
        records.log.push((
            slot,
            vec![
                Param::Int(0),
                Param::Int(0),
                Param::Text(product.sku.clone()),
                Param::Int(product.version),
                Param::At(now),
            ],
        ));
        if t.index_categories {
            if !t.created {
                records.replaced.push(slot);
            }
            for category in &product.categories {
                records.categories.push((slot, category.clone()));
            }
        }
    }
    records
}

fn with_ids(rows: Vec<(usize, Vec<Param>)>, position: usize, ids: &[i64]) -> Vec<Vec<Param>> {
    rows.into_iter()
        .map(|(slot, mut row)| {
            row[position] = Param::Int(ids.get(slot).copied().unwrap_or(0));
            row
        })
        .collect()
}

/// Writes the prepared rows once the ids are known. Change-log numbers come
/// from the counter row, locked by this transaction until it commits.
async fn write_records(
    conn: &mut AnyConnection,
    records: Records,
    ids: &[i64],
) -> Result<(), WriteError> {
    if records.log.is_empty() {
        return Ok(());
    }
    bulk::values(
        conn,
        "INSERT INTO product_versions (product_id, version, at, actor_kind, actor_label, actor_user_id, changes)",
        "",
        with_ids(records.versions, 0, ids),
    )
    .await?;
    let count = i64::try_from(records.log.len()).unwrap_or(i64::MAX);
    let last = crate::db::counters::bump(conn, "change_log", count).await?;
    let mut log = with_ids(records.log, 1, ids);
    for (i, row) in log.iter_mut().enumerate() {
        row[0] = Param::Int(last - count + 1 + i64::try_from(i).unwrap_or(0));
    }
    bulk::values(
        conn,
        "INSERT INTO change_log (seq, product_id, sku, version, at)",
        "",
        log,
    )
    .await?;
    let id_of = |slot: usize| ids.get(slot).copied().unwrap_or(0);
    let cleared = records.replaced.into_iter().map(id_of).collect();
    let index = records
        .categories
        .into_iter()
        .map(|(slot, category)| (category, id_of(slot)))
        .collect();
    rows::replace_categories(conn, cleared, index).await?;
    Ok(())
}

/// Disables these products (a `full` import's products missing from the
/// file) through the same checks and records; answers how many it disabled.
pub async fn disable(
    conn: &mut AnyConnection,
    ctx: &BatchContext<'_>,
    skus: &[String],
    now: Timestamp,
) -> Result<u64, WriteError> {
    write::ensure_schema_current(conn, ctx.schema).await?;
    let keys = skus.iter().map(|s| sku_key(s)).collect();
    let found = load_products(conn, keys, true).await?;
    let writer = Writer::Import {
        actor: ctx.actor.clone(),
        may_seed_pim: false,
    };
    let off = ChangeSet {
        enabled: Some(false),
        ..ChangeSet::default()
    };
    let mut updates = Vec::new();
    for stored in found {
        let (mut after, changes) = write::preview(ctx.schema, &writer, &stored.product, &off)?;
        if changes.is_empty() {
            continue;
        }
        after.version += 1;
        after.updated = now;
        let axis = ctx
            .schema
            .family(&after.family)
            .and_then(|family| write::axis_key(family, after.kind, &after.values));
        updates.push(PlannedUpdate {
            stored: None,
            digest: None,
            product: after,
            axis,
            categories_changed: false,
            changes,
        });
    }
    if ctx.dry_run {
        return Ok(updates.len() as u64);
    }
    let followers = followers_of(conn, &updates).await?;
    let touched = touched_of(&[], &updates, &followers);
    let records = prepare_records(ctx.actor, &touched, now);
    let slots = slots_of(&touched);
    drop(touched);
    let written = Written {
        creates: &[],
        updates: &updates,
        digests_only: Vec::new(),
        verify: &[],
        records,
        slots: &slots,
    };
    // The rows are locked: every checked version is still current.
    persist(conn, written)
        .await
        .map_err(ExecuteError::into_write)?;
    Ok(updates.len() as u64)
}

/// The SKUs of enabled products in id order: a `full` import disables those
/// its file did not name.
pub async fn enabled_skus(db: &crate::db::Db) -> Result<Vec<String>, sqlx::Error> {
    rows::enabled_skus(db).await
}
