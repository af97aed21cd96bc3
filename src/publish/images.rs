//! The assets products link, as publishing judges them: which count for an
//! `assets` attribute's rules (approved, an image, large enough) and which
//! images a channel's payload links to. Pure but for [`load`], which reads
//! the facts of a batch of products' assets in one query.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value as Json;

use crate::catalog::product::Values;
use crate::catalog::schema::{AttributeType, Channel, Schema, Validation};
use crate::media::assets::{self, AssetFacts, AssetStatus};
use crate::media::renditions;

/// What publishing knows of the assets products link: each one's facts
/// (status, size, image or document) and the public base URL image links
/// start with (`SLUICE_PUBLIC_URL`).
#[derive(Debug, Clone, Default)]
pub struct LinkedAssets {
    pub facts: HashMap<String, AssetFacts>,
    pub public_url: String,
}

impl LinkedAssets {
    /// No facts: every linked asset counts as unknown (a product that links
    /// none is judged the same as with its facts).
    pub fn none(public_url: &str) -> Self {
        Self {
            facts: HashMap::new(),
            public_url: public_url.to_owned(),
        }
    }

    /// The same facts, image links starting with `public_url`.
    pub fn at(mut self, public_url: &str) -> Self {
        public_url.clone_into(&mut self.public_url);
        self
    }

    pub fn get(&self, id: &str) -> Option<&AssetFacts> {
        self.facts.get(id)
    }
}

/// The asset ids of one `assets` value, in order (non-text items skipped:
/// value validation reports them).
pub fn ids_of(data: &Json) -> Vec<&str> {
    data.as_array()
        .map(|items| items.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

/// Every asset id that `values` link through the schema's `assets` attributes.
pub fn asset_ids(schema: &Schema, values: &Values, out: &mut BTreeSet<String>) {
    for (code, entries) in &values.0 {
        if schema
            .attribute(code)
            .is_some_and(|a| a.kind == AttributeType::Assets)
        {
            for entry in entries {
                out.extend(ids_of(&entry.data).into_iter().map(str::to_owned));
            }
        }
    }
}

/// Loads the facts of every asset these values link, in one query.
pub async fn load<'v>(
    conn: &mut sqlx::AnyConnection,
    schema: &Schema,
    values: impl IntoIterator<Item = &'v Values>,
    public_url: &str,
) -> Result<LinkedAssets, sqlx::Error> {
    let mut ids = BTreeSet::new();
    for values in values {
        asset_ids(schema, values, &mut ids);
    }
    let ids: Vec<String> = ids.into_iter().collect();
    Ok(LinkedAssets {
        facts: assets::facts(conn, &ids).await?,
        public_url: public_url.to_owned(),
    })
}

/// What an asset is required to be to count.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Only approved assets count (pending ones otherwise do; rejected
    /// ones never).
    pub approved_only: bool,
    /// Documents do not count (the channel's image field, or a size rule).
    pub images_only: bool,
    pub min_size: Option<(u32, u32)>,
}

impl Rules {
    /// The rules of an attribute; `image_field` for the attribute a channel
    /// takes its images from.
    pub fn of(validation: &Validation, image_field: bool) -> Self {
        let min_size = validation.min_size();
        Self {
            approved_only: validation.approved_only(),
            images_only: image_field || min_size.is_some(),
            min_size,
        }
    }

    /// What a channel's image links need: approved images of the size asked.
    pub fn for_feed(self) -> Self {
        Self {
            approved_only: true,
            images_only: true,
            ..self
        }
    }
}

