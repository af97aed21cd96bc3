//! The demo products: apparel models with color/size variants, footwear
//! models with shoe-size variants and simple electronics, generated from a
//! fixed seed so every demo folder holds the same catalog.
//!
//! The catalog is deliberately uneven, like a real one: most products are
//! complete on every channel, but some lack German or French copy, some
//! variants have no GTIN yet (so Google cannot take them), a few products
//! are disabled and a few sit in no category. Everything is written through
//! the single write path, as the ERP and people would write it.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::SeedError;
use crate::audit::Actor;
use crate::catalog::gtin;
use crate::catalog::product::{ProductKind, ValueKey};
use crate::catalog::schema::Schema;
use crate::catalog::store;
use crate::db::{Clock, Db};
use crate::workflow::write::{self, NewProduct, ValueChange, Writer};

/// The seed of the demo catalog: change it and every demo folder changes.
const SEED: u64 = 0x51_01CE_DE70;

const APPAREL_MODELS: usize = 60;
const FOOTWEAR_MODELS: usize = 40;
const ELECTRONICS_PRODUCTS: usize = 80;

/// The catalog's locales, in the order of every three-text list.
const LOCALES: [&str; 3] = ["en_US", "de_DE", "fr_FR"];

/// Creates the demo products in one transaction, unless the catalog already
/// holds products: then nothing is written and 0 is returned. Checking and
/// seeding in one transaction (serialized per database) keeps two demo
/// starts from seeding twice, and a failed seed leaves no half catalog.
pub async fn seed_products(db: &Db, schema: &Schema, clock: &Clock) -> Result<usize, SeedError> {
    let products = demo_products(schema)?;
    let mut tx = db.begin_write().await?;
    db.lock_key(&mut tx, "demo.seed_products").await?;
    let existing = store::product_count(&mut *tx).await?;
    if existing > 0 {
        return Ok(0);
    }
    let writer = Writer::System(Actor::system("sluice demo"));
    let count = products.len();
    for product in products {
        write::create_in(&mut tx, schema, &writer, product, clock.now())
            .await
            .map_err(SeedError::Products)?;
    }
    tx.commit().await?;
    Ok(count)
}

/// Every demo product, models before their variants. Labels of options
/// (colors, materials …) come from `schema`, so copy and schema agree.
pub fn demo_products(schema: &Schema) -> Result<Vec<NewProduct>, toml::de::Error> {
    let tables = Tables::parse()?;
    let mut seeder = Seeder {
        rng: StdRng::seed_from_u64(SEED),
        schema,
        tables: &tables,
        ean: 0,
        upc: 0,
        products: Vec::new(),
    };
    seeder.apparel();
    seeder.footwear();
    seeder.electronics();
    Ok(seeder.products)
}

// ------------------------------------------------------------------ tables

/// The tables in `products.toml`: the kinds of garments, shoes and devices,
/// and the names, colors and copy products are drawn from.
const TABLES_TOML: &str = include_str!("products.toml");

/// A text in English, German and French (the order of [`LOCALES`]).
type Tr = [String; 3];

#[derive(Debug, Deserialize)]
struct Tables {
    apparel_lines: Vec<String>,
    apparel_brands: Vec<String>,
    apparel_colors: Vec<String>,
    sizes: Vec<String>,
    /// Weight of each size relative to M, in percent.
    size_weight: Vec<u32>,
    care: Vec<Tr>,
    shoe_brands: Vec<String>,
    shoe_colors: Vec<String>,
    shoe_care: Tr,
    device_series: Vec<String>,
    device_models: Vec<String>,
    device_colors: Vec<String>,
    audiences: Audiences,
    garments: Vec<Garment>,
    apparel_features: Vec<Features>,
    shoes: Vec<Shoe>,
    shoe_features: Vec<Features>,
    devices: Vec<Device>,
}

impl Tables {
    fn parse() -> Result<Self, toml::de::Error> {
        toml::from_str(TABLES_TOML)
    }
}

#[derive(Debug, Deserialize)]
struct Garment {
    name: Tr,
    category: String,
    google_category: String,
    hs_code: String,
    materials: Vec<String>,
    /// Weight of size M, in grams.
    grams: u32,
    /// Whole-dollar prices to choose from.
    prices: Vec<u32>,
    /// An index into `care`.
    care: usize,
}

/// The feature bullets of a category's products.
#[derive(Debug, Deserialize)]
struct Features {
    category: String,
    features: Vec<Tr>,
}

/// The features for `category`; the first list serves a category not listed.
fn features_for<'t>(lists: &'t [Features], category: &str) -> &'t [Tr] {
    lists
        .iter()
        .find(|list| list.category == category)
        .or(lists.first())
        .map_or(&[], |list| &list.features)
}

