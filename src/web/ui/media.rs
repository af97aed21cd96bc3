//! Media library pages: the grid of assets with search, filters, paging
//! and bulk approve (`/media`), the upload form (several files at once,
//! without JavaScript; `static/media.js` adds a drop zone and per-file
//! progress by sending one file per request with `Accept: application/json`)
//! and the asset page (`/media/{id}`: preview, metadata, renditions, alt
//! texts and tags, review, where it is used, its history).
//!
//! The upload reads the multipart body with [`crate::web::upload::Parts`],
//! one file at a time, each under `SLUICE_MAX_MEDIA_BYTES`; each file goes
//! through [`crate::media::upload::upload`]. After the no-JS upload and the bulk
//! approve, the summary travels in the redirect's query, signed with the
//! session's CSRF secret so that nobody can put words on another person's
//! page through a link.

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::audit_log::AuditRow;
use super::{Chrome, NoticeQuery, render, thousands};
use crate::audit::{self, Actor};
use crate::auth::sessions::Session;
use crate::auth::{Caller, Permission};
use crate::catalog::schema::{AttributeType, Schema};
use crate::catalog::store;
use crate::media::assets::{self, Asset, AssetFilter, AssetStatus, Decision, MetadataEdit};
use crate::media::{MediaError, upload};
use crate::publish;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::extract::{ClientAddr, PageForm, PageSession, urlencode};
use crate::web::layers::CSRF_FIELD;
use crate::web::upload::{FileBody, Part, Parts};
use crate::web::{PageError, PageResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        // Each file is held to the media limit by the upload reader; the
        // general body limit (meant for forms) would refuse any real photo.
        .route(
            "/media",
            get(library)
                .post(upload_files)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/media/approve", post(bulk_approve))
        .route("/media/{id}", get(asset_page))
        .route("/media/{id}/metadata", post(save_metadata))
        .route("/media/{id}/decision", post(decide))
}

/// Assets per library page.
const PAGE_SIZE: i64 = 48;
/// Files one upload request may carry.
const MAX_FILES: usize = 20;
/// Largest text field of the upload form (tags, the CSRF token).
const MAX_TEXT_FIELD: usize = 2048;
/// History entries shown on an asset page.
const HISTORY: i64 = 50;
/// The locale whose alt text the grid shows (as the other list pages).
const LABEL_LOCALE: &str = "en_US";

fn reader(session: &Session) -> Result<Caller, PageError> {
    let caller = session.caller();
    caller
        .require(&Permission::ReadCatalog)
        .map_err(AppError::from)?;
    Ok(caller)
}

fn editor(session: &Session) -> Result<Caller, PageError> {
    let caller = reader(session)?;
    caller
        .require(&Permission::EditCatalog)
        .map_err(AppError::from)?;
    Ok(caller)
}

fn approver(session: &Session) -> Result<Caller, PageError> {
    let caller = reader(session)?;
    caller
        .require(&Permission::Review)
        .map_err(AppError::from)?;
    Ok(caller)
}

/// A media refusal as the pages say it: as the API does (`web::error`),
/// except that a form saved over a newer version is a conflict (409, the
/// page shows the newer data), not a failed precondition.
fn media_error(err: MediaError) -> AppError {
    match err {
        MediaError::Stale { .. } => AppError::Conflict(err.to_string()),
        other => AppError::from(other),
    }
}

/// `1.5 MiB`, `820 bytes`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut unit = 0;
    let mut scaled = bytes;
    while scaled >= 1024 * 1024 && unit + 1 < UNITS.len() {
        scaled /= 1024;
        unit += 1;
    }
    let tenths = scaled * 10 / 1024;
    let text = if tenths.is_multiple_of(10) {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    };
    format!("{text} {}", UNITS[unit])
}

fn size_of(asset: &Asset) -> String {
    human_bytes(u64::try_from(asset.size_bytes).unwrap_or(0))
}

fn dimensions(asset: &Asset) -> String {
    match (asset.width, asset.height) {
        (Some(w), Some(h)) => format!("{w} × {h}"),
        _ => String::new(),
    }
}

/// `JPEG`, `PDF`: the short name of a media type.
fn kind_label(media_type: &str) -> String {
    media_type
        .rsplit('/')
        .next()
        .unwrap_or(media_type)
        .to_uppercase()
}

