//! What connectors pull (token scope `feed:<channel>`): the gapless feed,
//! one product's published snapshot, and full snapshots in the channel
//! formats, streamed. Plus readiness per product, and the admin's publish
//! and republish calls.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Credential, Permission};
use crate::catalog::schema::{Channel, Schema};
use crate::catalog::store;
use crate::publish::feed::{self, MAX_PAGE};
use crate::publish::formats::ExportFormat;
use crate::publish::publisher::{self, PublishError, Round};
use crate::publish::readiness::{self, Reason};
use crate::web::AppState;
use crate::web::authz::{AdminApi, Authorized};
use crate::web::error::{ApiResult, AppError, ErrorBody};
use crate::web::extract::ApiCaller;

impl From<PublishError> for AppError {
    fn from(err: PublishError) -> Self {
        match err {
            PublishError::Db(err) => err.into(),
            PublishError::UnknownChannel(code) => {
                AppError::NotFound(format!("there is no channel {code}"))
            }
        }
    }
}

async fn channel_of(state: &AppState, code: &str) -> ApiResult<(std::sync::Arc<Schema>, Channel)> {
    let schema = state.schema.get(&state.db).await?;
    let channel = schema
        .channel(code)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("there is no channel {code}")))?;
    Ok((schema, channel))
}

/// `after` and `limit` exactly as sent: anything but a whole number in
/// range is a 400 naming the parameter, never a guess.
fn feed_params(query: &HashMap<String, String>) -> Result<(i64, i64), AppError> {
    let after = match query.get("after") {
        None => 0,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                return Err(AppError::bad_parameter(
                    "after",
                    format!("must be a feed sequence number (0 or more), not {text:?}"),
                ));
            }
        },
    };
    let limit = match query.get("limit") {
        None => 100,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(AppError::bad_parameter(
                    "limit",
                    format!("must be between 1 and {MAX_PAGE}, not {text:?}"),
                ));
            }
        },
    };
    Ok((after, limit))
}

/// A page of the channel's feed: every upsert and delete after `after`, in
/// sequence order, gapless. Keep `next_after` and ask again; `has_more`
/// says whether the next page is already there.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{code}/feed",
    tag = "feeds",
    params(
        ("code" = String, Path, description = "The channel"),
        ("after" = Option<i64>, Query, description = "The last sequence number seen (default 0)"),
        ("limit" = Option<i64>, Query, description = "Events per page, 1–1000 (default 100)"),
    ),
    responses(
        (status = 200, description = "`{\"events\": [{\"seq\", \"op\", \"sku\", \"product\"}], \"next_after\", \"has_more\"}`", content_type = "application/json"),
        (status = 400, description = "A bad after or limit, or an after past the feed's last event; `details` names the parameter", body = ErrorBody),
        (status = 403, description = "The token is not for this channel", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    )
)]
pub async fn get_feed(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    caller.require(&Permission::ReadFeed(code.clone()))?;
    let (after, limit) = feed_params(&query)?;
    channel_of(&state, &code).await?;
    let page = feed::page(&state.db, &code, after, limit).await?;
    // Every `next_after` given out is at most the head, which only grows: a
    // larger one belongs to another feed (another server, a restored
    // database), and an empty page would leave its connector waiting for ever.
    if page.events == 0 {
        let head = feed::head(&state.db, &code).await?;
        if after > head {
            return Err(AppError::bad_parameter(
                "after",
                format!(
                    "{after} is past the last event of channel {code} ({head}): \
                     it is not from this feed; start again from 0"
                ),
            ));
        }
    }
    if let Credential::Token { id, name, .. } = &caller.credential
        && state.publishing.pull_due(&code, *id)
        && let Err(err) =
            feed::record_pull(&state.db, &code, *id, name, after, state.clock.now()).await
    {
        tracing::warn!(error = %err, "cannot record a feed pull");
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        page.json,
    )
        .into_response())
}

/// True when `If-None-Match` names the payload's hash: a list of tags, weak
/// (`W/"…"`, as a gzip proxy rewrites them) or strong, or `*` (RFC 9110 13.1.2).
fn not_modified(headers: &HeaderMap, hash: &str) -> bool {
    let Some(sent) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    sent.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || tag
                .trim_start_matches("W/")
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                == Some(hash)
    })
}

/// The product as the channel has it now (published, or held at its last
/// good snapshot). The ETag is the payload's hash.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{code}/products/{sku}",
    tag = "feeds",
    params(
        ("code" = String, Path, description = "The channel"),
        ("sku" = String, Path, description = "The SKU"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer"),
    ),
    responses(
        (status = 200, description = "The channel payload", content_type = "application/json"),
        (status = 304, description = "Unchanged since the ETag sent"),
        (status = 403, description = "The token is not for this channel", body = ErrorBody),
        (status = 404, description = "No such channel, or the channel does not have this product", body = ErrorBody),
    )
)]
pub async fn get_channel_product(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((code, sku)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(&Permission::ReadFeed(code.clone()))?;
    channel_of(&state, &code).await?;
    let snapshot = feed::snapshot(&state.db, &code, &sku)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!("channel {code} has no published product {sku}"))
        })?;
    let tag =
        HeaderValue::from_str(&format!("\"{}\"", snapshot.hash)).map_err(AppError::internal)?;
    if not_modified(&headers, &snapshot.hash) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, tag),
        ],
        snapshot.payload,
    )
        .into_response())
}

