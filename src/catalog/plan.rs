//! A plan between two schemas: the steps that turn the current schema into
//! the desired one. The types live here, below the write path that purges
//! for a destructive step (`workflow::write`) and schema as code that makes
//! and applies plans (`schema_code::plan`).

use std::fmt;

use serde::Serialize;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub action: Action,
    pub kind: &'static str,
    pub code: String,
    /// What changes, in words.
    pub detail: String,
    /// Why it would drop or invalidate product values, if it would.
    pub destructive: Option<String>,
    /// A destructive step that is refused even when destruction is allowed.
    pub blocking: bool,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.action {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
        };
        write!(f, "{sign} {} {}", self.kind, self.code)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if let Some(reason) = &self.destructive {
            write!(f, "  [destructive: {reason}]")?;
        }
        Ok(())
    }
}

/// The ordered steps from the current schema to the desired one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn destructive(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.destructive.is_some())
            .map(ToString::to_string)
            .collect()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return writeln!(f, "No changes: the schema is up to date.");
        }
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        let count = |action| self.steps.iter().filter(|s| s.action == action).count();
        writeln!(
            f,
            "Plan: {} to create, {} to update, {} to delete.",
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete)
        )
    }
}