fn ui_locale(schema: &Schema) -> String {
    if schema.locales.iter().any(|l| l.code == LABEL_LOCALE) || schema.locales.is_empty() {
        LABEL_LOCALE.to_owned()
    } else {
        schema.locales[0].code.clone()
    }
}

fn alt_of(asset: &Asset, locale: &str) -> String {
    asset
        .alt_text
        .get(locale)
        .cloned()
        .unwrap_or_else(|| asset.filename.clone())
}

// ---- the signed summary of the last upload or bulk approve ----

/// One file or asset in a summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ReportItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    why: Option<String>,
}

impl ReportItem {
    fn href(&self) -> String {
        self.id
            .as_deref()
            .map(|id| format!("/media/{id}"))
            .unwrap_or_default()
    }
}

/// What an upload or a bulk approve did, shown once on the library.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Report {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    created: Vec<ReportItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    existing: Vec<ReportItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    refused: Vec<ReportItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    approved: Vec<ReportItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<ReportItem>,
}

impl Report {
    fn is_upload(&self) -> bool {
        !(self.created.is_empty() && self.existing.is_empty() && self.refused.is_empty())
    }
}

/// HMAC-SHA-256 (RFC 2104) of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0_u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn signature(session: &Session, text: &str) -> String {
    hex::encode(&hmac_sha256(session.csrf_token.as_bytes(), text.as_bytes())[..16])
}

/// `/media?report=…&sig=…`: the summary for this session's eyes only.
fn report_location(session: &Session, report: &Report) -> String {
    let text = serde_json::to_string(report).unwrap_or_default();
    format!(
        "/media?report={}&sig={}",
        urlencode(&text),
        signature(session, &text)
    )
}

fn read_report(session: &Session, text: Option<&str>, sig: Option<&str>) -> Option<Report> {
    let (text, sig) = (text?, sig?);
    let expected = signature(session, text);
    let same = expected.len() == sig.len()
        && expected
            .bytes()
            .zip(sig.bytes())
            .fold(0_u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return None;
    }
    serde_json::from_str(text).ok()
}

// ---- the library ----

#[derive(Debug, Default, Deserialize)]
struct LibraryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    usage: String,
    page: Option<String>,
    report: Option<String>,
    sig: Option<String>,
}

/// An asset in the grid.
struct Card {
    id: String,
    href: String,
    thumb: String,
    alt: String,
    filename: String,
    kind: String,
    size: String,
    dims: String,
    status: &'static str,
    /// An approver may tick it (pending, and not their own upload).
    selectable: bool,
}

/// A filter link with its count.
struct FilterLink {
    label: String,
    href: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "media/library.html")]
struct LibraryPage {
    chrome: Chrome,
    may_upload: bool,
    may_approve: bool,
    upload_action: String,
    script_url: String,
    limit: String,
    upload_error: Option<String>,
    tags: String,
    q: String,
    status: String,
    kind: String,
    usage: String,
    status_links: Vec<FilterLink>,
    cards: Vec<Card>,
    total: String,
    usage_note: Option<String>,
    report: Option<Report>,
    prev_page: Option<String>,
    next_page: Option<String>,
    page_label: String,
    any_selectable: bool,
}

/// The library URL for these filters (and page).
fn library_href(q: &str, status: &str, kind: &str, usage: &str, page: i64) -> String {
    let mut parts = Vec::new();
    for (key, value) in [
        ("q", q),
        ("status", status),
        ("kind", kind),
        ("usage", usage),
    ] {
        if !value.is_empty() {
            parts.push(format!("{key}={}", urlencode(value)));
        }
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/media".to_owned()
    } else {
        format!("/media?{}", parts.join("&"))
    }
}

/// The assets products link (the usage filter): one pass over the
/// products that hold values of an `assets` attribute.
async fn linked_assets(state: &AppState, schema: &Schema) -> PageResult<HashSet<String>> {
    let attributes: Vec<String> = schema
        .attributes
        .iter()
        .filter(|a| a.kind == AttributeType::Assets)
        .map(|a| a.code.clone())
        .collect();
    let mut conn = state.db.pool().acquire().await.map_err(AppError::from)?;
    Ok(store::linked_asset_ids(&mut conn, &attributes)
        .await
        .map_err(AppError::from)?)
}

