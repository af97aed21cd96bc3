//! The single write path: the only code that writes product values.
//!
//! In one transaction it checks that the writer may write each attribute
//! (owner), that every value fits its attribute, the family and the
//! product's level (model or variant), that the base version is current,
//! then writes the new document, a history entry with before/after per value
//! and the actor, and a change-log entry that readiness, publishing and
//! search follow (they run after commit, so a write stays small). Unchanged input writes nothing.
//!
//! Review (proposals for reviewed-lane attributes) sits in front of this
//! function; it never decides about lanes itself.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value as Json;
use sqlx::AnyConnection;

use super::batch::{self, ExecuteError, PlannedCreate, PlannedUpdate, Single};
use super::change::{ChangeTarget, Structure};
use crate::audit::Actor;
use crate::catalog::completeness::on_level;
use crate::catalog::product::{Product, ProductKind, ValueKey, Values};
use crate::catalog::rows;
use crate::catalog::schema::{Family, Owner, Schema};
use crate::catalog::store::{self, sku_key};
use crate::catalog::values;
use crate::db::{Backend, Db, Timestamp, is_unique_violation};
use crate::error::FieldError;

/// Who writes, which decides what they may write.
#[derive(Debug, Clone)]
pub enum Writer {
    /// A person, in the browser or through a token: never ERP-owned values.
    Person(Actor),
    /// An ERP import: ERP-owned values; PIM-owned ones only when it creates
    /// the product and its mapping says so.
    Import { actor: Actor, may_seed_pim: bool },
    /// Sluice itself (demo seeding, schema migrations): anything.
    System(Actor),
}

impl Writer {
    pub fn actor(&self) -> &Actor {
        match self {
            Writer::Person(actor) | Writer::System(actor) => actor,
            Writer::Import { actor, .. } => actor,
        }
    }

    fn check_owner(&self, owner: Owner, creating: bool, key: &ValueKey) -> Result<(), FieldError> {
        let refused = match (self, owner) {
            (Writer::Person(_), Owner::Erp) => Some(format!(
                "{} is owned by the ERP: it is read-only here and changes only through imports",
                key.attribute
            )),
            (Writer::Import { may_seed_pim, .. }, Owner::Pim) if !(creating && *may_seed_pim) => {
                Some(format!(
                    "{} is owned by Sluice: imports may only seed it on new products",
                    key.attribute
                ))
            }
            _ => None,
        };
        match refused {
            Some(message) => Err(value_error(key, message)),
            None => Ok(()),
        }
    }
}

/// One value to set (`Some`) or remove (`None`).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueChange {
    pub key: ValueKey,
    pub data: Option<Json>,
}

/// What to change on an existing product.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    pub values: Vec<ValueChange>,
    pub enabled: Option<bool>,
    pub categories: Option<Vec<String>>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.enabled.is_none() && self.categories.is_none()
    }
}

/// A product to create.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub sku: String,
    pub kind: ProductKind,
    pub family: String,
    pub parent: Option<String>,
    pub enabled: bool,
    pub categories: Vec<String>,
    pub values: Vec<ValueChange>,
}

/// One change as history and proposals record it. Structure changes use the
/// field name (`enabled`, `categories`) as `attribute`; [`Change::target`]
/// reads it typed.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Change {
    pub attribute: String,
    pub locale: Option<String>,
    pub channel: Option<String>,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

/// The result of a write.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Nothing differed: no version, no history, no change-log entry.
    Unchanged(Product),
    /// A new version was written.
    Written {
        product: Product,
        changes: Vec<Change>,
    },
}

