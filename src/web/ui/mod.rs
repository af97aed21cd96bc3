//! Server-rendered pages (askama). Every page works without JavaScript.
//! State-changing forms are CSRF-checked by [`crate::web::layers::page_guard`].

mod account;
mod audit_log;
mod channels;
mod charts;
mod dashboard;
mod error_pages;
mod imports;
mod jobs;
mod labels;
mod login;
mod media;
mod product_grid;
mod products;
mod profiles;
mod proposals;
mod schema_pages;
mod settings;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::Permission;
use crate::auth::sessions::Session;
use crate::catalog::schema::Schema;
use crate::web::AppState;
use crate::web::PageError;
use crate::web::error::{AppError, FieldError};
use crate::web::layers::page_guard;
use crate::web::static_files;

pub use error_pages::{
    ErrorPageMessage, error_page, error_page_with_navigation, error_pages_keep_navigation,
};

/// A link in the top navigation or the settings menu.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

const MAIN_NAV: &[(&str, &str, bool)] = &[
    ("Dashboard", "/", false),
    ("Products", "/products", false),
    ("Proposals", "/proposals", false),
    ("Imports", "/imports", false),
    ("Media", "/media", false),
    ("Channels", "/channels", false),
    ("Audit", "/audit", true),
    ("Settings", "/settings/users", true),
];

const SETTINGS_NAV: &[(&str, &str)] = &[
    ("Users", "/settings/users"),
    ("API tokens", "/settings/tokens"),
    ("Attributes", "/settings/attributes"),
    ("Families", "/settings/families"),
    ("Categories", "/settings/categories"),
    ("Channels", "/settings/channels"),
    ("Mapping profiles", "/settings/profiles"),
];

/// What the base layout needs on every signed-in page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub user_name: String,
    pub user_email: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub notice: Option<&'static str>,
    pub css_url: String,
    pub icon_url: String,
}

impl Chrome {
    /// `section` is the first path segment of the current area (`/settings/users` → `/settings`).
    pub fn new(session: &Session, section: &str, notice: Option<&str>) -> Self {
        let is_admin = session.caller().may(&Permission::Administer);
        let may_import = session.caller().may(&Permission::Import);
        let nav = MAIN_NAV
            .iter()
            .filter(|(_, _, admin_only)| is_admin || !admin_only)
            .filter(|(_, href, _)| may_import || *href != "/imports")
            .map(|&(label, href, _)| NavItem {
                label,
                href,
                active: section_of(href) == section,
            })
            .collect();
        Chrome {
            user_name: session.user.display_name().to_owned(),
            user_email: session.user.email.clone(),
            csrf: session.csrf_token.clone(),
            nav,
            notice: notice.and_then(notice_text),
            css_url: static_files::url("app.css"),
            icon_url: static_files::url("favicon.svg"),
        }
    }
}

fn section_of(href: &str) -> &str {
    match href[1..].find('/') {
        Some(end) => &href[..=end],
        None => href,
    }
}

/// The settings menu with `current` marked.
pub fn settings_nav(current: &str) -> Vec<NavItem> {
    SETTINGS_NAV
        .iter()
        .map(|&(label, href)| NavItem {
            label,
            href,
            active: href == current,
        })
        .collect()
}

/// Messages shown after a redirect, by code (`?notice=user_created`). Only
/// known codes show, so the query string cannot inject text into a page.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "signed_out" => "You have signed out.",
        "session_ended" => "Your session has ended. Please sign in again.",
        "user_created" => "User added.",
        "user_updated" => "User saved.",
        "user_disabled" => "User disabled; their sessions have ended and their tokens stopped.",
        "user_enabled" => "User enabled.",
        "password_reset" => "Password reset; all of the user's sessions have ended.",
        "password_changed" => "Password changed; your other sessions have ended.",
        "token_revoked" => "Token revoked.",
        "attribute_saved" => "Attribute saved.",
        "attribute_deleted" => "Attribute deleted.",
        "family_saved" => "Family saved.",
        "family_deleted" => "Family deleted.",
        "category_saved" => "Category saved.",
        "category_deleted" => "Category deleted.",
        "category_moved" => "Category moved.",
        "channel_saved" => "Channel saved.",
        "channel_deleted" => "Channel deleted.",
        "schema_applied" => "Schema applied.",
        "schema_unchanged" => "Nothing to change: the schema already says that.",
        "product_saved" => "Product saved.",
        "restore_proposed" => "A proposal to restore that version was submitted for review.",
        "draft_saved" => {
            "Saved to your draft: reviewed changes wait until you submit them for review."
        }
        "product_saved_and_drafted" => {
            "Fast-lane values saved; reviewed changes were added to your draft."
        }
        "product_unchanged" => "Nothing changed: the product already had these values.",
        "proposal_approved" => "Proposal approved: its changes are applied.",
        "fields_approved" => "The selected fields were approved and applied; the rest stay open.",
        "proposal_conflict" => {
            "Some fields were changed in the product since the proposal was made:              the proposal is now in conflict and goes back to its author to rebase."
        }
        "proposal_rejected" => "Proposal rejected; your comment is in its thread.",
        "proposal_submitted" => "Proposal submitted for review.",
        "proposal_withdrawn" => "Proposal withdrawn; nothing of it was applied.",
        "proposal_rebased" => "Conflicts settled; the proposal is submitted for review again.",
        "proposal_rebased_empty" => {
            "Nothing was left to propose after taking theirs: the proposal is withdrawn."
        }
        "comment_added" => "Comment added.",
        "asset_saved" => "Alt texts and tags saved.",
        "asset_approved" => "Asset approved: products may now publish it.",
        "asset_rejected" => "Asset rejected; the reason is kept on the asset.",
        _ => return None,
    })
}

