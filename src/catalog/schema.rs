//! The catalog schema: locales, currencies, channels, attribute groups,
//! attributes (with options and validation), families and categories. A
//! [`Schema`] is an immutable snapshot of all of it, loaded in one go.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Labels per locale: `{"en_US": "Name", "de_DE": "Name"}`.
pub type Labels = BTreeMap<String, String>;

/// A locale such as `en_US`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locale {
    pub code: String,
    #[serde(default)]
    pub label: String,
}

/// A currency such as `USD`, with the decimals its prices may carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Currency {
    pub code: String,
    #[serde(default = "two")]
    pub decimals: u32,
}

fn two() -> u32 {
    2
}

/// How a channel's feed is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    Json,
    GoogleMerchant,
    ShopifyCsv,
}

/// A sales channel: where published data goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub code: String,
    #[serde(default)]
    pub labels: Labels,
    pub locales: Vec<String>,
    pub currencies: Vec<String>,
    /// Only products in this category or below it are published; `None` is every category.
    #[serde(default)]
    pub category_root: Option<String>,
    pub output_format: OutputFormat,
    /// Absolute product URL with `{sku}` (and optionally `{locale}`) placeholders.
    #[serde(default)]
    pub url_template: String,
    /// Target unit per unit family for measurements in this channel's feed.
    #[serde(default)]
    pub units: BTreeMap<String, String>,
    /// Whether changes publish as they happen or wait for "publish pending".
    #[serde(default)]
    pub publish_mode: PublishMode,
    /// Which attribute fills each field of the channel's format.
    #[serde(default)]
    pub mapping: FieldMapping,
    /// The media preset whose renditions this channel's feed links to;
    /// `None` is the format's own (`google`, `shopify`, `web` for JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_preset: Option<String>,
}

impl Channel {
    /// The preset code the channel's image links use.
    pub fn image_preset_code(&self) -> &str {
        match (&self.image_preset, self.output_format) {
            (Some(code), _) => code,
            (None, OutputFormat::GoogleMerchant) => "google",
            (None, OutputFormat::ShopifyCsv) => "shopify",
            (None, OutputFormat::Json) => "web",
        }
    }
}

/// How a rendition fills its preset's box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// The whole image, scaled down to fit inside the box (never up).
    #[default]
    Contain,
    /// The box filled exactly, the overflow cropped from the centre.
    Cover,
}

/// The file format of a rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenditionFormat {
    Jpeg,
    Png,
    Webp,
}

impl RenditionFormat {
    pub fn media_type(self) -> &'static str {
        match self {
            RenditionFormat::Jpeg => "image/jpeg",
            RenditionFormat::Png => "image/png",
            RenditionFormat::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            RenditionFormat::Jpeg => "jpg",
            RenditionFormat::Png => "png",
            RenditionFormat::Webp => "webp",
        }
    }
}

fn default_quality() -> u8 {
    85
}

/// A rendition size: renditions of every image asset are made per preset
/// and served at `/media/{asset}/{preset}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaPreset {
    pub code: String,
    /// The box, in pixels.
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub fit: Fit,
    pub format: RenditionFormat,
    /// Encoder quality, 1–100 (JPEG and WebP).
    #[serde(default = "default_quality")]
    pub quality: u8,
}

impl MediaPreset {
    fn new(code: &str, width: u32, height: u32, fit: Fit, format: RenditionFormat) -> Self {
        Self {
            code: code.to_owned(),
            width,
            height,
            fit,
            format,
            quality: default_quality(),
        }
    }

    /// A short hash of what the preset makes: part of the rendition's
    /// object key and URL, so a changed preset makes new files under new
    /// URLs and cached copies of the old ones are never served for it.
    pub fn spec_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let spec = format!(
            "{}x{}:{:?}:{:?}:{}",
            self.width, self.height, self.fit, self.format, self.quality
        );
        hex::encode(&Sha256::digest(spec.as_bytes())[..4])
    }

    /// The size a rendition of a `width` × `height` image has: `contain`
    /// scales down to fit (never up), `cover` fills the box (an image
    /// smaller than the box is cropped to the box's shape, not enlarged).
    pub fn target_size(&self, width: u32, height: u32) -> (u32, u32) {
        let (w, h) = (u64::from(width.max(1)), u64::from(height.max(1)));
        let (bw, bh) = (u64::from(self.width.max(1)), u64::from(self.height.max(1)));
        let scaled = |num: u64, den: u64, v: u64| -> u32 {
            u32::try_from((v * num).div_ceil(den).max(1)).unwrap_or(u32::MAX)
        };
        match self.fit {
            Fit::Contain => {
                if w <= bw && h <= bh {
                    (width.max(1), height.max(1))
                } else if w * bh >= h * bw {
                    // Wider than the box: the width binds.
                    (self.width, scaled(bw, w, h).min(self.height))
                } else {
                    (scaled(bh, h, w).min(self.width), self.height)
                }
            }
            Fit::Cover => {
                if w >= bw && h >= bh {
                    (self.width, self.height)
                } else {
                    // Too small to fill: the largest box-shaped crop.
                    let factor_w = w * bh;
                    let factor_h = h * bw;
                    if factor_w >= factor_h {
                        (scaled(bw, bh, h).min(width.max(1)), height.max(1))
                    } else {
                        (width.max(1), scaled(bh, bw, w).min(height.max(1)))
                    }
                }
            }
        }
    }
}

