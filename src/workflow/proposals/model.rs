//! The proposal model: a proposal, its proposed changes and their states, comments.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::auth::Caller;
use crate::catalog::product::ValueKey;
use crate::db::Timestamp;
use crate::workflow::change::ChangeTarget;
use crate::workflow::write::ChangeSet;

/// Where a proposal is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Conflict,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::Submitted,
        Status::Approved,
        Status::Rejected,
        Status::Conflict,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Conflict => "conflict",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still waiting for someone (the author or an approver).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Draft | Status::Submitted | Status::Conflict)
    }
}

/// Where a field of a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldState {
    /// Waiting for a decision.
    Open,
    /// Approved and written to master.
    Applied,
    /// Master changed it since: the author must rebase.
    Conflict,
    /// Given up at rebase (the author took theirs).
    Dropped,
}

/// One proposed change: before (master when proposed) and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedChange {
    pub attribute: String,
    pub locale: Option<String>,
    pub channel: Option<String>,
    pub before: Option<Json>,
    pub after: Option<Json>,
    pub state: FieldState,
    /// Master's value when a conflict was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theirs: Option<Json>,
}

impl ProposedChange {
    /// What this change changes.
    pub fn target(&self) -> ChangeTarget {
        ChangeTarget::parse(
            &self.attribute,
            self.locale.as_deref(),
            self.channel.as_deref(),
        )
    }

    pub fn key(&self) -> ValueKey {
        ValueKey::new(
            &self.attribute,
            self.locale.as_deref(),
            self.channel.as_deref(),
        )
    }
}

/// The change set that would apply these proposed changes.
pub(super) fn change_set_of<'a>(
    changes: impl IntoIterator<Item = &'a ProposedChange>,
) -> ChangeSet {
    ChangeSet::from_changes(
        changes
            .into_iter()
            .map(|change| (change.target(), change.after.as_ref())),
    )
}

/// A proposal as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub id: i64,
    pub sku: String,
    #[serde(skip)]
    pub product_id: i64,
    pub family: String,
    pub status: Status,
    pub author: String,
    #[serde(skip)]
    pub author_user_id: Option<i64>,
    pub source: String,
    pub note: String,
    pub base_version: i64,
    pub changes: Vec<ProposedChange>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub submitted: Option<Timestamp>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
}

impl Proposal {
    /// The open changes as the change set that would apply them.
    pub fn open_change_set(&self) -> ChangeSet {
        change_set_of(self.open_changes())
    }

    /// A draft is its author's private work; everything else is visible to
    /// every reader of the catalog.
    pub fn visible_to(&self, caller: &Caller) -> bool {
        self.status != Status::Draft || self.author_user_id == Some(caller.user.id)
    }

    pub fn open_changes(&self) -> impl Iterator<Item = &ProposedChange> {
        self.changes.iter().filter(|c| c.state == FieldState::Open)
    }
}

/// A comment on a proposal (decisions are comments too).
#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub author: String,
    pub at: Timestamp,
    pub kind: String,
    pub body: String,
}
