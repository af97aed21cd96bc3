//! What a change targets, typed. Stored proposals, history and the API keep
//! a change's target as its `attribute` string (`enabled`, `categories`,
//! `sku`, or an attribute code); it is parsed here once, and every rule
//! about a target (its value on a product, applying it, turning changes into
//! a [`ChangeSet`]) matches on the enum instead of on strings.

use serde_json::Value as Json;

use super::write::{Change, ChangeSet, ValueChange};
use crate::catalog::product::{Product, ValueKey, category_codes};

/// A product's identity and structure, recorded when it is created and
/// never changed by a change set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    Sku,
    Kind,
    Family,
    Parent,
}

/// The field a change changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeTarget {
    /// An attribute's value at a locale and channel.
    Value(ValueKey),
    Enabled,
    /// The category codes (a list; none is no category).
    Categories,
    Structure(Structure),
}

impl ChangeTarget {
    /// The target a stored field name names (the `attribute` of a change);
    /// locale and channel matter for values only.
    pub fn parse(field: &str, locale: Option<&str>, channel: Option<&str>) -> Self {
        match field {
            "enabled" => ChangeTarget::Enabled,
            "categories" => ChangeTarget::Categories,
            "sku" => ChangeTarget::Structure(Structure::Sku),
            "kind" => ChangeTarget::Structure(Structure::Kind),
            "family" => ChangeTarget::Structure(Structure::Family),
            "parent" => ChangeTarget::Structure(Structure::Parent),
            _ => ChangeTarget::Value(ValueKey::new(field, locale, channel)),
        }
    }

    /// [`ChangeTarget::parse`] of a value key.
    pub fn of_key(key: &ValueKey) -> Self {
        Self::parse(
            &key.attribute,
            key.locale.as_deref(),
            key.channel.as_deref(),
        )
    }

    /// The field name stored for this target (an attribute code for values).
    pub fn field(&self) -> &str {
        match self {
            ChangeTarget::Value(key) => &key.attribute,
            ChangeTarget::Enabled => "enabled",
            ChangeTarget::Categories => "categories",
            ChangeTarget::Structure(Structure::Sku) => "sku",
            ChangeTarget::Structure(Structure::Kind) => "kind",
            ChangeTarget::Structure(Structure::Family) => "family",
            ChangeTarget::Structure(Structure::Parent) => "parent",
        }
    }

    /// The target as a value key (no locale or channel but for values), the
    /// shape clashes and drafts name fields by.
    pub fn key(&self) -> ValueKey {
        match self {
            ChangeTarget::Value(key) => key.clone(),
            other => ValueKey::new(other.field(), None, None),
        }
    }

    /// Whether this is an attribute's value (not a structure field).
    pub fn is_value(&self) -> bool {
        matches!(self, ChangeTarget::Value(_))
    }

    /// A change of this target from `before` to `after`.
    pub fn change(&self, before: Option<Json>, after: Option<Json>) -> Change {
        let key = self.key();
        Change {
            attribute: key.attribute,
            locale: key.locale,
            channel: key.channel,
            before,
            after,
        }
    }

    /// The product's value of this field as changes record it. Structure
    /// fields are never part of a change set; they are looked up among the
    /// values, where no attribute normally has their name.
    pub fn value_of(&self, product: &Product) -> Option<Json> {
        match self {
            ChangeTarget::Value(key) => product.values.get(key).cloned(),
            ChangeTarget::Enabled => Some(Json::from(product.enabled)),
            ChangeTarget::Categories => Some(Json::from(product.categories.clone())),
            ChangeTarget::Structure(_) => product.values.get(&self.key()).cloned(),
        }
    }

    /// Sets the field to `data` as changes record it (history rewinding a
    /// product, a draft shown on top of master). Structure fields are never
    /// rewound; an `enabled` that is not a boolean leaves it as it is.
    pub fn apply(&self, product: &mut Product, data: Option<&Json>) {
        match self {
            ChangeTarget::Value(key) => product.values.set(key, data.cloned()),
            ChangeTarget::Enabled => {
                if let Some(enabled) = data.and_then(Json::as_bool) {
                    product.enabled = enabled;
                }
            }
            ChangeTarget::Categories => product.categories = category_codes(data),
            ChangeTarget::Structure(_) => {}
        }
    }

