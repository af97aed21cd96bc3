//! The failed rows of a job as a download to fix and re-send: `errors.csv`
//! (see [`super::errors_csv`]), or JSON Lines when the job read JSON Lines.
//! Streamed from the database a stretch of rows at a time, so a job with a
//! million failed rows never sits in memory.

use futures_util::Stream;

use super::errors_csv::{ErrorsCsv, jsonl_line};
use super::jobs::{self, Job};
use super::profile::SourceFormat;
use crate::db::Db;

/// Failed rows read per query.
const STRETCH: i64 = 1000;

/// The download's media type and file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorsFile {
    pub content_type: &'static str,
    pub file_name: String,
}

/// The file that holds `job`'s failed rows, and its bytes as a stream.
pub fn errors_file(
    db: Db,
    job: Job,
) -> (
    ErrorsFile,
    impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static,
) {
    let jsonl = job.profile().is_ok_and(|p| p.format == SourceFormat::Jsonl);
    let csv = ErrorsCsv::of(&job);
    let file = if jsonl {
        ErrorsFile {
            content_type: "application/x-ndjson",
            file_name: format!("import-{}-errors.jsonl", job.id),
        }
    } else {
        ErrorsFile {
            content_type: csv.content_type(),
            file_name: format!("import-{}-errors.csv", job.id),
        }
    };
    let stream = futures_util::stream::unfold(Some(0i64), move |after| {
        let db = db.clone();
        let csv = csv.clone();
        let job_id = job.id;
        async move {
            let after = after?;
            let mut out = Vec::new();
            if after == 0 && !jsonl {
                out.extend(csv.head());
            }
            match jobs::failed_rows(&db, job_id, after, STRETCH).await {
                Ok(rows) if rows.is_empty() => {
                    (!out.is_empty()).then_some((Ok::<_, std::io::Error>(out), None))
                }
                Ok(rows) => {
                    let next = rows
                        .last()
                        .map(|r| i64::try_from(r.row).unwrap_or(i64::MAX));
                    for row in &rows {
                        out.extend(if jsonl { jsonl_line(row) } else { csv.row(row) });
                    }
                    Some((Ok(out), next))
                }
                Err(err) => Some((Err(std::io::Error::other(err)), None)),
            }
        }
    });
    (file, stream)
}
