//! Validation and normalization of one product value against its attribute:
//! given the JSON `data` of a value, [`normalize`] either returns the JSON to
//! store or a message a merchandiser can act on (shown next to the field, so
//! it does not repeat the attribute's name).
//!
//! Shapes follow DESIGN.md: text → string; number → decimal string; boolean;
//! date `YYYY-MM-DD`; select → option code; multiselect → [codes];
//! measurement → `{"amount": "1.25", "unit": "KILOGRAM"}`; price →
//! `[{"amount": "15.00", "currency": "USD"}]`; gtin → string of digits;
//! url; assets → [asset ids]. Amounts are decimals, never floats.
//!
//! Empty strings and empty lists are refused like `null`: the write path
//! removes a value instead of storing an empty one, so a required attribute
//! can never be satisfied by nothing.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock, PoisonError};

use regex::{Regex, RegexBuilder};
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};

use super::schema::{Attribute, AttributeType, Schema, Validation};
use super::{gtin, html, units};

/// Default longest `text` value, in characters.
pub const TEXT_MAX_LENGTH: u32 = 255;
/// Default longest `textarea` value, in characters after sanitizing.
pub const TEXTAREA_MAX_LENGTH: u32 = 65_535;
/// Default longest `url` value, in characters.
pub const URL_MAX_LENGTH: u32 = 2_000;

/// How many option codes an "unknown option" message lists.
const LISTED_OPTIONS: usize = 10;
/// Longest piece of user input echoed in a message.
const ECHO_LIMIT: usize = 60;
/// Most compiled patterns kept; the schema has far fewer.
const PATTERN_CACHE_LIMIT: usize = 1_000;

/// Validates `data` as a value of `attribute` and returns the JSON to store,
/// or a message saying what is wrong and how to fix it.
///
/// `schema` supplies the currencies for prices. `null` is always refused:
/// the write path treats it as "remove the value" before calling this.
pub fn normalize(attribute: &Attribute, schema: &Schema, data: &Json) -> Result<Json, String> {
    if data.is_null() {
        return Err("no value given; remove the value instead of sending null".to_owned());
    }
    let rules = &attribute.validation;
    match attribute.kind {
        AttributeType::Text => text(rules, data),
        AttributeType::Textarea => textarea(rules, data),
        AttributeType::Number => number(rules, data),
        AttributeType::Boolean => boolean(data),
        AttributeType::Date => date(data),
        AttributeType::Select => select(attribute, data),
        AttributeType::Multiselect => multiselect(attribute, data),
        AttributeType::Measurement => measurement(rules, data),
        AttributeType::Price => price(rules, schema, data),
        AttributeType::Gtin => gtin_value(data),
        AttributeType::Url => url_value(rules, data),
        AttributeType::Assets => assets(rules, data),
    }
}

/// True for an option code: 1–100 characters, lower-case ASCII letters,
/// digits, `_` and `-`. Unlike other codes it may start with a digit
/// (shoe size `42`) or a dash-separated range (`36-38`).
pub fn is_option_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 100
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

// ---------------------------------------------------------------- helpers

/// Names the JSON type of a value for messages.
fn describe(data: &Json) -> String {
    match data {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => format!("the number {}", echo(&n.to_string())),
        Json::String(s) => format!("the text \"{}\"", echo(s)),
        Json::Array(_) => "a list".to_owned(),
        Json::Object(_) => "an object".to_owned(),
    }
}

/// User input for a message, cut at [`ECHO_LIMIT`] characters.
fn echo(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn string<'a>(data: &'a Json, expected: &str) -> Result<&'a str, String> {
    match data {
        Json::String(s) if s.is_empty() => {
            Err("is empty; remove the value instead of saving empty text".to_owned())
        }
        Json::String(s) => Ok(s),
        other => Err(format!("must be {expected}; got {}", describe(other))),
    }
}

fn array<'a>(data: &'a Json, expected: &str) -> Result<&'a [Json], String> {
    match data {
        Json::Array(items) if items.is_empty() => {
            Err("is an empty list; remove the value instead of saving an empty list".to_owned())
        }
        Json::Array(items) => Ok(items),
        other => Err(format!("must be {expected}; got {}", describe(other))),
    }
}

/// Refuses control characters, which no channel shows and PostgreSQL's
/// JSON refuses (`\u0000`); tab is harmless and kept.
fn refuse_control_characters(text: &str, allow_line_breaks: bool) -> Result<(), String> {
    let bad = text.chars().find(|&c| {
        let line_break = matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}');
        if line_break {
            !allow_line_breaks
        } else {
            c.is_control() && c != '\t'
        }
    });
    match bad {
        Some('\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}') => Err(
            "must be a single line; remove the line breaks (longer copy belongs in a textarea attribute)"
                .to_owned(),
        ),
        Some(c) => Err(format!(
            "contains the invisible control character U+{:04X}; remove it",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

fn check_length(text: &str, max: u32, what: &str) -> Result<(), String> {
    let length = text.chars().count();
    if length > max as usize {
        return Err(format!(
            "is {length} characters long{what}; at most {max} allowed"
        ));
    }
    Ok(())
}

fn check_count(count: usize, rules: &Validation, noun: &str, nouns: &str) -> Result<(), String> {
    let name = |n: u32| if n == 1 { noun } else { nouns };
    if let Some(min) = rules.min_count
        && count < min as usize
    {
        return Err(format!("needs at least {min} {}; {count} given", name(min)));
    }
    if let Some(max) = rules.max_count
        && count > max as usize
    {
        return Err(format!("allows at most {max} {}; {count} given", name(max)));
    }
    Ok(())
}

// ---------------------------------------------------------------- decimals

/// The decimal text of a JSON string or number, trimmed.
fn decimal_text(data: &Json, expected: &str) -> Result<String, String> {
    match data {
        Json::String(s) => {
            let trimmed = s.trim();
            if trimmed.is_empty() {
                Err(format!("is empty; enter {expected}"))
            } else {
                Ok(trimmed.to_owned())
            }
        }
        Json::Number(n) => Ok(n.to_string()),
        other => Err(format!("must be {expected}; got {}", describe(other))),
    }
}

/// Parses a plain decimal (`-12.50`), keeping its scale. Decimal commas,
/// thousands separators and scientific notation get a message that shows
/// the fixed value.
fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.contains(',') {
        return Err(comma_message(text));
    }
    if body.contains(['e', 'E']) {
        return Err(match Decimal::from_scientific(text) {
            Ok(full) => format!(
                "{} is in scientific notation; write the number out in full: {}",
                echo(text),
                full.normalize()
            ),
            Err(_) => format!(
                "{} is in scientific notation; write the number out in full",
                echo(text)
            ),
        });
    }
    let mut digits = 0;
    let mut points = 0;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return Err(format!("\"{}\" is not a number", echo(text))),
        }
    }
    if digits == 0 || points > 1 {
        return Err(format!("\"{}\" is not a number", echo(text)));
    }
    let parsed = Decimal::from_str_exact(body)
        .map_err(|_| format!("{} has too many digits; at most 28 are kept", echo(text)))?;
    Ok(if negative { -parsed } else { parsed })
}

