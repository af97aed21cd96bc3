//! Products over the API: list with cursor and filters, read with ETag,
//! create, and change with `If-Match` (missing → 428, stale → 412).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Permission;
use crate::catalog::product::{Product, ProductKind, Values};
use crate::catalog::store;
use crate::db::Timestamp;
use crate::web::AppState;
use crate::web::error::{ApiResult, AppError, ErrorBody, FieldError};
use crate::web::extract::{ApiCaller, ApiJson, TagCondition};
use crate::web::product_query::{ListQuery, parse_cursor, parse_filter};
use crate::workflow::history;
use crate::workflow::proposals;
use crate::workflow::write::{self, ChangeSet, NewProduct, ValueChange};

/// A product as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub sku: String,
    #[schema(example = "simple")]
    pub kind: String,
    pub family: String,
    pub parent: Option<String>,
    pub enabled: bool,
    pub categories: Vec<String>,
    /// The product's own values: `{ATTR: [{"locale", "channel", "data"}]}`.
    #[schema(value_type = Object)]
    pub values: Values,
    /// For a variant: the values it inherits from its model.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub inherited_values: Option<Values>,
    pub version: i64,
    /// When a person created the product: the proposal holding its reviewed
    /// values, categories and enabling, waiting for approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_proposal: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated: Timestamp,
}

impl ProductView {
    fn new(product: &Product, model: Option<&Product>) -> Self {
        ProductView {
            sku: product.sku.clone(),
            kind: product.kind.as_str().to_owned(),
            family: product.family.clone(),
            parent: product.parent.clone(),
            enabled: product.enabled,
            categories: product.categories.clone(),
            values: product.values.clone(),
            inherited_values: match (product.kind, model) {
                (ProductKind::Variant, Some(model)) => Some(model.values.clone()),
                _ => None,
            },
            version: product.version,
            pending_proposal: None,
            created: product.created,
            updated: product.updated,
        }
    }
}

/// `"VERSION"`, or for a variant `"VERSION.MODEL_VERSION"`: its body carries
/// the model's values too, so a model change must change the tag.
fn etag(version: i64, model_version: Option<i64>) -> HeaderValue {
    let tag = format!("\"{}\"", etag_opaque(version, model_version));
    HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The ETag between its quotes.
fn etag_opaque(version: i64, model_version: Option<i64>) -> String {
    match model_version {
        Some(model) => format!("{version}.{model}"),
        None => version.to_string(),
    }
}

fn with_etag(status: StatusCode, (view, model_version): (ProductView, Option<i64>)) -> Response {
    let tag = etag(view.version, model_version);
    let mut response = (status, Json(view)).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}

async fn model_of(state: &AppState, product: &Product) -> ApiResult<Option<Product>> {
    Ok(match (&product.kind, &product.parent) {
        (ProductKind::Variant, Some(parent)) => store::find(state.db.pool(), parent)
            .await?
            .map(|p| p.product),
        _ => None,
    })
}

async fn view_of(state: &AppState, product: &Product) -> ApiResult<(ProductView, Option<i64>)> {
    let model = model_of(state, product).await?;
    Ok((
        ProductView::new(product, model.as_ref()),
        model.as_ref().map(|m| m.version),
    ))
}

/// A page of products.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPageView {
    pub items: Vec<ProductView>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
    /// Send as `before` for the page before this one; absent on the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<String>,
}

/// Products, keyset-paginated.
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "catalog",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of products", body = ProductPageView),
        (status = 400, description = "Bad parameters, or a cursor that is not this list's (in the sort sent); `details` names the parameter", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token lacks catalog:read", body = ErrorBody),
    )
)]
pub async fn list_products(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ProductPageView>> {
    caller.require(&Permission::ReadCatalog)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and 100, not {limit}"
        )));
    }
    let schema = state.schema.get(&state.db).await?;
    let (filter, sort) = parse_filter(&query, &schema)?;
    let at = parse_cursor(&query, sort)?;
    let page = store::page(&state.db, &filter, sort, &at, limit).await?;
    let items = page
        .products
        .iter()
        .map(|p| ProductView::new(&p.product, None))
        .collect();
    Ok(Json(ProductPageView {
        has_more: page.next_cursor.is_some(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        prev_cursor: page.prev_cursor.map(|c| c.to_string()),
        items,
    }))
}

