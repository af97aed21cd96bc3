//! Readiness: whether a product may reach a channel, per locale of the
//! channel, and if not, every reason, each naming what to fix. Pure: the
//! publisher stores the verdicts (`product_readiness`) and acts on them.
//!
//! Two kinds of reasons, because they lead to different outcomes:
//! - *assignment* (disabled, model disabled, outside the channel's category
//!   tree): the product does not belong in the channel, so a published one
//!   gets a `delete` event;
//! - *content* (a required value missing or invalid, a format limit broken):
//!   the product belongs but is not ready, so a published one is *held* at
//!   its last good snapshot.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use super::images::LinkedAssets;
use super::images::{self, Rules};

// Re-exported: callers that read a value as readiness judges it keep this path.
pub use super::on_channel::resolve;
use crate::catalog::completeness::{has_value, on_level};
use crate::catalog::product::{Product, ProductKind, Values};
use crate::catalog::schema::{Attribute, AttributeType, Channel, OutputFormat, Schema};
use crate::catalog::values;

/// Why a product is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    Disabled,
    ModelDisabled,
    NotInChannel,
    Missing,
    Invalid,
    TooLong,
}

impl ReasonKind {
    /// Assignment reasons take a product out of the channel (a delete);
    /// content reasons hold it.
    pub fn is_assignment(self) -> bool {
        matches!(
            self,
            ReasonKind::Disabled | ReasonKind::ModelDisabled | ReasonKind::NotInChannel
        )
    }
}

/// One missing or invalid piece, with the attribute and locale to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub kind: ReasonKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub message: String,
}

impl Reason {
    fn new(
        kind: ReasonKind,
        attribute: Option<&str>,
        locale: Option<&str>,
        message: String,
    ) -> Self {
        Self {
            kind,
            attribute: attribute.map(str::to_owned),
            locale: locale.map(str::to_owned),
            message,
        }
    }
}

/// The verdict for one locale of one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocaleReadiness {
    pub locale: String,
    pub reasons: Vec<Reason>,
}

impl LocaleReadiness {
    pub fn ready(&self) -> bool {
        self.reasons.is_empty()
    }

    /// How many required values are missing (the grid's "missing for" filter).
    pub fn missing_count(&self) -> usize {
        self.reasons
            .iter()
            .filter(|r| r.kind == ReasonKind::Missing)
            .count()
    }
}

/// The verdict for one channel: one entry per channel locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReadiness {
    pub channel: String,
    pub locales: Vec<LocaleReadiness>,
}

impl ChannelReadiness {
    /// Ready in every locale of the channel: what publishing needs.
    pub fn ready(&self) -> bool {
        self.locales.iter().all(LocaleReadiness::ready)
    }

    /// Enabled and inside the channel's tree (content aside).
    pub fn assigned(&self) -> bool {
        !self
            .locales
            .iter()
            .flat_map(|l| &l.reasons)
            .any(|r| r.kind.is_assignment())
    }

    /// Every reason once (a reason without a locale repeats in each locale).
    pub fn reasons(&self) -> Vec<&Reason> {
        let mut seen: Vec<&Reason> = Vec::new();
        for reason in self.locales.iter().flat_map(|l| &l.reasons) {
            if !seen.contains(&reason) {
                seen.push(reason);
            }
        }
        seen
    }
}

/// Google Merchant's length limits (FORMATS.md), checked at readiness time
/// on the very text the Google export writes, so a product that breaks one is
/// not ready rather than rejected by Google.
const GOOGLE_LIMITS: [(&str, usize); 12] = [
    ("id", 50),
    ("title", 150),
    ("description", 5_000),
    ("link", 2_000),
    ("image_link", 2_000),
    ("additional_image_link", 2_000),
    ("brand", 70),
    ("mpn", 70),
    ("item_group_id", 50),
    ("color", 100),
    ("size", 100),
    ("product_type", 750),
];
/// Reasons name attributes by their English label (the UI's language), so a
/// reason about a non-localizable value reads the same in every locale and
/// is listed once.
const MESSAGE_LOCALE: &str = "en_US";

