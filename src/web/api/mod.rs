//! The JSON API under `/api/v1`. Every route is registered through
//! `utoipa_axum::routes!`, so it cannot exist without its OpenAPI entry.

mod admin;
mod channels;
pub(crate) mod imports;
pub(crate) mod jobs;
mod me;
pub(crate) mod media;
mod paging;
pub(crate) mod products;
mod proposals;
mod schema;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::DefaultBodyLimit;

use crate::config::Config;
use crate::web::AppState;
use crate::web::error::{ErrorBody, ErrorDetail, FieldError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sluice API",
        version = "1",
        description = "Governed product data between the ERP and the sales channels. \
            Authenticate with `Authorization: Bearer slc_…`. Errors use \
            `{\"error\": {\"code\", \"message\", \"details\"}}`."
    ),
    modifiers(&BearerToken),
    security(("bearer" = [])),
    components(schemas(ErrorBody, ErrorDetail, FieldError))
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("slc_…")
                    .build(),
            ),
        );
    }
}

/// The API routes with their OpenAPI document.
pub fn router(config: &Config) -> OpenApiRouter<AppState> {
    // Media uploads may be as large as the largest file accepted, not the
    // global request limit: the route gets its own body limit.
    let (schemas, paths, media_routes) = routes!(media::upload_media, media::list_media);
    let media_limit = DefaultBodyLimit::max(crate::web::upload::body_limit(config.max_media_bytes));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes((schemas, paths, media_routes.layer(media_limit)))
        .routes(routes!(media::get_media, media::patch_media))
        .routes(routes!(media::approve_media))
        .routes(routes!(media::reject_media))
        .routes(routes!(me::get_me))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::list_audit))
        .routes(routes!(products::list_products, products::create_product))
        .routes(routes!(products::get_product, products::patch_product))
        .routes(routes!(products::product_history))
        .routes(routes!(proposals::list_proposals))
        .routes(routes!(proposals::get_proposal))
        .routes(routes!(proposals::approve_proposal))
        .routes(routes!(proposals::reject_proposal))
        .routes(routes!(proposals::withdraw_proposal))
        .routes(routes!(proposals::restore_version))
        .routes(routes!(imports::create_import, imports::list_imports))
        .routes(routes!(imports::get_import))
        .routes(routes!(imports::import_errors))
        .routes(routes!(channels::get_feed))
        .routes(routes!(channels::get_channel_product))
        .routes(routes!(channels::export_jsonl))
        .routes(routes!(channels::export_xml))
        .routes(routes!(channels::export_tsv))
        .routes(routes!(channels::export_shopify))
        .routes(routes!(channels::publish_pending))
        .routes(routes!(channels::republish_all))
        .routes(routes!(jobs::get_job))
        .routes(routes!(channels::product_readiness))
        .routes(routes!(schema::list_locales))
        .routes(routes!(schema::list_channels))
        .routes(routes!(schema::list_attributes))
        .routes(routes!(schema::list_families))
        .routes(routes!(schema::list_categories))
        .routes(routes!(schema::put_entity, schema::delete_entity))
}
