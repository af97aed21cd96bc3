//! Asset review as publishing sees it: an approved image may reach a
//! channel, a rejected or pending one may not, so deciding on an asset
//! judges the products that link it again.

use crate::audit::Actor;
use crate::db::{Db, Timestamp};
use crate::media::MediaError;
use crate::media::assets::{self, Decision};

/// Approves or rejects an asset; returns whether anything changed.
pub async fn decide(
    db: &Db,
    asset_id: &str,
    decision: &Decision,
    actor: &Actor,
    allow_self_approval: bool,
    now: Timestamp,
) -> Result<bool, MediaError> {
    let mut tx = db.begin_write().await?;
    let changed =
        assets::decide(&mut tx, asset_id, decision, actor, allow_self_approval, now).await?;
    tx.commit().await?;
    Ok(changed)
}