/// Why asset `id` does not count under `rules`, or `None` when it does.
pub fn disqualified(id: &str, facts: Option<&AssetFacts>, rules: Rules) -> Option<String> {
    let Some(facts) = facts else {
        return Some(format!("asset {id} does not exist"));
    };
    match facts.status {
        AssetStatus::Rejected => return Some(format!("asset {id} was rejected")),
        AssetStatus::Pending if rules.approved_only => {
            return Some(format!("asset {id} is pending review"));
        }
        _ => {}
    }
    if rules.images_only && !facts.is_image {
        return Some(format!("asset {id} is not an image"));
    }
    if let Some((min_width, min_height)) = rules.min_size {
        let (width, height) = (facts.width.unwrap_or(0), facts.height.unwrap_or(0));
        if width < min_width || height < min_height {
            return Some(format!(
                "asset {id} is {width} × {height} pixels; at least {min_width} × {min_height} needed"
            ));
        }
    }
    None
}

/// An image link as a payload carries it (the JSON feed's `images`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PayloadImage {
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub asset: String,
}

/// The channel's image links for an `assets` value: its approved images
/// that meet the attribute's size rule, in order, as absolute rendition URLs
/// of the channel's preset (none when the schema lacks that preset).
pub fn links(
    schema: &Schema,
    channel: &Channel,
    validation: &Validation,
    data: &Json,
    linked: &LinkedAssets,
) -> Vec<PayloadImage> {
    let Some(preset) = schema.preset(channel.image_preset_code()) else {
        return Vec::new();
    };
    let rules = Rules::of(validation, true).for_feed();
    ids_of(data)
        .into_iter()
        .filter_map(|id| {
            let facts = linked.get(id);
            if disqualified(id, facts, rules).is_some() {
                return None;
            }
            let facts = facts?;
            let link =
                renditions::link(&linked.public_url, id, facts.width?, facts.height?, &preset);
            Some(PayloadImage {
                url: link.url,
                width: link.width,
                height: link.height,
                asset: link.asset,
            })
        })
        .collect()
}

/// The approved assets of an `assets` value, in order: what a payload's
/// values keep (a pending or rejected asset never reaches a channel).
pub fn approved_only(data: &Json, linked: &LinkedAssets) -> Option<Json> {
    let kept: Vec<Json> = ids_of(data)
        .into_iter()
        .filter(|id| {
            linked
                .get(id)
                .is_some_and(|f| f.status == AssetStatus::Approved)
        })
        .map(|id| Json::String(id.to_owned()))
        .collect();
    (!kept.is_empty()).then_some(Json::Array(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: AssetStatus, size: Option<(u32, u32)>) -> AssetFacts {
        AssetFacts {
            status,
            width: size.map(|s| s.0),
            height: size.map(|s| s.1),
            is_image: size.is_some(),
        }
    }

    #[test]
    fn only_approved_images_of_the_size_asked_count() {
        let strict = Rules {
            approved_only: true,
            images_only: true,
            min_size: Some((800, 600)),
        };
        let ok = facts(AssetStatus::Approved, Some((1000, 800)));
        assert_eq!(disqualified("a", Some(&ok), strict), None);
        let pending = facts(AssetStatus::Pending, Some((1000, 800)));
        assert_eq!(
            disqualified("a", Some(&pending), strict).as_deref(),
            Some("asset a is pending review")
        );
        let lenient = Rules {
            approved_only: false,
            ..strict
        };
        assert_eq!(disqualified("a", Some(&pending), lenient), None);
        let rejected = facts(AssetStatus::Rejected, Some((1000, 800)));
        assert_eq!(
            disqualified("a", Some(&rejected), lenient).as_deref(),
            Some("asset a was rejected")
        );
        let small = facts(AssetStatus::Approved, Some((799, 800)));
        assert_eq!(
            disqualified("a", Some(&small), strict).as_deref(),
            Some("asset a is 799 × 800 pixels; at least 800 × 600 needed")
        );
        let pdf = facts(AssetStatus::Approved, None);
        assert_eq!(
            disqualified("a", Some(&pdf), strict).as_deref(),
            Some("asset a is not an image")
        );
        assert_eq!(
            disqualified("a", None, strict).as_deref(),
            Some("asset a does not exist")
        );
    }
}
