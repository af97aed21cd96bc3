//! One source row → one product change, through a mapping profile. Pure:
//! the import job reads rows, maps them here, and writes them through the
//! single write path (which validates every value again). Each problem is a
//! row error naming the row, column and value with a message a buyer can act
//! on.

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde_json::{Value as Json, json};

use super::profile::{DecimalComma, EmptyCells, MappingProfile, Transform};
use crate::catalog::gtin;
use crate::catalog::product::{ProductKind, ValueKey};
use crate::catalog::schema::{Attribute, AttributeType, Schema};
use crate::catalog::units;
use crate::workflow::write::ValueChange;

/// A problem with one cell (or the whole row when `column` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: u64,
    pub column: Option<String>,
    pub value: String,
    pub message: String,
}

/// A row, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedRow {
    pub row: u64,
    pub sku: String,
    pub family: String,
    pub kind: ProductKind,
    pub parent: Option<String>,
    /// `None` when the profile maps no category column (or the cell is empty and skipped).
    pub categories: Option<Vec<String>>,
    pub values: Vec<ValueChange>,
    /// Non-empty mapped cells this row cannot hold (its family lacks the
    /// attribute, or the attribute lives on another level): counted on the
    /// job, never dropped silently.
    pub dropped: Vec<DroppedValue>,
}

/// A mapped cell a row could not hold, and why: the profile's mapping (by
/// its index in `columns`) and the kind of reason. No text is built per
/// cell; [`DroppedValue::reason`] words it once per tally entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedValue {
    pub mapping: usize,
    pub reason: DropReason,
}

/// Why a row could not hold a mapped value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The row's family has no such attribute.
    NotInFamily,
    /// The attribute lives on the variants, and the row was read as a model.
    OnVariants,
    /// The attribute lives on the model, and the row is a variant.
    OnModel,
}

impl DroppedValue {
    /// The file's column.
    pub fn column<'p>(&self, profile: &'p MappingProfile) -> &'p str {
        profile
            .columns
            .get(self.mapping)
            .map_or("", |m| m.column.as_str())
    }

    /// The attribute the column maps to.
    pub fn attribute<'p>(&self, profile: &'p MappingProfile) -> &'p str {
        profile
            .columns
            .get(self.mapping)
            .map_or("", |m| m.attribute.as_str())
    }

    /// The reason in words, for a row of `family`.
    pub fn reason(&self, profile: &MappingProfile, family: &str) -> String {
        let attribute = self.attribute(profile);
        match self.reason {
            DropReason::NotInFamily => format!("the family {family} has no {attribute}"),
            DropReason::OnVariants => format!(
                "{attribute} is kept on each variant of {family}, and these rows were read as models"
            ),
            DropReason::OnModel => {
                format!("{attribute} is kept on the model, and its variants inherit it")
            }
        }
    }
}

/// Why `kind` in `family` cannot hold `attribute`, if it cannot.
fn not_held(
    family: &crate::catalog::schema::Family,
    kind: ProductKind,
    attribute: &str,
) -> Option<DropReason> {
    if !family.attributes.iter().any(|a| a == attribute) {
        return Some(DropReason::NotInFamily);
    }
    if crate::catalog::completeness::on_level(family, kind, attribute) {
        return None;
    }
    Some(match kind {
        ProductKind::Model => DropReason::OnVariants,
        _ => DropReason::OnModel,
    })
}

const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would read the cell as a formula — or the cell
/// already looks like an escaped one, which must be escaped again so the
/// round trip holds.
fn needs_escape(cell: &str) -> bool {
    // Loop-free: a cell of a million apostrophes must not recurse a million deep.
    cell.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// A cell as a spreadsheet may safely show it: one that starts like a
/// formula gets a leading apostrophe (for `errors.csv`).
pub fn escape_formula(cell: &str) -> Cow<'_, str> {
    if needs_escape(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The inverse of [`escape_formula`]: removes exactly the apostrophe it added,
/// so a fixed `errors.csv` re-sends the original values.
pub fn unescape_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_escape(rest) => rest,
        _ => cell,
    }
}

