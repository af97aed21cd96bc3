//! The product page's media: each `assets` attribute as an ordered strip of
//! thumbnails (position 1 is the main image, the rest the gallery), each
//! with its review status; and the changes an editor makes there — move up
//! or down, remove, link an existing asset by id, upload files and link
//! them in one step. Every change is the product form saved with one
//! `assets` field (the new list) and what the strip showed (`seen.`), so it
//! takes the page's own path: the merge over newer data, the write path's
//! checks, the reviewed lane (asset links are always reviewed) into the
//! editor's draft, the 409 page for a form over newer data.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{Submitted, refused, save_form};
use crate::auth::Permission;
use crate::auth::sessions::Session;
use crate::catalog::product::{Product, ValueKey};
use crate::catalog::schema::{Attribute, AttributeType, Schema};
use crate::media::assets::{self, Asset};
use crate::media::{AssetStatus, MediaError, upload};
use crate::web::error::{AppError, FieldError};
use crate::web::extract::{PageForm, PageSession, urlencode};
use crate::web::layers::CSRF_FIELD;
use crate::web::upload::{FileBody, Part, Parts};
use crate::web::{AppState, PageError, PageResult};

/// At most this many files per upload.
const MAX_FILES: usize = 20;

/// One linked asset in a strip.
pub(in crate::web::ui) struct MediaItem {
    pub id: String,
    /// The asset page.
    pub href: String,
    /// The thumbnail rendition.
    pub thumb: String,
    pub alt: String,
    pub filename: String,
    /// 1-based position in the list.
    pub position: usize,
    /// `main` (position 1) or `gallery`.
    pub role: &'static str,
    /// `pending`, `approved`, `rejected`, or `missing` (no such asset).
    pub status: &'static str,
    pub reject_reason: Option<String>,
    pub first: bool,
    pub last: bool,
}

/// One `assets` attribute of the product, as a strip.
pub(in crate::web::ui) struct MediaField {
    pub code: String,
    pub label: String,
    pub scope_note: String,
    pub items: Vec<MediaItem>,
    /// The ids as shown, comma-separated: what the change is based on.
    pub seen: String,
    /// Controls are shown (an editor, and the attribute is on this level).
    pub editable: bool,
    pub inherited_from: Option<String>,
    /// The list shown comes from the viewer's draft.
    pub drafted: bool,
    pub max_count: Option<u32>,
    pub error: Option<String>,
}

impl MediaField {
    pub fn anchor(&self) -> String {
        format!("media-{}", self.code)
    }
}

/// The ids a stored `assets` value lists.
fn ids_of(data: Option<&serde_json::Value>) -> Vec<String> {
    data.and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The strips of the product's `assets` attributes (as the viewer sees the
/// product: master with their draft), each asset with its review status.
#[expect(
    clippy::too_many_arguments,
    reason = "the page's inputs are all distinct"
)]
pub(in crate::web::ui) async fn fields(
    state: &AppState,
    schema: &Schema,
    product: &Product,
    model: Option<&Product>,
    locale: &str,
    channel: &str,
    may_edit: bool,
    drafted: &[ValueKey],
    errors: &[FieldError],
) -> Result<Vec<MediaField>, PageError> {
    let Some(family) = schema.family(&product.family) else {
        return Ok(Vec::new());
    };
    let mut shown: Vec<(&Attribute, ValueKey, Vec<String>, Option<String>)> = Vec::new();
    for attribute in schema
        .attributes
        .iter()
        .filter(|a| a.kind == AttributeType::Assets && family.attributes.contains(&a.code))
    {
        let on_level =
            crate::catalog::completeness::on_level(family, product.kind, &attribute.code);
        if !on_level && product.kind == crate::catalog::product::ProductKind::Model {
            continue;
        }
        let (values, inherited) = match (on_level, model) {
            (false, Some(model)) => (&model.values, product.parent.clone()),
            _ => (&product.values, None),
        };
        let key = super::key_for(attribute, values, locale, channel);
        let ids = ids_of(values.get(&key));
        shown.push((attribute, key, ids, inherited));
    }
    let all: Vec<String> = shown
        .iter()
        .flat_map(|(_, _, ids, _)| ids.clone())
        .collect();
    let found = if all.is_empty() {
        Vec::new()
    } else {
        let mut conn = state.db.pool().acquire().await.map_err(AppError::from)?;
        assets::many(&mut conn, &all)
            .await
            .map_err(AppError::from)?
    };
    Ok(shown
        .into_iter()
        .map(|(attribute, key, ids, inherited_from)| {
            let count = ids.len();
            let items = ids
                .iter()
                .enumerate()
                .map(|(index, id)| {
                    let asset = found.iter().find(|a| &a.id == id);
                    let filename = asset.map(|a| a.filename.clone()).unwrap_or_default();
                    MediaItem {
                        href: format!("/media/{}", urlencode(id)),
                        thumb: format!("/media/{}/thumbnail", urlencode(id)),
                        alt: asset
                            .and_then(|a| a.alt_text.get(locale))
                            .filter(|t| !t.trim().is_empty())
                            .cloned()
                            .unwrap_or_else(|| filename.clone()),
                        filename,
                        position: index + 1,
                        role: if index == 0 { "main" } else { "gallery" },
                        status: asset.map_or("missing", |a| a.status.as_str()),
                        reject_reason: asset.and_then(|a| a.reject_reason.clone()),
                        first: index == 0,
                        last: index + 1 == count,
                        id: id.clone(),
                    }
                })
                .collect();
            let scope_note = [key.locale.clone(), key.channel.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            MediaField {
                code: attribute.code.clone(),
                label: attribute.label(locale).to_owned(),
                scope_note,
                items,
                seen: ids.join(","),
                editable: may_edit && inherited_from.is_none(),
                drafted: drafted.contains(&key),
                inherited_from,
                max_count: attribute.validation.max_count,
                error: errors
                    .iter()
                    .find(|e| e.field.as_deref() == Some(attribute.code.as_str()))
                    .map(|e| e.message.clone()),
            }
        })
        .collect())
}

/// Notices of the media section, after its redirects.
pub(in crate::web::ui) fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "media_uploaded" => {
            "Uploaded and linked in your draft: submit the draft for review. New files wait for an approver's review too."
        }
        "media_uploaded_known" => {
            "Those files are already linked here: nothing changed. (Each file is stored once.)"
        }
        "media_changed" => "Images changed in your draft: submit the draft for review.",
        "media_unchanged" => "Nothing changed: the images already were in that order.",
        _ => return None,
    })
}

