//! Admin screens for the catalog schema: attributes, families, categories and
//! channels as dense lists, each entity editable as a TOML snippet, and the
//! whole schema as code (the browser twin of `sluice schema export/apply`).
//! Every change goes through [`schema_code::apply`]: its plan can be
//! previewed, and destructive steps need an explicit tick. A destructive
//! change that products are affected by runs as a background job
//! ([`jobs::change_schema`]); the admin is sent to its page.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Choice, Chrome, NavItem, NoticeQuery, choices, render, settings_nav};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::sessions::Session;
use crate::catalog::schema::{
    Attribute, Category, Channel, Family, Labels, OutputFormat, PublishMode, Schema, Validation,
};
use crate::catalog::store;
use crate::error::AppError;
use crate::jobs::{self, SchemaChange};
use crate::schema_code::{self, Action, Plan, SchemaError};
use crate::web::authz::AdminPage;
use crate::web::extract::PageForm;
use crate::web::{PageError, PageResult};

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

impl SchemaEntity for Attribute {
    const NOUN: &'static str = "attribute";
    const PLURAL: &'static str = "attributes";
    const TITLE: &'static str = "Attributes";
    const HINT: &'static str = "type: text, textarea, number, boolean, date, select, multiselect, \
        measurement, price, gtin, url or assets · owner: pim or erp · lane: fast or reviewed · \
        validation: max_length, pattern, min, max, decimals, unit_family, default_unit, \
        min_count, max_count · options: [[options]] with code and labels (select and multiselect).";

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

impl SchemaEntity for Category {
    const NOUN: &'static str = "category";
    const PLURAL: &'static str = "categories";
    const TITLE: &'static str = "Categories";
    const HINT: &'static str = "parent: the code of the parent category; leave it out for a root \
        · position: the order among its siblings.";

    fn code(&self) -> &str {
        &self.code
    }
    fn all(schema: &Schema) -> &[Self] {
        &schema.categories
    }
    fn all_mut(schema: &mut Schema) -> &mut Vec<Self> {
        &mut schema.categories
    }
    fn template(schema: &Schema) -> String {
        let locale = first_locale(schema);
        let parent = match schema.categories.iter().find(|c| c.parent.is_none()) {
            Some(root) => format!("parent = \"{}\"\n", root.code),
            None => "# parent = \"\"\n".to_owned(),
        };
        format!(
            "# A new category: give it a code (lower-case letters, digits and _).\n\
             code = \"\"\n\
             {parent}\
             position = 0\n\
             \n\
             [labels]\n\
             {locale} = \"\"\n"
        )
    }
}

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

// ---- list pages ----

/// One attribute in the attributes table.
struct AttributeRow {
    code: String,
    label: String,
    kind: &'static str,
    localizable: bool,
    scopable: bool,
    erp: bool,
    lane: &'static str,
    validation: String,
    has_options: bool,
    options: usize,
}

/// The attributes of one group.
struct AttributeSection {
    code: String,
    label: String,
    rows: Vec<AttributeRow>,
}

/// The validation rules of an attribute in a few words.
fn validation_summary(validation: &Validation) -> String {
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
    parts.join(" · ")
}

fn attribute_row(attribute: &Attribute) -> AttributeRow {
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
fn attribute_sections(schema: &Schema) -> Vec<AttributeSection> {
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
struct AttributesPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    sections: Vec<AttributeSection>,
    total: usize,
}

/// `GET /settings/attributes`
async fn attributes(
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

/// One family in the families table.
struct FamilyRow {
    code: String,
    label: String,
    attribute_count: usize,
    variant_axes: String,
    variant_attributes: String,
    /// (channel, required attribute codes)
    requirements: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "settings/schema/families.html")]
struct FamiliesPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    rows: Vec<FamilyRow>,
}

/// `GET /settings/families`
async fn families(
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

/// A category the move form may pick as the new parent.
struct MoveTarget {
    code: String,
    path: String,
    selected: bool,
}

/// One category of the tree, with what closes and opens the nested lists
/// around it (askama has no recursion, so the nesting is worked out here).
struct CategoryRow {
    code: String,
    label: String,
    /// `</li>` for the previous item before this one.
    close_item: bool,
    /// How many `</ul></li>` follow it, climbing back up.
    close_lists: usize,
    /// A `<ul>` opens inside the previous item: this one is its first child.
    open_list: bool,
    targets: Vec<MoveTarget>,
    is_root: bool,
}

/// The tree in depth-first order as (depth, category): children after their
/// parent, siblings by position. Categories whose parent is missing, and any
/// caught in a loop, show as roots so nothing disappears.
fn flatten_tree(categories: &[Category]) -> Vec<(usize, &Category)> {
    let known: BTreeSet<&str> = categories.iter().map(|c| c.code.as_str()).collect();
    let mut children: BTreeMap<Option<&str>, Vec<&Category>> = BTreeMap::new();
    for category in categories {
        let parent = category
            .parent
            .as_deref()
            .filter(|p| known.contains(p) && *p != category.code);
        children.entry(parent).or_default().push(category);
    }
    for list in children.values_mut() {
        list.sort_by_key(|c| c.position);
    }
    let mut out = Vec::with_capacity(categories.len());
    let mut seen = BTreeSet::new();
    let mut stack: Vec<(usize, &Category)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|c| (0, *c)).collect())
        .unwrap_or_default();
    loop {
        while let Some((depth, category)) = stack.pop() {
            if !seen.insert(category.code.as_str()) {
                continue;
            }
            out.push((depth, category));
            if let Some(kids) = children.get(&Some(category.code.as_str())) {
                stack.extend(kids.iter().rev().map(|c| (depth + 1, *c)));
            }
        }
        // Whatever a loop kept out of reach becomes a root of its own.
        match categories.iter().find(|c| !seen.contains(c.code.as_str())) {
            Some(stray) => stack.push((0, stray)),
            None => break,
        }
    }
    out
}

