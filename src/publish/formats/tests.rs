//! The formats over one small schema: every format's output parsed back.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use serde_json::{Value as Json, json};

use rust_decimal::Decimal;

use super::google::{google_item, google_weight};
use super::shopify::{SHOPIFY_PRODUCT_COLUMNS, shopify_handle, shopify_record};
use super::view::{ChannelView, fixed, grams};
use super::*;
use crate::publish::images::PayloadImage;
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
        images: Vec::new(),
        values,
    }
}

/// `n` image links, as the publisher builds them from approved images.
fn images(n: usize) -> Vec<PayloadImage> {
    (1..=n)
        .map(|i| PayloadImage {
            url: format!("https://pim.example.com/media/{i:016x}/google?v=ab,cd"),
            width: 1200,
            height: 800,
            asset: format!("{i:016x}"),
        })
        .collect()
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
    let mut first = shoe("SHOE<&>");
    first.images = images(13);
    let xml = export(ExportFormat::GoogleXml, &[first, second]);
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
    // The first image is image_link; Google takes 10 more, in order.
    assert_eq!(field(simple, "image_link"), Some(images(1)[0].url.as_str()));
    let more: Vec<&str> = simple
        .iter()
        .filter(|(name, _)| name == "additional_image_link")
        .map(|(_, url)| url.as_str())
        .collect();
    let expected = images(11);
    let expected: Vec<&str> = expected[1..].iter().map(|i| i.url.as_str()).collect();
    assert_eq!(more, expected);
    assert_eq!(field(&items[1], "image_link"), None, "no images, no link");
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
    let plain = shoe.clone();
    shoe.images = images(3);
    let tsv = export(ExportFormat::GoogleTsv, &[shoe, plain]);
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines.len(), 3, "{tsv}");
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
    assert_eq!(cell("image_link"), images(1)[0].url);
    // Commas join additional links; a comma inside a URL is %2C.
    let more = images(3);
    assert_eq!(
        cell("additional_image_link"),
        format!(
            "{},{}",
            more[1].url.replace(',', "%2C"),
            more[2].url.replace(',', "%2C")
        )
    );
    let plain: Vec<&str> = lines[2].split('\t').collect();
    let at = |name: &str| {
        GOOGLE_FIELDS
            .iter()
            .position(|f| *f == name)
            .expect("field")
    };
    assert_eq!(plain[at("image_link")], "");
    assert_eq!(plain[at("additional_image_link")], "");
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
    first.images = images(3);
    let mut second = variant("SHOE-1-BLUE", "blue");
    second.images = images(3);
    let mut simple = shoe("Simple-1");
    simple.images = images(2);
    let csv_text = export(
        ExportFormat::ShopifyCsv,
        &[first, second, simple, shoe("Plain-1")],
    );
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), SHOPIFY_COLUMNS.to_vec());
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    // shoe-1: 2 variants + 2 image rows; simple-1: 1 + 1; plain-1: 1.
    assert_eq!(rows.len(), 7);
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
    assert_eq!(cell(0, "Image Src"), images(1)[0].url);
    assert_eq!(cell(0, "Image Position"), "1");
    // The second variant of the same handle: variant columns only.
    assert_eq!(cell(1, "Handle"), "shoe-1");
    for column in SHOPIFY_PRODUCT_COLUMNS {
        assert_eq!(cell(1, column), "", "{column}");
    }
    assert_eq!(cell(1, "Option1 Value"), "Blue");
    assert_eq!(cell(1, "Variant SKU"), "SHOE-1-BLUE");
    assert_eq!(cell(1, "Variant Price"), "15.00");
    // Further images after the handle's variants: Handle, Image Src and
    // Image Position only.
    let urls = images(3);
    for (row, position) in [(2, 2), (3, 3)] {
        for (at, column) in SHOPIFY_COLUMNS.iter().enumerate() {
            let expected = match *column {
                "Handle" => "shoe-1".to_owned(),
                "Image Src" => urls[position - 1].url.clone(),
                "Image Position" => position.to_string(),
                _ => String::new(),
            };
            assert_eq!(rows[row].get(at).unwrap_or_default(), expected, "{column}");
        }
    }
    // A simple product starts a new handle with the default option.
    assert_eq!(cell(4, "Handle"), "simple-1");
    assert_eq!(cell(4, "Title"), "Runner <Pro> & \"Co\" 'x'");
    assert_eq!(cell(4, "Option1 Name"), "Title");
    assert_eq!(cell(4, "Option1 Value"), "Default Title");
    assert_eq!(cell(4, "Option2 Name"), "");
    assert_eq!(cell(5, "Handle"), "simple-1");
    assert_eq!(cell(5, "Image Position"), "2");
    assert_eq!(cell(5, "Variant SKU"), "");
    // No images: no image cells, no image rows.
    assert_eq!(cell(6, "Handle"), "plain-1");
    assert_eq!(cell(6, "Image Src"), "");
    assert_eq!(cell(6, "Image Position"), "");
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
    let mut pictured = shoe("S1");
    pictured.images = images(2);
    let product = json_ld(&schema, channel, &[pictured]);
    assert_eq!(
        product,
        json!({
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "Runner <Pro> & \"Co\" 'x'",
            "description": "Light & fast.\n\nSecond para",
            "image": [images(2)[0].url, images(2)[1].url],
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
    assert!(variants[0].get("image").is_none(), "no images, no image");
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
    let mut pictured = shoe("A");
    pictured.images = images(1);
    let jsonl = export(ExportFormat::Jsonl, &[pictured.clone(), shoe("B")]);
    let lines: Vec<Payload> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).expect("payload line"))
        .collect();
    assert_eq!(lines, vec![pictured, shoe("B")]);
    // JSON images carry url, width, height and asset; none, no key.
    let first: Json = serde_json::from_str(jsonl.lines().next().expect("line")).expect("json");
    assert_eq!(
        first["images"],
        json!([{"url": images(1)[0].url, "width": 1200, "height": 800, "asset": images(1)[0].asset}])
    );
    let second: Json = serde_json::from_str(jsonl.lines().nth(1).expect("line")).expect("json");
    assert!(second.get("images").is_none());
}
