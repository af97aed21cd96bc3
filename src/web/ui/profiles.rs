//! Admin screens for mapping profiles: the list (with each profile's problems
//! against the current schema), and one page per profile with two editors —
//! a form for the common fields and the whole profile as TOML. Both save
//! through [`profiles::save`], which checks the profile against the schema and
//! refuses a save over a profile changed since the page was loaded (409).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Choice, Chrome, FormErrors, NavItem, NoticeQuery, choices, render, settings_nav};
use crate::auth::sessions::Session;
use crate::catalog::schema::Schema;
use crate::db::Timestamp;
use crate::import::profile::{
    CategorySource, ColumnMapping, DecimalComma, FamilySource, MappingProfile, is_profile_code,
};
use crate::import::profiles::{self, Base, ProfileError, StoredProfile, to_toml};
use crate::web::AppState;
use crate::web::authz::AdminPage;
use crate::web::error::{AppError, FieldError};
use crate::web::extract::PageForm;
use crate::web::{PageError, PageResult};

const LIST: &str = "/settings/profiles";
/// Empty column rows below the mapped ones: room to add columns without JavaScript.
const BLANK_ROWS: usize = 3;
const TRANSFORMS_HINT: &str = "trim, upper, lower, pad_gtin";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list))
        .route("/settings/profiles/new", get(new_page).post(create))
        .route("/settings/profiles/{code}", get(edit).post(save_form))
        .route("/settings/profiles/{code}/toml", post(save_toml))
        .route("/settings/profiles/{code}/delete", post(delete))
}

/// Notices after a redirect, by code (only these show).
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "profile_created" => "Mapping profile created.",
        "profile_saved" => "Mapping profile saved.",
        "profile_deleted" => "Mapping profile deleted.",
        _ => return None,
    })
}

fn chrome(session: &Session, notice: Option<&str>) -> Chrome {
    let mut chrome = Chrome::new(session, "/settings", None);
    chrome.notice = notice.and_then(notice_text);
    chrome
}

async fn current_schema(state: &AppState) -> Result<std::sync::Arc<Schema>, PageError> {
    Ok(state.schema.get(&state.db).await.map_err(AppError::from)?)
}

/// An enum's name as written in TOML (`windows1252`, `pad_gtin` …).
fn name_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// An enum from its TOML name.
fn parse_name<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

// ---- the list ----

struct ProfileRow {
    code: String,
    label: String,
    format: String,
    columns: usize,
    updated_by: String,
    updated_at: String,
    problems: usize,
}

#[derive(Template)]
#[template(path = "settings/profiles.html")]
struct ListPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    rows: Vec<ProfileRow>,
}

/// `GET /settings/profiles`
async fn list(
    State(state): State<AppState>,
    admin: AdminPage,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let stored = profiles::list(state.db.pool())
        .await
        .map_err(AppError::from)?;
    let rows = stored
        .into_iter()
        .map(|s| ProfileRow {
            problems: s.profile.check(&schema).len(),
            format: name_of(&s.profile.format),
            columns: s.profile.columns.len(),
            code: s.profile.code,
            label: s.profile.label,
            updated_by: s.updated_by,
            updated_at: s.updated.display(),
        })
        .collect();
    let page = ListPage {
        chrome: chrome(&session, query.notice.as_deref()),
        settings_nav: settings_nav(LIST),
        rows,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---- form ↔ profile ----

/// The profile page's forms as posted. The form editor sends the profile's
/// fields, with one value per column row in each `col_*` list (every row
/// sends every field, so the lists line up; `col_seed` lists the indexes of
/// the ticked rows). The TOML editor sends `definition`. Both send `updated`,
/// the profile's `updated_at` when the page was loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ProfileForm {
    /// On the new-profile page: `form` or `toml`, the editor used.
    #[serde(default)]
    editor: String,
    #[serde(default)]
    definition: String,
    #[serde(default)]
    updated: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    format: String,
    /// Empty (detect), `,`, `;` or `tab`.
    #[serde(default)]
    delimiter: String,
    #[serde(default)]
    encoding: String,
    /// Empty (a decimal point), `true` (a decimal comma) or `auto` (per file).
    #[serde(default)]
    decimal_comma: String,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    family_column: String,
    #[serde(default)]
    family_fixed: String,
    /// `ERP group=family` lines.
    #[serde(default)]
    family_map: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    category_column: String,
    #[serde(default)]
    category_separator: String,
    #[serde(default)]
    empty_cells: String,
    #[serde(default)]
    atomic: bool,
    #[serde(default)]
    col_column: Vec<String>,
    #[serde(default)]
    col_attribute: Vec<String>,
    #[serde(default)]
    col_locale: Vec<String>,
    #[serde(default)]
    col_channel: Vec<String>,
    #[serde(default)]
    col_currency: Vec<String>,
    #[serde(default)]
    col_currency_column: Vec<String>,
    #[serde(default)]
    col_unit: Vec<String>,
    #[serde(default)]
    col_unit_column: Vec<String>,
    /// Comma-separated transform names.
    #[serde(default)]
    col_transforms: Vec<String>,
    /// `source=code` lines.
    #[serde(default)]
    col_value_map: Vec<String>,
    #[serde(default)]
    col_default: Vec<String>,
    /// Indexes (0-based) of the rows whose seed box is ticked.
    #[serde(default)]
    col_seed: Vec<String>,
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// `key=value` lines (the last `=` separates: option and family codes never
/// hold one, source values may).
fn parse_pairs(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut pairs = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = n + 1;
        let Some((key, value)) = line.rsplit_once('=') else {
            return Err(format!("line {at}: write source=code"));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            return Err(format!(
                "line {at}: give both the source value and the code (source=code)"
            ));
        }
        if pairs.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(format!("line {at}: {key} is mapped twice"));
        }
    }
    Ok(pairs)
}

