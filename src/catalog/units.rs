//! Measurement units: the known unit codes of each [`UnitFamily`] (weight,
//! length, volume), their exact decimal factors to the family's base unit
//! (GRAM, MILLIMETER, MILLILITER), and conversion inside a family.
//!
//! Factors are exact decimals (1 POUND is 453.59237 GRAM by definition), so a
//! conversion that can be exact is exact; no floating point is involved.

use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

use super::schema::UnitFamily;

/// A unit: its code, the symbol people read (`cm`), its family and its
/// factor to the family's base unit, kept as mantissa and scale so the table
/// can stay `const`.
struct Unit {
    code: &'static str,
    symbol: &'static str,
    family: UnitFamily,
    mantissa: i64,
    scale: u32,
}

impl Unit {
    fn factor(&self) -> Decimal {
        Decimal::new(self.mantissa, self.scale)
    }
}

const fn unit(
    code: &'static str,
    symbol: &'static str,
    family: UnitFamily,
    mantissa: i64,
    scale: u32,
) -> Unit {
    Unit {
        code,
        symbol,
        family,
        mantissa,
        scale,
    }
}

const UNITS: [Unit; 20] = [
    unit("MILLIGRAM", "mg", UnitFamily::Weight, 1, 3),
    unit("GRAM", "g", UnitFamily::Weight, 1, 0),
    unit("KILOGRAM", "kg", UnitFamily::Weight, 1_000, 0),
    unit("TON", "t", UnitFamily::Weight, 1_000_000, 0),
    unit("OUNCE", "oz", UnitFamily::Weight, 28_349_523_125, 9),
    unit("POUND", "lb", UnitFamily::Weight, 45_359_237, 5),
    unit("MILLIMETER", "mm", UnitFamily::Length, 1, 0),
    unit("CENTIMETER", "cm", UnitFamily::Length, 10, 0),
    unit("METER", "m", UnitFamily::Length, 1_000, 0),
    unit("KILOMETER", "km", UnitFamily::Length, 1_000_000, 0),
    unit("INCH", "in", UnitFamily::Length, 254, 1),
    unit("FOOT", "ft", UnitFamily::Length, 3_048, 1),
    unit("YARD", "yd", UnitFamily::Length, 9_144, 1),
    unit("MILLILITER", "mL", UnitFamily::Volume, 1, 0),
    unit("CUBIC_CENTIMETER", "cm³", UnitFamily::Volume, 1, 0),
    unit("CENTILITER", "cL", UnitFamily::Volume, 10, 0),
    unit("LITER", "L", UnitFamily::Volume, 1_000, 0),
    unit("CUBIC_METER", "m³", UnitFamily::Volume, 1_000_000, 0),
    unit(
        "FLUID_OUNCE",
        "fl oz",
        UnitFamily::Volume,
        295_735_295_625,
        10,
    ),
    unit("GALLON", "gal", UnitFamily::Volume, 3_785_411_784, 6),
];

const WEIGHT_UNITS: [&str; 6] = ["MILLIGRAM", "GRAM", "KILOGRAM", "TON", "OUNCE", "POUND"];
const LENGTH_UNITS: [&str; 7] = [
    "MILLIMETER",
    "CENTIMETER",
    "METER",
    "KILOMETER",
    "INCH",
    "FOOT",
    "YARD",
];
const VOLUME_UNITS: [&str; 7] = [
    "MILLILITER",
    "CUBIC_CENTIMETER",
    "CENTILITER",
    "LITER",
    "CUBIC_METER",
    "FLUID_OUNCE",
    "GALLON",
];

/// Why a unit or a conversion was refused; the messages are meant for people.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnitError {
    /// The code is not one of the known units (codes are upper-case).
    #[error(
        "unknown unit {unit:?}; use a weight unit ({}), a length unit ({}) or a volume unit ({})",
        WEIGHT_UNITS.join(", "),
        LENGTH_UNITS.join(", "),
        VOLUME_UNITS.join(", ")
    )]
    Unknown {
        /// The code as given.
        unit: String,
    },
    /// The unit is known but belongs to another family than the one required.
    #[error(
        "unit {unit} is not a {} unit; use one of {}",
        family.as_str(),
        units_of(*family).join(", ")
    )]
    WrongFamily {
        /// The code as given.
        unit: String,
        /// The family it had to belong to.
        family: UnitFamily,
    },
    /// The converted amount does not fit in a decimal (about 28 digits).
    #[error("{amount} {from} is too large to convert to {to}")]
    TooLarge {
        /// The amount as given.
        amount: Decimal,
        /// The source unit.
        from: String,
        /// The target unit.
        to: String,
    },
}