/// The message for a number with commas: a decimal comma (`1,5`, `1.234,5`)
/// or thousands separators (`1,234.5`, `1,234,567`).
fn comma_message(text: &str) -> String {
    let last_comma = text.rfind(',');
    let last_point = text.rfind('.');
    let decimal_comma = text.matches(',').count() == 1 && last_comma > last_point;
    if decimal_comma {
        let fixed = text.replace('.', "").replace(',', ".");
        if Decimal::from_str_exact(fixed.trim_start_matches('+')).is_ok() {
            return format!("use a decimal point, not a comma: {fixed}");
        }
    } else {
        let fixed = text.replace(',', "");
        if Decimal::from_str_exact(fixed.trim_start_matches('+')).is_ok() {
            return format!("leave out the thousands separators: {fixed}");
        }
    }
    format!(
        "\"{}\" is not a number; use digits and a decimal point",
        echo(text)
    )
}

/// "1 decimal", "3 decimals".
fn decimals_phrase(count: u32) -> String {
    if count == 1 {
        "1 decimal".to_owned()
    } else {
        format!("{count} decimals")
    }
}

/// Digits after the point, ignoring trailing zeros.
fn significant_decimals(value: Decimal) -> u32 {
    value.normalize().scale()
}

/// Applies `decimals`, `min` and `max`. A value whose extra decimals are
/// only trailing zeros is accepted and cut to the allowed scale
/// (`12.340` with 2 decimals → `12.34`). `unit` names the unit for messages.
fn check_amount(value: Decimal, rules: &Validation, text: &str) -> Result<Decimal, String> {
    let mut value = value;
    if let Some(max_decimals) = rules.decimals {
        let decimals = significant_decimals(value);
        if decimals > max_decimals {
            let allowed = match max_decimals {
                0 => "whole numbers only".to_owned(),
                n => format!("at most {n} allowed"),
            };
            return Err(format!(
                "{} has {}; {allowed}",
                echo(text),
                decimals_phrase(decimals)
            ));
        }
        if value.scale() > max_decimals {
            value.rescale(max_decimals);
        }
    }
    check_range(value, rules, "")?;
    Ok(value)
}

fn check_range(value: Decimal, rules: &Validation, suffix: &str) -> Result<(), String> {
    match range_violation(value, rules, suffix) {
        Some(rule) => Err(format!("{rule}; got {value}{suffix}")),
        None => Ok(()),
    }
}

/// "must be at least 1 KILOGRAM" when `value` is outside `min`..=`max`.
fn range_violation(value: Decimal, rules: &Validation, suffix: &str) -> Option<String> {
    if let Some(min) = rules.min
        && value < min
    {
        return Some(format!("must be at least {min}{suffix}"));
    }
    if let Some(max) = rules.max
        && value > max
    {
        return Some(format!("must be at most {max}{suffix}"));
    }
    None
}

// ---------------------------------------------------------------- types

fn text(rules: &Validation, data: &Json) -> Result<Json, String> {
    let value = string(data, "text")?;
    refuse_control_characters(value, false)?;
    check_length(value, rules.max_length.unwrap_or(TEXT_MAX_LENGTH), "")?;
    if let Some(pattern) = &rules.pattern {
        let regex = pattern_regex(pattern)?;
        if !regex.is_match(value) {
            return Err(format!(
                "\"{}\" does not match the required pattern {pattern}",
                echo(value)
            ));
        }
    }
    Ok(Json::String(value.to_owned()))
}

/// The whole-value regex for `pattern`, compiled once and cached.
fn pattern_regex(pattern: &str) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(regex) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(pattern)
    {
        return Ok(regex.clone());
    }
    let invalid = || {
        format!(
            "cannot be checked: the attribute's pattern {pattern} is not a valid regular expression; ask an admin to fix it"
        )
    };
    // Compiled alone first, so a pattern like `a)|(b` cannot escape the anchors.
    Regex::new(pattern).map_err(|_| invalid())?;
    let anchored = RegexBuilder::new(&format!(r"\A(?:{pattern})\z"))
        .size_limit(1 << 22)
        .build()
        .map_err(|_| invalid())?;
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= PATTERN_CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), anchored.clone());
    Ok(anchored)
}

fn textarea(rules: &Validation, data: &Json) -> Result<Json, String> {
    let value = string(data, "text")?;
    refuse_control_characters(value, true)?;
    let clean = html::sanitize(value);
    if clean.trim().is_empty() {
        return Err(
            "has no text left once HTML that is not allowed is removed (allowed: p, br, ul, ol, li, strong, em, b, i, a)"
                .to_owned(),
        );
    }
    check_length(
        &clean,
        rules.max_length.unwrap_or(TEXTAREA_MAX_LENGTH),
        " after cleaning the HTML",
    )?;
    Ok(Json::String(clean))
}

