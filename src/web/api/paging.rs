//! Paging of the API's lists, one convention for all: send the previous
//! page's `next_cursor` as `cursor`. Lists ordered newest first by id
//! (proposals, imports, the audit log) still take their older `before=ID`
//! and answer `next_before` too, for the clients written against them.
//! (Channel feeds are a log to follow, not a list: they keep `after` and
//! `next_after` as the contract names them.)

use crate::web::error::AppError;

/// The id a newest-first list continues below: `cursor` (the text of a
/// `next_cursor`) or the older `before`; both at once is a 400 unless they
/// agree, and a cursor that is not an id is a 400 naming it.
pub fn id_cursor(cursor: Option<&str>, before: Option<i64>) -> Result<Option<i64>, AppError> {
    let from_cursor = match cursor.map(str::trim).filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            AppError::bad_parameter(
                "cursor",
                format!("{text:?} is not a cursor this list gave out; start again without one"),
            )
        })?),
    };
    match (from_cursor, before) {
        (Some(cursor), Some(before)) if cursor != before => Err(AppError::bad_parameter(
            "cursor",
            "send cursor or before, not both".to_owned(),
        )),
        (Some(id), _) | (None, Some(id)) => Ok(Some(id)),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::id_cursor;

    #[test]
    fn cursor_and_before_name_the_same_position() {
        assert_eq!(id_cursor(None, None).ok(), Some(None));
        assert_eq!(id_cursor(Some("42"), None).ok(), Some(Some(42)));
        assert_eq!(id_cursor(None, Some(42)).ok(), Some(Some(42)));
        assert_eq!(id_cursor(Some("42"), Some(42)).ok(), Some(Some(42)));
        assert_eq!(id_cursor(Some(""), None).ok(), Some(None));
        assert!(id_cursor(Some("42"), Some(7)).is_err());
        assert!(id_cursor(Some("abc"), None).is_err());
    }
}
