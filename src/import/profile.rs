//! Mapping profiles: how an ERP file's columns become a product — the
//! identifier, family, parent and category columns, and per column the
//! attribute (with locale, channel, currency, unit) and its transforms.
//! Profiles are written as TOML (like the schema) and checked against the
//! schema before use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::schema::{AttributeType, Owner, Schema};
use crate::catalog::units;

/// Profile codes also allow `-` (`erp-items`): they appear in URLs and
/// command lines, not in value keys.
pub fn is_profile_code(code: &str) -> bool {
    code.len() <= 64
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The file's format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    #[default]
    Csv,
    Jsonl,
}

/// The file's text encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    #[default]
    Utf8,
    Windows1252,
}

/// How numbers write their decimals: `decimal_comma = false` (`1.25`),
/// `true` (`1,25`) or `"auto"`: decided per file from its number columns
/// (see [`super::reader::detect_decimal_comma`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DecimalComma {
    #[default]
    No,
    Yes,
    Auto,
}

impl Serialize for DecimalComma {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DecimalComma::No => serializer.serialize_bool(false),
            DecimalComma::Yes => serializer.serialize_bool(true),
            DecimalComma::Auto => serializer.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for DecimalComma {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Flag(bool),
            Word(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Flag(true) => Ok(DecimalComma::Yes),
            Written::Flag(false) => Ok(DecimalComma::No),
            Written::Word(word) if word == "auto" => Ok(DecimalComma::Auto),
            Written::Word(word) => Err(serde::de::Error::custom(format!(
                "decimal_comma = {word:?}: use true, false or \"auto\""
            ))),
        }
    }
}

/// What an empty cell means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyCells {
    /// Leave the stored value alone.
    #[default]
    Skip,
    /// Remove the stored value.
    Clear,
}

/// A transform applied to a cell before it is read as the attribute's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    Trim,
    Upper,
    Lower,
    /// Restore leading zeros a spreadsheet dropped from a GTIN.
    PadGtin,
}

/// Where the family comes from: a column (optionally mapped) or a fixed code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilySource {
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub fixed: Option<String>,
    /// ERP group → family code.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
}

/// The category column and the separator between several codes in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySource {
    pub column: String,
    #[serde(default = "comma")]
    pub separator: String,
}

fn comma() -> String {
    ",".to_owned()
}

/// One column → one attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    pub column: String,
    pub attribute: String,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    /// Price: the currency of the amounts in this column …
    #[serde(default)]
    pub currency: Option<String>,
    /// … or the column that names it.
    #[serde(default)]
    pub currency_column: Option<String>,
    /// Measurement: the unit of the amounts in this column …
    #[serde(default)]
    pub unit: Option<String>,
    /// … or the sibling column that names it (values like `kg`, `lb`, `cm`).
    #[serde(default)]
    pub unit_column: Option<String>,
    #[serde(default)]
    pub transforms: Vec<Transform>,
    /// Source value → option code (select, multiselect), or other fixed renames.
    #[serde(default)]
    pub value_map: BTreeMap<String, String>,
    /// Used when the cell is empty.
    #[serde(default)]
    pub default: Option<String>,
    /// For a PIM-owned attribute: the column seeds new products (it is never
    /// written to existing ones). Without it the column is ignored, with a
    /// warning on the job.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seed: bool,
}

/// A mapping profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingProfile {
    pub code: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub format: SourceFormat,
    /// `,`, `;` or a tab; detected from the header row when absent.
    #[serde(default)]
    pub delimiter: Option<char>,
    #[serde(default)]
    pub encoding: TextEncoding,
    /// Numbers are written with a decimal comma (`1,25`), or `"auto"`:
    /// detected per file.
    #[serde(default)]
    pub decimal_comma: DecimalComma,
    /// The column with the SKU.
    pub identifier: String,
    pub family: FamilySource,
    /// The column with a variant's model SKU.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub categories: Option<CategorySource>,
    #[serde(default)]
    pub columns: Vec<ColumnMapping>,
    #[serde(default)]
    pub empty_cells: EmptyCells,
    /// All rows or none.
    #[serde(default)]
    pub atomic: bool,
}

