//! The media files themselves: `GET /media/{id}/{preset}` (a rendition,
//! made on first request when it is missing) and `GET /media/{id}/original`
//! (the uploaded file, as a download).
//!
//! Who may see: an approved asset's renditions are public (a channel such
//! as Google fetches them without signing in); a pending or rejected
//! asset's, and every original, only a signed-in user or a token that may
//! read the catalog; anyone else gets 404, so asset ids cannot be probed.
//!
//! Caching: a strong ETag (the asset's SHA-256 and the preset's spec hash)
//! answers `If-None-Match` with 304. Only an approved asset's rendition
//! asked for with `?v=` equal to the preset's current spec hash (the
//! content-addressed URL feeds carry) is `public, max-age=31536000,
//! immutable`; everything else is `private, no-cache`.
//!
//! Every answer here, errors included, is `nosniff` with a CSP that allows
//! nothing and sandboxes the document, so a file is never run as a page.
//! These routes sit outside the pages' session and CSRF guard and never
//! render the page layout (errors are the API's JSON shape); images are
//! not gzip-recompressed (the compression layer skips `image/*` and PDF).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::{Permission, sessions, tokens};
use crate::catalog::schema::MediaPreset;
use crate::media::assets::{self, Asset, AssetStatus};
use crate::media::{MediaError, renditions};
use crate::web::AppState;
use crate::web::cookies;
use crate::web::download;
use crate::web::error::AppError;
use crate::web::extract::TagCondition;

/// The CSP of every media answer: no scripts, styles, frames or anything,
/// and a sandbox in case a browser ever shows one as a document.
pub const MEDIA_CSP: &str = "default-src 'none'; sandbox";

const CROSS_ORIGIN_RESOURCE_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-resource-policy");

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "private, no-cache";

/// The media file routes, each answer with the media security headers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/media/{id}/original",
            get(original).fallback(method_not_allowed),
        )
        .route(
            "/media/{id}/{preset}",
            get(rendition).fallback(method_not_allowed),
        )
        .layer(middleware::from_fn(media_headers))
}

/// `nosniff` and [`MEDIA_CSP`] on every answer, errors included.
async fn media_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(MEDIA_CSP),
    );
    response
}

/// 405 in the API's error shape (not the HTML error page).
async fn method_not_allowed() -> Response {
    let mut response =
        AppError::MethodNotAllowed("media files are read with GET or HEAD".to_owned())
            .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// Whether the request comes from someone who may see unapproved media: a
/// signed-in user (session cookie) or a token allowed to read the catalog.
async fn may_see_unapproved(state: &AppState, headers: &HeaderMap) -> Result<bool, AppError> {
    let now = state.clock.now();
    if let Some(cookie) = cookies::read(headers, cookies::SESSION, state.config.secure_cookies)
        && sessions::resolve(&state.db, &cookie, state.session_policy(), now)
            .await?
            .is_some()
    {
        return Ok(true);
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim);
    if let Some(secret) = bearer {
        // A bad token is no one: the same 404 as no token.
        if let Ok(caller) = tokens::authenticate(&state.db, secret, now).await {
            return Ok(caller.may(&Permission::ReadCatalog));
        }
    }
    Ok(false)
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(MediaError::NotFound(id.to_owned()).to_string())
}

/// The asset `id`, if the caller may see it: an approved one when
/// `public_if_approved`, any one for those who may see unapproved media;
/// else 404.
async fn visible(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    public_if_approved: bool,
) -> Result<Asset, AppError> {
    // Ids are 16 hex digits: anything else is not looked up.
    if id.len() != 16
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(not_found(id));
    }
    let asset = assets::get(&state.db, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    if public_if_approved && asset.status == AssetStatus::Approved {
        return Ok(asset);
    }
    if may_see_unapproved(state, headers).await? {
        Ok(asset)
    } else {
        Err(not_found(id))
    }
}

/// The `v` of a query string (the first one).
fn version_param(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == "v")
        .map(|(_, value)| value.into_owned())
}

fn header_value(text: &str) -> Result<HeaderValue, AppError> {
    HeaderValue::from_str(text).map_err(AppError::internal)
}

