//! The product grid: filters (family, category, kind, status, missing values,
//! readiness per channel and locale), the count of what matches, sortable
//! columns (recently updated first by default), and previous and next pages
//! over [`store::page`]. Variants show the name they inherit; badges name
//! the values each channel misses.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value as Json;

use super::labels::Labels;
use super::{Choice, Chrome, category_choices, choices, count_of, render};
use crate::auth::Permission;
use crate::catalog::product::{ProductKind, ValueKey, Values};
use crate::catalog::schema::Schema;
use crate::catalog::store::{self, ProductCount, ProductCursor, ProductSort, SortColumn};
use crate::publish::overview::{self, MissingOn};
use crate::web::AppState;
use crate::web::PageResult;
use crate::web::error::AppError;
use crate::web::extract::{PageSession, urlencode};
use crate::web::product_query::{ListQuery, parse_cursor, parse_filter};

pub fn routes() -> Router<AppState> {
    Router::new().route("/products", get(grid))
}

const PAGE_SIZE: i64 = 50;

/// The label of a product in lists: its `name` in the locale, else its SKU.
fn display_name(values: &Values, locale: &str) -> String {
    values
        .get(&ValueKey::new("name", Some(locale), None))
        .or_else(|| values.get(&ValueKey::new("name", None, None)))
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned()
}

struct GridRow {
    sku: String,
    href: String,
    name: String,
    /// The name is the model's (the variant has none of its own).
    name_inherited: bool,
    kind: &'static str,
    family: String,
    parent: String,
    parent_href: String,
    enabled: bool,
    /// Per channel, the labels of the values it misses: `google: Description, Brand`.
    missing: Vec<String>,
    updated: String,
}

/// A column heading; a sortable one links to its sort, and carries
/// `aria-sort` when it is the column the grid is sorted by.
struct ColumnHeader {
    label: &'static str,
    href: Option<String>,
    aria_sort: Option<&'static str>,
    /// ▲ or ▼ on the sorted column, for the eye (screen readers have `aria-sort`).
    arrow: &'static str,
    /// What following the link does, for the link's title.
    action: String,
}

#[derive(Template)]
#[template(path = "products/grid.html")]
struct GridPage {
    chrome: Chrome,
    rows: Vec<GridRow>,
    families: Vec<Choice>,
    categories: Vec<Choice>,
    channels: Vec<Choice>,
    /// `channel/locale` pairs for the ready and not-ready filters.
    ready_for: Vec<Choice>,
    not_ready_for: Vec<Choice>,
    kinds: Vec<Choice>,
    enabled: Vec<Choice>,
    sku: String,
    sort: &'static str,
    /// `1,234 products` matching the filters.
    count: String,
    headers: Vec<ColumnHeader>,
    next_page: Option<String>,
    prev_page: Option<String>,
    first_page: Option<String>,
    filtered: bool,
    may_create: bool,
}

/// The result count counts this far and then says "More than 10,000":
/// beyond it a person refines the filters rather than reads the number, and
/// counting stays cheap however large the catalog.
const COUNT_CAP: i64 = 10_000;

/// The grid's sort when none is asked for: what changed last comes first.
const DEFAULT_SORT: ProductSort = ProductSort::UpdatedDesc;

/// The grid's columns in order; sortable ones with their column and the
/// direction a first click sorts them in.
const COLUMNS: [(&str, Option<(SortColumn, bool)>); 8] = [
    ("SKU", Some((SortColumn::Sku, false))),
    ("Name", None),
    ("Family", Some((SortColumn::Family, false))),
    ("Kind", None),
    ("Model", None),
    ("Status", None),
    ("Missing required values", None),
    ("Updated", Some((SortColumn::Updated, true))),
];

/// `/products?` with the filters of `query` (not sort or paging), so links
/// keep what the person filtered by.
fn filter_href(query: &ListQuery) -> String {
    let mut href = "/products?".to_owned();
    for (name, value) in [
        ("sku", query.sku.clone()),
        ("family", query.family.clone()),
        ("category", query.category.clone()),
        ("kind", query.kind.clone()),
        ("enabled", query.enabled.map(|e| e.to_string())),
        ("missing", query.missing.clone()),
        ("ready", query.ready.clone()),
        ("notready", query.notready.clone()),
    ] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            href.push_str(&format!("{name}={}&", urlencode(&value)));
        }
    }
    href
}

fn column_headers(base: &str, sort: ProductSort) -> Vec<ColumnHeader> {
    COLUMNS
        .iter()
        .map(|&(label, sortable)| {
            let Some((column, first_descending)) = sortable else {
                return ColumnHeader {
                    label,
                    href: None,
                    aria_sort: None,
                    arrow: "",
                    action: String::new(),
                };
            };
            let active = sort.column() == column;
            let descending = if active {
                !sort.descending()
            } else {
                first_descending
            };
            ColumnHeader {
                label,
                href: Some(format!(
                    "{base}sort={}",
                    ProductSort::by(column, descending).as_str()
                )),
                aria_sort: active.then_some(if sort.descending() {
                    "descending"
                } else {
                    "ascending"
                }),
                arrow: match (active, sort.descending()) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
                action: format!(
                    "Sort by {label}, {}",
                    if descending {
                        "descending"
                    } else {
                        "ascending"
                    }
                ),
            }
        })
        .collect()
}

/// `google: Description, Brand`: attribute labels per channel.
fn missing_badges(schema: &Schema, missing: Vec<MissingOn>) -> Vec<String> {
    missing
        .into_iter()
        .map(|on| {
            let mut labels: Vec<String> = on
                .attributes
                .iter()
                .map(|code| match code {
                    Some(code) => Labels::new(schema, "en_US").field(code),
                    None => "an unmapped field".to_owned(),
                })
                .collect();
            labels.sort_by_key(|label| label.to_lowercase());
            format!("{}: {}", on.channel, labels.join(", "))
        })
        .collect()
}