impl Outcome {
    pub fn product(&self) -> &Product {
        match self {
            Outcome::Unchanged(product) | Outcome::Written { product, .. } => product,
        }
    }
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("no product with the SKU {0}")]
    NotFound(String),
    #[error("{}", first_message(.0))]
    Forbidden(Vec<FieldError>),
    #[error("{}", first_message(.0))]
    Invalid(Vec<FieldError>),
    #[error("the product changed since version {base}; it is now at version {current}")]
    Stale { base: i64, current: i64 },
    #[error("a product with the SKU {0} already exists")]
    SkuTaken(String),
    #[error("the catalog schema changed while this was being saved; try again")]
    SchemaChanged,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn first_message(errors: &[FieldError]) -> String {
    match errors {
        [only] => only.message.clone(),
        [first, ..] => format!("{} (and {} more)", first.message, errors.len() - 1),
        [] => "invalid".to_owned(),
    }
}

pub(super) fn value_error(key: &ValueKey, message: String) -> FieldError {
    FieldError {
        field: Some(key.attribute.clone()),
        locale: key.locale.clone(),
        channel: key.channel.clone(),
        row: None,
        message,
    }
}

/// Refuses a write validated against a schema that has changed since, and
/// holds the schema still (shared lock) until the write commits, so a schema
/// apply waits for it and it never stores values the new schema forbids.
pub(super) async fn ensure_schema_current(
    conn: &mut AnyConnection,
    schema: &Schema,
) -> Result<(), WriteError> {
    let current = store::lock_schema_version(conn, false).await?;
    if current == schema.version {
        Ok(())
    } else {
        Err(WriteError::SchemaChanged)
    }
}

/// SKU rules: non-empty, no whitespace, at most 64 characters.
pub fn check_sku(sku: &str) -> Result<(), FieldError> {
    let problem = if sku.is_empty() {
        Some("the SKU is empty".to_owned())
    } else if sku.chars().any(char::is_whitespace) {
        Some(format!("the SKU {sku:?} contains whitespace"))
    } else if sku.chars().count() > 64 {
        Some(format!(
            "the SKU is {} characters long; at most 64",
            sku.chars().count()
        ))
    } else if sku.chars().any(char::is_control) {
        Some("the SKU contains control characters".to_owned())
    } else {
        None
    };
    match problem {
        Some(message) => Err(FieldError::field("sku", message)),
        None => Ok(()),
    }
}

/// Checks one value change against the schema, the family and the level,
/// and returns the normalized data. Ownership is checked before, by the caller.
fn check_value(
    schema: &Schema,
    family: &Family,
    kind: ProductKind,
    change: &ValueChange,
) -> Result<Option<Json>, Vec<FieldError>> {
    let key = &change.key;
    let fail = |message: String| Err(vec![value_error(key, message)]);
    let Some(attribute) = schema.attribute(&key.attribute) else {
        return fail(format!("there is no attribute {}", key.attribute));
    };
    if !family.attributes.iter().any(|a| a == &key.attribute) {
        return fail(format!(
            "{} is not an attribute of the family {}",
            key.attribute, family.code
        ));
    }
    if !on_level(family, kind, &key.attribute) {
        let message = match kind {
            ProductKind::Variant => format!(
                "{} is shared by all variants: change it on the model",
                key.attribute
            ),
            _ => format!("{} is set on each variant, not on the model", key.attribute),
        };
        return fail(message);
    }
    match (&key.locale, attribute.localizable) {
        (None, true) => return fail(format!("{} is localizable: give a locale", key.attribute)),
        (Some(_), false) => {
            return fail(format!(
                "{} is not localizable: leave the locale empty",
                key.attribute
            ));
        }
        (Some(locale), true) if !schema.has_locale(locale) => {
            return fail(format!("there is no locale {locale}"));
        }
        _ => {}
    }
    match (&key.channel, attribute.scopable) {
        (None, _) => {}
        (Some(_), false) => {
            return fail(format!(
                "{} is the same on every channel: leave the channel empty",
                key.attribute
            ));
        }
        (Some(channel), true) => match schema.channel(channel) {
            None => return fail(format!("there is no channel {channel}")),
            Some(found) => {
                if let Some(locale) = &key.locale
                    && !found.locales.iter().any(|l| l == locale)
                {
                    return fail(format!("{locale} is not a locale of the channel {channel}"));
                }
            }
        },
    }
    match &change.data {
        None | Some(Json::Null) => {
            if kind == ProductKind::Variant
                && family.variant_axes.iter().any(|a| a == &key.attribute)
            {
                return fail(format!(
                    "{} is a variant axis: every variant needs a value",
                    key.attribute
                ));
            }
            Ok(None)
        }
        Some(data) => values::normalize(attribute, schema, data)
            .map(Some)
            .map_err(|message| vec![value_error(key, message)]),
    }
}