fn find(code: &str) -> Option<&'static Unit> {
    UNITS.iter().find(|u| u.code == code)
}

/// The family of a unit code (`"KILOGRAM"` → weight), or `None` for an unknown code.
/// Codes are case-sensitive and upper-case, as in Akeneo.
pub fn unit_family(unit: &str) -> Option<UnitFamily> {
    find(unit).map(|u| u.family)
}

/// The symbol people read for a unit code (`"CENTIMETER"` → `"cm"`), or
/// `None` for an unknown code.
pub fn symbol(unit: &str) -> Option<&'static str> {
    find(unit).map(|u| u.symbol)
}

/// The unit codes of a family, smallest metric unit first, imperial units last.
pub fn units_of(family: UnitFamily) -> &'static [&'static str] {
    match family {
        UnitFamily::Weight => &WEIGHT_UNITS,
        UnitFamily::Length => &LENGTH_UNITS,
        UnitFamily::Volume => &VOLUME_UNITS,
    }
}

/// Checks that `unit` is a known unit of `family`.
pub fn check_family(unit: &str, family: UnitFamily) -> Result<(), UnitError> {
    match unit_family(unit) {
        None => Err(UnitError::Unknown {
            unit: unit.to_owned(),
        }),
        Some(found) if found != family => Err(UnitError::WrongFamily {
            unit: unit.to_owned(),
            family,
        }),
        Some(_) => Ok(()),
    }
}

/// Converts `amount` from one unit to another of the same family.
///
/// Multiplies by the source factor first and divides by the target factor
/// second, so conversions that can be exact are exact; the result is
/// normalized (`1000 GRAM` → `1` KILOGRAM, not `1.000`). A division that does
/// not terminate (GRAM → OUNCE) keeps 28 significant digits.
pub fn convert(amount: Decimal, from: &str, to: &str) -> Result<Decimal, UnitError> {
    let source = find(from).ok_or_else(|| UnitError::Unknown {
        unit: from.to_owned(),
    })?;
    let target = find(to).ok_or_else(|| UnitError::Unknown {
        unit: to.to_owned(),
    })?;
    if source.family != target.family {
        return Err(UnitError::WrongFamily {
            unit: to.to_owned(),
            family: source.family,
        });
    }
    let too_large = || UnitError::TooLarge {
        amount,
        from: from.to_owned(),
        to: to.to_owned(),
    };
    let base = amount.checked_mul(source.factor()).ok_or_else(too_large)?;
    let converted = base.checked_div(target.factor()).ok_or_else(too_large)?;
    Ok(converted.normalize())
}