/// What a channel needs from a product. `model` is a variant's parent (its
/// values, enablement and categories count for the variant); `linked`
/// knows the assets the values link (only approved images of the size
/// asked count for an `assets` attribute the channel needs).
pub fn assess(
    schema: &Schema,
    channel: &Channel,
    product: &Product,
    model: Option<&Product>,
    values: &Values,
    linked: &LinkedAssets,
) -> ChannelReadiness {
    let mut shared = Vec::new();
    if !product.enabled {
        shared.push(Reason::new(
            ReasonKind::Disabled,
            None,
            None,
            "the product is disabled".into(),
        ));
    }
    if let Some(model) = model
        && !model.enabled
    {
        shared.push(Reason::new(
            ReasonKind::ModelDisabled,
            None,
            None,
            format!("its model {} is disabled", model.sku),
        ));
    }
    if let Some(root) = &channel.category_root {
        let categories = product
            .categories
            .iter()
            .chain(model.map(|m| m.categories.iter()).into_iter().flatten());
        let mut inside = false;
        for category in categories {
            inside |= schema.category_within(category, root);
        }
        if !inside {
            shared.push(Reason::new(
                ReasonKind::NotInChannel,
                None,
                None,
                format!("not in a category under {root}, the channel's tree"),
            ));
        }
    }
    let google_limits = if channel.output_format == OutputFormat::GoogleMerchant
        && product.kind != ProductKind::Model
    {
        google_limits(schema, channel, product, model, values, linked)
    } else {
        Vec::new()
    };
    let family = schema.family(&product.family);
    let required = family
        .and_then(|f| f.requirements.get(&channel.code))
        .map_or(&[][..], Vec::as_slice);
    let locales = channel
        .locales
        .iter()
        .map(|locale| {
            let mut reasons = shared.clone();
            for code in required {
                if product.kind == ProductKind::Model
                    && family.is_some_and(|f| !on_level(f, ProductKind::Model, code))
                {
                    continue;
                }
                let Some(attribute) = schema.attribute(code) else {
                    continue;
                };
                let value_locale = attribute.localizable.then_some(locale.as_str());
                if !has_value(values, attribute, Some(locale), &channel.code) {
                    reasons.push(Reason::new(
                        ReasonKind::Missing,
                        Some(code),
                        value_locale,
                        match value_locale {
                            Some(l) => {
                                format!("{} is missing in {l}", attribute.label(MESSAGE_LOCALE))
                            }
                            None => format!("{} is missing", attribute.label(MESSAGE_LOCALE)),
                        },
                    ));
                    continue;
                }
                if let Some(data) = resolve(values, code, value_locale, &channel.code) {
                    if let Err(message) = values::normalize(attribute, schema, data) {
                        reasons.push(Reason::new(
                            ReasonKind::Invalid,
                            Some(code),
                            value_locale,
                            format!("{}: {message}", attribute.label(MESSAGE_LOCALE)),
                        ));
                    } else if attribute.kind == AttributeType::Assets {
                        let image_field = channel.mapping.attribute("images") == Some(code);
                        let needed = AssetNeed {
                            attribute,
                            locale: value_locale,
                            min: 1,
                            image_field,
                            links: image_field
                                && channel.output_format == OutputFormat::GoogleMerchant,
                        };
                        needed.judge(data, linked, &mut reasons);
                    }
                }
            }
            if product.kind != ProductKind::Model {
                if let Some(family) = family {
                    image_needs(
                        schema,
                        channel,
                        family,
                        required,
                        values,
                        locale,
                        linked,
                        &mut reasons,
                    );
                }
                format_needs(schema, channel, values, locale, &mut reasons);
                reasons.extend(google_limits.iter().cloned());
            }
            dedup(&mut reasons);
            LocaleReadiness {
                locale: locale.clone(),
                reasons,
            }
        })
        .collect();
    ChannelReadiness {
        channel: channel.code.clone(),
        locales,
    }
}

/// An `assets` value the channel needs: at least `min` of its assets must
/// count (approved unless the attribute says otherwise, images of the size
/// asked; documents do not count where images are needed).
struct AssetNeed<'a> {
    attribute: &'a Attribute,
    locale: Option<&'a str>,
    min: u32,
    /// The attribute the channel takes its image links from.
    image_field: bool,
    /// What counts must become an image link (Google's `image_link`), so
    /// only approved images count whatever `approved_only` says.
    links: bool,
}

