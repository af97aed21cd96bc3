//! Asset review as publishing sees it: an approved image may reach a
//! channel, a rejected or pending one may not, so deciding on an asset
//! judges the products that link it again.

use crate::audit::Actor;
use crate::catalog::product::ProductKind;
use crate::catalog::store;
use crate::db::{Db, Timestamp};
use crate::media::MediaError;
use crate::media::assets::{self, Decision};
use crate::workflow::history;

/// Approves or rejects an asset; returns whether anything changed. In the
/// same transaction, the products that link the asset (and the variants of
/// a model that does, which inherit the link) get change-log entries, so
/// the publisher judges them again in its next round: a decision is never
/// committed without the products it affects being queued for publishing.
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
    if changed {
        let mut affected: Vec<(i64, String, i64)> = Vec::new();
        for (id, _) in store::products_using_asset(&mut tx, asset_id).await? {
            let Some(stored) = store::find_by_id(&mut *tx, id).await? else {
                continue;
            };
            let product = &stored.product;
            if product.kind == ProductKind::Model {
                for variant in store::variants_of(&mut *tx, product.id).await? {
                    let v = &variant.product;
                    affected.push((v.id, v.sku.clone(), v.version));
                }
            }
            affected.push((product.id, product.sku.clone(), product.version));
        }
        history::log_for_publishing(&mut tx, &affected, now).await?;
    }
    tx.commit().await?;
    Ok(changed)
}
