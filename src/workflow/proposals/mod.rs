//! Proposals: changes to reviewed-lane attributes and to a product's
//! structure (categories, enabled) wait here until a second person approves
//! them. The master record never holds an unapproved reviewed-lane value.
//!
//! A person's edits accumulate in one draft per author and product until
//! they submit it with a note (the API submits at once). An approver
//! approves all or some fields, or rejects with a comment; approval applies
//! through the single write path. A field changed in master since the
//! proposal was made turns the proposal into a conflict that its author
//! rebases (keep mine / take theirs, per field) and resubmits.

mod authoring;
mod error;
mod import;
mod media;
mod model;
mod restore;
mod review;
mod storage;

pub use authoring::*;
pub use error::*;
pub(crate) use import::*;
pub use media::*;
pub use model::*;
pub use restore::*;
pub use review::*;
pub use storage::*;
