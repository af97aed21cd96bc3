//! Channel formats: how stored [`Payload`]s are written for a channel —
//! Google Merchant RSS 2.0 and TSV, Shopify product CSV, schema.org JSON-LD
//! and JSON Lines. Pure (no database, no HTTP) and streaming: each function
//! renders one item, headers and footers are separate, so a feed of thousands
//! of stored payloads is written without building the whole document.
//!
//! A feed file is in one language and one currency: the channel's first
//! locale and first currency. Image fields stay empty until media (asset
//! URLs) exist; payloads only carry asset ids so far.

use std::io::{self, Write};

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value as Json, json};

use super::payload::Payload;
use crate::catalog::html;
use crate::catalog::schema::{Attribute, Channel, Labels, OutputFormat, Schema};
use crate::catalog::units;

/// The file formats an export can be downloaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One compact payload JSON per line.
    Jsonl,
    /// Google Merchant RSS 2.0.
    GoogleXml,
    /// Google Merchant tab-separated values.
    GoogleTsv,
    /// Shopify's product CSV.
    ShopifyCsv,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Jsonl,
        ExportFormat::GoogleXml,
        ExportFormat::GoogleTsv,
        ExportFormat::ShopifyCsv,
    ];

    /// The name used in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::GoogleXml => "xml",
            ExportFormat::GoogleTsv => "tsv",
            ExportFormat::ShopifyCsv => "shopify",
        }
    }

    /// `jsonl`, `xml`, `tsv` or `shopify`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// The format a channel's feed is rendered in, for when none is asked for.
    pub fn for_channel(channel: &Channel) -> Self {
        match channel.output_format {
            OutputFormat::Json => ExportFormat::Jsonl,
            OutputFormat::GoogleMerchant => ExportFormat::GoogleXml,
            OutputFormat::ShopifyCsv => ExportFormat::ShopifyCsv,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "application/x-ndjson",
            ExportFormat::GoogleXml => "application/xml; charset=utf-8",
            ExportFormat::GoogleTsv => "text/tab-separated-values; charset=utf-8",
            ExportFormat::ShopifyCsv => "text/csv; charset=utf-8",
        }
    }

    /// The download's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "export.jsonl",
            ExportFormat::GoogleXml => "export.xml",
            ExportFormat::GoogleTsv => "export.tsv",
            ExportFormat::ShopifyCsv => "shopify.csv",
        }
    }
}

/// Writes one channel's payloads in one format, a piece at a time:
/// `header()`, then `item()` per payload (variants grouped by model), then
/// `footer()`. HTTP handlers and the CLI stream the pieces as they come.
pub struct Exporter<'a> {
    schema: &'a Schema,
    channel: &'a Channel,
    format: ExportFormat,
    shopify: ShopifyWriter,
}

impl<'a> Exporter<'a> {
    pub fn new(schema: &'a Schema, channel: &'a Channel, format: ExportFormat) -> Self {
        Self {
            schema,
            channel,
            format,
            shopify: ShopifyWriter::new(),
        }
    }

    pub fn format(&self) -> ExportFormat {
        self.format
    }

    pub fn header(&self) -> Vec<u8> {
        match self.format {
            ExportFormat::Jsonl => Vec::new(),
            ExportFormat::GoogleXml => google_xml_header(self.channel).into_bytes(),
            ExportFormat::GoogleTsv => google_tsv_header().into_bytes(),
            ExportFormat::ShopifyCsv => {
                let mut out = Vec::new();
                // Writing to a Vec cannot fail.
                let _ = ShopifyWriter::write_header(&mut out);
                out
            }
        }
    }

    pub fn item(&mut self, payload: &Payload) -> Vec<u8> {
        match self.format {
            ExportFormat::Jsonl => {
                let mut line = payload.to_bytes().into_bytes();
                line.push(b'\n');
                line
            }
            ExportFormat::GoogleXml => {
                google_xml_item(self.schema, self.channel, payload).into_bytes()
            }
            ExportFormat::GoogleTsv => {
                google_tsv_row(self.schema, self.channel, payload).into_bytes()
            }
            ExportFormat::ShopifyCsv => {
                let mut out = Vec::new();
                // Writing to a Vec cannot fail.
                let _ = self
                    .shopify
                    .write_row(&mut out, self.schema, self.channel, payload);
                out
            }
        }
    }

