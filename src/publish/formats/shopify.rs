//! Shopify's classic product CSV: a row per sellable unit, product columns
//! on a handle's first row only.

use std::io::{self, Write};

use super::view::{ChannelView, Money, decimal, fixed, grams};
use crate::catalog::schema::{Channel, Schema};
use crate::publish::payload::Payload;

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
pub(super) const SHOPIFY_PRODUCT_COLUMNS: [&str; 16] = [
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
/// rows must therefore arrive grouped by model. A product's first image
/// goes on its first row; each further image gets a row of its own (only
/// Handle, Image Src and Image Position), written after the handle's
/// variant rows as Shopify's own exports do: when the next handle starts,
/// or at [`ShopifyWriter::finish`].
#[derive(Debug, Default)]
pub struct ShopifyWriter {
    last_handle: Option<String>,
    /// The last handle's images after the first: (position, URL).
    more_images: Vec<(usize, String)>,
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
        if first_of_handle {
            self.finish(out)?;
        }
        let mut record = shopify_record(&view, payload, &handle);
        if first_of_handle {
            self.more_images = payload
                .images
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, image)| (i + 1, image.url.clone()))
                .collect();
        } else {
            for (column, cell) in SHOPIFY_COLUMNS.iter().zip(record.iter_mut()) {
                if SHOPIFY_PRODUCT_COLUMNS.contains(column) {
                    cell.clear();
                }
            }
        }
        self.last_handle = Some(handle);
        write_csv_record(out, &record)
    }

    /// Writes the image rows still owed to the last handle (the end of the
    /// file, or the start of the next handle).
    pub fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        let Some(handle) = self.last_handle.as_deref() else {
            return Ok(());
        };
        for (position, url) in std::mem::take(&mut self.more_images) {
            let record: Vec<String> = SHOPIFY_COLUMNS
                .iter()
                .map(|column| match *column {
                    "Handle" => handle.to_owned(),
                    "Image Src" => url.clone(),
                    "Image Position" => position.to_string(),
                    _ => String::new(),
                })
                .collect();
            write_csv_record(out, &record)?;
        }
        Ok(())
    }
}

pub(super) fn write_csv_record<T: AsRef<[u8]>>(
    out: &mut impl Write,
    record: &[T],
) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(record)?;
    writer.flush()
}

/// Every column of one row, product columns filled.
pub(super) fn shopify_record(
    view: &ChannelView<'_>,
    payload: &Payload,
    handle: &str,
) -> Vec<String> {
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
                "Image Src" => payload.images.first().map(|image| image.url.clone()),
                "Image Position" => payload.images.first().map(|_| "1".to_owned()),
                // No alt text yet (assets' alt texts are not in the payload);
                // empty SEO columns make Shopify use the title and description.
                _ => None,
            };
            cell.unwrap_or_default()
        })
        .collect()
}

/// A Shopify handle: lower-case ASCII letters and digits, other runs
/// become one hyphen. A SKU with no letter or digit falls back to its hex
/// bytes so that it still gets a unique handle.
pub(super) fn shopify_handle(sku: &str) -> String {
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