impl MappingProfile {
    /// Every problem with the profile against the schema, each naming the column.
    pub fn check(&self, schema: &Schema) -> Vec<String> {
        let mut problems = Vec::new();
        if !is_profile_code(&self.code) {
            problems.push(format!(
                "profile code {:?}: lower-case letters, digits, - and _ (at most 64)",
                self.code
            ));
        }
        if let Some(delimiter) = self.delimiter
            && ![',', ';', '\t'].contains(&delimiter)
        {
            problems.push(format!("delimiter {delimiter:?}: use ',', ';' or a tab"));
        }
        match (&self.family.column, &self.family.fixed) {
            (None, None) | (Some(_), Some(_)) => {
                problems.push("family: give either a column or a fixed family".to_owned());
            }
            (None, Some(fixed)) if schema.family(fixed).is_none() => {
                problems.push(format!("family: there is no family {fixed}"));
            }
            _ => {}
        }
        for family in self.family.map.values() {
            if schema.family(family).is_none() {
                problems.push(format!("family map: there is no family {family}"));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for mapping in &self.columns {
            let at = format!("column {:?}", mapping.column);
            let Some(attribute) = schema.attribute(&mapping.attribute) else {
                problems.push(format!("{at}: there is no attribute {}", mapping.attribute));
                continue;
            };
            if !seen.insert((
                &mapping.attribute,
                &mapping.locale,
                &mapping.channel,
                &mapping.currency,
            )) {
                problems.push(format!("{at}: {} is mapped twice", mapping.attribute));
            }
            if attribute.localizable != mapping.locale.is_some() {
                problems.push(if attribute.localizable {
                    format!("{at}: {} is localizable; give a locale", attribute.code)
                } else {
                    format!(
                        "{at}: {} is not localizable; leave the locale out",
                        attribute.code
                    )
                });
            }
            if mapping.channel.is_some() && !attribute.scopable {
                problems.push(format!(
                    "{at}: {} is not scopable; leave the channel out",
                    attribute.code
                ));
            }
            if let Some(locale) = &mapping.locale
                && !schema.has_locale(locale)
            {
                problems.push(format!("{at}: there is no locale {locale}"));
            }
            match attribute.kind {
                AttributeType::Price => match (&mapping.currency, &mapping.currency_column) {
                    (Some(currency), None) if schema.currency(currency).is_none() => {
                        problems.push(format!("{at}: there is no currency {currency}"));
                    }
                    (Some(_), None) | (None, Some(_)) => {}
                    _ => problems.push(format!(
                        "{at}: a price needs either currency or currency_column"
                    )),
                },
                AttributeType::Measurement => match (&mapping.unit, &mapping.unit_column) {
                    (Some(unit), None) => {
                        if units::unit_family(unit) != attribute.validation.unit_family {
                            problems
                                .push(format!("{at}: {unit} is not a unit of {}", attribute.code));
                        }
                    }
                    (None, Some(_)) => {}
                    _ => problems.push(format!(
                        "{at}: a measurement needs either unit or unit_column"
                    )),
                },
                _ => {
                    if mapping.currency.is_some() || mapping.unit.is_some() {
                        problems.push(format!(
                            "{at}: currency and unit apply to prices and measurements only"
                        ));
                    }
                }
            }
            if mapping.seed && attribute.owner == Owner::Erp {
                problems.push(format!(
                    "{at}: seed applies to Sluice-owned attributes; {} is owned by the ERP and always imported",
                    attribute.code
                ));
            }
            if mapping.transforms.contains(&Transform::PadGtin)
                && attribute.kind != AttributeType::Gtin
            {
                problems.push(format!("{at}: pad_gtin applies to GTIN attributes only"));
            }
            if attribute.kind.has_options() {
                for code in mapping.value_map.values() {
                    if !attribute.options.iter().any(|o| &o.code == code) {
                        problems.push(format!(
                            "{at}: value_map names {code}, which is not an option of {}",
                            attribute.code
                        ));
                    }
                }
            }
        }
        problems
    }

    /// Columns whose attribute is PIM-owned: imported only when they seed a
    /// new product (`seed = true`), otherwise ignored.
    pub fn pim_columns<'a>(
        &'a self,
        schema: &'a Schema,
    ) -> impl Iterator<Item = &'a ColumnMapping> {
        self.columns.iter().filter(|m| {
            schema
                .attribute(&m.attribute)
                .is_some_and(|a| a.owner == Owner::Pim)
        })
    }

    /// Warnings for the job: PIM-owned columns that are ignored, or used on new products only.
    pub fn ownership_warnings(&self, schema: &Schema) -> Vec<String> {
        self.pim_columns(schema)
            .map(|m| {
                if m.seed {
                    format!(
                        "column {:?} → {}: owned by Sluice, so it only seeds new products and never changes existing ones",
                        m.column, m.attribute
                    )
                } else {
                    format!(
                        "column {:?} → {}: owned by Sluice and not marked seed = true, so it is ignored",
                        m.column, m.attribute
                    )
                }
            })
            .collect()
    }
}
