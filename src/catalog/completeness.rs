//! Where values live: whether a value applies to a locale and channel, and
//! which level (model or variant) an attribute belongs to. Readiness
//! (`publish::readiness`), the write path and the pages build on these.

use super::product::{ProductKind, ValueKey, Values};
use super::schema::{Attribute, Family};

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
