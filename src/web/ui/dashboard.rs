//! The dashboard: what needs attention: the review queue, the signed-in
//! user's decided or conflicting proposals, failed imports of the last day,
//! held products (each once, however many channels hold it), readiness per
//! channel as figures and stacked bars, the last 14 days of imports,
//! approvals and feed events as day bars, and whether self-approval is on.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::audit_log::AuditRow;
use super::channels::readiness_bar;
use super::charts::{DayBars, StackedBar, last_days};
use super::{Chrome, NoticeQuery, count_of, render};
use crate::audit::{self, AuditFilter};
use crate::auth::{Permission, tokens, users};
use crate::db::Timestamp;
use crate::publish::feed::{self, ChannelCounts};
use crate::publish::overview;
use crate::web::AppState;
use crate::web::PageResult;
use crate::web::error::AppError;
use crate::web::extract::{PageSession, urlencode};
use crate::workflow::proposals::{self, Status};

/// One channel's figures on the dashboard, linking to its page.
struct ChannelFigures {
    code: String,
    href: String,
    counts: ChannelCounts,
    /// Published and held: what a connector receives.
    in_feed: i64,
    bar: StackedBar,
}

/// How many days the activity charts show, today included.
const ACTIVITY_DAYS: u16 = 14;

/// The dashboard's activity charts.
struct Activity {
    imports: Option<DayBars>,
    approvals: DayBars,
    feed_events: DayBars,
}

/// One of "my proposals" that was decided or needs the author.
struct ProposalNotice {
    href: String,
    id: i64,
    sku: String,
    status: &'static str,
    message: String,
    at: String,
}

/// How many of the user's proposals the dashboard lists.
const NOTICE_LIMIT: i64 = 10;

/// Imports that failed or partly failed in the last 24 hours.
struct FailedImports {
    count: i64,
    plural: bool,
}

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
    channels: Vec<ChannelFigures>,
    /// Products held on at least one channel, each once.
    held_products: i64,
    /// `3 channel × product pairs` when some product is held on several channels.
    held_pairs: Option<String>,
    activity: Activity,
    queue_size: i64,
    /// Assets waiting for review (the media library's pending filter).
    pending_assets: i64,
    failed_imports: Option<FailedImports>,
    notices: Vec<ProposalNotice>,
    self_approval: bool,
    admin: Option<AdminFigures>,
    entries: Vec<AuditRow>,
}

/// The last [`ACTIVITY_DAYS`] UTC days of imports (for those who may run
/// them), approvals and feed events.
async fn activity(state: &AppState, may_import: bool) -> Result<Activity, AppError> {
    let now = state.clock.now();
    let today = time::OffsetDateTime::from_unix_timestamp(now.unix_seconds())
        .map_err(AppError::internal)?
        .date();
    let days = last_days(today, ACTIVITY_DAYS);
    let first = today
        .checked_sub(time::Duration::days(i64::from(ACTIVITY_DAYS) - 1))
        .unwrap_or(today);
    let since = Timestamp::from_offset(first.midnight().assume_utc());
    let imports = if may_import {
        let counts = crate::import::jobs::per_day(&state.db, since).await?;
        Some(DayBars::new("Imports", &days, &counts))
    } else {
        None
    };
    let approvals = proposals::approvals_per_day(&state.db, since).await?;
    let feed_events = overview::feed_events_per_day(&state.db, &days).await?;
    Ok(Activity {
        imports,
        approvals: DayBars::new("Approvals", &days, &approvals),
        feed_events: DayBars::new("Feed events", &days, &feed_events),
    })
}

/// `GET /`
pub async fn show(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Query(query): Query<NoticeQuery>,
) -> PageResult<Response> {
    let queue_size = proposals::queue_size(&state.db).await?;
    let pending_assets = crate::media::assets::counts(&state.db)
        .await?
        .get(&crate::media::AssetStatus::Pending)
        .copied()
        .unwrap_or(0);
    let schema = state.schema.get(&state.db).await?;
    let mut channels = Vec::with_capacity(schema.channels.len());
    for channel in &schema.channels {
        let counts = feed::counts(&state.db, &channel.code).await?;
        channels.push(ChannelFigures {
            href: format!("/channels/{}", urlencode(&channel.code)),
            code: channel.code.clone(),
            in_feed: counts.published + counts.held,
            bar: readiness_bar(&format!("Products on {}", channel.code), &counts.readiness),
            counts,
        });
    }
    let held_products = overview::held_products(&state.db).await?;
    let held_pair_count: i64 = channels.iter().map(|c| c.counts.held).sum();
    let held_pairs = (held_pair_count != held_products).then(|| {
        count_of(
            held_pair_count,
            "channel × product pair",
            "channel × product pairs",
        )
    });
    let activity = activity(&state, session.caller().may(&Permission::Import)).await?;
    let notices = proposals::notices_for(&state.db, session.user.id, NOTICE_LIMIT)
        .await?
        .into_iter()
        .map(|p| ProposalNotice {
            href: format!("/proposals/{}", p.id),
            id: p.id,
            message: match p.status {
                Status::Conflict => {
                    "is in conflict: fields changed since you proposed them; rebase it".to_owned()
                }
                status => match &p.decided_by {
                    Some(by) => format!("was {} by {by}", status.as_str()),
                    None => format!("was {}", status.as_str()),
                },
            },
            status: p.status.as_str(),
            at: p.decided_at.unwrap_or(p.updated).display(),
            sku: p.sku,
        })
        .collect();
    // Only people who run imports can open them; the figure is theirs.
    let failed_imports = if session.caller().may(&Permission::Import) {
        let since = state.clock.now().minus(time::Duration::hours(24));
        let count = crate::import::jobs::failed_since(&state.db, since).await?;
        Some(FailedImports {
            count,
            plural: count != 1,
        })
    } else {
        None
    };
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
            channels,
            held_products,
            held_pairs,
            activity,
            queue_size,
            pending_assets,
            failed_imports,
            notices,
            self_approval: state.config.allow_self_approval,
            admin,
            entries,
        },
    ))
}
