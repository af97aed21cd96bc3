//! Media assets over the API: upload (multipart, one file or several; the
//! same bytes again answer the asset already stored), list with filters,
//! read with ETag, change alt texts and tags with `If-Match`, and approve
//! or reject (four eyes). The files themselves are served by
//! [`crate::web::media_files`].

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Permission};
use crate::catalog::schema::MediaPreset;
use crate::db::Timestamp;
use crate::media::assets::{self, Asset, AssetFilter, AssetStatus, Decision, MetadataEdit};
use crate::media::{renditions, upload};
use crate::publish;
use crate::web::AppState;
use crate::web::error::{ApiResult, AppError, ErrorBody, FieldError};
use crate::web::extract::{ApiCaller, ApiJson, TagCondition};
use crate::web::upload as multipart;

/// An asset as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetView {
    /// The first 16 hex digits of the SHA-256.
    pub id: String,
    pub sha256: String,
    /// The file name as uploaded, without folders.
    pub filename: String,
    /// Detected from the bytes, never from the name.
    #[schema(example = "image/jpeg")]
    pub media_type: String,
    pub size_bytes: i64,
    /// As shown (EXIF orientation applied); `null` for documents.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// pending, approved or rejected.
    #[schema(example = "pending")]
    pub status: String,
    pub reject_reason: Option<String>,
    /// Alt text per locale.
    pub alt_text: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub uploaded_by: String,
    pub decided_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    /// Sent back in `If-Match` to change the asset.
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated: Timestamp,
    /// The absolute, content-addressed URL of each preset's rendition.
    pub renditions: BTreeMap<String, String>,
    /// Whether the background renditions are `queued`, `done` or `failed`
    /// (a missing one is still made when first asked for).
    pub renditions_status: String,
    /// Upload answers only: true when these bytes were already stored and
    /// this is that asset (nothing new was stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<bool>,
}

impl AssetView {
    fn new(asset: Asset, presets: &[MediaPreset], base: &str) -> Self {
        let renditions = presets
            .iter()
            .map(|preset| {
                (
                    preset.code.clone(),
                    renditions::public_url(base, &asset.id, preset),
                )
            })
            .collect();
        AssetView {
            status: asset.status.as_str().to_owned(),
            renditions,
            renditions_status: asset.renditions,
            existing: None,
            id: asset.id,
            sha256: asset.sha256,
            filename: asset.filename,
            media_type: asset.media_type,
            size_bytes: asset.size_bytes,
            width: asset.width,
            height: asset.height,
            reject_reason: asset.reject_reason,
            alt_text: asset.alt_text,
            tags: asset.tags,
            uploaded_by: asset.uploaded_by,
            decided_by: asset.decided_by,
            decided_at: asset.decided_at,
            version: asset.version,
            created: asset.created,
            updated: asset.updated,
        }
    }
}

/// Views of assets with the rendition URLs of the current presets.
struct Views {
    presets: Vec<MediaPreset>,
    base: String,
}

impl Views {
    async fn of(state: &AppState) -> ApiResult<Self> {
        let schema = state.schema.get(&state.db).await?;
        Ok(Views {
            presets: schema.presets().into_owned(),
            base: state.media.public_url.clone(),
        })
    }

    fn view(&self, asset: Asset) -> AssetView {
        AssetView::new(asset, &self.presets, &self.base)
    }
}

/// `"VERSION"`: the ETag of an asset's metadata.
fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn with_headers(status: StatusCode, view: AssetView, location: bool) -> Response {
    let tag = etag(view.version);
    let path = format!("/api/v1/media/{}", view.id);
    let mut response = (status, Json(view)).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    if location && let Ok(path) = HeaderValue::from_str(&path) {
        response.headers_mut().insert(header::LOCATION, path);
    }
    response
}

/// The form of `POST /api/v1/media` (documentation only; the handler reads
/// the parts as they stream in).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the multipart form in the OpenAPI document"
)]
pub struct MediaUploadForm {
    /// One part per file; send several `file` parts to upload several files.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
    /// Comma-separated tags for every file of the request.
    tags: Option<String>,
}

/// The answer to an upload of several files: each file is judged on its
/// own, so one refused file does not stop the others.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadBatchView {
    /// The stored assets, in the order sent (`existing` true for bytes
    /// stored before).
    pub assets: Vec<AssetView>,
    /// The files refused, with why.
    pub errors: Vec<UploadFailure>,
}

