//! Channel pages: every channel with its figures, and one channel's page
//! (ready, held, not-ready, published and pending products, the not-ready
//! ones split by reason kind as a stacked bar and a table, the products
//! missing each required value, the feed head, each connector token's last
//! pull, the latest feed events and the held products with their reasons). Admins
//! publish a manual channel's pending changes and republish a channel from
//! here; the publisher does the work ([`crate::publish::publisher`]).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use super::charts::{Segment, StackedBar};
use super::labels::Labels;
use super::products::reason_link;
use super::{Chrome, count_of, render};
use crate::auth::Permission;
use crate::catalog::schema::{Channel, OutputFormat, PublishMode, Schema};
use crate::jobs::Task;
use crate::publish::feed::{self, ChannelCounts};
use crate::publish::overview::{self, ReadinessBreakdown};
use crate::publish::publisher::{self, Action, Round};
use crate::web::AppState;
use crate::web::authz::AdminPage;
use crate::web::error::AppError;
use crate::web::extract::{PageSession, urlencode};
use crate::web::{PageError, PageResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels", get(list))
        .route("/channels/{code}", get(page))
        .route("/channels/{code}/publish", post(publish))
        .route("/channels/{code}/republish", post(republish))
}

/// The label locale of these pages (as on the settings screens).
const LABEL_LOCALE: &str = "en_US";

fn label_of(channel: &Channel) -> String {
    channel
        .labels
        .get(LABEL_LOCALE)
        .cloned()
        .unwrap_or_else(|| channel.code.clone())
}

fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Json => "json",
        OutputFormat::GoogleMerchant => "google_merchant",
        OutputFormat::ShopifyCsv => "shopify_csv",
    }
}

fn channel_href(code: &str) -> String {
    format!("/channels/{}", urlencode(code))
}

fn product_href(sku: &str) -> String {
    format!("/products/{}", urlencode(sku))
}

/// A channel's products as bar segments: ready, held, then not ready by
/// reason kind (the dashboard and the channel page draw the same bar).
pub(super) fn readiness_bar(title: &str, split: &ReadinessBreakdown) -> StackedBar {
    let mut segments = vec![
        Segment::new("ready", split.ready, "seg-ready"),
        Segment::new("held", split.held, "seg-held"),
        Segment::new("disabled", split.disabled, "seg-disabled"),
        Segment::new(
            "outside the category tree",
            split.outside_tree,
            "seg-outside",
        ),
        Segment::new("missing values", split.missing, "seg-missing"),
        Segment::new("invalid values", split.invalid, "seg-invalid"),
        Segment::new("format limits", split.format_limits, "seg-limits"),
    ];
    if split.other > 0 {
        segments.push(Segment::new("other reasons", split.other, "seg-other"));
    }
    StackedBar::new(title, segments)
}

fn read_catalog(session: &crate::auth::sessions::Session) -> Result<(), PageError> {
    session
        .caller()
        .require(&Permission::ReadCatalog)
        .map_err(|err| PageError(AppError::from(err)))
}

fn channel_of<'a>(schema: &'a Schema, code: &str) -> Result<&'a Channel, PageError> {
    schema
        .channel(code)
        .ok_or_else(|| PageError(AppError::NotFound(format!("There is no channel {code}."))))
}

// ---- the list ----

/// One channel in the list.
struct ChannelRow {
    code: String,
    href: String,
    label: String,
    format: &'static str,
    mode: &'static str,
    counts: ChannelCounts,
}

#[derive(Template)]
#[template(path = "channels/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ChannelRow>,
    is_admin: bool,
}

/// `GET /channels`
async fn list(State(state): State<AppState>, PageSession(session): PageSession) -> PageResult {
    read_catalog(&session)?;
    let schema = state.schema.get(&state.db).await?;
    let mut rows = Vec::with_capacity(schema.channels.len());
    for channel in &schema.channels {
        rows.push(ChannelRow {
            href: channel_href(&channel.code),
            code: channel.code.clone(),
            label: label_of(channel),
            format: format_name(channel.output_format),
            mode: channel.publish_mode.as_str(),
            counts: feed::counts(&state.db, &channel.code).await?,
        });
    }
    Ok(render(
        StatusCode::OK,
        &ListPage {
            chrome: Chrome::new(&session, "/channels", None),
            rows,
            is_admin: session.caller().may(&Permission::Administer),
        },
    ))
}

