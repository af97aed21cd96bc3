//! Schema as code: export the schema as TOML, check a desired schema, plan
//! the difference, and apply it. Applying is idempotent (a second apply of
//! the same file plans nothing) and refuses destructive steps — those that
//! would drop or invalidate stored product values — unless allowed. Allowed,
//! the affected products are purged in short stretches (by the caller, or
//! by a `schema.apply` job) before one last transaction changes the schema.
//!
//! A schema *file* ([`SchemaFile`], what `sluice schema export` prints and
//! `sluice schema apply` reads) may also hold the mapping profiles as
//! `[[profiles]]` tables; a file without a `profiles` key leaves the stored
//! profiles alone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::audit::{self, Actor, AuditEvent};
pub use crate::catalog::plan::{Action, Plan, Step};
use crate::catalog::schema::{
    Attribute, AttributeGroup, AttributeType, Category, Channel, Currency, Family, Locale,
    MediaPreset, Schema, is_code, is_currency_code, is_locale_code,
};
use crate::catalog::store;
use crate::catalog::units;
use crate::catalog::values::is_option_code;
use crate::db::{Db, Timestamp};
use crate::import::profile::MappingProfile;
use crate::import::profiles;

/// Attribute codes reserved for product structure.
pub const RESERVED_CODES: [&str; 12] = [
    "sku",
    "kind",
    "family",
    "parent",
    "enabled",
    "categories",
    "values",
    "version",
    // Keys of the stored value entries: a code equal to one would confuse
    // the JSON text searches that find products holding an attribute.
    "data",
    "locale",
    "channel",
    "scope",
];

/// Why a schema could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the schema file is not valid TOML: {0}")]
    Syntax(String),
    #[error("the schema has {} problem(s):\n  {}", .0.len(), .0.join("\n  "))]
    Invalid(Vec<String>),
    #[error(
        "the plan has destructive steps; run again with --allow-destructive to apply them:\n  {}",
        .0.join("\n  ")
    )]
    Destructive(Vec<String>),
    #[error(
        "the schema changed since it was loaded (version {base}, now {current}); reload and try again"
    )]
    Stale { base: i64, current: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Write(#[from] crate::workflow::write::WriteError),
}

/// Exports the schema as TOML.
pub fn export(schema: &Schema) -> Result<String, SchemaError> {
    toml::to_string_pretty(&with_presets(schema))
        .map_err(|err| SchemaError::Syntax(err.to_string()))
}

/// The schema with its media presets spelled out (the defaults when it
/// names none), so an exported file shows what is in force and applying it
/// changes nothing.
fn with_presets(schema: &Schema) -> std::borrow::Cow<'_, Schema> {
    if schema.media_presets.is_empty() {
        let mut full = schema.clone();
        full.media_presets = schema.presets().into_owned();
        std::borrow::Cow::Owned(full)
    } else {
        std::borrow::Cow::Borrowed(schema)
    }
}

/// Reads a schema from TOML.
pub fn parse(text: &str) -> Result<Schema, SchemaError> {
    toml::from_str(text).map_err(|err| SchemaError::Syntax(err.to_string()))
}

/// A schema file: the catalog schema and, when the file has a `profiles`
/// key, the whole desired set of mapping profiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaFile {
    pub schema: Schema,
    /// `None`: the file says nothing about profiles and they are left as
    /// they are; `Some(vec![])` deletes every profile.
    pub profiles: Option<Vec<MappingProfile>>,
}

/// The file's text as read: [`Schema`]'s fields and `profiles`, read in one
/// pass so errors keep their line numbers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    locales: Vec<Locale>,
    #[serde(default)]
    currencies: Vec<Currency>,
    #[serde(default)]
    channels: Vec<Channel>,
    #[serde(default)]
    groups: Vec<AttributeGroup>,
    #[serde(default)]
    attributes: Vec<Attribute>,
    #[serde(default)]
    families: Vec<Family>,
    #[serde(default)]
    categories: Vec<Category>,
    #[serde(default)]
    media_presets: Vec<MediaPreset>,
    #[serde(default)]
    profiles: Option<Vec<MappingProfile>>,
}

/// The same, borrowed for writing.
#[derive(Serialize)]
struct FileTextRef<'a> {
    locales: &'a [Locale],
    currencies: &'a [Currency],
    channels: &'a [Channel],
    groups: &'a [AttributeGroup],
    attributes: &'a [Attribute],
    families: &'a [Family],
    categories: &'a [Category],
    #[serde(skip_serializing_if = "<[MediaPreset]>::is_empty")]
    media_presets: &'a [MediaPreset],
    #[serde(skip_serializing_if = "Option::is_none")]
    profiles: Option<&'a [MappingProfile]>,
}

/// Exports a schema file: the schema, then the profiles as `[[profiles]]`
/// (`profiles = []` when there are none, so applying the file keeps it so).
pub fn export_file(file: &SchemaFile) -> Result<String, SchemaError> {
    let spelled = with_presets(&file.schema);
    let Schema {
        locales,
        currencies,
        channels,
        groups,
        attributes,
        families,
        categories,
        media_presets,
        version: _,
        lookup: _,
    } = spelled.as_ref();
    let text = FileTextRef {
        locales,
        currencies,
        channels,
        groups,
        attributes,
        families,
        categories,
        media_presets,
        profiles: file.profiles.as_deref(),
    };
    let full = toml::to_string_pretty(&text).map_err(|err| SchemaError::Syntax(err.to_string()))?;
    // The profiles (last) without the empty lists and tables that reading
    // fills in anyway, as the profile pages store them, if that reads back the same.
    let Some(start) = full.find("[[profiles]]\n") else {
        return Ok(full);
    };
    let tidy = format!("{}{}", &full[..start], profiles::tidy_toml(&full[start..]));
    let reads_back = parse_file(&tidy).is_ok_and(|mut read| {
        read.schema.version = file.schema.version;
        read.schema == *spelled && read.profiles == file.profiles
    });
    Ok(if reads_back { tidy } else { full })
}

