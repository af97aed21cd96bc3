//! The only module that knows HTTP: pages (`ui`), the JSON API (`api`),
//! extractors, middleware, static files and metrics.

pub mod api;
pub mod authz;
pub mod cookies;
pub mod download;
pub mod error;
pub mod extract;
pub mod layers;
pub mod media_files;
pub mod metrics;
mod page_error;
pub mod product_query;
pub mod state;
pub mod static_files;
pub mod ui;
pub mod upload;

pub use error::{ApiResult, AppError};
pub use page_error::{PageError, PageResult};
pub use state::AppState;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// How long a request may take, except import uploads.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Paths that receive import and media files: their bodies may take longer than
/// [`REQUEST_TIMEOUT`] to arrive; instead, each chunk must arrive within
/// [`UPLOAD_IDLE`] (see [`next_chunk`]), so a stalled client cannot hold a
/// connection open.
const UPLOAD_PATHS: [&str; 4] = ["/imports", "/api/v1/imports", "/media", "/api/v1/media"];

/// `/products/{sku}/media`: a product page's upload-and-link.
pub(crate) fn is_product_media_upload(path: &str) -> bool {
    path.strip_prefix("/products/")
        .and_then(|rest| rest.strip_suffix("/media"))
        .is_some_and(|sku| !sku.is_empty() && !sku.contains('/'))
}

/// The longest pause between two chunks of an upload.
pub const UPLOAD_IDLE: Duration = Duration::from_secs(30);

/// 408 for requests that take longer than [`REQUEST_TIMEOUT`], uploads aside.
async fn request_timeout(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let upload = request.method() == axum::http::Method::POST
        && (UPLOAD_PATHS.contains(&path) || is_product_media_upload(path));
    if upload {
        return next.run(request).await;
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// The next chunk of an upload, or an error when none came within [`UPLOAD_IDLE`].
pub async fn next_chunk<T>(
    chunk: impl std::future::Future<Output = Result<Option<T>, AppError>>,
) -> Result<Option<T>, AppError> {
    tokio::time::timeout(UPLOAD_IDLE, chunk)
        .await
        .unwrap_or_else(|_| {
            Err(AppError::Timeout(format!(
                "the upload stalled: nothing arrived for {} seconds",
                UPLOAD_IDLE.as_secs()
            )))
        })
}

/// The whole application: pages, API, health, metrics and static files, with
/// the middleware every request passes through.
pub fn router(state: AppState) -> Router {
    let (api_router, openapi) = api::router(&state.config).split_for_parts();
    let openapi = std::sync::Arc::new(openapi);

    let app = Router::new()
        .merge(ui::router(state.clone()))
        .merge(api_router)
        .merge(media_files::routes())
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .route("/static/{file}", get(static_files::serve))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn(request_timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(shape_bare_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ui::error_pages_keep_navigation,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::wake_publisher,
        ));
    let app = with_security_headers(app, state.config.secure_cookies)
        // Pages are not compressed: they carry CSRF tokens (and new token
        // secrets) beside reflected input, the BREACH recipe. Images
        // (skipped by the default predicate) and PDFs are compressed
        // already, and their strong ETags name the bytes as stored.
        .layer(
            CompressionLayer::new().compress_when(
                DefaultPredicate::new()
                    .and(NotForContentType::const_new("text/html"))
                    .and(NotForContentType::const_new("application/pdf")),
            ),
        )
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                let request_id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!(
                    "request",
                    http.method = %request.method(),
                    http.route = route,
                    request.id = request_id,
                )
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    app.with_state(state)
}

/// Headers every response carries unless its handler set them itself.
fn with_security_headers(router: Router<AppState>, secure: bool) -> Router<AppState> {
    let header_if_missing = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let router = router
        .layer(header_if_missing(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header_if_missing(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_if_missing(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_if_missing(header::REFERRER_POLICY, "same-origin"))
        // Pages and API answers carry private data; static files set their own caching.
        .layer(header_if_missing(header::CACHE_CONTROL, "no-store"));
    if secure {
        router.layer(header_if_missing(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        router
    }
}

/// `/readyz`: 200 when the database answers, 503 otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        "ready".into_response()
    } else {
        AppError::Unavailable("the database does not answer".to_owned()).into_response()
    }
}

/// Unknown paths: JSON under `/api`, a page elsewhere.
async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    let message = format!("Nothing lives at {path}.");
    if path.starts_with("/api/") {
        AppError::NotFound(message).into_response()
    } else {
        ui::error_page(StatusCode::NOT_FOUND, &message)
    }
}

/// A bare 500; [`shape_bare_errors`] turns it into a page or JSON and logs it once.
fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// Errors produced below the handlers (405 from routing, 408 from the
/// timeout, 413/400 as plain text from body limits, 500 from a panic) get the
/// same shape as every other error: JSON under `/api`, a page elsewhere.
async fn shape_bare_errors(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            AppError::MethodNotAllowed("This method is not allowed here.".to_owned())
        }
        StatusCode::REQUEST_TIMEOUT => {
            AppError::Timeout("The request took too long and was stopped.".to_owned())
        }
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(
            "The request body is larger than the request size limit.".to_owned(),
        ),
        StatusCode::INTERNAL_SERVER_ERROR => AppError::Internal(anyhow::anyhow!(
            "a handler panicked or failed without a body"
        )),
        StatusCode::NOT_FOUND => AppError::NotFound("Nothing lives here.".to_owned()),
        StatusCode::BAD_REQUEST => {
            AppError::BadRequest("The request could not be read.".to_owned())
        }
        _ => return response,
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut shaped = if is_api {
        error.into_response()
    } else {
        crate::web::PageError(error).into_response()
    };
    if let Some(allow) = allow {
        shaped.headers_mut().insert(header::ALLOW, allow);
    }
    shaped
}