/// The label locale of the grid (as on the other list pages).
const LABEL_LOCALE: &str = "en_US";

/// `GET /products`
async fn grid(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    session
        .caller()
        .require(&Permission::ReadCatalog)
        .map_err(AppError::from)?;
    let Query(query) = query.map_err(AppError::from)?;
    let schema = state.schema.get(&state.db).await?;
    let (filter, sort) = parse_filter(&query, &schema)?;
    let sort = if query.sort.as_deref().is_none_or(str::is_empty) {
        DEFAULT_SORT
    } else {
        sort
    };
    let at = parse_cursor(&query, sort)?;
    let page = store::page(&state.db, &filter, sort, &at, PAGE_SIZE).await?;
    let count = store::count(&state.db, &filter, COUNT_CAP).await?;
    let ids: Vec<i64> = page.products.iter().map(|p| p.product.id).collect();
    let mut missing = overview::missing_values(&state.db, &ids).await?;
    let model_ids: Vec<i64> = page
        .products
        .iter()
        .filter(|p| p.product.kind == ProductKind::Variant)
        .filter_map(|p| p.parent_id)
        .collect();
    let model_names: std::collections::HashMap<i64, String> =
        store::find_many(&state.db, &model_ids)
            .await?
            .into_iter()
            .map(|m| (m.product.id, display_name(&m.product.values, LABEL_LOCALE)))
            .collect();
    let rows = page
        .products
        .iter()
        .map(|stored| {
            let product = &stored.product;
            let own = display_name(&product.values, LABEL_LOCALE);
            let inherited = match stored.parent_id {
                Some(model) if own.is_empty() && product.kind == ProductKind::Variant => {
                    model_names.get(&model).filter(|n| !n.is_empty()).cloned()
                }
                _ => None,
            };
            let parent = product.parent.clone().unwrap_or_default();
            GridRow {
                href: format!("/products/{}", urlencode(&product.sku)),
                sku: product.sku.clone(),
                name_inherited: inherited.is_some(),
                name: inherited.unwrap_or(own),
                kind: product.kind.as_str(),
                family: schema.family(&product.family).map_or_else(
                    || product.family.clone(),
                    |f| {
                        f.labels
                            .get(LABEL_LOCALE)
                            .cloned()
                            .unwrap_or_else(|| f.code.clone())
                    },
                ),
                parent_href: format!("/products/{}", urlencode(&parent)),
                parent,
                enabled: product.enabled,
                missing: missing_badges(&schema, missing.remove(&product.id).unwrap_or_default()),
                updated: product.updated.display(),
            }
        })
        .collect();
    let base = filter_href(&query);
    let page_href = |param: &str, cursor: &ProductCursor| {
        format!(
            "{base}sort={}&{param}={}",
            sort.as_str(),
            urlencode(&cursor.to_string())
        )
    };
    let filtered = filter.family.is_some()
        || filter.categories.is_some()
        || filter.kind.is_some()
        || filter.enabled.is_some()
        || filter.missing_for.is_some()
        || filter.ready_for.is_some()
        || filter.not_ready_for.is_some()
        || filter.sku_prefix.is_some();
    let pairs: Vec<(String, String)> = schema
        .channels
        .iter()
        .flat_map(|c| c.locales.iter().map(move |l| format!("{}/{l}", c.code)))
        .map(|pair| (pair.clone(), pair))
        .collect();
    let enabled_now = query.enabled.map(|e| e.to_string());
    Ok(render(
        StatusCode::OK,
        &GridPage {
            chrome: Chrome::new(&session, "/products", None),
            rows,
            families: choices(
                schema.families.iter().map(|f| {
                    (
                        f.code.clone(),
                        f.labels
                            .get(LABEL_LOCALE)
                            .cloned()
                            .unwrap_or_else(|| f.code.clone()),
                    )
                }),
                query.family.as_deref(),
            ),
            categories: category_choices(&schema, query.category.as_deref()),
            channels: choices(
                schema
                    .channels
                    .iter()
                    .map(|c| (c.code.clone(), c.code.clone())),
                query.missing.as_deref(),
            ),
            ready_for: choices(pairs.clone(), query.ready.as_deref()),
            not_ready_for: choices(pairs, query.notready.as_deref()),
            kinds: choices(
                ["simple", "model", "variant"].map(|k| (k.to_owned(), k.to_owned())),
                query.kind.as_deref(),
            ),
            enabled: choices(
                [("true", "Enabled"), ("false", "Disabled")]
                    .map(|(v, l)| (v.to_owned(), l.to_owned())),
                enabled_now.as_deref(),
            ),
            sku: query.sku.clone().unwrap_or_default(),
            sort: sort.as_str(),
            count: match count {
                ProductCount::Exactly(n) => count_of(n, "product", "products"),
                ProductCount::MoreThan(n) => {
                    format!("More than {}", count_of(n, "product", "products"))
                }
            },
            headers: column_headers(&base, sort),
            next_page: page.next_cursor.as_ref().map(|c| page_href("cursor", c)),
            // An empty page past a cursor (its rows were edited or deleted
            // away meanwhile) still leads back: to what comes before it.
            prev_page: match (&page.prev_cursor, &at) {
                (Some(cursor), _) => Some(page_href("before", cursor)),
                (None, store::PageAt::After(cursor)) => Some(page_href("before", cursor)),
                (None, _) => None,
            },
            first_page: (at != store::PageAt::First)
                .then(|| format!("{base}sort={}", sort.as_str())),
            filtered,
            may_create: session.caller().may(&Permission::EditCatalog),
        },
    ))
}
