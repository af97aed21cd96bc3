//! Catalog tables: the schema (one JSON definition per entity in
//! `catalog_schema`) and product reads. Product *writes* go through
//! [`crate::workflow::write`], the single write path.

use std::sync::{Arc, RwLock};

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, FromRow, Row};

use super::product::{Product, ProductKind, Values};
use super::schema::Schema;
use crate::db::builder::SqlBuilder;
use crate::db::bulk::{self, Param};
use crate::db::{Backend, Db, StoredBool, Timestamp};

/// Kinds of schema entity, as stored in `catalog_schema.kind`.
pub const KINDS: [&str; 8] = [
    "locale",
    "currency",
    "channel",
    "group",
    "attribute",
    "family",
    "category",
    "media_preset",
];

fn decode<T: serde::de::DeserializeOwned>(
    kind: &str,
    code: &str,
    text: &str,
) -> Result<T, sqlx::Error> {
    serde_json::from_str(text).map_err(|err| {
        sqlx::Error::Decode(format!("stored {kind} {code} is not valid: {err}").into())
    })
}

/// Reads the whole schema and its version in one query (one snapshot).
pub async fn load_schema<'e, E: Executor<'e, Database = Any>>(
    executor: E,
) -> Result<Schema, sqlx::Error> {
    let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT kind, code, position, definition FROM catalog_schema \
         UNION ALL SELECT '~version', '', value, '' FROM counters WHERE name = 'schema' \
         ORDER BY 1, 3, 2",
    )
    .fetch_all(executor)
    .await?;
    let mut schema = Schema::default();
    for (kind, code, position, text) in rows {
        match kind.as_str() {
            "locale" => schema.locales.push(decode(&kind, &code, &text)?),
            "currency" => schema.currencies.push(decode(&kind, &code, &text)?),
            "channel" => schema.channels.push(decode(&kind, &code, &text)?),
            "group" => schema.groups.push(decode(&kind, &code, &text)?),
            "attribute" => schema.attributes.push(decode(&kind, &code, &text)?),
            "family" => schema.families.push(decode(&kind, &code, &text)?),
            "category" => schema.categories.push(decode(&kind, &code, &text)?),
            "media_preset" => schema.media_presets.push(decode(&kind, &code, &text)?),
            "~version" => schema.version = position,
            _ => {}
        }
    }
    Ok(schema)
}

/// The stored schema's version, locked for this transaction: shared by
/// product writes (which validated against it), exclusive for schema applies.
pub async fn lock_schema_version(
    conn: &mut AnyConnection,
    exclusive: bool,
) -> Result<i64, sqlx::Error> {
    crate::db::counters::read_locked(conn, "schema", exclusive).await
}

/// Writes (inserts or replaces) one schema entity.
pub async fn put_entity(
    conn: &mut AnyConnection,
    kind: &str,
    code: &str,
    position: i64,
    definition: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO catalog_schema (kind, code, position, definition) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, code) DO UPDATE SET position = $3, definition = $4",
    )
    .bind(kind)
    .bind(code)
    .bind(position)
    .bind(definition.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete_entity(
    conn: &mut AnyConnection,
    kind: &str,
    code: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM catalog_schema WHERE kind = $1 AND code = $2")
        .bind(kind)
        .bind(code)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks the schema as changed so every node reloads it.
pub async fn bump_schema_version(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    crate::db::counters::bump(conn, "schema", 1).await?;
    Ok(())
}

async fn schema_version(db: &Db) -> Result<i64, sqlx::Error> {
    crate::db::counters::read(db.pool(), "schema")
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// The schema, reloaded only when its version counter moved (one cheap
/// query per use), so several app nodes stay in step.
#[derive(Debug, Default)]
pub struct SchemaCache {
    cached: RwLock<Option<(i64, Arc<Schema>)>>,
}

impl SchemaCache {
    pub async fn get(&self, db: &Db) -> Result<Arc<Schema>, sqlx::Error> {
        let version = schema_version(db).await?;
        if let Ok(guard) = self.cached.read()
            && let Some((cached_version, schema)) = guard.as_ref()
            && *cached_version == version
        {
            return Ok(schema.clone());
        }
        let schema = Arc::new(load_schema(db.pool()).await?);
        if let Ok(mut guard) = self.cached.write() {
            *guard = Some((schema.version, schema.clone()));
        }
        Ok(schema)
    }
}

pub(crate) const PRODUCT_COLUMNS: &str = "p.id, p.sku, p.kind, p.family, p.enabled, p.categories, \
     p.product_values, p.version, p.created_at, p.updated_at, p.parent_id, pp.sku AS parent_sku";

pub(crate) const PRODUCT_FROM: &str = "products p LEFT JOIN products pp ON pp.id = p.parent_id";

/// A condition for another module's query: the product whose id is in
/// `product_id` (a column of that query) is in one of the categories bound
/// at `placeholders` (`$n, $m, …`). Kept inside the caller's one query.
pub(crate) fn in_categories(product_id: &str, placeholders: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = {product_id} \
         AND pc.category IN ({placeholders}))"
    )
}

/// A product row with its storage ids.
#[derive(Debug, Clone)]
pub struct StoredProduct {
    pub product: Product,
    pub parent_id: Option<i64>,
}

/// The [`PRODUCT_COLUMNS`] of a row as stored; [`product_from_row`]
/// decodes its kind and JSON documents.
#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    sku: String,
    kind: String,
    family: String,
    #[sqlx(try_from = "StoredBool")]
    enabled: bool,
    categories: String,
    product_values: String,
    version: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
    parent_id: Option<i64>,
    parent_sku: Option<String>,
}