/// Reads a schema file (a schema with or without `[[profiles]]`).
pub fn parse_file(text: &str) -> Result<SchemaFile, SchemaError> {
    let FileText {
        locales,
        currencies,
        channels,
        groups,
        attributes,
        families,
        categories,
        media_presets,
        profiles,
    } = toml::from_str(text).map_err(|err| SchemaError::Syntax(err.to_string()))?;
    Ok(SchemaFile {
        schema: Schema {
            locales,
            currencies,
            channels,
            groups,
            attributes,
            families,
            categories,
            media_presets,
            version: 0,
            lookup: Default::default(),
        },
        profiles,
    })
}

/// Every problem with a file's profiles, checked against the file's schema.
pub fn check_profiles(schema: &Schema, profiles: &[MappingProfile]) -> Vec<String> {
    let mut problems = Vec::new();
    duplicates(
        profiles.iter().map(|p| p.code.as_str()),
        "profile",
        &mut problems,
    );
    for profile in profiles {
        problems.extend(
            profile
                .check(schema)
                .into_iter()
                .map(|problem| format!("profile {}: {problem}", profile.code)),
        );
    }
    problems
}

fn duplicates<'a>(codes: impl Iterator<Item = &'a str>, kind: &str, problems: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for code in codes {
        if !seen.insert(code) {
            problems.push(format!("{kind} {code} is defined twice"));
        }
    }
}

/// A channel's field mapping must name attributes of the right type. A
/// default that names an attribute the schema lacks counts as unmapped, so a
/// catalog without `brand` needs no mapping section; an explicit typo does not.
fn check_mapping(schema: &Schema, channel: &Channel, at: &str, problems: &mut Vec<String>) {
    use crate::catalog::schema::{AttributeType as T, FieldMapping};
    let defaults = FieldMapping::default();
    for ((field, code), (_, default)) in channel.mapping.fields().into_iter().zip(defaults.fields())
    {
        if code.is_empty() {
            continue;
        }
        let Some(attribute) = schema.attribute(code) else {
            if code != default {
                problems.push(format!(
                    "{at}: mapping.{field} names unknown attribute {code}"
                ));
            }
            continue;
        };
        let fits = match field {
            "price" | "sale_price" => attribute.kind == T::Price,
            "stock" => attribute.kind == T::Number,
            "weight" => attribute.kind == T::Measurement,
            "images" => attribute.kind == T::Assets,
            "gtin" => matches!(attribute.kind, T::Gtin | T::Text),
            "description" => matches!(attribute.kind, T::Text | T::Textarea),
            _ => !matches!(attribute.kind, T::Assets | T::Price | T::Measurement),
        };
        if !fits {
            problems.push(format!(
                "{at}: mapping.{field} cannot be filled from {code}, a {} attribute",
                attribute.kind.as_str()
            ));
        }
    }
}

/// The rules only an `assets` attribute has: image size and approval.
fn check_asset_rules(attribute: &Attribute, at: &str, problems: &mut Vec<String>) {
    let validation = &attribute.validation;
    let rules = [
        ("min_width", validation.min_width.is_some()),
        ("min_height", validation.min_height.is_some()),
        ("approved_only", validation.approved_only.is_some()),
    ];
    if attribute.kind != AttributeType::Assets {
        for (rule, _) in rules.iter().filter(|(_, set)| *set) {
            problems.push(format!("{at}: {rule} applies to assets attributes only"));
        }
        return;
    }
    for (rule, value) in [
        ("min_width", validation.min_width),
        ("min_height", validation.min_height),
    ] {
        if let Some(pixels) = value
            && !(1..=MAX_PRESET_SIDE).contains(&pixels)
        {
            problems.push(format!(
                "{at}: {rule} must be 1 to {MAX_PRESET_SIDE} pixels; {pixels} given"
            ));
        }
    }
}

/// The largest preset box and image size rule, in pixels per side.
pub const MAX_PRESET_SIDE: u32 = 10_000;

/// Presets the media library itself shows (its grid and asset page).
pub const LIBRARY_PRESETS: [&str; 2] = ["thumbnail", "preview"];

/// Media presets: unique codes, sane boxes and quality, the library's own
/// presets kept, and every channel's `image_preset` defined.
fn check_presets(schema: &Schema, problems: &mut Vec<String>) {
    let presets = schema.presets();
    duplicates(
        presets.iter().map(|p| p.code.as_str()),
        "media preset",
        problems,
    );
    for preset in presets.iter() {
        let at = format!("media preset {}", preset.code);
        if !is_code(&preset.code) {
            problems.push(format!(
                "{at}: the code must be lower-case letters, digits and _, starting with a letter"
            ));
        }
        for (side, pixels) in [("width", preset.width), ("height", preset.height)] {
            if !(1..=MAX_PRESET_SIDE).contains(&pixels) {
                problems.push(format!(
                    "{at}: {side} must be 1 to {MAX_PRESET_SIDE} pixels; {pixels} given"
                ));
            }
        }
        if !(1..=100).contains(&preset.quality) {
            problems.push(format!(
                "{at}: quality must be 1 to 100; {} given",
                preset.quality
            ));
        }
    }
    for code in LIBRARY_PRESETS {
        if !presets.iter().any(|p| p.code == code) {
            problems.push(format!(
                "media preset {code} is missing; the media library shows it, so keep it"
            ));
        }
    }
    for channel in &schema.channels {
        if let Some(code) = &channel.image_preset
            && !presets.iter().any(|p| &p.code == code)
        {
            problems.push(format!(
                "channel {}: image_preset names unknown media preset {code}",
                channel.code
            ));
        } else if channel.image_preset.is_none()
            && !presets
                .iter()
                .any(|p| p.code == channel.image_preset_code())
        {
            problems.push(format!(
                "channel {}: no image_preset is set and there is no media preset {}, \
                 the format's own; set image_preset or define that preset",
                channel.code,
                channel.image_preset_code()
            ));
        }
    }
}

