//! Catalog tables: the schema (one JSON definition per entity in
//! `catalog_schema`) and product reads. Product *writes* go through
//! [`crate::workflow::write`], the single write path.

use std::sync::{Arc, RwLock};

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

use super::product::{Product, ProductKind, Values};
use super::schema::Schema;
use crate::db::{Db, Timestamp, get_bool};

/// Kinds of schema entity, as stored in `catalog_schema.kind`.
pub const KINDS: [&str; 7] = [
    "locale",
    "currency",
    "channel",
    "group",
    "attribute",
    "family",
    "category",
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
    let rows = sqlx::query(
        "SELECT kind, code, position, definition FROM catalog_schema \
         UNION ALL SELECT '~version', '', value, '' FROM counters WHERE name = 'schema' \
         ORDER BY 1, 3, 2",
    )
    .fetch_all(executor)
    .await?;
    let mut schema = Schema::default();
    for row in rows {
        let kind: String = row.try_get("kind")?;
        let code: String = row.try_get("code")?;
        let text: String = row.try_get("definition")?;
        match kind.as_str() {
            "locale" => schema.locales.push(decode(&kind, &code, &text)?),
            "currency" => schema.currencies.push(decode(&kind, &code, &text)?),
            "channel" => schema.channels.push(decode(&kind, &code, &text)?),
            "group" => schema.groups.push(decode(&kind, &code, &text)?),
            "attribute" => schema.attributes.push(decode(&kind, &code, &text)?),
            "family" => schema.families.push(decode(&kind, &code, &text)?),
            "category" => schema.categories.push(decode(&kind, &code, &text)?),
            "~version" => schema.version = row.try_get("position")?,
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
    let backend = crate::db::Backend::of(conn);
    let lock = if exclusive {
        backend.lock_rows_of("counters")
    } else {
        backend.share_lock().to_owned()
    };
    let sql = format!("SELECT value FROM counters WHERE name = 'schema'{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("value")
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
    sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'schema'")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn schema_version(db: &Db) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT value FROM counters WHERE name = 'schema'")
        .fetch_one(db.pool())
        .await?;
    row.try_get("value")
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

/// A product row with its storage ids.
#[derive(Debug, Clone)]
pub struct StoredProduct {
    pub product: Product,
    pub parent_id: Option<i64>,
}

pub(crate) fn product_from_row(row: &AnyRow) -> Result<StoredProduct, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let categories: String = row.try_get("categories")?;
    let values: String = row.try_get("product_values")?;
    let sku: String = row.try_get("sku")?;
    Ok(StoredProduct {
        product: Product {
            id: row.try_get("id")?,
            kind: ProductKind::parse(&kind).ok_or_else(|| {
                sqlx::Error::Decode(format!("product {sku} has kind {kind}").into())
            })?,
            family: row.try_get("family")?,
            parent: row.try_get("parent_sku")?,
            enabled: get_bool(row, "enabled")?,
            categories: decode("product categories", &sku, &categories)?,
            values: decode::<Values>("product values", &sku, &values)?,
            version: row.try_get("version")?,
            created: row.try_get("created_at")?,
            updated: row.try_get("updated_at")?,
            sku,
        },
        parent_id: row.try_get("parent_id")?,
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

/// How the grid is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProductSort {
    #[default]
    SkuAsc,
    SkuDesc,
    UpdatedDesc,
}

impl ProductSort {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sku" => Some(ProductSort::SkuAsc),
            "-sku" => Some(ProductSort::SkuDesc),
            "-updated" => Some(ProductSort::UpdatedDesc),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProductSort::SkuAsc => "sku",
            ProductSort::SkuDesc => "-sku",
            ProductSort::UpdatedDesc => "-updated",
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

/// A page of products and the cursor of the next one.
#[derive(Debug, Clone)]
pub struct ProductPage {
    pub products: Vec<StoredProduct>,
    pub next_cursor: Option<ProductCursor>,
}

/// Where the next page of [`list`] starts: the last row seen, in the order
/// of one sort. Written as `s.KEY` (by SKU), `d.KEY` (by SKU, descending) or
/// `u.UPDATED.ID` (newest first), so a cursor sent with another sort is
/// recognised and refused instead of silently starting over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductCursor {
    SkuAsc { key: String },
    SkuDesc { key: String },
    UpdatedDesc { at: String, id: i64 },
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
        let cursor = match text.split_once('.').ok_or_else(malformed)? {
            ("s", key) if !key.is_empty() => ProductCursor::SkuAsc {
                key: key.to_owned(),
            },
            ("d", key) if !key.is_empty() => ProductCursor::SkuDesc {
                key: key.to_owned(),
            },
            ("u", rest) => {
                let (at, id) = rest.rsplit_once('.').ok_or_else(malformed)?;
                Timestamp::parse(at).map_err(|_| malformed())?;
                ProductCursor::UpdatedDesc {
                    at: at.to_owned(),
                    id: id.parse().map_err(|_| malformed())?,
                }
            }
            _ => return Err(malformed()),
        };
        if cursor.sort() != sort {
            return Err(CursorError::OtherSort {
                made_for: cursor.sort().as_str(),
                sent_with: sort.as_str(),
            });
        }
        Ok(Some(cursor))
    }

    /// The sort this cursor continues.
    pub fn sort(&self) -> ProductSort {
        match self {
            ProductCursor::SkuAsc { .. } => ProductSort::SkuAsc,
            ProductCursor::SkuDesc { .. } => ProductSort::SkuDesc,
            ProductCursor::UpdatedDesc { .. } => ProductSort::UpdatedDesc,
        }
    }

    /// The cursor after `last` in `sort`.
    fn after(sort: ProductSort, last: &Product) -> Self {
        match sort {
            ProductSort::SkuAsc => ProductCursor::SkuAsc {
                key: sku_key(&last.sku),
            },
            ProductSort::SkuDesc => ProductCursor::SkuDesc {
                key: sku_key(&last.sku),
            },
            ProductSort::UpdatedDesc => ProductCursor::UpdatedDesc {
                at: last.updated.to_stored(),
                id: last.id,
            },
        }
    }
}

impl std::fmt::Display for ProductCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProductCursor::SkuAsc { key } => write!(f, "s.{key}"),
            ProductCursor::SkuDesc { key } => write!(f, "d.{key}"),
            ProductCursor::UpdatedDesc { at, id } => write!(f, "u.{at}.{id}"),
        }
    }
}

