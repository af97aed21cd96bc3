//! The demo's first ERP import: a generated export (apparel and footwear
//! with variants, electronics, home goods) read through the `erp-items`
//! profile, as an ERP team would send it. Runs once per data folder.

use crate::import::generate::{GenerateOptions, generate};
use crate::import::jobs::{Job, Mode};
use crate::services::Services;

/// Rows in the demo's ERP file: enough to page and facet, quick to import.
const DEMO_ROWS: usize = 1500;

/// Imports a generated ERP file unless a demo import ran before; answers the job.
pub async fn import_once(services: &Services) -> anyhow::Result<Option<Job>> {
    let done = crate::import::jobs::count_from_origin(&services.db, "demo").await?;
    if done > 0
        || crate::import::profiles::get(services.db.pool(), "erp-items")
            .await?
            .is_none()
    {
        return Ok(None);
    }
    let path = services.config.data_dir.join("demo-erp-items.csv");
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
        crate::import::cli::import_file(services, &path, "erp-items", Mode::Upsert, "demo", false)
            .await?;
    Ok(Some(job))
}

/// What the demo says once about its import, in place of the job's
/// warnings, which a newcomer would read as faults: the profile's
/// Sluice-owned columns only seed new products, and values the generated
/// file carries on a level the catalog keeps elsewhere were not imported.
pub async fn explain(services: &Services, job: &Job) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let schema = crate::catalog::store::load_schema(services.db.pool()).await?;
    if let Ok(profile) = job.profile() {
        let mut owned: Vec<&str> = profile
            .pim_columns(&schema)
            .map(|m| m.column.as_str())
            .collect();
        let mut listed = Vec::new();
        owned.retain(|column| {
            let first = !listed.contains(column);
            listed.push(*column);
            first
        });
        if !owned.is_empty() {
            lines.push(format!(
                "The profile's Sluice-owned columns ({}) only seed new products; later imports leave them to your team.",
                owned.join(", ")
            ));
        }
    }
    if job.counts.rows_with_dropped_values > 0 {
        lines.push(format!(
            "{} rows carry values the catalog keeps on another level (a variant's own price, a model's stock) or not at all; they were not imported, and the job's page lists them per column.",
            job.counts.rows_with_dropped_values
        ));
    }
    Ok(lines)
}