/// Every problem in a schema, each naming the entity and what to fix.
pub fn check(schema: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    duplicates(
        schema.locales.iter().map(|l| l.code.as_str()),
        "locale",
        &mut problems,
    );
    duplicates(
        schema.currencies.iter().map(|c| c.code.as_str()),
        "currency",
        &mut problems,
    );
    duplicates(
        schema.channels.iter().map(|c| c.code.as_str()),
        "channel",
        &mut problems,
    );
    duplicates(
        schema.groups.iter().map(|g| g.code.as_str()),
        "attribute group",
        &mut problems,
    );
    duplicates(
        schema.attributes.iter().map(|a| a.code.as_str()),
        "attribute",
        &mut problems,
    );
    duplicates(
        schema.families.iter().map(|f| f.code.as_str()),
        "family",
        &mut problems,
    );
    duplicates(
        schema.categories.iter().map(|c| c.code.as_str()),
        "category",
        &mut problems,
    );

    for locale in &schema.locales {
        if !is_locale_code(&locale.code) {
            problems.push(format!("locale {:?} must look like en_US", locale.code));
        }
    }
    for currency in &schema.currencies {
        if !is_currency_code(&currency.code) {
            problems.push(format!(
                "currency {:?} must be three capital letters, like USD",
                currency.code
            ));
        }
        if currency.decimals > 4 {
            problems.push(format!(
                "currency {} may have at most 4 decimals",
                currency.code
            ));
        }
    }
    for channel in &schema.channels {
        let at = format!("channel {}", channel.code);
        if !is_code(&channel.code) {
            problems.push(format!(
                "{at}: the code must be lower-case letters, digits and _"
            ));
        }
        if channel.locales.is_empty() {
            problems.push(format!("{at}: give it at least one locale"));
        }
        duplicates(
            channel.locales.iter().map(String::as_str),
            &format!("{at}: locale"),
            &mut problems,
        );
        duplicates(
            channel.currencies.iter().map(String::as_str),
            &format!("{at}: currency"),
            &mut problems,
        );
        for locale in &channel.locales {
            if !schema.has_locale(locale) {
                problems.push(format!("{at}: unknown locale {locale}"));
            }
        }
        for currency in &channel.currencies {
            if schema.currency(currency).is_none() {
                problems.push(format!("{at}: unknown currency {currency}"));
            }
        }
        if let Some(root) = &channel.category_root
            && schema.category(root).is_none()
        {
            problems.push(format!("{at}: unknown category {root}"));
        }
        if !channel.url_template.is_empty()
            && !channel.url_template.starts_with("https://")
            && !channel.url_template.starts_with("http://")
        {
            problems.push(format!(
                "{at}: url_template must be an absolute http(s) URL"
            ));
        }
        for (family, unit) in &channel.units {
            match units::unit_family(unit) {
                Some(found) if found.as_str() == family => {}
                _ => problems.push(format!("{at}: {unit} is not a {family} unit")),
            }
        }
        check_mapping(schema, channel, &at, &mut problems);
    }
    for group in &schema.groups {
        if !is_code(&group.code) {
            problems.push(format!(
                "attribute group {:?}: the code must be lower-case letters, digits and _",
                group.code
            ));
        }
    }
    for attribute in &schema.attributes {
        let at = format!("attribute {}", attribute.code);
        if !is_code(&attribute.code) {
            problems.push(format!(
                "{at}: the code must be lower-case letters, digits and _, starting with a letter"
            ));
        }
        if RESERVED_CODES.contains(&attribute.code.as_str()) {
            problems.push(format!("{at}: the code is reserved for product structure"));
        }
        if !schema.groups.iter().any(|g| g.code == attribute.group) {
            problems.push(format!("{at}: unknown group {}", attribute.group));
        }
        let validation = &attribute.validation;
        if attribute.kind.has_options() {
            if attribute.options.is_empty() {
                problems.push(format!(
                    "{at}: a {} attribute needs options",
                    attribute.kind.as_str()
                ));
            }
            duplicates(
                attribute.options.iter().map(|o| o.code.as_str()),
                &format!("{at}: option"),
                &mut problems,
            );
            for option in &attribute.options {
                if !is_option_code(&option.code) {
                    problems.push(format!(
                        "{at}: option code {:?} must be lower-case letters, digits, _ or -",
                        option.code
                    ));
                }
            }
        } else if !attribute.options.is_empty() {
            problems.push(format!(
                "{at}: only select and multiselect attributes have options"
            ));
        }
        if let Some(pattern) = &validation.pattern {
            if attribute.kind != AttributeType::Text {
                problems.push(format!("{at}: pattern applies to text attributes only"));
            } else if let Err(err) = regex::Regex::new(pattern) {
                problems.push(format!(
                    "{at}: pattern is not a valid regular expression: {err}"
                ));
            }
        }
        match (attribute.kind, validation.unit_family) {
            (AttributeType::Measurement, None) => {
                problems.push(format!(
                    "{at}: a measurement needs a unit_family (weight, length or volume)"
                ));
            }
            (AttributeType::Measurement, Some(family)) => {
                if let Some(unit) = &validation.default_unit
                    && units::unit_family(unit) != Some(family)
                {
                    problems.push(format!(
                        "{at}: default_unit {unit} is not a {} unit",
                        family.as_str()
                    ));
                }
            }
            (_, Some(_)) => {
                problems.push(format!("{at}: unit_family applies to measurements only"))
            }
            (_, None) => {}
        }
        if let (Some(min), Some(max)) = (validation.min, validation.max)
            && min > max
        {
            problems.push(format!("{at}: min {min} is above max {max}"));
        }
        if let (Some(min), Some(max)) = (validation.min_count, validation.max_count)
            && min > max
        {
            problems.push(format!("{at}: min_count {min} is above max_count {max}"));
        }
        check_asset_rules(attribute, &at, &mut problems);
    }
    check_presets(schema, &mut problems);
    for family in &schema.families {
        let at = format!("family {}", family.code);
        if !is_code(&family.code) {
            problems.push(format!(
                "{at}: the code must be lower-case letters, digits and _"
            ));
        }
        for code in &family.attributes {
            if schema.attribute(code).is_none() {
                problems.push(format!("{at}: unknown attribute {code}"));
            }
        }
        let member = |code: &str| family.attributes.iter().any(|a| a == code);
        for (channel, required) in &family.requirements {
            if schema.channel(channel).is_none() {
                problems.push(format!("{at}: requirements name unknown channel {channel}"));
            }
            for code in required {
                if !member(code) {
                    problems.push(format!(
                        "{at}: {code} is required on {channel} but is not in the family"
                    ));
                }
            }
        }
        if family.variant_axes.len() > 3 {
            problems.push(format!("{at}: at most 3 variant axes"));
        }
        for axis in &family.variant_axes {
            match schema.attribute(axis) {
                Some(attribute) if attribute.kind == AttributeType::Select && !attribute.localizable && !attribute.scopable => {}
                Some(_) => problems.push(format!("{at}: variant axis {axis} must be a select attribute, neither localizable nor scopable")),
                None => {}
            }
            if !member(axis) {
                problems.push(format!("{at}: variant axis {axis} is not in the family"));
            }
        }
        for code in &family.variant_attributes {
            if !member(code) {
                problems.push(format!(
                    "{at}: variant attribute {code} is not in the family"
                ));
            }
            if family.variant_axes.contains(code) {
                problems.push(format!(
                    "{at}: {code} is an axis; list it only under variant_axes"
                ));
            }
        }
        if family.variant_axes.is_empty() && !family.variant_attributes.is_empty() {
            problems.push(format!(
                "{at}: variant attributes need at least one variant axis"
            ));
        }
    }
    for category in &schema.categories {
        let at = format!("category {}", category.code);
        if !is_code(&category.code) {
            problems.push(format!(
                "{at}: the code must be lower-case letters, digits and _"
            ));
        }
        if let Some(parent) = &category.parent {
            if schema.category(parent).is_none() {
                problems.push(format!("{at}: unknown parent {parent}"));
            } else {
                // Walk up; a cycle never reaches a root.
                let mut current = Some(parent.as_str());
                let mut steps = 0;
                while let Some(code) = current {
                    if code == category.code || steps > schema.categories.len() {
                        problems.push(format!("{at}: the parent chain loops back to itself"));
                        break;
                    }
                    steps += 1;
                    current = schema.category(code).and_then(|c| c.parent.as_deref());
                }
            }
        }
    }
    problems
}

