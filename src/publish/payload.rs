//! The channel payload: what a channel receives for one sellable unit (a
//! simple product or a variant), built from master values only. Values are
//! resolved for the channel: channel-specific over global, only the
//! channel's locales, prices only in its currencies, measurements in its
//! units. Rendered once at publish time and stored as bytes, so feeds and
//! exports read it back instead of rebuilding it.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::images::{self, LinkedAssets, PayloadImage};
use super::on_channel::{channel_link, resolve};
use crate::catalog::product::{Product, Values};
use crate::catalog::schema::{AttributeType, Channel, Schema};
use crate::catalog::units;

/// Digits kept after a unit conversion that does not terminate (GRAM → OUNCE).
const CONVERTED_DECIMALS: u32 = 4;

/// One resolved value: its locale (for localizable attributes) and data in
/// the product contract's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadValue {
    pub locale: Option<String>,
    pub data: Json,
}

/// A channel-ready product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub sku: String,
    /// `simple` or `variant`.
    pub kind: String,
    /// The model's SKU for a variant (Google's item_group_id, Shopify's handle).
    pub group_id: Option<String>,
    /// Axis attribute → option code, in the family's axis order.
    pub axes: Vec<(String, String)>,
    pub family: String,
    /// The product's categories and, for a variant, its model's.
    pub categories: Vec<String>,
    /// Channel locale → absolute product URL from the channel's template.
    pub links: BTreeMap<String, String>,
    /// `in_stock` or `out_of_stock`, from the mapped stock attribute.
    pub availability: String,
    /// The channel's image links: the mapped images attribute's approved
    /// images, in order, as absolute URLs of the channel's rendition preset.
    /// Left out when there are none (payloads without images keep their bytes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PayloadImage>,
    pub values: BTreeMap<String, Vec<PayloadValue>>,
}