pub(super) fn check_categories(
    schema: &Schema,
    categories: &[String],
) -> Result<Vec<String>, Vec<FieldError>> {
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    for code in categories {
        if schema.category(code).is_none() {
            errors.push(FieldError::field(
                ChangeTarget::Categories.field(),
                format!("there is no category {code}"),
            ));
        }
        seen.insert(code.clone());
    }
    if errors.is_empty() {
        Ok(seen.into_iter().collect())
    } else {
        Err(errors)
    }
}

/// The variant's axis values joined in axis order: unique within a model.
pub(super) fn axis_key(family: &Family, kind: ProductKind, values: &Values) -> Option<String> {
    if kind != ProductKind::Variant {
        return None;
    }
    let parts: Vec<String> = family
        .variant_axes
        .iter()
        .map(|axis| {
            values
                .get(&ValueKey::new(axis, None, None))
                .map_or_else(String::new, |v| v.as_str().unwrap_or_default().to_owned())
        })
        .collect();
    Some(parts.join("\u{1f}"))
}

/// What value changes are checked against: the schema, the product's family
/// and level, and who writes.
pub(super) struct ValueContext<'a> {
    pub schema: &'a Schema,
    pub family: &'a Family,
    pub kind: ProductKind,
    pub writer: &'a Writer,
    pub creating: bool,
}

/// The outcome of applying value changes: what differed, what was invalid,
/// and what the writer may not write at all.
#[derive(Default)]
pub(super) struct ValueResult {
    pub changes: Vec<Change>,
    pub errors: Vec<FieldError>,
    pub forbidden: Vec<FieldError>,
}

/// Applies value changes to `values`, collecting every error and the changes that differ.
pub(super) fn apply_values(
    ctx: &ValueContext<'_>,
    values: &mut Values,
    requested: &[ValueChange],
) -> ValueResult {
    let mut result = ValueResult::default();
    let mut seen = std::collections::HashSet::new();
    for change in requested {
        if !seen.insert(&change.key) {
            result.errors.push(value_error(
                &change.key,
                format!("{} is given twice in one change", change.key),
            ));
            continue;
        }
        // Ownership first: a refused owner is a 403, whatever else is wrong.
        if let Some(attribute) = ctx.schema.attribute(&change.key.attribute)
            && let Err(err) = ctx
                .writer
                .check_owner(attribute.owner, ctx.creating, &change.key)
        {
            result.forbidden.push(err);
            continue;
        }
        match check_value(ctx.schema, ctx.family, ctx.kind, change) {
            Ok(data) => {
                let before = values.get(&change.key).cloned();
                // A multiselect in another order is the same set: no change.
                if !values::same_field(
                    ctx.schema,
                    &change.key.attribute,
                    before.as_ref(),
                    data.as_ref(),
                ) {
                    values.set(&change.key, data.clone());
                    result.changes.push(Change {
                        attribute: change.key.attribute.clone(),
                        locale: change.key.locale.clone(),
                        channel: change.key.channel.clone(),
                        before,
                        after: data,
                    });
                }
            }
            Err(mut found) => result.errors.append(&mut found),
        }
    }
    result
}