/// A page of the library and how many match. With the usage filter, the
/// ids matching the other filters are read (one column) and paged here
/// against the linked set, so any number of linked assets works.
async fn find_assets(
    state: &AppState,
    schema: &Schema,
    usage: &str,
    filter: &AssetFilter,
) -> PageResult<(Vec<Asset>, i64)> {
    let want_used = match usage {
        "used" => true,
        "unused" => false,
        _ => return Ok(assets::list(&state.db, filter).await?),
    };
    let linked = linked_assets(state, schema).await?;
    let matching: Vec<String> = assets::matching_ids(&state.db, filter)
        .await?
        .into_iter()
        .filter(|id| linked.contains(id) == want_used)
        .collect();
    let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
    let start = usize::try_from(filter.offset.max(0))
        .unwrap_or(usize::MAX)
        .min(matching.len());
    let end = start
        .saturating_add(usize::try_from(filter.limit).unwrap_or(0))
        .min(matching.len());
    let page_ids = &matching[start..end];
    let mut conn = state.db.pool().acquire().await.map_err(AppError::from)?;
    let mut found = assets::many(&mut conn, page_ids)
        .await
        .map_err(AppError::from)?;
    found.sort_by_key(|asset| page_ids.iter().position(|id| *id == asset.id));
    Ok((found, total))
}

struct LibraryInput {
    query: LibraryQuery,
    upload_error: Option<String>,
    tags: String,
}

async fn library_page(
    state: &AppState,
    session: &Session,
    input: LibraryInput,
    status_code: StatusCode,
) -> PageResult {
    let caller = reader(session)?;
    let LibraryInput {
        query,
        upload_error,
        tags,
    } = input;
    let schema = state.schema.get(&state.db).await?;
    let locale = ui_locale(&schema);
    let status = AssetStatus::parse(query.status.trim());
    let kind = match query.kind.as_str() {
        "image" | "document" => query.kind.clone(),
        _ => String::new(),
    };
    let usage = match query.usage.as_str() {
        "used" | "unused" => query.usage.clone(),
        _ => String::new(),
    };
    let page = match query.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| {
                AppError::BadRequest(format!("page must be a page number, not {text:?}"))
            })?,
    };
    let q = query.q.trim().to_owned();
    let filter = AssetFilter {
        q: Some(q.clone()).filter(|q| !q.is_empty()),
        status,
        kind: Some(kind.clone()).filter(|k| !k.is_empty()),
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
        ..AssetFilter::default()
    };
    let (found, total) = find_assets(state, &schema, &usage, &filter).await?;
    let counts = assets::counts(&state.db).await?;

    let may_approve = caller.may(&Permission::Review);
    let allow_self = state.config.allow_self_approval;
    let me = Some(session.user.id);
    let cards: Vec<Card> = found
        .iter()
        .map(|asset| Card {
            id: asset.id.clone(),
            href: format!("/media/{}", asset.id),
            thumb: format!("/media/{}/thumbnail", asset.id),
            alt: alt_of(asset, &locale),
            filename: asset.filename.clone(),
            kind: kind_label(&asset.media_type),
            size: size_of(asset),
            dims: dimensions(asset),
            status: asset.status.as_str(),
            selectable: may_approve
                && asset.status == AssetStatus::Pending
                && (allow_self || asset.uploaded_by_user != me),
        })
        .collect();
    let status_text = status.map(AssetStatus::as_str).unwrap_or_default();
    let all: i64 = counts.values().sum();
    let mut status_links = vec![FilterLink {
        label: format!("All ({})", thousands(all)),
        href: library_href(&q, "", &kind, &usage, 1),
        active: status.is_none(),
    }];
    for s in AssetStatus::ALL {
        let n = counts.get(&s).copied().unwrap_or(0);
        status_links.push(FilterLink {
            label: format!("{} ({})", capitalized(s.as_str()), thousands(n)),
            href: library_href(&q, s.as_str(), &kind, &usage, 1),
            active: status == Some(s),
        });
    }
    let pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
    let chrome = Chrome::new(session, "/media", None);
    let report = read_report(session, query.report.as_deref(), query.sig.as_deref());
    let page_view = LibraryPage {
        may_upload: caller.may(&Permission::EditCatalog),
        may_approve,
        upload_action: format!("/media?{CSRF_FIELD}={}", urlencode(&chrome.csrf)),
        script_url: crate::web::static_files::url("media.js"),
        limit: human_bytes(state.media.limits.max_bytes),
        upload_error,
        tags,
        any_selectable: cards.iter().any(|c| c.selectable),
        cards,
        total: format!(
            "{} {}",
            thousands(total),
            if total == 1 { "asset" } else { "assets" }
        ),
        usage_note: (!usage.is_empty()).then(|| {
            "Used means a product's values link the asset (drafts and proposals not counted)."
                .to_owned()
        }),
        report,
        prev_page: (page > 1).then(|| library_href(&q, status_text, &kind, &usage, page - 1)),
        next_page: (page < pages).then(|| library_href(&q, status_text, &kind, &usage, page + 1)),
        page_label: if pages > 1 {
            format!("Page {page} of {pages}")
        } else {
            String::new()
        },
        status_links,
        q,
        status: status_text.to_owned(),
        kind,
        usage,
        chrome,
    };
    Ok(render(status_code, &page_view))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `GET /media`
