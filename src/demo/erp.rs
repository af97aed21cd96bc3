//! The demo's first ERP import: a generated export (apparel and footwear
//! with variants, electronics, home goods) read through the `erp-items`
//! profile, as an ERP team would send it. Runs once per data folder.

use sqlx::Row;

use crate::app::AppState;
use crate::import::generate::{GenerateOptions, generate};
use crate::import::jobs::{Job, Mode};

/// Rows in the demo's ERP file: enough to page and facet, quick to import.
const DEMO_ROWS: usize = 1500;

/// Imports a generated ERP file unless a demo import ran before; answers the job.
pub async fn import_once(state: &AppState) -> anyhow::Result<Option<Job>> {
    let done: i64 = sqlx::query("SELECT COUNT(*) AS n FROM import_jobs WHERE origin = 'demo'")
        .fetch_one(state.db.pool())
        .await?
        .try_get("n")?;
    if done > 0
        || crate::import::profiles::get(state.db.pool(), "erp-items")
            .await?
            .is_none()
    {
        return Ok(None);
    }
    let path = state.config.data_dir.join("demo-erp-items.csv");
    let file = std::fs::File::create(&path)?;
    generate(
        std::io::BufWriter::new(file),
        GenerateOptions {
            items: DEMO_ROWS,
            variants: true,
            messy: false,
            seed: 11,
        },
    )?;
    let job =
        crate::import::cli::import_file(state, &path, "erp-items", Mode::Upsert, "demo", false)
            .await?;
    Ok(Some(job))
}
