//! GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) check digits, validation, the
//! zero-padded GTIN-14 form used for comparison, and the repair of GTINs that
//! lost a leading zero in a spreadsheet.
//!
//! The check digit makes the weighted sum of all digits a multiple of 10, with
//! weights 3, 1, 3, 1 … from the rightmost data digit leftwards. Leading zeros
//! therefore never change the check digit: `025000044984` and `0025000044984`
//! are the same GTIN.

use thiserror::Error;

/// The lengths a GTIN may have: GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13), GTIN-14.
pub const VALID_LENGTHS: [usize; 4] = [8, 12, 13, 14];

/// Longest input echoed in a message; longer input is cut with `…`.
const ECHO_LIMIT: usize = 40;

/// Why a GTIN was refused; the messages are meant for people.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GtinError {
    /// The text is empty.
    #[error("GTIN is empty")]
    Empty,
    /// Something other than the digits 0–9 (spaces and dashes included).
    #[error("GTIN {} may only contain digits", echo(.text))]
    NotDigits {
        /// The text as given.
        text: String,
    },
    /// All digits, but not 8, 12, 13 or 14 of them.
    #[error("GTIN {} has {digits} digits; expected 8, 12, 13 or 14", echo(.text))]
    WrongLength {
        /// The text as given.
        text: String,
        /// How many digits it has.
        digits: usize,
    },
    /// The last digit is not the check digit of the others.
    #[error("GTIN {text} has a wrong check digit: the last digit should be {expected}")]
    WrongCheckDigit {
        /// The text as given.
        text: String,
        /// The check digit the data digits call for.
        expected: u32,
    },
}