async fn export(
    state: AppState,
    caller: &crate::auth::Caller,
    code: &str,
    format: ExportFormat,
) -> ApiResult<Response> {
    caller.require(&Permission::ReadFeed(code.to_owned()))?;
    let (schema, channel) = channel_of(&state, code).await?;
    let stream = crate::publish::export::stream(state.db.clone(), schema, channel, format);
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{code}-{}\"",
        format.file_name()
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// The channel's full snapshot as JSON Lines: one payload per line, every
/// published and held product, streamed.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{code}/export.jsonl",
    tag = "feeds",
    params(("code" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "One payload per line", content_type = "application/x-ndjson"),
        (status = 403, description = "The token is not for this channel", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    )
)]
pub async fn export_jsonl(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    export(state, &caller, &code, ExportFormat::Jsonl).await
}

/// The channel's full snapshot as a Google Merchant RSS 2.0 feed (`g:` namespace).
#[utoipa::path(
    get,
    path = "/api/v1/channels/{code}/export.xml",
    tag = "feeds",
    params(("code" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "Google Merchant XML", content_type = "application/xml"),
        (status = 403, description = "The token is not for this channel", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    )
)]
pub async fn export_xml(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    export(state, &caller, &code, ExportFormat::GoogleXml).await
}

/// The channel's full snapshot as a Google Merchant TSV file.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{code}/export.tsv",
    tag = "feeds",
    params(("code" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "Google Merchant TSV", content_type = "text/tab-separated-values"),
        (status = 403, description = "The token is not for this channel", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    )
)]
pub async fn export_tsv(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    export(state, &caller, &code, ExportFormat::GoogleTsv).await
}

/// The channel's full snapshot as a Shopify product CSV, one row per variant.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{code}/shopify.csv",
    tag = "feeds",
    params(("code" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "Shopify product CSV", content_type = "text/csv"),
        (status = 403, description = "The token is not for this channel", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    )
)]
pub async fn export_shopify(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    export(state, &caller, &code, ExportFormat::ShopifyCsv).await
}

/// A product's readiness on one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelReadinessView {
    pub channel: String,
    pub ready: bool,
    /// `published`, `held` or `none` (the channel does not have it).
    pub publication: String,
    #[schema(value_type = Vec<Object>)]
    pub locales: Vec<LocaleView>,
}

#[derive(Debug, Serialize)]
pub struct LocaleView {
    pub locale: String,
    pub ready: bool,
    pub reasons: Vec<Reason>,
}

/// Readiness of a product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessView {
    pub sku: String,
    pub channels: Vec<ChannelReadinessView>,
}

/// Whether a product is ready for each channel and locale, judged now from
/// its approved values; every reason names the attribute and locale to fix.
#[utoipa::path(
    get,
    path = "/api/v1/products/{sku}/readiness",
    tag = "products",
    params(("sku" = String, Path, description = "The SKU")),
    responses(
        (status = 200, description = "Readiness per channel and locale", body = ReadinessView),
        (status = 404, description = "No such product", body = ErrorBody),
    )
)]
pub async fn product_readiness(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(sku): Path<String>,
) -> ApiResult<Json<ReadinessView>> {
    caller.require(&Permission::ReadCatalog)?;
    let schema = state.schema.get(&state.db).await?;
    let stored = store::find(state.db.pool(), &sku)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no product with the SKU {sku}")))?;
    let verdicts = readiness::of_product(&state.db, &schema, &stored).await?;
    let mut channels = Vec::new();
    for verdict in verdicts {
        let publication = feed::snapshot(&state.db, &verdict.channel, &stored.product.sku)
            .await?
            .map_or_else(|| "none".to_owned(), |s| s.state);
        channels.push(ChannelReadinessView {
            ready: verdict.ready(),
            publication,
            locales: verdict
                .locales
                .iter()
                .map(|l| LocaleView {
                    locale: l.locale.clone(),
                    ready: l.ready(),
                    reasons: l.reasons.clone(),
                })
                .collect(),
            channel: verdict.channel,
        });
    }
    Ok(Json(ReadinessView {
        sku: stored.product.sku,
        channels,
    }))
}

/// What a publish call did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishView {
    pub channel: String,
    pub products: usize,
    pub events: usize,
    pub head: i64,
}

async fn publish_view(state: &AppState, code: &str, round: Round) -> ApiResult<Json<PublishView>> {
    Ok(Json(PublishView {
        channel: code.to_owned(),
        products: round.products,
        events: round.events,
        head: feed::head(&state.db, code).await?,
    }))
}

/// Publishes the changes a manual channel has collected.
#[utoipa::path(
    post,
    path = "/api/v1/channels/{code}/publish",
    tag = "feeds",
    params(("code" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "What was published", body = PublishView),
        (status = 403, description = "Only admins publish", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    )
)]
pub async fn publish_pending(
    State(state): State<AppState>,
    Authorized { caller, .. }: AdminApi,
    Path(code): Path<String>,
) -> ApiResult<Json<PublishView>> {
    let (schema, _) = channel_of(&state, &code).await?;
    let round = publisher::run_action(
        &state.db,
        &schema,
        &state.config.public_url,
        &code,
        publisher::Action::PublishPending,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    publish_view(&state, &code, round).await
}

/// Queues a rebuild of every product's payload for the channel (after a
/// mapping change) as a background job and answers at once; only payloads
/// that changed get an event. Follow the job at its `Location`.
#[utoipa::path(
    post,
    path = "/api/v1/channels/{code}/republish",
    tag = "feeds",
    params(("code" = String, Path, description = "The channel")),
    responses(
        (status = 202, description = "The queued job", body = super::jobs::BackgroundJob),
        (status = 403, description = "Only admins republish", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    )
)]
pub async fn republish_all(
    State(state): State<AppState>,
    Authorized { caller, .. }: AdminApi,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let (_, channel) = channel_of(&state, &code).await?;
    let task = crate::jobs::Task::Republish {
        channel: channel.code,
    };
    let job = state.queue_job(&task, &caller.actor()).await?;
    Ok(super::jobs::accepted(job))
}