/// One product, with its version as ETag; `If-None-Match` with it answers 304.
#[utoipa::path(
    get,
    path = "/api/v1/products/{sku}",
    tag = "catalog",
    params(("sku" = String, Path, description = "The SKU (case-insensitive)")),
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 304, description = "Unchanged since the ETag sent"),
        (status = 404, description = "No such product", body = ErrorBody),
    )
)]
pub async fn get_product(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(sku): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(&Permission::ReadCatalog)?;
    let stored = store::find(state.db.pool(), &sku)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no product with the SKU {sku}")))?;
    let (view, model_version) = view_of(&state, &stored.product).await?;
    let tag = etag(stored.product.version, model_version);
    let current = etag_opaque(stored.product.version, model_version);
    // Weak comparison (RFC 9110 13.1.2): a proxy's `W/` tag still means
    // unchanged. An unreadable header is ignored: the full answer is safe.
    if TagCondition::from_headers(&headers, header::IF_NONE_MATCH)
        .ok()
        .flatten()
        .is_some_and(|sent| sent.matches_weakly(|opaque| opaque == current))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(with_etag(StatusCode::OK, (view, model_version)))
}

/// The body of `POST /api/v1/products`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductBody {
    pub sku: String,
    /// simple (default), model or variant.
    pub kind: Option<String>,
    pub family: String,
    /// The model's SKU, for a variant.
    pub parent: Option<String>,
    pub enabled: Option<bool>,
    pub categories: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub values: Option<Values>,
}

/// The body of `PATCH /api/v1/products/{sku}`: only what changes. A value
/// with `"data": null` is removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    #[schema(value_type = Option<Object>)]
    pub values: Option<Values>,
    /// A note for the reviewer, when the change becomes a proposal.
    pub note: Option<String>,
    pub enabled: Option<bool>,
    pub categories: Option<Vec<String>>,
}