/// "All products › Apparel › Tops" for every category.
fn category_paths(tree: &[(usize, &Category)]) -> BTreeMap<String, String> {
    let mut paths = BTreeMap::new();
    let mut trail: Vec<String> = Vec::new();
    for (depth, category) in tree {
        trail.truncate(*depth);
        trail.push(label_of(&category.labels, &category.code).to_owned());
        paths.insert(category.code.clone(), trail.join(" › "));
    }
    paths
}

fn category_rows(schema: &Schema) -> (Vec<CategoryRow>, usize) {
    let tree = flatten_tree(&schema.categories);
    let paths = category_paths(&tree);
    let mut rows = Vec::with_capacity(tree.len());
    let mut previous: Option<usize> = None;
    for (depth, category) in &tree {
        let (close_item, close_lists, open_list) = match previous {
            None => (false, 0, false),
            Some(before) if *depth > before => (false, 0, true),
            Some(before) => (true, before - depth, false),
        };
        let targets = tree
            .iter()
            .filter(|(_, other)| !schema.category_within(&other.code, &category.code))
            .map(|(_, other)| MoveTarget {
                code: other.code.clone(),
                path: paths.get(&other.code).cloned().unwrap_or_default(),
                selected: category.parent.as_deref() == Some(other.code.as_str()),
            })
            .collect();
        rows.push(CategoryRow {
            code: category.code.clone(),
            label: label_of(&category.labels, &category.code).to_owned(),
            close_item,
            close_lists,
            open_list,
            targets,
            is_root: category.parent.is_none(),
        });
        previous = Some(*depth);
    }
    (rows, previous.unwrap_or(0))
}

/// A move that failed, shown next to its form.
struct MoveError {
    code: String,
    message: String,
}

#[derive(Template)]
#[template(path = "settings/schema/categories.html")]
struct CategoriesPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    rows: Vec<CategoryRow>,
    /// `</ul></li>` needed after the last item.
    tail_lists: usize,
    move_error: Option<MoveError>,
}

impl CategoriesPage {
    fn error_for(&self, code: &str) -> Option<&str> {
        self.move_error
            .as_ref()
            .filter(|e| e.code == code)
            .map(|e| e.message.as_str())
    }
}

fn categories_page(
    session: &Session,
    schema: &Schema,
    notice: Option<&str>,
    move_error: Option<MoveError>,
) -> CategoriesPage {
    let (rows, tail_lists) = category_rows(schema);
    CategoriesPage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav("/settings/categories"),
        rows,
        tail_lists,
        move_error,
    }
}

/// `GET /settings/categories`
async fn categories(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let page = categories_page(&session, &schema, query.notice.as_deref(), None);
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    /// The new parent's code; empty for a root.
    #[serde(default)]
    parent: String,
}