/// A file of a batch that was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadFailure {
    /// Its position among the request's files, from 0.
    pub index: usize,
    pub filename: String,
    /// The HTTP status it would have had alone (413, 422, …).
    pub status: u16,
    /// The error code it would have had alone (`payload_too_large`, `validation_failed`, …).
    pub code: String,
    pub message: String,
}

/// Tags from the comma-separated `tags` field.
fn tags_field(text: Option<&str>) -> Vec<String> {
    text.map(|text| text.split(',').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Uploads one file or several (`multipart/form-data`; each file in a part
/// with a file name, usually named `file`; optional `tags`,
/// comma-separated). Needs `catalog:write` and an editor or admin. The
/// media type is read from the bytes, never from the name; a new asset is
/// `pending` until an approver approves it.
///
/// One file: 201 with the new asset, or 200 with the asset that already
/// holds these bytes (`"existing": true`; nothing new is stored). Several
/// files: 200 with `{"assets": [...], "errors": [...]}`, each file judged
/// on its own. A file over the size limit refuses the whole request (413,
/// nothing stored); the whole request may be at most the size limit plus
/// 1 MiB.
#[utoipa::path(
    post,
    path = "/api/v1/media",
    tag = "media",
    request_body(content = MediaUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "One file, stored as a new asset", body = AssetView,
            headers(("Location" = String, description = "The asset's API URL"))),
        (status = 200, description = "One file whose bytes were already stored (the existing asset, `existing: true`), or several files: the assets stored and the files refused", body = UploadBatchView),
        (status = 400, description = "Not a multipart/form-data body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an editor or admin, or the token lacks catalog:write", body = ErrorBody),
        (status = 413, description = "A file is larger than SLUICE_MAX_MEDIA_BYTES (nothing is stored)", body = ErrorBody),
        (status = 422, description = "No file; or (one file) a type not accepted (SVG, HTML, …), a pixel count over SLUICE_MAX_MEDIA_PIXELS, or a file that cannot be read", body = ErrorBody),
    )
)]
pub async fn upload_media(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    body: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    caller.require(&Permission::EditCatalog)?;
    let form = multipart::read(body, state.media.limits.max_bytes).await?;
    if form.files.is_empty() {
        return Err(AppError::validation(vec![FieldError::field(
            "file",
            "send at least one file, in a multipart part with a file name (e.g. named file)",
        )]));
    }
    let tags = tags_field(form.field("tags"));
    let actor = caller.actor();
    let views = Views::of(&state).await?;
    let single = form.files.len() == 1;
    let mut stored = Vec::new();
    let mut errors = Vec::new();
    for (index, (filename, bytes)) in form.files.into_iter().enumerate() {
        let outcome = upload::upload(
            &state.db,
            &state.media,
            &actor,
            &filename,
            bytes,
            &tags,
            state.clock.now(),
        )
        .await;
        match outcome {
            Ok(uploaded) => {
                let mut view = views.view(uploaded.asset);
                view.existing = Some(!uploaded.created);
                if single {
                    let status = if uploaded.created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    };
                    return Ok(with_headers(status, view, true));
                }
                stored.push(view);
            }
            Err(err) if single => return Err(err.into()),
            Err(err) => {
                let err = AppError::from(err);
                err.log();
                errors.push(UploadFailure {
                    index,
                    filename: upload::sanitize_filename(&filename),
                    status: err.status().as_u16(),
                    code: err.code().to_owned(),
                    message: err.public_message(),
                });
            }
        }
    }
    Ok(Json(UploadBatchView {
        assets: stored,
        errors,
    })
    .into_response())
}

/// Filters and paging of `GET /api/v1/media`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MediaQuery {
    /// Part of the file name or a tag (case-insensitive).
    pub q: Option<String>,
    /// pending, approved or rejected.
    pub status: Option<String>,
    /// image or document.
    pub kind: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 100; default 50.
    pub limit: Option<i64>,
}

/// A page of assets, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaPage {
    pub items: Vec<AssetView>,
    /// How many assets match the filters in all.
    pub total: i64,
    /// Send as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// Assets, newest first, filtered by text, status and kind.
