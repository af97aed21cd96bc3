//! `errors.csv`: the failed rows exactly as they came, plus an `error`
//! column, safe to open in a spreadsheet (formula-like cells get a leading
//! apostrophe that the importer removes again) and ready to fix and re-send.
//! It is written the way the file was: its delimiter, its encoding (the
//! profile's) and its byte-order mark; a re-sent `errors.csv` has its
//! `error` column replaced, never repeated.

use super::jobs::{FailedRow, Job};
use super::mapping::escape_formula;
use super::profile::TextEncoding;

/// How one job's `errors.csv` is written.
#[derive(Debug, Clone)]
pub struct ErrorsCsv {
    delimiter: u8,
    bom: bool,
    encoding: TextEncoding,
    header: Vec<String>,
    /// The file's own `error` column (it is a re-sent `errors.csv`).
    error_column: Option<usize>,
}

impl ErrorsCsv {
    pub fn of(job: &Job) -> ErrorsCsv {
        let encoding = job.profile().map(|p| p.encoding).unwrap_or_default();
        let delimiter = match job.file_delimiter.as_str() {
            ";" => b';',
            "\t" => b'\t',
            _ => b',',
        };
        ErrorsCsv::new(job.header.clone(), delimiter, job.file_bom, encoding)
    }

    fn new(header: Vec<String>, delimiter: u8, file_bom: bool, encoding: TextEncoding) -> Self {
        ErrorsCsv {
            delimiter,
            // As the file had it, even before Windows-1252 bytes: the person
            // re-sends the same file they sent.
            bom: file_bom,
            encoding,
            // Ours is always the last column: an ERP column called "Error"
            // elsewhere in the file is the ERP's and stays.
            error_column: header
                .last()
                .filter(|last| last.trim().eq_ignore_ascii_case("error"))
                .map(|_| header.len() - 1),
            header,
        }
    }

    /// `text/csv` with the file's charset.
    pub fn content_type(&self) -> &'static str {
        match self.encoding {
            TextEncoding::Utf8 => "text/csv; charset=utf-8",
            TextEncoding::Windows1252 => "text/csv; charset=windows-1252",
        }
    }

    /// The byte-order mark (when the file had one) and the header line.
    pub fn head(&self) -> Vec<u8> {
        let mut cells: Vec<String> = self
            .header
            .iter()
            .map(|c| escape_formula(c).into_owned())
            .collect();
        if self.error_column.is_none() {
            cells.push("error".to_owned());
        }
        let mut out = if self.bom {
            vec![0xEF, 0xBB, 0xBF]
        } else {
            Vec::new()
        };
        out.extend(self.encode(&self.line(&cells)));
        out
    }

    /// A failed row: its cells escaped against formula injection, the error
    /// in the file's `error` column or a new last one.
    pub fn row(&self, row: &FailedRow) -> Vec<u8> {
        let mut cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| escape_formula(c).into_owned())
            .collect();
        let error = escape_formula(&describe(row)).into_owned();
        match self.error_column {
            Some(index) if index < cells.len() => cells[index] = error,
            _ => cells.push(error),
        }
        self.encode(&self.line(&cells))
    }

    fn line(&self, cells: &[String]) -> Vec<u8> {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        // Writing to a Vec cannot fail; an empty line is the fallback regardless.
        let _ = writer.write_record(cells);
        writer.into_inner().unwrap_or_default()
    }

    /// UTF-8 as written, or Windows-1252: the cells came from that encoding
    /// and go back unchanged; a character of an error message it lacks
    /// becomes `?`.
    fn encode(&self, utf8: &[u8]) -> Vec<u8> {
        let TextEncoding::Windows1252 = self.encoding else {
            return utf8.to_vec();
        };
        let text = String::from_utf8_lossy(utf8);
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
        if !unmappable {
            return bytes.into_owned();
        }
        let mut out = Vec::with_capacity(text.len());
        let mut buffer = [0u8; 4];
        for ch in text.chars() {
            let (bytes, _, unmappable) =
                encoding_rs::WINDOWS_1252.encode(ch.encode_utf8(&mut buffer));
            if unmappable {
                out.push(b'?');
            } else {
                out.extend_from_slice(&bytes);
            }
        }
        out
    }
}

/// One CSV record (quoted where needed), cells as given.
pub fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail; an empty line is the fallback regardless.
    let _ = writer.write_record(cells);
    writer.into_inner().unwrap_or_default()
}

/// The header line: the file's columns (escaped like cells, since a header
/// can start like a formula too) and `error`.
pub fn header_line(columns: &[String]) -> Vec<u8> {
    let mut cells: Vec<String> = columns
        .iter()
        .map(|c| escape_formula(c).into_owned())
        .collect();
    cells.push("error".to_owned());
    csv_line(&cells)
}

/// What went wrong with a row, in one cell.
pub fn describe(row: &FailedRow) -> String {
    let problems: Vec<String> = row
        .errors
        .iter()
        .map(|e| match &e.column {
            Some(column) => format!("{column}: {}", e.message),
            None => e.message.clone(),
        })
        .collect();
    format!("row {}: {}", row.row, problems.join("; "))
}