/// Entities of one kind: code → (position, JSON definition).
type Indexed = BTreeMap<String, (i64, Json)>;

/// Every kind's entities, in dependency order (what others refer to first).
fn entities(schema: &Schema) -> Vec<(&'static str, Indexed)> {
    fn index<T: Serialize>(
        items: &[T],
        code: impl Fn(&T) -> &str,
    ) -> BTreeMap<String, (i64, Json)> {
        items
            .iter()
            .enumerate()
            .map(|(position, item)| {
                (
                    code(item).to_owned(),
                    (
                        i64::try_from(position).unwrap_or(i64::MAX),
                        serde_json::to_value(item).unwrap_or(Json::Null),
                    ),
                )
            })
            .collect()
    }
    vec![
        ("locale", index(&schema.locales, |l| &l.code)),
        ("currency", index(&schema.currencies, |c| &c.code)),
        ("group", index(&schema.groups, |g| &g.code)),
        ("category", index(&schema.categories, |c| &c.code)),
        ("attribute", index(&schema.attributes, |a| &a.code)),
        ("family", index(&schema.families, |f| &f.code)),
        (MEDIA_PRESET, index(&schema.presets(), |p| &p.code)),
        ("channel", index(&schema.channels, |c| &c.code)),
    ]
}

/// Names the top-level fields that differ between two definitions.
fn differing_fields(before: &Json, after: &Json) -> String {
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plans the steps from `current` to `desired` (positions included, so
/// reordering is a change too). Destructiveness is decided by [`apply`],
/// which can see the stored products.
pub fn plan(current: &Schema, desired: &Schema) -> Plan {
    let mut steps = Vec::new();
    let now = entities(current);
    let wanted = entities(desired);
    for ((kind, have), (_, want)) in now.iter().zip(wanted.iter()) {
        for (code, (position, definition)) in want {
            match have.get(code) {
                None => steps.push(Step {
                    action: Action::Create,
                    kind,
                    code: code.clone(),
                    detail: String::new(),
                    destructive: None,
                    blocking: false,
                }),
                Some((old_position, old)) if old != definition || old_position != position => {
                    let mut detail = differing_fields(old, definition);
                    if old_position != position {
                        detail = if detail.is_empty() {
                            "position".to_owned()
                        } else {
                            format!("{detail}, position")
                        };
                    }
                    steps.push(Step {
                        action: Action::Update,
                        kind,
                        code: code.clone(),
                        detail,
                        destructive: None,
                        blocking: false,
                    });
                }
                Some(_) => {}
            }
        }
    }
    // Deletions last and in reverse dependency order (channels before locales …).
    for ((kind, have), (_, want)) in now.iter().zip(wanted.iter()).rev() {
        for code in have.keys() {
            if !want.contains_key(code) {
                steps.push(Step {
                    action: Action::Delete,
                    kind,
                    code: code.clone(),
                    detail: String::new(),
                    destructive: None,
                    blocking: false,
                });
            }
        }
    }
    Plan { steps }
}

/// The kind of plan step that writes a media preset.
pub const MEDIA_PRESET: &str = "media_preset";

/// The kind of plan step that writes a mapping profile.
pub const PROFILE: &str = "profile";

/// The steps that make the stored profiles (`current`) equal to `desired`:
/// creates and updates, then deletes. A delete is always destructive: imports
/// that name the profile are refused from then on.
pub fn plan_profiles(current: &[MappingProfile], desired: &[MappingProfile]) -> Vec<Step> {
    let have: BTreeMap<&str, &MappingProfile> =
        current.iter().map(|p| (p.code.as_str(), p)).collect();
    let want: BTreeMap<&str, &MappingProfile> =
        desired.iter().map(|p| (p.code.as_str(), p)).collect();
    let step = |action, code: &str, detail: String, destructive: Option<String>| Step {
        action,
        kind: PROFILE,
        code: code.to_owned(),
        detail,
        destructive,
        blocking: false,
    };
    let mut steps = Vec::new();
    for (code, profile) in &want {
        match have.get(code) {
            None => steps.push(step(Action::Create, code, String::new(), None)),
            Some(old) if old != profile => {
                let as_json = |p: &MappingProfile| serde_json::to_value(p).unwrap_or(Json::Null);
                let detail = differing_fields(&as_json(old), &as_json(profile));
                steps.push(step(Action::Update, code, detail, None));
            }
            Some(_) => {}
        }
    }
    for code in have.keys().filter(|code| !want.contains_key(*code)) {
        steps.push(step(
            Action::Delete,
            code,
            String::new(),
            Some("the mapping profile is deleted; imports that name it are refused".to_owned()),
        ));
    }
    steps
}

/// Puts profile steps after the catalog's creates and updates (profiles
/// refer to attributes and families) and before its deletes.
fn merge_profile_steps(plan: &mut Plan, steps: Vec<Step>) {
    let first_delete = plan
        .steps
        .iter()
        .position(|s| s.action == Action::Delete)
        .unwrap_or(plan.steps.len());
    let deletes = plan.steps.split_off(first_delete);
    plan.steps.extend(steps);
    plan.steps.extend(deletes);
}

/// Marks the steps that would drop or invalidate product values.
async fn mark_destructive(
    conn: &mut sqlx::AnyConnection,
    current: &Schema,
    desired: &Schema,
    plan: &mut Plan,
) -> Result<(), sqlx::Error> {
    for step in &mut plan.steps {
        let reason = match (step.kind, step.action) {
            ("attribute", Action::Delete) => {
                let used = store::products_using_attribute(conn, &step.code).await?;
                (used > 0).then(|| {
                    format!(
                        "{used} product(s) hold values of {} that would be removed",
                        step.code
                    )
                })
            }
            ("attribute", Action::Update) => {
                let (Some(old), Some(new)) =
                    (current.attribute(&step.code), desired.attribute(&step.code))
                else {
                    continue;
                };
                let reshaped = old.kind != new.kind
                    || old.localizable != new.localizable
                    || old.scopable != new.scopable
                    || old.validation.unit_family != new.validation.unit_family;
                let dropped: Vec<&str> = old
                    .options
                    .iter()
                    .filter(|o| !new.options.iter().any(|n| n.code == o.code))
                    .map(|o| o.code.as_str())
                    .collect();
                // An axis value cannot simply disappear: every variant needs one.
                let is_axis = desired
                    .families
                    .iter()
                    .any(|f| f.variant_axes.contains(&step.code));
                if is_axis && !reshaped {
                    for option in &dropped {
                        let pattern = store::containing(&format!(
                            "\"{}\":[{{\"locale\":null,\"channel\":null,\"data\":\"{option}\"}}]",
                            step.code
                        ));
                        let used = store::products_like(conn, &pattern, None).await?;
                        if used > 0 {
                            step.blocking = true;
                            step.destructive = Some(format!(
                                "{used} variant(s) have {}={option}; give them another value first",
                                step.code
                            ));
                        }
                    }
                    if step.blocking {
                        continue;
                    }
                }
                if reshaped || !dropped.is_empty() {
                    let used = store::products_using_attribute(conn, &step.code).await?;
                    (used > 0).then(|| {
                        if reshaped {
                            format!("type, localizable or scopable changes while {used} product(s) hold values; those values would be removed")
                        } else {
                            format!("removes option(s) {} while {used} product(s) hold values of {}", dropped.join(", "), step.code)
                        }
                    })
                } else {
                    None
                }
            }
            ("family", Action::Delete) => {
                let used = store::products_in_family(conn, &step.code).await?;
                (used > 0).then(|| {
                    format!("{used} product(s) belong to it; a family in use cannot be deleted")
                })
            }
            ("family", Action::Update) => {
                let (Some(old), Some(new)) =
                    (current.family(&step.code), desired.family(&step.code))
                else {
                    continue;
                };
                let members = store::products_in_family(conn, &step.code).await?;
                if members > 0
                    && (old.variant_axes != new.variant_axes
                        || old.variant_attributes != new.variant_attributes)
                {
                    step.blocking = true;
                    Some(format!(
                        "{members} product(s) belong to it; variant axes and variant attributes change only while a family has no products"
                    ))
                } else {
                    let mut used_removed = Vec::new();
                    for attribute in old
                        .attributes
                        .iter()
                        .filter(|a| !new.attributes.contains(a))
                    {
                        let pattern = store::containing(&format!("\"{attribute}\":["));
                        if store::products_like(conn, &pattern, Some(&step.code)).await? > 0 {
                            used_removed.push(attribute.as_str());
                        }
                    }
                    (!used_removed.is_empty()).then(|| {
                        format!(
                            "its products hold values of {} that would be removed from them",
                            used_removed.join(", ")
                        )
                    })
                }
            }
            ("channel", Action::Delete) => {
                let used = store::products_like(
                    conn,
                    &store::containing(&format!("\"channel\":\"{}\"", step.code)),
                    None,
                )
                .await?;
                (used > 0).then(|| {
                    format!("{used} product(s) hold values for this channel that would be removed")
                })
            }
            ("currency", Action::Delete) => {
                let used = store::products_like(
                    conn,
                    &store::containing(&format!("\"currency\":\"{}\"", step.code)),
                    None,
                )
                .await?;
                (used > 0).then(|| {
                    format!(
                        "{used} product(s) hold prices in {} that would be removed",
                        step.code
                    )
                })
            }
            ("category", Action::Delete) => {
                let used = store::products_in_category(conn, &step.code).await?;
                (used > 0).then(|| format!("{used} product(s) would be taken out of it"))
            }
            ("locale", Action::Delete) => {
                let used = store::products_with_locale(conn, &step.code).await?;
                (used > 0).then(|| {
                    format!(
                        "{used} product(s) hold values in {} that would be removed",
                        step.code
                    )
                })
            }
            _ => None,
        };
        step.destructive = reason;
    }
    Ok(())
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub plan: Plan,
    /// False for a dry run.
    pub applied: bool,
    /// The stored schema's version the plan was made against (before applying).
    pub base_version: i64,
}

/// Checks, plans and (unless `dry_run`) applies `desired`, the schema itself
/// in one transaction. Destructive steps need `allow_destructive`; when
/// allowed, affected product values are removed through the write path,
/// with history, [`PURGE_STEP`] products per transaction before the schema
/// changes (requests queue such a change as a job instead). A `desired`
/// schema that was loaded from the database (non-zero `version`) is refused
/// if the stored schema moved on since, so two admins never silently undo
/// each other's edits.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    desired: &Schema,
    allow_destructive: bool,
    dry_run: bool,
    now: Timestamp,
) -> Result<Applied, SchemaError> {
    apply_with_profiles(db, actor, desired, None, allow_destructive, dry_run, now).await
}

/// [`apply`] for a whole schema file: with `profiles`, the stored mapping
/// profiles are made equal to the file's too (checked against the file's
/// schema), in the same transaction. Deleting a profile is a destructive step.
pub async fn apply_file(
    db: &Db,
    actor: &Actor,
    desired: &SchemaFile,
    allow_destructive: bool,
    dry_run: bool,
    now: Timestamp,
) -> Result<Applied, SchemaError> {
    apply_with_profiles(
        db,
        actor,
        &desired.schema,
        desired.profiles.as_deref(),
        allow_destructive,
        dry_run,
        now,
    )
    .await
}

/// Products per stretch of a stepped purge: each stretch is its own short
/// transaction.
pub const PURGE_STEP: usize = 1_000;

/// A desired schema judged against the stored one: its plan, with the
/// destructive steps marked, and the version it was made against.
#[derive(Debug, Clone)]
pub struct Judged {
    pub plan: Plan,
    pub base_version: i64,
}

impl Judged {
    /// True when applying drops values that products hold: a long purge,
    /// worth running in stretches (a profile delete touches no product).
    pub fn affects_products(&self) -> bool {
        self.plan
            .steps
            .iter()
            .any(|s| s.destructive.is_some() && s.kind != PROFILE)
    }

    /// Refuses the plan when it has steps that cannot be applied, or
    /// destructive ones that were not allowed.
    pub fn refuse_unless(&self, allow_destructive: bool) -> Result<(), SchemaError> {
        let destructive = self.plan.destructive();
        if destructive.is_empty() {
            return Ok(());
        }
        let undeletable: Vec<String> = self
            .plan
            .steps
            .iter()
            .filter(|s| {
                s.blocking
                    || (s.kind == "family" && s.action == Action::Delete && s.destructive.is_some())
            })
            .map(ToString::to_string)
            .collect();
        if !undeletable.is_empty() {
            return Err(SchemaError::Destructive(undeletable));
        }
        if !allow_destructive {
            return Err(SchemaError::Destructive(destructive));
        }
        Ok(())
    }
}

/// Checks `desired` (and `profiles`) and plans it against the stored schema,
/// without changing anything: what a person is told at once, before a long
/// change is queued. A `desired` schema loaded from the database is refused
/// when the stored schema moved on since.
pub async fn judge(
    db: &Db,
    desired: &Schema,
    profiles: Option<&[MappingProfile]>,
) -> Result<Judged, SchemaError> {
    let mut problems = check(desired);
    if let Some(profiles) = profiles {
        problems.extend(check_profiles(desired, profiles));
    }
    if !problems.is_empty() {
        return Err(SchemaError::Invalid(problems));
    }
    // A read transaction: one snapshot for the version, plan and counts.
    let mut tx = db.pool().begin().await?;
    let version = store::lock_schema_version(&mut tx, false).await?;
    let (judged, _, _) = plan_against(&mut tx, desired, profiles, version).await?;
    Ok(judged)
}

/// The plan from the stored schema to `desired` (marked, with profile
/// steps), once the stored `version` is known; refused when `desired` was
/// loaded at another version. Also answers the stored schema and profiles.
async fn plan_against(
    conn: &mut sqlx::AnyConnection,
    desired: &Schema,
    profiles: Option<&[MappingProfile]>,
    version: i64,
) -> Result<(Judged, Schema, Vec<profiles::StoredProfile>), SchemaError> {
    if desired.version != 0 && desired.version != version {
        return Err(SchemaError::Stale {
            base: desired.version,
            current: version,
        });
    }
    let current = store::load_schema(&mut *conn).await?;
    let mut plan = plan(&current, desired);
    mark_destructive(conn, &current, desired, &mut plan).await?;
    let stored_profiles = match profiles {
        Some(wanted) => {
            let stored = profiles::list(&mut *conn).await?;
            let current: Vec<MappingProfile> = stored.iter().map(|s| s.profile.clone()).collect();
            merge_profile_steps(&mut plan, plan_profiles(&current, wanted));
            stored
        }
        None => Vec::new(),
    };
    let judged = Judged {
        plan,
        base_version: version,
    };
    Ok((judged, current, stored_profiles))
}

/// True when `step` can take values away from products (whether any
/// product holds them or not): the steps a purge runs.
fn drops_values(current: &Schema, desired: &Schema, step: &Step) -> bool {
    match (step.kind, step.action) {
        ("attribute" | "channel" | "currency" | "category" | "locale", Action::Delete) => true,
        ("attribute", Action::Update) => {
            let (Some(old), Some(new)) =
                (current.attribute(&step.code), desired.attribute(&step.code))
            else {
                return false;
            };
            old.kind != new.kind
                || old.localizable != new.localizable
                || old.scopable != new.scopable
                || old.validation.unit_family != new.validation.unit_family
                || old
                    .options
                    .iter()
                    .any(|o| !new.options.iter().any(|n| n.code == o.code))
        }
        ("family", Action::Update) => {
            let (Some(old), Some(new)) = (current.family(&step.code), desired.family(&step.code))
            else {
                return false;
            };
            old.attributes.iter().any(|a| !new.attributes.contains(a))
        }
        _ => false,
    }
}

/// How many products a stepped purge toward `desired` will judge: its total.
/// Refused when the stored schema is no longer at `desired.version`.
pub async fn purge_total(db: &Db, desired: &Schema) -> Result<i64, SchemaError> {
    let mut tx = db.pool().begin().await?;
    let (current, plan) = purge_plan(&mut tx, desired).await?;
    let steps = dropping_steps(&current, desired, &plan);
    Ok(crate::workflow::write::count_for_schema_change(&mut tx, &steps).await?)
}

/// The stored schema and the plan toward `desired`, with the version held
/// (shared: product writes go on beside a purge; a schema change waits).
/// Refused when the stored schema is no longer at `desired.version`.
async fn purge_plan(
    conn: &mut sqlx::AnyConnection,
    desired: &Schema,
) -> Result<(Schema, Plan), SchemaError> {
    let version = store::lock_schema_version(&mut *conn, false).await?;
    if version != desired.version {
        return Err(SchemaError::Stale {
            base: desired.version,
            current: version,
        });
    }
    let current = store::load_schema(&mut *conn).await?;
    let plan = plan(&current, desired);
    Ok((current, plan))
}

/// The steps of `plan` that take values away from products.
fn dropping_steps<'p>(current: &Schema, desired: &Schema, plan: &'p Plan) -> Vec<&'p Step> {
    plan.steps
        .iter()
        .filter(|s| drops_values(current, desired, s))
        .collect()
}