    pub fn footer(&self) -> Vec<u8> {
        match self.format {
            ExportFormat::GoogleXml => google_xml_footer().as_bytes().to_vec(),
            _ => Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Reading a payload the way channels want it
// ---------------------------------------------------------------------------

/// The channel as its formats see it: its first locale and first currency.
struct ChannelView<'a> {
    schema: &'a Schema,
    channel: &'a Channel,
    locale: &'a str,
    currency: Option<&'a str>,
}

/// A price in the channel's currency.
struct Money {
    amount: Decimal,
    currency: String,
}

impl<'a> ChannelView<'a> {
    fn new(schema: &'a Schema, channel: &'a Channel) -> Self {
        Self {
            schema,
            channel,
            // Without a locale, `Payload::value` still finds unlocalized values.
            locale: channel.locales.first().map_or("", String::as_str),
            currency: channel.currencies.first().map(String::as_str),
        }
    }

    /// The value of the attribute mapped to `field`, with that attribute
    /// (`None` for an attribute the schema no longer has).
    fn mapped<'p>(
        &self,
        payload: &'p Payload,
        field: &str,
    ) -> Option<(Option<&'a Attribute>, &'p Json)> {
        let code = self.channel.mapping.attribute(field)?;
        let data = payload.value(code, self.locale)?;
        Some((self.schema.attribute(code), data))
    }

    /// `field`'s value as people read it (option labels for selects);
    /// `None` when missing or blank.
    fn text(&self, payload: &Payload, field: &str) -> Option<String> {
        let (attribute, data) = self.mapped(payload, field)?;
        let label = |code: &str| match attribute {
            Some(attribute) => self.option_label(attribute, code),
            None => code.to_owned(),
        };
        let has_options = attribute.is_some_and(|a| a.kind.has_options());
        let text = match data {
            Json::String(code) if has_options => label(code),
            Json::String(text) => text.clone(),
            Json::Number(number) => number.to_string(),
            Json::Bool(flag) => flag.to_string(),
            Json::Array(codes) if has_options => codes
                .iter()
                .filter_map(Json::as_str)
                .map(label)
                .collect::<Vec<_>>()
                .join(", "),
            _ => return None,
        };
        (!text.trim().is_empty()).then_some(text)
    }

    /// `field`'s raw option code or text, for fields whose values are fixed
    /// codes on the channel's side (Google's `gender`, `age_group`).
    fn code(&self, payload: &Payload, field: &str) -> Option<String> {
        let (_, data) = self.mapped(payload, field)?;
        data.as_str()
            .filter(|code| !code.is_empty())
            .map(str::to_owned)
    }

    /// The description as plain text (the stored value is sanitized HTML).
    fn plain_description(&self, payload: &Payload) -> Option<String> {
        let text = html::to_text(&self.text(payload, "description")?);
        (!text.is_empty()).then_some(text)
    }

    fn option_label(&self, attribute: &Attribute, code: &str) -> String {
        attribute
            .options
            .iter()
            .find(|o| o.code == code)
            .and_then(|o| label_in(&o.labels, self.locale))
            .unwrap_or(code)
            .to_owned()
    }

    /// The product URL in the channel's locale.
    fn link(&self, payload: &Payload) -> Option<String> {
        payload
            .links
            .get(self.locale)
            .or_else(|| payload.links.values().next())
            .cloned()
    }

    /// The mapped price attribute's amount in the channel's first currency.
    fn money(&self, payload: &Payload, field: &str) -> Option<Money> {
        let (_, data) = self.mapped(payload, field)?;
        let entries = data.as_array()?;
        let entry = match self.currency {
            Some(currency) => entries.iter().find(|e| currency_of(e) == Some(currency))?,
            None => entries.first()?,
        };
        Some(Money {
            amount: decimal(entry.get("amount")?)?,
            currency: currency_of(entry)?.to_owned(),
        })
    }

    /// (price, sale price). A sale price counts only when it is below the
    /// price: both Google and Shopify reject a "sale" that is not one.
    fn prices(&self, payload: &Payload) -> (Option<Money>, Option<Money>) {
        let price = self.money(payload, "price");
        let sale = self
            .money(payload, "sale_price")
            .filter(|sale| price.as_ref().is_some_and(|p| sale.amount < p.amount));
        (price, sale)
    }

    /// The amount with the currency's decimals: `15.00`.
    fn amount(&self, money: &Money) -> String {
        let decimals = self
            .schema
            .currency(&money.currency)
            .map_or(2, |c| c.decimals);
        fixed(money.amount, decimals)
    }

    /// The mapped weight as (amount, unit code).
    fn weight(&self, payload: &Payload) -> Option<(Decimal, String)> {
        let (_, data) = self.mapped(payload, "weight")?;
        let amount = decimal(data.get("amount")?)?;
        Some((amount, data.get("unit")?.as_str()?.to_owned()))
    }

    /// Each variant axis as (attribute code, attribute label, option label).
    fn axes<'p>(&self, payload: &'p Payload) -> Vec<(&'p str, String, String)> {
        payload
            .axes
            .iter()
            .map(|(code, option)| match self.schema.attribute(code) {
                Some(attribute) => (
                    code.as_str(),
                    attribute.label(self.locale).to_owned(),
                    self.option_label(attribute, option),
                ),
                None => (code.as_str(), code.clone(), option.clone()),
            })
            .collect()
    }