async fn library(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    query: Result<Query<LibraryQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let Query(query) = query.map_err(|rejection| {
        AppError::BadRequest(format!(
            "The filters cannot be read: {}",
            rejection.body_text()
        ))
    })?;
    library_page(
        &state,
        &session,
        LibraryInput {
            query,
            upload_error: None,
            tags: String::new(),
        },
        StatusCode::OK,
    )
    .await
}

// ---- upload ----

/// `summer, Shoes ,sale` → `["summer", "shoes", "sale"]`.
fn parse_tags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in text.split(',') {
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// One file of an upload and what became of it.
#[derive(Debug, Serialize)]
struct FileOutcome {
    filename: String,
    /// `created`, `existing` or `refused`.
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    asset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip)]
    error: Option<MediaError>,
}

/// Reads the form part by part and stores each file as it arrives, so one
/// file at a time is held in memory. Tags apply to the files after them
/// (the form and the script send them first).
async fn receive(
    state: &AppState,
    actor: &Actor,
    parts: &mut Parts,
    tags_text: &mut String,
) -> Result<Vec<FileOutcome>, AppError> {
    let limit = state.media.limits.max_bytes;
    let mut tags: Vec<String> = Vec::new();
    let mut outcomes = Vec::new();
    while let Some(part) = parts.next().await? {
        match part {
            Part::File {
                field,
                filename,
                body,
            } if field == "file" => {
                let filename = upload::sanitize_filename(&filename);
                let result = match body {
                    FileBody::TooLarge(size) => Err(MediaError::TooLarge { size, limit }),
                    FileBody::Bytes(bytes) => {
                        upload::upload(
                            &state.db,
                            &state.media,
                            actor,
                            &filename,
                            bytes,
                            &tags,
                            state.clock.now(),
                        )
                        .await
                    }
                };
                outcomes.push(match result {
                    Ok(uploaded) => FileOutcome {
                        filename,
                        outcome: if uploaded.created {
                            "created"
                        } else {
                            "existing"
                        },
                        href: Some(format!("/media/{}", uploaded.asset.id)),
                        asset: Some(uploaded.asset.id),
                        message: None,
                        error: None,
                    },
                    // The store or the database failing is not the file's fault.
                    Err(err @ (MediaError::Storage(_) | MediaError::Db(_))) => {
                        return Err(media_error(err));
                    }
                    Err(err) => FileOutcome {
                        filename,
                        outcome: "refused",
                        asset: None,
                        href: None,
                        message: Some(refusal_text(&err)),
                        error: Some(err),
                    },
                });
            }
            Part::Field { name, value } if name == "tags" => {
                *tags_text = value.trim().to_owned();
                tags = parse_tags(tags_text);
            }
            // A token in the body as well as in the URL does no harm.
            Part::Field { name, .. } if name == CSRF_FIELD => {}
            Part::File { field: name, .. } | Part::Field { name, .. } => {
                return Err(AppError::BadRequest(format!(
                    "The upload has a field {name:?} that the media form does not send."
                )));
            }
        }
    }
    Ok(outcomes)
}