/// Creates a product through the write path.
pub async fn create(
    db: &Db,
    schema: &Schema,
    writer: &Writer,
    new: NewProduct,
    now: Timestamp,
) -> Result<Product, WriteError> {
    let mut tx = db.begin_write().await?;
    let product = create_in(&mut tx, schema, writer, new, now).await?;
    tx.commit().await?;
    Ok(product)
}

/// [`create`] inside the caller's transaction: a batch of one.
pub async fn create_in(
    conn: &mut AnyConnection,
    schema: &Schema,
    writer: &Writer,
    new: NewProduct,
    now: Timestamp,
) -> Result<Product, WriteError> {
    ensure_schema_current(conn, schema).await?;
    let found = match (new.kind, &new.parent) {
        (ProductKind::Variant, Some(parent_sku)) => store::find(&mut *conn, parent_sku).await?,
        _ => None,
    };
    let sku = new.sku.clone();
    let planned = check_new(schema, writer, new, found.as_ref().map(|s| &s.product), now)?;
    let family = schema.family(&planned.product.family).cloned();
    let parent_sku = planned.product.parent.clone();
    batch::write_single(conn, writer.actor(), Single::Create(planned), true, now)
        .await
        .map_err(|err| explain_refusal(err, &sku, family.as_ref(), parent_sku.as_deref()))
}

