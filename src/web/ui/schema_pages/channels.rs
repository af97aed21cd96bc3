//! Channels: the list, a new channel's snippet, and a channel's publishing mode
//! and field mapping edited as fields.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use super::editor::{Problems, entity_page, not_found, snippet};
use super::{SchemaEntity, current_schema, first_locale, label_of};
use crate::catalog::schema::{Channel, OutputFormat, PublishMode, Schema};
use crate::catalog::store;
use crate::schema_code::{self, SchemaError};
use crate::web::authz::AdminPage;
use crate::web::error::AppError;
use crate::web::extract::PageForm;
use crate::web::ui::{Choice, Chrome, NavItem, NoticeQuery, choices, render, settings_nav};
use crate::web::{AppState, PageResult};

impl SchemaEntity for Channel {
    const NOUN: &'static str = "channel";
    const PLURAL: &'static str = "channels";
    const TITLE: &'static str = "Channels";
    const HINT: &'static str = "output_format: json, google_merchant or shopify_csv · \
        url_template: an absolute URL with {sku} (and optionally {locale}) · category_root: only \
        products in this category or below it are published · units: a target unit per unit \
        family (weight, length, volume).";

    fn code(&self) -> &str {
        &self.code
    }
    fn all(schema: &Schema) -> &[Self] {
        &schema.channels
    }
    fn all_mut(schema: &mut Schema) -> &mut Vec<Self> {
        &mut schema.channels
    }
    fn template(schema: &Schema) -> String {
        let locale = first_locale(schema);
        let currency = schema.currencies.first().map_or("USD", |c| c.code.as_str());
        format!(
            "# A new channel: give it a code (lower-case letters, digits and _).\n\
             code = \"\"\n\
             locales = [\"{locale}\"]\n\
             currencies = [\"{currency}\"]\n\
             output_format = \"json\"\n\
             url_template = \"https://shop.example.com/p/{{sku}}\"\n\
             # category_root = \"\"\n\
             \n\
             [labels]\n\
             {locale} = \"\"\n\
             \n\
             [units]\n\
             # weight = \"KILOGRAM\"\n"
        )
    }

    fn fields_form(&self, schema: &Schema) -> Option<PublishingForm> {
        Some(PublishingForm::of(self, schema))
    }
}

/// One channel in the channels table.
pub(super) struct ChannelRow {
    pub(super) code: String,
    pub(super) label: String,
    pub(super) locales: String,
    pub(super) currencies: String,
    pub(super) format: &'static str,
    pub(super) mode: &'static str,
    pub(super) category_root: Option<String>,
    pub(super) url_template: String,
    pub(super) units: String,
}

pub(super) fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Json => "json",
        OutputFormat::GoogleMerchant => "google_merchant",
        OutputFormat::ShopifyCsv => "shopify_csv",
    }
}

#[derive(Template)]
#[template(path = "settings/schema/channels.html")]
pub(super) struct ChannelsPage {
    pub(super) chrome: Chrome,
    pub(super) settings_nav: Vec<NavItem>,
    pub(super) rows: Vec<ChannelRow>,
}

