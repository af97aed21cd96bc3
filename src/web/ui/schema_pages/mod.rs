//! Admin screens for the catalog schema: attributes, families, categories and
//! channels as dense lists, each entity editable as a TOML snippet, and the
//! whole schema as code (the browser twin of `sluice schema export/apply`).
//! Every change goes through [`schema_code::apply`]: its plan can be
//! previewed, and destructive steps need an explicit tick. A destructive
//! change that products are affected by runs as a background job
//! ([`jobs::change_schema`]); the admin is sent to its page.

mod attributes;
mod categories;
mod channels;
mod editor;
mod families;
mod whole_schema;

// One file per kind of entity, plus the generic editor; each names the
// helpers here and the page parts of its siblings that it uses.
use attributes::*;
use categories::*;
use channels::*;
use editor::*;
use families::*;
use whole_schema::*;

use axum::Router;
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::catalog::schema::{Attribute, Category, Channel, Family, Labels, Schema};
use crate::web::AppState;
use crate::web::PageError;
use crate::web::error::AppError;

/// The locale labels are shown in on these screens.
const LABEL_LOCALE: &str = "en_US";

pub fn routes() -> Router<AppState> {
    let router = Router::new()
        .route("/settings/attributes", get(attributes))
        .route("/settings/families", get(families))
        .route("/settings/categories", get(categories))
        .route("/settings/categories/{code}/move", post(move_category))
        .route("/settings/channels", get(channels))
        .route(
            "/settings/channels/{code}/publishing",
            post(update_channel_publishing),
        )
        .route("/settings/schema", get(schema_page).post(apply_schema))
        .route("/settings/schema.toml", get(download_schema));
    let router = entity_routes::<Attribute>(router);
    let router = entity_routes::<Family>(router);
    let router = entity_routes::<Category>(router);
    entity_routes::<Channel>(router)
}

/// `/settings/{plural}/new` and `/settings/{plural}/{code}` for one kind of entity.
fn entity_routes<E: SchemaEntity>(router: Router<AppState>) -> Router<AppState> {
    router
        .route(
            &format!("/settings/{}/new", E::PLURAL),
            get(new_entity::<E>).post(create_entity::<E>),
        )
        .route(
            &format!("/settings/{}/{{code}}", E::PLURAL),
            get(edit_entity::<E>).post(update_entity::<E>),
        )
}

async fn current_schema(state: &AppState) -> Result<std::sync::Arc<Schema>, PageError> {
    Ok(state.schema.get(&state.db).await.map_err(AppError::from)?)
}

fn label_of<'a>(labels: &'a Labels, code: &'a str) -> &'a str {
    labels.get(LABEL_LOCALE).map_or(code, String::as_str)
}

// ---- the kinds of entity edited one at a time ----

/// An entity of the schema that has its own list and edit page.
trait SchemaEntity: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// `attribute`: in messages and notice codes.
    const NOUN: &'static str;
    /// `attributes`: the path segment of its pages.
    const PLURAL: &'static str;
    /// `Attributes`: the title of its list.
    const TITLE: &'static str;
    /// What the snippet may say, in a sentence.
    const HINT: &'static str;

    fn code(&self) -> &str;
    fn all(schema: &Schema) -> &[Self];
    fn all_mut(schema: &mut Schema) -> &mut Vec<Self>;
    /// The snippet a new one starts from.
    fn template(schema: &Schema) -> String;

    /// A form beside the snippet for the fields edited as fields (a
    /// channel's publishing mode and field mapping).
    fn fields_form(&self, _schema: &Schema) -> Option<PublishingForm> {
        None
    }

    fn list_href() -> String {
        format!("/settings/{}", Self::PLURAL)
    }
}

fn first_locale(schema: &Schema) -> &str {
    schema
        .locales
        .first()
        .map_or(LABEL_LOCALE, |l| l.code.as_str())
}
