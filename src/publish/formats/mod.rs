//! Channel formats: how stored [`Payload`]s are written for a channel —
//! Google Merchant RSS 2.0 and TSV, Shopify product CSV, schema.org JSON-LD
//! and JSON Lines. Pure (no database, no HTTP) and streaming: each function
//! renders one item, headers and footers are separate, so a feed of thousands
//! of stored payloads is written without building the whole document.
//!
//! A feed file is in one language and one currency: the channel's first
//! locale and first currency. Image fields come from the payload's
//! `images`: absolute rendition URLs of approved images, made when it was
//! published.
//!
//! A file per format ([`google`], [`shopify`], [`json_ld`]) over [`view`],
//! which reads a payload the way channels want it (the channel's locale,
//! currency, option labels).

mod google;
mod json_ld;
mod shopify;
mod view;

pub use google::{
    GOOGLE_FIELDS, google_fields, google_tsv_header, google_tsv_row, google_xml_footer,
    google_xml_header, google_xml_item,
};
pub use json_ld::json_ld;
pub use shopify::{SHOPIFY_COLUMNS, ShopifyWriter};

use crate::catalog::schema::{Channel, OutputFormat, Schema};
use crate::publish::payload::Payload;

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

    pub fn footer(&mut self) -> Vec<u8> {
        match self.format {
            ExportFormat::GoogleXml => google_xml_footer().as_bytes().to_vec(),
            ExportFormat::ShopifyCsv => {
                let mut out = Vec::new();
                // Writing to a Vec cannot fail.
                let _ = self.shopify.finish(&mut out);
                out
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