impl AssetNeed<'_> {
    /// Adds the reasons when too few assets count: why each one that does
    /// not count does not, and the shortfall when even all would not do.
    /// Assets beyond what is needed that do not count are simply left out
    /// of the channel.
    fn judge(&self, data: &Json, linked: &LinkedAssets, reasons: &mut Vec<Reason>) {
        let validation = &self.attribute.validation;
        let min = self.min.max(validation.min_count.unwrap_or(0));
        let rules = Rules::of(validation, self.image_field);
        let rules = if self.links { rules.for_feed() } else { rules };
        let ids = images::ids_of(data);
        let refused: Vec<String> = ids
            .iter()
            .filter_map(|id| images::disqualified(id, linked.get(id), rules))
            .collect();
        let counted = ids.len() - refused.len();
        if counted >= min as usize {
            return;
        }
        let label = self.attribute.label(MESSAGE_LOCALE);
        for why in refused {
            reasons.push(Reason::new(
                ReasonKind::Invalid,
                Some(&self.attribute.code),
                self.locale,
                format!("{label}: {why}"),
            ));
        }
        if ids.len() < min as usize {
            let noun = match (self.image_field || rules.images_only, min) {
                (true, 1) => "image",
                (true, _) => "images",
                (false, 1) => "asset",
                (false, _) => "assets",
            };
            let approved = if rules.approved_only { "approved " } else { "" };
            reasons.push(Reason::new(
                ReasonKind::Missing,
                Some(&self.attribute.code),
                self.locale,
                format!(
                    "{label} needs at least {min} {approved}{noun}; {} linked",
                    ids.len()
                ),
            ));
        }
    }
}

/// What a channel's format needs of images: Google refuses an item without
/// `image_link`, so a Google channel needs at least one approved image in
/// the attribute its mapping takes images from, for products whose family
/// holds that attribute (a family without it cannot carry images; adding
/// the attribute to the family is how its products start to need them).
#[expect(clippy::too_many_arguments, reason = "the parts of one verdict, named")]
fn image_needs(
    schema: &Schema,
    channel: &Channel,
    family: &crate::catalog::schema::Family,
    required: &[String],
    values: &Values,
    locale: &str,
    linked: &LinkedAssets,
    reasons: &mut Vec<Reason>,
) {
    if channel.output_format != OutputFormat::GoogleMerchant {
        return;
    }
    let attribute = channel
        .mapping
        .attribute("images")
        .and_then(|code| schema.attribute(code))
        .filter(|a| a.kind == AttributeType::Assets);
    let Some(attribute) = attribute else {
        reasons.push(Reason::new(
            ReasonKind::Missing,
            None,
            None,
            "Google needs an image (image_link) and the channel maps no assets attribute to \
             images; set it in the channel settings"
                .into(),
        ));
        return;
    };
    if required.contains(&attribute.code) || !family.attributes.contains(&attribute.code) {
        // Judged with the family's requirements already, or not the
        // family's to carry.
        return;
    }
    let value_locale = attribute.localizable.then_some(locale);
    let Some(data) = resolve(values, &attribute.code, value_locale, &channel.code) else {
        reasons.push(Reason::new(
            ReasonKind::Missing,
            Some(&attribute.code),
            value_locale,
            format!(
                "{} is missing; Google needs at least one image (image_link)",
                attribute.label(MESSAGE_LOCALE)
            ),
        ));
        return;
    };
    if values::normalize(attribute, schema, data).is_err() {
        // Reported as invalid where the value is required; here it cannot count.
        reasons.push(Reason::new(
            ReasonKind::Invalid,
            Some(&attribute.code),
            value_locale,
            format!(
                "{} is not a valid list of assets; Google needs at least one image (image_link)",
                attribute.label(MESSAGE_LOCALE)
            ),
        ));
        return;
    }
    let needed = AssetNeed {
        attribute,
        locale: value_locale,
        min: 1,
        image_field: true,
        links: true,
    };
    needed.judge(data, linked, reasons);
}

fn dedup(reasons: &mut Vec<Reason>) {
    let mut kept: Vec<Reason> = Vec::with_capacity(reasons.len());
    for reason in reasons.drain(..) {
        if !kept.contains(&reason) {
            kept.push(reason);
        }
    }
    *reasons = kept;
}

