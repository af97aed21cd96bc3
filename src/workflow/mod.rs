//! Workflow: the single write path and product history. Proposals and review
//! (for reviewed-lane attributes) will sit in front of [`write`].

pub mod batch;
pub mod change;
pub mod history;
pub mod merge;
pub mod proposals;
pub mod queue;
pub mod write;
