//! The audit log page (admins): newest first, filter by actor and action.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, render};
use crate::audit::{self, AuditEntry, AuditFilter};
use crate::web::AppState;
use crate::web::PageResult;
use crate::web::authz::AdminPage;
use crate::web::error::AppError;
use crate::web::extract::urlencode;

const PAGE_SIZE: i64 = 100;

/// An entry as the table shows it.
pub struct AuditRow {
    pub at: String,
    pub at_display: String,
    pub actor: String,
    pub actor_kind: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub client_addr: String,
}

impl From<AuditEntry> for AuditRow {
    fn from(entry: AuditEntry) -> Self {
        let details = match &entry.details {
            serde_json::Value::Object(map) if map.is_empty() => String::new(),
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(key, value)| match value {
                    serde_json::Value::String(text) => format!("{key}: {text}"),
                    other => format!("{key}: {other}"),
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        AuditRow {
            at: entry.at.to_stored(),
            at_display: entry.at.display(),
            actor: entry.actor,
            actor_kind: entry.actor_kind,
            action: entry.action,
            target: entry.target,
            details,
            client_addr: entry.client_addr,
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    actor: String,
    action: String,
    actions: Vec<String>,
    entries: Vec<AuditRow>,
    next_page: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    before: Option<i64>,
}

/// `GET /audit`
pub async fn show(
    State(state): State<AppState>,
    admin: AdminPage,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let session = admin.session;
    let Query(query) = query.map_err(AppError::from)?;
    let entries = audit::list(
        &state.db,
        &AuditFilter {
            actor: Some(query.actor.clone()),
            action: Some(query.action.clone()),
            before: query.before,
            limit: PAGE_SIZE,
        },
    )
    .await?;
    let next_page = match entries.last() {
        Some(last) if i64::try_from(entries.len()).unwrap_or(0) == PAGE_SIZE => Some(format!(
            "/audit?actor={}&action={}&before={}",
            urlencode(&query.actor),
            urlencode(&query.action),
            last.id
        )),
        _ => None,
    };
    Ok(render(
        StatusCode::OK,
        &AuditPage {
            chrome: Chrome::new(&session, "/audit", None),
            actions: audit::actions(&state.db).await?,
            actor: query.actor,
            action: query.action,
            entries: entries.into_iter().map(AuditRow::from).collect(),
            next_page,
        },
    ))
}