fn pairs_text(pairs: &BTreeMap<String, String>) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The key of a column row's error.
fn row_key(index: usize) -> String {
    format!("columns.{index}")
}

impl ProfileForm {
    /// The form showing `profile` as stored at `updated`.
    pub fn from_profile(profile: &MappingProfile, updated: Option<Timestamp>) -> Self {
        let columns = &profile.columns;
        let each = |field: fn(&ColumnMapping) -> String| columns.iter().map(field).collect();
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        ProfileForm {
            editor: String::new(),
            definition: String::new(),
            updated: updated.map(Timestamp::to_stored).unwrap_or_default(),
            code: profile.code.clone(),
            label: profile.label.clone(),
            format: name_of(&profile.format),
            delimiter: match profile.delimiter {
                None => String::new(),
                Some('\t') => "tab".to_owned(),
                Some(c) => c.to_string(),
            },
            encoding: name_of(&profile.encoding),
            decimal_comma: match profile.decimal_comma {
                DecimalComma::No => String::new(),
                DecimalComma::Yes => "true".to_owned(),
                DecimalComma::Auto => "auto".to_owned(),
            },
            identifier: profile.identifier.clone(),
            family_column: text(&profile.family.column),
            family_fixed: text(&profile.family.fixed),
            family_map: pairs_text(&profile.family.map),
            parent: text(&profile.parent),
            category_column: profile
                .categories
                .as_ref()
                .map(|c| c.column.clone())
                .unwrap_or_default(),
            category_separator: profile
                .categories
                .as_ref()
                .map_or_else(|| ",".to_owned(), |c| c.separator.clone()),
            empty_cells: name_of(&profile.empty_cells),
            atomic: profile.atomic,
            col_column: each(|m| m.column.clone()),
            col_attribute: each(|m| m.attribute.clone()),
            col_locale: each(|m| m.locale.clone().unwrap_or_default()),
            col_channel: each(|m| m.channel.clone().unwrap_or_default()),
            col_currency: each(|m| m.currency.clone().unwrap_or_default()),
            col_currency_column: each(|m| m.currency_column.clone().unwrap_or_default()),
            col_unit: each(|m| m.unit.clone().unwrap_or_default()),
            col_unit_column: each(|m| m.unit_column.clone().unwrap_or_default()),
            col_transforms: each(|m| {
                m.transforms
                    .iter()
                    .map(name_of)
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            col_value_map: each(|m| pairs_text(&m.value_map)),
            col_default: each(|m| m.default.clone().unwrap_or_default()),
            col_seed: columns
                .iter()
                .enumerate()
                .filter(|(_, m)| m.seed)
                .map(|(i, _)| i.to_string())
                .collect(),
        }
    }

    /// How many column rows were posted (the longest list).
    fn row_count(&self) -> usize {
        [
            &self.col_column,
            &self.col_attribute,
            &self.col_locale,
            &self.col_channel,
            &self.col_currency,
            &self.col_currency_column,
            &self.col_unit,
            &self.col_unit_column,
            &self.col_transforms,
            &self.col_value_map,
            &self.col_default,
        ]
        .iter()
        .map(|list| list.len())
        .max()
        .unwrap_or(0)
    }

    /// One cell of column row `index` ("" where a list is short).
    fn cell(list: &[String], index: usize) -> &str {
        list.get(index).map_or("", String::as_str)
    }

    fn seeded(&self, index: usize) -> bool {
        self.col_seed.iter().any(|i| i.trim() == index.to_string())
    }

    fn row_is_blank(&self, index: usize) -> bool {
        [
            &self.col_column,
            &self.col_attribute,
            &self.col_locale,
            &self.col_channel,
            &self.col_currency,
            &self.col_currency_column,
            &self.col_unit,
            &self.col_unit_column,
            &self.col_transforms,
            &self.col_value_map,
            &self.col_default,
        ]
        .iter()
        .all(|list| Self::cell(list, index).trim().is_empty())
    }

    /// The profile the form describes, or every field error (blank column
    /// rows are left out). Whether the profile fits the schema is
    /// [`MappingProfile::check`]'s business, not the form's.
    pub fn to_profile(&self) -> Result<MappingProfile, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = self.code.trim();
        if !is_profile_code(code) {
            errors.push(FieldError::field(
                "code",
                "Use lower-case letters, digits, - and _, starting with a letter (at most 64).",
            ));
        }
        let format = match self.format.trim() {
            "" => Some(Default::default()),
            name => parse_name(name),
        };
        if format.is_none() {
            errors.push(FieldError::field("format", "Choose csv or jsonl."));
        }
        let delimiter = match self.delimiter.as_str() {
            "" => Ok(None),
            "tab" | "\t" => Ok(Some('\t')),
            other => {
                let mut chars = other.trim().chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Ok(Some(c)),
                    _ => Err(()),
                }
            }
        };
        if delimiter.is_err() {
            errors.push(FieldError::field(
                "delimiter",
                "Choose a comma, a semicolon, a tab, or detect it.",
            ));
        }
        let encoding = match self.encoding.trim() {
            "" => Some(Default::default()),
            name => parse_name(name),
        };
        if encoding.is_none() {
            errors.push(FieldError::field("encoding", "Choose utf8 or windows1252."));
        }
        let empty_cells = match self.empty_cells.trim() {
            "" => Some(Default::default()),
            name => parse_name(name),
        };
        if empty_cells.is_none() {
            errors.push(FieldError::field("empty_cells", "Choose skip or clear."));
        }
        let identifier = self.identifier.trim();
        if identifier.is_empty() {
            errors.push(FieldError::field(
                "identifier",
                "Name the column that holds the SKU.",
            ));
        }
        let family_column = optional(&self.family_column);
        let family_fixed = optional(&self.family_fixed);
        if family_column.is_some() == family_fixed.is_some() {
            errors.push(FieldError::field(
                "family",
                "Give either the column that names the family or one fixed family, not both.",
            ));
        }
        let family_map = parse_pairs(&self.family_map).unwrap_or_else(|message| {
            errors.push(FieldError::field("family_map", message));
            BTreeMap::new()
        });
        let categories = optional(&self.category_column).map(|column| CategorySource {
            column,
            separator: if self.category_separator.is_empty() {
                ",".to_owned()
            } else {
                self.category_separator.clone()
            },
        });

        let mut columns = Vec::new();
        for index in 0..self.row_count() {
            if self.row_is_blank(index) {
                continue;
            }
            let cell = |list: &[String]| Self::cell(list, index).to_owned();
            let mut problems = Vec::new();
            let column = cell(&self.col_column).trim().to_owned();
            let attribute = cell(&self.col_attribute).trim().to_owned();
            if column.is_empty() {
                problems.push("name the file's column".to_owned());
            }
            if attribute.is_empty() {
                problems.push("name the attribute it fills".to_owned());
            }
            let mut transforms = Vec::new();
            for name in cell(&self.col_transforms)
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|name| !name.is_empty())
            {
                match parse_name(name) {
                    Some(transform) => transforms.push(transform),
                    None => {
                        problems.push(format!("unknown transform {name:?}; use {TRANSFORMS_HINT}"))
                    }
                }
            }
            let value_map = parse_pairs(&cell(&self.col_value_map)).unwrap_or_else(|message| {
                problems.push(format!("value map {message}"));
                BTreeMap::new()
            });
            if !problems.is_empty() {
                errors.push(FieldError::field(&row_key(index), problems.join("; ")));
                continue;
            }
            columns.push(ColumnMapping {
                column,
                attribute,
                locale: optional(&cell(&self.col_locale)),
                channel: optional(&cell(&self.col_channel)),
                currency: optional(&cell(&self.col_currency)),
                currency_column: optional(&cell(&self.col_currency_column)),
                unit: optional(&cell(&self.col_unit)),
                unit_column: optional(&cell(&self.col_unit_column)),
                transforms,
                value_map,
                // Defaults may be a meaningful space or zero-padded text: kept as typed.
                default: Some(cell(&self.col_default)).filter(|d| !d.trim().is_empty()),
                seed: self.seeded(index),
            });
        }