#[derive(Debug, Deserialize)]
struct Audiences {
    men: Audience,
    women: Audience,
    unisex: Audience,
    kids: Audience,
}

/// Gender (and age group) of a model, with the suffix its name carries.
#[derive(Debug, Deserialize)]
struct Audience {
    gender: String,
    age_group: String,
    suffix: Tr,
}

#[derive(Debug, Deserialize)]
struct Shoe {
    line: String,
    category: String,
    hs_code: String,
    waterproof: bool,
    materials: Vec<String>,
    grams: u32,
    prices: Vec<u32>,
}

#[derive(Debug, Deserialize)]
struct Device {
    name: Tr,
    category: String,
    google_category: Option<String>,
    hs_code: String,
    brands: Vec<String>,
    prices: Vec<u32>,
    /// Power in tenths of a watt; `None` for things that draw none (the
    /// family still requires it on the web: those stay incomplete there).
    deciwatts: Option<(u32, u32)>,
    battery_mah: Option<(u32, u32)>,
    battery_hours: Option<(u32, u32)>,
    screens: Vec<String>,
    connectivity: Vec<String>,
    grams: (u32, u32),
    /// Length, width, height in millimeters.
    size_mm: (u32, u32, u32),
    warranty: u32,
    features: Vec<Tr>,
}

/// A random entry of `list`, or `fallback` when it is empty.
fn pick<'t>(rng: &mut StdRng, list: &'t [String], fallback: &'t str) -> &'t str {
    list.choose(rng).map_or(fallback, String::as_str)
}

/// Borrowed texts, for functions and JSON that take `&str`s.
fn strs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

// ----------------------------------------------------------------- seeder

/// How much copy a product has in the other locales: most have all of it,
/// some miss German, some everything but English.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Coverage {
    Full,
    NoGerman,
    EnglishOnly,
}

impl Coverage {
    fn draw(rng: &mut StdRng) -> Self {
        match rng.gen_range(0..100) {
            0..75 => Coverage::Full,
            75..88 => Coverage::NoGerman,
            _ => Coverage::EnglishOnly,
        }
    }

    fn has(self, locale: usize) -> bool {
        match self {
            Coverage::Full => true,
            Coverage::NoGerman => locale != 1,
            Coverage::EnglishOnly => locale == 0,
        }
    }
}

/// The values of one product being built.
#[derive(Default)]
struct Draft {
    values: Vec<ValueChange>,
}

impl Draft {
    fn put(&mut self, attribute: &str, locale: Option<&str>, channel: Option<&str>, data: Json) {
        self.values.push(ValueChange {
            key: ValueKey::new(attribute, locale, channel),
            data: Some(data),
        });
    }

    fn set(&mut self, attribute: &str, data: Json) {
        self.put(attribute, None, None, data);
    }

    /// One value per locale, for the locales `coverage` has.
    fn localized(&mut self, attribute: &str, texts: &[String; 3], coverage: Coverage) {
        for (index, text) in texts.iter().enumerate() {
            if coverage.has(index) {
                self.put(
                    attribute,
                    Some(LOCALES[index]),
                    None,
                    Json::from(text.as_str()),
                );
            }
        }
    }
}

/// What differs between otherwise alike products: the deliberate gaps.
struct Shape {
    coverage: Coverage,
    enabled: bool,
    categorized: bool,
    has_brand: bool,
    has_gtin: bool,
}

impl Shape {
    fn draw(rng: &mut StdRng, missing_gtin_percent: u32) -> Self {
        Shape {
            coverage: Coverage::draw(rng),
            enabled: rng.gen_range(0..100) >= 5,
            categorized: rng.gen_range(0..100) >= 4,
            has_brand: rng.gen_range(0..100) >= 3,
            has_gtin: rng.gen_range(0..100) >= missing_gtin_percent,
        }
    }
}

struct Seeder<'a> {
    rng: StdRng,
    schema: &'a Schema,
    tables: &'a Tables,
    ean: u32,
    upc: u32,
    products: Vec<NewProduct>,
}