/// The presets a schema without its own gets: the library's thumbnail and
/// preview, and one per channel format (FORMATS.md: Google recommends
/// 1200 × 1200 and accepts JPEG; Shopify takes up to 2048 × 2048).
pub fn default_media_presets() -> Vec<MediaPreset> {
    use RenditionFormat::{Jpeg, Webp};
    vec![
        MediaPreset::new("thumbnail", 320, 320, Fit::Cover, Webp),
        MediaPreset::new("preview", 1200, 1200, Fit::Contain, Jpeg),
        MediaPreset::new("google", 1200, 1200, Fit::Contain, Jpeg),
        MediaPreset::new("shopify", 2048, 2048, Fit::Contain, Jpeg),
        MediaPreset::new("web", 1600, 1600, Fit::Contain, Webp),
    ]
}

/// When a channel's changes reach its feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// The publisher follows every approved change.
    #[default]
    Automatic,
    /// Changes wait until someone publishes the channel's pending products.
    Manual,
}

impl PublishMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PublishMode::Automatic => "automatic",
            PublishMode::Manual => "manual",
        }
    }
}

/// Channel field → attribute code; an empty code leaves the field out. The
/// defaults name the demo catalog's attributes, so a channel without a
/// mapping section still gets a full feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldMapping {
    pub title: String,
    pub description: String,
    pub brand: String,
    pub gtin: String,
    pub mpn: String,
    pub price: String,
    pub sale_price: String,
    pub stock: String,
    pub weight: String,
    pub images: String,
    pub gender: String,
    pub age_group: String,
    pub google_product_category: String,
}

impl Default for FieldMapping {
    fn default() -> Self {
        Self {
            title: "name".into(),
            description: "description".into(),
            brand: "brand".into(),
            gtin: "gtin".into(),
            mpn: "mpn".into(),
            price: "base_price".into(),
            sale_price: "sale_price".into(),
            stock: "stock".into(),
            weight: "weight".into(),
            images: "images".into(),
            gender: "gender".into(),
            age_group: "age_group".into(),
            google_product_category: "google_product_category".into(),
        }
    }
}

impl FieldMapping {
    /// Every (field, attribute) pair, unmapped ones included.
    pub fn fields(&self) -> [(&'static str, &str); 13] {
        [
            ("title", &self.title),
            ("description", &self.description),
            ("brand", &self.brand),
            ("gtin", &self.gtin),
            ("mpn", &self.mpn),
            ("price", &self.price),
            ("sale_price", &self.sale_price),
            ("stock", &self.stock),
            ("weight", &self.weight),
            ("images", &self.images),
            ("gender", &self.gender),
            ("age_group", &self.age_group),
            ("google_product_category", &self.google_product_category),
        ]
    }

    /// The attribute mapped to `field`, if any.
    pub fn attribute(&self, field: &str) -> Option<&str> {
        self.fields()
            .into_iter()
            .find(|(name, _)| *name == field)
            .map(|(_, code)| code)
            .filter(|code| !code.is_empty())
    }

    /// Sets one field by name; false for an unknown field.
    pub fn set(&mut self, field: &str, code: String) -> bool {
        let slot = match field {
            "title" => &mut self.title,
            "description" => &mut self.description,
            "brand" => &mut self.brand,
            "gtin" => &mut self.gtin,
            "mpn" => &mut self.mpn,
            "price" => &mut self.price,
            "sale_price" => &mut self.sale_price,
            "stock" => &mut self.stock,
            "weight" => &mut self.weight,
            "images" => &mut self.images,
            "gender" => &mut self.gender,
            "age_group" => &mut self.age_group,
            "google_product_category" => &mut self.google_product_category,
            _ => return false,
        };
        *slot = code;
        true
    }
}

/// A group of attributes shown together on the product page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeGroup {
    pub code: String,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub position: i64,
}

/// The kinds of value an attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    Text,
    Textarea,
    Number,
    Boolean,
    Date,
    Select,
    Multiselect,
    Measurement,
    Price,
    Gtin,
    Url,
    Assets,
}