        match (format, delimiter, encoding, empty_cells) {
            (Some(format), Ok(delimiter), Some(encoding), Some(empty_cells))
                if errors.is_empty() =>
            {
                Ok(MappingProfile {
                    code: code.to_owned(),
                    label: self.label.trim().to_owned(),
                    format,
                    delimiter,
                    encoding,
                    decimal_comma: match self.decimal_comma.as_str() {
                        "true" => DecimalComma::Yes,
                        "auto" => DecimalComma::Auto,
                        _ => DecimalComma::No,
                    },
                    identifier: identifier.to_owned(),
                    family: FamilySource {
                        column: family_column,
                        fixed: family_fixed,
                        map: family_map,
                    },
                    parent: optional(&self.parent),
                    categories,
                    columns,
                    empty_cells,
                    atomic: self.atomic,
                })
            }
            _ => Err(errors),
        }
    }
}

// ---- the profile page ----

/// One column row of the form as shown.
struct ColumnRow {
    index: usize,
    column: String,
    attribute: String,
    locale: String,
    channel: String,
    currency: String,
    currency_column: String,
    unit: String,
    unit_column: String,
    transforms: String,
    value_map: String,
    default: String,
    seed: bool,
    error: Option<String>,
}

/// What went wrong with a save, shown next to the editor that was used.
struct Problems {
    headline: String,
    items: Vec<String>,
}

