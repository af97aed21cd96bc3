//! Products and their values, in the shape connectors know from Akeneo:
//! `"values": {"name": [{"locale": "en_US", "channel": null, "data": "…"}]}`.
//! A product's values are one JSON document per product row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::db::Timestamp;

/// Simple product, model (parent of variants) or variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Simple,
    Model,
    Variant,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Simple => "simple",
            ProductKind::Model => "model",
            ProductKind::Variant => "variant",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "simple" => Some(ProductKind::Simple),
            "model" => Some(ProductKind::Model),
            "variant" => Some(ProductKind::Variant),
            _ => None,
        }
    }
}

/// One value of an attribute, for a locale and a channel (either may be `None`).
/// Unknown keys are refused, so Akeneo's `scope` is not silently ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueEntry {
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    pub data: Json,
}

/// Where a value lives: attribute, locale, channel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ValueKey {
    pub attribute: String,
    pub locale: Option<String>,
    pub channel: Option<String>,
}

impl ValueKey {
    pub fn new(attribute: &str, locale: Option<&str>, channel: Option<&str>) -> Self {
        Self {
            attribute: attribute.to_owned(),
            locale: locale.map(str::to_owned),
            channel: channel.map(str::to_owned),
        }
    }
}

impl std::fmt::Display for ValueKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.attribute)?;
        if let Some(locale) = &self.locale {
            write!(f, " [{locale}]")?;
        }
        if let Some(channel) = &self.channel {
            write!(f, " @{channel}")?;
        }
        Ok(())
    }
}

/// A product's values: attribute code → entries. Kept sorted so the same
/// values always serialize to the same bytes (diffs and hashes rely on it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Values(pub BTreeMap<String, Vec<ValueEntry>>);

impl Values {
    pub fn get(&self, key: &ValueKey) -> Option<&Json> {
        self.0.get(&key.attribute)?.iter().find_map(|entry| {
            (entry.locale == key.locale && entry.channel == key.channel).then_some(&entry.data)
        })
    }

    /// Sets (or with `None`, removes) one value; entries stay sorted by locale and channel.
    pub fn set(&mut self, key: &ValueKey, data: Option<Json>) {
        let entries = self.0.entry(key.attribute.clone()).or_default();
        entries.retain(|entry| !(entry.locale == key.locale && entry.channel == key.channel));
        if let Some(data) = data {
            entries.push(ValueEntry {
                locale: key.locale.clone(),
                channel: key.channel.clone(),
                data,
            });
            entries.sort_by(|a, b| (&a.locale, &a.channel).cmp(&(&b.locale, &b.channel)));
        }
        if entries.is_empty() {
            self.0.remove(&key.attribute);
        }
    }

    /// Every (key, data) pair.
    pub fn iter(&self) -> impl Iterator<Item = (ValueKey, &Json)> {
        self.0.iter().flat_map(|(attribute, entries)| {
            entries.iter().map(move |entry| {
                (
                    ValueKey {
                        attribute: attribute.clone(),
                        locale: entry.locale.clone(),
                        channel: entry.channel.clone(),
                    },
                    &entry.data,
                )
            })
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A product as stored: identity, structure and its own values (a variant's
/// inherited values stay on its model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    #[serde(skip)]
    pub id: i64,
    pub sku: String,
    pub kind: ProductKind,
    pub family: String,
    pub parent: Option<String>,
    pub enabled: bool,
    pub categories: Vec<String>,
    pub values: Values,
    pub version: i64,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// The category codes a recorded `categories` field holds (none: no category).
pub fn category_codes(data: Option<&Json>) -> Vec<String> {
    data.and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