/// Why a file was refused, naming the limit where one was passed.
fn refusal_text(err: &MediaError) -> String {
    match err {
        MediaError::TooLarge { limit, .. } => format!(
            "The file is larger than the media limit of {} ({limit} bytes, set by SLUICE_MAX_MEDIA_BYTES).",
            human_bytes(*limit)
        ),
        MediaError::TooManyPixels {
            width,
            height,
            limit,
        } => format!(
            "The image is {width} × {height} pixels; at most {} pixels are accepted (SLUICE_MAX_MEDIA_PIXELS).",
            thousands(i64::try_from(*limit).unwrap_or(i64::MAX))
        ),
        other => capitalized(&other.to_string()) + ".",
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// The whole request is refused before it is read when it says it is
/// larger than every file at the limit.
fn check_length(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let limit = state.media.limits.max_bytes;
    let most = limit
        .saturating_mul(MAX_FILES as u64)
        .saturating_add(64 * 1024);
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(length) if length > most => Err(AppError::PayloadTooLarge(format!(
            "The upload is {}; at most {MAX_FILES} files of at most {} each ({limit} bytes, set by SLUICE_MAX_MEDIA_BYTES) are accepted.",
            human_bytes(length),
            human_bytes(limit)
        ))),
        _ => Ok(()),
    }
}

/// `POST /media?csrf_token=…` (multipart: tags, then one or more `file`).
/// Without JavaScript: 303 to the library with a summary. With
/// `Accept: application/json` (the script, one file per request): the
/// outcome of each file, or the API error of a single refused file (413
/// when too large).
async fn upload_files(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let json = wants_json(&headers);
    match upload_inner(&state, &session, &addr, &headers, multipart, json).await {
        Ok(response) => response,
        Err(err) if json => err.into_response(),
        Err(err) => PageError(err).into_response(),
    }
}

async fn upload_inner(
    state: &AppState,
    session: &Session,
    addr: &str,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
    json: bool,
) -> Result<Response, AppError> {
    let caller = editor(session).map_err(|PageError(err)| err)?;
    check_length(state, headers)?;
    let mut parts = Parts::new(multipart, state.media.limits.max_bytes)?
        .at_most(MAX_FILES, 4)
        .field_bytes(MAX_TEXT_FIELD);
    let actor = caller.actor().from_addr(addr);
    let mut tags = String::new();
    let mut outcomes = receive(state, &actor, &mut parts, &mut tags).await?;
    if outcomes.is_empty() {
        if json {
            return Err(AppError::validation(vec![
                crate::web::error::FieldError::field("file", "Choose one or more files to upload."),
            ]));
        }
        let page = library_page(
            state,
            session,
            LibraryInput {
                query: LibraryQuery::default(),
                upload_error: Some("Choose one or more files to upload.".to_owned()),
                tags,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        return Ok(page.unwrap_or_else(IntoResponse::into_response));
    }
    let created = outcomes.iter().filter(|o| o.outcome == "created").count();
    if created > 0 {
        tracing::info!(
            media.created = created,
            media.files = outcomes.len(),
            "media uploaded from the browser"
        );
    }
    let all_refused = outcomes.iter().all(|o| o.outcome == "refused");
    let all_too_large = outcomes
        .iter()
        .all(|o| matches!(o.error, Some(MediaError::TooLarge { .. })));
    if json {
        if outcomes.len() == 1 && all_refused {
            let outcome = outcomes.remove(0);
            let message = outcome.message.unwrap_or_default();
            return Err(match outcome.error {
                Some(MediaError::TooLarge { .. }) => AppError::PayloadTooLarge(message),
                _ => AppError::validation(vec![crate::web::error::FieldError::field(
                    "file", message,
                )]),
            });
        }
        return Ok(Json(serde_json::json!({ "files": outcomes })).into_response());
    }
    if all_too_large {
        let names: Vec<&str> = outcomes.iter().map(|o| o.filename.as_str()).collect();
        let why = outcomes
            .first()
            .and_then(|o| o.message.clone())
            .unwrap_or_default();
        return Err(AppError::PayloadTooLarge(format!(
            "{} refused: {why}",
            names.join(", ")
        )));
    }
    let mut report = Report::default();
    for outcome in outcomes {
        // Names are cut short so the summary fits in a URL.
        let item = ReportItem {
            id: outcome.asset,
            name: outcome.filename.chars().take(80).collect(),
            why: outcome.message,
        };
        match outcome.outcome {
            "created" => report.created.push(item),
            "existing" => report.existing.push(item),
            _ => report.refused.push(item),
        }
    }
    Ok(Redirect::to(&report_location(session, &report)).into_response())
}

// ---- bulk approve ----

#[derive(Debug, Deserialize)]
struct BulkForm {
    #[serde(default)]
    asset: Vec<String>,
}

/// `POST /media/approve`: approves each ticked asset on its own; the
/// approver's own uploads are skipped (four eyes) and listed.
async fn bulk_approve(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    ClientAddr(addr): ClientAddr,
    PageForm(form): PageForm<BulkForm>,
) -> PageResult {
    let caller = approver(&session)?;
    let mut ids: Vec<String> = form
        .asset
        .into_iter()
        .map(|id| id.trim().to_ascii_lowercase())
        .filter(|id| !id.is_empty())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(500);
    if ids.is_empty() {
        return Err(PageError(AppError::validation(vec![
            crate::web::error::FieldError::field("asset", "Select at least one asset to approve."),
        ])));
    }
    let mut conn = state.db.pool().acquire().await.map_err(AppError::from)?;
    let found = assets::many(&mut conn, &ids)
        .await
        .map_err(AppError::from)?;
    drop(conn);
    let actor = caller.actor().from_addr(&addr);
    let allow_self = state.config.allow_self_approval;
    let mut report = Report::default();
    for asset in found {
        let item = ReportItem {
            id: Some(asset.id.clone()),
            name: asset.filename.chars().take(80).collect(),
            why: None,
        };
        if !allow_self && asset.uploaded_by_user == Some(session.user.id) {
            report.skipped.push(ReportItem {
                why: Some("you uploaded it; another approver must review it".to_owned()),
                ..item
            });
            continue;
        }
        match publish::assets::decide(
            &state.db,
            &asset.id,
            &Decision::Approve,
            &actor,
            allow_self,
            state.clock.now(),
        )
        .await
        {
            Ok(_) => report.approved.push(item),
            Err(err @ (MediaError::Invalid(_) | MediaError::NotFound(_))) => {
                report.skipped.push(ReportItem {
                    why: Some(err.to_string()),
                    ..item
                });
            }
            Err(err) => return Err(PageError(media_error(err))),
        }
    }
    Ok(Redirect::to(&report_location(&session, &report)).into_response())
}

// ---- one asset ----

struct RenditionRow {
    preset: String,
    spec: String,
    made: Option<String>,
    href: String,
}

struct AltField {
    locale: String,
    label: String,
    value: String,
}

struct UsedBy {
    sku: String,
    href: String,
}

#[derive(Template)]
#[template(path = "media/asset.html")]
struct AssetPage {
    chrome: Chrome,
    asset: Asset,
    size: String,
    dims: String,
    kind: String,
    preview: String,
    original: String,
    alt: String,
    created: String,
    decided_at: String,
    renditions: Vec<RenditionRow>,
    renditions_note: String,
    alt_fields: Vec<AltField>,
    tags: String,
    version: i64,
    may_edit: bool,
    may_review: bool,
    own_upload: bool,
    used_by: Vec<UsedBy>,
    history: Vec<AuditRow>,
    conflict: Option<String>,
    metadata_error: Option<String>,
    decision_error: Option<String>,
    reason: String,
}

/// The metadata form as sent, shown again when it is refused.
#[derive(Debug, Default)]
struct MetadataInput {
    alt_text: BTreeMap<String, String>,
    tags: String,
    version: i64,
}

#[derive(Debug, Default)]
struct AssetInput {
    metadata: Option<MetadataInput>,
    conflict: Option<String>,
    metadata_error: Option<String>,
    decision_error: Option<String>,
    reason: String,
}

async fn load_asset(state: &AppState, id: &str) -> PageResult<Asset> {
    let id = id.to_ascii_lowercase();
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PageError(AppError::NotFound(format!(
            "There is no asset {id}."
        ))));
    }
    assets::get(&state.db, &id)
        .await?
        .ok_or_else(|| PageError(AppError::NotFound(format!("There is no asset {id}."))))
}

async fn asset_view(
    state: &AppState,
    session: &Session,
    asset: Asset,
    input: AssetInput,
    status: StatusCode,
) -> PageResult {
    asset_view_with(state, session, asset, input, status, None).await
}

async fn asset_view_with(
    state: &AppState,
    session: &Session,
    asset: Asset,
    input: AssetInput,
    status: StatusCode,
    notice: Option<&str>,
) -> PageResult {
    let caller = reader(session)?;
    let schema = state.schema.get(&state.db).await?;
    let locale = ui_locale(&schema);
    let made = assets::renditions_of(&state.db, &asset.id).await?;
    let renditions = schema
        .presets()
        .iter()
        .map(|preset| {
            let current = made
                .iter()
                .find(|r| r.preset == preset.code && r.spec_hash == preset.spec_hash());
            RenditionRow {
                preset: preset.code.clone(),
                spec: format!(
                    "{} × {} {:?}, {} quality {}",
                    preset.width,
                    preset.height,
                    preset.fit,
                    preset.format.extension().to_uppercase(),
                    preset.quality
                )
                .to_lowercase(),
                made: current.map(|r| {
                    format!(
                        "{} × {}, {}, {}",
                        r.width,
                        r.height,
                        kind_label(&r.media_type),
                        human_bytes(u64::try_from(r.size_bytes).unwrap_or(0))
                    )
                }),
                href: format!("/media/{}/{}", asset.id, preset.code),
            }
        })
        .collect();
    let renditions_note = match asset.renditions.as_str() {
        "failed" => format!(
            "Making the renditions failed: {}",
            asset.renditions_error.clone().unwrap_or_default()
        ),
        "queued" => "Renditions are being made; a missing one is made when it is first asked for."
            .to_owned(),
        _ => String::new(),
    };
    let metadata = input.metadata;
    let alt_fields = schema
        .locales
        .iter()
        .map(|l| AltField {
            locale: l.code.clone(),
            label: if l.label.is_empty() {
                l.code.clone()
            } else {
                l.label.clone()
            },
            value: match &metadata {
                Some(m) => m.alt_text.get(&l.code).cloned().unwrap_or_default(),
                None => asset.alt_text.get(&l.code).cloned().unwrap_or_default(),
            },
        })
        .collect();
    let mut conn = state.db.pool().acquire().await.map_err(AppError::from)?;
    let used_by = store::products_using_asset(&mut conn, &asset.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|(_, sku)| UsedBy {
            href: format!("/products/{}", urlencode(&sku)),
            sku,
        })
        .collect();
    drop(conn);
    let history = audit::for_target(&state.db, &format!("asset:{}", asset.id), HISTORY)
        .await?
        .into_iter()
        .map(AuditRow::from)
        .collect();
    let own_upload = asset.uploaded_by_user == Some(session.user.id);
    let (tags, version) = match &metadata {
        Some(m) => (m.tags.clone(), m.version),
        None => (asset.tags.join(", "), asset.version),
    };
    let page = AssetPage {
        chrome: Chrome::new(session, "/media", notice),
        size: size_of(&asset),
        dims: dimensions(&asset),
        kind: kind_label(&asset.media_type),
        preview: format!("/media/{}/preview", asset.id),
        original: format!("/media/{}/original", asset.id),
        alt: alt_of(&asset, &locale),
        created: asset.created.display(),
        decided_at: asset.decided_at.map(|t| t.display()).unwrap_or_default(),
        renditions,
        renditions_note,
        alt_fields,
        tags,
        version,
        may_edit: caller.may(&Permission::EditCatalog),
        may_review: caller.may(&Permission::Review),
        own_upload: own_upload && !state.config.allow_self_approval,
        used_by,
        history,
        conflict: input.conflict,
        metadata_error: input.metadata_error,
        decision_error: input.decision_error,
        reason: input.reason,
        asset,
    };
    Ok(render(status, &page))
}

/// `GET /media/{id}`
async fn asset_page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<String>,
    Query(notice): Query<NoticeQuery>,
) -> PageResult {
    reader(&session)?;
    let asset = load_asset(&state, &id).await?;
    asset_view_with(
        &state,
        &session,
        asset,
        AssetInput::default(),
        StatusCode::OK,
        notice.notice.as_deref(),
    )
    .await
}