pub(crate) fn product_from_row(row: &AnyRow) -> Result<StoredProduct, sqlx::Error> {
    let row = ProductRow::from_row(row)?;
    let (sku, kind) = (row.sku, row.kind);
    Ok(StoredProduct {
        product: Product {
            id: row.id,
            kind: ProductKind::parse(&kind).ok_or_else(|| {
                sqlx::Error::Decode(format!("product {sku} has kind {kind}").into())
            })?,
            family: row.family,
            parent: row.parent_sku,
            enabled: row.enabled,
            categories: decode("product categories", &sku, &row.categories)?,
            values: decode::<Values>("product values", &sku, &row.product_values)?,
            version: row.version,
            created: row.created_at,
            updated: row.updated_at,
            sku,
        },
        parent_id: row.parent_id,
    })
}

/// The case-insensitive key a SKU is unique by.
pub fn sku_key(sku: &str) -> String {
    sku.to_lowercase()
}

/// A product by SKU (case-insensitive).
pub async fn find<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    sku: &str,
) -> Result<Option<StoredProduct>, sqlx::Error> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM {PRODUCT_FROM} WHERE p.sku_key = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(sku_key(sku))
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(product_from_row).transpose()
}

pub async fn find_by_id<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Option<StoredProduct>, sqlx::Error> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM {PRODUCT_FROM} WHERE p.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(product_from_row).transpose()
}

/// The variants of a model, by SKU.
pub async fn variants_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    model_id: i64,
) -> Result<Vec<StoredProduct>, sqlx::Error> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM {PRODUCT_FROM} WHERE p.parent_id = $1 ORDER BY p.sku_key"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(model_id)
        .fetch_all(executor)
        .await?;
    rows.iter().map(product_from_row).collect()
}

/// A value resolved for display: where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Own,
    Inherited,
}

/// A variant's values merged with its model's (its own win); other kinds unchanged.
pub fn resolved_values(product: &Product, model: Option<&Product>) -> Values {
    match model {
        Some(model) if product.kind == ProductKind::Variant => {
            let mut merged = model.values.clone();
            for (key, data) in product.values.iter() {
                merged.set(&key, Some(data.clone()));
            }
            merged
        }
        _ => product.values.clone(),
    }
}

/// How a product list is sorted. Every sort ends in a unique key (the SKU
/// key or the id), so keyset pages neither skip nor repeat a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProductSort {
    #[default]
    SkuAsc,
    SkuDesc,
    UpdatedDesc,
    UpdatedAsc,
    FamilyAsc,
    FamilyDesc,
}

/// The column a list is sorted by, whichever the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    Sku,
    Family,
    Updated,
}