impl Seeder<'_> {
    /// An option's label in each locale (the code when the schema has none).
    fn option_label(&self, attribute: &str, code: &str) -> [String; 3] {
        let option = self
            .schema
            .attribute(attribute)
            .and_then(|a| a.options.iter().find(|o| o.code == code));
        LOCALES.map(|locale| {
            option
                .and_then(|o| o.labels.get(locale).or_else(|| o.labels.get("en_US")))
                .cloned()
                .unwrap_or_else(|| code.to_owned())
        })
    }

    /// Labels of several options joined as a list, per locale.
    fn option_list(&self, attribute: &str, codes: &[&str]) -> [String; 3] {
        let labels: Vec<[String; 3]> = codes
            .iter()
            .map(|code| self.option_label(attribute, code))
            .collect();
        let joiners = [" and ", " und ", " et "];
        [0, 1, 2].map(|locale| {
            let words: Vec<String> = labels
                .iter()
                .enumerate()
                // German nouns keep their capital letter inside a sentence.
                .map(|(i, label)| {
                    if i == 0 || locale == 1 {
                        label[locale].clone()
                    } else {
                        label[locale].to_lowercase()
                    }
                })
                .collect();
            match words.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{}{}{last}", rest.join(", "), joiners[locale]),
                None => String::new(),
            }
        })
    }

    /// The next EAN-13 of the demo company prefix, check digit included.
    fn next_ean(&mut self) -> String {
        self.ean += 1;
        with_check_digit(&format!("4012345{:05}", self.ean))
    }

    /// The next UPC-A (12 digits), as US electronics brands print them.
    fn next_upc(&mut self) -> String {
        self.upc += 1;
        with_check_digit(&format!("08451{:06}", self.upc))
    }

    fn price_pair(&mut self, dollars: &[u32]) -> (u32, u32) {
        let whole = dollars.choose(&mut self.rng).copied().unwrap_or(49);
        let cents = if self.rng.gen_bool(0.7) { 95 } else { 0 };
        let usd = whole * 100 + cents;
        // Euro list prices: about 92% of the dollar price, ending in .95 or .00 too.
        let eur = usd * 92 / 10_000 * 100 + cents;
        (usd, eur)
    }

    /// Marketing values every kind of product may carry: dates, badges, boosts, sale prices.
    fn marketing(&mut self, draft: &mut Draft, sku: &str, usd: u32, eur: u32) {
        let year = self.rng.gen_range(2022..=2025);
        let date = format!(
            "{year}-{:02}-{:02}",
            self.rng.gen_range(1..=12),
            self.rng.gen_range(1..=28)
        );
        draft.set("release_date", json!(date));
        if self.rng.gen_bool(0.8) {
            draft.set("is_new", json!(year == 2025));
        }
        let on_sale = self.rng.gen_bool(0.12);
        if on_sale {
            draft.set(
                "sale_price",
                price(usd * 8 / 1000 * 100 + 99, eur * 8 / 1000 * 100 + 99),
            );
        }
        let badge = if on_sale {
            Some("sale")
        } else if year == 2025 && self.rng.gen_bool(0.5) {
            Some("new")
        } else if self.rng.gen_bool(0.1) {
            ["bestseller", "limited", "eco"]
                .choose(&mut self.rng)
                .copied()
        } else {
            None
        };
        if let Some(badge) = badge {
            draft.set("promotion_badge", json!(badge));
        }
        if self.rng.gen_bool(0.2) {
            let tenths = self.rng.gen_range(5..=50);
            draft.set(
                "search_boost",
                json!(format!("{}.{}", tenths / 10, tenths % 10)),
            );
        }
        if self.rng.gen_bool(0.3) {
            draft.set(
                "product_url",
                json!(format!("https://shop.example.com/en_US/p/{sku}")),
            );
        }
    }

    /// A category's label in each locale.
    fn category_label(&self, code: &str) -> [String; 3] {
        let labels = self.schema.category(code).map(|c| &c.labels);
        LOCALES.map(|locale| {
            labels
                .and_then(|l| l.get(locale).or_else(|| l.get("en_US")))
                .cloned()
                .unwrap_or_else(|| code.to_owned())
        })
    }

    /// On about half the products, the SEO title on the web channel
    /// (English, sometimes every locale), ending in `suffix`; on more, English keywords.
    fn seo(
        &mut self,
        draft: &mut Draft,
        names: &[String; 3],
        suffix: &[String; 3],
        keywords: &str,
    ) {
        if self.rng.gen_bool(0.5) {
            let locales = if self.rng.gen_bool(0.5) { 3 } else { 1 };
            for locale in 0..locales {
                let title = format!("{} | {}", names[locale], suffix[locale]);
                if title.chars().count() <= 70 {
                    draft.put(
                        "seo_title",
                        Some(LOCALES[locale]),
                        Some("web"),
                        json!(title),
                    );
                }
            }
        }
        if self.rng.gen_bool(0.6) {
            draft.put("seo_keywords", Some(LOCALES[0]), None, json!(keywords));
        }
    }

    fn apparel(&mut self) {
        let tables = self.tables;
        let mut names_taken = BTreeSet::new();
        for index in 0..APPAREL_MODELS {
            let sku = format!("APP-{}", 1001 + index);
            let garment = &tables.garments[self.rng.gen_range(0..tables.garments.len())];
            let audience = match self.rng.gen_range(0..100) {
                0..40 => &tables.audiences.men,
                40..80 => &tables.audiences.women,
                80..92 => &tables.audiences.unisex,
                _ => &tables.audiences.kids,
            };
            let mut line = pick(&mut self.rng, &tables.apparel_lines, "Essential");
            while !names_taken.insert((line, &garment.name[0], &audience.suffix[0])) {
                line = pick(&mut self.rng, &tables.apparel_lines, "Essential");
            }
            let brand = pick(&mut self.rng, &tables.apparel_brands, "northwind");
            let shape = Shape::draw(&mut self.rng, 12);
            let (usd, eur) = self.price_pair(&garment.prices);
            let brand_label = self.option_label("brand", brand);
            let names = [
                format!("{line} {} — {}", garment.name[0], audience.suffix[0]),
                format!("{line} {} — {}", garment.name[1], audience.suffix[1]),
                format!("{} {line} — {}", garment.name[2], audience.suffix[2]),
            ];
            let fit = *["slim", "regular", "regular", "relaxed", "oversized"]
                .choose(&mut self.rng)
                .unwrap_or(&"regular");
            let materials = strs(&garment.materials);
            let material_text = self.option_list("material", &materials);
            let fit_label = self.option_label("fit", fit);
            let features = features_for(&tables.apparel_features, &garment.category);
            let descriptions = describe(
                [
                    format!(
                        "The {} by {} is made of {}, with {} fit.",
                        names[0],
                        brand_label[0],
                        material_text[0].to_lowercase(),
                        with_article(&fit_label[0].to_lowercase())
                    ),
                    format!(
                        "{} von {}: aus {} gefertigt. Passform: {}.",
                        names[1], brand_label[1], material_text[1], fit_label[1]
                    ),
                    format!(
                        "{} de {} : en {}, coupe {}.",
                        names[2],
                        brand_label[2],
                        material_text[2].to_lowercase(),
                        fit_label[2].to_lowercase()
                    ),
                ],
                features,
            );
            let shorts = [
                format!(
                    "{} in {}.",
                    garment.name[0],
                    material_text[0].to_lowercase()
                ),
                format!("{} aus {}.", garment.name[1], material_text[1]),
                format!(
                    "{} en {}.",
                    garment.name[2],
                    material_text[2].to_lowercase()
                ),
            ];

            let mut draft = Draft::default();
            // Names are nearly always there; English-only products sometimes lack the French one too.
            let name_coverage = if shape.coverage == Coverage::EnglishOnly && self.rng.gen_bool(0.5)
            {
                Coverage::NoGerman
            } else {
                Coverage::Full
            };
            draft.localized("name", &names, name_coverage);
            draft.localized("description", &descriptions, shape.coverage);
            draft.localized("short_description", &shorts, shape.coverage);
            if let Some(care) = tables.care.get(garment.care) {
                draft.localized("care_instructions", care, shape.coverage);
            }
            if shape.has_brand {
                draft.set("brand", json!(brand));
            }
            draft.set("gender", json!(audience.gender));
            draft.set("age_group", json!(audience.age_group));
            draft.set("material", json!(materials));
            draft.set("fit", json!(fit));
            draft.set("base_price", price(usd, eur));
            draft.set("google_product_category", json!(garment.google_category));
            draft.set(
                "tax_class",
                json!(if audience.age_group == "kids" {
                    "reduced"
                } else {
                    "standard"
                }),
            );
            draft.set("hs_code", json!(garment.hs_code));
            draft.set(
                "erp_item_group",
                json!(format!("Apparel/{}", capitalized(&garment.category))),
            );
            draft.set(
                "mpn",
                json!(format!(
                    "{}-{}",
                    mpn_prefix(brand),
                    self.rng.gen_range(1000..10_000)
                )),
            );
            draft.set(
                "country_of_origin",
                json!(
                    *["pt", "vn", "bd", "tr", "cn", "in"]
                        .choose(&mut self.rng)
                        .unwrap_or(&"pt")
                ),
            );
            let keywords = format!(
                "{}, {}, {}",
                garment.name[0], brand_label[0], audience.suffix[0]
            )
            .to_lowercase();
            self.seo(&mut draft, &names, &brand_label, &keywords);
            self.marketing(&mut draft, &sku, usd, eur);
            self.model(&sku, "apparel", &garment.category, &shape, draft);

            // 1 color × 3–6 sizes, or 2 colors × 2–3 sizes: 3 to 6 variants.
            let color_count = if self.rng.gen_bool(0.5) { 1 } else { 2 };
            let colors: Vec<&str> = tables
                .apparel_colors
                .choose_multiple(&mut self.rng, color_count)
                .map(String::as_str)
                .collect();
            let size_count = if colors.len() == 1 {
                self.rng.gen_range(3..=6)
            } else {
                self.rng.gen_range(2..=3)
            };
            let first = self.rng.gen_range(0..=tables.sizes.len() - size_count);
            for color in &colors {
                for size in first..first + size_count {
                    let variant_sku = format!(
                        "{sku}-{}-{}",
                        color.to_uppercase(),
                        tables.sizes[size].to_uppercase()
                    );
                    let mut draft = Draft::default();
                    draft.set("color", json!(color));
                    draft.set("size", json!(tables.sizes[size]));
                    let relative = tables.size_weight.get(size).copied().unwrap_or(100);
                    let grams = garment.grams * relative / 100;
                    draft.set(
                        "weight",
                        json!({"amount": grams.to_string(), "unit": "GRAM"}),
                    );
                    self.stock_and_gtin(&mut draft, shape.has_gtin, false);
                    self.variant(&variant_sku, "apparel", &sku, shape.enabled, draft);
                }
            }
        }
    }

    fn footwear(&mut self) {
        let tables = self.tables;
        let mut names_taken = BTreeSet::new();
        for index in 0..FOOTWEAR_MODELS {
            let sku = format!("FTW-{}", 2001 + index);
            let shoe = &tables.shoes[self.rng.gen_range(0..tables.shoes.len())];
            let (audience, sizes) = match self.rng.gen_range(0..100) {
                0..45 => (&tables.audiences.men, 40..=47),
                45..90 => (&tables.audiences.women, 36..=42),
                _ => (&tables.audiences.unisex, 37..=46),
            };
            let mut version = self.rng.gen_range(1..=5);
            while !names_taken.insert((&shoe.line, version, &audience.gender)) {
                version += 1;
            }
            let names = audience
                .suffix
                .each_ref()
                .map(|suffix| format!("{} {version} — {suffix}", shoe.line));
            let brand = pick(&mut self.rng, &tables.shoe_brands, "stridewell");
            let brand_label = self.option_label("brand", brand);
            let color = pick(&mut self.rng, &tables.shoe_colors, "black");
            let shape = Shape::draw(&mut self.rng, 15);
            let (usd, eur) = self.price_pair(&shoe.prices);
            let material_text = self.option_list("material", &strs(&shoe.materials));
            let features = features_for(&tables.shoe_features, &shoe.category);
            let kind: [&str; 3] = match shoe.category.as_str() {
                "running" => ["running shoe", "Laufschuh", "chaussure de running"],
                _ => ["hiking shoe", "Wanderschuh", "chaussure de randonnée"],
            };
            let descriptions = describe(
                [
                    format!(
                        "The {} is a {} by {}, built from {}.",
                        names[0],
                        kind[0],
                        brand_label[0],
                        material_text[0].to_lowercase()
                    ),
                    format!(
                        "Der {} ist ein {} von {}, gefertigt aus {}.",
                        names[1], kind[1], brand_label[1], material_text[1]
                    ),
                    format!(
                        "La {} est une {} signée {}, en {}.",
                        names[2],
                        kind[2],
                        brand_label[2],
                        material_text[2].to_lowercase()
                    ),
                ],
                features,
            );
            let shorts = [
                format!(
                    "{} {} from {}.",
                    capitalized(kind[0]),
                    shoe.line,
                    brand_label[0]
                ),
                format!("{} {} von {}.", kind[1], shoe.line, brand_label[1]),
                format!(
                    "{} {} de {}.",
                    capitalized(kind[2]),
                    shoe.line,
                    brand_label[2]
                ),
            ];

            let mut draft = Draft::default();
            draft.localized("name", &names, Coverage::Full);
            draft.localized("description", &descriptions, shape.coverage);
            draft.localized("short_description", &shorts, shape.coverage);
            draft.localized("care_instructions", &tables.shoe_care, shape.coverage);
            if shape.has_brand {
                draft.set("brand", json!(brand));
            }
            draft.set("color", json!(color));
            draft.set("gender", json!(audience.gender));
            draft.set("age_group", json!(audience.age_group));
            draft.set("material", json!(shoe.materials));
            draft.set("waterproof", json!(shoe.waterproof));
            let drop_tenths = *[40, 60, 80, 100, 45].choose(&mut self.rng).unwrap_or(&80);
            draft.set(
                "heel_drop",
                json!({"amount": decimal(drop_tenths, 1), "unit": "MILLIMETER"}),
            );
            let grams = shoe.grams + self.rng.gen_range(0..60);
            draft.set(
                "weight",
                json!({"amount": decimal(grams, 3), "unit": "KILOGRAM"}),
            );
            draft.set("base_price", price(usd, eur));
            draft.set("google_product_category", json!("187"));
            draft.set("tax_class", json!("standard"));
            draft.set("hs_code", json!(shoe.hs_code));
            draft.set(
                "erp_item_group",
                json!(format!("Footwear/{}", capitalized(&shoe.category))),
            );
            draft.set(
                "mpn",
                json!(format!(
                    "{}-{}",
                    mpn_prefix(brand),
                    self.rng.gen_range(1000..10_000)
                )),
            );
            draft.set(
                "country_of_origin",
                json!(
                    *["vn", "cn", "it", "pt"]
                        .choose(&mut self.rng)
                        .unwrap_or(&"vn")
                ),
            );
            let keywords = format!("{}, {}, {}", kind[0], brand_label[0], shoe.line).to_lowercase();
            self.seo(&mut draft, &names, &brand_label, &keywords);
            self.marketing(&mut draft, &sku, usd, eur);
            self.model(&sku, "footwear", &shoe.category, &shape, draft);

            // 4–8 consecutive sizes inside the audience's range.
            let (low, high) = (*sizes.start(), *sizes.end());
            let count = self.rng.gen_range(4..=8).min(high - low + 1);
            let first = self.rng.gen_range(low..=high + 1 - count);
            for size in first..first + count {
                let mut draft = Draft::default();
                draft.set("shoe_size", json!(size.to_string()));
                self.stock_and_gtin(&mut draft, shape.has_gtin, false);
                self.variant(
                    &format!("{sku}-{size}"),
                    "footwear",
                    &sku,
                    shape.enabled,
                    draft,
                );
            }
        }
    }

    fn electronics(&mut self) {
        let tables = self.tables;
        let mut names_taken = BTreeSet::new();
        for index in 0..ELECTRONICS_PRODUCTS {
            let sku = format!("ELE-{}", 3001 + index);
            let device = &tables.devices[self.rng.gen_range(0..tables.devices.len())];
            let brand = pick(&mut self.rng, &device.brands, "voltaic");
            let brand_label = self.option_label("brand", brand);
            let mut series;
            let mut model;
            loop {
                series = pick(&mut self.rng, &tables.device_series, "Nova");
                model = pick(&mut self.rng, &tables.device_models, "100");
                if names_taken.insert((brand, series, model, &device.name[0])) {
                    break;
                }
            }
            let screen = device.screens.choose(&mut self.rng).map(String::as_str);
            // 15.6" in English, 15,6" in German and French.
            let screen_text = [".", ",", ","].map(|point| {
                screen.map_or_else(String::new, |inches| {
                    format!("{}\" ", inches.replace('.', point))
                })
            });
            let names = [
                format!(
                    "{} {series} {model} {}{}",
                    brand_label[0], screen_text[0], device.name[0]
                ),
                format!(
                    "{} {series} {model} {}{}",
                    brand_label[1], screen_text[1], device.name[1]
                ),
                format!(
                    "{} {}{} {series} {model}",
                    device.name[2], screen_text[2], brand_label[2]
                ),
            ];
            let shape = Shape::draw(&mut self.rng, 15);
            let (usd, eur) = self.price_pair(&device.prices);
            let color = pick(&mut self.rng, &tables.device_colors, "black");
            let color_label = self.option_label("color", color);
            let warranty = device.warranty + u32::from(self.rng.gen_bool(0.2));
            let descriptions = describe(
                [
                    format!(
                        "The {} in {} comes with a {warranty}-year warranty.",
                        names[0],
                        color_label[0].to_lowercase()
                    ),
                    format!(
                        "{} in {}, mit {warranty} Jahren Garantie.",
                        names[1], color_label[1]
                    ),
                    format!(
                        "{} coloris {}, garanti {warranty} ans.",
                        names[2],
                        color_label[2].to_lowercase()
                    ),
                ],
                &device.features,
            );
            let shorts = [
                format!("{} by {}.", device.name[0], brand_label[0]),
                format!("{} von {}.", device.name[1], brand_label[1]),
                format!("{} de {}.", device.name[2], brand_label[2]),
            ];

            let mut draft = Draft::default();
            draft.localized("name", &names, Coverage::Full);
            draft.localized("description", &descriptions, shape.coverage);
            draft.localized("short_description", &shorts, shape.coverage);
            if shape.has_brand {
                draft.set("brand", json!(brand));
            }
            draft.set("color", json!(color));
            draft.set("warranty_years", json!(warranty.to_string()));
            if let Some((low, high)) = device.deciwatts {
                draft.set(
                    "power_watts",
                    json!(decimal(self.rng.gen_range(low..=high), 1)),
                );
            }
            if let Some((low, high)) = device.battery_mah {
                draft.set(
                    "battery_capacity",
                    json!((self.rng.gen_range(low..=high) / 10 * 10).to_string()),
                );
            }
            if let Some((low, high)) = device.battery_hours {
                draft.set(
                    "battery_life_hours",
                    json!(decimal(self.rng.gen_range(low..=high) / 5 * 5, 1)),
                );
            }
            if let Some(inches) = screen {
                draft.set("screen_size", json!({"amount": inches, "unit": "INCH"}));
            }
            if !device.connectivity.is_empty() {
                let all = device.connectivity.len();
                let count = self.rng.gen_range(all.div_ceil(2)..=all);
                let mut chosen: Vec<&str> = device
                    .connectivity
                    .choose_multiple(&mut self.rng, count)
                    .map(String::as_str)
                    .collect();
                chosen.sort_unstable();
                draft.set("connectivity", json!(chosen));
            }
            if device.category == "audio" {
                draft.set("waterproof", json!(self.rng.gen_bool(0.3)));
            }
            draft.set(
                "manufacturer_url",
                json!(format!(
                    "https://www.{}.example.com/products/{}",
                    brand.replace('_', "-"),
                    slug(&names[0])
                )),
            );
            let grams = self.rng.gen_range(device.grams.0..=device.grams.1);
            // The ERP sends small things in grams and big ones in kilograms.
            let weight = if grams < 1000 {
                json!({"amount": grams.to_string(), "unit": "GRAM"})
            } else {
                json!({"amount": decimal(grams, 3), "unit": "KILOGRAM"})
            };
            draft.set("weight", weight);
            // Sizes vary by up to a tenth around the kind's typical size.
            let (length, width, height) = device.size_mm;
            let [length, width, height] =
                [length, width, height].map(|mm| mm * self.rng.gen_range(90..=110) / 100);
            draft.set(
                "length",
                json!({"amount": decimal(length, 1), "unit": "CENTIMETER"}),
            );
            draft.set(
                "width",
                json!({"amount": decimal(width, 1), "unit": "CENTIMETER"}),
            );
            draft.set(
                "height",
                json!({"amount": decimal(height, 1), "unit": "CENTIMETER"}),
            );
            // Packed volume: the product's box plus a fifth, in hundredths of a liter.
            let centiliters =
                u64::from(length) * u64::from(width) * u64::from(height) * 12 / 100_000;
            draft.set("package_volume", json!({"amount": decimal(u32::try_from(centiliters.max(1)).unwrap_or(u32::MAX), 2), "unit": "LITER"}));
            draft.set("base_price", price(usd, eur));
            if let Some(category) = &device.google_category {
                draft.set("google_product_category", json!(category));
            }
            draft.set("tax_class", json!("standard"));
            draft.set("hs_code", json!(device.hs_code));
            draft.set(
                "erp_item_group",
                json!(format!("Electronics/{}", capitalized(&device.category))),
            );
            draft.set(
                "mpn",
                json!(format!(
                    "{}-{}-{}",
                    mpn_prefix(brand),
                    series.to_uppercase(),
                    model.to_uppercase()
                )),
            );
            draft.set(
                "country_of_origin",
                json!(
                    *["cn", "tw", "vn", "de", "us"]
                        .choose(&mut self.rng)
                        .unwrap_or(&"cn")
                ),
            );
            // Device names carry the brand already; their SEO titles end in the category.
            let keywords =
                format!("{}, {}, {series}", device.name[0], brand_label[0]).to_lowercase();
            let category_label = self.category_label(&device.category);
            self.seo(&mut draft, &names, &category_label, &keywords);
            self.marketing(&mut draft, &sku, usd, eur);
            self.stock_and_gtin(&mut draft, shape.has_gtin, true);
            self.products.push(NewProduct {
                sku,
                kind: ProductKind::Simple,
                family: "electronics".to_owned(),
                parent: None,
                enabled: shape.enabled,
                categories: if shape.categorized {
                    vec![device.category.clone()]
                } else {
                    Vec::new()
                },
                values: draft.values,
            });
        }
    }

    fn stock_and_gtin(&mut self, draft: &mut Draft, has_gtin: bool, upc: bool) {
        let stock = if self.rng.gen_bool(0.1) {
            0
        } else {
            self.rng.gen_range(1..=240)
        };
        draft.set("stock", json!(stock.to_string()));
        if has_gtin {
            let gtin = if upc && self.rng.gen_bool(0.4) {
                self.next_upc()
            } else {
                self.next_ean()
            };
            draft.set("gtin", json!(gtin));
        }
    }

    fn model(&mut self, sku: &str, family: &str, category: &str, shape: &Shape, draft: Draft) {
        self.products.push(NewProduct {
            sku: sku.to_owned(),
            kind: ProductKind::Model,
            family: family.to_owned(),
            parent: None,
            enabled: shape.enabled,
            categories: if shape.categorized {
                vec![category.to_owned()]
            } else {
                Vec::new()
            },
            values: draft.values,
        });
    }

    fn variant(&mut self, sku: &str, family: &str, model: &str, model_enabled: bool, draft: Draft) {
        // A few sizes or colors are discontinued while the model lives on.
        let enabled = model_enabled && self.rng.gen_range(0..100) >= 3;
        self.products.push(NewProduct {
            sku: sku.to_owned(),
            kind: ProductKind::Variant,
            family: family.to_owned(),
            parent: Some(model.to_owned()),
            enabled,
            categories: Vec::new(),
            values: draft.values,
        });
    }
}