/// The fields a channel's output format cannot do without.
fn format_needs(
    schema: &Schema,
    channel: &Channel,
    values: &Values,
    locale: &str,
    reasons: &mut Vec<Reason>,
) {
    let mapping = &channel.mapping;
    let needed: &[&str] = match channel.output_format {
        OutputFormat::Json => &[],
        OutputFormat::GoogleMerchant => &["title", "description", "price"],
        OutputFormat::ShopifyCsv => &["title", "price"],
    };
    for field in needed {
        let Some(code) = mapping.attribute(field) else {
            reasons.push(Reason::new(
                ReasonKind::Missing,
                None,
                None,
                format!("the channel maps no attribute to {field}; set it in the channel settings"),
            ));
            continue;
        };
        let Some(attribute) = schema.attribute(code) else {
            continue;
        };
        let value_locale = attribute.localizable.then_some(locale);
        let present = match resolve(values, code, value_locale, &channel.code) {
            Some(data) if attribute.kind == AttributeType::Price => {
                let currency = channel.currencies.first().map_or("", String::as_str);
                price_in(data, currency).is_some()
            }
            Some(_) => true,
            None => false,
        };
        if !present {
            let message = if attribute.kind == AttributeType::Price {
                format!(
                    "{} has no {} price, which {field} needs",
                    attribute.label(MESSAGE_LOCALE),
                    channel.currencies.first().map_or("", String::as_str)
                )
            } else {
                format!(
                    "{} is missing; the channel needs it as {field}",
                    attribute.label(MESSAGE_LOCALE)
                )
            };
            reasons.push(Reason::new(
                ReasonKind::Missing,
                Some(code),
                value_locale,
                message,
            ));
        }
    }
}

/// Google's length limits, measured on the item the Google export renders
/// from this product's payload (labels, plain-text description, category
/// path, link), so what is checked is exactly what Google would receive.
fn google_limits(
    schema: &Schema,
    channel: &Channel,
    product: &Product,
    model: Option<&Product>,
    values: &Values,
    linked: &LinkedAssets,
) -> Vec<Reason> {
    let payload = super::payload::build(schema, channel, product, model, values, linked);
    let rendered = super::formats::google_fields(schema, channel, &payload);
    let mut reasons = Vec::new();
    for (field, text) in rendered {
        let Some((_, limit)) = GOOGLE_LIMITS.iter().find(|(name, _)| *name == field) else {
            continue;
        };
        let length = text.chars().count();
        if length <= *limit {
            continue;
        }
        // The attribute to fix: the mapped one, or the variant axis.
        let attribute = channel.mapping.attribute(field).or_else(|| {
            payload
                .axes
                .iter()
                .map(|(code, _)| code.as_str())
                .find(|code| match field {
                    "color" => *code == "color",
                    "size" => code.contains("size"),
                    _ => false,
                })
        });
        let locale = attribute
            .and_then(|code| schema.attribute(code))
            .filter(|a| a.localizable)
            .and_then(|_| channel.locales.first())
            .map(String::as_str);
        reasons.push(Reason::new(
            ReasonKind::TooLong,
            attribute,
            locale,
            format!("{field} has {length} characters; Google allows at most {limit}"),
        ));
    }
    reasons
}

/// The amount of a price value in `currency`.
pub fn price_in<'v>(data: &'v serde_json::Value, currency: &str) -> Option<&'v str> {
    data.as_array()?.iter().find_map(|entry| {
        (entry.get("currency")?.as_str()? == currency)
            .then(|| entry.get("amount")?.as_str())
            .flatten()
    })
}

/// A product's readiness on every channel, judged now from master (the
/// product page and the API read it live; the stored rows serve filters and
/// counts).
pub async fn of_product(
    db: &crate::db::Db,
    schema: &Schema,
    stored: &crate::catalog::store::StoredProduct,
) -> Result<Vec<ChannelReadiness>, sqlx::Error> {
    let model = match stored.parent_id {
        Some(id) => crate::catalog::store::find_by_id(db.pool(), id)
            .await?
            .map(|m| m.product),
        None => None,
    };
    let values = crate::catalog::store::resolved_values(&stored.product, model.as_ref());
    let linked = linked_assets(db, schema, [&values]).await?;
    Ok(schema
        .channels
        .iter()
        .map(|channel| {
            assess(
                schema,
                channel,
                &stored.product,
                model.as_ref(),
                &values,
                &linked,
            )
        })
        .collect())
}