impl ProductSort {
    pub const ALL: [ProductSort; 6] = [
        ProductSort::SkuAsc,
        ProductSort::SkuDesc,
        ProductSort::UpdatedDesc,
        ProductSort::UpdatedAsc,
        ProductSort::FamilyAsc,
        ProductSort::FamilyDesc,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sort| sort.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProductSort::SkuAsc => "sku",
            ProductSort::SkuDesc => "-sku",
            ProductSort::UpdatedDesc => "-updated",
            ProductSort::UpdatedAsc => "updated",
            ProductSort::FamilyAsc => "family",
            ProductSort::FamilyDesc => "-family",
        }
    }

    pub fn column(self) -> SortColumn {
        match self {
            ProductSort::SkuAsc | ProductSort::SkuDesc => SortColumn::Sku,
            ProductSort::UpdatedDesc | ProductSort::UpdatedAsc => SortColumn::Updated,
            ProductSort::FamilyAsc | ProductSort::FamilyDesc => SortColumn::Family,
        }
    }

    pub fn descending(self) -> bool {
        matches!(
            self,
            ProductSort::SkuDesc | ProductSort::UpdatedDesc | ProductSort::FamilyDesc
        )
    }

    /// The sort by `column` in the given direction.
    pub fn by(column: SortColumn, descending: bool) -> Self {
        match (column, descending) {
            (SortColumn::Sku, false) => ProductSort::SkuAsc,
            (SortColumn::Sku, true) => ProductSort::SkuDesc,
            (SortColumn::Updated, false) => ProductSort::UpdatedAsc,
            (SortColumn::Updated, true) => ProductSort::UpdatedDesc,
            (SortColumn::Family, false) => ProductSort::FamilyAsc,
            (SortColumn::Family, true) => ProductSort::FamilyDesc,
        }
    }

    /// The first letter of this sort's cursors.
    fn cursor_prefix(self) -> &'static str {
        match self {
            ProductSort::SkuAsc => "s",
            ProductSort::SkuDesc => "d",
            ProductSort::UpdatedDesc => "u",
            ProductSort::UpdatedAsc => "o",
            ProductSort::FamilyAsc => "f",
            ProductSort::FamilyDesc => "g",
        }
    }

    /// The columns rows are ordered by: the sorted one, then a unique one.
    fn key_columns(self) -> (&'static str, Option<&'static str>) {
        match self.column() {
            SortColumn::Sku => ("p.sku_key", None),
            SortColumn::Updated => ("p.updated_at", Some("p.id")),
            SortColumn::Family => ("p.family", Some("p.sku_key")),
        }
    }
}

/// Filters of the product grid and `GET /api/v1/products`.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub family: Option<String>,
    /// Products in any of these categories (a category and its subtree).
    pub categories: Option<Vec<String>>,
    pub kind: Option<ProductKind>,
    pub enabled: Option<bool>,
    /// Products missing a required value for this channel.
    pub missing_for: Option<String>,
    /// Products whose stored readiness says ready for this (channel, locale).
    pub ready_for: Option<(String, String)>,
    /// Products whose stored readiness says not ready for this (channel, locale).
    pub not_ready_for: Option<(String, String)>,
    /// SKU prefix, case-insensitive.
    pub sku_prefix: Option<String>,
    /// Changed after this moment.
    pub updated_after: Option<Timestamp>,
}

/// A page of products and the cursors of its neighbours: `next_cursor`
/// continues after the page (`cursor=`), `prev_cursor` goes back before it
/// (`before=`); `None` where there is no such page.
#[derive(Debug, Clone)]
pub struct ProductPage {
    pub products: Vec<StoredProduct>,
    pub next_cursor: Option<ProductCursor>,
    pub prev_cursor: Option<ProductCursor>,
}

/// A row's place in one sort: where the next page starts (sent as
/// `cursor`) or where the previous page ends (sent as `before`). Written as
/// `s.KEY` (by SKU), `d.KEY` (by SKU, descending), `u.UPDATED.ID` (newest
/// first), `o.UPDATED.ID` (oldest first), `f.FAMILY.KEY` or `g.FAMILY.KEY`
/// (by family, then SKU), so a cursor sent with another sort is recognised
/// and refused instead of silently starting over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductCursor {
    sort: ProductSort,
    /// The sorted column's value.
    first: String,
    /// The unique column's value, when the sorted one is not unique.
    then: Option<CursorTie>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CursorTie {
    Id(i64),
    SkuKey(String),
}