/// Why a save did not happen.
enum Refused {
    /// The form's own field errors: there was no profile to save.
    Fields(Vec<FieldError>),
    Profile(ProfileError),
}

/// Which editor a save came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Editor {
    Form,
    Toml,
}

#[derive(Template)]
#[template(path = "settings/profiles_edit.html")]
struct EditPage {
    chrome: Chrome,
    settings_nav: Vec<NavItem>,
    /// `None` on the new-profile page.
    code: Option<String>,
    /// Who saved the stored profile last, and when.
    saved: Option<(String, String)>,
    form: ProfileForm,
    rows: Vec<ColumnRow>,
    formats: Vec<Choice>,
    delimiters: Vec<Choice>,
    encodings: Vec<Choice>,
    empty_cells: Vec<Choice>,
    errors: FormErrors,
    form_problems: Option<Problems>,
    toml: String,
    toml_problems: Option<Problems>,
    /// The stored profile's problems against the current schema.
    schema_problems: Vec<String>,
    /// Which columns only seed new products or are ignored (ownership).
    notes: Vec<String>,
    /// `updated_at` of the stored profile the page was loaded with.
    updated: String,
    /// Why the delete button did nothing (409).
    delete_problems: Option<Problems>,
    /// After a 409: the profile as stored now.
    stored_now: Option<String>,
    transforms_hint: &'static str,
}

impl EditPage {
    fn toml_rows(&self) -> usize {
        (self.toml.lines().count() + 2).clamp(12, 40)
    }

    fn form_action(&self) -> String {
        self.code.as_ref().map_or_else(
            || "/settings/profiles/new".to_owned(),
            |code| format!("{LIST}/{code}"),
        )
    }

    fn toml_action(&self) -> String {
        self.code.as_ref().map_or_else(
            || "/settings/profiles/new".to_owned(),
            |code| format!("{LIST}/{code}/toml"),
        )
    }
}

/// Select options with the current value chosen (kept even if unknown here).
fn options(known: &[(&str, &str)], current: &str) -> Vec<Choice> {
    let mut list: Vec<(String, String)> = known
        .iter()
        .map(|&(value, label)| (value.to_owned(), label.to_owned()))
        .collect();
    if !known.iter().any(|(value, _)| *value == current) {
        list.push((current.to_owned(), current.to_owned()));
    }
    choices(list, Some(current))
}

fn rows_of(form: &ProfileForm, errors: &FormErrors, blank: usize) -> Vec<ColumnRow> {
    let cell = |list: &[String], i: usize| ProfileForm::cell(list, i).to_owned();
    (0..form.row_count() + blank)
        .map(|i| ColumnRow {
            index: i,
            column: cell(&form.col_column, i),
            attribute: cell(&form.col_attribute, i),
            locale: cell(&form.col_locale, i),
            channel: cell(&form.col_channel, i),
            currency: cell(&form.col_currency, i),
            currency_column: cell(&form.col_currency_column, i),
            unit: cell(&form.col_unit, i),
            unit_column: cell(&form.col_unit_column, i),
            transforms: cell(&form.col_transforms, i),
            value_map: cell(&form.col_value_map, i),
            default: cell(&form.col_default, i),
            seed: form.seeded(i),
            error: errors.get(&row_key(i)).map(str::to_owned),
        })
        .collect()
}