fn number(rules: &Validation, data: &Json) -> Result<Json, String> {
    let text = decimal_text(data, "a number")?;
    let value = parse_decimal(&text)?;
    let value = check_amount(value, rules, &text)?;
    Ok(Json::String(value.to_string()))
}

fn boolean(data: &Json) -> Result<Json, String> {
    match data {
        Json::Bool(b) => Ok(Json::Bool(*b)),
        other => Err(format!("must be true or false; got {}", describe(other))),
    }
}

fn date(data: &Json) -> Result<Json, String> {
    let value = string(data, "a date as YYYY-MM-DD")?;
    let bytes = value.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(format!(
            "\"{}\" is not a date as YYYY-MM-DD, e.g. 2026-03-31",
            echo(value)
        ));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format).map_err(|_| format!("{value} is not a real date"))?;
    Ok(Json::String(value.to_owned()))
}

/// The "unknown option" message, listing at most [`LISTED_OPTIONS`] codes.
fn unknown_option(attribute: &Attribute, code: &str) -> String {
    let codes: Vec<&str> = attribute.options.iter().map(|o| o.code.as_str()).collect();
    if codes.is_empty() {
        return format!(
            "unknown option \"{}\"; this attribute has no options yet, ask an admin to add them",
            echo(code)
        );
    }
    let lower = code.to_lowercase();
    if lower != code && codes.contains(&lower.as_str()) {
        return format!(
            "unknown option \"{}\"; option codes are lower-case: did you mean \"{lower}\"?",
            echo(code)
        );
    }
    let mut list = codes
        .iter()
        .take(LISTED_OPTIONS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if codes.len() > LISTED_OPTIONS {
        list.push_str(&format!(", … ({} more)", codes.len() - LISTED_OPTIONS));
    }
    format!("unknown option \"{}\"; choose one of {list}", echo(code))
}

fn has_option(attribute: &Attribute, code: &str) -> bool {
    attribute.options.iter().any(|o| o.code == code)
}

fn select(attribute: &Attribute, data: &Json) -> Result<Json, String> {
    let code = string(data, "an option code")?;
    if !has_option(attribute, code) {
        return Err(unknown_option(attribute, code));
    }
    Ok(Json::String(code.to_owned()))
}

fn multiselect(attribute: &Attribute, data: &Json) -> Result<Json, String> {
    let items = array(data, "a list of option codes")?;
    let mut seen = HashSet::new();
    let mut codes = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Json::String(code) = item else {
            return Err(format!(
                "option codes must be text; item {} is {}",
                index + 1,
                describe(item)
            ));
        };
        if !has_option(attribute, code) {
            return Err(unknown_option(attribute, code));
        }
        if !seen.insert(code.as_str()) {
            return Err(format!("option \"{code}\" is chosen twice"));
        }
        codes.push(Json::String(code.clone()));
    }
    check_count(codes.len(), &attribute.validation, "option", "options")?;
    // A multiselect is a set: it is stored in one canonical order, the
    // order of the attribute's options, so the same set is the same JSON.
    codes.sort_by_key(|code| option_position(attribute, code));
    Ok(Json::Array(codes))
}

/// Where an option code stands among the attribute's options (codes the
/// schema no longer has go last).
fn option_position(attribute: &Attribute, code: &Json) -> usize {
    code.as_str()
        .and_then(|code| attribute.options.iter().position(|o| o.code == code))
        .unwrap_or(usize::MAX)
}

/// Whether two values of `attribute` mean the same. A multiselect is a set
/// of codes: values stored before the canonical order (or written by hand)
/// compare equal in any order. Anything else compares as it is.
pub fn same_value(attribute: &Attribute, a: &Json, b: &Json) -> bool {
    match (attribute.kind, a, b) {
        (AttributeType::Multiselect, Json::Array(x), Json::Array(y)) => {
            let sorted = |items: &[Json]| {
                let mut texts: Vec<String> = items.iter().map(Json::to_string).collect();
                texts.sort_unstable();
                texts
            };
            x.len() == y.len() && sorted(x) == sorted(y)
        }
        _ => a == b,
    }
}

/// [`same_value`] for a field of a product by name, where either side may be
/// absent; a field that is no attribute (`enabled`, `categories`) compares
/// as it is.
pub fn same_field(schema: &Schema, field: &str, a: Option<&Json>, b: Option<&Json>) -> bool {
    match (schema.attribute(field), a, b) {
        (Some(attribute), Some(a), Some(b)) => same_value(attribute, a, b),
        _ => a == b,
    }
}

/// The fields of an object, refusing fields other than `allowed`.
fn fields<'a>(
    data: &'a Json,
    allowed: &[&str],
    example: &str,
) -> Result<&'a Map<String, Json>, String> {
    let Json::Object(map) = data else {
        return Err(format!(
            "must be an object like {example}; got {}",
            describe(data)
        ));
    };
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "has an unexpected field \"{}\"; write it like {example}",
            echo(extra)
        ));
    }
    Ok(map)
}

const MEASUREMENT_EXAMPLE: &str = r#"{"amount": "1.25", "unit": "KILOGRAM"}"#;