/// Whether `If-None-Match` names `opaque` (weak comparison, RFC 9110
/// 13.1.2); an unreadable header is ignored: the full answer is safe.
fn not_modified(headers: &HeaderMap, opaque: &str) -> bool {
    TagCondition::from_headers(headers, header::IF_NONE_MATCH)
        .ok()
        .flatten()
        .is_some_and(|sent| sent.matches_weakly(|tag| tag == opaque))
}

/// How many renditions requests may make at once: decoding an original takes
/// memory in proportion to its pixels (a 12-megapixel photo, ~50 MB), so a
/// burst of requests for renditions not made yet (a new preset that a
/// channel starts fetching) must not decode hundreds of originals together.
static MAKING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The stored rendition, or one made now, behind [`MAKING`]. Whoever waited
/// for a permit finds a rendition made meanwhile by the one before (the
/// domain looks again), so a missing one is usually made once.
async fn rendition_of(
    state: &AppState,
    asset: &Asset,
    preset: &MediaPreset,
) -> Result<(assets::Rendition, axum::body::Bytes), MediaError> {
    let stored = assets::rendition(&state.db, &asset.id, &preset.code, &preset.spec_hash())
        .await?
        .is_some();
    let _permit = if stored {
        None
    } else {
        Some(
            MAKING
                .acquire()
                .await
                .map_err(|err| MediaError::Storage(err.to_string()))?,
        )
    };
    renditions::get_or_make(&state.db, &state.media, asset, preset, state.clock.now()).await
}

/// `GET /media/{id}/{preset}`: the rendition.
async fn rendition(
    State(state): State<AppState>,
    Path((id, preset_code)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let asset = visible(&state, &id, &headers, true).await?;
    let schema = state.schema.get(&state.db).await?;
    let preset = schema
        .preset(&preset_code)
        .ok_or_else(|| AppError::NotFound(MediaError::NoPreset(preset_code.clone()).to_string()))?;
    let spec = preset.spec_hash();
    let opaque = format!("{}-{spec}", asset.sha256);
    let public = asset.status == AssetStatus::Approved;
    let immutable = public && version_param(query.as_deref()).as_deref() == Some(spec.as_str());
    let mut response = if not_modified(&headers, &opaque) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (made, bytes) = match rendition_of(&state, &asset, &preset).await {
            Ok(made) => made,
            Err(err @ (MediaError::Storage(_) | MediaError::Db(_))) => return Err(err.into()),
            // The original cannot be rendered (it was stored before a
            // check that would now refuse it): there is no such rendition.
            Err(err) => {
                tracing::warn!(asset = %asset.id, preset = %preset.code, error = %err, "rendition cannot be made");
                return Err(AppError::NotFound(format!(
                    "the {} rendition of asset {} cannot be made: {err}",
                    preset.code, asset.id
                )));
            }
        };
        let mut response = Response::new(Body::from(bytes));
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, header_value(&made.media_type)?);
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, header_value(&format!("\"{opaque}\""))?);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable { IMMUTABLE } else { REVALIDATE }),
    );
    headers.insert(
        CROSS_ORIGIN_RESOURCE_POLICY,
        HeaderValue::from_static(if public {
            "cross-origin"
        } else {
            "same-origin"
        }),
    );
    Ok(response)
}

/// `GET /media/{id}/original`: the uploaded file as a download, for those
/// who may see unapproved media.
async fn original(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let asset = visible(&state, &id, &headers, false).await?;
    let opaque = asset.sha256.clone();
    let mut response = if not_modified(&headers, &opaque) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let Some(bytes) = state.media.store.get(&asset.original_key()).await? else {
            tracing::warn!(asset = %asset.id, "the original is missing from the media store");
            return Err(AppError::NotFound(format!(
                "the original file of asset {} is missing from the media store",
                asset.id
            )));
        };
        let mut response = Response::new(Body::from(bytes));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, header_value(&asset.media_type)?);
        headers.insert(
            header::CONTENT_DISPOSITION,
            download::disposition(&asset.filename),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, header_value(&format!("\"{opaque}\""))?);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    headers.insert(
        CROSS_ORIGIN_RESOURCE_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::version_param;

    #[test]
    fn reads_the_version_of_a_query() {
        assert_eq!(version_param(Some("v=ab12&x=1")).as_deref(), Some("ab12"));
        assert_eq!(version_param(Some("x=1")), None);
        assert_eq!(version_param(None), None);
    }
}