    /// A category's labels from its root down to it.
    fn category_path(&self, code: &str) -> Vec<String> {
        let mut path = Vec::new();
        let mut current = Some(code);
        // The length limit stops a parent cycle in a hand-edited schema.
        while let Some(at) = current
            && path.len() < 100
        {
            let category = self.schema.category(at);
            let label = category.and_then(|c| label_in(&c.labels, self.locale));
            path.push(label.unwrap_or(at).to_owned());
            current = category.and_then(|c| c.parent.as_deref());
        }
        path.reverse();
        path
    }

    fn category_label(&self, code: &str) -> String {
        self.schema
            .category(code)
            .and_then(|c| label_in(&c.labels, self.locale))
            .unwrap_or(code)
            .to_owned()
    }
}

/// A label in `locale`, else English (as `Attribute::label` does).
fn label_in<'l>(labels: &'l Labels, locale: &str) -> Option<&'l str> {
    labels
        .get(locale)
        .or_else(|| labels.get("en_US"))
        .map(String::as_str)
        .filter(|label| !label.is_empty())
}

fn currency_of(entry: &Json) -> Option<&str> {
    entry.get("currency").and_then(Json::as_str)
}

/// Amounts are strings in the product contract; numbers are accepted too.
fn decimal(data: &Json) -> Option<Decimal> {
    match data {
        Json::String(text) => text.trim().parse().ok(),
        Json::Number(number) => number.to_string().parse().ok(),
        _ => None,
    }
}

/// `amount` with exactly `decimals` digits, rounded half away from zero as
/// shops round prices (banker's rounding would surprise people).
fn fixed(amount: Decimal, decimals: u32) -> String {
    let mut rounded =
        amount.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(decimals);
    rounded.to_string()
}

/// Whole grams, rounded half away from zero (Shopify wants integers).
fn grams(amount: Decimal, unit: &str) -> Option<String> {
    let grams = units::convert(amount, unit, "GRAM").ok()?;
    Some(fixed(grams, 0))
}

