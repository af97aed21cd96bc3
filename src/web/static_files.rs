//! Static files, embedded in the binary so `sluice` runs from any folder.
//! URLs carry a content hash, so browsers may cache them for a year.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/app.css"),
    },
    Asset {
        name: "media.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/media.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../static/favicon.svg"),
    },
];

fn etags() -> &'static HashMap<&'static str, String> {
    static ETAGS: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let digest = hex::encode(Sha256::digest(asset.bytes));
                (asset.name, digest[..16].to_owned())
            })
            .collect()
    })
}

/// The cache-busting URL of a static file, for templates.
pub fn url(name: &str) -> String {
    match etags().get(name) {
        Some(tag) => format!("/static/{name}?v={tag}"),
        None => format!("/static/{name}"),
    }
}

/// `GET /static/{file}`
pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{}\"", etags().get(asset.name).map_or("", String::as_str));
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == etag.as_bytes())
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    /// Every `{` of the stylesheet closes, outside comments: one unclosed
    /// `@media` block (a merge that dropped a `}`) silently scopes every later
    /// rule to narrow screens.
    #[test]
    fn stylesheet_blocks_are_balanced() {
        let css = include_str!("../../static/app.css");
        let mut depth = 0_i32;
        let mut rest = css;
        while let Some(ch) = rest.chars().next() {
            if rest.starts_with("/*") {
                let end = rest.find("*/").expect("every comment closes");
                rest = &rest[end + 2..];
                continue;
            }
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            assert!(
                depth >= 0,
                "a `}}` closes nothing before {:?}",
                &rest[..rest.len().min(60)]
            );
            rest = &rest[ch.len_utf8()..];
        }
        assert_eq!(depth, 0, "{depth} block(s) of app.css never close");
    }
}
