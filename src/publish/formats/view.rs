//! A payload read the way channels want it: in the channel's first locale
//! and first currency, selects as option labels, amounts with the
//! currency's decimals.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value as Json;

use crate::catalog::html;
use crate::catalog::schema::{Attribute, Channel, Labels, Schema};
use crate::catalog::units;
use crate::publish::payload::Payload;

/// The channel as its formats see it: its first locale and first currency.
pub(super) struct ChannelView<'a> {
    schema: &'a Schema,
    channel: &'a Channel,
    locale: &'a str,
    currency: Option<&'a str>,
}

/// A price in the channel's currency.
pub(super) struct Money {
    pub(super) amount: Decimal,
    pub(super) currency: String,
}

impl<'a> ChannelView<'a> {
    pub(super) fn new(schema: &'a Schema, channel: &'a Channel) -> Self {
        Self {
            schema,
            channel,
            // Without a locale, `Payload::value` still finds unlocalized values.
            locale: channel.locales.first().map_or("", String::as_str),
            currency: channel.currencies.first().map(String::as_str),
        }
    }

    /// The value of the attribute mapped to `field`, with that attribute
    /// (`None` for an attribute the schema no longer has).
    pub(super) fn mapped<'p>(
        &self,
        payload: &'p Payload,
        field: &str,
    ) -> Option<(Option<&'a Attribute>, &'p Json)> {
        let code = self.channel.mapping.attribute(field)?;
        let data = payload.value(code, self.locale)?;
        Some((self.schema.attribute(code), data))
    }

    /// `field`'s value as people read it (option labels for selects);
    /// `None` when missing or blank.
    pub(super) fn text(&self, payload: &Payload, field: &str) -> Option<String> {
        let (attribute, data) = self.mapped(payload, field)?;
        let label = |code: &str| match attribute {
            Some(attribute) => self.option_label(attribute, code),
            None => code.to_owned(),
        };
        let has_options = attribute.is_some_and(|a| a.kind.has_options());
        let text = match data {
            Json::String(code) if has_options => label(code),
            Json::String(text) => text.clone(),
            Json::Number(number) => number.to_string(),
            Json::Bool(flag) => flag.to_string(),
            Json::Array(codes) if has_options => codes
                .iter()
                .filter_map(Json::as_str)
                .map(label)
                .collect::<Vec<_>>()
                .join(", "),
            _ => return None,
        };
        (!text.trim().is_empty()).then_some(text)
    }

    /// `field`'s raw option code or text, for fields whose values are fixed
    /// codes on the channel's side (Google's `gender`, `age_group`).
    pub(super) fn code(&self, payload: &Payload, field: &str) -> Option<String> {
        let (_, data) = self.mapped(payload, field)?;
        data.as_str()
            .filter(|code| !code.is_empty())
            .map(str::to_owned)
    }

    /// The description as plain text (the stored value is sanitized HTML).
    pub(super) fn plain_description(&self, payload: &Payload) -> Option<String> {
        let text = html::to_text(&self.text(payload, "description")?);
        (!text.is_empty()).then_some(text)
    }

    pub(super) fn option_label(&self, attribute: &Attribute, code: &str) -> String {
        attribute
            .options
            .iter()
            .find(|o| o.code == code)
            .and_then(|o| label_in(&o.labels, self.locale))
            .unwrap_or(code)
            .to_owned()
    }

    /// The product URL in the channel's locale.
    pub(super) fn link(&self, payload: &Payload) -> Option<String> {
        payload
            .links
            .get(self.locale)
            .or_else(|| payload.links.values().next())
            .cloned()
    }

    /// The mapped price attribute's amount in the channel's first currency.
    pub(super) fn money(&self, payload: &Payload, field: &str) -> Option<Money> {
        let (_, data) = self.mapped(payload, field)?;
        let entries = data.as_array()?;
        let entry = match self.currency {
            Some(currency) => entries.iter().find(|e| currency_of(e) == Some(currency))?,
            None => entries.first()?,
        };
        Some(Money {
            amount: decimal(entry.get("amount")?)?,
            currency: currency_of(entry)?.to_owned(),
        })
    }

    /// (price, sale price). A sale price counts only when it is below the
    /// price: both Google and Shopify reject a "sale" that is not one.
    pub(super) fn prices(&self, payload: &Payload) -> (Option<Money>, Option<Money>) {
        let price = self.money(payload, "price");
        let sale = self
            .money(payload, "sale_price")
            .filter(|sale| price.as_ref().is_some_and(|p| sale.amount < p.amount));
        (price, sale)
    }

    /// The amount with the currency's decimals: `15.00`.
    pub(super) fn amount(&self, money: &Money) -> String {
        let decimals = self
            .schema
            .currency(&money.currency)
            .map_or(2, |c| c.decimals);
        fixed(money.amount, decimals)
    }

    /// The mapped weight as (amount, unit code).
    pub(super) fn weight(&self, payload: &Payload) -> Option<(Decimal, String)> {
        let (_, data) = self.mapped(payload, "weight")?;
        let amount = decimal(data.get("amount")?)?;
        Some((amount, data.get("unit")?.as_str()?.to_owned()))
    }

    /// Each variant axis as (attribute code, attribute label, option label).
    pub(super) fn axes<'p>(&self, payload: &'p Payload) -> Vec<(&'p str, String, String)> {
        payload
            .axes
            .iter()
            .map(|(code, option)| match self.schema.attribute(code) {
                Some(attribute) => (
                    code.as_str(),
                    attribute.label(self.locale).to_owned(),
                    self.option_label(attribute, option),
                ),
                None => (code.as_str(), code.clone(), option.clone()),
            })
            .collect()
    }

    /// A category's labels from its root down to it.
    pub(super) fn category_path(&self, code: &str) -> Vec<String> {
        let mut path = Vec::new();
        let mut current = Some(code);
        // The length limit stops a parent cycle in a hand-edited schema.
        while let Some(at) = current
            && path.len() < 100
        {
            let category = self.schema.category(at);
            let label = category.and_then(|c| label_in(&c.labels, self.locale));
            path.push(label.unwrap_or(at).to_owned());
            current = category.and_then(|c| c.parent.as_deref());
        }
        path.reverse();
        path
    }

    pub(super) fn category_label(&self, code: &str) -> String {
        self.schema
            .category(code)
            .and_then(|c| label_in(&c.labels, self.locale))
            .unwrap_or(code)
            .to_owned()
    }
}