/// The starting text of a new profile's TOML editor.
const NEW_TOML: &str = r#"# A new mapping profile: how an ERP file's columns become a product.
# `src/demo/erp-items.toml` is a complete example.
code = ""
label = ""
format = "csv"           # or "jsonl"
identifier = "sku"       # the column with the SKU
family = { fixed = "" }  # or { column = "item_group" }

[[columns]]
column = "name"
attribute = "name"
locale = "en_US"
seed = true              # a Sluice-owned attribute: only seeds new products
"#;

/// The page of profile `code` (`None`: a new one) as stored (`stored`),
/// showing `form` and `toml` as given.
fn page_for(
    session: &Session,
    schema: &Schema,
    code: Option<&str>,
    stored: Option<&StoredProfile>,
    form: ProfileForm,
    toml: String,
    errors: FormErrors,
) -> EditPage {
    let blank = if code.is_some() { BLANK_ROWS } else { 5 };
    let rows = rows_of(&form, &errors, blank);
    let or = |value: &str, default: &'static str| {
        if value.is_empty() {
            default.to_owned()
        } else {
            value.to_owned()
        }
    };
    EditPage {
        chrome: chrome(session, None),
        settings_nav: settings_nav(LIST),
        code: code.map(str::to_owned),
        saved: stored.map(|s| (s.updated_by.clone(), s.updated.display())),
        formats: options(
            &[("csv", "CSV"), ("jsonl", "JSON Lines")],
            &or(&form.format, "csv"),
        ),
        delimiters: options(
            &[
                ("", "detect from the header row"),
                (",", "comma ,"),
                (";", "semicolon ;"),
                ("tab", "tab"),
            ],
            &form.delimiter,
        ),
        encodings: options(
            &[("utf8", "UTF-8"), ("windows1252", "Windows-1252")],
            &or(&form.encoding, "utf8"),
        ),
        empty_cells: options(
            &[
                ("skip", "skip: leave the stored value"),
                ("clear", "clear: remove the stored value"),
            ],
            &or(&form.empty_cells, "skip"),
        ),
        schema_problems: stored.map(|s| s.profile.check(schema)).unwrap_or_default(),
        notes: stored
            .map(|s| s.profile.ownership_warnings(schema))
            .unwrap_or_default(),
        updated: stored.map(|s| s.updated.to_stored()).unwrap_or_default(),
        rows,
        form,
        errors,
        form_problems: None,
        toml,
        toml_problems: None,
        delete_problems: None,
        stored_now: None,
        transforms_hint: TRANSFORMS_HINT,
    }
}

/// The page of a stored profile with both editors showing it.
fn stored_page(session: &Session, schema: &Schema, stored: &StoredProfile) -> EditPage {
    page_for(
        session,
        schema,
        Some(&stored.profile.code),
        Some(stored),
        ProfileForm::from_profile(&stored.profile, Some(stored.updated)),
        stored.toml.clone(),
        FormErrors::default(),
    )
}

fn not_found(code: &str) -> PageError {
    PageError(AppError::NotFound(format!(
        "There is no mapping profile {code}."
    )))
}

async fn load(state: &AppState, code: &str) -> Result<Option<StoredProfile>, PageError> {
    Ok(profiles::get(state.db.pool(), code)
        .await
        .map_err(AppError::from)?)
}

/// `GET /settings/profiles/new`
async fn new_page(State(state): State<AppState>, admin: AdminPage) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let form = ProfileForm {
        category_separator: ",".to_owned(),
        ..ProfileForm::default()
    };
    let page = page_for(
        &session,
        &schema,
        None,
        None,
        form,
        NEW_TOML.to_owned(),
        FormErrors::default(),
    );
    Ok(render(StatusCode::OK, &page))
}