/// Checks a new product (SKU, family, level and parent, categories, owner
/// and every value) and builds what a create writes: the one check of a
/// single create and an import's. `parent` is the product its parent SKU
/// names, looked up by the caller.
pub(super) fn check_new(
    schema: &Schema,
    writer: &Writer,
    new: NewProduct,
    parent: Option<&Product>,
    now: Timestamp,
) -> Result<PlannedCreate, WriteError> {
    let mut errors = Vec::new();
    if let Err(err) = check_sku(&new.sku) {
        errors.push(err);
    }
    let Some(family) = schema.family(&new.family) else {
        errors.push(FieldError::field(
            "family",
            format!("there is no family {}", new.family),
        ));
        return Err(WriteError::Invalid(errors));
    };
    let parent_ok = check_level(family, new.kind, new.parent.as_deref(), parent, &mut errors);
    let parent = parent.filter(|_| parent_ok).map(|model| model.sku.clone());
    let categories = match check_categories(schema, &new.categories) {
        Ok(categories) => categories,
        Err(mut found) => {
            errors.append(&mut found);
            Vec::new()
        }
    };
    let mut product = Product {
        id: 0,
        sku: new.sku,
        kind: new.kind,
        family: family.code.clone(),
        parent,
        enabled: new.enabled,
        categories,
        values: Values::default(),
        version: 1,
        created: now,
        updated: now,
    };
    let ctx = ValueContext {
        schema,
        family,
        kind: new.kind,
        writer,
        creating: true,
    };
    let ValueResult {
        changes,
        errors: mut value_errors,
        forbidden,
    } = apply_values(&ctx, &mut product.values, &new.values);
    // A refused owner is a 403, whatever else is wrong.
    if !forbidden.is_empty() {
        return Err(WriteError::Forbidden(forbidden));
    }
    errors.append(&mut value_errors);
    if new.kind == ProductKind::Variant {
        for axis in &family.variant_axes {
            if product
                .values
                .get(&ValueKey::new(axis, None, None))
                .is_none()
            {
                errors.push(FieldError::field(
                    axis,
                    format!("{axis} is a variant axis: every variant needs a value"),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(WriteError::Invalid(errors));
    }
    let changes = creation_changes(&product, product.parent.as_deref(), changes);
    Ok(PlannedCreate {
        stored: None,
        digest: None,
        axis: axis_key(family, product.kind, &product.values),
        parent_key: product.parent.as_deref().map(sku_key),
        product,
        changes,
    })
}

/// A single write's refusal by the database explained: a unique violation
/// names the SKU or the variant's axis values; a model gone missing between
/// the check and the insert is no model.
fn explain_refusal(
    err: ExecuteError,
    sku: &str,
    family: Option<&Family>,
    parent_sku: Option<&str>,
) -> WriteError {
    match (err, family) {
        (ExecuteError::Write(WriteError::Database(db)), Some(family))
            if is_unique_violation(&db) =>
        {
            unique_violation(&db, sku, family, parent_sku)
        }
        (ExecuteError::MasterMoved, _) => WriteError::Invalid(vec![FieldError::field(
            "parent",
            format!("there is no model {}", parent_sku.unwrap_or_default()),
        )]),
        (ExecuteError::Write(err), _) => err,
    }
}

/// Checks a new product's level against its family and its parent (`found`:
/// the product the parent SKU names, looked up by the caller), adding what
/// is wrong to `errors`; answers whether the parent may be used.
pub(super) fn check_level(
    family: &Family,
    kind: ProductKind,
    parent_sku: Option<&str>,
    found: Option<&Product>,
    errors: &mut Vec<FieldError>,
) -> bool {
    let mut ok = true;
    let mut refuse = |message: String| {
        errors.push(FieldError::field("parent", message));
        ok = false;
    };
    match (kind, parent_sku, found) {
        (ProductKind::Variant, Some(_), Some(model))
            if model.kind == ProductKind::Model && model.family == family.code => {}
        (ProductKind::Variant, Some(parent_sku), Some(_)) => refuse(format!(
            "{parent_sku} is not a model of the family {}",
            family.code
        )),
        (ProductKind::Variant, Some(parent_sku), None) => {
            refuse(format!("there is no model {parent_sku}"));
        }
        (ProductKind::Variant, None, _) => {
            refuse("a variant needs the SKU of its model".to_owned())
        }
        (_, Some(_), _) => refuse("only variants have a parent".to_owned()),
        (_, None, _) => {}
    }
    if kind != ProductKind::Simple && family.variant_axes.is_empty() {
        errors.push(FieldError::field(
            "kind",
            format!(
                "the family {} has no variant axes, so its products are simple",
                family.code
            ),
        ));
    }
    ok
}

/// A new product's first history entry: its structure, then its values.
pub(super) fn creation_changes(
    product: &Product,
    parent_sku: Option<&str>,
    mut values: Vec<Change>,
) -> Vec<Change> {
    let mut structure = vec![
        ChangeTarget::Structure(Structure::Sku).change(None, Some(Json::from(product.sku.clone()))),
        ChangeTarget::Structure(Structure::Kind)
            .change(None, Some(Json::from(product.kind.as_str()))),
        ChangeTarget::Structure(Structure::Family)
            .change(None, Some(Json::from(product.family.clone()))),
        ChangeTarget::Enabled.change(None, Some(Json::from(product.enabled))),
    ];
    if let Some(parent_sku) = parent_sku {
        structure.push(
            ChangeTarget::Structure(Structure::Parent).change(None, Some(Json::from(parent_sku))),
        );
    }
    if !product.categories.is_empty() {
        structure.push(
            ChangeTarget::Categories.change(None, Some(Json::from(product.categories.clone()))),
        );
    }
    structure.append(&mut values);
    structure
}

/// Explains a unique violation from the constraint it names (no query: on
/// PostgreSQL the transaction is aborted by then): the SKU, or the variant's
/// axis combination within its model.
pub(super) fn unique_violation(
    err: &sqlx::Error,
    sku: &str,
    family: &Family,
    parent_sku: Option<&str>,
) -> WriteError {
    let text = match err {
        sqlx::Error::Database(db) => {
            format!("{} {}", db.constraint().unwrap_or_default(), db.message())
        }
        other => other.to_string(),
    };
    if text.contains("axis_key") {
        WriteError::Invalid(vec![FieldError::field(
            family.variant_axes.first().map_or("sku", String::as_str),
            format!(
                "another variant of {} already has these {} values",
                parent_sku.unwrap_or("this model"),
                family.variant_axes.join("/")
            ),
        )])
    } else {
        WriteError::SkuTaken(sku.to_owned())
    }
}

/// What `requested` would make of `before`, checked exactly as a write would
/// check it (owner, family, level, locale and channel, values, categories),
/// without writing: the product after, and the changes that differ. Review
/// uses it to validate proposals and to show what an approval would do.
pub fn preview(
    schema: &Schema,
    writer: &Writer,
    before: &Product,
    requested: &ChangeSet,
) -> Result<(Product, Vec<Change>), WriteError> {
    let Some(family) = schema.family(&before.family) else {
        return Err(WriteError::Invalid(vec![FieldError::field(
            "family",
            format!("the family {} no longer exists", before.family),
        )]));
    };
    let mut errors = Vec::new();
    let mut product = before.clone();
    let ctx = ValueContext {
        schema,
        family,
        kind: product.kind,
        writer,
        creating: false,
    };
    let ValueResult {
        mut changes,
        errors: mut value_errors,
        forbidden,
    } = apply_values(&ctx, &mut product.values, &requested.values);
    if !forbidden.is_empty() {
        return Err(WriteError::Forbidden(forbidden));
    }
    errors.append(&mut value_errors);
    if let Some(enabled) = requested.enabled
        && enabled != product.enabled
    {
        changes.push(
            ChangeTarget::Enabled
                .change(Some(Json::from(product.enabled)), Some(Json::from(enabled))),
        );
        product.enabled = enabled;
    }
    if let Some(categories) = &requested.categories {
        match check_categories(schema, categories) {
            Ok(categories) if categories != product.categories => {
                changes.push(ChangeTarget::Categories.change(
                    Some(Json::from(product.categories.clone())),
                    Some(Json::from(categories.clone())),
                ));
                product.categories = categories;
            }
            Ok(_) => {}
            Err(mut found) => errors.append(&mut found),
        }
    }
    if errors.is_empty() {
        Ok((product, changes))
    } else {
        Err(WriteError::Invalid(errors))
    }
}

/// Changes a product through the write path. With `base_version`, a product
/// that moved on since is refused as stale.
pub async fn update(
    db: &Db,
    schema: &Schema,
    writer: &Writer,
    sku: &str,
    base_version: Option<i64>,
    changes: &ChangeSet,
    now: Timestamp,
) -> Result<Outcome, WriteError> {
    let mut tx = db.begin_write().await?;
    let outcome = update_in(
        &mut tx,
        db.backend(),
        schema,
        writer,
        sku,
        base_version,
        changes,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// [`update`] inside the caller's transaction. The product row is locked
/// (PostgreSQL) so two writers of one product queue instead of racing.
#[expect(
    clippy::too_many_arguments,
    reason = "the write path's inputs are all distinct"
)]
pub async fn update_in(
    conn: &mut AnyConnection,
    backend: Backend,
    schema: &Schema,
    writer: &Writer,
    sku: &str,
    base_version: Option<i64>,
    requested: &ChangeSet,
    now: Timestamp,
) -> Result<Outcome, WriteError> {
    ensure_schema_current(conn, schema).await?;
    let sql = format!(
        "SELECT {} FROM {} WHERE p.sku_key = $1{}",
        store::PRODUCT_COLUMNS,
        store::PRODUCT_FROM,
        backend.lock_rows_of("p")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(sku_key(sku))
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| WriteError::NotFound(sku.to_owned()))?;
    let stored = store::product_from_row(&row)?;
    let before = stored.product.clone();
    if let Some(base) = base_version
        && base != before.version
    {
        return Err(WriteError::Stale {
            base,
            current: before.version,
        });
    }
    let (mut product, changes) = preview(schema, writer, &before, requested)?;
    if changes.is_empty() {
        return Ok(Outcome::Unchanged(before));
    }
    let family = schema.family(&before.family);
    product.version += 1;
    product.updated = now;
    let update = PlannedUpdate {
        axis: family.and_then(|family| axis_key(family, product.kind, &product.values)),
        categories_changed: changes
            .iter()
            .any(|change| change.target() == ChangeTarget::Categories),
        stored: None,
        digest: None,
        product,
        changes: changes.clone(),
    };
    let product = batch::write_single(conn, writer.actor(), Single::Update(update), true, now)
        .await
        .map_err(|err| match err {
            // The row is locked: only a concurrent writer on SQLite without
            // `BEGIN IMMEDIATE` could move it.
            ExecuteError::MasterMoved => WriteError::Stale {
                base: before.version,
                current: before.version + 1,
            },
            other => explain_refusal(other, &before.sku, family, before.parent.as_deref()),
        })?;
    Ok(Outcome::Written { product, changes })
}

/// What one stretch of a schema purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Products judged (those the steps may affect, in the stretch).
    pub judged: usize,
    /// Products rewritten (that lost a value or a category).
    pub changed: usize,
    /// The last product id judged; `None` when the stretch was empty.
    pub last: Option<i64>,
}

/// How many products the destructive `steps` may affect: the total of a
/// stepped purge, counted before its first stretch.
pub async fn count_for_schema_change(
    conn: &mut AnyConnection,
    steps: &[&crate::catalog::plan::Step],
) -> Result<i64, WriteError> {
    Ok(rows::count_affected(conn, steps).await?)
}

/// What a destructive step removes, worked out once per step.
struct PurgeRule<'a> {
    step: &'a crate::catalog::plan::Step,
    removed_from_family: Vec<String>,
    dropped_options: Vec<String>,
    whole_attribute: bool,
}

impl<'a> PurgeRule<'a> {
    fn new(step: &'a crate::catalog::plan::Step, current: &Schema, desired: &Schema) -> Self {
        use crate::catalog::plan::Action;
        let removed_from_family: Vec<String> =
            match (current.family(&step.code), desired.family(&step.code)) {
                (Some(old), Some(new)) if step.kind == "family" => old
                    .attributes
                    .iter()
                    .filter(|a| !new.attributes.contains(a))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
        let dropped_options: Vec<String> =
            match (current.attribute(&step.code), desired.attribute(&step.code)) {
                (Some(old), Some(new))
                    if old.kind == new.kind
                        && old.localizable == new.localizable
                        && old.scopable == new.scopable =>
                {
                    old.options
                        .iter()
                        .filter(|o| !new.options.iter().any(|n| n.code == o.code))
                        .map(|o| o.code.clone())
                        .collect()
                }
                _ => Vec::new(),
            };
        let whole_attribute = step.kind == "attribute"
            && (step.action == Action::Delete || dropped_options.is_empty());
        Self {
            step,
            removed_from_family,
            dropped_options,
            whole_attribute,
        }
    }

    /// The product without what the step removes, and the changes; no
    /// changes when it held nothing of it.
    fn apply(&self, product: &mut Product) -> (Vec<Change>, bool) {
        let step = self.step;
        let mut changes = Vec::new();
        let keys: Vec<(ValueKey, Json)> =
            product.values.iter().map(|(k, v)| (k, v.clone())).collect();
        for (key, data) in keys {
            let after = match step.kind {
                "attribute" if key.attribute == step.code => {
                    if self.whole_attribute {
                        None
                    } else {
                        without_options(&data, &self.dropped_options)
                    }
                }
                "locale" if key.locale.as_deref() == Some(step.code.as_str()) => None,
                "channel" if key.channel.as_deref() == Some(step.code.as_str()) => None,
                "family" if self.removed_from_family.contains(&key.attribute) => None,
                "currency" => without_currency(&data, &step.code),
                _ => Some(data.clone()),
            };
            if after.as_ref() != Some(&data) {
                product.values.set(&key, after.clone());
                changes.push(Change {
                    attribute: key.attribute.clone(),
                    locale: key.locale.clone(),
                    channel: key.channel.clone(),
                    before: Some(data),
                    after,
                });
            }
        }
        let categories_changed = step.kind == "category" && product.categories.contains(&step.code);
        if categories_changed {
            let remaining: Vec<String> = product
                .categories
                .iter()
                .filter(|c| **c != step.code)
                .cloned()
                .collect();
            changes.push(ChangeTarget::Categories.change(
                Some(Json::from(product.categories.clone())),
                Some(Json::from(remaining.clone())),
            ));
            product.categories = remaining;
        }
        (changes, categories_changed)
    }
}

/// Rewrites the products the destructive schema `steps` affect, through the
/// same history and change log as every other write (one version per step
/// that changes a product): values of a deleted or reshaped attribute,
/// values naming removed options, a removed locale, channel or currency,
/// and assignments to a removed category. Only products with an id above
/// `after`, at most `limit` of them (all with `None`), so a long purge runs
/// as a series of short transactions, each resuming after the last.
#[expect(
    clippy::too_many_arguments,
    reason = "the two schemas, the stretch and who asked are all the purge needs"
)]
pub(crate) async fn purge_for_schema_change(
    conn: &mut AnyConnection,
    desired: &Schema,
    actor: &Actor,
    steps: &[&crate::catalog::plan::Step],
    current: &Schema,
    after: i64,
    limit: Option<usize>,
    now: Timestamp,
) -> Result<Purged, WriteError> {
    // Lock the stretch's products before the first change-log number is
    // taken, in id order, so concurrent writers queue instead of deadlocking.
    let Some(ids) = rows::affected_locked(conn, steps, after, limit).await? else {
        return Ok(Purged::default());
    };
    let rules: Vec<PurgeRule> = steps
        .iter()
        .map(|step| PurgeRule::new(step, current, desired))
        .collect();
    let mut purged = Purged {
        judged: ids.len(),
        changed: 0,
        last: ids.last().copied(),
    };
    for id in ids {
        let Some(stored) = store::find_by_id(&mut *conn, id).await? else {
            continue;
        };
        let mut product = stored.product.clone();
        let mut changed = false;
        for rule in &rules {
            let (changes, categories_changed) = rule.apply(&mut product);
            if changes.is_empty() {
                continue;
            }
            changed = true;
            product.version += 1;
            product.updated = now;
            // The stored axis key stays (`axis: None`), and so do the
            // variants' change-log entries: a purge writes the product only.
            let update = PlannedUpdate {
                product: product.clone(),
                stored: None,
                digest: None,
                axis: None,
                categories_changed,
                changes,
            };
            batch::write_single(conn, actor, Single::Update(update), false, now)
                .await
                .map_err(ExecuteError::into_write)?;
        }
        purged.changed += usize::from(changed);
    }
    Ok(purged)
}

/// A price list without the entries in `currency` (`None` when nothing is
/// left); any other value unchanged.
fn without_currency(data: &Json, currency: &str) -> Option<Json> {
    match data {
        Json::Array(items) if items.iter().any(|i| i.get("currency").is_some()) => {
            let kept: Vec<Json> = items
                .iter()
                .filter(|i| i.get("currency").and_then(Json::as_str) != Some(currency))
                .cloned()
                .collect();
            (!kept.is_empty()).then_some(Json::Array(kept))
        }
        other => Some(other.clone()),
    }
}

/// A select value, or a multiselect list, without the removed options
/// (`None` when nothing is left).
fn without_options(data: &Json, dropped: &[String]) -> Option<Json> {
    match data {
        Json::String(code) if dropped.contains(code) => None,
        Json::Array(codes) => {
            let kept: Vec<Json> = codes
                .iter()
                .filter(|c| {
                    c.as_str()
                        .is_none_or(|code| !dropped.iter().any(|d| d == code))
                })
                .cloned()
                .collect();
            (!kept.is_empty()).then_some(Json::Array(kept))
        }
        other => Some(other.clone()),
    }
}