/// Why a cursor cannot continue a list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("{0:?} is not a cursor this list gave out; start again without one")]
    Malformed(String),
    #[error(
        "this cursor continues a list sorted by {made_for}, not {sent_with}; \
         send sort={made_for} with it, or start again without a cursor"
    )]
    OtherSort {
        made_for: &'static str,
        sent_with: &'static str,
    },
}

impl ProductCursor {
    /// Reads a cursor for a list in `sort`; an empty text is no cursor.
    pub fn parse(sort: ProductSort, text: &str) -> Result<Option<Self>, CursorError> {
        if text.is_empty() {
            return Ok(None);
        }
        let malformed = || CursorError::Malformed(text.chars().take(100).collect());
        let (prefix, rest) = text.split_once('.').ok_or_else(malformed)?;
        let made_for = ProductSort::ALL
            .into_iter()
            .find(|s| s.cursor_prefix() == prefix)
            .ok_or_else(malformed)?;
        let (first, then) = match made_for.column() {
            SortColumn::Sku if !rest.is_empty() => (rest.to_owned(), None),
            SortColumn::Updated => {
                let (at, id) = rest.rsplit_once('.').ok_or_else(malformed)?;
                Timestamp::parse(at).map_err(|_| malformed())?;
                let id = id.parse().map_err(|_| malformed())?;
                (at.to_owned(), Some(CursorTie::Id(id)))
            }
            // Family codes hold no `.`; the SKU key after it may.
            SortColumn::Family => match rest.split_once('.') {
                Some((family, key)) if !family.is_empty() && !key.is_empty() => {
                    (family.to_owned(), Some(CursorTie::SkuKey(key.to_owned())))
                }
                _ => return Err(malformed()),
            },
            SortColumn::Sku => return Err(malformed()),
        };
        if made_for != sort {
            return Err(CursorError::OtherSort {
                made_for: made_for.as_str(),
                sent_with: sort.as_str(),
            });
        }
        Ok(Some(ProductCursor {
            sort: made_for,
            first,
            then,
        }))
    }

    /// The sort this cursor continues.
    pub fn sort(&self) -> ProductSort {
        self.sort
    }

    /// The place of `product` in `sort`.
    fn at(sort: ProductSort, product: &Product) -> Self {
        let (first, then) = match sort.column() {
            SortColumn::Sku => (sku_key(&product.sku), None),
            SortColumn::Updated => (product.updated.to_stored(), Some(CursorTie::Id(product.id))),
            SortColumn::Family => (
                product.family.clone(),
                Some(CursorTie::SkuKey(sku_key(&product.sku))),
            ),
        };
        ProductCursor { sort, first, then }
    }
}

impl std::fmt::Display for ProductCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.sort.cursor_prefix(), self.first)?;
        match &self.then {
            None => Ok(()),
            Some(CursorTie::Id(id)) => write!(f, ".{id}"),
            Some(CursorTie::SkuKey(key)) => write!(f, ".{key}"),
        }
    }
}

/// The WHERE clause of a product list, being built: each filter in use adds
/// one condition and binds only its own values.
struct Conditions {
    sql: SqlBuilder,
    any: bool,
}

impl Conditions {
    /// Starts a condition: ` WHERE ` for the first, ` AND ` after that.
    fn and(&mut self) -> &mut SqlBuilder {
        self.sql.push(if self.any { " AND " } else { " WHERE " });
        self.any = true;
        &mut self.sql
    }
}

