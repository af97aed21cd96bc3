//! The review queue: one page of proposals, newest first, filtered as the
//! queue page asks, including by channel.
//!
//! Every filter but the channel is SQL ([`proposals::list`]). Whether a
//! proposal matters to a channel depends on its open changes (stored as one
//! JSON document per proposal) and on its family's requirements in the
//! schema, so that filter reads proposals in batches and keeps the matching
//! ones, with a bound on how many one page may scan.

use super::proposals::{self, Proposal, ProposalFilter, WorkflowError};
use crate::catalog::schema::Schema;
use crate::db::Db;

/// Proposals read per query while filling a page.
const BATCH: i64 = 200;
/// At most this many proposals are scanned for one page; the rest is a page further.
const MAX_SCAN: usize = 2000;

/// What the queue shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// The SQL filters; its `limit` is ignored (the queue reads in batches).
    pub proposals: ProposalFilter,
    /// Only proposals whose open changes matter to this channel.
    pub channel: Option<String>,
}

/// One page of the queue.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub proposals: Vec<Proposal>,
    /// Pass as `before_id` for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// True when the proposal's open changes matter to `channel`: a changed
/// attribute the family requires there, or a value scoped to it.
pub fn affects_channel(schema: &Schema, proposal: &Proposal, channel: &str) -> bool {
    let required = schema
        .family(&proposal.family)
        .and_then(|f| f.requirements.get(channel));
    proposal.open_changes().any(|change| {
        change.channel.as_deref() == Some(channel)
            || required.is_some_and(|r| r.contains(&change.attribute))
    })
}

/// Up to `page_size` proposals matching `filter`, newest first, and where
/// the next page starts.
pub async fn page(
    db: &Db,
    schema: &Schema,
    filter: &QueueFilter,
    page_size: usize,
) -> Result<QueuePage, WorkflowError> {
    let channel = filter.channel.as_deref();
    let mut sql_filter = ProposalFilter {
        limit: BATCH,
        ..filter.proposals.clone()
    };
    let mut found: Vec<Proposal> = Vec::new();
    let mut next_before: Option<i64> = None;
    let mut scanned = 0;
    'fill: loop {
        let batch = proposals::list(db, &sql_filter).await?;
        let exhausted = (batch.len() as i64) < BATCH;
        for proposal in batch {
            let id = proposal.id;
            if channel.is_none_or(|c| affects_channel(schema, &proposal, c)) {
                if found.len() == page_size {
                    next_before = found.last().map(|p| p.id);
                    break 'fill;
                }
                found.push(proposal);
            }
            scanned += 1;
            sql_filter.before_id = Some(id);
        }
        if exhausted {
            break;
        }
        if scanned >= MAX_SCAN {
            next_before = sql_filter.before_id;
            break;
        }
    }
    Ok(QueuePage {
        proposals: found,
        next_before,
    })
}

/// The codes of `code` and every category below it, for "proposals of
/// products in this category".
pub fn category_subtree(schema: &Schema, code: &str) -> Vec<String> {
    schema
        .categories
        .iter()
        .filter(|c| schema.category_within(&c.code, code))
        .map(|c| c.code.clone())
        .collect()
}