/// One stretch of a stepped purge toward `desired` (whose `version` is the
/// stored version it was judged against): the affected products with an id
/// above `after`, at most `limit`, lose what the change removes, with
/// history, in one short transaction. The schema itself is left as it is,
/// so every reader still finds the values it meets defined. Refused, with
/// nothing changed, when the stored schema moved on.
pub async fn purge_stretch(
    db: &Db,
    actor: &Actor,
    desired: &Schema,
    after: i64,
    limit: usize,
    now: Timestamp,
) -> Result<crate::workflow::write::Purged, SchemaError> {
    let mut tx = db.begin_write().await?;
    let purged = purge_stretch_in(&mut tx, actor, desired, after, limit, now).await?;
    tx.commit().await?;
    Ok(purged)
}

/// [`purge_stretch`] inside the caller's write transaction, so a job can
/// record its progress in the same commit as the stretch.
pub async fn purge_stretch_in(
    tx: &mut sqlx::AnyConnection,
    actor: &Actor,
    desired: &Schema,
    after: i64,
    limit: usize,
    now: Timestamp,
) -> Result<crate::workflow::write::Purged, SchemaError> {
    let (current, plan) = purge_plan(&mut *tx, desired).await?;
    let steps = dropping_steps(&current, desired, &plan);
    let purged = crate::workflow::write::purge_for_schema_change(
        &mut *tx,
        desired,
        actor,
        &steps,
        &current,
        after,
        Some(limit),
        now,
    )
    .await?;
    Ok(purged)
}