impl AttributeType {
    pub const ALL: [AttributeType; 12] = [
        AttributeType::Text,
        AttributeType::Textarea,
        AttributeType::Number,
        AttributeType::Boolean,
        AttributeType::Date,
        AttributeType::Select,
        AttributeType::Multiselect,
        AttributeType::Measurement,
        AttributeType::Price,
        AttributeType::Gtin,
        AttributeType::Url,
        AttributeType::Assets,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::Text => "text",
            AttributeType::Textarea => "textarea",
            AttributeType::Number => "number",
            AttributeType::Boolean => "boolean",
            AttributeType::Date => "date",
            AttributeType::Select => "select",
            AttributeType::Multiselect => "multiselect",
            AttributeType::Measurement => "measurement",
            AttributeType::Price => "price",
            AttributeType::Gtin => "gtin",
            AttributeType::Url => "url",
            AttributeType::Assets => "assets",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    pub fn has_options(self) -> bool {
        matches!(self, AttributeType::Select | AttributeType::Multiselect)
    }
}

/// Who writes an attribute: the ERP (imports only) or people in Sluice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Erp,
    Pim,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Erp => "erp",
            Owner::Pim => "pim",
        }
    }
}

/// How a change reaches master: at once (`fast`) or through approval (`reviewed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    Fast,
    Reviewed,
}

impl Lane {
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Fast => "fast",
            Lane::Reviewed => "reviewed",
        }
    }
}

/// Unit families for measurements; conversions stay inside a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitFamily {
    Weight,
    Length,
    Volume,
}

impl UnitFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitFamily::Weight => "weight",
            UnitFamily::Length => "length",
            UnitFamily::Volume => "volume",
        }
    }
}

/// Validation rules. Which apply depends on the type; required-ness comes
/// from families, not from here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// text, textarea (characters, after sanitizing), url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// text: a regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// number, measurement amount, price amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Decimal>,
    /// number, measurement: most digits after the decimal point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u32>,
    /// measurement: the family every value's unit must belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_family: Option<UnitFamily>,
    /// measurement: the unit values are shown and compared in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_unit: Option<String>,
    /// multiselect, assets: fewest and most entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u32>,
    /// assets: the smallest image width and height (pixels) that counts
    /// for readiness and reaches a channel's image links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_height: Option<u32>,
    /// assets: only approved assets count for readiness (the default,
    /// `None`, is true). `false` lets pending ones count too; feeds carry
    /// approved assets only either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_only: Option<bool>,
}

impl Validation {
    /// Whether only approved assets count for readiness (default true).
    pub fn approved_only(&self) -> bool {
        self.approved_only.unwrap_or(true)
    }

    /// An asset's rule about size: (min width, min height), when set.
    pub fn min_size(&self) -> Option<(u32, u32)> {
        (self.min_width.is_some() || self.min_height.is_some())
            .then(|| (self.min_width.unwrap_or(0), self.min_height.unwrap_or(0)))
    }
}

/// An option of a select or multiselect attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeOption {
    pub code: String,
    #[serde(default)]
    pub labels: Labels,
}

/// An attribute: what a product value means and what it may hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub code: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
    #[serde(default)]
    pub labels: Labels,
    pub group: String,
    #[serde(default)]
    pub localizable: bool,
    #[serde(default)]
    pub scopable: bool,
    pub owner: Owner,
    pub lane: Lane,
    #[serde(default)]
    pub validation: Validation,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<AttributeOption>,
    #[serde(default)]
    pub position: i64,
}

impl Attribute {
    /// The label in `locale`, else English, else the code.
    pub fn label(&self, locale: &str) -> &str {
        self.labels
            .get(locale)
            .or_else(|| self.labels.get("en_US"))
            .map_or(self.code.as_str(), String::as_str)
    }
}

/// The attribute set of a kind of product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub code: String,
    #[serde(default)]
    pub labels: Labels,
    /// Every attribute a product of this family may hold.
    pub attributes: Vec<String>,
    /// Per channel, the attributes that must be present for it.
    #[serde(default)]
    pub requirements: BTreeMap<String, Vec<String>>,
    /// 0 to 3 select attributes that distinguish the variants of a model.
    #[serde(default)]
    pub variant_axes: Vec<String>,
    /// Attributes that live on the variant level (besides the axes).
    #[serde(default)]
    pub variant_attributes: Vec<String>,
}

/// A node of a category tree; `parent` is `None` for a root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub position: i64,
}

/// The whole schema at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    #[serde(default)]
    pub locales: Vec<Locale>,
    #[serde(default)]
    pub currencies: Vec<Currency>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub groups: Vec<AttributeGroup>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub families: Vec<Family>,
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Rendition sizes; empty means [`default_media_presets`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_presets: Vec<MediaPreset>,
    /// The stored schema's version when it was loaded; 0 for a schema read
    /// from a file. Writes validated against a schema check it still holds.
    #[serde(skip)]
    pub version: i64,
    #[serde(skip)]
    pub lookup: Lookup,
}