/// A failed CSV row: its cells escaped against formula injection, then the error.
pub fn csv_row(row: &FailedRow) -> Vec<u8> {
    let mut cells: Vec<String> = row
        .cells
        .iter()
        .map(|c| escape_formula(c).into_owned())
        .collect();
    cells.push(escape_formula(&describe(row)).into_owned());
    csv_line(&cells)
}

/// A failed JSON Lines row: the line exactly as it came, with an `error`
/// key added at its end (a line that was not an object becomes one).
pub fn jsonl_line(row: &FailedRow) -> Vec<u8> {
    let error = serde_json::Value::from(describe(row)).to_string();
    let original = row.cells.first().map_or("", |l| l.trim());
    let is_object = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(original)
        .is_ok_and(|o| !o.is_empty());
    let mut line = if is_object {
        let open = original.strip_suffix('}').unwrap_or(original).trim_end();
        format!("{open},\"error\":{error}}}")
    } else {
        format!("{{\"error\":{error}}}")
    };
    line.push('\n');
    line.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::jobs::RowError;
    use crate::import::profile::MappingProfile;
    use crate::import::reader::open;

    fn failed(cells: &[&str]) -> FailedRow {
        FailedRow {
            row: 7,
            cells: cells.iter().map(|c| (*c).to_owned()).collect(),
            errors: vec![RowError {
                row: 7,
                kind: "gtin".into(),
                column: Some("gtin".into()),
                value: "123".into(),
                message: "GTIN 123 has 3 digits".into(),
            }],
        }
    }

    #[test]
    fn only_the_last_error_column_is_ours() {
        let header = |cells: &[&str]| cells.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        // The ERP's own "Error" column in the middle stays; ours is added.
        let erp = ErrorsCsv::new(
            header(&["sku", "Error", "name"]),
            b',',
            false,
            TextEncoding::Utf8,
        );
        assert_eq!(erp.head(), b"sku,Error,name,error\r\n".to_vec());
        // A re-sent errors.csv: its last column is ours, replaced.
        let again = ErrorsCsv::new(
            header(&["sku", "name", "error"]),
            b',',
            false,
            TextEncoding::Utf8,
        );
        assert_eq!(again.head(), b"sku,name,error\r\n".to_vec());
    }

    /// Formula-like cells are escaped on the way out and restored on the way in.
    #[test]
    fn formula_cells_survive_the_round_trip() {
        let nasty = [
            "=HYPERLINK(\"x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "'=already",
            "a,\"b\"\nc",
        ];
        let row = failed(&nasty);
        let mut file = csv_line(&["a", "b", "c", "d", "e", "f", "g", "error"].map(String::from));
        file.extend(csv_row(&row));
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(text.contains("'+1") && text.contains("'-2") && text.contains("'@SUM"));
        let profile: MappingProfile =
            toml::from_str("code = \"p\"\nidentifier = \"a\"\nfamily = { fixed = \"x\" }").unwrap();
        let back: Vec<_> = open(std::io::Cursor::new(file), &profile)
            .unwrap()
            .collect();
        let back = back[0].as_ref().unwrap();
        for (i, column) in ["a", "b", "c", "d", "e", "f", "g"].iter().enumerate() {
            let cell = back.get(column).unwrap();
            assert_eq!(crate::import::mapping::unescape_formula(cell), nasty[i]);
        }
    }

    #[test]
    fn formula_like_headers_survive_the_round_trip() {
        let mut file = header_line(&["sku".to_owned(), "=cost".to_owned()]);
        file.extend(csv_line(&["A-1".to_owned(), "1".to_owned(), String::new()]));
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(text.starts_with("sku,'=cost,error"), "{text}");
        let profile: MappingProfile =
            toml::from_str("code = \"p\"\nidentifier = \"sku\"\nfamily = { fixed = \"x\" }")
                .unwrap();
        let rows = open(std::io::Cursor::new(file), &profile).unwrap();
        assert_eq!(rows.header, ["sku", "=cost", "error"]);
    }

    #[test]
    fn nested_json_lines_stay_valid() {
        let row = failed(&["{\"sku\":\"A-1\",\"dimensions\":{\"weight\":1}}"]);
        let line = String::from_utf8(jsonl_line(&row)).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(parsed["dimensions"]["weight"], 1);
        assert!(parsed["error"].as_str().unwrap().contains("GTIN 123"));
    }

    #[test]
    fn json_lines_keep_the_line_and_add_the_error() {
        let mut row = failed(&["{\"sku\":\"A-1\",\"gtin\":\"123\"}"]);
        let line = String::from_utf8(jsonl_line(&row)).unwrap();
        assert!(
            line.starts_with("{\"sku\":\"A-1\",\"gtin\":\"123\",\"error\":\"row 7: gtin: GTIN 123")
        );
        row.cells.clear();
        assert!(
            String::from_utf8(jsonl_line(&row))
                .unwrap()
                .contains("\"error\"")
        );
    }
}