/// The facts of the assets these values link, for judging them live (the
/// product page, the readiness API, the review page's impact preview).
/// Image URLs are not built from it.
pub async fn linked_assets<'v>(
    db: &crate::db::Db,
    schema: &Schema,
    values: impl IntoIterator<Item = &'v Values>,
) -> Result<LinkedAssets, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    images::load(&mut conn, schema, values, "").await
}

/// Which way approving a set of changes moves a channel's readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImpactVerdict {
    BecomesReady,
    BecomesNotReady,
    StaysReady,
    StaysNotReady,
}

impl ImpactVerdict {
    /// `becomes ready`, `stays not ready`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ImpactVerdict::BecomesReady => "becomes ready",
            ImpactVerdict::BecomesNotReady => "becomes not ready",
            ImpactVerdict::StaysReady => "stays ready",
            ImpactVerdict::StaysNotReady => "stays not ready",
        }
    }

    /// Ready afterwards.
    pub fn ends_ready(self) -> bool {
        matches!(
            self,
            ImpactVerdict::BecomesReady | ImpactVerdict::StaysReady
        )
    }
}

/// What applying a set of changes does to one channel's readiness: the
/// reasons it resolves, the ones it adds and the ones that remain (messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelImpact {
    pub channel: String,
    pub verdict: ImpactVerdict,
    pub filled: Vec<String>,
    pub now_missing: Vec<String>,
    pub still_missing: Vec<String>,
}

/// The values before and after applying `changes` to `master`, and the
/// product after: what [`impact`] compares (load the assets both link with
/// [`linked_assets`]).
pub fn impact_values(
    master: &Product,
    model: Option<&Product>,
    changes: &crate::workflow::write::ChangeSet,
) -> (Values, Product, Values) {
    use crate::catalog::store::resolved_values;

    let mut after = master.clone();
    for change in &changes.values {
        after.values.set(&change.key, change.data.clone());
    }
    if let Some(enabled) = changes.enabled {
        after.enabled = enabled;
    }
    if let Some(categories) = &changes.categories {
        after.categories.clone_from(categories);
    }
    let before_values = resolved_values(master, model);
    let after_values = resolved_values(&after, model);
    (before_values, after, after_values)
}

/// Per channel of the schema, what applying `changes` to `master` (a
/// variant with its `model`) does to its readiness. `linked` knows the
/// assets linked before and after (see [`impact_values`]).
pub fn impact(
    schema: &Schema,
    master: &Product,
    model: Option<&Product>,
    changes: &crate::workflow::write::ChangeSet,
    linked: &LinkedAssets,
) -> Vec<ChannelImpact> {
    let (before_values, after, after_values) = impact_values(master, model, changes);
    let messages = |verdict: &ChannelReadiness| -> Vec<String> {
        verdict
            .reasons()
            .into_iter()
            .map(|r| r.message.clone())
            .collect()
    };
    schema
        .channels
        .iter()
        .map(|channel| {
            let was = messages(&assess(
                schema,
                channel,
                master,
                model,
                &before_values,
                linked,
            ));
            let now = messages(&assess(
                schema,
                channel,
                &after,
                model,
                &after_values,
                linked,
            ));
            let verdict = match (was.is_empty(), now.is_empty()) {
                (false, true) => ImpactVerdict::BecomesReady,
                (true, false) => ImpactVerdict::BecomesNotReady,
                (true, true) => ImpactVerdict::StaysReady,
                (false, false) => ImpactVerdict::StaysNotReady,
            };
            ChannelImpact {
                channel: channel.code.clone(),
                verdict,
                filled: was.iter().filter(|m| !now.contains(m)).cloned().collect(),
                now_missing: now.iter().filter(|m| !was.contains(m)).cloned().collect(),
                still_missing: now.iter().filter(|m| was.contains(m)).cloned().collect(),
            }
        })
        .collect()
}