/// `select` followed by the conditions of `filter` (products are `p`).
fn filtered(backend: Backend, select: &str, filter: &ProductFilter) -> Conditions {
    let mut c = Conditions {
        sql: SqlBuilder::new(backend, select),
        any: false,
    };
    if let Some(family) = &filter.family {
        c.and()
            .push("p.family = ")
            .push_bind(Param::Text(family.clone()));
    }
    if let Some(kind) = filter.kind {
        c.and()
            .push("p.kind = ")
            .push_bind(Param::Text(kind.as_str().to_owned()));
    }
    if let Some(enabled) = filter.enabled {
        c.and().push("p.enabled = ").push_bind(Param::Bool(enabled));
    }
    if let Some(channel) = &filter.missing_for {
        // A list filter on publish's table, kept in this one query (see .ci/tables.py).
        c.and()
            .push(
                "EXISTS (SELECT 1 FROM product_readiness pr WHERE pr.product_id = p.id \
                 AND pr.channel = ",
            )
            .push_bind(Param::Text(channel.clone()))
            .push(" AND pr.missing_count > 0)");
    }
    if let Some(prefix) = filter.sku_prefix.as_deref().filter(|p| !p.is_empty()) {
        c.and()
            .push("p.sku_key LIKE ")
            .push_bind(Param::Text(format!("{}%", escape_like(&sku_key(prefix)))))
            .push(" ESCAPE '\\'");
    }
    if let Some(after) = filter.updated_after {
        c.and().push("p.updated_at > ").push_bind(Param::At(after));
    }
    for (pair, ready) in [(&filter.ready_for, "1"), (&filter.not_ready_for, "0")] {
        if let Some((channel, locale)) = pair {
            c.and()
                .push(
                    "EXISTS (SELECT 1 FROM product_readiness pv WHERE pv.product_id = p.id \
                     AND pv.channel = ",
                )
                .push_bind(Param::Text(channel.clone()))
                .push(" AND pv.locale = ")
                .push_bind(Param::Text(locale.clone()))
                .push(" AND pv.ready = ")
                .push(ready)
                .push(")");
        }
    }
    if let Some(codes) = &filter.categories {
        // No category matched: a code that cannot exist (codes have no `-`) keeps the query valid.
        let codes: Vec<String> = if codes.is_empty() {
            vec!["-none-".to_owned()]
        } else {
            codes.clone()
        };
        c.and()
            .push(
                "EXISTS (SELECT 1 FROM product_categories pcat WHERE pcat.product_id = p.id \
                 AND pcat.category IN (",
            )
            .push_list(codes.into_iter().map(Param::Text))
            .push("))");
    }
    c
}

/// Which page of a list to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAt {
    First,
    After(ProductCursor),
    Before(ProductCursor),
}

/// The page `at` of the list.
pub async fn page(
    db: &Db,
    filter: &ProductFilter,
    sort: ProductSort,
    at: &PageAt,
    limit: i64,
) -> Result<ProductPage, sqlx::Error> {
    match at {
        PageAt::First => list(db, filter, sort, None, limit).await,
        PageAt::After(cursor) => list(db, filter, sort, Some(cursor), limit).await,
        PageAt::Before(cursor) => list_before(db, filter, sort, cursor, limit).await,
    }
}

/// One page after `cursor` (or the first page), keyset-paginated: stable
/// while products are added or changed, because the cursor names the last
/// row seen, not an offset.
pub async fn list(
    db: &Db,
    filter: &ProductFilter,
    sort: ProductSort,
    cursor: Option<&ProductCursor>,
    limit: i64,
) -> Result<ProductPage, sqlx::Error> {
    let products = fetch(db, filter, sort, cursor, false, limit + 1).await?;
    Ok(page_after(products, sort, cursor.is_some(), limit))
}

/// The page that ends just before `cursor`. When fewer than a page's worth
/// of rows come before it, that is the first page, given whole.
pub async fn list_before(
    db: &Db,
    filter: &ProductFilter,
    sort: ProductSort,
    cursor: &ProductCursor,
    limit: i64,
) -> Result<ProductPage, sqlx::Error> {
    let mut products = fetch(db, filter, sort, Some(cursor), true, limit + 1).await?;
    if i64::try_from(products.len()).unwrap_or(i64::MAX) <= limit {
        return list(db, filter, sort, None, limit).await;
    }
    products.truncate(usize::try_from(limit).unwrap_or(0));
    products.reverse();
    Ok(ProductPage {
        prev_cursor: products
            .first()
            .map(|p| ProductCursor::at(sort, &p.product)),
        // The cursor's own row (or where it was) comes after this page.
        next_cursor: products.last().map(|p| ProductCursor::at(sort, &p.product)),
        products,
    })
}