fn measurement(rules: &Validation, data: &Json) -> Result<Json, String> {
    let map = fields(data, &["amount", "unit"], MEASUREMENT_EXAMPLE)?;
    let (Some(amount), Some(unit)) = (map.get("amount"), map.get("unit")) else {
        return Err(format!(
            "needs both an amount and a unit, like {MEASUREMENT_EXAMPLE}"
        ));
    };
    let Json::String(unit) = unit else {
        return Err(format!(
            "the unit must be a unit code like KILOGRAM; got {}",
            describe(unit)
        ));
    };
    let known = match rules.unit_family {
        Some(family) => units::check_family(unit, family),
        None => units::unit_family(unit)
            .map(|_| ())
            .ok_or_else(|| units::UnitError::Unknown { unit: unit.clone() }),
    };
    if let Err(error) = known {
        let upper = unit.to_uppercase();
        let family_ok = units::unit_family(&upper)
            .is_some_and(|f| rules.unit_family.is_none_or(|wanted| wanted == f));
        if upper != *unit && family_ok {
            return Err(format!(
                "unknown unit \"{}\"; unit codes are upper-case: did you mean {upper}?",
                echo(unit)
            ));
        }
        return Err(error.to_string());
    }
    let text = decimal_text(amount, "an amount")?;
    let value = parse_decimal(&text).map_err(|e| format!("the amount: {e}"))?;
    let value = check_measurement_amount(value, rules, unit, &text)?;
    let mut out = Map::new();
    out.insert("amount".to_owned(), Json::String(value.to_string()));
    out.insert("unit".to_owned(), Json::String(unit.clone()));
    Ok(Json::Object(out))
}

/// Decimals apply to the amount as given. Min and max are in
/// `default_unit` when one is set (the amount is converted to it first),
/// else in whatever unit the value uses.
fn check_measurement_amount(
    value: Decimal,
    rules: &Validation,
    unit: &str,
    text: &str,
) -> Result<Decimal, String> {
    let range_free = Validation {
        min: None,
        max: None,
        ..rules.clone()
    };
    let value = check_amount(value, &range_free, text)?;
    let default_unit = rules.default_unit.as_deref().filter(|d| {
        units::unit_family(d).is_some() && units::unit_family(d) == units::unit_family(unit)
    });
    match default_unit {
        Some(target) if target != unit => {
            let converted = units::convert(value, unit, target).map_err(|e| e.to_string())?;
            if let Some(rule) = range_violation(converted, rules, &format!(" {target}")) {
                return Err(format!("{value} {unit} is {converted} {target}; it {rule}"));
            }
        }
        Some(target) => check_range(value, rules, &format!(" {target}"))?,
        None => check_range(value, rules, "")?,
    }
    Ok(value)
}

const PRICE_EXAMPLE: &str = r#"{"amount": "15.00", "currency": "USD"}"#;

fn price(rules: &Validation, schema: &Schema, data: &Json) -> Result<Json, String> {
    let items = array(data, &format!("a list of prices like [{PRICE_EXAMPLE}]"))?;
    let mut prices: Vec<(String, Decimal)> = Vec::with_capacity(items.len());
    for item in items {
        let map = fields(item, &["amount", "currency"], PRICE_EXAMPLE)?;
        let (Some(amount), Some(currency)) = (map.get("amount"), map.get("currency")) else {
            return Err(format!(
                "each price needs an amount and a currency, like {PRICE_EXAMPLE}"
            ));
        };
        let Json::String(code) = currency else {
            return Err(format!(
                "the currency must be a code like USD; got {}",
                describe(currency)
            ));
        };
        let Some(currency) = schema.currency(code) else {
            return Err(unknown_currency(schema, code));
        };
        if prices.iter().any(|(seen, _)| seen == code) {
            return Err(format!(
                "{code} appears twice; give one amount per currency"
            ));
        }
        let text = decimal_text(amount, "an amount")?;
        let value = parse_decimal(&text).map_err(|e| format!("the {code} amount: {e}"))?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(format!(
                "{value} {code} is negative; a price must be 0 or more"
            ));
        }
        let decimals = significant_decimals(value);
        if decimals > currency.decimals {
            let allowed = match currency.decimals {
                0 => "no decimals".to_owned(),
                n => n.to_string(),
            };
            return Err(format!(
                "{} {code} has {}; {code} allows {allowed}",
                echo(&text),
                decimals_phrase(decimals)
            ));
        }
        check_range(value, rules, &format!(" {code}"))?;
        let mut stored = value.abs();
        stored.rescale(currency.decimals);
        if stored.scale() != currency.decimals {
            return Err(format!("{} {code} has too many digits", echo(&text)));
        }
        prices.push((code.clone(), stored));
    }
    prices.sort_by(|a, b| a.0.cmp(&b.0));
    let out = prices
        .into_iter()
        .map(|(currency, amount)| {
            let mut entry = Map::new();
            entry.insert("amount".to_owned(), Json::String(amount.to_string()));
            entry.insert("currency".to_owned(), Json::String(currency));
            Json::Object(entry)
        })
        .collect();
    Ok(Json::Array(out))
}

fn unknown_currency(schema: &Schema, code: &str) -> String {
    if schema.currencies.is_empty() {
        return format!(
            "unknown currency \"{}\"; no currencies are set up yet, ask an admin to add it",
            echo(code)
        );
    }
    let upper = code.to_uppercase();
    if upper != code && schema.currency(&upper).is_some() {
        return format!(
            "unknown currency \"{}\"; currency codes are upper-case: did you mean {upper}?",
            echo(code)
        );
    }
    let list = schema
        .currencies
        .iter()
        .map(|c| c.code.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    format!("unknown currency \"{}\"; use one of {list}", echo(code))
}

fn gtin_value(data: &Json) -> Result<Json, String> {
    let text = match data {
        Json::String(s) => s,
        Json::Number(n) => {
            return Err(format!(
                "send a GTIN as text (\"{n}\"), not as a number: a number loses leading zeros"
            ));
        }
        other => return Err(format!("must be a GTIN as text; got {}", describe(other))),
    };
    match gtin::validate(text) {
        Ok(()) => Ok(Json::String(text.clone())),
        Err(error @ gtin::GtinError::WrongLength { .. }) => match gtin::pad_to_standard(text) {
            Some(padded) => Err(format!(
                "{error}; if a leading zero was lost (spreadsheets drop them), it is {padded}"
            )),
            None => Err(error.to_string()),
        },
        Err(error) => Err(error.to_string()),
    }
}

fn url_value(rules: &Validation, data: &Json) -> Result<Json, String> {
    let value = string(data, "a web address")?;
    check_length(value, rules.max_length.unwrap_or(URL_MAX_LENGTH), "")?;
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or line breaks; write a space as %20".to_owned());
    }
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(format!(
            "\"{}\" is not a web address; it must start with http:// or https://",
            echo(value)
        ));
    }
    let parsed = url::Url::parse(value)
        .map_err(|e| format!("\"{}\" is not a valid web address: {e}", echo(value)))?;
    let has_host = parsed.host_str().is_some_and(|h| !h.is_empty());
    if !matches!(parsed.scheme(), "http" | "https") || !has_host {
        return Err(format!(
            "\"{}\" is not a web address; it must start with http:// or https:// and name a host",
            echo(value)
        ));
    }
    Ok(Json::String(value.to_owned()))
}

