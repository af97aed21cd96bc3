//! ERP import. So far: the synthetic ERP export (`generate-erp`) that demos,
//! tests and benchmarks read. Mapping profiles, readers and import jobs
//! follow (issue 5).

pub mod generate;