/// `POST /settings/categories/{code}/move`
async fn move_category(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    PageForm(form): PageForm<MoveForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let mut desired = store::load_schema(state.db.pool())
        .await
        .map_err(AppError::from)?;
    let Some(category) = desired.categories.iter_mut().find(|c| c.code == code) else {
        return Err(AppError::NotFound(format!("There is no category {code}.")).into());
    };
    let parent = form.parent.trim();
    category.parent = (!parent.is_empty()).then(|| parent.to_owned());
    let message = match schema_code::apply(
        &state.db,
        &actor,
        &desired,
        false,
        false,
        state.clock.now(),
    )
    .await
    {
        Ok(applied) => {
            let notice = if applied.plan.is_empty() {
                "schema_unchanged"
            } else {
                "category_moved"
            };
            return Ok(
                Redirect::to(&format!("/settings/categories?notice={notice}")).into_response(),
            );
        }
        Err(SchemaError::Invalid(problems)) => problems.join("; "),
        Err(SchemaError::Destructive(steps)) => steps.join("; "),
        Err(SchemaError::Syntax(message)) => message,
        Err(other) => return Err(AppError::from(other).into()),
    };
    let schema = current_schema(&state).await?;
    let page = categories_page(&session, &schema, None, Some(MoveError { code, message }));
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// One channel in the channels table.
struct ChannelRow {
    code: String,
    label: String,
    locales: String,
    currencies: String,
    format: &'static str,
    mode: &'static str,
    category_root: Option<String>,
    url_template: String,
    units: String,
}

fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Json => "json",
        OutputFormat::GoogleMerchant => "google_merchant",
        OutputFormat::ShopifyCsv => "shopify_csv",
    }
}

#[derive(Template)]
#[template(path = "settings/schema/channels.html")]
struct ChannelsPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    rows: Vec<ChannelRow>,
}