/// Purges every product the change to `desired` affects, a stretch of
/// [`PURGE_STEP`] products per transaction (the CLI and the demo seeding,
/// which are not requests, run the whole purge inline this way).
async fn purge_in_stretches(
    db: &Db,
    actor: &Actor,
    desired: &Schema,
    now: Timestamp,
) -> Result<(), SchemaError> {
    let mut after = 0;
    while let Some(last) = purge_stretch(db, actor, desired, after, PURGE_STEP, now)
        .await?
        .last
    {
        after = last;
    }
    Ok(())
}

async fn apply_with_profiles(
    db: &Db,
    actor: &Actor,
    desired: &Schema,
    profiles: Option<&[MappingProfile]>,
    allow_destructive: bool,
    dry_run: bool,
    now: Timestamp,
) -> Result<Applied, SchemaError> {
    let judged = judge(db, desired, profiles).await?;
    if dry_run || judged.plan.is_empty() {
        return Ok(Applied {
            plan: judged.plan,
            applied: false,
            base_version: judged.base_version,
        });
    }
    judged.refuse_unless(allow_destructive)?;
    let pinned;
    let desired = if judged.affects_products() {
        // The purge runs before the schema changes, against the version
        // judged; the final transaction insists on that version too.
        let mut at_base = desired.clone();
        at_base.version = judged.base_version;
        purge_in_stretches(db, actor, &at_base, now).await?;
        pinned = at_base;
        &pinned
    } else {
        desired
    };
    let mut tx = db.begin_write().await?;
    let applied = apply_in(&mut tx, actor, desired, profiles, allow_destructive, now).await?;
    if applied.applied {
        audit::record(&mut *tx, actor, applied_event(&applied.plan), now).await?;
    }
    tx.commit().await?;
    Ok(applied)
}