// ---------------------------------------------------------------------------
// Google Merchant: RSS 2.0 and TSV
// ---------------------------------------------------------------------------

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
fn google_item(view: &ChannelView<'_>, payload: &Payload) -> Vec<(&'static str, String)> {
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
    // image_link and additional_image_link wait for media: payloads hold
    // asset ids, and Google needs absolute URLs.
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
fn google_weight(amount: Decimal, unit: &str) -> Option<String> {
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
fn site_url(channel: &Channel, locale: &str) -> String {
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
fn xml_text(text: &str) -> String {
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

fn tsv_cell(value: &str) -> String {
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

// ---------------------------------------------------------------------------
// Shopify product CSV
// ---------------------------------------------------------------------------

/// Shopify's classic product CSV headers, in order.
pub const SHOPIFY_COLUMNS: [&str; 32] = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Fulfillment Service",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "SEO Title",
    "SEO Description",
    "Variant Weight Unit",
    "Status",
];

/// Columns that describe the product, not the variant: Shopify reads them
/// from the first row of a handle, so later rows leave them empty.
const SHOPIFY_PRODUCT_COLUMNS: [&str; 16] = [
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option2 Name",
    "Option3 Name",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "SEO Title",
    "SEO Description",
    "Status",
];

/// Writes Shopify CSV rows, one per sellable unit. Remembers the last
/// handle so product columns are filled only on a handle's first row; the
/// rows must therefore arrive grouped by model.
#[derive(Debug, Default)]
pub struct ShopifyWriter {
    last_handle: Option<String>,
}

impl ShopifyWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn write_header(out: &mut impl Write) -> io::Result<()> {
        write_csv_record(out, &SHOPIFY_COLUMNS)
    }

    pub fn write_row(
        &mut self,
        out: &mut impl Write,
        schema: &Schema,
        channel: &Channel,
        payload: &Payload,
    ) -> io::Result<()> {
        let view = ChannelView::new(schema, channel);
        let handle = shopify_handle(payload.group_id.as_deref().unwrap_or(&payload.sku));
        let first_of_handle = self.last_handle.as_deref() != Some(handle.as_str());
        let mut record = shopify_record(&view, payload, &handle);
        if !first_of_handle {
            for (column, cell) in SHOPIFY_COLUMNS.iter().zip(record.iter_mut()) {
                if SHOPIFY_PRODUCT_COLUMNS.contains(column) {
                    cell.clear();
                }
            }
        }
        self.last_handle = Some(handle);
        write_csv_record(out, &record)
    }
}

fn write_csv_record<T: AsRef<[u8]>>(out: &mut impl Write, record: &[T]) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(record)?;
    writer.flush()
}

/// Every column of one row, product columns filled.
fn shopify_record(view: &ChannelView<'_>, payload: &Payload, handle: &str) -> Vec<String> {
    let title = view.text(payload, "title").unwrap_or_default();
    let (price, sale) = view.prices(payload);
    // On sale, Shopify shows the sale price with the regular one struck through.
    let (variant_price, compare_at) = match (&price, &sale) {
        (Some(price), Some(sale)) => (Some(sale), Some(price)),
        (price, _) => (price.as_ref(), None),
    };
    let two_decimals =
        |money: Option<&Money>| money.map(|m| fixed(m.amount, 2)).unwrap_or_default();
    let mut options: Vec<(String, String)> = view
        .axes(payload)
        .into_iter()
        .map(|(_, name, value)| (name, value))
        .collect();
    if options.is_empty() {
        // Shopify's spelling of "this product has no options".
        options.push(("Title".to_owned(), "Default Title".to_owned()));
    }
    // Shopify allows 3 options, as families allow 3 axes.
    options.resize(3, Default::default());
    let stock = view
        .mapped(payload, "stock")
        .and_then(|(_, data)| decimal(data))
        .map(|qty| fixed(qty, 0));
    let category_labels: Vec<String> = payload
        .categories
        .iter()
        .map(|code| view.category_label(code))
        .collect();
    SHOPIFY_COLUMNS
        .iter()
        .map(|column| {
            let cell: Option<String> = match *column {
                "Handle" => Some(handle.to_owned()),
                "Title" => Some(title.clone()),
                "Body (HTML)" => view.text(payload, "description"),
                "Vendor" => view.text(payload, "brand"),
                // Shopify's own taxonomy, which Sluice does not map; a value
                // it does not know fails the row, so it stays empty.
                "Product Category" => None,
                "Type" => category_labels.first().cloned(),
                "Tags" => Some(category_labels.join(", ")),
                "Published" => Some("TRUE".to_owned()),
                "Option1 Name" => Some(options[0].0.clone()),
                "Option1 Value" => Some(options[0].1.clone()),
                "Option2 Name" => Some(options[1].0.clone()),
                "Option2 Value" => Some(options[1].1.clone()),
                "Option3 Name" => Some(options[2].0.clone()),
                "Option3 Value" => Some(options[2].1.clone()),
                "Variant SKU" => Some(payload.sku.clone()),
                "Variant Grams" => view
                    .weight(payload)
                    .and_then(|(amount, unit)| grams(amount, &unit)),
                "Variant Inventory Tracker" => Some("shopify".to_owned()),
                "Variant Inventory Qty" => stock.clone(),
                "Variant Inventory Policy" => Some("deny".to_owned()),
                "Variant Fulfillment Service" => Some("manual".to_owned()),
                "Variant Price" => Some(two_decimals(variant_price)),
                "Variant Compare At Price" => Some(two_decimals(compare_at)),
                "Variant Requires Shipping" | "Variant Taxable" => Some("TRUE".to_owned()),
                "Variant Barcode" => view.text(payload, "gtin"),
                "Variant Weight Unit" => Some("g".to_owned()),
                "Status" => Some("active".to_owned()),
                // Image columns wait for media (asset URLs); empty SEO columns
                // make Shopify use the title and description.
                _ => None,
            };
            cell.unwrap_or_default()
        })
        .collect()
}

/// A Shopify handle: lower-case ASCII letters and digits, other runs
/// become one hyphen. A SKU with no letter or digit falls back to its hex
/// bytes so that it still gets a unique handle.
fn shopify_handle(sku: &str) -> String {
    let mut slug = String::with_capacity(sku.len());
    for c in sku.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    // SKUs are unique case-insensitively, so a slug equal to the lower-cased
    // SKU is unique too; a lossy slug (`AB_1` and `ab-1` both give `ab-1`)
    // gets a short hash of the SKU so two products never share a handle.
    if slug == crate::catalog::store::sku_key(sku) {
        return slug.to_owned();
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(crate::catalog::store::sku_key(sku).as_bytes());
    let tag = hex::encode(&digest[..4]);
    if slug.is_empty() {
        tag
    } else {
        format!("{slug}-{tag}")
    }
}

// ---------------------------------------------------------------------------
// schema.org JSON-LD
// ---------------------------------------------------------------------------

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
fn product_ld(view: &ChannelView<'_>, payload: &Payload) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert("@type".into(), json!("Product"));
    put(&mut out, "name", view.text(payload, "title"));
    put(&mut out, "description", view.plain_description(payload));
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

fn put(map: &mut Map<String, Json>, key: &str, value: Option<String>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), Json::String(value));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use quick_xml::events::Event;
    use quick_xml::reader::Reader;

    use super::*;
    use crate::publish::payload::PayloadValue;

    const SCHEMA: &str = r#"
[[currencies]]
code = "USD"

[[currencies]]
code = "JPY"
decimals = 0

[[channels]]
code = "google"
labels = { en_US = "Google & Co" }
locales = ["en_US"]
currencies = ["USD"]
output_format = "google_merchant"
url_template = "https://shop.example.com/{locale}/p/{sku}"

[[attributes]]
code = "name"
type = "text"
group = "g"
owner = "pim"
lane = "reviewed"
localizable = true

[[attributes]]
code = "description"
type = "textarea"
group = "g"
owner = "pim"
lane = "reviewed"

[[attributes]]
code = "brand"
type = "select"
group = "g"
owner = "pim"
lane = "reviewed"
options = [{ code = "acme", labels = { en_US = "Acme, Inc." } }]

[[attributes]]
code = "color"
type = "select"
group = "g"
owner = "pim"
lane = "reviewed"
labels = { en_US = "Colour" }
options = [{ code = "red", labels = { en_US = "Red" } }, { code = "blue", labels = { en_US = "Blue" } }]

[[attributes]]
code = "shoe_size"
type = "select"
group = "g"
owner = "pim"
lane = "reviewed"
labels = { en_US = "Shoe size" }
options = [{ code = "s42", labels = { en_US = "42" } }]

[[categories]]
code = "shoes"
labels = { en_US = "Shoes" }

[[categories]]
code = "running"
parent = "shoes"
labels = { en_US = "Running & Trail" }
"#;

    fn schema() -> Schema {
        toml::from_str(SCHEMA).expect("test schema")
    }

    fn payload(sku: &str, group: Option<&str>, values: &[(&str, Json)]) -> Payload {
        let values = values
            .iter()
            .map(|(code, data)| {
                let locale = (*code == "name").then(|| "en_US".to_owned());
                let value = PayloadValue {
                    locale,
                    data: data.clone(),
                };
                ((*code).to_owned(), vec![value])
            })
            .collect();
        Payload {
            sku: sku.to_owned(),
            kind: if group.is_some() { "variant" } else { "simple" }.to_owned(),
            group_id: group.map(str::to_owned),
            axes: Vec::new(),
            family: "shoes".to_owned(),
            categories: vec!["running".to_owned()],
            links: BTreeMap::from([(
                "en_US".to_owned(),
                format!("https://shop.example.com/en_US/p/{sku}"),
            )]),
            availability: "in_stock".to_owned(),
            values,
        }
    }

    fn shoe(sku: &str) -> Payload {
        payload(
            sku,
            None,
            &[
                ("name", json!("Runner <Pro> & \"Co\" 'x'")),
                (
                    "description",
                    json!("<p>Light &amp; fast.</p><p>Second\tpara</p>"),
                ),
                ("brand", json!("acme")),
                ("gtin", json!("4006381333931")),
                (
                    "base_price",
                    json!([{"amount": "15", "currency": "USD"}, {"amount": "2000", "currency": "JPY"}]),
                ),
                ("stock", json!("7")),
                ("weight", json!({"amount": "1.25", "unit": "KILOGRAM"})),
            ],
        )
    }

    fn variant(sku: &str, color: &str) -> Payload {
        let mut variant = shoe(sku);
        variant.group_id = Some("SHOE-1".to_owned());
        variant.kind = "variant".to_owned();
        variant.axes = vec![
            ("color".to_owned(), color.to_owned()),
            ("shoe_size".to_owned(), "s42".to_owned()),
        ];
        variant
    }

    /// Every `<item>`'s `g:` elements as (local name, unescaped text).
    fn parse_items(xml: &str) -> Vec<Vec<(String, String)>> {
        let mut reader = Reader::from_str(xml);
        let mut items = Vec::new();
        let mut current: Option<Vec<(String, String)>> = None;
        let mut element: Option<(String, String)> = None;
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(start) => {
                    let name = start.name().as_ref().to_owned();
                    if name == "item" {
                        current = Some(Vec::new());
                    } else if let Some(local) = name.strip_prefix("g:") {
                        element = Some((local.to_owned(), String::new()));
                    }
                }
                Event::Text(text) => {
                    if let Some((_, value)) = element.as_mut() {
                        value.push_str(&text.xml10_content());
                    }
                }
                Event::GeneralRef(reference) => {
                    if let Some((_, value)) = element.as_mut() {
                        let text = match reference.resolve_char_ref().expect("char ref") {
                            Some(c) => c.to_string(),
                            None => quick_xml::escape::resolve_predefined_entity(&reference)
                                .expect("known entity")
                                .to_owned(),
                        };
                        value.push_str(&text);
                    }
                }
                Event::End(end) => {
                    let name = end.name().as_ref().to_owned();
                    if name == "item" {
                        items.extend(current.take());
                    } else if let (Some(item), Some(done)) = (current.as_mut(), element.take()) {
                        item.push(done);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        items
    }

    fn field<'i>(item: &'i [(String, String)], name: &str) -> Option<&'i str> {
        item.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn export(format: ExportFormat, payloads: &[Payload]) -> String {
        let schema = schema();
        let channel = schema.channels[0].clone();
        let mut exporter = Exporter::new(&schema, &channel, format);
        let mut out = exporter.header();
        for payload in payloads {
            out.extend(exporter.item(payload));
        }
        out.extend(exporter.footer());
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn google_xml_parses_and_round_trips_special_characters() {
        let mut second = variant("SHOE-1-RED", "red");
        second.values.insert(
            "mpn".into(),
            vec![PayloadValue {
                locale: None,
                data: json!("a\u{1}b"),
            }],
        );
        let xml = export(ExportFormat::GoogleXml, &[shoe("SHOE<&>"), second]);
        assert!(xml.contains("<title>Google &amp; Co</title>"), "{xml}");
        assert!(
            xml.contains("<link>https://shop.example.com</link>"),
            "{xml}"
        );
        let items = parse_items(&xml);
        assert_eq!(items.len(), 2);
        for item in &items {
            for name in [
                "id",
                "title",
                "description",
                "link",
                "availability",
                "price",
            ] {
                assert!(field(item, name).is_some(), "{name} missing in {item:?}");
            }
        }
        let simple = &items[0];
        assert_eq!(field(simple, "id"), Some("SHOE<&>"));
        assert_eq!(field(simple, "title"), Some("Runner <Pro> & \"Co\" 'x'"));
        assert_eq!(
            field(simple, "description"),
            Some("Light & fast.\n\nSecond para")
        );
        assert_eq!(field(simple, "price"), Some("15.00 USD"));
        assert_eq!(field(simple, "brand"), Some("Acme, Inc."));
        assert_eq!(field(simple, "condition"), Some("new"));
        assert_eq!(field(simple, "shipping_weight"), Some("1.25 kg"));
        assert_eq!(
            field(simple, "product_type"),
            Some("Shoes > Running & Trail")
        );
        assert_eq!(field(simple, "item_group_id"), None);
        assert_eq!(field(simple, "sale_price"), None);
        let variant = &items[1];
        assert_eq!(field(variant, "item_group_id"), Some("SHOE-1"));
        assert_eq!(field(variant, "color"), Some("Red"));
        assert_eq!(field(variant, "size"), Some("42"));
        // A control character XML cannot hold is dropped, not written.
        assert_eq!(field(variant, "mpn"), Some("ab"));
        assert!(xml.trim_end().ends_with("</channel>\n</rss>"));
    }

    #[test]
    fn prices_use_the_first_currency_and_its_decimals() {
        let schema = schema();
        let mut channel = schema.channels[0].clone();
        let view = ChannelView::new(&schema, &channel);
        let mut shoe = shoe("S");
        shoe.values.insert(
            "sale_price".into(),
            vec![PayloadValue {
                locale: None,
                data: json!([{"amount": "12.345", "currency": "USD"}]),
            }],
        );
        let item = google_item(&view, &shoe);
        let get = |name: &str| {
            item.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("price").as_deref(), Some("15.00 USD"));
        assert_eq!(get("sale_price").as_deref(), Some("12.35 USD"));
        channel.currencies = vec!["JPY".into()];
        let view = ChannelView::new(&schema, &channel);
        let item = google_item(&view, &shoe);
        assert!(item.contains(&("price", "2000 JPY".to_owned())));
        // No sale price in JPY: no sale.
        assert!(!item.iter().any(|(n, _)| *n == "sale_price"));
        assert_eq!(fixed("2.5".parse().expect("dec"), 2), "2.50");
    }

    #[test]
    fn weights_for_google_and_shopify() {
        let dec = |text: &str| text.parse::<Decimal>().expect("dec");
        assert_eq!(google_weight(dec("500"), "GRAM").as_deref(), Some("500 g"));
        assert_eq!(google_weight(dec("2"), "POUND").as_deref(), Some("2 lb"));
        assert_eq!(
            google_weight(dec("1500"), "MILLIGRAM").as_deref(),
            Some("0.0015 kg")
        );
        assert_eq!(grams(dec("1.25"), "KILOGRAM").as_deref(), Some("1250"));
        assert_eq!(grams(dec("12.5"), "GRAM").as_deref(), Some("13"));
        assert_eq!(grams(dec("12.49"), "GRAM").as_deref(), Some("12"));
        // 1 lb = 453.59237 g.
        assert_eq!(grams(dec("1"), "POUND").as_deref(), Some("454"));
        assert_eq!(grams(dec("1"), "METER"), None);
    }

    #[test]
    fn tsv_rows_stay_on_one_line() {
        let mut shoe = shoe("S1");
        shoe.values.insert(
            "mpn".into(),
            vec![PayloadValue {
                locale: None,
                data: json!("tab\there\r\nnew\nline"),
            }],
        );
        let tsv = export(ExportFormat::GoogleTsv, &[shoe]);
        let lines: Vec<&str> = tsv.lines().collect();
        assert_eq!(lines.len(), 2, "{tsv}");
        assert_eq!(lines[0].split('\t').count(), GOOGLE_FIELDS.len());
        let cells: Vec<&str> = lines[1].split('\t').collect();
        assert_eq!(cells.len(), GOOGLE_FIELDS.len());
        let cell = |name: &str| {
            cells[GOOGLE_FIELDS
                .iter()
                .position(|f| *f == name)
                .expect("field")]
        };
        assert_eq!(cell("mpn"), "tab here new line");
        assert_eq!(cell("description"), "Light & fast. Second para");
        assert_eq!(cell("price"), "15.00 USD");
        assert_eq!(cell("image_link"), "");
    }

    #[test]
    fn shopify_csv_quotes_and_fills_product_columns_once() {
        let mut first = variant("SHOE-1-RED", "red");
        first.values.insert(
            "name".into(),
            vec![PayloadValue {
                locale: Some("en_US".into()),
                data: json!("Runner, \"Pro\"\nEdition"),
            }],
        );
        let second = variant("SHOE-1-BLUE", "blue");
        let csv_text = export(ExportFormat::ShopifyCsv, &[first, second, shoe("Simple-1")]);
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), SHOPIFY_COLUMNS.to_vec());
        let rows: Vec<csv::StringRecord> =
            reader.records().collect::<Result<_, _>>().expect("rows");
        assert_eq!(rows.len(), 3);
        let cell = |row: usize, column: &str| {
            let at = SHOPIFY_COLUMNS
                .iter()
                .position(|c| *c == column)
                .expect("column");
            rows[row].get(at).unwrap_or_default().to_owned()
        };
        assert_eq!(cell(0, "Handle"), "shoe-1");
        assert_eq!(cell(0, "Title"), "Runner, \"Pro\"\nEdition");
        assert_eq!(
            cell(0, "Body (HTML)"),
            "<p>Light &amp; fast.</p><p>Second\tpara</p>"
        );
        assert_eq!(cell(0, "Vendor"), "Acme, Inc.");
        assert_eq!(cell(0, "Option1 Name"), "Colour");
        assert_eq!(cell(0, "Option1 Value"), "Red");
        assert_eq!(cell(0, "Option2 Name"), "Shoe size");
        assert_eq!(cell(0, "Option2 Value"), "42");
        assert_eq!(cell(0, "Variant Grams"), "1250");
        assert_eq!(cell(0, "Variant Inventory Qty"), "7");
        assert_eq!(cell(0, "Variant Price"), "15.00");
        assert_eq!(cell(0, "Variant Barcode"), "4006381333931");
        assert_eq!(cell(0, "Status"), "active");
        // The second variant of the same handle: variant columns only.
        assert_eq!(cell(1, "Handle"), "shoe-1");
        for column in SHOPIFY_PRODUCT_COLUMNS {
            assert_eq!(cell(1, column), "", "{column}");
        }
        assert_eq!(cell(1, "Option1 Value"), "Blue");
        assert_eq!(cell(1, "Variant SKU"), "SHOE-1-BLUE");
        assert_eq!(cell(1, "Variant Price"), "15.00");
        // A simple product starts a new handle with the default option.
        assert_eq!(cell(2, "Handle"), "simple-1");
        assert_eq!(cell(2, "Title"), "Runner <Pro> & \"Co\" 'x'");
        assert_eq!(cell(2, "Option1 Name"), "Title");
        assert_eq!(cell(2, "Option1 Value"), "Default Title");
        assert_eq!(cell(2, "Option2 Name"), "");
    }

    #[test]
    fn shopify_sale_price_and_handles() {
        let schema = schema();
        let channel = &schema.channels[0];
        let mut shoe = shoe("S");
        shoe.values.insert(
            "sale_price".into(),
            vec![PayloadValue {
                locale: None,
                data: json!([{"amount": "9.5", "currency": "USD"}]),
            }],
        );
        let view = ChannelView::new(&schema, channel);
        let record = shopify_record(&view, &shoe, "s");
        let cell = |column: &str| {
            record[SHOPIFY_COLUMNS
                .iter()
                .position(|c| *c == column)
                .expect("column")]
            .as_str()
        };
        assert_eq!(cell("Variant Price"), "9.50");
        assert_eq!(cell("Variant Compare At Price"), "15.00");
        assert_eq!(shopify_handle("AB-1"), "ab-1");
        // Lossy slugs carry a hash of the SKU, so `ab_1` never shares `ab-1`'s handle.
        let lossy = shopify_handle("  Ab_C--9 / x ");
        assert!(lossy.starts_with("ab-c-9-x-"), "{lossy}");
        assert_ne!(shopify_handle("ab_1"), shopify_handle("AB-1"));
        assert_eq!(shopify_handle("##").len(), 8);
    }

    #[test]
    fn json_ld_product_and_product_group() {
        let schema = schema();
        let channel = &schema.channels[0];
        let product = json_ld(&schema, channel, &[shoe("S1")]);
        assert_eq!(
            product,
            json!({
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Runner <Pro> & \"Co\" 'x'",
                "description": "Light & fast.\n\nSecond para",
                "sku": "S1",
                "gtin13": "4006381333931",
                "brand": {"@type": "Brand", "name": "Acme, Inc."},
                "offers": {
                    "@type": "Offer",
                    "price": "15.00",
                    "priceCurrency": "USD",
                    "availability": "https://schema.org/InStock",
                    "itemCondition": "https://schema.org/NewCondition",
                    "url": "https://shop.example.com/en_US/p/S1"
                }
            })
        );
        let mut blue = variant("SHOE-1-BLUE", "blue");
        blue.availability = "out_of_stock".into();
        let group = json_ld(&schema, channel, &[variant("SHOE-1-RED", "red"), blue]);
        assert_eq!(group["@type"], "ProductGroup");
        assert_eq!(group["productGroupID"], "SHOE-1");
        assert_eq!(group["name"], "Runner <Pro> & \"Co\" 'x'");
        assert_eq!(
            group["variesBy"],
            json!(["https://schema.org/color", "https://schema.org/size"])
        );
        let variants = group["hasVariant"].as_array().expect("variants");
        assert_eq!(variants.len(), 2);
        assert_eq!(variants[0]["@type"], "Product");
        assert_eq!(variants[0]["inProductGroupWithID"], "SHOE-1");
        assert_eq!(variants[0]["color"], "Red");
        assert_eq!(variants[0]["size"], "42");
        assert_eq!(variants[1]["sku"], "SHOE-1-BLUE");
        assert_eq!(
            variants[1]["offers"]["availability"],
            "https://schema.org/OutOfStock"
        );
        assert!(variants[0].get("@context").is_none());
        assert_eq!(json_ld(&schema, channel, &[]), Json::Null);
    }

    #[test]
    fn export_formats_and_json_lines() {
        for format in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(format.as_str()), Some(format));
        }
        assert_eq!(ExportFormat::parse("pdf"), None);
        assert_eq!(ExportFormat::ShopifyCsv.file_name(), "shopify.csv");
        assert_eq!(ExportFormat::GoogleXml.file_name(), "export.xml");
        let schema = schema();
        assert_eq!(
            ExportFormat::for_channel(&schema.channels[0]),
            ExportFormat::GoogleXml
        );
        let jsonl = export(ExportFormat::Jsonl, &[shoe("A"), shoe("B")]);
        let lines: Vec<Payload> = jsonl
            .lines()
            .map(|line| serde_json::from_str(line).expect("payload line"))
            .collect();
        assert_eq!(lines, vec![shoe("A"), shoe("B")]);
    }
}
