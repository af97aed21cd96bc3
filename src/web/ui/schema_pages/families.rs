//! Families: the list with attribute counts, variant axes and requirements, and
//! a new family's snippet.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::{SchemaEntity, current_schema, first_locale, label_of};
use crate::catalog::schema::{Family, Schema};
use crate::web::authz::AdminPage;
use crate::web::ui::{Chrome, NavItem, NoticeQuery, render, settings_nav};
use crate::web::{AppState, PageResult};

impl SchemaEntity for Family {
    const NOUN: &'static str = "family";
    const PLURAL: &'static str = "families";
    const TITLE: &'static str = "Families";
    const HINT: &'static str = "attributes: every attribute its products may hold · \
        requirements: per channel, the attributes that must be filled · variant_axes: 0 to 3 \
        select attributes · variant_attributes: attributes that live on the variant level.";

    fn code(&self) -> &str {
        &self.code
    }
    fn all(schema: &Schema) -> &[Self] {
        &schema.families
    }
    fn all_mut(schema: &mut Schema) -> &mut Vec<Self> {
        &mut schema.families
    }
    fn template(schema: &Schema) -> String {
        let locale = first_locale(schema);
        let requirements: String = schema
            .channels
            .iter()
            .map(|c| format!("{} = []\n", c.code))
            .collect();
        format!(
            "# A new family: give it a code (lower-case letters, digits and _).\n\
             code = \"\"\n\
             attributes = []\n\
             variant_axes = []\n\
             variant_attributes = []\n\
             \n\
             [labels]\n\
             {locale} = \"\"\n\
             \n\
             # Per channel, the attributes that must be filled.\n\
             [requirements]\n\
             {requirements}"
        )
    }
}

/// One family in the families table.
pub(super) struct FamilyRow {
    pub(super) code: String,
    pub(super) label: String,
    pub(super) attribute_count: usize,
    pub(super) variant_axes: String,
    pub(super) variant_attributes: String,
    /// (channel, required attribute codes)
    pub(super) requirements: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "settings/schema/families.html")]
pub(super) struct FamiliesPage {
    pub(super) chrome: Chrome,
    pub(super) settings_nav: Vec<NavItem>,
    pub(super) rows: Vec<FamilyRow>,
}

/// `GET /settings/families`
pub(super) async fn families(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let rows = schema
        .families
        .iter()
        .map(|family| FamilyRow {
            code: family.code.clone(),
            label: label_of(&family.labels, &family.code).to_owned(),
            attribute_count: family.attributes.len(),
            variant_axes: family.variant_axes.join(", "),
            variant_attributes: family.variant_attributes.join(", "),
            requirements: family
                .requirements
                .iter()
                .map(|(channel, codes)| (channel.clone(), codes.join(", ")))
                .collect(),
        })
        .collect();
    let page = FamiliesPage {
        chrome: Chrome::new(&session, "/settings", query.notice.as_deref()),
        settings_nav: settings_nav("/settings/families"),
        rows,
    };
    Ok(render(StatusCode::OK, &page))
}