/// `POST /media/{id}/metadata`: `alt.LOCALE` fields, `tags`, `version`.
async fn save_metadata(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> PageResult {
    let caller = editor(&session)?;
    let asset = load_asset(&state, &id).await?;
    let schema = state.schema.get(&state.db).await?;
    let locales: HashSet<&str> = schema.locales.iter().map(|l| l.code.as_str()).collect();
    let alt_text: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(key, value)| {
            key.strip_prefix("alt.")
                .filter(|locale| locales.contains(locale))
                .map(|locale| (locale.to_owned(), value.clone()))
        })
        .collect();
    let tags = form.get("tags").cloned().unwrap_or_default();
    let version = form
        .get("version")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| AppError::BadRequest("The form has no asset version.".to_owned()))?;
    let edit = MetadataEdit {
        alt_text: alt_text.clone(),
        tags: parse_tags(&tags),
    };
    let actor = caller.actor().from_addr(&addr);
    let mut tx = state.db.begin_write().await.map_err(AppError::from)?;
    let result = assets::update_metadata(
        &mut tx,
        &asset.id,
        version,
        &edit,
        &actor,
        state.clock.now(),
    )
    .await;
    let (err, status) = match result {
        Ok(_) => {
            tx.commit().await.map_err(AppError::from)?;
            return Ok(
                Redirect::to(&format!("/media/{}?notice=asset_saved", asset.id)).into_response(),
            );
        }
        Err(MediaError::Stale { .. }) => (None, StatusCode::CONFLICT),
        Err(MediaError::Invalid(message)) => (Some(message), StatusCode::UNPROCESSABLE_ENTITY),
        Err(other) => return Err(PageError(media_error(other))),
    };
    drop(tx);
    let conflict = (status == StatusCode::CONFLICT).then(|| {
        "Someone changed this asset's alt texts or tags while you were editing. \
         The form keeps what you typed, on top of the current version: \
         compare it with the values above and save again."
            .to_owned()
    });
    // On a conflict the form is based on the current version, so saving
    // again applies what the person typed; otherwise on the one they had.
    let current = load_asset(&state, &asset.id).await?;
    let input = AssetInput {
        metadata: Some(MetadataInput {
            alt_text,
            tags,
            version: if conflict.is_some() {
                current.version
            } else {
                version
            },
        }),
        conflict,
        metadata_error: err.map(|m| capitalized(&m) + "."),
        ..AssetInput::default()
    };
    asset_view(&state, &session, current, input, status).await
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /media/{id}/decision`: `decision=approve|reject`, `reason`.
async fn decide(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    PageForm(form): PageForm<DecisionForm>,
) -> PageResult {
    let caller = approver(&session)?;
    let asset = load_asset(&state, &id).await?;
    let allow_self = state.config.allow_self_approval;
    if !allow_self && asset.uploaded_by_user == Some(session.user.id) {
        return Err(PageError(AppError::Forbidden(
            "You uploaded this asset; another approver must review it.".to_owned(),
        )));
    }
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject {
            reason: form.reason.clone(),
        },
        other => {
            return Err(PageError(AppError::BadRequest(format!(
                "Decide approve or reject, not {other:?}."
            ))));
        }
    };
    let actor = caller.actor().from_addr(&addr);
    match publish::assets::decide(
        &state.db,
        &asset.id,
        &decision,
        &actor,
        allow_self,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => {
            let notice = match decision {
                Decision::Approve => "asset_approved",
                Decision::Reject { .. } => "asset_rejected",
            };
            Ok(Redirect::to(&format!("/media/{}?notice={notice}", asset.id)).into_response())
        }
        Err(MediaError::Invalid(message)) => {
            let input = AssetInput {
                decision_error: Some(capitalized(&message) + "."),
                reason: form.reason,
                ..AssetInput::default()
            };
            asset_view(
                &state,
                &session,
                asset,
                input,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(PageError(media_error(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_unique() {
        assert_eq!(
            parse_tags(" Summer, shoes,,summer "),
            vec!["summer", "shoes"]
        );
        assert!(parse_tags("").is_empty());
    }

    #[test]
    fn sizes_read_like_a_person_says_them() {
        assert_eq!(human_bytes(820), "820 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(100 * 1024 * 1024), "100 MiB");
    }
}