/// Where each attribute and family sits in its list, built on first use
/// (an import looks attributes up millions of times). Every answer is
/// checked against the list, and a miss falls back to a scan, so a list
/// changed after the first lookup still answers right. Not compared, not
/// cloned (a clone builds its own).
#[derive(Debug, Default)]
pub struct Lookup {
    attributes: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
    families: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

impl Clone for Lookup {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for Lookup {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Lookup {}

fn positions<'a>(codes: impl Iterator<Item = &'a str>) -> std::collections::HashMap<String, usize> {
    codes
        .enumerate()
        .map(|(i, code)| (code.to_owned(), i))
        .collect()
}

impl Schema {
    /// The schema's media presets, or the defaults when it names none.
    pub fn presets(&self) -> std::borrow::Cow<'_, [MediaPreset]> {
        if self.media_presets.is_empty() {
            std::borrow::Cow::Owned(default_media_presets())
        } else {
            std::borrow::Cow::Borrowed(&self.media_presets)
        }
    }

    /// One preset by code.
    pub fn preset(&self, code: &str) -> Option<MediaPreset> {
        self.presets().iter().find(|p| p.code == code).cloned()
    }

    pub fn attribute(&self, code: &str) -> Option<&Attribute> {
        let index = self
            .lookup
            .attributes
            .get_or_init(|| positions(self.attributes.iter().map(|a| a.code.as_str())));
        match index.get(code).and_then(|i| self.attributes.get(*i)) {
            Some(found) if found.code == code => Some(found),
            _ => self.attributes.iter().find(|a| a.code == code),
        }
    }

    pub fn family(&self, code: &str) -> Option<&Family> {
        let index = self
            .lookup
            .families
            .get_or_init(|| positions(self.families.iter().map(|f| f.code.as_str())));
        match index.get(code).and_then(|i| self.families.get(*i)) {
            Some(found) if found.code == code => Some(found),
            _ => self.families.iter().find(|f| f.code == code),
        }
    }

    pub fn channel(&self, code: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.code == code)
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    pub fn has_locale(&self, code: &str) -> bool {
        self.locales.iter().any(|l| l.code == code)
    }

    pub fn currency(&self, code: &str) -> Option<&Currency> {
        self.currencies.iter().find(|c| c.code == code)
    }

    /// True when `code` is `ancestor` or lies below it.
    pub fn category_within(&self, code: &str, ancestor: &str) -> bool {
        let mut current = Some(code);
        let mut steps = 0;
        while let Some(at) = current {
            if at == ancestor {
                return true;
            }
            steps += 1;
            if steps > 1000 {
                return false;
            }
            current = self.category(at).and_then(|c| c.parent.as_deref());
        }
        false
    }
}

/// Codes of locales, channels, attributes, families, categories, options:
/// lower-case letters, digits and `_`, starting with a letter, 1–100 long.
/// Locales are `xx_YY`, currencies three upper-case letters.
pub fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 100
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub fn is_locale_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 5
        && bytes[0].is_ascii_lowercase()
        && bytes[1].is_ascii_lowercase()
        && bytes[2] == b'_'
        && bytes[3].is_ascii_uppercase()
        && bytes[4].is_ascii_uppercase()
}

pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_with(codes: &[&str]) -> Schema {
        let text: String = codes
            .iter()
            .map(|c| {
                format!("[[attributes]]\ncode = \"{c}\"\ntype = \"text\"\ngroup = \"g\"\nowner = \"pim\"\nlane = \"fast\"\n")
            })
            .collect();
        toml::from_str(&text).expect("schema")
    }

    /// The lookup index never answers wrong, even when the lists change after
    /// it was built, and a clone builds its own.
    #[test]
    fn lookups_follow_changes_to_the_lists() {
        let mut schema = schema_with(&["a", "b", "c"]);
        assert_eq!(schema.attribute("b").map(|a| a.code.as_str()), Some("b"));
        schema.attributes.remove(0);
        assert_eq!(schema.attribute("b").map(|a| a.code.as_str()), Some("b"));
        assert!(schema.attribute("a").is_none());
        let mut extra = schema.attributes[0].clone();
        extra.code = "d".to_owned();
        schema.attributes.push(extra);
        assert_eq!(schema.attribute("d").map(|a| a.code.as_str()), Some("d"));
        let copy = schema.clone();
        assert_eq!(copy.attribute("c").map(|a| a.code.as_str()), Some("c"));
        assert_eq!(copy, schema);
    }
}