/// Converts like [`convert`] and rounds to `decimals` digits after the point,
/// half away from zero (2.345 → 2.35, -2.345 → -2.35; not banker's rounding).
/// Trailing zeros are not added: 2.50 comes back as `2.5`.
pub fn convert_rounded(
    amount: Decimal,
    from: &str,
    to: &str,
    decimals: u32,
) -> Result<Decimal, UnitError> {
    let converted = convert(amount, from, to)?;
    Ok(converted
        .round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero)
        .normalize())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).expect("test decimal")
    }

    #[test]
    fn factors_are_exact() {
        assert_eq!(
            convert(dec("1"), "POUND", "GRAM").unwrap(),
            dec("453.59237")
        );
        assert_eq!(
            convert(dec("1"), "OUNCE", "GRAM").unwrap(),
            dec("28.349523125")
        );
        assert_eq!(
            convert(dec("1"), "GALLON", "MILLILITER").unwrap(),
            dec("3785.411784")
        );
        assert_eq!(
            convert(dec("1"), "FLUID_OUNCE", "MILLILITER").unwrap(),
            dec("29.5735295625")
        );
        assert_eq!(
            convert(dec("1"), "MILLIGRAM", "GRAM").unwrap(),
            dec("0.001")
        );
        assert_eq!(convert(dec("1"), "YARD", "FOOT").unwrap(), dec("3"));
        assert_eq!(convert(dec("1"), "FOOT", "INCH").unwrap(), dec("12"));
        assert_eq!(
            convert(dec("1"), "CUBIC_CENTIMETER", "MILLILITER").unwrap(),
            dec("1")
        );
    }

    #[test]
    fn converts_metric() {
        let grams = convert(dec("2.5"), "KILOGRAM", "GRAM").unwrap();
        assert_eq!(grams.to_string(), "2500");
        let kilos = convert(dec("1000"), "GRAM", "KILOGRAM").unwrap();
        assert_eq!(kilos.to_string(), "1");
        let liters = convert(dec("250"), "MILLILITER", "LITER").unwrap();
        assert_eq!(liters.to_string(), "0.25");
    }

    #[test]
    fn converts_inch_to_centimeter() {
        assert_eq!(
            convert(dec("1"), "INCH", "CENTIMETER").unwrap().to_string(),
            "2.54"
        );
    }

    #[test]
    fn rounds_half_away_from_zero() {
        // 1000 g = 2.2046226218… lb
        assert_eq!(
            convert_rounded(dec("1000"), "GRAM", "POUND", 2)
                .unwrap()
                .to_string(),
            "2.2"
        );
        assert_eq!(
            convert_rounded(dec("500"), "GRAM", "POUND", 2)
                .unwrap()
                .to_string(),
            "1.1"
        );
        assert_eq!(
            convert_rounded(dec("453.59237"), "GRAM", "POUND", 2)
                .unwrap()
                .to_string(),
            "1"
        );
        // 0.125 kg → 0.13, banker's rounding would give 0.12
        assert_eq!(
            convert_rounded(dec("125"), "GRAM", "KILOGRAM", 2)
                .unwrap()
                .to_string(),
            "0.13"
        );
        assert_eq!(
            convert_rounded(dec("-125"), "GRAM", "KILOGRAM", 2)
                .unwrap()
                .to_string(),
            "-0.13"
        );
    }

    #[test]
    fn refuses_cross_family_and_unknown_units() {
        let err = convert(dec("1"), "KILOGRAM", "LITER").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unit LITER is not a weight unit; use one of MILLIGRAM, GRAM, KILOGRAM, TON, OUNCE, POUND"
        );
        let err = convert(dec("1"), "LBS", "GRAM").unwrap_err();
        assert!(matches!(err, UnitError::Unknown { ref unit } if unit == "LBS"));
        assert!(
            err.to_string()
                .starts_with("unknown unit \"LBS\"; use a weight unit")
        );
        assert!(convert(dec("1"), "GRAM", "kilogram").is_err());
    }

    #[test]
    fn refuses_overflow() {
        let err = convert(Decimal::MAX, "TON", "MILLIGRAM").unwrap_err();
        assert!(matches!(err, UnitError::TooLarge { .. }));
    }

    #[test]
    fn families_and_lists_agree() {
        for family in [UnitFamily::Weight, UnitFamily::Length, UnitFamily::Volume] {
            for code in units_of(family) {
                assert_eq!(unit_family(code), Some(family));
            }
        }
        let listed: usize = [UnitFamily::Weight, UnitFamily::Length, UnitFamily::Volume]
            .into_iter()
            .map(|f| units_of(f).len())
            .sum();
        assert_eq!(listed, UNITS.len());
        assert_eq!(unit_family("METRE"), None);
        assert!(check_family("LITER", UnitFamily::Volume).is_ok());
        assert!(check_family("LITER", UnitFamily::Weight).is_err());
    }

    #[test]
    fn every_unit_has_a_distinct_symbol() {
        assert_eq!(symbol("CENTIMETER"), Some("cm"));
        assert_eq!(symbol("FLUID_OUNCE"), Some("fl oz"));
        assert_eq!(symbol("centimeter"), None);
        let mut symbols: Vec<&str> = UNITS.iter().map(|u| u.symbol).collect();
        symbols.sort_unstable();
        symbols.dedup();
        assert_eq!(symbols.len(), UNITS.len());
    }
}