/// The notice of a saved media change, from the save's own notice code.
fn media_notice(saved: &'static str, uploaded: bool) -> &'static str {
    match (saved, uploaded) {
        ("product_unchanged", true) => "media_uploaded_known",
        ("product_unchanged", false) => "media_unchanged",
        (_, true) => "media_uploaded",
        (_, false) => "media_changed",
    }
}

/// The product form the media section saves: the page's version, locale
/// and channel, the attribute's new list, and the list the strip showed.
fn media_form(
    version: &str,
    locale: &str,
    channel: &str,
    attribute: &str,
    seen: &[String],
    ids: &[String],
) -> Submitted {
    let mut form = Submitted::new();
    form.insert("version".to_owned(), vec![version.to_owned()]);
    form.insert("locale".to_owned(), vec![locale.to_owned()]);
    form.insert("channel".to_owned(), vec![channel.to_owned()]);
    form.insert(format!("v.{attribute}"), vec![ids.join(", ")]);
    form.insert(format!("seen.v.{attribute}"), vec![seen.join(", ")]);
    form
}

/// The strip's ids as the form sent them.
fn split_ids(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `assets` attribute a media form names, when the product's family has
/// it on the product's level (a variant's model holds what it inherits).
fn assets_attribute<'a>(
    schema: &'a Schema,
    product: &Product,
    code: &str,
) -> Result<&'a Attribute, AppError> {
    let family = schema.family(&product.family);
    let attribute = schema
        .attribute(code)
        .filter(|a| a.kind == AttributeType::Assets)
        .filter(|a| family.is_some_and(|f| f.attributes.contains(&a.code)))
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "The product has no images field {code:?}; reload the page."
            ))
        })?;
    let on_level = family
        .is_some_and(|f| crate::catalog::completeness::on_level(f, product.kind, &attribute.code));
    if !on_level {
        return Err(AppError::BadRequest(format!(
            "{} of {} is set on its model {}; change it on the model's page.",
            attribute.code,
            product.sku,
            product.parent.as_deref().unwrap_or("")
        )));
    }
    Ok(attribute)
}

fn editor(session: &Session) -> Result<(), PageError> {
    session
        .caller()
        .require(&Permission::EditCatalog)
        .map_err(AppError::from)?;
    Ok(())
}

/// The redirect after a saved media change: back to the strip.
fn back_to(attribute: &str, uploaded: bool) -> impl Fn(&str, &'static str) -> String + Sync {
    let attribute = attribute.to_owned();
    move |back, saved| {
        format!(
            "{back}&notice={}#media-{attribute}",
            media_notice(saved, uploaded)
        )
    }
}

/// The answer to a media change that changes nothing: back to the strip,
/// saving nothing (the product's version does not matter then).
fn unchanged(
    sku: &str,
    locale: &str,
    channel: &str,
    attribute: &str,
    uploaded: bool,
) -> PageResult {
    let notice = if uploaded {
        "media_uploaded_known"
    } else {
        "media_unchanged"
    };
    Ok(axum::response::Redirect::to(&format!(
        "/products/{}?locale={}&channel={}&notice={notice}#media-{attribute}",
        urlencode(sku),
        urlencode(locale),
        urlencode(channel),
    ))
    .into_response())
}