fn page_after(
    mut products: Vec<StoredProduct>,
    sort: ProductSort,
    after_cursor: bool,
    limit: i64,
) -> ProductPage {
    let more = i64::try_from(products.len()).unwrap_or(i64::MAX) > limit;
    if more {
        products.truncate(usize::try_from(limit).unwrap_or(0));
    }
    let cursor_of = |p: Option<&StoredProduct>| p.map(|p| ProductCursor::at(sort, &p.product));
    ProductPage {
        next_cursor: if more {
            cursor_of(products.last())
        } else {
            None
        },
        prev_cursor: if after_cursor {
            cursor_of(products.first())
        } else {
            None
        },
        products,
    }
}

/// Rows of `filter` after (or, `backward`, before) `cursor` in `sort`,
/// nearest first, at most `limit`.
async fn fetch(
    db: &Db,
    filter: &ProductFilter,
    sort: ProductSort,
    cursor: Option<&ProductCursor>,
    backward: bool,
    limit: i64,
) -> Result<Vec<StoredProduct>, sqlx::Error> {
    let select = format!("SELECT {PRODUCT_COLUMNS} FROM {PRODUCT_FROM}");
    let mut conditions = filtered(db.backend(), &select, filter);
    // Reading backward walks the sort in reverse.
    let descending = sort.descending() != backward;
    let (op, direction) = if descending {
        (" < ", "DESC")
    } else {
        (" > ", "ASC")
    };
    let (first_column, tie_column) = sort.key_columns();
    if let Some(cursor) = cursor {
        let first = || Param::Text(cursor.first.clone());
        let sql = conditions.and();
        match (tie_column, &cursor.then) {
            (Some(column), Some(tie)) => {
                let tie = match tie {
                    CursorTie::Id(id) => Param::Int(*id),
                    CursorTie::SkuKey(key) => Param::Text(key.clone()),
                };
                sql.push("(")
                    .push(first_column)
                    .push(op)
                    .push_bind(first())
                    .push(" OR (")
                    .push(first_column)
                    .push(" = ")
                    .push_bind(first())
                    .push(" AND ")
                    .push(column)
                    .push(op)
                    .push_bind(tie)
                    .push("))");
            }
            _ => {
                sql.push(first_column).push(op).push_bind(first());
            }
        }
    }
    let order = match tie_column {
        Some(tie) => format!(" ORDER BY {first_column} {direction}, {tie} {direction} LIMIT "),
        None => format!(" ORDER BY {first_column} {direction} LIMIT "),
    };
    let mut sql = conditions.sql;
    sql.push(&order).push_bind(Param::Int(limit));
    let rows = sql.fetch_all(db.pool()).await?;
    rows.iter().map(product_from_row).collect()
}

/// How many products a list holds, as far as it was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductCount {
    Exactly(i64),
    /// More than this many: counting stopped there.
    MoreThan(i64),
}

/// How many products match `filter` (the grid's result count), counting at
/// most `cap + 1`: one COUNT with the very conditions of [`list`], stopped
/// early so a broad filter over a large catalog costs about what reading
/// `cap` rows costs, not a walk over every product.
pub async fn count(db: &Db, filter: &ProductFilter, cap: i64) -> Result<ProductCount, sqlx::Error> {
    let mut sql = filtered(
        db.backend(),
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM products p",
        filter,
    )
    .sql;
    sql.push(" LIMIT ")
        .push_bind(Param::Int(cap + 1))
        .push(") counted");
    let rows = sql.fetch_all(db.pool()).await?;
    let n: i64 = match rows.first() {
        Some(row) => row.try_get("n")?,
        None => 0,
    };
    Ok(if n > cap {
        ProductCount::MoreThan(cap)
    } else {
        ProductCount::Exactly(n)
    })
}