#[utoipa::path(
    get,
    path = "/api/v1/media",
    tag = "media",
    params(MediaQuery),
    responses(
        (status = 200, description = "A page of assets", body = MediaPage),
        (status = 400, description = "Bad parameters; `details` names the parameter", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list_media(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    query: Result<Query<MediaQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<MediaPage>> {
    caller.require(&Permission::ReadCatalog)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(AppError::bad_parameter(
            "limit",
            format!("must be between 1 and 100, not {limit}"),
        ));
    }
    let status = match query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(text) => Some(AssetStatus::parse(text).ok_or_else(|| {
            AppError::bad_parameter(
                "status",
                format!("{text:?} is not pending, approved or rejected"),
            )
        })?),
    };
    let kind = match query
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        None => None,
        Some(kind @ ("image" | "document")) => Some(kind.to_owned()),
        Some(other) => {
            return Err(AppError::bad_parameter(
                "kind",
                format!("{other:?} is not image or document"),
            ));
        }
    };
    // The cursor is the position of the next page in the list (newest first).
    let offset = match query
        .cursor
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|offset| *offset >= 0)
            .ok_or_else(|| {
                AppError::bad_parameter(
                    "cursor",
                    format!("{text:?} is not a cursor this list gave out; start again without one"),
                )
            })?,
    };
    let filter = AssetFilter {
        q: query.q,
        status,
        kind,
        offset,
        limit,
        ..AssetFilter::default()
    };
    let (found, total) = assets::list(&state.db, &filter).await?;
    let views = Views::of(&state).await?;
    let next = offset.saturating_add(i64::try_from(found.len()).unwrap_or(i64::MAX));
    let has_more = next < total && !found.is_empty();
    Ok(Json(MediaPage {
        items: found.into_iter().map(|asset| views.view(asset)).collect(),
        total,
        next_cursor: has_more.then(|| next.to_string()),
        has_more,
    }))
}

async fn find(state: &AppState, id: &str) -> ApiResult<Asset> {
    Ok(assets::get(&state.db, id)
        .await?
        .ok_or_else(|| crate::media::MediaError::NotFound(id.to_owned()))?)
}

/// One asset, with its version as ETag; `If-None-Match` with it answers 304.
#[utoipa::path(
    get,
    path = "/api/v1/media/{id}",
    tag = "media",
    params(("id" = String, Path, description = "The asset's id")),
    responses(
        (status = 200, description = "The asset", body = AssetView),
        (status = 304, description = "Unchanged since the ETag sent"),
        (status = 404, description = "No such asset", body = ErrorBody),
    )
)]
pub async fn get_media(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    caller.require(&Permission::ReadCatalog)?;
    let asset = find(&state, &id).await?;
    let current = asset.version.to_string();
    // An unreadable header is ignored: the full answer is safe.
    if TagCondition::from_headers(&headers, header::IF_NONE_MATCH)
        .ok()
        .flatten()
        .is_some_and(|sent| sent.matches_weakly(|opaque| opaque == current))
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag(asset.version))],
        )
            .into_response());
    }
    let views = Views::of(&state).await?;
    Ok(with_headers(StatusCode::OK, views.view(asset), false))
}

/// The body of `PATCH /api/v1/media/{id}`: only what changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaPatch {
    /// Alt text per locale; a locale sent as `null` or `""` loses its alt
    /// text, locales not sent keep theirs.
    pub alt_text: Option<BTreeMap<String, Option<String>>>,
    /// The asset's tags, all of them (trimmed, lower-cased, de-duplicated).
    pub tags: Option<Vec<String>>,
}