/// `GET /settings/channels`
pub(super) async fn channels(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let rows = schema
        .channels
        .iter()
        .map(|channel| ChannelRow {
            code: channel.code.clone(),
            label: label_of(&channel.labels, &channel.code).to_owned(),
            locales: channel.locales.join(", "),
            currencies: channel.currencies.join(", "),
            format: format_name(channel.output_format),
            mode: channel.publish_mode.as_str(),
            category_root: channel.category_root.clone(),
            url_template: channel.url_template.clone(),
            units: channel
                .units
                .iter()
                .map(|(family, unit)| format!("{family}: {unit}"))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let page = ChannelsPage {
        chrome: Chrome::new(&session, "/settings", query.notice.as_deref()),
        settings_nav: settings_nav("/settings/channels"),
        rows,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---- a channel's publishing settings as fields ----

/// One field of a channel's format and the attribute that fills it.
pub(super) struct MappingField {
    pub(super) field: &'static str,
    /// The input's name: `mapping.FIELD`.
    pub(super) name: String,
    pub(super) value: String,
    pub(super) error: Option<String>,
}

/// A channel's publishing mode and field mapping, as a form on its page.
pub(super) struct PublishingForm {
    pub(super) action: String,
    pub(super) modes: Vec<Choice>,
    pub(super) fields: Vec<MappingField>,
    /// Attribute codes offered for the mapping inputs.
    pub(super) attributes: Vec<String>,
    pub(super) problems: Option<Problems>,
}

impl PublishingForm {
    pub(super) fn of(channel: &Channel, schema: &Schema) -> Self {
        PublishingForm {
            action: format!("/settings/channels/{}/publishing", channel.code),
            modes: choices(
                [PublishMode::Automatic, PublishMode::Manual]
                    .map(|m| (m.as_str().to_owned(), m.as_str().to_owned())),
                Some(channel.publish_mode.as_str()),
            ),
            fields: channel
                .mapping
                .fields()
                .into_iter()
                .map(|(field, code)| MappingField {
                    field,
                    name: format!("mapping.{field}"),
                    value: code.to_owned(),
                    error: None,
                })
                .collect(),
            attributes: schema.attributes.iter().map(|a| a.code.clone()).collect(),
            problems: None,
        }
    }

    /// The form again with the user's input and what was wrong with it,
    /// each mapping problem beside its field.
    pub(super) fn refused(mut self, form: &BTreeMap<String, String>, problems: Problems) -> Self {
        if let Some(mode) = form.get("publish_mode") {
            for choice in &mut self.modes {
                choice.selected = &choice.value == mode;
            }
        }
        for field in &mut self.fields {
            if let Some(value) = form.get(&field.name) {
                value.clone_into(&mut field.value);
            }
            let marker = format!("mapping.{} ", field.field);
            field.error = problems.items.iter().find(|p| p.contains(&marker)).cloned();
        }
        self.problems = Some(problems);
        self
    }
}

/// `POST /settings/channels/{code}/publishing`: saves the publishing mode
/// and the field mapping through the schema's plan and apply (which checks
/// that each mapped attribute has a type the field can take).
pub(super) async fn update_channel_publishing(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let mut desired = store::load_schema(state.db.pool())
        .await
        .map_err(AppError::from)?;
    let Some(channel) = desired.channels.iter_mut().find(|c| c.code == code) else {
        return Err(not_found::<Channel>(&code));
    };
    let before = channel.clone();
    let mut problems = Vec::new();
    match form.get("publish_mode").map(String::as_str) {
        None => {}
        Some("automatic") => channel.publish_mode = PublishMode::Automatic,
        Some("manual") => channel.publish_mode = PublishMode::Manual,
        Some(other) => problems.push(format!(
            "publish_mode: {other:?} is not automatic or manual"
        )),
    }
    let fields: Vec<&'static str> = channel.mapping.fields().iter().map(|(f, _)| *f).collect();
    for field in fields {
        if let Some(value) = form.get(&format!("mapping.{field}")) {
            channel.mapping.set(field, value.trim().to_owned());
        }
    }
    let outcome = if problems.is_empty() {
        schema_code::apply(&state.db, &actor, &desired, false, false, state.clock.now()).await
    } else {
        Err(SchemaError::Invalid(problems))
    };
    let problems = match outcome {
        Ok(applied) => {
            let notice = if applied.plan.is_empty() {
                "schema_unchanged"
            } else {
                "channel_saved"
            };
            return Ok(
                Redirect::to(&format!("/settings/channels/{code}?notice={notice}")).into_response(),
            );
        }
        Err(SchemaError::Invalid(items) | SchemaError::Destructive(items)) => Problems {
            headline: format!(
                "The channel would have {} problem(s); nothing was changed.",
                items.len()
            ),
            items,
        },
        Err(SchemaError::Syntax(message)) => {
            Problems::one("The settings could not be read.", message)
        }
        Err(other) => return Err(AppError::from(other).into()),
    };
    let current = current_schema(&state).await?;
    let mut page = entity_page::<Channel>(&session, Some(&code), snippet(&before)?, None);
    page.publishing = Some(PublishingForm::of(&before, &current).refused(&form, problems));
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