/// Products by id (any order); ids that match nothing are left out.
pub async fn find_many(db: &Db, ids: &[i64]) -> Result<Vec<StoredProduct>, sqlx::Error> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(200) {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM {PRODUCT_FROM} WHERE p.id IN ({})",
            bulk::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(db.pool()).await? {
            found.push(product_from_row(&row)?);
        }
    }
    Ok(found)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A LIKE pattern (with `\` as escape) matching text that contains `fragment` literally.
pub fn containing(fragment: &str) -> String {
    format!("%{}%", escape_like(fragment))
}

/// Products holding values of `attribute` (the values document is JSON
/// text on both engines; its keys are quoted attribute codes).
pub async fn products_using_attribute(
    conn: &mut AnyConnection,
    attribute: &str,
) -> Result<i64, sqlx::Error> {
    products_like(conn, &containing(&format!("\"{attribute}\":[")), None).await
}

/// Products (id and SKU, by SKU) whose values name asset `asset_id`: the
/// asset page's "where used" and the products to judge again when an asset
/// is approved, rejected or removed. Asset ids are 16 hex digits, quoted in
/// the JSON text, so the match is exact.
pub async fn products_using_asset(
    conn: &mut AnyConnection,
    asset_id: &str,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, sku FROM products WHERE product_values LIKE $1 ESCAPE '\\' ORDER BY sku_key",
    )
    .bind(containing(&format!("\"{asset_id}\"")))
    .fetch_all(&mut *conn)
    .await
}

/// The asset ids that products' values of the `attributes` (the schema's
/// `assets` attributes) link, for the media library's usage filter. One
/// pass over the products holding such values, 500 rows at a time; any
/// 16-hex-digit string in the attribute's list counts, whatever shape the
/// links take.
pub async fn linked_asset_ids(
    conn: &mut AnyConnection,
    attributes: &[String],
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    fn collect(data: &serde_json::Value, found: &mut std::collections::HashSet<String>) {
        match data {
            serde_json::Value::String(text)
                if text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                found.insert(text.to_ascii_lowercase());
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| collect(i, found)),
            serde_json::Value::Object(map) => map.values().for_each(|v| collect(v, found)),
            _ => {}
        }
    }
    let mut found = std::collections::HashSet::new();
    for attribute in attributes {
        let key = format!("\"{attribute}\":[");
        let pattern = containing(&key);
        let mut after = 0_i64;
        loop {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, product_values FROM products \
                 WHERE id > $1 AND product_values LIKE $2 ESCAPE '\\' ORDER BY id LIMIT 500",
            )
            .bind(after)
            .bind(&pattern)
            .fetch_all(&mut *conn)
            .await?;
            let Some(&(last, _)) = rows.last() else { break };
            after = last;
            for (_, text) in &rows {
                // Only the attribute's own list is parsed, not the whole
                // document: a string value's quotes are escaped, so the
                // unescaped key is the attribute's. An unreadable list links nothing.
                for (at, _) in text.match_indices(key.as_str()) {
                    let rest = &text[at + key.len() - 1..];
                    if let Some(Ok(entries)) = serde_json::Deserializer::from_str(rest)
                        .into_iter::<serde_json::Value>()
                        .next()
                    {
                        collect(&entries, &mut found);
                    }
                }
            }
            if rows.len() < 500 {
                break;
            }
        }
    }
    Ok(found)
}

pub async fn products_in_family(
    conn: &mut AnyConnection,
    family: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) AS n FROM products WHERE family = $1")
        .bind(family)
        .fetch_one(&mut *conn)
        .await
}

pub async fn products_in_category(
    conn: &mut AnyConnection,
    category: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) AS n FROM product_categories WHERE category = $1")
        .bind(category)
        .fetch_one(&mut *conn)
        .await
}

/// Products holding values in `locale`.
pub async fn products_with_locale(
    conn: &mut AnyConnection,
    locale: &str,
) -> Result<i64, sqlx::Error> {
    products_like(conn, &containing(&format!("\"locale\":\"{locale}\"")), None).await
}

/// How many products there are.
pub async fn product_count<'e, E: Executor<'e, Database = Any>>(
    executor: E,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) AS n FROM products")
        .fetch_one(executor)
        .await
}

/// Up to `limit` product ids after `after`, in id order (to walk every product).
pub async fn ids_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM products WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
}

/// How many products' value documents match a LIKE pattern made by
/// [`containing`] (optionally within one family): used to find values a
/// schema change would affect.
pub async fn products_like(
    conn: &mut AnyConnection,
    pattern: &str,
    family: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) AS n FROM products WHERE product_values LIKE $1 ESCAPE '\\' \
         AND ($2 IS NULL OR family = $2)",
    )
    .bind(pattern)
    .bind(family)
    .fetch_one(&mut *conn)
    .await
}