/// ERP unit spellings → Sluice units.
pub fn unit_alias(text: &str) -> Option<&'static str> {
    let unit = match text.trim().to_lowercase().as_str() {
        "mg" => "MILLIGRAM",
        "g" | "gr" | "gram" | "grams" => "GRAM",
        "kg" | "kgs" | "kilogram" | "kilograms" => "KILOGRAM",
        "t" | "ton" | "tonne" => "TON",
        "oz" | "ounce" | "ounces" => "OUNCE",
        "lb" | "lbs" | "pound" | "pounds" => "POUND",
        "mm" | "millimeter" | "millimetre" => "MILLIMETER",
        "cm" | "centimeter" | "centimetre" => "CENTIMETER",
        "m" | "meter" | "metre" => "METER",
        "km" => "KILOMETER",
        "in" | "inch" | "inches" | "\"" => "INCH",
        "ft" | "foot" | "feet" => "FOOT",
        "yd" | "yard" | "yards" => "YARD",
        "ml" | "milliliter" | "millilitre" => "MILLILITER",
        "cl" => "CENTILITER",
        "l" | "liter" | "litre" => "LITER",
        "m3" | "cbm" => "CUBIC_METER",
        "cm3" | "ccm" => "CUBIC_CENTIMETER",
        "fl oz" | "floz" => "FLUID_OUNCE",
        "gal" | "gallon" => "GALLON",
        _ => return None,
    };
    Some(unit)
}

/// `1.23457E+12`: how spreadsheets show long numbers, after rounding them.
fn is_scientific(text: &str) -> bool {
    let upper = text.trim().to_uppercase();
    upper.contains('E')
        && upper.starts_with(|c: char| c.is_ascii_digit())
        && upper
            .chars()
            .all(|c| c.is_ascii_digit() || ".,E+-".contains(c))
}

/// Reads a decimal as written in the file. `Auto` is settled per file before
/// rows are mapped; left unsettled, each cell says for itself (a comma after
/// any point is the decimal comma).
fn read_decimal(text: &str, decimal_comma: DecimalComma) -> Result<Decimal, String> {
    let text = text.trim();
    let decimal_comma = match decimal_comma {
        DecimalComma::Yes => true,
        DecimalComma::No => false,
        DecimalComma::Auto => text.rfind(',') > text.rfind('.'),
    };
    if is_scientific(text) {
        return Err(format!(
            "{text} is in scientific notation (a spreadsheet rounded it); export the column as text"
        ));
    }
    let normal = if decimal_comma {
        // A point is only a thousands separator here (`1.234,5`): anything
        // else (`2.5` in a file of decimal commas) would silently read as
        // 25, so it is refused instead.
        let whole = text.split(',').next().unwrap_or_default();
        if whole.contains('.') && !thousands_grouped(whole, '.') {
            return Err(format!(
                "{text} is not a number in this file, which writes decimal commas (1.234,5): \
                 a point may only group thousands"
            ));
        }
        text.replace('.', "").replace(',', ".")
    } else {
        text.to_owned()
    };
    normal.parse::<Decimal>().map_err(|_| {
        if !decimal_comma && text.contains(',') {
            format!(
                "{text} is not a number: this file writes decimal points; if it uses decimal commas, \
                 set decimal_comma = true (or \"auto\") in the profile, and leave out thousands separators"
            )
        } else {
            format!("{text} is not a number")
        }
    })
}

/// Whether `whole` (a number's integer part, sign allowed) groups its
/// digits by thousands with `separator`: `1.234`, `-12.345.678`.
fn thousands_grouped(whole: &str, separator: char) -> bool {
    let digits = whole.trim_start_matches(['-', '+']);
    let mut groups = digits.split(separator);
    let first_ok = groups
        .next()
        .is_some_and(|g| (1..=3).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_digit()));
    first_ok && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

fn transform(mut text: String, transforms: &[Transform]) -> String {
    for step in transforms {
        text = match step {
            Transform::Trim => text.trim().to_owned(),
            Transform::Upper => text.to_uppercase(),
            Transform::Lower => text.to_lowercase(),
            // Applied while reading the GTIN, where validity is known.
            Transform::PadGtin => text,
        };
    }
    text
}

