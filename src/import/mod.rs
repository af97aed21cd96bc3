//! ERP import. So far: the synthetic ERP export (`generate-erp`) that demos,
//! tests and benchmarks read, mapping profiles, and the pure row mapper.
//! Readers, import jobs, the API and the pages follow (issue 5).

pub mod generate;
pub mod mapping;
pub mod profile;