fn assets(rules: &Validation, data: &Json) -> Result<Json, String> {
    let items = array(data, "a list of asset ids")?;
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        match item {
            Json::String(id) if id.trim().is_empty() => {
                return Err(format!("item {} is an empty asset id", index + 1));
            }
            Json::String(id) => {
                if !seen.insert(id.as_str()) {
                    return Err(format!("asset {} is listed twice", echo(id)));
                }
            }
            other => {
                return Err(format!(
                    "asset ids must be text; item {} is {}",
                    index + 1,
                    describe(other)
                ));
            }
        }
    }
    check_count(items.len(), rules, "asset", "assets")?;
    Ok(Json::Array(items.to_vec()))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use serde_json::json;

    use super::*;
    use crate::catalog::schema::{AttributeOption, Currency, Lane, Owner, UnitFamily};

    fn attribute(kind: AttributeType) -> Attribute {
        Attribute {
            code: "field".to_owned(),
            kind,
            labels: Default::default(),
            group: "general".to_owned(),
            localizable: false,
            scopable: false,
            owner: Owner::Pim,
            lane: Lane::Reviewed,
            validation: Validation::default(),
            options: Vec::new(),
            position: 0,
        }
    }

    fn with_rules(kind: AttributeType, rules: Validation) -> Attribute {
        Attribute {
            validation: rules,
            ..attribute(kind)
        }
    }

    fn with_options(kind: AttributeType, codes: &[&str]) -> Attribute {
        Attribute {
            options: codes
                .iter()
                .map(|code| AttributeOption {
                    code: (*code).to_owned(),
                    labels: Default::default(),
                })
                .collect(),
            ..attribute(kind)
        }
    }

    fn schema() -> Schema {
        Schema {
            currencies: vec![
                Currency {
                    code: "USD".to_owned(),
                    decimals: 2,
                },
                Currency {
                    code: "EUR".to_owned(),
                    decimals: 2,
                },
                Currency {
                    code: "JPY".to_owned(),
                    decimals: 0,
                },
            ],
            ..Schema::default()
        }
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).expect("test decimal")
    }

    fn ok(attribute: &Attribute, data: Json) -> Json {
        match normalize(attribute, &schema(), &data) {
            Ok(value) => value,
            Err(message) => panic!("{data} refused: {message}"),
        }
    }

    fn err(attribute: &Attribute, data: Json) -> String {
        match normalize(attribute, &schema(), &data) {
            Ok(value) => panic!("{data} accepted as {value}"),
            Err(message) => message,
        }
    }

    #[test]
    fn null_and_wrong_json_types_are_refused() {
        for kind in AttributeType::ALL {
            let message = err(&attribute(kind), Json::Null);
            assert!(message.contains("remove the value"), "{kind:?}: {message}");
        }
        assert_eq!(
            err(&attribute(AttributeType::Text), json!(12)),
            "must be text; got the number 12"
        );
        assert_eq!(
            err(&attribute(AttributeType::Text), json!("")),
            "is empty; remove the value instead of saving empty text"
        );
    }

    #[test]
    fn text() {
        let plain = attribute(AttributeType::Text);
        assert_eq!(ok(&plain, json!("Trail shoe")), json!("Trail shoe"));
        assert_eq!(ok(&plain, json!("x".repeat(255))), json!("x".repeat(255)));
        assert_eq!(
            err(&plain, json!("x".repeat(256))),
            "is 256 characters long; at most 255 allowed"
        );
        // Characters, not bytes.
        assert!(normalize(&plain, &schema(), &json!("ü".repeat(255))).is_ok());
        assert!(err(&plain, json!("two\nlines")).starts_with("must be a single line"));
        assert!(err(&plain, json!("nul\u{0}")).contains("U+0000"));
        assert_eq!(ok(&plain, json!("tab\there")), json!("tab\there"));

        let short = with_rules(
            AttributeType::Text,
            Validation {
                max_length: Some(5),
                ..Validation::default()
            },
        );
        assert_eq!(
            err(&short, json!("sixsix")),
            "is 6 characters long; at most 5 allowed"
        );
    }

    #[test]
    fn text_pattern_matches_the_whole_value() {
        let mpn = with_rules(
            AttributeType::Text,
            Validation {
                pattern: Some("[A-Z]{3}-[0-9]+".to_owned()),
                ..Validation::default()
            },
        );
        assert_eq!(ok(&mpn, json!("ABC-123")), json!("ABC-123"));
        assert_eq!(
            err(&mpn, json!("xABC-123")),
            "\"xABC-123\" does not match the required pattern [A-Z]{3}-[0-9]+"
        );
        assert!(normalize(&mpn, &schema(), &json!("ABC-123x")).is_err());
        // Cached: a second call gives the same answer.
        assert!(normalize(&mpn, &schema(), &json!("ABC-9")).is_ok());

        let alternation = with_rules(
            AttributeType::Text,
            Validation {
                pattern: Some("a|b".to_owned()),
                ..Validation::default()
            },
        );
        assert!(normalize(&alternation, &schema(), &json!("b")).is_ok());
        assert!(normalize(&alternation, &schema(), &json!("ab")).is_err());

        for broken in ["[unclosed", "a)|(b"] {
            let bad = with_rules(
                AttributeType::Text,
                Validation {
                    pattern: Some(broken.to_owned()),
                    ..Validation::default()
                },
            );
            let message = err(&bad, json!("a"));
            assert!(
                message.contains("not a valid regular expression"),
                "{message}"
            );
        }
    }

    #[test]
    fn textarea_is_sanitized() {
        let description = attribute(AttributeType::Textarea);
        let dirty =
            r#"<script>alert(1)</script><p onclick="x">Hi <a href="javascript:alert(1)">x</a></p>"#;
        assert_eq!(
            ok(&description, json!(dirty)),
            json!(r#"<p>Hi <a rel="noopener noreferrer">x</a></p>"#)
        );
        assert_eq!(
            ok(&description, json!("Line one\nLine two")),
            json!("Line one\nLine two")
        );
        assert!(err(&description, json!("<script>only</script>")).starts_with("has no text left"));

        let short = with_rules(
            AttributeType::Textarea,
            Validation {
                max_length: Some(13),
                ..Validation::default()
            },
        );
        // 26 characters raw, 13 after sanitizing.
        assert_eq!(
            ok(&short, json!("<span>1234</span><p>56</p>")),
            json!("1234<p>56</p>")
        );
        assert_eq!(
            err(&short, json!("<p>1 & 2 & 3</p>")),
            "is 24 characters long after cleaning the HTML; at most 13 allowed"
        );
    }

    #[test]
    fn number() {
        let plain = attribute(AttributeType::Number);
        assert_eq!(ok(&plain, json!("12.50")), json!("12.50"));
        assert_eq!(ok(&plain, json!(" -3 ")), json!("-3"));
        assert_eq!(ok(&plain, json!(15)), json!("15"));
        assert_eq!(ok(&plain, json!(1.5)), json!("1.5"));
        assert_eq!(ok(&plain, json!("+0.25")), json!("0.25"));
        assert_eq!(
            err(&plain, json!("1,5")),
            "use a decimal point, not a comma: 1.5"
        );
        assert_eq!(
            err(&plain, json!("1.234,5")),
            "use a decimal point, not a comma: 1234.5"
        );
        assert_eq!(
            err(&plain, json!("1,234.5")),
            "leave out the thousands separators: 1234.5"
        );
        assert_eq!(
            err(&plain, json!("1.23E+5")),
            "1.23E+5 is in scientific notation; write the number out in full: 123000"
        );
        assert_eq!(err(&plain, json!("12 kg")), "\"12 kg\" is not a number");
        assert_eq!(err(&plain, json!("1.2.3")), "\"1.2.3\" is not a number");
        assert_eq!(err(&plain, json!("1_000")), "\"1_000\" is not a number");
        assert!(err(&plain, json!("1".repeat(40))).contains("too many digits"));
        assert_eq!(err(&plain, json!(true)), "must be a number; got true");

        let limited = with_rules(
            AttributeType::Number,
            Validation {
                decimals: Some(2),
                min: Some(dec("0")),
                max: Some(dec("100")),
                ..Validation::default()
            },
        );
        assert_eq!(
            err(&limited, json!("12.345")),
            "12.345 has 3 decimals; at most 2 allowed"
        );
        // Extra trailing zeros are fine and cut to the allowed scale.
        assert_eq!(ok(&limited, json!("12.300")), json!("12.30"));
        assert_eq!(ok(&limited, json!("100")), json!("100"));
        assert_eq!(ok(&limited, json!("0")), json!("0"));
        assert_eq!(
            err(&limited, json!("100.01")),
            "must be at most 100; got 100.01"
        );
        assert_eq!(err(&limited, json!("-1")), "must be at least 0; got -1");

        let whole = with_rules(
            AttributeType::Number,
            Validation {
                decimals: Some(0),
                ..Validation::default()
            },
        );
        assert_eq!(
            err(&whole, json!("1.5")),
            "1.5 has 1 decimal; whole numbers only"
        );
    }

    #[test]
    fn boolean() {
        let flag = attribute(AttributeType::Boolean);
        assert_eq!(ok(&flag, json!(true)), json!(true));
        assert_eq!(ok(&flag, json!(false)), json!(false));
        assert_eq!(
            err(&flag, json!("yes")),
            "must be true or false; got the text \"yes\""
        );
        assert!(normalize(&flag, &schema(), &json!(1)).is_err());
    }

    #[test]
    fn date() {
        let day = attribute(AttributeType::Date);
        assert_eq!(ok(&day, json!("2026-02-28")), json!("2026-02-28"));
        assert_eq!(ok(&day, json!("2024-02-29")), json!("2024-02-29"));
        assert_eq!(
            err(&day, json!("2026-02-30")),
            "2026-02-30 is not a real date"
        );
        assert_eq!(
            err(&day, json!("2026-13-01")),
            "2026-13-01 is not a real date"
        );
        assert_eq!(
            err(&day, json!("31.03.2026")),
            "\"31.03.2026\" is not a date as YYYY-MM-DD, e.g. 2026-03-31"
        );
        assert!(normalize(&day, &schema(), &json!("2026-3-1")).is_err());
        assert!(normalize(&day, &schema(), &json!("2026-03-01T00:00:00Z")).is_err());
    }

    #[test]
    fn select() {
        let color = with_options(AttributeType::Select, &["red", "blue", "42", "36-38"]);
        assert_eq!(ok(&color, json!("red")), json!("red"));
        assert_eq!(ok(&color, json!("42")), json!("42"));
        assert_eq!(
            err(&color, json!("purple")),
            "unknown option \"purple\"; choose one of red, blue, 42, 36-38"
        );
        assert_eq!(
            err(&color, json!("Red")),
            "unknown option \"Red\"; option codes are lower-case: did you mean \"red\"?"
        );
        assert!(err(&color, json!(42)).starts_with("must be an option code"));

        let codes: Vec<String> = (1..=25).map(|n| format!("c{n}")).collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let many = with_options(AttributeType::Select, &codes);
        assert_eq!(
            err(&many, json!("x")),
            "unknown option \"x\"; choose one of c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, … (15 more)"
        );
        let none = attribute(AttributeType::Select);
        assert!(err(&none, json!("x")).contains("no options yet"));
    }

    #[test]
    fn multiselect() {
        let mut tags = with_options(AttributeType::Multiselect, &["a", "b", "c", "d"]);
        tags.validation.min_count = Some(2);
        tags.validation.max_count = Some(3);
        // Stored in the order of the attribute's options, whatever order came in.
        assert_eq!(ok(&tags, json!(["c", "a"])), json!(["a", "c"]));
        assert!(same_value(&tags, &json!(["c", "a"]), &json!(["a", "c"])));
        assert!(!same_value(&tags, &json!(["c", "a"]), &json!(["a", "b"])));
        assert!(!same_value(&tags, &json!(["a"]), &json!(["a", "c"])));
        let images = attribute(AttributeType::Assets);
        assert!(
            !same_value(&images, &json!(["x", "y"]), &json!(["y", "x"])),
            "asset links keep their order"
        );
        assert_eq!(
            err(&tags, json!(["a"])),
            "needs at least 2 options; 1 given"
        );
        assert_eq!(
            err(&tags, json!(["a", "b", "c", "d"])),
            "allows at most 3 options; 4 given"
        );
        assert_eq!(
            err(&tags, json!(["a", "a"])),
            "option \"a\" is chosen twice"
        );
        assert!(err(&tags, json!(["a", "z"])).starts_with("unknown option \"z\""));
        assert_eq!(
            err(&tags, json!(["a", 1])),
            "option codes must be text; item 2 is the number 1"
        );
        assert!(err(&tags, json!([])).contains("empty list"));
        assert!(err(&tags, json!("a")).starts_with("must be a list of option codes"));
    }

    #[test]
    fn measurement() {
        let weight = with_rules(
            AttributeType::Measurement,
            Validation {
                unit_family: Some(UnitFamily::Weight),
                decimals: Some(3),
                ..Validation::default()
            },
        );
        assert_eq!(
            ok(&weight, json!({"amount": "1.25", "unit": "KILOGRAM"})),
            json!({"amount": "1.25", "unit": "KILOGRAM"})
        );
        assert_eq!(
            ok(&weight, json!({"amount": 500, "unit": "GRAM"})),
            json!({"amount": "500", "unit": "GRAM"})
        );
        assert_eq!(
            err(&weight, json!({"amount": "1", "unit": "LITER"})),
            "unit LITER is not a weight unit; use one of MILLIGRAM, GRAM, KILOGRAM, TON, OUNCE, POUND"
        );
        assert_eq!(
            err(&weight, json!({"amount": "1", "unit": "kilogram"})),
            "unknown unit \"kilogram\"; unit codes are upper-case: did you mean KILOGRAM?"
        );
        assert!(
            err(&weight, json!({"amount": "1", "unit": "KG"})).starts_with("unknown unit \"KG\"")
        );
        assert_eq!(
            err(&weight, json!({"amount": "1,5", "unit": "GRAM"})),
            "the amount: use a decimal point, not a comma: 1.5"
        );
        assert_eq!(
            err(&weight, json!({"amount": "1.2345", "unit": "GRAM"})),
            "1.2345 has 4 decimals; at most 3 allowed"
        );
        assert!(
            err(&weight, json!({"amount": "1"})).starts_with("needs both an amount and a unit")
        );
        assert!(
            err(&weight, json!({"amount": "1", "unit": "GRAM", "x": 1}))
                .starts_with("has an unexpected field \"x\"")
        );
        assert!(err(&weight, json!("1 kg")).starts_with("must be an object like"));

        let any = attribute(AttributeType::Measurement);
        assert_eq!(
            ok(&any, json!({"amount": "2", "unit": "LITER"})),
            json!({"amount": "2", "unit": "LITER"})
        );
        assert!(
            err(&any, json!({"amount": "2", "unit": "PINT"})).starts_with("unknown unit \"PINT\"")
        );
    }

    #[test]
    fn measurement_range_is_checked_in_the_default_unit() {
        let weight = with_rules(
            AttributeType::Measurement,
            Validation {
                unit_family: Some(UnitFamily::Weight),
                default_unit: Some("KILOGRAM".to_owned()),
                min: Some(dec("0.1")),
                max: Some(dec("30")),
                ..Validation::default()
            },
        );
        assert!(
            normalize(
                &weight,
                &schema(),
                &json!({"amount": "500", "unit": "GRAM"})
            )
            .is_ok()
        );
        assert!(
            normalize(
                &weight,
                &schema(),
                &json!({"amount": "30", "unit": "KILOGRAM"})
            )
            .is_ok()
        );
        assert_eq!(
            err(&weight, json!({"amount": "50", "unit": "GRAM"})),
            "50 GRAM is 0.05 KILOGRAM; it must be at least 0.1 KILOGRAM"
        );
        assert_eq!(
            err(&weight, json!({"amount": "31", "unit": "KILOGRAM"})),
            "must be at most 30 KILOGRAM; got 31 KILOGRAM"
        );

        let raw = with_rules(
            AttributeType::Measurement,
            Validation {
                min: Some(dec("1")),
                ..Validation::default()
            },
        );
        assert_eq!(
            err(&raw, json!({"amount": "0.5", "unit": "METER"})),
            "must be at least 1; got 0.5"
        );
    }

    #[test]
    fn price() {
        let price = attribute(AttributeType::Price);
        assert_eq!(
            ok(
                &price,
                json!([{"amount": "15", "currency": "USD"}, {"amount": 12.5, "currency": "EUR"}, {"amount": "1500", "currency": "JPY"}])
            ),
            json!([
                {"amount": "12.50", "currency": "EUR"},
                {"amount": "1500", "currency": "JPY"},
                {"amount": "15.00", "currency": "USD"}
            ])
        );
        assert_eq!(
            ok(&price, json!([{"amount": "15.500", "currency": "USD"}])),
            json!([{"amount": "15.50", "currency": "USD"}])
        );
        assert_eq!(
            err(&price, json!([{"amount": "15.505", "currency": "USD"}])),
            "15.505 USD has 3 decimals; USD allows 2"
        );
        assert_eq!(
            err(&price, json!([{"amount": "15.5", "currency": "JPY"}])),
            "15.5 JPY has 1 decimal; JPY allows no decimals"
        );
        assert_eq!(
            err(&price, json!([{"amount": "15", "currency": "XYZ"}])),
            "unknown currency \"XYZ\"; use one of USD, EUR, JPY"
        );
        assert_eq!(
            err(&price, json!([{"amount": "15", "currency": "usd"}])),
            "unknown currency \"usd\"; currency codes are upper-case: did you mean USD?"
        );
        assert_eq!(
            err(
                &price,
                json!([{"amount": "15", "currency": "USD"}, {"amount": "16", "currency": "USD"}])
            ),
            "USD appears twice; give one amount per currency"
        );
        assert_eq!(
            err(&price, json!([{"amount": "15,50", "currency": "EUR"}])),
            "the EUR amount: use a decimal point, not a comma: 15.50"
        );
        assert_eq!(
            err(&price, json!([{"amount": "-1", "currency": "EUR"}])),
            "-1 EUR is negative; a price must be 0 or more"
        );
        assert_eq!(
            ok(&price, json!([{"amount": "0", "currency": "EUR"}])),
            json!([{"amount": "0.00", "currency": "EUR"}])
        );
        assert!(
            err(&price, json!({"amount": "1", "currency": "USD"}))
                .starts_with("must be a list of prices")
        );
        assert!(err(&price, json!([{"amount": "1"}])).starts_with("each price needs"));

        let ranged = with_rules(
            AttributeType::Price,
            Validation {
                max: Some(dec("1000")),
                ..Validation::default()
            },
        );
        assert_eq!(
            err(&ranged, json!([{"amount": "1000.01", "currency": "USD"}])),
            "must be at most 1000 USD; got 1000.01 USD"
        );
    }

    #[test]
    fn gtin() {
        let gtin = attribute(AttributeType::Gtin);
        assert_eq!(ok(&gtin, json!("0025000044984")), json!("0025000044984"));
        assert_eq!(ok(&gtin, json!("4006381333931")), json!("4006381333931"));
        assert_eq!(
            err(&gtin, json!("04083637")),
            "GTIN 04083637 has a wrong check digit: the last digit should be 4"
        );
        assert_eq!(
            err(&gtin, json!("25000044984")),
            "GTIN 25000044984 has 11 digits; expected 8, 12, 13 or 14; if a leading zero was lost (spreadsheets drop them), it is 025000044984"
        );
        assert_eq!(
            err(&gtin, json!("123")),
            "GTIN 123 has 3 digits; expected 8, 12, 13 or 14"
        );
        assert_eq!(
            err(&gtin, json!("12A4")),
            "GTIN 12A4 may only contain digits"
        );
        assert_eq!(
            err(&gtin, json!(25000044984u64)),
            "send a GTIN as text (\"25000044984\"), not as a number: a number loses leading zeros"
        );
    }

    #[test]
    fn url() {
        let link = attribute(AttributeType::Url);
        assert_eq!(
            ok(&link, json!("https://example.com/p/trail-shoe?c=red")),
            json!("https://example.com/p/trail-shoe?c=red")
        );
        assert_eq!(
            ok(&link, json!("HTTP://Example.com")),
            json!("HTTP://Example.com")
        );
        for bad in [
            "htp:/x",
            "javascript:alert(1)",
            "http:/x",
            "example.com",
            "ftp://x.test/",
            "mailto:a@b.c",
        ] {
            let message = err(&link, json!(bad));
            assert!(
                message.contains("must start with http:// or https://"),
                "{bad}: {message}"
            );
        }
        assert!(err(&link, json!("https://exa mple.com")).contains("spaces"));
        assert!(err(&link, json!("https://")).contains("not a valid web address"));
        assert!(err(&link, json!("http://[::1")).contains("not a valid web address"));
        let long = format!("https://example.com/{}", "a".repeat(2000));
        assert_eq!(
            err(&link, json!(long)),
            "is 2020 characters long; at most 2000 allowed"
        );
    }

    #[test]
    fn assets() {
        let mut media = attribute(AttributeType::Assets);
        media.validation.max_count = Some(2);
        media.validation.min_count = Some(1);
        assert_eq!(ok(&media, json!(["a1", "b2"])), json!(["a1", "b2"]));
        assert_eq!(err(&media, json!(["a1", "a1"])), "asset a1 is listed twice");
        assert_eq!(
            err(&media, json!(["a", "b", "c"])),
            "allows at most 2 assets; 3 given"
        );
        assert_eq!(err(&media, json!(["a", ""])), "item 2 is an empty asset id");
        assert_eq!(
            err(&media, json!([7])),
            "asset ids must be text; item 1 is the number 7"
        );
        assert!(err(&media, json!([])).contains("empty list"));

        let mut two = attribute(AttributeType::Assets);
        two.validation.min_count = Some(2);
        assert_eq!(err(&two, json!(["a"])), "needs at least 2 assets; 1 given");
    }

    #[test]
    fn option_codes() {
        for good in ["red", "42", "36-38", "x_l", "a"] {
            assert!(is_option_code(good), "{good}");
        }
        let too_long = "a".repeat(101);
        for bad in ["", "Red", "a b", "ä", "a.b", too_long.as_str()] {
            assert!(!is_option_code(bad), "{bad}");
        }
        assert!(is_option_code(&"a".repeat(100)));
    }
}
