//! The dashboard: what needs attention. Until the catalog, workflow, import
//! and publishing areas land, it says so and shows only real figures.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::audit_log::AuditRow;
use super::{Chrome, render};
use crate::app::AppState;
use crate::audit::{self, AuditFilter};
use crate::auth::{Permission, tokens, users};
use crate::error::{AppError, PageResult};
use crate::web::extract::PageSession;

struct Area {
    title: &'static str,
    summary: &'static str,
    arrives: &'static str,
}

const AREAS: [Area; 4] = [
    Area {
        title: "Review queue",
        summary: "Proposals waiting for an approver.",
        arrives: "arrives with the review workflow",
    },
    Area {
        title: "Readiness per channel",
        summary: "Ready, held and not-ready products on each channel.",
        arrives: "arrives with publishing",
    },
    Area {
        title: "Held items",
        summary: "Published products kept at their last good snapshot, with the reason.",
        arrives: "arrives with publishing",
    },
    Area {
        title: "Failed imports",
        summary: "ERP imports with rows to fix and re-send.",
        arrives: "arrives with the ERP import",
    },
];

struct AdminFigures {
    active_users: usize,
    disabled_users: usize,
    active_tokens: usize,
    failed_logins: usize,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    roles: String,
    areas: &'static [Area],
    admin: Option<AdminFigures>,
    entries: Vec<AuditRow>,
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /`
pub async fn show(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Query(query): Query<NoticeQuery>,
) -> PageResult<Response> {
    let (admin, entries) = if session.caller().may(&Permission::Administer) {
        let all_users = users::list(&state.db).await.map_err(AppError::from)?;
        let all_tokens = tokens::list(&state.db).await.map_err(AppError::from)?;
        let recent = audit::list(
            &state.db,
            &AuditFilter {
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .await?;
        let figures = AdminFigures {
            active_users: all_users.iter().filter(|u| !u.disabled).count(),
            disabled_users: all_users.iter().filter(|u| u.disabled).count(),
            active_tokens: all_tokens.iter().filter(|t| t.revoked_at.is_none()).count(),
            failed_logins: recent
                .iter()
                .filter(|e| e.action == "auth.login_failed")
                .count(),
        };
        let rows = recent.into_iter().take(10).map(AuditRow::from).collect();
        (Some(figures), rows)
    } else {
        (None, Vec::new())
    };
    Ok(render(
        StatusCode::OK,
        &DashboardPage {
            chrome: Chrome::new(&session, "/", query.notice.as_deref()),
            roles: session.user.roles.to_stored(),
            areas: &AREAS,
            admin,
            entries,
        },
    ))
}