/// Changes an asset's alt texts and tags; `If-Match` with its version is
/// required.
#[utoipa::path(
    patch,
    path = "/api/v1/media/{id}",
    tag = "media",
    params(
        ("id" = String, Path, description = "The asset's id"),
        ("If-Match" = String, Header, description = "The ETag of the version the change is based on"),
    ),
    request_body = MediaPatch,
    responses(
        (status = 200, description = "The asset after the change", body = AssetView),
        (status = 403, description = "Not an editor or admin, or the token lacks catalog:write", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
        (status = 412, description = "The asset changed since that version", body = ErrorBody),
        (status = 422, description = "An unknown locale or an alt text over 500 characters", body = ErrorBody),
        (status = 428, description = "If-Match missing", body = ErrorBody),
    )
)]
pub async fn patch_media(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<ApiJson<MediaPatch>, AppError>,
) -> ApiResult<Response> {
    caller.require(&Permission::EditCatalog)?;
    let asset = find(&state, &id).await?;
    let condition = TagCondition::from_headers(&headers, header::IF_MATCH)?.ok_or_else(|| {
        AppError::PreconditionRequired(
            "send If-Match with the ETag of the version you changed, so no update is lost"
                .to_owned(),
        )
    })?;
    let current = asset.version;
    if !condition.matches_strongly(|opaque| opaque == current.to_string()) {
        return Err(AppError::PreconditionFailed(format!(
            "asset {id} changed: it is at version {current}, which If-Match does not name \
             (weak ETags never match)"
        )));
    }
    let ApiJson(patch) = body?;
    let schema = state.schema.get(&state.db).await?;
    let mut alt_text = asset.alt_text.clone();
    let mut unknown = Vec::new();
    for (locale, text) in patch.alt_text.unwrap_or_default() {
        if !schema.locales.iter().any(|l| l.code == locale) {
            unknown.push(FieldError {
                locale: Some(locale.clone()),
                ..FieldError::field(
                    "alt_text",
                    format!("{locale} is not a locale of the catalog"),
                )
            });
            continue;
        }
        match text.filter(|t| !t.trim().is_empty()) {
            Some(text) => alt_text.insert(locale, text),
            None => alt_text.remove(&locale),
        };
    }
    if !unknown.is_empty() {
        return Err(AppError::validation(unknown));
    }
    let edit = MetadataEdit {
        alt_text,
        tags: patch.tags.unwrap_or_else(|| asset.tags.clone()),
    };
    let mut tx = state.db.begin_write().await?;
    let updated = assets::update_metadata(
        &mut tx,
        &id,
        current,
        &edit,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    let views = Views::of(&state).await?;
    Ok(with_headers(StatusCode::OK, views.view(updated), false))
}

/// The body of a rejection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectMediaBody {
    /// Required: why, kept with the asset for its uploader.
    #[serde(default)]
    pub reason: String,
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    id: &str,
    decision: &Decision,
) -> ApiResult<Json<AssetView>> {
    publish::assets::decide(
        &state.db,
        id,
        decision,
        &caller.actor(),
        state.config.allow_self_approval,
        state.clock.now(),
    )
    .await?;
    let asset = find(state, id).await?;
    Ok(Json(Views::of(state).await?.view(asset)))
}

/// Approves an asset: it may now reach the channels that link it, and its
/// renditions are public. Not the uploader's own (four eyes).
#[utoipa::path(
    post,
    path = "/api/v1/media/{id}/approve",
    tag = "media",
    params(("id" = String, Path, description = "The asset's id")),
    responses(
        (status = 200, description = "The asset, approved (also when it already was)", body = AssetView),
        (status = 403, description = "Not an approver, the token lacks catalog:write, or your own upload", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    )
)]
pub async fn approve_media(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<AssetView>> {
    caller.require(&Permission::Review)?;
    decide(&state, &caller, &id, &Decision::Approve).await
}

/// Rejects an asset with a reason; it stays stored and out of every channel.
#[utoipa::path(
    post,
    path = "/api/v1/media/{id}/reject",
    tag = "media",
    params(("id" = String, Path, description = "The asset's id")),
    request_body = RejectMediaBody,
    responses(
        (status = 200, description = "The asset, rejected", body = AssetView),
        (status = 403, description = "Not an approver, the token lacks catalog:write, or your own upload", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
        (status = 422, description = "No reason", body = ErrorBody),
    )
)]
pub async fn reject_media(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    body: Result<ApiJson<RejectMediaBody>, AppError>,
) -> ApiResult<Json<AssetView>> {
    caller.require(&Permission::Review)?;
    // Existence before the body: an unreadable body on no asset is a 404.
    find(&state, &id).await?;
    let ApiJson(body) = body?;
    decide(
        &state,
        &caller,
        &id,
        &Decision::Reject {
            reason: body.reason,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::tags_field;

    #[test]
    fn tags_are_split_on_commas() {
        assert_eq!(tags_field(Some("a, b,,c")), vec!["a", " b", "", "c"]);
        assert!(tags_field(None).is_empty());
    }
}
