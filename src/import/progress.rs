//! How far a running import job has read its file, for the job's page and
//! `GET /api/v1/imports/{id}`.

use super::jobs::Job;
use super::worker::Imports;

/// Rows and bytes read so far, and the share of the file that is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadProgress {
    pub rows: u64,
    pub bytes: u64,
    /// 0 to 100; 0 when the file's size is unknown.
    pub percent: u64,
}

/// The progress of `job` while it runs in this process; `None` otherwise.
pub fn of(imports: &Imports, job: &Job) -> Option<ReadProgress> {
    imports.progress(job.id).map(|(rows, bytes)| ReadProgress {
        rows,
        bytes,
        percent: bytes
            .saturating_mul(100)
            .checked_div(u64::try_from(job.file_bytes).unwrap_or(0))
            .unwrap_or(0)
            .min(100),
    })
}
