//! schema.org JSON-LD for the `web` channel's preview.

use serde_json::{Map, Value as Json, json};

use super::view::ChannelView;
use crate::catalog::schema::{Channel, Schema};
use crate::publish::payload::Payload;

/// schema.org JSON-LD for the `web` channel's preview. One payload without
/// a group gives a `Product`; payloads of one model (those sharing the first
/// payload's `group_id`) give a `ProductGroup` with a `Product` per variant;
/// several simple payloads give an array of `Product`s; none gives `null`.
pub fn json_ld(schema: &Schema, channel: &Channel, payloads: &[Payload]) -> Json {
    let view = ChannelView::new(schema, channel);
    let Some(first) = payloads.first() else {
        return Json::Null;
    };
    let Some(group) = first.group_id.as_deref() else {
        let mut products = payloads.iter().map(|payload| {
            let mut product = Map::new();
            product.insert("@context".into(), json!("https://schema.org"));
            product.extend(product_ld(&view, payload));
            Json::Object(product)
        });
        return match payloads.len() {
            1 => products.next().unwrap_or(Json::Null),
            _ => Json::Array(products.collect()),
        };
    };
    let variants: Vec<&Payload> = payloads
        .iter()
        .filter(|p| p.group_id.as_deref() == Some(group))
        .collect();
    let mut out = Map::new();
    out.insert("@context".into(), json!("https://schema.org"));
    out.insert("@type".into(), json!("ProductGroup"));
    out.insert("productGroupID".into(), json!(group));
    // The model's name, description and brand reach every variant's payload.
    put(&mut out, "name", view.text(first, "title"));
    put(&mut out, "description", view.plain_description(first));
    put_images(&mut out, first);
    if let Some(brand) = view.text(first, "brand") {
        out.insert("brand".into(), json!({"@type": "Brand", "name": brand}));
    }
    let varies_by: Vec<Json> = first
        .axes
        .iter()
        .map(|(code, _)| match code.as_str() {
            "color" => json!("https://schema.org/color"),
            code if code.contains("size") => json!("https://schema.org/size"),
            code => json!(code),
        })
        .collect();
    out.insert("variesBy".into(), Json::Array(varies_by));
    let has_variant = variants
        .iter()
        .map(|payload| Json::Object(product_ld(&view, payload)))
        .collect();
    out.insert("hasVariant".into(), Json::Array(has_variant));
    Json::Object(out)
}

/// One `Product` (without `@context`, so it can sit inside a group).
pub(super) fn product_ld(view: &ChannelView<'_>, payload: &Payload) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert("@type".into(), json!("Product"));
    put(&mut out, "name", view.text(payload, "title"));
    put(&mut out, "description", view.plain_description(payload));
    put_images(&mut out, payload);
    out.insert("sku".into(), json!(payload.sku));
    if let Some(gtin) = view.text(payload, "gtin") {
        let key = match gtin.len() {
            8 => "gtin8",
            12 => "gtin12",
            13 => "gtin13",
            14 => "gtin14",
            _ => "gtin",
        };
        out.insert(key.into(), json!(gtin));
    }
    put(&mut out, "mpn", view.text(payload, "mpn"));
    if let Some(brand) = view.text(payload, "brand") {
        out.insert("brand".into(), json!({"@type": "Brand", "name": brand}));
    }
    if let Some(group) = &payload.group_id {
        out.insert("inProductGroupWithID".into(), json!(group));
        // The variant's own value for each axis that the group varies by.
        let mut other = Vec::new();
        for (code, name, value) in view.axes(payload) {
            match code {
                "color" => put(&mut out, "color", Some(value)),
                code if code.contains("size") => put(&mut out, "size", Some(value)),
                _ => other.push(json!({"@type": "PropertyValue", "name": name, "value": value})),
            }
        }
        if !other.is_empty() {
            out.insert("additionalProperty".into(), Json::Array(other));
        }
    }
    let (price, sale) = view.prices(payload);
    // The offer's price is what the buyer pays: the sale price when there is one.
    if let Some(money) = sale.or(price) {
        let availability = match payload.availability.as_str() {
            "in_stock" => "https://schema.org/InStock",
            _ => "https://schema.org/OutOfStock",
        };
        let mut offer = Map::new();
        offer.insert("@type".into(), json!("Offer"));
        offer.insert("price".into(), json!(view.amount(&money)));
        offer.insert("priceCurrency".into(), json!(money.currency));
        offer.insert("availability".into(), json!(availability));
        offer.insert(
            "itemCondition".into(),
            json!("https://schema.org/NewCondition"),
        );
        put(&mut offer, "url", view.link(payload));
        out.insert("offers".into(), Json::Object(offer));
    }
    out
}

/// `image`: the payload's image URLs, when it has any.
fn put_images(map: &mut Map<String, Json>, payload: &Payload) {
    if !payload.images.is_empty() {
        let urls = payload
            .images
            .iter()
            .map(|image| json!(image.url))
            .collect();
        map.insert("image".into(), Json::Array(urls));
    }
}

pub(super) fn put(map: &mut Map<String, Json>, key: &str, value: Option<String>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), Json::String(value));
    }
}
