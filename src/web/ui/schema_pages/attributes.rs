//! Attributes: the list by group, and what an attribute's snippet may say.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::{LABEL_LOCALE, SchemaEntity, current_schema, first_locale, label_of};
use crate::catalog::schema::{Attribute, Schema, Validation};
use crate::web::authz::AdminPage;
use crate::web::ui::{Chrome, NavItem, NoticeQuery, render, settings_nav};
use crate::web::{AppState, PageResult};

impl SchemaEntity for Attribute {
    const NOUN: &'static str = "attribute";
    const PLURAL: &'static str = "attributes";
    const TITLE: &'static str = "Attributes";
    const HINT: &'static str = "type: text, textarea, number, boolean, date, select, multiselect, \
        measurement, price, gtin, url or assets · owner: pim or erp · lane: fast or reviewed · \
        validation: max_length, pattern, min, max, decimals, unit_family, default_unit, \
        min_count, max_count, min_width, min_height, approved_only (assets) · options: [[options]] with code and labels (select and multiselect).";

    fn code(&self) -> &str {
        &self.code
    }
    fn all(schema: &Schema) -> &[Self] {
        &schema.attributes
    }
    fn all_mut(schema: &mut Schema) -> &mut Vec<Self> {
        &mut schema.attributes
    }
    fn template(schema: &Schema) -> String {
        let group = schema
            .groups
            .first()
            .map_or("marketing", |g| g.code.as_str());
        let locale = first_locale(schema);
        format!(
            "# A new attribute: give it a code (lower-case letters, digits and _).\n\
             code = \"\"\n\
             type = \"text\"\n\
             group = \"{group}\"\n\
             owner = \"pim\"\n\
             lane = \"fast\"\n\
             localizable = false\n\
             scopable = false\n\
             \n\
             [labels]\n\
             {locale} = \"\"\n\
             \n\
             [validation]\n\
             max_length = 255\n\
             \n\
             # Select and multiselect attributes list their options:\n\
             # [[options]]\n\
             # code = \"red\"\n\
             # labels = {{ {locale} = \"Red\" }}\n"
        )
    }
}

/// One attribute in the attributes table.
pub(super) struct AttributeRow {
    pub(super) code: String,
    pub(super) label: String,
    pub(super) kind: &'static str,
    pub(super) localizable: bool,
    pub(super) scopable: bool,
    pub(super) erp: bool,
    pub(super) lane: &'static str,
    pub(super) validation: String,
    pub(super) has_options: bool,
    pub(super) options: usize,
}

/// The attributes of one group.
pub(super) struct AttributeSection {
    pub(super) code: String,
    pub(super) label: String,
    pub(super) rows: Vec<AttributeRow>,
}

/// The validation rules of an attribute in a few words.
pub(super) fn validation_summary(validation: &Validation) -> String {
    let mut parts = Vec::new();
    if let Some(max) = validation.max_length {
        parts.push(format!("≤ {max} chars"));
    }
    if let Some(pattern) = &validation.pattern {
        parts.push(format!("pattern {pattern}"));
    }
    match (validation.min, validation.max) {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max}")),
        (Some(min), None) => parts.push(format!("≥ {min}")),
        (None, Some(max)) => parts.push(format!("≤ {max}")),
        (None, None) => {}
    }
    if let Some(decimals) = validation.decimals {
        parts.push(format!("{decimals} decimals"));
    }
    if let Some(family) = validation.unit_family {
        match &validation.default_unit {
            Some(unit) => parts.push(format!("{} in {unit}", family.as_str())),
            None => parts.push(family.as_str().to_owned()),
        }
    }
    match (validation.min_count, validation.max_count) {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max} entries")),
        (Some(min), None) => parts.push(format!("≥ {min} entries")),
        (None, Some(max)) => parts.push(format!("≤ {max} entries")),
        (None, None) => {}
    }
    if let Some((width, height)) = validation.min_size() {
        parts.push(format!("images ≥ {width} × {height} px"));
    }
    if validation.approved_only == Some(false) {
        parts.push("pending assets count".to_owned());
    }
    parts.join(" · ")
}

pub(super) fn attribute_row(attribute: &Attribute) -> AttributeRow {
    AttributeRow {
        code: attribute.code.clone(),
        label: attribute.label(LABEL_LOCALE).to_owned(),
        kind: attribute.kind.as_str(),
        localizable: attribute.localizable,
        scopable: attribute.scopable,
        erp: attribute.owner == crate::catalog::schema::Owner::Erp,
        lane: attribute.lane.as_str(),
        validation: validation_summary(&attribute.validation),
        has_options: attribute.kind.has_options(),
        options: attribute.options.len(),
    }
}

/// Attributes grouped by group (groups in their order), then any whose group is unknown.
pub(super) fn attribute_sections(schema: &Schema) -> Vec<AttributeSection> {
    let mut groups: Vec<_> = schema.groups.iter().collect();
    groups.sort_by_key(|g| g.position);
    let mut sections: Vec<AttributeSection> = groups
        .iter()
        .map(|group| AttributeSection {
            code: group.code.clone(),
            label: label_of(&group.labels, &group.code).to_owned(),
            rows: schema
                .attributes
                .iter()
                .filter(|a| a.group == group.code)
                .map(attribute_row)
                .collect(),
        })
        .collect();
    let orphans: Vec<AttributeRow> = schema
        .attributes
        .iter()
        .filter(|a| !schema.groups.iter().any(|g| g.code == a.group))
        .map(attribute_row)
        .collect();
    if !orphans.is_empty() {
        sections.push(AttributeSection {
            code: String::new(),
            label: "Without a known group".to_owned(),
            rows: orphans,
        });
    }
    sections
}

#[derive(Template)]
#[template(path = "settings/schema/attributes.html")]
pub(super) struct AttributesPage {
    pub(super) chrome: Chrome,
    pub(super) settings_nav: Vec<NavItem>,
    pub(super) sections: Vec<AttributeSection>,
    pub(super) total: usize,
}

/// `GET /settings/attributes`
pub(super) async fn attributes(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let page = AttributesPage {
        chrome: Chrome::new(&session, "/settings", query.notice.as_deref()),
        settings_nav: settings_nav("/settings/attributes"),
        sections: attribute_sections(&schema),
        total: schema.attributes.len(),
    };
    Ok(render(StatusCode::OK, &page))
}