    /// Adds "set this field to `after`" to a change set.
    fn add_to(&self, set: &mut ChangeSet, after: Option<&Json>) {
        match self {
            ChangeTarget::Enabled => set.enabled = after.and_then(Json::as_bool),
            ChangeTarget::Categories => set.categories = Some(category_codes(after)),
            // A structure field goes in as a value, which the write path
            // refuses (no attribute has its name): it is never re-applied.
            ChangeTarget::Value(_) | ChangeTarget::Structure(_) => set.values.push(ValueChange {
                key: self.key(),
                data: after.cloned(),
            }),
        }
    }
}

impl Change {
    /// What this change changes.
    pub fn target(&self) -> ChangeTarget {
        ChangeTarget::parse(
            &self.attribute,
            self.locale.as_deref(),
            self.channel.as_deref(),
        )
    }
}

impl ChangeSet {
    /// The change set that sets each target to its `after`: the one
    /// conversion from recorded changes (proposals, restores) to a write.
    pub fn from_changes<'a>(
        changes: impl IntoIterator<Item = (ChangeTarget, Option<&'a Json>)>,
    ) -> Self {
        let mut set = ChangeSet::default();
        for (target, after) in changes {
            target.add_to(&mut set, after);
        }
        set
    }

    /// Every target this change set changes: its values, then `enabled`
    /// and `categories`.
    pub fn targets(&self) -> impl Iterator<Item = ChangeTarget> + '_ {
        self.values
            .iter()
            .map(|change| ChangeTarget::Value(change.key.clone()))
            .chain(self.enabled.map(|_| ChangeTarget::Enabled))
            .chain(self.categories.as_ref().map(|_| ChangeTarget::Categories))
    }

    /// The change set without the targets whose field is in `fields`.
    pub fn without_fields(&self, fields: &[String]) -> ChangeSet {
        let dropped = |target: &ChangeTarget| fields.iter().any(|f| f == target.field());
        ChangeSet {
            values: self
                .values
                .iter()
                .filter(|c| !dropped(&ChangeTarget::Value(c.key.clone())))
                .cloned()
                .collect(),
            enabled: self.enabled.filter(|_| !dropped(&ChangeTarget::Enabled)),
            categories: self
                .categories
                .clone()
                .filter(|_| !dropped(&ChangeTarget::Categories)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_round_trip() {
        for field in [
            "enabled",
            "categories",
            "sku",
            "kind",
            "family",
            "parent",
            "name",
        ] {
            assert_eq!(ChangeTarget::parse(field, None, None).field(), field);
        }
        assert_eq!(
            ChangeTarget::parse("name", Some("en_US"), Some("web")),
            ChangeTarget::Value(ValueKey::new("name", Some("en_US"), Some("web")))
        );
        // Structure fields carry no locale or channel.
        assert_eq!(
            ChangeTarget::parse("enabled", Some("en_US"), None).key(),
            ValueKey::new("enabled", None, None)
        );
    }

    #[test]
    fn from_changes_builds_the_change_set() {
        let name = ValueKey::new("name", Some("en_US"), None);
        let enabled = Json::Bool(true);
        let categories = serde_json::json!(["shoes", "trail"]);
        let text = Json::from("Trail shoe");
        let set = ChangeSet::from_changes([
            (ChangeTarget::Value(name.clone()), Some(&text)),
            (ChangeTarget::Enabled, Some(&enabled)),
            (ChangeTarget::Categories, Some(&categories)),
        ]);
        assert_eq!(
            set,
            ChangeSet {
                values: vec![ValueChange {
                    key: name,
                    data: Some(text)
                }],
                enabled: Some(true),
                categories: Some(vec!["shoes".to_owned(), "trail".to_owned()]),
            }
        );
        // No categories recorded is no category; a removed value is `None`.
        let cleared = ChangeSet::from_changes([
            (ChangeTarget::Categories, None),
            (ChangeTarget::parse("name", None, None), None),
        ]);
        assert_eq!(cleared.categories, Some(Vec::new()));
        assert_eq!(cleared.values[0].data, None);
        assert_eq!(
            cleared
                .targets()
                .map(|t| t.field().to_owned())
                .collect::<Vec<_>>(),
            ["name", "categories"]
        );
    }

    #[test]
    fn without_fields_drops_named_targets() {
        let set = ChangeSet {
            values: vec![ValueChange {
                key: ValueKey::new("name", None, None),
                data: None,
            }],
            enabled: Some(false),
            categories: Some(Vec::new()),
        };
        let left = set.without_fields(&["name".to_owned(), "enabled".to_owned()]);
        assert!(left.values.is_empty());
        assert_eq!(left.enabled, None);
        assert_eq!(left.categories, Some(Vec::new()));
    }
}