/// The audit entry of an applied plan.
pub fn applied_event(plan: &Plan) -> AuditEvent {
    AuditEvent::new("schema.apply", "schema")
        .detail("steps", plan.steps.len())
        .detail("plan", plan_lines(plan))
}

/// The plan's steps, one line each.
pub fn plan_lines(plan: &Plan) -> Vec<String> {
    plan.steps.iter().map(ToString::to_string).collect()
}

/// Applies `desired` in `tx`, the caller's write transaction (it records
/// the audit entry and commits): plans again under the exclusive schema
/// lock, refuses as [`judge`] does, purges whatever products still (or
/// newly) hold values the change removes — after a stepped purge normally
/// none — and writes the schema, so no product holds a value the schema no
/// longer defines when it commits.
pub async fn apply_in(
    tx: &mut sqlx::AnyConnection,
    actor: &Actor,
    desired: &Schema,
    profiles: Option<&[MappingProfile]>,
    allow_destructive: bool,
    now: Timestamp,
) -> Result<Applied, SchemaError> {
    let version = store::lock_schema_version(&mut *tx, true).await?;
    let (judged, current, stored_profiles) =
        plan_against(&mut *tx, desired, profiles, version).await?;
    if judged.plan.is_empty() {
        return Ok(Applied {
            plan: judged.plan,
            applied: false,
            base_version: version,
        });
    }
    judged.refuse_unless(allow_destructive)?;
    let plan = judged.plan;
    // Values that a destructive step invalidates leave through the write path, with history.
    let purging: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| s.destructive.is_some() && s.kind != PROFILE)
        .collect();
    crate::workflow::write::purge_for_schema_change(
        &mut *tx, desired, actor, &purging, &current, 0, None, now,
    )
    .await?;
    // Presets are stored whole once any changes: the defaults a schema
    // without its own stands on are written out, so none goes missing.
    let presets_changed = plan.steps.iter().any(|s| s.kind == MEDIA_PRESET);
    for (kind, want) in entities(desired) {
        for (code, (position, definition)) in &want {
            let changed = (kind == MEDIA_PRESET && presets_changed)
                || plan
                    .steps
                    .iter()
                    .any(|s| s.kind == kind && &s.code == code && s.action != Action::Delete);
            if changed {
                store::put_entity(&mut *tx, kind, code, *position, definition).await?;
            }
        }
    }
    for step in plan
        .steps
        .iter()
        .filter(|s| s.action == Action::Delete && s.kind != PROFILE)
    {
        store::delete_entity(&mut *tx, step.kind, &step.code).await?;
    }
    // New or changed presets have new spec hashes: every asset gets its
    // renditions made again in the background (those that exist are kept).
    if plan
        .steps
        .iter()
        .any(|s| s.kind == MEDIA_PRESET && s.action != Action::Delete)
    {
        crate::media::assets::requeue_all_renditions(&mut *tx).await?;
    }
    // A change to profiles alone leaves the catalog (and its version) as it is.
    if plan.steps.iter().any(|s| s.kind != PROFILE) {
        // The publisher sees the new version and judges every product again.
        store::bump_schema_version(&mut *tx).await?;
    }
    if let Some(wanted) = profiles {
        write_profiles(&mut *tx, actor, &plan, wanted, &stored_profiles, now).await?;
    }
    Ok(Applied {
        plan,
        applied: true,
        base_version: version,
    })
}