/// `GET /settings/channels`
async fn channels(
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
struct MappingField {
    field: &'static str,
    /// The input's name: `mapping.FIELD`.
    name: String,
    value: String,
    error: Option<String>,
}

/// A channel's publishing mode and field mapping, as a form on its page.
struct PublishingForm {
    action: String,
    modes: Vec<Choice>,
    fields: Vec<MappingField>,
    /// Attribute codes offered for the mapping inputs.
    attributes: Vec<String>,
    problems: Option<Problems>,
}

impl PublishingForm {
    fn of(channel: &Channel, schema: &Schema) -> Self {
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
    fn refused(mut self, form: &BTreeMap<String, String>, problems: Problems) -> Self {
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
async fn update_channel_publishing(
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

// ---- editing as code ----

/// What went wrong with a submitted change, shown next to the text.
struct Problems {
    headline: String,
    items: Vec<String>,
}

impl Problems {
    fn one(headline: &str, item: impl Into<String>) -> Self {
        Problems {
            headline: headline.to_owned(),
            items: vec![item.into()],
        }
    }
}

/// One step of a plan as shown.
struct PlanLine {
    text: String,
    class: &'static str,
    destructive: bool,
}

/// A plan as shown: its steps, then the summary line.
struct PlanView {
    lines: Vec<PlanLine>,
    summary: String,
}

impl From<&Plan> for PlanView {
    fn from(plan: &Plan) -> Self {
        let lines = plan
            .steps
            .iter()
            .map(|step| PlanLine {
                text: step.to_string(),
                class: match step.action {
                    Action::Create => "plan-create",
                    Action::Update => "plan-update",
                    Action::Delete => "plan-delete",
                },
                destructive: step.destructive.is_some(),
            })
            .collect();
        // The last line of the plan's text is its summary (or "No changes …").
        let text = plan.to_string();
        let summary = text.lines().last().unwrap_or_default().to_owned();
        PlanView { lines, summary }
    }
}

/// The edit page of one entity, of a new one, or of the whole schema.
#[derive(Template)]
#[template(path = "settings/schema/code.html")]
struct CodePage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    title: String,
    /// The list this page belongs to: (href, title).
    back: Option<(String, &'static str)>,
    /// Where the form posts: the page's own path.
    action_href: String,
    /// An existing entity can be deleted.
    deletable: bool,
    /// The whole schema: "Apply" and a download link.
    whole_schema: bool,
    hint: &'static str,
    definition: String,
    allow_destructive: bool,
    problems: Option<Problems>,
    plan: Option<PlanView>,
    /// For a channel: its publishing mode and field mapping as a form.
    publishing: Option<PublishingForm>,
}

impl CodePage {
    fn rows(&self) -> usize {
        (self.definition.lines().count() + 2).clamp(12, 40)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    definition: String,
    /// `preview`, `save` (`apply` on the whole-schema page) or `delete`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    allow_destructive: bool,
}

/// What a form's button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Preview,
    Save,
    Delete,
}

impl Intent {
    fn parse(action: &str) -> Result<Self, PageError> {
        match action {
            "preview" => Ok(Intent::Preview),
            "save" | "apply" => Ok(Intent::Save),
            "delete" => Ok(Intent::Delete),
            other => Err(AppError::BadRequest(format!("unknown action {other:?}")).into()),
        }
    }
}

fn entity_page<E: SchemaEntity>(
    session: &Session,
    code: Option<&str>,
    definition: String,
    notice: Option<&str>,
) -> CodePage {
    let (title, action_href) = match code {
        Some(code) => (
            format!("{} {code}", capitalized(E::NOUN)),
            format!("/settings/{}/{code}", E::PLURAL),
        ),
        None => (
            format!("New {}", E::NOUN),
            format!("/settings/{}/new", E::PLURAL),
        ),
    };
    CodePage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav(&E::list_href()),
        title,
        back: Some((E::list_href(), E::TITLE)),
        action_href,
        deletable: code.is_some(),
        whole_schema: false,
        hint: E::HINT,
        definition,
        allow_destructive: false,
        problems: None,
        plan: None,
        publishing: None,
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// One entity as the TOML the edit page shows.
fn snippet<E: SchemaEntity>(entity: &E) -> Result<String, PageError> {
    toml::to_string_pretty(entity).map_err(|err| PageError(AppError::internal(err)))
}

fn parse_snippet<E: SchemaEntity>(text: &str) -> Result<E, Problems> {
    toml::from_str(text)
        .map_err(|err| Problems::one("The TOML could not be read.", err.to_string()))
}

fn not_found<E: SchemaEntity>(code: &str) -> PageError {
    PageError(AppError::NotFound(format!(
        "There is no {} {code}.",
        E::NOUN
    )))
}

/// `GET /settings/{plural}/new`
async fn new_entity<E: SchemaEntity>(
    State(state): State<AppState>,
    admin: AdminPage,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let page = entity_page::<E>(&session, None, E::template(&schema), None);
    Ok(render(StatusCode::OK, &page))
}

/// `GET /settings/{plural}/{code}`
async fn edit_entity<E: SchemaEntity>(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let entity = E::all(&schema)
        .iter()
        .find(|e| e.code() == code)
        .ok_or_else(|| not_found::<E>(&code))?;
    let mut page = entity_page::<E>(
        &session,
        Some(&code),
        snippet(entity)?,
        query.notice.as_deref(),
    );
    page.publishing = entity.fields_form(&schema);
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/{plural}/new`: preview or save a new entity.
async fn create_entity<E: SchemaEntity>(
    State(state): State<AppState>,
    admin: AdminPage,
    PageForm(form): PageForm<CodeForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let intent = match Intent::parse(&form.action)? {
        Intent::Delete => {
            return Err(AppError::BadRequest("there is nothing to delete yet".to_owned()).into());
        }
        intent => intent,
    };
    let mut schema = store::load_schema(state.db.pool())
        .await
        .map_err(AppError::from)?;
    let desired = parse_snippet::<E>(&form.definition).and_then(|entity| {
        let code = entity.code().trim();
        if code.is_empty() {
            return Err(Problems::one(
                "The code is missing.",
                format!(
                    "Give the {} a code: lower-case letters, digits and _.",
                    E::NOUN
                ),
            ));
        }
        if E::all(&schema).iter().any(|e| e.code() == code) {
            return Err(Problems::one(
                "The code is taken.",
                format!(
                    "A {} named {code} already exists; edit it from the list instead.",
                    E::NOUN
                ),
            ));
        }
        E::all_mut(&mut schema).push(entity);
        Ok(schema)
    });
    let mut page = entity_page::<E>(&session, None, String::new(), None);
    page.definition = form.definition;
    page.allow_destructive = form.allow_destructive;
    let done = format!("{}?notice={}_saved", E::list_href(), E::NOUN);
    submit(&state, &actor, page, desired, intent, done).await
}

/// `POST /settings/{plural}/{code}`: preview, save or delete an entity.
async fn update_entity<E: SchemaEntity>(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    PageForm(form): PageForm<CodeForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let intent = Intent::parse(&form.action)?;
    let mut schema = store::load_schema(state.db.pool())
        .await
        .map_err(AppError::from)?;
    let index = E::all(&schema)
        .iter()
        .position(|e| e.code() == code)
        .ok_or_else(|| not_found::<E>(&code))?;
    let fields_form = E::all(&schema)[index].fields_form(&schema);
    let desired = if intent == Intent::Delete {
        E::all_mut(&mut schema).remove(index);
        Ok(schema)
    } else {
        parse_snippet::<E>(&form.definition).and_then(|entity| {
            if entity.code() != code {
                return Err(Problems::one(
                    "The code cannot change here.",
                    format!(
                        "The snippet must keep code = \"{code}\". To rename, create a new {} and delete this one.",
                        E::NOUN
                    ),
                ));
            }
            E::all_mut(&mut schema)[index] = entity;
            Ok(schema)
        })
    };
    let mut page = entity_page::<E>(&session, Some(&code), String::new(), None);
    page.definition = form.definition;
    page.allow_destructive = form.allow_destructive;
    page.publishing = fields_form;
    let verb = if intent == Intent::Delete {
        "deleted"
    } else {
        "saved"
    };
    let done = format!("{}?notice={}_{verb}", E::list_href(), E::NOUN);
    submit(&state, &actor, page, desired, intent, done).await
}

/// Runs a desired schema through plan and apply and answers: the page with
/// the plan (preview), a redirect to `done` (applied), a redirect to the job
/// page (a destructive change that purges products runs as a job), or the
/// page again with what went wrong next to the text (422; 409 for refused
/// destructive steps).
async fn submit(
    state: &AppState,
    actor: &Actor,
    mut page: CodePage,
    desired: Result<Schema, Problems>,
    intent: Intent,
    done: String,
) -> PageResult {
    let desired = match desired {
        Ok(desired) => desired,
        Err(problems) => {
            page.problems = Some(problems);
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let dry_run = intent == Intent::Preview;
    let allow = page.allow_destructive;
    let now = state.clock.now();
    let outcome = if dry_run {
        schema_code::apply(&state.db, actor, &desired, allow, true, now)
            .await
            .map(SchemaChange::Applied)
    } else {
        jobs::change_schema(&state.db, actor, &desired, allow, now).await
    };
    let (status, problems) = match outcome {
        Ok(SchemaChange::Applied(applied)) if dry_run => {
            page.plan = Some(PlanView::from(&applied.plan));
            return Ok(render(StatusCode::OK, &page));
        }
        // Products hold values the change removes: a job purges them and
        // applies it; the admin follows it on its page.
        Ok(SchemaChange::Queued(job)) => {
            state.jobs.wake();
            return Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response());
        }
        Ok(SchemaChange::Applied(applied)) => {
            let target = if applied.plan.is_empty() {
                // Strip the success notice: nothing happened.
                let list = done.split('?').next().unwrap_or(&done);
                format!("{list}?notice=schema_unchanged")
            } else {
                done
            };
            return Ok(Redirect::to(&target).into_response());
        }
        Err(SchemaError::Syntax(message)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems::one("The TOML could not be read.", message),
        ),
        Err(SchemaError::Invalid(items)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems {
                headline: format!(
                    "The schema would have {} problem(s); nothing was changed.",
                    items.len()
                ),
                items,
            },
        ),
        Err(SchemaError::Destructive(items)) => {
            // Show the whole plan, the destructive steps marked, so the choice is informed.
            let plan = schema_code::apply(&state.db, actor, &desired, allow, true, now)
                .await
                .map_err(AppError::from)?;
            page.plan = Some(PlanView::from(&plan.plan));
            let headline = if allow {
                "These steps cannot be applied, even with destructive changes allowed:"
            } else {
                "The plan would remove or invalidate product values. Tick \u{201c}Allow destructive changes\u{201d} and save again to apply it:"
            };
            (
                StatusCode::CONFLICT,
                Problems {
                    headline: headline.to_owned(),
                    items,
                },
            )
        }
        Err(other) => return Err(AppError::from(other).into()),
    };
    page.problems = Some(problems);
    Ok(render(status, &page))
}

// ---- the whole schema ----

const SCHEMA_HINT: &str = "The same format as `sluice schema export` and `sluice schema apply`: \
    [[locales]], [[currencies]], [[channels]], [[groups]], [[attributes]], [[families]] and \
    [[categories]]. Entities left out are deleted; order is position.";

fn whole_schema_page(session: &Session, definition: String, notice: Option<&str>) -> CodePage {
    CodePage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav("/settings/schema"),
        title: "Schema as code".to_owned(),
        back: None,
        action_href: "/settings/schema".to_owned(),
        deletable: false,
        whole_schema: true,
        hint: SCHEMA_HINT,
        definition,
        allow_destructive: false,
        problems: None,
        plan: None,
        publishing: None,
    }
}

/// `GET /settings/schema`
async fn schema_page(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let text = schema_code::export(&schema).map_err(AppError::from)?;
    let page = whole_schema_page(&session, text, query.notice.as_deref());
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/schema`: preview or apply the whole schema.
async fn apply_schema(
    State(state): State<AppState>,
    admin: AdminPage,
    PageForm(form): PageForm<CodeForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let intent = match Intent::parse(&form.action)? {
        Intent::Delete => {
            return Err(AppError::BadRequest("unknown action \"delete\"".to_owned()).into());
        }
        intent => intent,
    };
    let desired = schema_code::parse(&form.definition).map_err(|err| match err {
        SchemaError::Syntax(message) => Problems::one("The TOML could not be read.", message),
        other => Problems::one("The schema could not be read.", other.to_string()),
    });
    let mut page = whole_schema_page(&session, form.definition, None);
    page.allow_destructive = form.allow_destructive;
    let done = "/settings/schema?notice=schema_applied".to_owned();
    submit(&state, &actor, page, desired, intent, done).await
}

/// `GET /settings/schema.toml`: the schema as a file, like `sluice schema export`.
async fn download_schema(State(state): State<AppState>, _: AdminPage) -> PageResult {
    let schema = current_schema(&state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/toml"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"catalog.toml\"",
            ),
        ],
        schema_code::export(&schema).map_err(AppError::from)?,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(code: &str, parent: Option<&str>, position: i64) -> Category {
        Category {
            code: code.to_owned(),
            parent: parent.map(str::to_owned),
            labels: Labels::new(),
            position,
        }
    }

    #[test]
    fn the_tree_is_flattened_depth_first_with_siblings_by_position() {
        let categories = vec![
            category("shoes", Some("master"), 2),
            category("master", None, 0),
            category("tops", Some("apparel"), 0),
            category("apparel", Some("master"), 1),
            category("sale", None, 1),
        ];
        let tree: Vec<(usize, &str)> = flatten_tree(&categories)
            .into_iter()
            .map(|(depth, c)| (depth, c.code.as_str()))
            .collect();
        assert_eq!(
            tree,
            [
                (0, "master"),
                (1, "apparel"),
                (2, "tops"),
                (1, "shoes"),
                (0, "sale")
            ]
        );
    }

    #[test]
    fn loops_and_orphans_still_show() {
        let categories = vec![
            category("a", Some("b"), 0),
            category("b", Some("a"), 0),
            category("lost", Some("gone"), 0),
        ];
        let tree = flatten_tree(&categories);
        assert_eq!(tree.len(), 3);
    }

    #[test]
    fn nested_lists_open_and_close_in_balance() {
        let schema = Schema {
            categories: vec![
                category("master", None, 0),
                category("apparel", Some("master"), 0),
                category("tops", Some("apparel"), 0),
                category("sale", None, 1),
            ],
            ..Schema::default()
        };
        let (rows, tail) = category_rows(&schema);
        let opened = rows.iter().filter(|r| r.open_list).count();
        let closed: usize = rows.iter().map(|r| r.close_lists).sum::<usize>() + tail;
        assert_eq!(opened, closed);
        assert!(rows[3].close_item && rows[3].close_lists == 2);
        // A category cannot move below itself.
        assert!(
            !rows[1]
                .targets
                .iter()
                .any(|t| t.code == "tops" || t.code == "apparel")
        );
        assert!(
            rows[2]
                .targets
                .iter()
                .any(|t| t.code == "master" && !t.selected)
        );
        assert!(
            rows[2]
                .targets
                .iter()
                .any(|t| t.code == "apparel" && t.selected)
        );
    }

    #[test]
    fn new_entity_templates_parse() {
        let schema: Schema = schema_code::parse(
            r#"
            [[locales]]
            code = "en_US"
            [[currencies]]
            code = "USD"
            [[channels]]
            code = "web"
            locales = ["en_US"]
            currencies = ["USD"]
            output_format = "json"
            [[groups]]
            code = "marketing"
            [[categories]]
            code = "master"
            "#,
        )
        .expect("schema");
        for empty in [Schema::default(), schema] {
            toml::from_str::<Attribute>(&Attribute::template(&empty)).expect("attribute");
            toml::from_str::<Family>(&Family::template(&empty)).expect("family");
            toml::from_str::<Category>(&Category::template(&empty)).expect("category");
            toml::from_str::<Channel>(&Channel::template(&empty)).expect("channel");
        }
    }
}