fn value_changes(values: Option<Values>) -> Vec<ValueChange> {
    values
        .map(|values| {
            values
                .iter()
                .map(|(key, data)| ValueChange {
                    data: (!data.is_null()).then(|| data.clone()),
                    key,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Creates a product.
#[utoipa::path(
    post,
    path = "/api/v1/products",
    tag = "catalog",
    request_body = NewProductBody,
    responses(
        (status = 201, description = "Created", body = ProductView),
        (status = 403, description = "Not allowed, or an ERP-owned value", body = ErrorBody),
        (status = 409, description = "The SKU exists", body = ErrorBody),
        (status = 422, description = "Invalid values; details name attribute, locale and channel", body = ErrorBody),
    )
)]
pub async fn create_product(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewProductBody>,
) -> ApiResult<Response> {
    caller.require(&Permission::EditCatalog)?;
    let kind = match body.kind.as_deref() {
        None => ProductKind::Simple,
        Some(text) => ProductKind::parse(text).ok_or_else(|| {
            AppError::validation(vec![FieldError::field(
                "kind",
                format!("{text:?} is not simple, model or variant"),
            )])
        })?,
    };
    let schema = state.schema.get(&state.db).await?;
    let edited = proposals::create(
        &state.db,
        &schema,
        &caller,
        NewProduct {
            sku: body.sku,
            kind,
            family: body.family,
            parent: body.parent,
            enabled: body.enabled.unwrap_or(true),
            categories: body.categories.unwrap_or_default(),
            values: value_changes(body.values),
        },
        state.clock.now(),
    )
    .await?;
    let product = edited.product;
    let (mut view, model_version) = view_of(&state, &product).await?;
    view.pending_proposal = edited.proposal.map(|p| p.id);
    let mut response = with_etag(StatusCode::CREATED, (view, model_version));
    if let Ok(location) = HeaderValue::from_str(&format!(
        "/api/v1/products/{}",
        crate::web::extract::urlencode(&product.sku)
    )) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A product's own version in one of its ETags: `"VERSION"`, or for a
/// variant `"VERSION.MODEL_VERSION"` (a change is based on its own version).
/// Anything else (`3.x`, `+3`, `3.7.1`) is no ETag we gave out and matches
/// nothing. The model part is not compared: a variant's change writes only
/// its own values.
fn own_version(opaque: &str) -> Option<i64> {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let (own, model) = match opaque.split_once('.') {
        Some((own, model)) => (own, Some(model)),
        None => (opaque, None),
    };
    if !digits(own) || model.is_some_and(|m| !digits(m)) {
        return None;
    }
    own.parse().ok()
}

/// `If-Match`: missing → 428 (so no update is lost by accident),
/// unreadable → 400.
fn if_match(headers: &HeaderMap) -> Result<TagCondition, AppError> {
    TagCondition::from_headers(headers, header::IF_MATCH)?.ok_or_else(|| {
        AppError::PreconditionRequired(
            "send If-Match with the ETag of the version you changed, so no update is lost"
                .to_owned(),
        )
    })
}

/// The version a change is based on: `If-Match` compared strongly with the
/// product as it is (RFC 9110 13.1.1). `*` or any strong tag naming its
/// version matches; a weak tag never does; no match → 412. The write itself
/// still refuses the version if the product moves on before it lands.
fn base_version(condition: &TagCondition, sku: &str, current: i64) -> Result<i64, AppError> {
    if condition.matches_strongly(|opaque| own_version(opaque) == Some(current)) {
        return Ok(current);
    }
    let only_weak = matches!(condition, TagCondition::Tags(tags)
        if tags.iter().any(|t| t.weak && own_version(&t.opaque) == Some(current)));
    Err(AppError::PreconditionFailed(if only_weak {
        format!(
            "If-Match compares strongly and a weak ETag (W/\"…\") never matches: send \"{current}\", \
             the ETag of {sku} as GET answers it"
        )
    } else {
        format!("{sku} changed: it is at version {current}, which If-Match does not name")
    }))
}

/// Changes a product; `If-Match` is required. Fast-lane values apply at
/// once (200 with the product); reviewed-lane values and structure changes
/// (enabled, categories) become a submitted proposal (202 with it), which
/// also extends the caller's open proposal for the product.
#[utoipa::path(
    patch,
    path = "/api/v1/products/{sku}",
    tag = "catalog",
    params(
        ("sku" = String, Path, description = "The SKU"),
        ("If-Match" = String, Header, description = "The ETag of the version the change is based on"),
    ),
    request_body = PatchBody,
    responses(
        (status = 200, description = "Only fast-lane values changed: the product after the change", body = ProductView),
        (status = 202, description = "Reviewed changes: the submitted proposal (fast-lane values in the same request are applied)", body = Object),
        (status = 403, description = "Not allowed, or an ERP-owned value", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 412, description = "The product changed since that version", body = ErrorBody),
        (status = 422, description = "Invalid values", body = ErrorBody),
        (status = 428, description = "If-Match missing", body = ErrorBody),
    )
)]
pub async fn patch_product(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(sku): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PatchBody>,
) -> ApiResult<Response> {
    caller.require(&Permission::EditCatalog)?;
    let condition = if_match(&headers)?;
    let current = store::find(state.db.pool(), &sku)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no product with the SKU {sku}")))?;
    let base = base_version(&condition, &sku, current.product.version)?;
    let schema = state.schema.get(&state.db).await?;
    let changes = ChangeSet {
        values: value_changes(body.values),
        enabled: body.enabled,
        categories: body.categories,
    };
    let edit = proposals::Edit {
        sku: &sku,
        base_version: base,
        changes: &changes,
        submit_note: Some(body.note.as_deref().unwrap_or("")),
    };
    let edited = proposals::edit(&state.db, &schema, &caller, edit, state.clock.now()).await?;
    match edited.proposal {
        Some(proposal) => {
            let (_, model_version) = view_of(&state, &edited.product).await?;
            let mut response = (StatusCode::ACCEPTED, Json(proposal)).into_response();
            response
                .headers_mut()
                .insert(header::ETAG, etag(edited.product.version, model_version));
            Ok(response)
        }
        None => Ok(with_etag(
            StatusCode::OK,
            view_of(&state, &edited.product).await?,
        )),
    }
}

/// One version in a product's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor: String,
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<write::Change>,
}

/// A product's history, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/products/{sku}/history",
    tag = "catalog",
    params(("sku" = String, Path, description = "The SKU")),
    responses(
        (status = 200, description = "Versions, newest first", body = Vec<VersionView>),
        (status = 404, description = "No such product", body = ErrorBody),
    )
)]
pub async fn product_history(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(sku): Path<String>,
) -> ApiResult<Json<Vec<VersionView>>> {
    caller.require(&Permission::ReadCatalog)?;
    let stored = store::find(state.db.pool(), &sku)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no product with the SKU {sku}")))?;
    let versions = history::versions(&state.db, stored.product.id, 500).await?;
    Ok(Json(
        versions
            .into_iter()
            .map(|v| VersionView {
                version: v.version,
                at: v.at,
                actor_kind: v.actor_kind,
                actor: v.actor,
                changes: v.changes,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::own_version;

    #[test]
    fn only_etags_we_give_out_name_a_version() {
        assert_eq!(own_version("3"), Some(3));
        assert_eq!(own_version("3.7"), Some(3));
        for forged in ["3.x", "+3", "3.", ".3", "3.7.1", "", "-3", "3 "] {
            assert_eq!(own_version(forged), None, "{forged:?}");
        }
    }
}