/// `GET /settings/profiles/{code}`
async fn edit(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let stored = load(&state, &code).await?.ok_or_else(|| not_found(&code))?;
    let mut page = stored_page(&session, &schema, &stored);
    page.chrome = chrome(&session, query.notice.as_deref());
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/profiles/new`: create from the form or from TOML (`editor`).
async fn create(
    State(state): State<AppState>,
    admin: AdminPage,
    PageForm(form): PageForm<ProfileForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let editor = match form.editor.as_str() {
        "form" => Editor::Form,
        "toml" => Editor::Toml,
        other => {
            return Err(AppError::BadRequest(format!("unknown editor {other:?}")).into());
        }
    };
    submit(&state, &session, &actor, None, form, editor).await
}

/// `POST /settings/profiles/{code}`: save the form.
async fn save_form(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    PageForm(mut form): PageForm<ProfileForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    // The code is not editable here: the path names the profile.
    form.code.clone_from(&code);
    submit(&state, &session, &actor, Some(&code), form, Editor::Form).await
}

/// `POST /settings/profiles/{code}/toml`: save the TOML as written.
async fn save_toml(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    PageForm(form): PageForm<ProfileForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    submit(&state, &session, &actor, Some(&code), form, Editor::Toml).await
}

/// The `updated` field a page sends back: when the profile it shows was saved.
fn loaded_at(form: &ProfileForm) -> Result<Option<Timestamp>, PageError> {
    optional(&form.updated)
        .map(|text| {
            Timestamp::parse(&text).map_err(|_| {
                PageError(AppError::BadRequest(
                    "The form does not say when the profile was loaded; reload the page and try again."
                        .to_owned(),
                ))
            })
        })
        .transpose()
}

/// Saves what an editor sent and answers with a redirect to the profile, or
/// with the page again: the input kept, what went wrong next to the editor
/// used (422), or — saved over a newer version — what is stored now (409).
async fn submit(
    state: &AppState,
    session: &Session,
    actor: &crate::audit::Actor,
    code: Option<&str>,
    form: ProfileForm,
    editor: Editor,
) -> PageResult {
    let base = match (code, loaded_at(&form)?) {
        (None, _) => Base::New,
        (Some(code), Some(updated)) => Base::Loaded {
            code: code.to_owned(),
            updated,
        },
        (Some(_), None) => {
            return Err(AppError::BadRequest(
                "The form does not say when the profile was loaded; reload the page and try again."
                    .to_owned(),
            )
            .into());
        }
    };
    let text = match editor {
        Editor::Toml => Ok(form.definition.clone()),
        Editor::Form => form.to_profile().and_then(|profile| {
            to_toml(&profile).map_err(|err| {
                vec![FieldError {
                    message: err.to_string(),
                    ..FieldError::default()
                }]
            })
        }),
    };
    let refused = match text {
        Ok(text) => match profiles::save(&state.db, actor, &text, base, state.clock.now()).await {
            Ok(saved) => {
                let notice = if code.is_some() {
                    "profile_saved"
                } else {
                    "profile_created"
                };
                let target = format!("{LIST}/{}?notice={notice}", saved.profile.code);
                return Ok(Redirect::to(&target).into_response());
            }
            Err(err) => Refused::Profile(err),
        },
        Err(errors) => Refused::Fields(errors),
    };

    // Not saved: show the page again.
    let schema = current_schema(state).await?;
    let stored = match code {
        Some(code) => load(state, code).await?,
        None => None,
    };
    let (shown_form, shown_toml) = match editor {
        Editor::Form => (
            form.clone(),
            stored
                .as_ref()
                .map_or_else(|| NEW_TOML.to_owned(), |s| s.toml.clone()),
        ),
        Editor::Toml => (
            stored.as_ref().map_or_else(
                || ProfileForm {
                    category_separator: ",".to_owned(),
                    ..ProfileForm::default()
                },
                |s| ProfileForm::from_profile(&s.profile, Some(s.updated)),
            ),
            form.definition.clone(),
        ),
    };
    let field_errors = match &refused {
        Refused::Fields(errors) => errors.clone(),
        Refused::Profile(ProfileError::Exists(taken)) if editor == Editor::Form => {
            vec![FieldError::field(
                "code",
                format!(
                    "A profile named {taken} already exists; open it from the list to edit it."
                ),
            )]
        }
        Refused::Profile(_) => Vec::new(),
    };
    let mut page = page_for(
        session,
        &schema,
        code,
        stored.as_ref(),
        shown_form,
        shown_toml,
        FormErrors(field_errors),
    );
    // The page keeps the version the user loaded (a failed save changes nothing).
    page.updated = form.updated.trim().to_owned();
    let (status, problems) = match refused {
        Refused::Fields(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems {
                headline: format!(
                    "{} field(s) need attention; nothing was saved.",
                    errors.len()
                ),
                items: errors.into_iter().map(|e| e.message).collect(),
            },
        ),
        Refused::Profile(ProfileError::Syntax(message)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems {
                headline: "The TOML could not be read; nothing was saved.".to_owned(),
                items: vec![message],
            },
        ),
        Refused::Profile(ProfileError::Invalid(items)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems {
                headline: format!(
                    "The profile has {} problem(s) against the current schema; nothing was saved.",
                    items.len()
                ),
                items,
            },
        ),
        Refused::Profile(err @ (ProfileError::Exists(_) | ProfileError::CodeChanged { .. })) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems {
                headline: "Nothing was saved.".to_owned(),
                items: vec![err.to_string()],
            },
        ),
        Refused::Profile(ProfileError::Stale {
            code,
            since,
            current,
        }) => {
            let message = match &current {
                Some(_) => format!(
                    "Profile {code} {since}. Your changes are kept here; what is stored now is shown under “What is stored now”. Saving again replaces the stored version with yours."
                ),
                None => format!(
                    "Profile {code} {since}. To keep your version, create a new profile from it."
                ),
            };
            if let Some(current) = current {
                page.updated = current.updated.to_stored();
                page.stored_now = Some(current.toml);
            }
            (
                StatusCode::CONFLICT,
                Problems {
                    headline:
                        "Someone else changed this profile since you loaded it; nothing was saved."
                            .to_owned(),
                    items: vec![message],
                },
            )
        }
        Refused::Profile(ProfileError::NotFound(code)) => return Err(not_found(&code)),
        Refused::Profile(ProfileError::Database(err)) => return Err(AppError::from(err).into()),
    };
    match editor {
        Editor::Form => page.form_problems = Some(problems),
        Editor::Toml => page.toml_problems = Some(problems),
    }
    Ok(render(status, &page))
}

/// `POST /settings/profiles/{code}/delete`
async fn delete(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    PageForm(form): PageForm<ProfileForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let loaded = loaded_at(&form)?;
    match profiles::delete(&state.db, &actor, &code, loaded, state.clock.now()).await {
        Ok(()) => Ok(Redirect::to(&format!("{LIST}?notice=profile_deleted")).into_response()),
        Err(ProfileError::NotFound(code)) => Err(not_found(&code)),
        Err(ProfileError::Stale {
            code,
            since,
            current: Some(current),
        }) => {
            let schema = current_schema(&state).await?;
            let mut page = stored_page(&session, &schema, &current);
            page.delete_problems = Some(Problems {
                headline: "Not deleted.".to_owned(),
                items: vec![format!(
                    "Profile {code} {since}; it is shown as stored now. Delete again to delete this version."
                )],
            });
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(ProfileError::Database(err)) => Err(AppError::from(err).into()),
        Err(other) => Err(AppError::Conflict(other.to_string()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::profile::{EmptyCells, SourceFormat, TextEncoding, Transform};

    fn demo() -> MappingProfile {
        profiles::parse(profiles::DEMO_PROFILE).expect("the demo profile parses")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_demo_profile_round_trips_through_the_form_and_toml() {
        let profile = demo();
        let form = ProfileForm::from_profile(&profile, None);
        assert_eq!(form.col_column.len(), profile.columns.len());
        assert_eq!(form.to_profile(), Ok(profile.clone()));
        let text = to_toml(&profile).expect("serializes");
        assert_eq!(profiles::parse(&text), Ok(profile));
        // No noise from empty lists and tables that reading fills in anyway.
        assert!(!text.contains("= []"), "{text}");
        assert!(!text.contains("[family.map]"), "{text}");
        assert!(text.contains("[columns.value_map]\n\"Alder & Pine\" = \"alder_pine\""));
        assert!(!text.contains("\n\n\n"));
    }

    #[test]
    fn every_field_survives_form_to_toml_and_back() {
        let profile = MappingProfile {
            code: "shop-feed".to_owned(),
            label: "Shop feed".to_owned(),
            format: SourceFormat::Csv,
            delimiter: Some('\t'),
            encoding: TextEncoding::Windows1252,
            decimal_comma: DecimalComma::Auto,
            identifier: "sku".to_owned(),
            family: FamilySource {
                column: Some("group".to_owned()),
                fixed: None,
                map: BTreeMap::from([("Shoes = Boots".to_owned(), "footwear".to_owned())]),
            },
            parent: Some("model".to_owned()),
            categories: Some(CategorySource {
                column: "cats".to_owned(),
                separator: "|".to_owned(),
            }),
            columns: vec![
                ColumnMapping {
                    column: "price".to_owned(),
                    attribute: "base_price".to_owned(),
                    locale: None,
                    channel: Some("web".to_owned()),
                    currency: Some("EUR".to_owned()),
                    currency_column: None,
                    unit: None,
                    unit_column: None,
                    transforms: vec![Transform::Trim],
                    value_map: BTreeMap::new(),
                    default: Some("0".to_owned()),
                    seed: false,
                },
                ColumnMapping {
                    column: "colour".to_owned(),
                    attribute: "color".to_owned(),
                    locale: None,
                    channel: None,
                    currency: None,
                    currency_column: None,
                    unit: None,
                    unit_column: Some("uom".to_owned()),
                    transforms: vec![Transform::Trim, Transform::Lower],
                    value_map: BTreeMap::from([
                        ("Navy Blue".to_owned(), "navy".to_owned()),
                        ("Red".to_owned(), "red".to_owned()),
                    ]),
                    default: None,
                    seed: true,
                },
            ],
            empty_cells: EmptyCells::Clear,
            atomic: true,
        };
        let form = ProfileForm::from_profile(&profile, None);
        assert_eq!(form.delimiter, "tab");
        assert_eq!(form.family_map, "Shoes = Boots=footwear");
        assert_eq!(form.col_transforms, strings(&["trim", "trim, lower"]));
        assert_eq!(form.col_value_map[1], "Navy Blue=navy\nRed=red");
        assert_eq!(form.col_seed, strings(&["1"]));
        let back = form.to_profile().expect("valid form");
        assert_eq!(back, profile);
        let text = to_toml(&back).expect("serializes");
        assert_eq!(profiles::parse(&text), Ok(profile));
    }

    #[test]
    fn a_posted_form_skips_blank_rows_and_reads_lines_and_ticks() {
        let form = ProfileForm {
            code: "erp".to_owned(),
            identifier: " item_code ".to_owned(),
            family_fixed: "shirts".to_owned(),
            delimiter: ";".to_owned(),
            col_column: strings(&["", "name", "", "brand"]),
            col_attribute: strings(&["", "name", "", "brand"]),
            col_locale: strings(&["", "en_US", "", ""]),
            col_channel: strings(&["", "", "", ""]),
            col_currency: strings(&["", "", "", ""]),
            col_currency_column: strings(&["", "", "", ""]),
            col_unit: strings(&["", "", "", ""]),
            col_unit_column: strings(&["", "", "", ""]),
            col_transforms: strings(&["", "trim", "", ""]),
            col_value_map: strings(&["", "", "", "\r\nAlder & Pine = alder_pine\r\n\r\n"]),
            col_default: strings(&["", "", "", ""]),
            col_seed: strings(&["1", "3"]),
            ..ProfileForm::default()
        };
        let profile = form.to_profile().expect("valid form");
        assert_eq!(profile.identifier, "item_code");
        assert_eq!(profile.delimiter, Some(';'));
        assert_eq!(profile.family.fixed.as_deref(), Some("shirts"));
        assert_eq!(profile.format, SourceFormat::Csv);
        assert_eq!(profile.categories, None);
        let columns: Vec<(&str, bool)> = profile
            .columns
            .iter()
            .map(|c| (c.column.as_str(), c.seed))
            .collect();
        assert_eq!(columns, [("name", true), ("brand", true)]);
        assert_eq!(profile.columns[0].transforms, [Transform::Trim]);
        assert_eq!(
            profile.columns[1].value_map,
            BTreeMap::from([("Alder & Pine".to_owned(), "alder_pine".to_owned())])
        );
    }

    #[test]
    fn form_errors_name_the_field_or_the_row() {
        let form = ProfileForm {
            code: "Bad Code".to_owned(),
            format: "xml".to_owned(),
            delimiter: "||".to_owned(),
            family_column: "group".to_owned(),
            family_fixed: "shirts".to_owned(),
            family_map: "no separator".to_owned(),
            col_column: strings(&["name", "", "gtin"]),
            col_attribute: strings(&["", "color", "gtin"]),
            col_transforms: strings(&["", "", "trim, squash"]),
            col_value_map: strings(&["", "Red=", ""]),
            ..ProfileForm::default()
        };
        let errors = form.to_profile().expect_err("invalid form");
        let fields: Vec<&str> = errors.iter().filter_map(|e| e.field.as_deref()).collect();
        assert_eq!(
            fields,
            [
                "code",
                "format",
                "delimiter",
                "identifier",
                "family",
                "family_map",
                "columns.0",
                "columns.1",
                "columns.2"
            ]
        );
        let message = |field: &str| {
            errors
                .iter()
                .find(|e| e.field.as_deref() == Some(field))
                .map(|e| e.message.clone())
                .unwrap_or_default()
        };
        assert!(message("columns.0").contains("name the attribute"));
        assert!(message("columns.1").contains("name the file's column"));
        assert!(message("columns.1").contains("value map line 1"));
        assert!(message("columns.2").contains("unknown transform \"squash\""));
        assert!(message("family_map").contains("line 1"));
    }

    #[test]
    fn pairs_split_at_the_last_equals_sign_and_refuse_duplicates() {
        assert_eq!(
            parse_pairs("a=b=c\n\n x = y "),
            Ok(BTreeMap::from([
                ("a=b".to_owned(), "c".to_owned()),
                ("x".to_owned(), "y".to_owned())
            ]))
        );
        assert!(parse_pairs("a=b\na=c").is_err_and(|m| m.contains("line 2")));
        assert!(parse_pairs("=b").is_err());
    }
}