/// The first numbered parameter of the category list: `$1`–`$13` are the
/// fixed filters, cursor and limit of [`list`].
const FIRST_CATEGORY_PARAM: usize = 14;

/// One page, keyset-paginated: stable while products are added or changed,
/// because the cursor names the last row seen, not an offset.
pub async fn list(
    db: &Db,
    filter: &ProductFilter,
    sort: ProductSort,
    cursor: Option<&ProductCursor>,
    limit: i64,
) -> Result<ProductPage, sqlx::Error> {
    let mut conditions = vec![
        "($1 IS NULL OR p.family = $1)".to_owned(),
        "($2 IS NULL OR p.kind = $2)".to_owned(),
        "($3 IS NULL OR p.enabled = $3)".to_owned(),
        "($4 IS NULL OR EXISTS (SELECT 1 FROM product_readiness pr \
          WHERE pr.product_id = p.id AND pr.channel = $4 AND pr.missing_count > 0))"
            .to_owned(),
        "($5 IS NULL OR p.sku_key LIKE $5 ESCAPE '\\')".to_owned(),
        "($6 IS NULL OR p.updated_at > $6)".to_owned(),
        "($10 IS NULL OR EXISTS (SELECT 1 FROM product_readiness prr \
          WHERE prr.product_id = p.id AND prr.channel = $10 AND prr.locale = $11 AND prr.ready = 1))"
            .to_owned(),
        "($12 IS NULL OR EXISTS (SELECT 1 FROM product_readiness prn \
          WHERE prn.product_id = p.id AND prn.channel = $12 AND prn.locale = $13 AND prn.ready = 0))"
            .to_owned(),
    ];
    // The cursor was parsed for this sort (see `ProductCursor::parse`).
    let (cursor_a, cursor_b) = match cursor {
        None => (None, None),
        Some(ProductCursor::SkuAsc { key } | ProductCursor::SkuDesc { key }) => {
            (Some(key.clone()), None)
        }
        Some(ProductCursor::UpdatedDesc { at, id }) => (Some(at.clone()), Some(*id)),
    };
    let order = match sort {
        ProductSort::SkuAsc => {
            conditions.push("($7 IS NULL OR p.sku_key > $7)".to_owned());
            "p.sku_key ASC"
        }
        ProductSort::SkuDesc => {
            conditions.push("($7 IS NULL OR p.sku_key < $7)".to_owned());
            "p.sku_key DESC"
        }
        ProductSort::UpdatedDesc => {
            conditions.push(
                "($7 IS NULL OR p.updated_at < $7 OR (p.updated_at = $7 AND p.id < $8))".to_owned(),
            );
            "p.updated_at DESC, p.id DESC"
        }
    };
    let category_codes = filter.categories.clone().unwrap_or_default();
    if filter.categories.is_some() {
        let placeholders: Vec<String> = (0..category_codes.len().max(1))
            .map(|i| format!("${}", i + FIRST_CATEGORY_PARAM))
            .collect();
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM product_categories pcat WHERE pcat.product_id = p.id \
             AND pcat.category IN ({}))",
            placeholders.join(", ")
        ));
    }
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM {PRODUCT_FROM} WHERE {} AND ($8 IS NULL OR $8 = $8) \
         ORDER BY {order} LIMIT $9",
        conditions.join(" AND ")
    );
    let prefix = filter
        .sku_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| format!("{}%", escape_like(&sku_key(p))));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.family.clone())
        .bind(filter.kind.map(|k| k.as_str().to_owned()))
        .bind(filter.enabled)
        .bind(filter.missing_for.clone())
        .bind(prefix)
        .bind(filter.updated_after)
        .bind(cursor_a)
        .bind(cursor_b)
        .bind(limit + 1)
        .bind(filter.ready_for.as_ref().map(|(c, _)| c.clone()))
        .bind(filter.ready_for.as_ref().map(|(_, l)| l.clone()))
        .bind(filter.not_ready_for.as_ref().map(|(c, _)| c.clone()))
        .bind(filter.not_ready_for.as_ref().map(|(_, l)| l.clone()));
    if filter.categories.is_some() {
        if category_codes.is_empty() {
            // No category matched: a code that cannot exist (codes have no `-`) keeps the query valid.
            query = query.bind("-none-");
        }
        for code in &category_codes {
            query = query.bind(code.clone());
        }
    }
    let rows = query.fetch_all(db.pool()).await?;
    let mut products = rows
        .iter()
        .map(product_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = i64::try_from(products.len()).unwrap_or(i64::MAX) > limit;
    if more {
        products.truncate(usize::try_from(limit).unwrap_or(0));
    }
    let next_cursor = if more {
        products
            .last()
            .map(|last| ProductCursor::after(sort, &last.product))
    } else {
        None
    };
    Ok(ProductPage {
        products,
        next_cursor,
    })
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

pub async fn products_in_family(
    conn: &mut AnyConnection,
    family: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM products WHERE family = $1")
        .bind(family)
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("n")
}

pub async fn products_in_category(
    conn: &mut AnyConnection,
    category: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM product_categories WHERE category = $1")
        .bind(category)
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("n")
}

/// Products holding values in `locale`.
pub async fn products_with_locale(
    conn: &mut AnyConnection,
    locale: &str,
) -> Result<i64, sqlx::Error> {
    products_like(conn, &containing(&format!("\"locale\":\"{locale}\"")), None).await
}

/// Per product, the channels where it misses required values and how many.
pub async fn missing_counts(
    db: &Db,
    product_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<(String, i64)>>, sqlx::Error> {
    let mut counts: std::collections::HashMap<i64, Vec<(String, i64)>> =
        std::collections::HashMap::new();
    for chunk in product_ids.chunks(200) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT product_id, channel, CAST(SUM(missing_count) AS BIGINT) AS missing_count FROM product_readiness \
             WHERE missing_count > 0 AND product_id IN ({}) GROUP BY product_id, channel ORDER BY channel",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(db.pool()).await? {
            counts
                .entry(row.try_get("product_id")?)
                .or_default()
                .push((row.try_get("channel")?, row.try_get("missing_count")?));
        }
    }
    Ok(counts)
}

/// How many products' value documents match a LIKE pattern made by
/// [`containing`] (optionally within one family): used to find values a
/// schema change would affect.
pub async fn products_like(
    conn: &mut AnyConnection,
    pattern: &str,
    family: Option<&str>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM products WHERE product_values LIKE $1 ESCAPE '\\' \
         AND ($2 IS NULL OR family = $2)",
    )
    .bind(pattern)
    .bind(family)
    .fetch_one(&mut *conn)
    .await?;
    row.try_get("n")
}
