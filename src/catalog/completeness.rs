//! Which required values a product misses, per channel: for every attribute
//! the family requires on that channel, a value must exist for each of the
//! channel's locales (when the attribute is localizable) and for the channel
//! or for all channels (when it is scopable). Pure: the write path stores
//! the result for the grid filter; readiness builds on it later.

use super::product::{Product, ProductKind, ValueKey, Values};
use super::schema::{Attribute, Family, Schema};

/// A missing piece: attribute, and the locale it is missing for (if localizable).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Missing {
    pub attribute: String,
    pub locale: Option<String>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.locale {
            Some(locale) => write!(f, "{} [{locale}]", self.attribute),
            None => f.write_str(&self.attribute),
        }
    }
}

/// True when a value for `attribute` applies to `locale` on `channel`:
/// a channel-specific value, or one for every channel.
pub fn has_value(
    values: &Values,
    attribute: &Attribute,
    locale: Option<&str>,
    channel: &str,
) -> bool {
    let locale = if attribute.localizable { locale } else { None };
    if attribute.scopable {
        values
            .get(&ValueKey::new(&attribute.code, locale, Some(channel)))
            .is_some()
            || values
                .get(&ValueKey::new(&attribute.code, locale, None))
                .is_some()
    } else {
        values
            .get(&ValueKey::new(&attribute.code, locale, None))
            .is_some()
    }
}

/// Whether an attribute lives on this product's level: models hold the
/// shared attributes, variants their axes and variant attributes.
pub fn on_level(family: &Family, kind: ProductKind, attribute: &str) -> bool {
    let variant_level = family.variant_axes.iter().any(|a| a == attribute)
        || family.variant_attributes.iter().any(|a| a == attribute);
    match kind {
        ProductKind::Simple => true,
        ProductKind::Model => !variant_level,
        ProductKind::Variant => variant_level,
    }
}

/// Per channel of the schema, the required values `product` misses, judged
/// on `values` (a variant's own values merged with its model's). A model
/// is judged only on the attributes that live on the model.
pub fn missing_per_channel(
    schema: &Schema,
    product: &Product,
    values: &Values,
) -> Vec<(String, Vec<Missing>)> {
    let Some(family) = schema.family(&product.family) else {
        return Vec::new();
    };
    schema
        .channels
        .iter()
        .map(|channel| {
            let required = family
                .requirements
                .get(&channel.code)
                .map_or(&[][..], Vec::as_slice);
            let mut missing = Vec::new();
            for code in required {
                if product.kind == ProductKind::Model && !on_level(family, ProductKind::Model, code)
                {
                    continue;
                }
                let Some(attribute) = schema.attribute(code) else {
                    continue;
                };
                if attribute.localizable {
                    for locale in &channel.locales {
                        if !has_value(values, attribute, Some(locale), &channel.code) {
                            missing.push(Missing {
                                attribute: code.clone(),
                                locale: Some(locale.clone()),
                            });
                        }
                    }
                } else if !has_value(values, attribute, None, &channel.code) {
                    missing.push(Missing {
                        attribute: code.clone(),
                        locale: None,
                    });
                }
            }
            (channel.code.clone(), missing)
        })
        .collect()
}
