//! Reading ERP files as a stream of rows, with bounded memory whatever the
//! file's size: CSV (delimiter `,` `;` or tab, detected from the header or set
//! in the profile; quoted fields with line breaks; UTF-8 with or without BOM,
//! or Windows-1252 when the profile says so) and JSON Lines (one object per
//! line; nested objects are reached with dotted column names such as
//! `dimensions.weight`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use serde_json::Value as Json;

use super::profile::{MappingProfile, SourceFormat, TextEncoding};

/// A problem that stops reading (the header) or skips one row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {row}: {message}")]
pub struct ReadError {
    /// 1 is the header row; data rows start at 2 (as a spreadsheet numbers them).
    pub row: u64,
    pub message: String,
}

/// One data row: its number, its cells by column, and the cells as they came
/// (for `errors.csv`).
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub row: u64,
    columns: Arc<HashMap<String, usize>>,
    pub cells: Vec<String>,
    /// JSON Lines: the line as it came (CSV rows are their cells).
    pub line: Option<String>,
}

impl SourceRow {
    /// The raw cell of `column`, if the file has that column.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.columns
            .get(column)
            .and_then(|index| self.cells.get(*index))
            .map(String::as_str)
    }
}

/// How a CSV file was written, so `errors.csv` can be written the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    /// It started with a UTF-8 byte-order mark.
    pub bom: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Self {
            delimiter: b',',
            bom: false,
        }
    }
}

/// Rows of a file, in order.
pub struct Rows {
    /// The header, in file order.
    pub header: Vec<String>,
    pub dialect: Dialect,
    inner: Box<dyn Iterator<Item = Result<SourceRow, ReadError>> + Send>,
}