// ---- one channel ----

/// Products missing one required value; no attribute for a format field
/// the channel maps nothing to.
struct MissingRow {
    attribute: Option<String>,
    label: String,
    products: i64,
}

/// One reason kind of the not-ready breakdown, with where to act on it.
struct ReasonRow {
    label: &'static str,
    products: i64,
    href: Option<String>,
}

struct PullRow {
    token: String,
    after: i64,
    behind: i64,
    at: String,
}

struct EventRow {
    seq: i64,
    op: String,
    sku: String,
    href: String,
    at: String,
}

struct HeldRow {
    sku: String,
    href: String,
    /// (message, link to the field that fixes it)
    reasons: Vec<(String, Option<String>)>,
}

#[derive(Template)]
#[template(path = "channels/page.html")]
struct ChannelPage {
    chrome: Chrome,
    code: String,
    href: String,
    label: String,
    format: &'static str,
    mode: &'static str,
    manual: bool,
    locales: String,
    counts: ChannelCounts,
    /// The not-ready total and its parts by reason kind.
    not_ready: String,
    reasons: Vec<ReasonRow>,
    bar: StackedBar,
    missing_href: String,
    most_missing: Vec<MissingRow>,
    pulls: Vec<PullRow>,
    recent: Vec<EventRow>,
    held: Vec<HeldRow>,
    is_admin: bool,
    /// What the last publish did, after its redirect.
    outcome: Option<String>,
}

/// `?done=published&products=N&events=M` after a publish; only numbers are
/// read, so the query cannot put text on the page.
#[derive(Debug, Deserialize)]
struct PageQuery {
    done: Option<String>,
    products: Option<String>,
    events: Option<String>,
}

fn outcome_text(query: &PageQuery) -> Option<String> {
    let products: i64 = query.products.as_deref()?.parse().ok()?;
    let events: i64 = query.events.as_deref()?.parse().ok()?;
    let events = count_of(events, "feed event", "feed events");
    match query.done.as_deref()? {
        "published" => Some(format!(
            "Published the pending changes of {}: {events}.",
            count_of(products, "product", "products")
        )),
        "republished" => Some(format!(
            "Republished {}: {events} (identical payloads publish nothing).",
            count_of(products, "product", "products")
        )),
        _ => None,
    }
}