// ----------------------------------------------------------------- helpers

/// An HTML description: an opening paragraph and a list of features.
fn describe(intro: [String; 3], features: &[Tr]) -> [String; 3] {
    [0, 1, 2].map(|locale| {
        let items: String = features
            .iter()
            .map(|f| format!("<li>{}</li>", f[locale]))
            .collect();
        format!("<p>{}</p><ul>{items}</ul>", intro[locale])
    })
}

/// A price in both currencies, from cents.
fn price(usd_cents: u32, eur_cents: u32) -> Json {
    json!([
        {"amount": decimal(usd_cents, 2), "currency": "USD"},
        {"amount": decimal(eur_cents, 2), "currency": "EUR"},
    ])
}

/// `units` as a decimal with `places` digits after the point: (1295, 2) → "12.95".
fn decimal(units: u32, places: u32) -> String {
    let scale = 10u32.pow(places);
    if places == 0 {
        units.to_string()
    } else {
        format!(
            "{}.{:0width$}",
            units / scale,
            units % scale,
            width = places as usize
        )
    }
}

/// Appends the GTIN check digit to `data` (digits only, as the demo makes them).
fn with_check_digit(data: &str) -> String {
    match gtin::check_digit(data) {
        Some(digit) => format!("{data}{digit}"),
        None => data.to_owned(),
    }
}