impl Iterator for Rows {
    type Item = Result<SourceRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

/// Opens a file for reading with a profile's format, delimiter and encoding.
pub fn open(
    source: impl Read + Send + 'static,
    profile: &MappingProfile,
) -> Result<Rows, ReadError> {
    match profile.format {
        SourceFormat::Csv => csv_rows(source, profile.delimiter, profile.encoding),
        SourceFormat::Jsonl => jsonl_rows(source),
    }
}

/// Counts `,` `;` and tabs outside quotes in the header line; the most common wins.
fn detect_delimiter(header: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in header {
        if *byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(entry) = counts.iter_mut().find(|(d, _)| d == byte) {
            entry.1 += 1;
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .map_or(b',', |(d, _)| *d)
}

fn decode(bytes: &[u8], encoding: TextEncoding, row: u64) -> Result<String, ReadError> {
    match encoding {
        TextEncoding::Utf8 => std::str::from_utf8(bytes).map(str::to_owned).map_err(|err| ReadError {
            row,
            message: format!(
                "the text is not valid UTF-8 (byte {} of the cell); if the ERP writes Windows-1252, set encoding = \"windows1252\" in the profile",
                err.valid_up_to() + 1
            ),
        }),
        TextEncoding::Windows1252 => Ok(encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned()),
    }
}

fn csv_rows(
    source: impl Read + Send + 'static,
    delimiter: Option<char>,
    encoding: TextEncoding,
) -> Result<Rows, ReadError> {
    let mut buffered = BufReader::with_capacity(1 << 16, source);
    // Skip a UTF-8 byte order mark.
    let peek = buffered.fill_buf().map_err(|err| ReadError {
        row: 1,
        message: format!("cannot read the file: {err}"),
    })?;
    let bom = peek.starts_with(&[0xEF, 0xBB, 0xBF]);
    if bom {
        buffered.consume(3);
    }
    let delimiter = match delimiter {
        Some(set) => u8::try_from(set).unwrap_or(b','),
        None => {
            let peek = buffered.fill_buf().map_err(|err| ReadError {
                row: 1,
                message: format!("cannot read the file: {err}"),
            })?;
            let end = peek.iter().position(|b| *b == b'\n').unwrap_or(peek.len());
            detect_delimiter(&peek[..end])
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(buffered);
    let header_bytes = reader
        .byte_headers()
        .map_err(|err| ReadError {
            row: 1,
            message: format!("the header row cannot be read: {err}"),
        })?
        .clone();
    let header = header_bytes
        .iter()
        // A header cell escaped by `errors.csv` reads as the original name.
        .map(|cell| {
            decode(cell, encoding, 1)
                .map(|text| super::mapping::unescape_formula(text.trim()).to_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    if header.iter().all(String::is_empty) {
        return Err(ReadError {
            row: 1,
            message: "the file has no header row".to_owned(),
        });
    }
    let columns: Arc<HashMap<String, usize>> = Arc::new(
        header
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect(),
    );
    let width = header.len();
    let mut row = 1u64;
    let records = reader.into_byte_records().map(move |record| {
        row += 1;
        let record = record.map_err(|err| ReadError {
            row,
            message: format!("the row cannot be read as CSV: {err}"),
        })?;
        if record.len() != width {
            return Err(ReadError {
                row,
                message: format!("the row has {} cells; the header has {width}", record.len()),
            });
        }
        let cells = record
            .iter()
            .map(|cell| decode(cell, encoding, row))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SourceRow {
            row,
            columns: columns.clone(),
            cells,
            line: None,
        })
    });
    Ok(Rows {
        header,
        dialect: Dialect { delimiter, bom },
        inner: Box::new(records),
    })
}

/// Whether a file writes decimal commas, judged from its number cells (a
/// profile's `decimal_comma = "auto"`). `1,5` and `1.234,50` say comma;
/// `1.5` and `1,234.50` say point; `1,500` alone could be either and says
/// nothing. Undecided, a `;`-separated file (as spreadsheets write where the
/// comma is the decimal mark) is read with commas.
pub fn detect_decimal_comma<'a>(cells: impl Iterator<Item = &'a str>, delimiter: u8) -> bool {
    let (mut comma, mut point) = (0usize, 0usize);
    for cell in cells {
        let text = cell.trim().trim_start_matches(['-', '+']);
        if text.is_empty()
            || !text
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        {
            continue;
        }
        let last_comma = text.rfind(',');
        let last_point = text.rfind('.');
        match (last_comma, last_point) {
            (Some(c), Some(p)) if c > p => comma += 1,
            (Some(_), Some(_)) => point += 1,
            (Some(c), None) => {
                // One comma not followed by exactly three digits, or after a
                // part no thousands group can be (`0,250`, `1234,567`): a
                // decimal comma; several commas: thousands separators.
                if text.matches(',').count() > 1 {
                    point += 1;
                } else if text.len() - c - 1 != 3 || !could_group(&text[..c]) {
                    comma += 1;
                }
            }
            (None, Some(p)) => {
                if text.matches('.').count() > 1 {
                    comma += 1;
                } else if text.len() - p - 1 != 3 || !could_group(&text[..p]) {
                    point += 1;
                }
            }
            (None, None) => {}
        }
    }
    if comma == point {
        delimiter == b';'
    } else {
        comma > point
    }
}

/// Whether `digits` could stand before a thousands separator: one to three
/// digits, not starting with a zero.
fn could_group(digits: &str) -> bool {
    (1..=3).contains(&digits.len()) && !digits.starts_with('0')
}

/// A JSON value as a cell: strings as they are, numbers and booleans as
/// written, null as empty, arrays as comma lists.
fn cell_of(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(text) => text.clone(),
        Json::Array(items) => items.iter().map(cell_of).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Flattens an object into dotted columns: `{"dimensions": {"weight": 2}}` → `dimensions.weight`.
fn flatten(prefix: &str, value: &Json, out: &mut Vec<(String, String)>) {
    match value {
        Json::Object(map) => {
            for (key, inner) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, inner, out);
            }
        }
        other => out.push((prefix.to_owned(), cell_of(other))),
    }
}

fn jsonl_rows(source: impl Read + Send + 'static) -> Result<Rows, ReadError> {
    let lines = BufReader::with_capacity(1 << 16, source).lines();
    let mut row = 1u64;
    let rows = lines.filter_map(move |line| {
        row += 1;
        let line = match line {
            Ok(line) => line,
            Err(err) => {
                return Some(Err(ReadError {
                    row,
                    message: format!("the line is not valid UTF-8 text: {err}"),
                }));
            }
        };
        let trimmed = line.trim().trim_start_matches('\u{feff}');
        if trimmed.is_empty() {
            return None;
        }
        let value: Json = match serde_json::from_str(trimmed) {
            Ok(value) => value,
            Err(err) => {
                return Some(Err(ReadError {
                    row,
                    message: format!("the line is not JSON: {err}"),
                }));
            }
        };
        if !value.is_object() {
            return Some(Err(ReadError {
                row,
                message: "each line must be a JSON object".to_owned(),
            }));
        }
        let mut pairs = Vec::new();
        flatten("", &value, &mut pairs);
        let columns: HashMap<String, usize> = pairs
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.clone(), i))
            .collect();
        Some(Ok(SourceRow {
            row,
            columns: Arc::new(columns),
            cells: pairs.into_iter().map(|(_, v)| v).collect(),
            line: Some(trimmed.to_owned()),
        }))
    });
    Ok(Rows {
        header: Vec::new(),
        dialect: Dialect::default(),
        inner: Box::new(rows),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(extra: &str) -> MappingProfile {
        toml::from_str(&format!(
            "code = \"p\"\nidentifier = \"sku\"\nfamily = {{ fixed = \"x\" }}\n{extra}"
        ))
        .unwrap()
    }

    fn read_all(
        bytes: &'static [u8],
        profile: &MappingProfile,
    ) -> (Vec<String>, Vec<Result<SourceRow, ReadError>>) {
        let rows = open(bytes, profile).unwrap();
        let header = rows.header.clone();
        (header, rows.collect())
    }

    #[test]
    fn decimal_comma_votes_where_no_thousands_group_can_be() {
        // `0,250` and `1234,567` cannot be thousands: decimal commas.
        assert!(detect_decimal_comma(["0,250", "1,234"].into_iter(), b','));
        assert!(detect_decimal_comma(["1234,567"].into_iter(), b','));
        assert!(!detect_decimal_comma(["0.250"].into_iter(), b';'));
        // `1,234` alone says nothing: the delimiter decides.
        assert!(!detect_decimal_comma(["1,234"].into_iter(), b','));
        assert!(detect_decimal_comma(["1,234"].into_iter(), b';'));
        assert!(!detect_decimal_comma(
            ["1,234,567", "2.5"].into_iter(),
            b';'
        ));
    }

    #[test]
    fn csv_with_bom_semicolons_and_quoted_line_breaks() {
        let file = "\u{feff}sku;name;price\nA-1;\"Two\nlines\";1,50\nA-2;Plain;2,00\n".as_bytes();
        let (header, rows) = read_all(file, &profile(""));
        assert_eq!(header, ["sku", "name", "price"]);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.row, 2);
        assert_eq!(first.get("name"), Some("Two\nlines"));
        assert_eq!(first.get("price"), Some("1,50"));
        assert_eq!(rows[1].as_ref().unwrap().row, 3);
        assert!(first.get("missing").is_none());
    }

    #[test]
    fn tabs_are_detected_and_a_set_delimiter_wins() {
        let (header, _) = read_all(b"sku\tname\nA\tB\n", &profile(""));
        assert_eq!(header, ["sku", "name"]);
        let (header, _) = read_all(b"sku;name,x\nA;B,C\n", &profile("delimiter = \",\""));
        assert_eq!(header, ["sku;name", "x"]);
    }

    #[test]
    fn invalid_utf8_names_the_row_unless_windows_1252() {
        static FILE: &[u8] = b"sku,name\nA-1,Caf\xe9\nA-2,ok\n";
        let (_, rows) = read_all(FILE, &profile(""));
        let error = rows[0].as_ref().unwrap_err();
        assert_eq!(error.row, 2);
        assert!(error.message.contains("windows1252"), "{}", error.message);
        assert!(rows[1].is_ok(), "one bad row does not stop the file");
        let (_, rows) = read_all(FILE, &profile("encoding = \"windows1252\""));
        assert_eq!(rows[0].as_ref().unwrap().get("name"), Some("Café"));
    }

    #[test]
    fn decimal_commas_are_told_from_the_number_cells() {
        let detect =
            |cells: &[&str], delimiter| detect_decimal_comma(cells.iter().copied(), delimiter);
        assert!(detect(&["696,015", "19,99", "1.234,50"], b','));
        assert!(!detect(&["696.015", "19.99", "1,234.50"], b';'));
        assert!(!detect(&["1,234,567", "2"], b';'), "thousands separators");
        // Only ambiguous cells: the delimiter decides.
        assert!(detect(&["1,500", "x"], b';'));
        assert!(!detect(&["1,500"], b','));
    }

    #[test]
    fn the_dialect_is_reported() {
        let rows = open(&b"\xEF\xBB\xBFsku;name\nA;B\n"[..], &profile("")).unwrap();
        assert_eq!(
            rows.dialect,
            Dialect {
                delimiter: b';',
                bom: true
            }
        );
        let rows = open(&b"sku,name\nA,B\n"[..], &profile("")).unwrap();
        assert_eq!(rows.dialect, Dialect::default());
    }

    #[test]
    fn ragged_rows_are_row_errors() {
        let (_, rows) = read_all(b"sku,name\nA-1\nA-2,ok\n", &profile(""));
        assert!(
            rows[0]
                .as_ref()
                .unwrap_err()
                .message
                .contains("1 cells; the header has 2")
        );
        assert!(rows[1].is_ok());
    }

    #[test]
    fn json_lines_flatten_nested_objects() {
        let file = b"{\"sku\": \"A-1\", \"dimensions\": {\"weight\": 1.5, \"unit\": \"kg\"}, \"tags\": [\"a\", \"b\"], \"gone\": null}\n\nnot json\n[1]\n";
        let (_, rows) = read_all(file, &profile("format = \"jsonl\""));
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.get("sku"), Some("A-1"));
        assert_eq!(first.get("dimensions.weight"), Some("1.5"));
        assert_eq!(first.get("tags"), Some("a,b"));
        assert_eq!(first.get("gone"), Some(""));
        assert_eq!(
            rows[1].as_ref().unwrap_err().row,
            4,
            "blank lines count as rows but yield nothing"
        );
        assert!(
            rows[2]
                .as_ref()
                .unwrap_err()
                .message
                .contains("JSON object")
        );
    }
}
