//! The product grid: filters (family, category, kind, status, missing values,
//! readiness per channel and locale), sort and cursor pages over
//! [`store::list`].

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value as Json;

use super::{Choice, Chrome, category_choices, choices, render};
use crate::app::AppState;
use crate::auth::Permission;
use crate::catalog::product::{ValueKey, Values};
use crate::catalog::store;
use crate::error::{AppError, PageResult};
use crate::web::api::products::{ListQuery, parse_cursor, parse_filter};
use crate::web::extract::{PageSession, urlencode};

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
    kind: &'static str,
    family: String,
    parent: String,
    enabled: bool,
    missing: Vec<(String, i64)>,
    updated: String,
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
    sorts: Vec<Choice>,
    enabled: Vec<Choice>,
    sku: String,
    next_page: Option<String>,
    filtered: bool,
}

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
    let cursor = parse_cursor(&query, sort)?;
    let page = store::list(&state.db, &filter, sort, cursor.as_ref(), PAGE_SIZE).await?;
    let ids: Vec<i64> = page.products.iter().map(|p| p.product.id).collect();
    let missing = store::missing_counts(&state.db, &ids).await?;
    let rows = page
        .products
        .iter()
        .map(|stored| {
            let product = &stored.product;
            GridRow {
                href: format!("/products/{}", urlencode(&product.sku)),
                sku: product.sku.clone(),
                name: display_name(&product.values, "en_US"),
                kind: product.kind.as_str(),
                family: product.family.clone(),
                parent: product.parent.clone().unwrap_or_default(),
                enabled: product.enabled,
                missing: missing.get(&product.id).cloned().unwrap_or_default(),
                updated: product.updated.display(),
            }
        })
        .collect();
    let keep = |name: &str, value: Option<String>| {
        value
            .filter(|v| !v.is_empty())
            .map(|v| format!("&{name}={}", urlencode(&v)))
    };
    let next_page = page.next_cursor.as_ref().map(|cursor| {
        let mut href = format!("/products?cursor={}", urlencode(&cursor.to_string()));
        for (name, value) in [
            ("family", query.family.clone()),
            ("category", query.category.clone()),
            ("kind", query.kind.clone()),
            ("enabled", query.enabled.map(|e| e.to_string())),
            ("missing", query.missing.clone()),
            ("ready", query.ready.clone()),
            ("notready", query.notready.clone()),
            ("sku", query.sku.clone()),
            ("sort", query.sort.clone()),
        ] {
            href.push_str(&keep(name, value).unwrap_or_default());
        }
        href
    });
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
                            .get("en_US")
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
            sorts: choices(
                [
                    ("sku", "SKU A→Z"),
                    ("-sku", "SKU Z→A"),
                    ("-updated", "Recently changed"),
                ]
                .map(|(v, l)| (v.to_owned(), l.to_owned())),
                Some(sort.as_str()),
            ),
            enabled: choices(
                [("true", "Enabled"), ("false", "Disabled")]
                    .map(|(v, l)| (v.to_owned(), l.to_owned())),
                enabled_now.as_deref(),
            ),
            sku: query.sku.clone().unwrap_or_default(),
            next_page,
            filtered,
        },
    ))
}
