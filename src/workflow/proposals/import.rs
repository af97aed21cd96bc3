//! Import proposals: the reviewed-lane values an ERP import proposes.

use serde_json::Value as Json;
use sqlx::AnyConnection;

use super::error::WorkflowError;
use super::model::{FieldState, Proposal, ProposedChange};
use super::storage::{COLUMNS, from_row};
use crate::audit::Actor;
use crate::catalog::product::Product;
use crate::catalog::schema::Schema;
use crate::catalog::values;
use crate::db::Timestamp;
use crate::workflow::write::{self};

/// The pending (submitted) import proposals of these products, by product id.
pub(crate) async fn pending_import_proposals(
    conn: &mut AnyConnection,
    product_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Proposal>, WorkflowError> {
    let mut found = std::collections::HashMap::new();
    let head = format!(
        "SELECT {COLUMNS} FROM proposals WHERE source = 'import' AND status = 'submitted' AND product_id IN"
    );
    let ids = product_ids
        .iter()
        .map(|id| crate::db::bulk::Param::Int(*id))
        .collect();
    for row in crate::db::bulk::in_list(conn, &head, "ORDER BY id", ids).await? {
        let proposal = from_row(&row)?;
        found.insert(proposal.product_id, proposal);
    }
    Ok(found)
}

/// Whether a pending import proposal already proposes these changes (a
/// re-sent file must not open a new proposal); multiselects compare as sets,
/// so one stored in another order is the same proposal.
pub(crate) fn proposes_same(
    schema: &Schema,
    pending: &Proposal,
    changes: &[write::Change],
) -> bool {
    let open: Vec<&ProposedChange> = pending.open_changes().collect();
    let same = |field: &str, a: &Option<Json>, b: &Option<Json>| {
        values::same_field(schema, field, a.as_ref(), b.as_ref())
    };
    open.len() == changes.len()
        && changes.iter().all(|change| {
            open.iter().any(|o| {
                o.attribute == change.attribute
                    && o.locale == change.locale
                    && o.channel == change.channel
                    && same(&o.attribute, &o.after, &change.after)
                    && same(&o.attribute, &o.before, &change.before)
            })
        })
}

/// An import's reviewed-lane changes of one product: a submitted proposal
/// authored by the import job on behalf of whoever sent the file (so that
/// person cannot approve it: four eyes hold for imports too). The product's
/// older pending import proposal (if any) is withdrawn as superseded, with a
/// note in its thread.
pub(crate) async fn open_import_proposal(
    conn: &mut AnyConnection,
    product: &Product,
    changes: &[write::Change],
    supersedes: Option<i64>,
    job: (&str, &Actor),
    now: Timestamp,
) -> Result<Option<i64>, WorkflowError> {
    let (job_label, author) = job;
    let new_id = if changes.is_empty() {
        None
    } else {
        let proposed: Vec<ProposedChange> = changes
            .iter()
            .map(|c| ProposedChange {
                attribute: c.attribute.clone(),
                locale: c.locale.clone(),
                channel: c.channel.clone(),
                before: c.before.clone(),
                after: c.after.clone(),
                state: FieldState::Open,
                theirs: None,
            })
            .collect();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO proposals (product_id, sku, family, author_user_id, author_label, source, status, \
             note, base_version, changes, created_at, updated_at, submitted_at) \
             VALUES ($1, $2, $3, $9, $4, 'import', 'submitted', $5, $6, $7, $8, $8, $8) RETURNING id",
        )
        .bind(product.id)
        .bind(&product.sku)
        .bind(&product.family)
        .bind(&author.label)
        .bind(format!("ERP values from {job_label}"))
        .bind(product.version)
        .bind(serde_json::to_string(&proposed).unwrap_or_else(|_| "[]".into()))
        .bind(now)
        .bind(author.user_id)
        .fetch_one(&mut *conn)
        .await?;
        Some(id)
    };
    if let Some(old) = supersedes {
        sqlx::query(
            "UPDATE proposals SET status = 'withdrawn', updated_at = $1, decided_by_label = $2, decided_at = $1 \
             WHERE id = $3 AND status = 'submitted'",
        )
        .bind(now)
        .bind(job_label)
        .bind(old)
        .execute(&mut *conn)
        .await?;
        let body = match new_id {
            Some(id) => format!("Superseded by proposal #{id} from {job_label}."),
            None => format!("Withdrawn: {job_label} brought the values master already has."),
        };
        sqlx::query(
            "INSERT INTO proposal_comments (proposal_id, author_user_id, author_label, at, kind, body) \
             VALUES ($1, NULL, $2, $3, 'withdraw', $4)",
        )
        .bind(old)
        .bind(job_label)
        .bind(now)
        .bind(body)
        .execute(&mut *conn)
        .await?;
    }
    Ok(new_id)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema_code;
    use crate::workflow::proposals::Status;

    #[test]
    fn a_pending_import_proposal_in_another_multiselect_order_is_the_same() {
        let schema = schema_code::parse(
            "[[groups]]\ncode = \"g\"\n[[attributes]]\ncode = \"ports\"\ntype = \"multiselect\"\n\
             group = \"g\"\nowner = \"erp\"\nlane = \"reviewed\"\n\
             options = [{ code = \"usb_a\" }, { code = \"usb_c\" }, { code = \"hdmi\" }]\n",
        )
        .expect("schema");
        let at = Timestamp::parse("2026-01-01T00:00:00.000000Z").expect("time");
        // Stored before multiselects had one order.
        let pending = Proposal {
            id: 1,
            sku: "G-1".into(),
            product_id: 1,
            family: "gadgets".into(),
            status: Status::Submitted,
            author: "import".into(),
            author_user_id: None,
            source: "import".into(),
            note: String::new(),
            base_version: 1,
            changes: vec![ProposedChange {
                attribute: "ports".into(),
                locale: None,
                channel: None,
                before: None,
                after: Some(json!(["usb_c", "usb_a"])),
                state: FieldState::Open,
                theirs: None,
            }],
            created: at,
            updated: at,
            submitted: Some(at),
            decided_by: None,
            decided_at: None,
        };
        let change = |after: Json| write::Change {
            attribute: "ports".into(),
            locale: None,
            channel: None,
            before: None,
            after: Some(after),
        };
        assert!(proposes_same(
            &schema,
            &pending,
            &[change(json!(["usb_a", "usb_c"]))]
        ));
        assert!(!proposes_same(
            &schema,
            &pending,
            &[change(json!(["usb_a", "hdmi"]))]
        ));
    }
}
