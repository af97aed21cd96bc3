//! Google Merchant: RSS 2.0 and TSV, and the item's fields that readiness
//! checks Google's limits on.

use rust_decimal::Decimal;

use super::view::{ChannelView, Money, label_in};
use crate::catalog::schema::{Channel, Schema};
use crate::catalog::units;
use crate::publish::payload::Payload;

/// Google's limit on `additional_image_link` values (FORMATS.md).
pub const MAX_ADDITIONAL_IMAGES: usize = 10;

/// Google's attributes in feed order: the TSV header and the XML element order.
pub const GOOGLE_FIELDS: [&str; 21] = [
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "availability",
    "price",
    "sale_price",
    "brand",
    "gtin",
    "mpn",
    "condition",
    "item_group_id",
    "color",
    "size",
    "gender",
    "age_group",
    "shipping_weight",
    "product_type",
    "google_product_category",
];

/// The Google item for a payload as (attribute, value) pairs: what the XML
/// and TSV exports write, and what readiness checks Google's limits on.
pub fn google_fields(
    schema: &Schema,
    channel: &Channel,
    payload: &Payload,
) -> Vec<(&'static str, String)> {
    google_item(&ChannelView::new(schema, channel), payload)
}

/// One Google item as (attribute, value) pairs in [`GOOGLE_FIELDS`] order,
/// empty values left out. `additional_image_link` may repeat (up to 10).
pub(super) fn google_item(
    view: &ChannelView<'_>,
    payload: &Payload,
) -> Vec<(&'static str, String)> {
    let mut item = Vec::new();
    let mut push = |field: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            item.push((field, value));
        }
    };
    push("id", Some(payload.sku.clone()));
    push("title", view.text(payload, "title"));
    push("description", view.plain_description(payload));
    push("link", view.link(payload));
    // The first image is the main one; Google takes up to 10 more.
    let mut images = payload.images.iter().map(|image| image.url.clone());
    push("image_link", images.next());
    for url in images.take(MAX_ADDITIONAL_IMAGES) {
        push("additional_image_link", Some(url));
    }
    push("availability", Some(payload.availability.clone()));
    let (price, sale) = view.prices(payload);
    let google_money = |money: &Money| format!("{} {}", view.amount(money), money.currency);
    push("price", price.as_ref().map(google_money));
    push("sale_price", sale.as_ref().map(google_money));
    push("brand", view.text(payload, "brand"));
    push("gtin", view.text(payload, "gtin"));
    push("mpn", view.text(payload, "mpn"));
    push("condition", Some("new".to_owned()));
    push("item_group_id", payload.group_id.clone());
    let axes = view.axes(payload);
    let axis = |wanted: fn(&str) -> bool| {
        axes.iter()
            .find(|(code, _, _)| wanted(code))
            .map(|(_, _, option)| option.clone())
    };
    push("color", axis(|code| code == "color"));
    push("size", axis(|code| code.contains("size")));
    // Google accepts only its own codes here (`male`, `adult`…), which the
    // option codes are; labels would be translated.
    push("gender", view.code(payload, "gender"));
    push("age_group", view.code(payload, "age_group"));
    push(
        "shipping_weight",
        view.weight(payload)
            .and_then(|(amount, unit)| google_weight(amount, &unit)),
    );
    push(
        "product_type",
        payload
            .categories
            .first()
            .map(|code| view.category_path(code).join(" > ")),
    );
    push(
        "google_product_category",
        view.text(payload, "google_product_category"),
    );
    item
}

/// `1.25 kg`: Google knows kg, g, lb and oz; other units become kg.
pub(super) fn google_weight(amount: Decimal, unit: &str) -> Option<String> {
    let (amount, short) = match unit {
        "KILOGRAM" => (amount, "kg"),
        "GRAM" => (amount, "g"),
        "POUND" => (amount, "lb"),
        "OUNCE" => (amount, "oz"),
        other => (units::convert(amount, other, "KILOGRAM").ok()?, "kg"),
    };
    Some(format!("{} {short}", amount.normalize()))
}

/// The XML declaration, `<rss>` and the `<channel>` element's own fields.
pub fn google_xml_header(channel: &Channel) -> String {
    let locale = channel.locales.first().map_or("", String::as_str);
    let title = label_in(&channel.labels, locale).unwrap_or(&channel.code);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <rss version=\"2.0\" xmlns:g=\"http://base.google.com/ns/1.0\">\n\
         <channel>\n\
         <title>{}</title>\n\
         <link>{}</link>\n\
         <description>{}</description>\n",
        xml_text(title),
        xml_text(&site_url(channel, locale)),
        xml_text(&format!("Products of the {} channel", channel.code)),
    )
}

/// One `<item>` with `g:` elements.
pub fn google_xml_item(schema: &Schema, channel: &Channel, payload: &Payload) -> String {
    let view = ChannelView::new(schema, channel);
    let mut out = String::from("<item>\n");
    for (field, value) in google_item(&view, payload) {
        out.push_str(&format!("  <g:{field}>{}</g:{field}>\n", xml_text(&value)));
    }
    out.push_str("</item>\n");
    out
}

pub fn google_xml_footer() -> &'static str {
    "</channel>\n</rss>\n"
}

/// The shop's address (scheme and host of the channel's URL template), for
/// the RSS `<link>` that names the site rather than a product.
pub(super) fn site_url(channel: &Channel, locale: &str) -> String {
    let sample = channel
        .url_template
        .replace("{sku}", "sku")
        .replace("{locale}", locale);
    url::Url::parse(&sample)
        .map(|url| url.origin().ascii_serialization())
        .ok()
        .filter(|origin| origin != "null")
        .unwrap_or_default()
}

/// Text escaped for XML. Control characters XML 1.0 cannot hold at all,
/// not even escaped, are dropped so one bad value cannot break the feed.
pub(super) fn xml_text(text: &str) -> String {
    let allowed = |c: &char| !matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}');
    let clean: String = text.chars().filter(allowed).collect();
    quick_xml::escape::escape(clean.as_str()).into_owned()
}

/// The header row: [`GOOGLE_FIELDS`] joined by tabs.
pub fn google_tsv_header() -> String {
    let mut row = GOOGLE_FIELDS.join("\t");
    row.push('\n');
    row
}

/// One TSV row, a column per [`GOOGLE_FIELDS`] entry. Google's TSV has no
/// quoting, so every run of tabs, line feeds and carriage returns inside a
/// value becomes one space (a description's paragraphs join into one line).
/// Additional image links are joined by commas, a comma inside a URL as `%2C`.
pub fn google_tsv_row(schema: &Schema, channel: &Channel, payload: &Payload) -> String {
    let view = ChannelView::new(schema, channel);
    let item = google_item(&view, payload);
    let cells: Vec<String> = GOOGLE_FIELDS
        .iter()
        .map(|field| {
            let values = item.iter().filter(|(f, _)| f == field).map(|(_, v)| {
                if *field == "additional_image_link" {
                    v.replace(',', "%2C")
                } else {
                    v.clone()
                }
            });
            tsv_cell(&values.collect::<Vec<_>>().join(","))
        })
        .collect();
    let mut row = cells.join("\t");
    row.push('\n');
    row
}

pub(super) fn tsv_cell(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_break = false;
    for c in value.chars() {
        if matches!(c, '\t' | '\n' | '\r') {
            if !in_break {
                out.push(' ');
            }
            in_break = true;
        } else {
            out.push(c);
            in_break = false;
        }
    }
    out
}