/// "a regular", "an oversized".
fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

fn mpn_prefix(brand: &str) -> String {
    brand
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(3)
        .collect::<String>()
        .to_uppercase()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Lower-case letters and digits joined by dashes: "Aria 300 Headphones" → "aria-300-headphones".
fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_the_gs1_examples() {
        assert_eq!(with_check_digit("002500004498"), "0025000044984");
        assert_eq!(with_check_digit("400638133393"), "4006381333931");
        assert_eq!(with_check_digit("03600029145"), "036000291452");
    }

    #[test]
    fn decimals_keep_their_places() {
        assert_eq!(decimal(1295, 2), "12.95");
        assert_eq!(decimal(5, 2), "0.05");
        assert_eq!(decimal(640, 3), "0.640");
        assert_eq!(decimal(42, 0), "42");
    }

    #[test]
    fn the_demo_catalog_is_deterministic_and_unique() {
        let schema = crate::demo::catalog_schema().expect("the demo schema parses");
        let first = demo_products(&schema).expect("the tables parse");
        let second = demo_products(&schema).expect("the tables parse");
        let skus: Vec<&str> = first.iter().map(|p| p.sku.as_str()).collect();
        assert_eq!(
            skus,
            second.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>()
        );
        let unique: BTreeSet<String> = skus.iter().map(|s| s.to_lowercase()).collect();
        assert_eq!(
            unique.len(),
            skus.len(),
            "SKUs are unique case-insensitively"
        );
        assert!((300..1000).contains(&skus.len()), "{} products", skus.len());
    }

    /// Every product's fields and values, in order, as SHA-256: moving the
    /// tables to `products.toml` had to leave the demo catalog as it was.
    fn fingerprint(products: &[NewProduct]) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for product in products {
            hasher.update(format!(
                "{}|{}|{}|{:?}|{}|{:?}\n",
                product.sku,
                product.kind.as_str(),
                product.family,
                product.parent,
                product.enabled,
                product.categories
            ));
            for value in &product.values {
                hasher.update(format!(
                    "  {}|{:?}|{:?}|{}\n",
                    value.key.attribute,
                    value.key.locale,
                    value.key.channel,
                    value.data.as_ref().map(Json::to_string).unwrap_or_default()
                ));
            }
        }
        hex::encode(hasher.finalize())
    }

    #[test]
    fn the_demo_catalog_is_the_one_it_always_was() {
        let schema = crate::demo::catalog_schema().expect("the demo schema parses");
        let products = demo_products(&schema).expect("the tables parse");
        let values: usize = products.iter().map(|p| p.values.len()).sum();
        // Measured on the tables as Rust constants, before the move.
        assert_eq!((products.len(), values), (725, 7642));
        assert_eq!(
            fingerprint(&products),
            "28dba1d52afc8c95ea84d98782228734acc6fa39f7c8bd781f14db044c3e7ce8"
        );
    }
}