/// The form of the strip's buttons and of "link by id".
#[derive(Debug, serde::Deserialize)]
pub(in crate::web::ui) struct ArrangeForm {
    version: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    channel: String,
    attribute: String,
    #[serde(default)]
    seen: String,
    /// `up:ID`, `down:ID`, `remove:ID` or `link` (with `asset`).
    op: String,
    #[serde(default)]
    asset: String,
}

/// The list after one move or removal of the strip as it was shown.
fn arranged(seen: &[String], op: &str) -> Result<Vec<String>, AppError> {
    let (action, id) = op.split_once(':').ok_or_else(|| {
        AppError::BadRequest(format!("The form asks for {op:?}; reload the page."))
    })?;
    let index = seen.iter().position(|s| s == id).ok_or_else(|| {
        AppError::BadRequest(format!(
            "Asset {id} is not in the list the page showed; reload the page."
        ))
    })?;
    let mut ids = seen.to_vec();
    match action {
        "up" if index > 0 => ids.swap(index, index - 1),
        "down" if index + 1 < ids.len() => ids.swap(index, index + 1),
        "up" | "down" => {}
        "remove" => {
            ids.remove(index);
        }
        other => {
            return Err(AppError::BadRequest(format!(
                "The form asks for {other:?}; reload the page."
            )));
        }
    }
    Ok(ids)
}

/// Why an asset cannot be linked, if it cannot.
fn unlinkable(asset: &Asset) -> Option<String> {
    (asset.status == AssetStatus::Rejected).then(|| {
        format!(
            "asset {} ({}) was rejected{}; link or upload another",
            asset.id,
            asset.filename,
            asset
                .reject_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )
    })
}

