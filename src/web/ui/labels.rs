//! How a product's fields and values read for people: the attribute's,
//! option's, family's and category's label instead of its code, a unit's
//! symbol (`cm`, not `CENTIMETER`), yes/no for booleans, rich text as plain
//! text. One place for the product page's history, its 409 page, its
//! variants table, its read view, the new-product form and the review page.

use serde_json::Value as Json;

use crate::catalog::html;
use crate::catalog::product::Values;
use crate::catalog::schema::{Attribute, AttributeType, Family, Labels as SchemaLabels, Schema};
use crate::catalog::units;
use crate::web::ui::proposals::{Segment, word_diff};

/// Longest text a history or conflict row shows before it is cut.
const BRIEF_CHARS: usize = 120;

/// Labels of one schema in one locale (falling back to English, then to the code).
#[derive(Clone, Copy)]
pub(in crate::web::ui) struct Labels<'a> {
    schema: &'a Schema,
    locale: &'a str,
}

impl<'a> Labels<'a> {
    pub(in crate::web::ui) fn new(schema: &'a Schema, locale: &'a str) -> Self {
        Labels { schema, locale }
    }

    /// The label in this locale, else in English, else the code.
    fn pick(&self, labels: &SchemaLabels, code: &str) -> String {
        labels
            .get(self.locale)
            .or_else(|| labels.get("en_US"))
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }

    /// A field's name: the attribute's label, or the structure field's.
    pub(in crate::web::ui) fn field(&self, field: &str) -> String {
        match field {
            "sku" => "SKU".to_owned(),
            "kind" => "Kind".to_owned(),
            "family" => "Family".to_owned(),
            "parent" => "Model".to_owned(),
            "enabled" => "Enabled".to_owned(),
            "categories" => "Categories".to_owned(),
            code => self
                .schema
                .attribute(code)
                .map_or_else(|| code.to_owned(), |a| a.label(self.locale).to_owned()),
        }
    }

    /// A field with the locale and channel its value is for: `Description (en_US · web)`.
    pub(in crate::web::ui) fn scoped_field(
        &self,
        field: &str,
        locale: Option<&str>,
        channel: Option<&str>,
    ) -> String {
        let scope: Vec<&str> = [locale, channel].into_iter().flatten().collect();
        if scope.is_empty() {
            self.field(field)
        } else {
            format!("{} ({})", self.field(field), scope.join(" · "))
        }
    }

    /// An option's label (`blue` → `Blue`).
    pub(in crate::web::ui) fn option(&self, attribute: &Attribute, code: &str) -> String {
        attribute
            .options
            .iter()
            .find(|o| o.code == code)
            .map_or_else(|| code.to_owned(), |o| self.pick(&o.labels, code))
    }

    /// A family's label.
    pub(in crate::web::ui) fn family(&self, code: &str) -> String {
        self.schema
            .family(code)
            .map_or_else(|| code.to_owned(), |f| self.pick(&f.labels, code))
    }

    /// A locale's name (`en_US` → `English (US)`).
    pub(in crate::web::ui) fn locale(&self, code: &str) -> String {
        self.schema
            .locales
            .iter()
            .find(|l| l.code == code && !l.label.is_empty())
            .map_or_else(|| code.to_owned(), |l| l.label.clone())
    }

    /// A channel's label.
    pub(in crate::web::ui) fn channel(&self, code: &str) -> String {
        self.schema
            .channel(code)
            .map_or_else(|| code.to_owned(), |c| self.pick(&c.labels, code))
    }

    /// A category's label.
    pub(in crate::web::ui) fn category(&self, code: &str) -> String {
        self.schema
            .category(code)
            .map_or_else(|| code.to_owned(), |c| self.pick(&c.labels, code))
    }

