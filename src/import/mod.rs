//! ERP import: mapping profiles, streaming readers, the pure row mapper,
//! import jobs run by background workers through the batched write path,
//! the synthetic ERP export (`generate-erp`) that demos, tests and
//! benchmarks read, and bulk media import (`media import`: files to assets,
//! assets linked to products through proposals).

pub mod cli;
pub mod errors_csv;
pub mod errors_file;
pub mod generate;
pub mod jobs;
pub mod mapping;
pub mod media_links;
pub mod profile;
pub mod profiles;
pub mod progress;
pub mod reader;
pub mod run;
pub mod worker;

#[cfg(test)]
mod tests {
    use super::generate::{GenerateOptions, generate};
    use super::mapping::map_row;
    use super::profile::MappingProfile;
    use super::reader::open;
    use crate::catalog::values::normalize;

    fn demo_profile(decimal_comma: bool) -> MappingProfile {
        let mut profile: MappingProfile =
            toml::from_str(include_str!("../demo/erp-items.toml")).unwrap();
        profile.decimal_comma = if decimal_comma {
            super::profile::DecimalComma::Yes
        } else {
            super::profile::DecimalComma::No
        };
        profile
    }

    /// Every row of a clean export maps to values the catalog accepts; a messy
    /// export fails exactly on its planted faults.
    #[test]
    fn generated_exports_map_onto_the_demo_catalog() {
        let schema = crate::demo::catalog_schema().unwrap();
        for messy in [false, true] {
            let profile = demo_profile(messy);
            assert_eq!(profile.check(&schema), Vec::<String>::new());
            let mut bytes = Vec::new();
            let options = GenerateOptions {
                items: 3000,
                variants: true,
                messy,
                seed: 3,
            };
            let report = generate(&mut bytes, options).unwrap();
            let mut ok = 0;
            let mut failed = 0;
            for row in open(std::io::Cursor::new(bytes), &profile).unwrap() {
                let row = row.unwrap();
                match map_row(&profile, &schema, row.row, |c| row.get(c)) {
                    Ok(mapped) => {
                        let mut row_ok = true;
                        for change in &mapped.values {
                            let attribute = schema.attribute(&change.key.attribute).unwrap();
                            let data = change.data.as_ref().unwrap();
                            if let Err(message) = normalize(attribute, &schema, data) {
                                // The write path refuses a planted line break in a name;
                                // nothing else may fail (a lost GTIN zero is repaired by pad_gtin).
                                assert!(
                                    messy && message.contains("line breaks"),
                                    "row {}: {} {data}: {message}",
                                    row.row,
                                    attribute.code
                                );
                                row_ok = false;
                            }
                        }
                        if row_ok {
                            ok += 1;
                        } else {
                            failed += 1;
                        }
                    }
                    Err(errors) => {
                        for error in &errors {
                            let planted = error.message.contains("scientific notation")
                                || error.message.contains("not a family");
                            assert!(planted, "row {}: {:?}", row.row, error);
                        }
                        failed += 1;
                    }
                }
            }
            assert_eq!(ok + failed, 3000);
            if messy {
                assert!(
                    failed > 0 && failed <= report.faulty,
                    "{failed} of {}",
                    report.faulty
                );
            } else {
                assert_eq!(failed, 0);
            }
        }
    }
}
