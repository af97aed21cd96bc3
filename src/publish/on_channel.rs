//! A product as one channel sees it: the value that applies there and its
//! URL there. A leaf of `publish` (it reads only the catalog), so payloads,
//! formats and readiness can all use it without depending on each other in
//! a circle.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::catalog::product::{ValueKey, Values};
use crate::catalog::schema::Channel;

/// The value that applies on `channel`: channel-specific over global.
pub fn resolve<'v>(
    values: &'v Values,
    attribute: &str,
    locale: Option<&str>,
    channel: &str,
) -> Option<&'v serde_json::Value> {
    values
        .get(&ValueKey::new(attribute, locale, Some(channel)))
        .or_else(|| values.get(&ValueKey::new(attribute, locale, None)))
}

/// What a SKU keeps unescaped in a channel URL: RFC 3986's unreserved
/// characters (letters, digits, `-_.~`); every other byte is percent-encoded.
const SKU_IN_URL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The channel's absolute product URL for a SKU and locale.
pub fn channel_link(channel: &Channel, sku: &str, locale: &str) -> String {
    let encoded = utf8_percent_encode(sku, SKU_IN_URL).to_string();
    channel
        .url_template
        .replace("{sku}", &encoded)
        .replace("{locale}", locale)
}

#[cfg(test)]
mod tests {
    use super::channel_link;
    use crate::catalog::schema::Channel;

    #[test]
    fn links_escape_all_but_unreserved_characters() {
        let channel: Channel = toml::from_str(
            r#"
code = "web"
locales = ["de_DE"]
currencies = ["EUR"]
output_format = "json"
url_template = "https://shop.example.com/{locale}/p/{sku}"
"#,
        )
        .expect("a channel");
        assert_eq!(
            channel_link(&channel, "X/1&2 é-_.~", "de_DE"),
            "https://shop.example.com/de_DE/p/X%2F1%262%20%C3%A9-_.~"
        );
    }
}