/// `GET /channels/{code}`
async fn page(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(code): Path<String>,
    Query(query): Query<PageQuery>,
) -> PageResult {
    read_catalog(&session)?;
    let schema = state.schema.get(&state.db).await?;
    let channel = channel_of(&schema, &code)?;
    let status = feed::status(&state.db, &channel.code).await?;
    let split = status.readiness;
    let counts = ChannelCounts {
        published: status.published,
        held: status.held,
        ready: status.ready,
        not_ready: status.not_ready,
        pending: status.pending,
        head: status.head,
        readiness: split,
    };
    let missing_href = format!("/products?missing={}", urlencode(&channel.code));
    let most_missing = overview::missing_by_attribute(&state.db, &schema, &channel.code)
        .await?
        .into_iter()
        .map(|(attribute, products)| MissingRow {
            label: match &attribute {
                Some(code) => Labels::new(&schema, "en_US").field(code),
                None => "A field the channel maps no attribute to".to_owned(),
            },
            attribute,
            products,
        })
        .collect();
    let mut reasons = vec![
        ReasonRow {
            label: "Held at the last good snapshot",
            products: split.held,
            href: Some("#held-heading".to_owned()),
        },
        ReasonRow {
            label: "Disabled (the product or its model)",
            products: split.disabled,
            href: Some("/products?enabled=false".to_owned()),
        },
        ReasonRow {
            label: "Outside the category tree",
            products: split.outside_tree,
            href: None,
        },
        ReasonRow {
            label: "Missing required values",
            products: split.missing,
            href: Some("#missing-heading".to_owned()),
        },
        ReasonRow {
            label: "Invalid values",
            products: split.invalid,
            href: None,
        },
        ReasonRow {
            label: "Format limits (text too long)",
            products: split.format_limits,
            href: None,
        },
    ];
    // Every reason kind shows, zeros included, except the catch-all.
    if split.other > 0 {
        reasons.push(ReasonRow {
            label: "Other reasons",
            products: split.other,
            href: None,
        });
    }
    let pulls = status
        .pulls
        .into_iter()
        .map(|(token, after, at)| PullRow {
            token,
            after,
            behind: (status.head - after).max(0),
            at: at.display(),
        })
        .collect();
    let recent = status
        .recent
        .into_iter()
        .map(|(seq, op, sku, at)| EventRow {
            seq,
            op,
            href: product_href(&sku),
            sku,
            at: at.display(),
        })
        .collect();
    let held = status
        .held_items
        .into_iter()
        .map(|(sku, reasons)| HeldRow {
            href: product_href(&sku),
            reasons: reasons
                .iter()
                .map(|reason| {
                    (
                        reason.message.clone(),
                        reason_link(&sku, &channel.code, reason),
                    )
                })
                .collect(),
            sku,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ChannelPage {
            chrome: Chrome::new(&session, "/channels", None),
            href: channel_href(&channel.code),
            code: channel.code.clone(),
            label: label_of(channel),
            format: format_name(channel.output_format),
            mode: channel.publish_mode.as_str(),
            manual: channel.publish_mode == PublishMode::Manual,
            locales: channel.locales.join(", "),
            not_ready: count_of(split.not_ready(), "product", "products"),
            reasons,
            bar: readiness_bar(&format!("Products on {}", channel.code), &split),
            counts,
            missing_href,
            most_missing,
            pulls,
            recent,
            held,
            is_admin: session.caller().may(&Permission::Administer),
            outcome: outcome_text(&query),
        },
    ))
}

// ---- publishing ----

/// The `done=` word the page turns into its notice.
fn done(action: Action) -> &'static str {
    match action {
        Action::PublishPending => "published",
        Action::RepublishAll => "republished",
    }
}

async fn run(state: &AppState, admin: &AdminPage, code: &str, action: Action) -> PageResult {
    let actor = admin.actor();
    let schema = state.schema.get(&state.db).await?;
    let channel = channel_of(&schema, code)?;
    let now = state.clock.now();
    let round: Round = publisher::run_action(
        &state.db,
        &schema,
        &state.config.public_url,
        &channel.code,
        action,
        &actor,
        now,
    )
    .await
    .map_err(AppError::from)?;
    Ok(Redirect::to(&format!(
        "{}?done={}&products={}&events={}",
        channel_href(&channel.code),
        done(action),
        round.products,
        round.events
    ))
    .into_response())
}

/// `POST /channels/{code}/publish`: publishes a manual channel's pending changes.
async fn publish(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
) -> PageResult {
    run(&state, &admin, &code, Action::PublishPending).await
}

/// `POST /channels/{code}/republish`: queues a rebuild of every payload of
/// the channel as a background job and sends the admin to its page.
async fn republish(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
) -> PageResult {
    let actor = admin.actor();
    let schema = state.schema.get(&state.db).await?;
    let channel = channel_of(&schema, &code)?;
    let task = Task::Republish {
        channel: channel.code.clone(),
    };
    let job = state.queue_job(&task, &actor).await?;
    Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(done: &str, products: &str, events: &str) -> PageQuery {
        PageQuery {
            done: Some(done.to_owned()),
            products: Some(products.to_owned()),
            events: Some(events.to_owned()),
        }
    }

    #[test]
    fn outcome_reads_only_known_actions_and_numbers() {
        assert_eq!(
            outcome_text(&query("published", "3", "1")).as_deref(),
            Some("Published the pending changes of 3 products: 1 feed event.")
        );
        assert_eq!(
            outcome_text(&query("republished", "1", "0")).as_deref(),
            Some("Republished 1 product: 0 feed events (identical payloads publish nothing).")
        );
        assert_eq!(outcome_text(&query("published", "<b>", "1")), None);
        assert_eq!(outcome_text(&query("hacked", "1", "1")), None);
    }
}