/// Maps one row. `cell` answers a column's raw value (`None`: no such column).
pub fn map_row<'a>(
    profile: &MappingProfile,
    schema: &Schema,
    row: u64,
    cell: impl Fn(&str) -> Option<&'a str>,
) -> Result<MappedRow, Vec<RowError>> {
    let mut errors = Vec::new();
    let error = |column: Option<&str>, value: &str, message: String| RowError {
        row,
        column: column.map(str::to_owned),
        value: value.to_owned(),
        message,
    };
    let read = |column: &str| cell(column).map(|c| unescape_formula(c).trim().to_owned());

    let sku = read(&profile.identifier).unwrap_or_default();
    if sku.is_empty() {
        errors.push(error(
            Some(&profile.identifier),
            "",
            "the SKU is empty".to_owned(),
        ));
    }
    let family = match (&profile.family.column, &profile.family.fixed) {
        (_, Some(fixed)) => fixed.clone(),
        (Some(column), None) => {
            let raw = read(column).unwrap_or_default();
            let mapped = profile
                .family
                .map
                .get(&raw)
                .cloned()
                .unwrap_or_else(|| raw.clone());
            if schema.family(&mapped).is_none() {
                errors.push(error(
                    Some(column),
                    &raw,
                    format!("{raw:?} is not a family; map it to one in the profile's family map"),
                ));
            }
            mapped
        }
        (None, None) => String::new(),
    };
    let parent = profile
        .parent
        .as_deref()
        .and_then(read)
        .filter(|p| !p.is_empty());
    let has_axes = schema
        .family(&family)
        .is_some_and(|f| !f.variant_axes.is_empty());
    let kind = match (&parent, has_axes) {
        (Some(_), _) => ProductKind::Variant,
        (None, true) => ProductKind::Model,
        (None, false) => ProductKind::Simple,
    };
    let categories = profile.categories.as_ref().and_then(|source| {
        let raw = read(&source.column).unwrap_or_default();
        if raw.is_empty() && profile.empty_cells == EmptyCells::Skip {
            None
        } else {
            Some(
                raw.split(source.separator.as_str())
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        }
    });

    let mut values = Vec::new();
    // Columns some mapping took a value from, and the cells no mapping could place.
    let mut placed: Vec<&str> = Vec::new();
    let mut unplaced: Vec<DroppedValue> = Vec::new();
    for (index, mapping) in profile.columns.iter().enumerate() {
        let Some(attribute) = schema.attribute(&mapping.attribute) else {
            continue;
        };
        // A Sluice-owned column is read only when it may seed new products.
        if attribute.owner == crate::catalog::schema::Owner::Pim && !mapping.seed {
            continue;
        }
        let raw = read(&mapping.column).unwrap_or_default();
        // On a variant, only variant-level attributes; on a model, only shared ones.
        if let Some(family) = schema.family(&family)
            && let Some(reason) = not_held(family, kind, &attribute.code)
        {
            if !raw.is_empty() {
                unplaced.push(DroppedValue {
                    mapping: index,
                    reason,
                });
            }
            continue;
        }
        if !raw.is_empty() {
            placed.push(&mapping.column);
        }
        let text = transform(raw.clone(), &mapping.transforms);
        let text = if text.is_empty() {
            mapping.default.clone().unwrap_or_default()
        } else {
            text
        };
        let key = ValueKey::new(
            &mapping.attribute,
            mapping.locale.as_deref(),
            mapping.channel.as_deref(),
        );
        if text.is_empty() {
            if profile.empty_cells == EmptyCells::Clear {
                values.push(ValueChange { key, data: None });
            }
            continue;
        }
        match convert(profile, mapping, attribute, &text, &read) {
            Ok(data) => values.push(ValueChange {
                key,
                data: Some(data),
            }),
            Err(message) => errors.push(error(Some(&mapping.column), &raw, message)),
        }
    }
    // A column mapped twice (size → size, size → shoe_size) lost nothing
    // when one of its mappings took the value.
    unplaced.retain(|d| !placed.contains(&d.column(profile)));
    // One column mapped to several locales of one attribute is one lost value.
    let mut dropped: Vec<DroppedValue> = Vec::with_capacity(unplaced.len());
    for value in unplaced {
        let same = |d: &DroppedValue| {
            d.column(profile) == value.column(profile)
                && d.attribute(profile) == value.attribute(profile)
        };
        if !dropped.iter().any(same) {
            dropped.push(value);
        }
    }
    if errors.is_empty() {
        Ok(MappedRow {
            row,
            sku,
            family,
            kind,
            parent,
            categories,
            values,
            dropped,
        })
    } else {
        Err(errors)
    }
}

fn mapped_code(mapping: &super::profile::ColumnMapping, text: &str) -> String {
    mapping
        .value_map
        .get(text)
        .cloned()
        .unwrap_or_else(|| text.trim().to_lowercase().replace(' ', "_"))
}

fn convert(
    profile: &MappingProfile,
    mapping: &super::profile::ColumnMapping,
    attribute: &Attribute,
    text: &str,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<Json, String> {
    Ok(match attribute.kind {
        AttributeType::Text
        | AttributeType::Textarea
        | AttributeType::Url
        | AttributeType::Date => Json::from(
            mapping
                .value_map
                .get(text)
                .cloned()
                .unwrap_or_else(|| text.to_owned()),
        ),
        AttributeType::Number => Json::from(read_decimal(text, profile.decimal_comma)?.to_string()),
        AttributeType::Boolean => match text.to_lowercase().as_str() {
            "1" | "true" | "yes" | "y" | "x" => Json::Bool(true),
            "0" | "false" | "no" | "n" => Json::Bool(false),
            _ => {
                return Err(format!(
                    "{text:?} is not yes or no (use 1/0, true/false or yes/no)"
                ));
            }
        },
        AttributeType::Select => Json::from(mapped_code(mapping, text)),
        AttributeType::Multiselect => Json::Array(
            text.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| Json::from(mapped_code(mapping, p)))
                .collect(),
        ),
        AttributeType::Assets => Json::Array(
            text.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(Json::from)
                .collect(),
        ),
        AttributeType::Gtin => {
            if is_scientific(text) {
                return Err(format!(
                    "GTIN {text} is in scientific notation: a spreadsheet rounded it and its digits are lost; export the column as text"
                ));
            }
            let digits = text.replace([' ', '-'], "");
            if mapping.transforms.contains(&Transform::PadGtin)
                && gtin::validate(&digits).is_err()
                && let Some(padded) = gtin::pad_to_standard(&digits)
            {
                Json::from(padded)
            } else {
                Json::from(digits)
            }
        }
        AttributeType::Measurement => {
            let amount = read_decimal(text, profile.decimal_comma)?;
            let unit_text = match (&mapping.unit, &mapping.unit_column) {
                (Some(unit), _) => unit.clone(),
                (None, Some(column)) => read(column).unwrap_or_default(),
                (None, None) => String::new(),
            };
            let unit = unit_alias(&unit_text)
                .map(str::to_owned)
                .or_else(|| units::unit_family(&unit_text.to_uppercase()).map(|_| unit_text.to_uppercase()))
                .ok_or_else(|| format!("{unit_text:?} is not a unit Sluice knows (like g, kg, lb, cm, mm, in, l, ml)"))?;
            match &attribute.validation.default_unit {
                Some(target) if *target != unit => {
                    let decimals = attribute.validation.decimals.unwrap_or(3);
                    let converted = units::convert_rounded(amount, &unit, target, decimals)
                        .map_err(|err| err.to_string())?;
                    json!({"amount": converted.to_string(), "unit": target})
                }
                _ => json!({"amount": amount.to_string(), "unit": unit}),
            }
        }
        AttributeType::Price => {
            let amount = read_decimal(text, profile.decimal_comma)?;
            let currency = match (&mapping.currency, &mapping.currency_column) {
                (Some(currency), _) => currency.clone(),
                (None, Some(column)) => read(column).unwrap_or_default().to_uppercase(),
                (None, None) => String::new(),
            };
            json!([{"amount": amount.to_string(), "currency": currency}])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::profile::MappingProfile;

    const SCHEMA: &str = r#"
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
code = "erp"
[[attributes]]
code = "name"
type = "text"
group = "erp"
localizable = true
owner = "pim"
lane = "reviewed"
[[attributes]]
code = "weight"
type = "measurement"
group = "erp"
owner = "erp"
lane = "fast"
validation = { unit_family = "weight", default_unit = "KILOGRAM", decimals = 3 }
[[attributes]]
code = "price"
type = "price"
group = "erp"
owner = "erp"
lane = "fast"
[[attributes]]
code = "gtin"
type = "gtin"
group = "erp"
owner = "erp"
lane = "reviewed"
[[attributes]]
code = "tax_class"
type = "select"
group = "erp"
owner = "erp"
lane = "reviewed"
options = [{ code = "standard" }, { code = "reduced" }]
[[attributes]]
code = "color"
type = "select"
group = "erp"
owner = "pim"
lane = "reviewed"
options = [{ code = "red" }, { code = "navy" }]
[[families]]
code = "electronics"
attributes = ["name", "weight", "price", "gtin", "tax_class"]
[[families]]
code = "apparel"
attributes = ["name", "weight", "price", "gtin", "tax_class", "color"]
variant_axes = ["color"]
variant_attributes = ["gtin", "weight"]
"#;

    const PROFILE: &str = r#"
code = "erp-items"
decimal_comma = true
identifier = "item_code"
parent = "variant_of"
family = { column = "item_group", map = { "Gadgets" = "electronics" } }
[[columns]]
column = "item_name"
attribute = "name"
locale = "en_US"
seed = true
[[columns]]
column = "weight"
attribute = "weight"
unit_column = "weight_uom"
[[columns]]
column = "price"
attribute = "price"
currency_column = "currency"
[[columns]]
column = "gtin"
attribute = "gtin"
transforms = ["trim", "pad_gtin"]
[[columns]]
column = "tax"
attribute = "tax_class"
value_map = { "Standard rate" = "standard" }
[[columns]]
column = "color"
attribute = "color"
seed = true
"#;

    fn fixtures() -> (Schema, MappingProfile) {
        let schema = crate::schema_code::parse(SCHEMA).unwrap();
        let profile: MappingProfile = toml::from_str(PROFILE).unwrap();
        assert_eq!(profile.check(&schema), Vec::<String>::new());
        (schema, profile)
    }

    fn cells<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |column| pairs.iter().find(|(c, _)| *c == column).map(|(_, v)| *v)
    }

    #[test]
    fn a_point_in_a_file_of_decimal_commas_only_groups_thousands() {
        let read = |text| read_decimal(text, DecimalComma::Yes);
        assert_eq!(read("1.234,5"), Ok(Decimal::new(12345, 1)));
        assert_eq!(read("-12.345.678"), Ok(Decimal::new(-12_345_678, 0)));
        assert_eq!(read("0,250"), Ok(Decimal::new(250, 3)));
        // `2.5` would silently read as 25: refused, naming the rule.
        for bad in ["2.5", "1.23,4", "12.34.567", ".5"] {
            let refused = read(bad).expect_err(bad);
            assert!(refused.contains("decimal commas"), "{bad}: {refused}");
        }
        let point = read_decimal("1,234", DecimalComma::No).expect_err("a comma in a point file");
        assert!(point.contains("decimal_comma"), "{point}");
    }

    #[test]
    fn a_column_mapped_twice_to_one_attribute_is_one_lost_value() {
        let (schema, _) = fixtures();
        let twice = format!(
            "{PROFILE}[[columns]]\ncolumn = \"weight\"\nattribute = \"weight\"\nunit_column = \"weight_uom\"\n"
        );
        let profile: MappingProfile = toml::from_str(&twice).unwrap();
        // A model row: weight lives on apparel's variants.
        let model = [
            ("item_code", "APP-1"),
            ("item_group", "apparel"),
            ("item_name", "Tee"),
            ("weight", "0,2"),
            ("weight_uom", "kg"),
        ];
        let mapped = map_row(&profile, &schema, 2, cells(&model)).unwrap();
        let lost: Vec<&str> = mapped.dropped.iter().map(|d| d.column(&profile)).collect();
        assert_eq!(lost, ["weight"]);
    }

    #[test]
    fn formula_escapes_need_no_recursion() {
        let deep = format!("{}=1", "'".repeat(200_000));
        assert!(needs_escape(&deep));
        assert!(!needs_escape("'plain"));
    }

    #[test]
    fn a_messy_row_becomes_clean_values() {
        let (schema, profile) = fixtures();
        let row = [
            ("item_code", "ELE-1"),
            ("item_group", "Gadgets"),
            ("item_name", "'=Speaker"),
            ("weight", "350"),
            ("weight_uom", "g"),
            ("price", "1.299,50"),
            ("currency", "usd"),
            ("gtin", " 25000044984 "),
            ("tax", "Standard rate"),
        ];
        let mapped = map_row(&profile, &schema, 2, cells(&row)).unwrap();
        assert_eq!(mapped.family, "electronics");
        assert_eq!(mapped.kind, ProductKind::Simple);
        let value = |attribute: &str| {
            mapped
                .values
                .iter()
                .find(|c| c.key.attribute == attribute)
                .and_then(|c| c.data.clone())
                .unwrap()
        };
        assert_eq!(
            value("name"),
            json!("=Speaker"),
            "formula apostrophe removed"
        );
        assert_eq!(
            value("weight"),
            json!({"amount": "0.35", "unit": "KILOGRAM"})
        );
        assert_eq!(
            value("price"),
            json!([{"amount": "1299.50", "currency": "USD"}])
        );
        assert_eq!(value("gtin"), json!("025000044984"), "lost zero restored");
        assert_eq!(value("tax_class"), json!("standard"));
    }

    #[test]
    fn faults_become_row_errors_naming_row_column_and_value() {
        let (schema, profile) = fixtures();
        let row = [
            ("item_code", "X-1"),
            ("item_group", "Misc Gadgets"),
            ("gtin", "4.00638E+12"),
            ("weight", "1,5"),
            ("weight_uom", "stone"),
        ];
        let errors = map_row(&profile, &schema, 7, cells(&row)).unwrap_err();
        let find = |column: &str| {
            errors
                .iter()
                .find(|e| e.column.as_deref() == Some(column))
                .unwrap()
        };
        assert_eq!(find("item_group").row, 7);
        assert!(find("item_group").message.contains("not a family"));
        assert!(find("gtin").message.contains("scientific notation"));
        assert_eq!(find("gtin").value, "4.00638E+12");
        assert!(find("weight").message.contains("stone"));
    }

    #[test]
    fn variants_keep_to_their_level() {
        let (schema, profile) = fixtures();
        let model = [
            ("item_code", "APP-1"),
            ("item_group", "apparel"),
            ("item_name", "Tee"),
            ("gtin", ""),
        ];
        let mapped = map_row(&profile, &schema, 2, cells(&model)).unwrap();
        assert_eq!(mapped.kind, ProductKind::Model);
        let variant = [
            ("item_code", "APP-1-NAVY"),
            ("item_group", "apparel"),
            ("variant_of", "APP-1"),
            ("item_name", "Tee navy"),
            ("color", "Navy"),
        ];
        let mapped = map_row(&profile, &schema, 3, cells(&variant)).unwrap();
        assert_eq!(mapped.kind, ProductKind::Variant);
        assert_eq!(mapped.parent.as_deref(), Some("APP-1"));
        let attributes: Vec<&str> = mapped
            .values
            .iter()
            .map(|c| c.key.attribute.as_str())
            .collect();
        assert_eq!(attributes, ["color"], "name lives on the model");
        assert_eq!(mapped.values[0].data, Some(json!("navy")));
    }

    #[test]
    fn formula_escaping_round_trips() {
        for cell in [
            "=SUM(A1)", "+49 30", "-5", "@home", "\tx", "plain", "'quoted", "'=kept",
        ] {
            assert_eq!(unescape_formula(&escape_formula(cell)), cell);
        }
        assert_eq!(escape_formula("=1+1"), "'=1+1");
    }

    #[test]
    fn profiles_are_checked_against_the_schema() {
        let (schema, _) = fixtures();
        let broken: MappingProfile = toml::from_str(
            r#"
code = "broken"
identifier = "sku"
family = { fixed = "spaceships" }
[[columns]]
column = "w"
attribute = "weight"
unit = "LITER"
[[columns]]
column = "n"
attribute = "name"
"#,
        )
        .unwrap();
        let problems = broken.check(&schema).join("\n");
        assert!(problems.contains("no family spaceships"), "{problems}");
        assert!(
            problems.contains("LITER is not a unit of weight"),
            "{problems}"
        );
        assert!(problems.contains("name is localizable"), "{problems}");
    }
}