/// `?notice=CODE` after a redirect (see [`notice_text`]).
#[derive(Debug, serde::Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// An option of a select on a page.
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// Options with the current one selected.
pub(super) fn choices(
    options: impl IntoIterator<Item = (String, String)>,
    current: Option<&str>,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: current == Some(value.as_str()),
            value,
            label,
        })
        .collect()
}

/// Category choices indented by depth, in tree order.
pub(super) fn category_choices(schema: &Schema, current: Option<&str>) -> Vec<Choice> {
    fn walk(schema: &Schema, parent: Option<&str>, depth: usize, out: &mut Vec<(String, String)>) {
        for category in schema
            .categories
            .iter()
            .filter(|c| c.parent.as_deref() == parent)
        {
            let label = category
                .labels
                .get("en_US")
                .map_or(category.code.as_str(), String::as_str);
            out.push((
                category.code.clone(),
                format!("{}{label}", "\u{a0}\u{a0}".repeat(depth)),
            ));
            if depth < 50 {
                walk(schema, Some(&category.code), depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(schema, None, 0, &mut out);
    choices(out, current)
}

/// Field errors of a form, shown next to their fields.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(Vec<FieldError>);

impl FormErrors {
    /// Splits validation failures (shown in the form, 422) from every other error.
    pub fn from_error(err: AppError) -> Result<Self, PageError> {
        match err {
            AppError::Validation { details, .. } => Ok(FormErrors(details)),
            other => Err(PageError(other)),
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|err| err.field.as_deref() == Some(field))
            .map(|err| err.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every error for the summary at the top of a refused form, each
    /// linking to the message beside its field (`#FIELD-error`, the id the
    /// forms give it), so a long form's problems are seen without scrolling.
    pub fn summary(&self) -> Vec<SummaryItem> {
        self.0
            .iter()
            .map(|err| SummaryItem {
                anchor: err.field.as_ref().map(|field| format!("{field}-error")),
                message: err.message.clone(),
            })
            .collect()
    }
}

/// One line of a refused form's summary.
pub struct SummaryItem {
    pub anchor: Option<String>,
    pub message: String,
}

/// Renders a template, or an error page if rendering fails.
pub fn render<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => PageError(AppError::internal(err)).into_response(),
    }
}

/// `n` with thousands separated by commas: `1,234`.
pub(super) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1 product`, `1,234 products`.
pub(super) fn count_of(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The page routes, behind the session and CSRF guard.
pub fn router(state: AppState) -> Router<AppState> {
    let router = Router::new()
        .route("/", get(dashboard::show))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route("/audit", get(audit_log::show))
        .route(
            "/settings",
            get(|| async { axum::response::Redirect::to("/settings/users") }),
        )
        .route(
            "/settings/users",
            get(settings::users).post(settings::create_user),
        )
        .route(
            "/settings/users/{id}",
            get(settings::user).post(settings::update_user),
        )
        .route(
            "/settings/users/{id}/password",
            post(settings::reset_password),
        )
        .route("/settings/users/{id}/disable", post(settings::disable_user))
        .route("/settings/users/{id}/enable", post(settings::enable_user))
        .route(
            "/settings/tokens",
            get(settings::tokens).post(settings::create_token),
        )
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token));
    let router = router
        .merge(product_grid::routes())
        .merge(media::routes())
        .merge(products::routes())
        .merge(channels::routes())
        .merge(imports::routes())
        .merge(jobs::routes())
        .merge(proposals::routes())
        .merge(profiles::routes())
        .merge(schema_pages::routes());
    router.layer(middleware::from_fn_with_state(state, page_guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_thousands_and_agree_in_number() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(count_of(1, "product", "products"), "1 product");
        assert_eq!(count_of(1_847, "product", "products"), "1,847 products");
    }
}