/// Writes the profile steps of an applied plan, each with its own audit
/// entry (as the pages write them), so a profile's history reads the same
/// whichever way it changed. Profiles are stored re-serialized from the file.
async fn write_profiles(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    plan: &Plan,
    wanted: &[MappingProfile],
    stored: &[profiles::StoredProfile],
    now: Timestamp,
) -> Result<(), SchemaError> {
    for step in plan.steps.iter().filter(|s| s.kind == PROFILE) {
        let before = stored.iter().find(|s| s.profile.code == step.code);
        if step.action == Action::Delete {
            profiles::remove(&mut *conn, &step.code).await?;
            audit::record(
                &mut *conn,
                actor,
                AuditEvent::new("profile.delete", step.code.clone())
                    .detail("definition", before.map(|s| s.toml.clone()))
                    .detail("via", "schema apply"),
                now,
            )
            .await?;
            continue;
        }
        let Some(profile) = wanted.iter().find(|p| p.code == step.code) else {
            continue;
        };
        let text =
            profiles::to_toml(profile).map_err(|err| SchemaError::Syntax(err.to_string()))?;
        let updated = profiles::stamp_after(before.map(|s| s.updated), now);
        profiles::put(&mut *conn, &step.code, &text, &actor.label, updated).await?;
        audit::record(
            &mut *conn,
            actor,
            AuditEvent::new("profile.save", step.code.clone())
                .detail("created", before.is_none())
                .detail("definition", text)
                .detail("via", "schema apply"),
            now,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A channel listing a locale twice would give two readiness rows with
    /// one key: refused when the schema is checked.
    #[test]
    fn a_channel_lists_each_locale_and_currency_once() {
        let mut schema = crate::demo::catalog_schema().expect("demo schema");
        schema.channels[0].locales.push("en_US".to_owned());
        schema.channels[0].currencies.push("USD".to_owned());
        let problems = check(&schema);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("locale en_US is defined twice")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("currency USD is defined twice")),
            "{problems:?}"
        );
    }
}
