//! The product list's query, shared by the products grid and
//! `GET /api/v1/products`: its parameters, and their parsing into the
//! catalog's filter, sort and page position, each bad parameter named.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::catalog::product::ProductKind;
use crate::catalog::store::{PageAt, ProductCursor, ProductFilter, ProductSort};
use crate::db::Timestamp;
use crate::web::error::AppError;

/// Filters and paging of the product list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// The `prev_cursor` of a page: answers the page before it (instead of
    /// `cursor`).
    pub before: Option<String>,
    /// 1 to 100; default 50.
    pub limit: Option<i64>,
    pub family: Option<String>,
    /// A category code; products in it or below it.
    pub category: Option<String>,
    /// simple, model or variant.
    pub kind: Option<String>,
    pub enabled: Option<bool>,
    /// A channel code: products missing a value it requires.
    pub missing: Option<String>,
    /// `CHANNEL/LOCALE` (e.g. `google/en_US`): products ready for that
    /// channel in that locale, as the publisher last judged them.
    pub ready: Option<String>,
    /// `CHANNEL/LOCALE`: products not ready for that channel in that locale.
    pub notready: Option<String>,
    /// SKU prefix, case-insensitive.
    pub sku: Option<String>,
    /// Only products changed after this moment (RFC 3339, UTC).
    pub updated_after: Option<String>,
    /// `sku` (default), `-sku`, `family`, `-family`, `updated` or `-updated`.
    pub sort: Option<String>,
}

/// Parses list parameters into a filter, naming the bad parameter.
pub fn parse_filter(
    query: &ListQuery,
    schema: &crate::catalog::schema::Schema,
) -> Result<(ProductFilter, ProductSort), AppError> {
    let bad = |field: &str, message: String| AppError::BadRequest(format!("{field}: {message}"));
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(text) => Some(
            ProductKind::parse(text)
                .ok_or_else(|| bad("kind", format!("{text:?} is not simple, model or variant")))?,
        ),
        None => None,
    };
    let sort = match query.sort.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => ProductSort::parse(text).ok_or_else(|| {
            bad(
                "sort",
                format!("{text:?} is not sku, -sku, family, -family, updated or -updated"),
            )
        })?,
        None => ProductSort::default(),
    };
    let categories = match query.category.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => {
            if schema.category(code).is_none() {
                return Err(bad("category", format!("there is no category {code}")));
            }
            Some(
                schema
                    .categories
                    .iter()
                    .filter(|c| schema.category_within(&c.code, code))
                    .map(|c| c.code.clone())
                    .collect(),
            )
        }
        None => None,
    };
    if let Some(channel) = query.missing.as_deref().filter(|c| !c.is_empty())
        && schema.channel(channel).is_none()
    {
        return Err(bad("missing", format!("there is no channel {channel}")));
    }
    let ready_for = channel_locale(schema, "ready", query.ready.as_deref())?;
    let not_ready_for = channel_locale(schema, "notready", query.notready.as_deref())?;
    let updated_after = match query.updated_after.as_deref().filter(|u| !u.is_empty()) {
        Some(text) => Some(parse_moment(text).ok_or_else(|| {
            bad(
                "updated_after",
                format!("{text:?} is not a UTC time like 2026-11-28T07:26:36Z"),
            )
        })?),
        None => None,
    };
    Ok((
        ProductFilter {
            family: query.family.clone().filter(|f| !f.is_empty()),
            categories,
            kind,
            enabled: query.enabled,
            missing_for: query.missing.clone().filter(|c| !c.is_empty()),
            ready_for,
            not_ready_for,
            sku_prefix: query.sku.clone().filter(|s| !s.is_empty()),
            updated_after,
        },
        sort,
    ))
}

/// The `cursor` or `before` parameter for a list in `sort`: a cursor of
/// another sort or not made by the list is a 400 naming it, never a silent
/// first page (a connector following it would walk the first page for ever).
pub fn parse_cursor(query: &ListQuery, sort: ProductSort) -> Result<PageAt, AppError> {
    let read = |field: &str, text: Option<&str>| {
        ProductCursor::parse(sort, text.unwrap_or(""))
            .map_err(|err| AppError::bad_parameter(field, err.to_string()))
    };
    let after = read("cursor", query.cursor.as_deref())?;
    let before = read("before", query.before.as_deref())?;
    match (after, before) {
        (Some(_), Some(_)) => Err(AppError::bad_parameter(
            "before",
            "send cursor or before, not both".to_owned(),
        )),
        (Some(cursor), None) => Ok(PageAt::After(cursor)),
        (None, Some(cursor)) => Ok(PageAt::Before(cursor)),
        (None, None) => Ok(PageAt::First),
    }
}

/// A `CHANNEL/LOCALE` filter value: a channel of the schema and one of its
/// locales, or a 400 naming the parameter. Empty means no filter.
fn channel_locale(
    schema: &crate::catalog::schema::Schema,
    field: &str,
    value: Option<&str>,
) -> Result<Option<(String, String)>, AppError> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = |message: String| AppError::BadRequest(format!("{field}: {message}"));
    let Some((channel, locale)) = text.split_once('/') else {
        return Err(bad(format!(
            "{text:?} is not CHANNEL/LOCALE, like google/en_US"
        )));
    };
    let Some(found) = schema.channel(channel) else {
        return Err(bad(format!("there is no channel {channel}")));
    };
    if !found.locales.iter().any(|l| l == locale) {
        return Err(bad(format!(
            "channel {channel} has no locale {locale} (it has {})",
            found.locales.join(", ")
        )));
    }
    Ok(Some((channel.to_owned(), locale.to_owned())))
}

/// Accepts RFC 3339 with `Z` (any sub-second precision) as a stored timestamp.
fn parse_moment(text: &str) -> Option<Timestamp> {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(Timestamp::from_offset(parsed))
}
