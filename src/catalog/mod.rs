//! The catalog: locales, currencies, channels, attributes, families,
//! categories, products and their values, and validation.

pub mod completeness;
pub mod gtin;
pub mod html;
pub mod plan;
pub mod product;
pub mod rows;
pub mod schema;
pub mod store;
pub mod units;
pub mod values;
