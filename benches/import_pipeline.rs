//! The pure part of an ERP import, before any database write: generate a
//! 100,000-row export, then stream it through the reader, the row mapper
//! (`erp-items` profile, demo catalog) and value validation. The import
//! benchmark of issue 5 adds the writes; this shows how much of its budget
//! the reading and mapping take.
//!
//! `cargo bench --bench import_pipeline`

use std::time::Instant;

use sluice::import::generate::{GenerateOptions, generate};
use sluice::import::mapping::map_row;
use sluice::import::profile::MappingProfile;
use sluice::import::reader::open;

/// The same allocator as the `sluice` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 100_000;

fn main() {
    let schema = sluice::demo::catalog_schema().expect("demo schema");
    for messy in [false, true] {
        let started = Instant::now();
        let mut bytes = Vec::new();
        generate(
            &mut bytes,
            GenerateOptions {
                items: ROWS,
                variants: true,
                messy,
                seed: 11,
            },
        )
        .expect("generate");
        let generated = started.elapsed();
        let mut profile: MappingProfile =
            toml::from_str(include_str!("../src/demo/erp-items.toml")).expect("profile");
        profile.decimal_comma = if messy {
            sluice::import::profile::DecimalComma::Yes
        } else {
            sluice::import::profile::DecimalComma::No
        };

        let started = Instant::now();
        let (mut mapped, mut failed, mut values) = (0usize, 0usize, 0usize);
        for row in open(std::io::Cursor::new(bytes.clone()), &profile).expect("open") {
            let Ok(row) = row else {
                failed += 1;
                continue;
            };
            match map_row(&profile, &schema, row.row, |c| row.get(c)) {
                Ok(product) => {
                    for change in &product.values {
                        if let (Some(attribute), Some(data)) =
                            (schema.attribute(&change.key.attribute), &change.data)
                        {
                            let _ = sluice::catalog::values::normalize(attribute, &schema, data);
                            values += 1;
                        }
                    }
                    mapped += 1;
                }
                Err(_) => failed += 1,
            }
        }
        let elapsed = started.elapsed();
        println!(
            "{} export, {ROWS} rows × 20 columns ({:.1} MB, generated in {:.2} s): read + map + validate {:.2} s = {:.0} rows/s ({mapped} mapped, {failed} with errors, {values} values)",
            if messy { "messy" } else { "clean" },
            bytes.len() as f64 / 1e6,
            generated.as_secs_f64(),
            elapsed.as_secs_f64(),
            ROWS as f64 / elapsed.as_secs_f64(),
        );
    }
}