/// A label in `locale`, else English (as `Attribute::label` does).
pub(super) fn label_in<'l>(labels: &'l Labels, locale: &str) -> Option<&'l str> {
    labels
        .get(locale)
        .or_else(|| labels.get("en_US"))
        .map(String::as_str)
        .filter(|label| !label.is_empty())
}

pub(super) fn currency_of(entry: &Json) -> Option<&str> {
    entry.get("currency").and_then(Json::as_str)
}

/// Amounts are strings in the product contract; numbers are accepted too.
pub(super) fn decimal(data: &Json) -> Option<Decimal> {
    match data {
        Json::String(text) => text.trim().parse().ok(),
        Json::Number(number) => number.to_string().parse().ok(),
        _ => None,
    }
}

/// `amount` with exactly `decimals` digits, rounded half away from zero as
/// shops round prices (banker's rounding would surprise people).
pub(super) fn fixed(amount: Decimal, decimals: u32) -> String {
    let mut rounded =
        amount.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(decimals);
    rounded.to_string()
}

/// Whole grams, rounded half away from zero (Shopify wants integers).
pub(super) fn grams(amount: Decimal, unit: &str) -> Option<String> {
    let grams = units::convert(amount, unit, "GRAM").ok()?;
    Some(fixed(grams, 0))
}