/// `POST /products/{sku}/media/links`: move up or down, remove, or link an
/// existing asset by id; proposed into the editor's draft.
pub(in crate::web::ui) async fn arrange(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(sku): Path<String>,
    PageForm(form): PageForm<ArrangeForm>,
) -> PageResult {
    editor(&session)?;
    let schema = state.schema.get(&state.db).await?;
    let (stored, _) = super::load(&state, &sku).await?;
    let attribute = assets_attribute(&schema, &stored.product, &form.attribute)?;
    let seen = split_ids(&form.seen);
    let ids = if form.op == "link" {
        let id = form.asset.trim().to_ascii_lowercase();
        let problem = if id.is_empty() {
            Some("type the id of the asset to link (its page shows it)".to_owned())
        } else {
            match assets::get(&state.db, &id).await.map_err(AppError::from)? {
                None => Some(format!("there is no asset {id}")),
                Some(asset) => unlinkable(&asset),
            }
        };
        let mut ids = seen.clone();
        if !ids.contains(&id) {
            ids.push(id);
        }
        let submitted = media_form(
            &form.version,
            &form.locale,
            &form.channel,
            &attribute.code,
            &seen,
            &ids,
        );
        if let Some(problem) = problem {
            let errors = [FieldError::field(&attribute.code, problem)];
            return refused(
                &state,
                &session,
                &sku,
                &submitted,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        ids
    } else {
        arranged(&seen, &form.op)?
    };
    if ids == seen {
        return unchanged(&sku, &form.locale, &form.channel, &attribute.code, false);
    }
    let submitted = media_form(
        &form.version,
        &form.locale,
        &form.channel,
        &attribute.code,
        &seen,
        &ids,
    );
    save_form(
        &state,
        &session,
        &sku,
        &submitted,
        false,
        &back_to(&attribute.code, false),
    )
    .await
}

/// What the upload form carried.
#[derive(Default)]
struct UploadForm {
    version: String,
    locale: String,
    channel: String,
    attribute: String,
    seen: String,
    /// The stored assets, in the order the files came, each once.
    stored: Vec<Asset>,
    /// A file refused: its name and why.
    refused: Option<(String, MediaError)>,
}

/// Reads the upload form part by part; each file is stored as it arrives
/// (at most the media size limit in memory), so the form's size is bounded
/// by [`MAX_FILES`] files, not by the request.
async fn read_upload(
    state: &AppState,
    session: &Session,
    parts: &mut Parts,
    received: &mut UploadForm,
) -> Result<(), AppError> {
    let limits = state.media.limits;
    let actor = session.caller().actor();
    while let Some(part) = parts.next().await? {
        match part {
            Part::File {
                field,
                filename,
                body,
            } if field == "files" => {
                let filename = upload::sanitize_filename(&filename);
                let bytes = match body {
                    FileBody::Bytes(bytes) => bytes,
                    FileBody::TooLarge(_) => {
                        return Err(AppError::PayloadTooLarge(format!(
                            "{filename} is larger than the limit of {} bytes (SLUICE_MAX_MEDIA_BYTES); nothing was linked.",
                            limits.max_bytes
                        )));
                    }
                };
                if received.refused.is_some() {
                    continue;
                }
                match upload::upload(
                    &state.db,
                    &state.media,
                    &actor,
                    &filename,
                    bytes,
                    &[],
                    state.clock.now(),
                )
                .await
                {
                    Ok(uploaded) => {
                        if !received.stored.iter().any(|a| a.id == uploaded.asset.id) {
                            received.stored.push(uploaded.asset);
                        }
                    }
                    Err(MediaError::Db(err)) => return Err(AppError::from(err)),
                    Err(MediaError::Storage(err)) => {
                        return Err(AppError::internal(anyhow::anyhow!(err)));
                    }
                    Err(err) => received.refused = Some((filename, err)),
                }
            }
            Part::Field { name, value } => {
                let value = value.trim().to_owned();
                match name.as_str() {
                    "version" => received.version = value,
                    "locale" => received.locale = value,
                    "channel" => received.channel = value,
                    "attribute" => received.attribute = value,
                    "seen" => received.seen = value,
                    CSRF_FIELD => {}
                    other => return Err(unexpected(other)),
                }
            }
            Part::File { field, .. } => return Err(unexpected(&field)),
        }
    }
    Ok(())
}

fn unexpected(field: &str) -> AppError {
    AppError::BadRequest(format!(
        "The upload has a field {field:?} that the media form does not send."
    ))
}

/// `POST /products/{sku}/media?csrf_token=…` (multipart: the strip's
/// fields and `files`): stores each file as an asset (the same bytes once)
/// and proposes appending the new ones to the list, into the editor's draft.
pub(in crate::web::ui) async fn upload_and_link(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(sku): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    editor(&session)?;
    let mut parts = Parts::new(multipart, state.media.limits.max_bytes)?
        .file_field("files")
        .at_most(MAX_FILES, 8);
    let schema = state.schema.get(&state.db).await?;
    let (stored, _) = super::load(&state, &sku).await?;
    let mut received = UploadForm::default();
    read_upload(&state, &session, &mut parts, &mut received).await?;
    let attribute = assets_attribute(&schema, &stored.product, &received.attribute)?;
    let seen = split_ids(&received.seen);
    let mut ids = seen.clone();
    for asset in &received.stored {
        if !ids.contains(&asset.id) {
            ids.push(asset.id.clone());
        }
    }
    let submitted = media_form(
        &received.version,
        &received.locale,
        &received.channel,
        &attribute.code,
        &seen,
        &seen,
    );
    let problem = match &received.refused {
        Some((filename, err)) => {
            let status = match err {
                MediaError::TooLarge { .. } | MediaError::TooManyPixels { .. } => {
                    StatusCode::PAYLOAD_TOO_LARGE
                }
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            Some((status, format!("{filename}: {err}; nothing was linked")))
        }
        None if received.stored.is_empty() => Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            "choose one or more files to upload".to_owned(),
        )),
        None => received
            .stored
            .iter()
            .find_map(unlinkable)
            .map(|p| (StatusCode::UNPROCESSABLE_ENTITY, p)),
    };
    if let Some((status, problem)) = problem {
        let errors = [FieldError::field(&attribute.code, problem)];
        return refused(&state, &session, &sku, &submitted, &errors, status).await;
    }
    if ids == seen {
        return unchanged(
            &sku,
            &received.locale,
            &received.channel,
            &attribute.code,
            true,
        );
    }
    let submitted = media_form(
        &received.version,
        &received.locale,
        &received.channel,
        &attribute.code,
        &seen,
        &ids,
    );
    save_form(
        &state,
        &session,
        &sku,
        &submitted,
        false,
        &back_to(&attribute.code, true),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn moves_and_removals_of_the_shown_list() {
        let seen = ids(&["a", "b", "c"]);
        assert_eq!(arranged(&seen, "up:b").unwrap(), ids(&["b", "a", "c"]));
        assert_eq!(arranged(&seen, "down:b").unwrap(), ids(&["a", "c", "b"]));
        assert_eq!(arranged(&seen, "up:a").unwrap(), seen);
        assert_eq!(arranged(&seen, "down:c").unwrap(), seen);
        assert_eq!(arranged(&seen, "remove:a").unwrap(), ids(&["b", "c"]));
        assert!(arranged(&seen, "remove:z").is_err());
        assert!(arranged(&seen, "twirl:a").is_err());
        assert!(arranged(&seen, "up").is_err());
    }

    #[test]
    fn the_strip_ids_are_trimmed() {
        assert_eq!(split_ids(" a, b,,c "), ids(&["a", "b", "c"]));
        assert!(split_ids("").is_empty());
    }
}
