//! Governed publishing: readiness per channel and locale, the publisher that
//! follows the change log and writes snapshots and gapless feed events, and
//! the channel formats connectors and exports read.

pub mod assets;
pub mod export;
pub mod feed;
pub mod formats;
pub mod images;
pub mod on_channel;
pub mod overview;
pub mod payload;
pub mod publisher;
pub mod readiness;
pub mod worker;