fn echo(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The check digit for `data_digits` (a GTIN without its last digit), or
/// `None` when the text is empty or holds anything but ASCII digits.
pub fn check_digit(data_digits: &str) -> Option<u32> {
    if data_digits.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    for (position, byte) in data_digits.bytes().rev().enumerate() {
        if !byte.is_ascii_digit() {
            return None;
        }
        let weight = if position % 2 == 0 { 3 } else { 1 };
        sum = (sum + u32::from(byte - b'0') * weight) % 10;
    }
    Some((10 - sum) % 10)
}

/// Checks that `text` is a GTIN: digits only, 8, 12, 13 or 14 of them, and
/// a correct check digit. Nothing is trimmed or padded.
pub fn validate(text: &str) -> Result<(), GtinError> {
    if text.is_empty() {
        return Err(GtinError::Empty);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(GtinError::NotDigits {
            text: text.to_owned(),
        });
    }
    if !VALID_LENGTHS.contains(&text.len()) {
        return Err(GtinError::WrongLength {
            text: text.to_owned(),
            digits: text.len(),
        });
    }
    let (data, last) = text.split_at(text.len() - 1);
    let expected = check_digit(data).ok_or(GtinError::Empty)?;
    if check_digit_of(last) != Some(expected) {
        return Err(GtinError::WrongCheckDigit {
            text: text.to_owned(),
            expected,
        });
    }
    Ok(())
}

fn check_digit_of(last: &str) -> Option<u32> {
    last.chars().next().and_then(|c| c.to_digit(10))
}

/// A valid GTIN zero-padded to 14 digits, the form to compare GTINs in
/// (`036000291452` and `0036000291452` both give `00036000291452`);
/// `None` when `text` is not a valid GTIN.
pub fn to_gtin14(text: &str) -> Option<String> {
    validate(text).ok()?;
    Some(format!("{text:0>14}"))
}

/// The importer's "GTIN zero-padding" repair: a value of 7, 11, 12 or 13
/// digits is padded with one leading zero to the next valid length (8, 12,
/// 13, 14) and returned when that padded form is a valid GTIN; anything
/// else gives `None`.
///
/// Because a leading zero adds nothing to the weighted sum, the padded form
/// is valid exactly when the digits as given already have a correct check
/// digit. So `25000044984` (11 digits, lost from `0025000044984`) becomes
/// `025000044984`; note that an already valid 12- or 13-digit GTIN is padded
/// too (`036000291452` → `0036000291452`), which is the same GTIN
/// ([`to_gtin14`] gives the same result for both). Apply it only to values
/// that failed [`validate`] if the stored length should stay as sent.
pub fn pad_to_standard(text: &str) -> Option<String> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !matches!(text.len(), 7 | 11 | 12 | 13) {
        return None;
    }
    let padded = format!("0{text}");
    validate(&padded).ok()?;
    Some(padded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_check_digits() {
        assert_eq!(check_digit("002500004498"), Some(4));
        assert_eq!(check_digit("0408363"), Some(4));
        assert_eq!(check_digit("400638133393"), Some(1));
        assert_eq!(check_digit("03600029145"), Some(2));
        assert_eq!(check_digit(""), None);
        assert_eq!(check_digit("12a"), None);
    }

    #[test]
    fn accepts_valid_gtins() {
        assert_eq!(validate("0025000044984"), Ok(()));
        assert_eq!(validate("4006381333931"), Ok(()));
        assert_eq!(validate("036000291452"), Ok(()));
        assert_eq!(validate("96385074"), Ok(()));
        assert_eq!(validate("00012345600012"), Ok(()));
    }

    #[test]
    fn refuses_wrong_check_digit() {
        let err = validate("04083637").unwrap_err();
        assert_eq!(
            err,
            GtinError::WrongCheckDigit {
                text: "04083637".into(),
                expected: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "GTIN 04083637 has a wrong check digit: the last digit should be 4"
        );
        assert_eq!(validate("04083634"), Ok(()));
    }

    #[test]
    fn refuses_wrong_length_and_non_digits() {
        assert_eq!(
            validate("25000044984").unwrap_err().to_string(),
            "GTIN 25000044984 has 11 digits; expected 8, 12, 13 or 14"
        );
        assert_eq!(
            validate("12A4").unwrap_err().to_string(),
            "GTIN 12A4 may only contain digits"
        );
        assert!(matches!(
            validate(" 4006381333931"),
            Err(GtinError::NotDigits { .. })
        ));
        assert!(matches!(
            validate("4006381333931 "),
            Err(GtinError::NotDigits { .. })
        ));
        assert!(matches!(
            validate("４００６３８１３３３９３１"),
            Err(GtinError::NotDigits { .. })
        ));
        assert_eq!(validate(""), Err(GtinError::Empty));
        let long = "1".repeat(100);
        assert!(validate(&long).unwrap_err().to_string().contains('…'));
    }

    #[test]
    fn pads_to_gtin14_for_comparison() {
        assert_eq!(to_gtin14("036000291452").as_deref(), Some("00036000291452"));
        assert_eq!(
            to_gtin14("0036000291452").as_deref(),
            Some("00036000291452")
        );
        assert_eq!(to_gtin14("04083637"), None);
    }

    #[test]
    fn repairs_lost_leading_zero() {
        // The spreadsheet turned 0025000044984 into 25000044984 (11 digits).
        let repaired = pad_to_standard("25000044984");
        assert_eq!(repaired.as_deref(), Some("025000044984"));
        assert_eq!(validate("025000044984"), Ok(()));
        assert_eq!(check_digit("02500004498"), Some(4));
        assert_eq!(to_gtin14("025000044984"), to_gtin14("0025000044984"));
        // 7 digits → EAN-8.
        assert_eq!(pad_to_standard("4083634").as_deref(), Some("04083634"));
        // Already valid 12- and 13-digit values are padded too (same GTIN).
        assert_eq!(
            pad_to_standard("025000044984").as_deref(),
            Some("0025000044984")
        );
        assert_eq!(
            pad_to_standard("4006381333931").as_deref(),
            Some("04006381333931")
        );
        // A wrong check digit stays wrong with any number of zeros.
        assert_eq!(pad_to_standard("25000044985"), None);
        // Lengths that have no one-zero repair.
        assert_eq!(
            pad_to_standard("0025000044984"),
            Some("00025000044984".into())
        );
        assert_eq!(pad_to_standard("00025000044984"), None);
        assert_eq!(pad_to_standard("5000044984"), None);
        assert_eq!(pad_to_standard("2500004498A"), None);
    }
}