impl Payload {
    /// The stored bytes: compact JSON in a fixed field order.
    pub fn to_bytes(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The first value of `attribute` for `locale` (or the unlocalized one).
    pub fn value(&self, attribute: &str, locale: &str) -> Option<&Json> {
        let entries = self.values.get(attribute)?;
        entries
            .iter()
            .find(|v| v.locale.as_deref() == Some(locale))
            .or_else(|| entries.iter().find(|v| v.locale.is_none()))
            .map(|v| &v.data)
    }
}

/// SHA-256 of the payload bytes: equal hashes mean nothing to publish.
pub fn hash(bytes: &str) -> String {
    hex::encode(Sha256::digest(bytes.as_bytes()))
}

/// Builds the payload of a simple product or variant from `values` (a
/// variant's merged with its model's); `linked` knows the assets they link.
pub fn build(
    schema: &Schema,
    channel: &Channel,
    product: &Product,
    model: Option<&Product>,
    values: &Values,
    linked: &LinkedAssets,
) -> Payload {
    let family = schema.family(&product.family);
    let axes = family
        .map(|f| {
            f.variant_axes
                .iter()
                .filter_map(|axis| {
                    let code = resolve(values, axis, None, &channel.code)?.as_str()?;
                    Some((axis.clone(), code.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut categories: Vec<String> = product.categories.clone();
    if let Some(model) = model {
        for category in &model.categories {
            if !categories.contains(category) {
                categories.push(category.clone());
            }
        }
    }
    let links = channel
        .locales
        .iter()
        .filter(|_| !channel.url_template.is_empty())
        .map(|locale| (locale.clone(), channel_link(channel, &product.sku, locale)))
        .collect();
    let mut resolved: BTreeMap<String, Vec<PayloadValue>> = BTreeMap::new();
    for code in values.0.keys() {
        if let Some(entries) = resolve_attribute(schema, channel, code, values, linked) {
            resolved.insert(code.clone(), entries);
        }
    }
    let availability = availability(channel, &resolved);
    let images = channel_images(schema, channel, values, linked);
    Payload {
        sku: product.sku.clone(),
        kind: product.kind.as_str().to_owned(),
        group_id: model.map(|m| m.sku.clone()),
        axes,
        family: product.family.clone(),
        categories,
        links,
        availability,
        images,
        values: resolved,
    }
}

/// The channel's image links from its mapped images attribute, in the
/// channel's first locale when the attribute is localizable.
fn channel_images(
    schema: &Schema,
    channel: &Channel,
    values: &Values,
    linked: &LinkedAssets,
) -> Vec<PayloadImage> {
    let Some(attribute) = channel
        .mapping
        .attribute("images")
        .and_then(|code| schema.attribute(code))
        .filter(|a| a.kind == AttributeType::Assets)
    else {
        return Vec::new();
    };
    let locale = attribute
        .localizable
        .then(|| channel.locales.first().map(String::as_str))
        .flatten();
    resolve(values, &attribute.code, locale, &channel.code)
        .map(|data| images::links(schema, channel, &attribute.validation, data, linked))
        .unwrap_or_default()
}

/// One attribute's values as the channel gets them: its locales only,
/// channel-specific over global, converted; `None` when nothing applies.
fn resolve_attribute(
    schema: &Schema,
    channel: &Channel,
    code: &str,
    values: &Values,
    linked: &LinkedAssets,
) -> Option<Vec<PayloadValue>> {
    let attribute = schema.attribute(code)?;
    let entries = values.0.get(code)?;
    let locales: Vec<Option<&str>> = if attribute.localizable {
        channel.locales.iter().map(|l| Some(l.as_str())).collect()
    } else {
        vec![None]
    };
    let mut out = Vec::new();
    for locale in locales {
        if !entries.iter().any(|e| e.locale.as_deref() == locale) {
            continue;
        }
        let Some(data) = resolve(values, code, locale, &channel.code) else {
            continue;
        };
        if let Some(data) = for_channel(attribute.kind, channel, data, linked) {
            out.push(PayloadValue {
                locale: locale.map(str::to_owned),
                data,
            });
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `in_stock` when the mapped stock attribute is above zero.
fn availability(channel: &Channel, values: &BTreeMap<String, Vec<PayloadValue>>) -> String {
    let in_stock = channel
        .mapping
        .attribute("stock")
        .and_then(|code| values.get(code))
        .and_then(|entries| entries.first())
        .and_then(|entry| decimal_of(&entry.data))
        .is_some_and(|stock| stock > Decimal::ZERO);
    if in_stock { "in_stock" } else { "out_of_stock" }.to_owned()
}

fn decimal_of(data: &Json) -> Option<Decimal> {
    match data {
        Json::String(text) => text.parse().ok(),
        Json::Number(number) => number.to_string().parse().ok(),
        _ => None,
    }
}

/// A value as the channel wants it: prices in its currencies, measurements
/// in its units, assets only approved ones. `None` drops it (a price with
/// none of the channel's currencies, assets none of which is approved).
fn for_channel(
    kind: AttributeType,
    channel: &Channel,
    data: &Json,
    linked: &LinkedAssets,
) -> Option<Json> {
    match kind {
        AttributeType::Assets => images::approved_only(data, linked),
        AttributeType::Price => {
            let kept: Vec<Json> = data
                .as_array()?
                .iter()
                .filter(|entry| {
                    entry
                        .get("currency")
                        .and_then(Json::as_str)
                        .is_some_and(|c| channel.currencies.iter().any(|cc| cc == c))
                })
                .cloned()
                .collect();
            (!kept.is_empty()).then_some(Json::Array(kept))
        }
        AttributeType::Measurement => {
            let amount = data.get("amount").and_then(decimal_of)?;
            let unit = data.get("unit")?.as_str()?;
            let family = units::unit_family(unit)?;
            let Some(target) = channel.units.get(family.as_str()) else {
                return Some(data.clone());
            };
            let converted =
                units::convert_rounded(amount, unit, target, CONVERTED_DECIMALS).ok()?;
            Some(json!({"amount": converted.to_string(), "unit": target}))
        }
        _ => Some(data.clone()),
    }
}

/// A held product's payload: its last good payload with the current
/// fast-lane values laid over it, so price and stock keep flowing while
/// content waits (DESIGN rule 5). A fast-lane value removed from master
/// keeps its last good value: a feed never loses its price this way. An
/// asset of the snapshot that is no longer approved (rejected since) leaves
/// it: a rejected image never stays in a feed.
pub fn overlay_fast_lane(
    schema: &Schema,
    channel: &Channel,
    good: &Payload,
    current: &Values,
    linked: &LinkedAssets,
) -> Payload {
    use crate::catalog::schema::Lane;
    let mut out = good.clone();
    for attribute in schema.attributes.iter().filter(|a| a.lane == Lane::Fast) {
        if let Some(entries) = resolve_attribute(schema, channel, &attribute.code, current, linked)
        {
            out.values.insert(attribute.code.clone(), entries);
        }
    }
    out.images
        .retain(|image| still_approved(&image.asset, linked));
    for attribute in schema
        .attributes
        .iter()
        .filter(|a| a.kind == AttributeType::Assets)
    {
        if let Some(entries) = out.values.get_mut(&attribute.code) {
            for entry in entries.iter_mut() {
                if let Json::Array(ids) = &mut entry.data {
                    ids.retain(|id| id.as_str().is_some_and(|id| still_approved(id, linked)));
                }
            }
            entries.retain(|e| e.data.as_array().is_none_or(|ids| !ids.is_empty()));
            if entries.is_empty() {
                out.values.remove(&attribute.code);
            }
        }
    }
    out.availability = availability(channel, &out.values);
    out
}

/// An asset of a held snapshot stays while it is approved; one whose facts
/// were not loaded is kept (the publisher loads the facts of every asset a
/// held snapshot names, so this is only a caller that did not).
fn still_approved(id: &str, linked: &LinkedAssets) -> bool {
    linked
        .get(id)
        .is_some_and(|f| f.status == crate::media::assets::AssetStatus::Approved)
}

/// The asset ids a stored payload names (its image links and assets
/// values), read without parsing the rest: the publisher loads their facts
/// for held products.
pub fn asset_ids_in(bytes: &str, schema: &Schema, out: &mut std::collections::BTreeSet<String>) {
    if !bytes.contains("\"images\":")
        && !schema.attributes.iter().any(|a| {
            a.kind == AttributeType::Assets && bytes.contains(&format!("\"{}\":[", a.code))
        })
    {
        return;
    }
    let Ok(payload) = serde_json::from_str::<Payload>(bytes) else {
        return;
    };
    out.extend(payload.images.into_iter().map(|i| i.asset));
    for attribute in schema
        .attributes
        .iter()
        .filter(|a| a.kind == AttributeType::Assets)
    {
        for entry in payload.values.get(&attribute.code).into_iter().flatten() {
            out.extend(images::ids_of(&entry.data).into_iter().map(str::to_owned));
        }
    }
}