    /// A variant's axis values: `Color: Blue, Size: L`.
    pub(in crate::web::ui) fn axes(&self, family: &Family, values: &Values) -> String {
        family
            .variant_axes
            .iter()
            .map(|axis| {
                let data = values.get(&crate::catalog::product::ValueKey::new(axis, None, None));
                format!("{}: {}", self.field(axis), self.brief(axis, data))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A value in full as people read it; `None` when there is no value.
    /// Rich text comes back as plain text (tags stripped).
    pub(in crate::web::ui) fn text(&self, field: &str, data: Option<&Json>) -> Option<String> {
        let data = data.filter(|d| !d.is_null())?;
        let list = |items: Vec<String>| items.join(", ");
        let strings = || -> Vec<&str> {
            data.as_array()
                .map(|items| items.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default()
        };
        let structural = match field {
            "enabled" => data.as_bool().map(yes_no),
            "family" => data.as_str().map(|code| self.family(code)),
            "categories" => Some(list(
                strings().into_iter().map(|c| self.category(c)).collect(),
            )),
            _ => None,
        };
        if let Some(text) = structural {
            return Some(text);
        }
        let attribute = self.schema.attribute(field);
        Some(match (attribute.map(|a| a.kind), data) {
            (Some(AttributeType::Select), Json::String(code)) => {
                attribute.map_or_else(|| code.clone(), |a| self.option(a, code))
            }
            (Some(AttributeType::Multiselect), Json::Array(_)) => list(
                strings()
                    .into_iter()
                    .map(|code| attribute.map_or_else(|| code.to_owned(), |a| self.option(a, code)))
                    .collect(),
            ),
            (Some(AttributeType::Textarea), Json::String(rich)) => html::to_text(rich),
            (_, Json::String(text)) => text.clone(),
            (_, Json::Bool(b)) => yes_no(*b),
            (_, Json::Number(number)) => number.to_string(),
            (_, Json::Array(items)) if items.iter().all(|i| i.get("currency").is_some()) => list(
                items
                    .iter()
                    .map(|i| format!("{} {}", scalar(&i["amount"]), scalar(&i["currency"])))
                    .collect(),
            ),
            (_, Json::Object(map)) if map.contains_key("unit") => {
                let unit = map.get("unit").and_then(Json::as_str).unwrap_or("");
                format!(
                    "{} {}",
                    map.get("amount").map(scalar).unwrap_or_default(),
                    units::symbol(unit).unwrap_or(unit)
                )
            }
            (_, Json::Array(items)) => list(items.iter().map(scalar).collect()),
            (_, other) => other.to_string(),
        })
    }

    /// A value cut short for a history or conflict row; `—` for none.
    pub(in crate::web::ui) fn brief(&self, field: &str, data: Option<&Json>) -> String {
        match self.text(field, data) {
            None => "—".to_owned(),
            Some(text) if text.chars().count() > BRIEF_CHARS => {
                let mut cut: String = text.chars().take(BRIEF_CHARS).collect();
                cut.push('…');
                cut
            }
            Some(text) => text,
        }
    }

    /// For a rich-text field, the word diff of its raw HTML, shown on demand
    /// beside the diff of the text people read.
    pub(in crate::web::ui) fn html_diff(
        &self,
        field: &str,
        before: Option<&Json>,
        after: Option<&Json>,
    ) -> Option<HtmlDiff> {
        if !self.is_rich(field) {
            return None;
        }
        let raw = |data: Option<&Json>| data.and_then(Json::as_str).unwrap_or("").to_owned();
        let (raw_before, raw_after) = (raw(before), raw(after));
        let (before_segments, after_segments) = word_diff(&raw_before, &raw_after);
        Some(HtmlDiff {
            // Same text, other markup: a changed link target or formatting
            // that the text diff cannot show, so the HTML is shown at once.
            markup_only: raw_before != raw_after
                && html::to_text(&raw_before) == html::to_text(&raw_after),
            before: before_segments,
            after: after_segments,
        })
    }

    /// Whether the field holds HTML (a textarea attribute).
    pub(in crate::web::ui) fn is_rich(&self, field: &str) -> bool {
        self.schema
            .attribute(field)
            .is_some_and(|a| a.kind == AttributeType::Textarea)
    }
}

/// The raw HTML of a rich-text change, word by word.
pub(in crate::web::ui) struct HtmlDiff {
    pub(in crate::web::ui) before: Vec<Segment>,
    pub(in crate::web::ui) after: Vec<Segment>,
    /// The text reads the same; only links or formatting changed.
    pub(in crate::web::ui) markup_only: bool,
}

fn yes_no(value: bool) -> String {
    if value { "Yes" } else { "No" }.to_owned()
}

/// A JSON scalar as text (a string without its quotes).
fn scalar(value: &Json) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// Rich text made safe to render as HTML (`|safe` in a template): only the
/// tags a textarea value may keep survive, scripts and event handlers go.
pub(in crate::web::ui) fn safe_html(rich: &str) -> String {
    html::sanitize(rich)
}
