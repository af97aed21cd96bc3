//! The generic editor: one entity of any kind as a TOML snippet, previewed as a
//! plan and applied through `schema_code::apply`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::channels::PublishingForm;
use super::{SchemaEntity, current_schema};
use crate::audit::Actor;
use crate::auth::sessions::Session;
use crate::catalog::schema::Schema;
use crate::catalog::store;
use crate::jobs::{self, SchemaChange};
use crate::schema_code::{self, Action, Plan, SchemaError};
use crate::web::authz::AdminPage;
use crate::web::error::AppError;
use crate::web::extract::PageForm;
use crate::web::ui::{Chrome, NavItem, NoticeQuery, render, settings_nav};
use crate::web::{AppState, PageError, PageResult};

// ---- editing as code ----

/// What went wrong with a submitted change, shown next to the text.
pub(super) struct Problems {
    pub(super) headline: String,
    pub(super) items: Vec<String>,
}

impl Problems {
    pub(super) fn one(headline: &str, item: impl Into<String>) -> Self {
        Problems {
            headline: headline.to_owned(),
            items: vec![item.into()],
        }
    }
}

/// One step of a plan as shown.
pub(super) struct PlanLine {
    pub(super) text: String,
    pub(super) class: &'static str,
    pub(super) destructive: bool,
}

/// A plan as shown: its steps, then the summary line.
pub(super) struct PlanView {
    pub(super) lines: Vec<PlanLine>,
    pub(super) summary: String,
}

impl From<&Plan> for PlanView {
    fn from(plan: &Plan) -> Self {
        let lines = plan
            .steps
            .iter()
            .map(|step| PlanLine {
                text: step.to_string(),
                class: match step.action {
                    Action::Create => "plan-create",
                    Action::Update => "plan-update",
                    Action::Delete => "plan-delete",
                },
                destructive: step.destructive.is_some(),
            })
            .collect();
        // The last line of the plan's text is its summary (or "No changes …").
        let text = plan.to_string();
        let summary = text.lines().last().unwrap_or_default().to_owned();
        PlanView { lines, summary }
    }
}

/// The edit page of one entity, of a new one, or of the whole schema.
#[derive(Template)]
#[template(path = "settings/schema/code.html")]
pub(super) struct CodePage {
    pub(super) chrome: Chrome,
    pub(super) settings_nav: Vec<NavItem>,
    pub(super) title: String,
    /// The list this page belongs to: (href, title).
    pub(super) back: Option<(String, &'static str)>,
    /// Where the form posts: the page's own path.
    pub(super) action_href: String,
    /// An existing entity can be deleted.
    pub(super) deletable: bool,
    /// The whole schema: "Apply" and a download link.
    pub(super) whole_schema: bool,
    pub(super) hint: &'static str,
    pub(super) definition: String,
    pub(super) allow_destructive: bool,
    pub(super) problems: Option<Problems>,
    pub(super) plan: Option<PlanView>,
    /// For a channel: its publishing mode and field mapping as a form.
    pub(super) publishing: Option<PublishingForm>,
}

impl CodePage {
    pub(super) fn rows(&self) -> usize {
        (self.definition.lines().count() + 2).clamp(12, 40)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    pub(super) definition: String,
    /// `preview`, `save` (`apply` on the whole-schema page) or `delete`.
    #[serde(default)]
    pub(super) action: String,
    #[serde(default)]
    pub(super) allow_destructive: bool,
}

/// What a form's button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Intent {
    Preview,
    Save,
    Delete,
}

impl Intent {
    pub(super) fn parse(action: &str) -> Result<Self, PageError> {
        match action {
            "preview" => Ok(Intent::Preview),
            "save" | "apply" => Ok(Intent::Save),
            "delete" => Ok(Intent::Delete),
            other => Err(AppError::BadRequest(format!("unknown action {other:?}")).into()),
        }
    }
}

pub(super) fn entity_page<E: SchemaEntity>(
    session: &Session,
    code: Option<&str>,
    definition: String,
    notice: Option<&str>,
) -> CodePage {
    let (title, action_href) = match code {
        Some(code) => (
            format!("{} {code}", capitalized(E::NOUN)),
            format!("/settings/{}/{code}", E::PLURAL),
        ),
        None => (
            format!("New {}", E::NOUN),
            format!("/settings/{}/new", E::PLURAL),
        ),
    };
    CodePage {
        chrome: Chrome::new(session, "/settings", notice),
        settings_nav: settings_nav(&E::list_href()),
        title,
        back: Some((E::list_href(), E::TITLE)),
        action_href,
        deletable: code.is_some(),
        whole_schema: false,
        hint: E::HINT,
        definition,
        allow_destructive: false,
        problems: None,
        plan: None,
        publishing: None,
    }
}

pub(super) fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// One entity as the TOML the edit page shows.
pub(super) fn snippet<E: SchemaEntity>(entity: &E) -> Result<String, PageError> {
    toml::to_string_pretty(entity).map_err(|err| PageError(AppError::internal(err)))
}

pub(super) fn parse_snippet<E: SchemaEntity>(text: &str) -> Result<E, Problems> {
    toml::from_str(text)
        .map_err(|err| Problems::one("The TOML could not be read.", err.to_string()))
}

pub(super) fn not_found<E: SchemaEntity>(code: &str) -> PageError {
    PageError(AppError::NotFound(format!(
        "There is no {} {code}.",
        E::NOUN
    )))
}

/// `GET /settings/{plural}/new`
pub(super) async fn new_entity<E: SchemaEntity>(
    State(state): State<AppState>,
    admin: AdminPage,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let page = entity_page::<E>(&session, None, E::template(&schema), None);
    Ok(render(StatusCode::OK, &page))
}

/// `GET /settings/{plural}/{code}`
pub(super) async fn edit_entity<E: SchemaEntity>(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let session = admin.session;
    let schema = current_schema(&state).await?;
    let entity = E::all(&schema)
        .iter()
        .find(|e| e.code() == code)
        .ok_or_else(|| not_found::<E>(&code))?;
    let mut page = entity_page::<E>(
        &session,
        Some(&code),
        snippet(entity)?,
        query.notice.as_deref(),
    );
    page.publishing = entity.fields_form(&schema);
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/{plural}/new`: preview or save a new entity.
pub(super) async fn create_entity<E: SchemaEntity>(
    State(state): State<AppState>,
    admin: AdminPage,
    PageForm(form): PageForm<CodeForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let intent = match Intent::parse(&form.action)? {
        Intent::Delete => {
            return Err(AppError::BadRequest("there is nothing to delete yet".to_owned()).into());
        }
        intent => intent,
    };
    let mut schema = store::load_schema(state.db.pool())
        .await
        .map_err(AppError::from)?;
    let desired = parse_snippet::<E>(&form.definition).and_then(|entity| {
        let code = entity.code().trim();
        if code.is_empty() {
            return Err(Problems::one(
                "The code is missing.",
                format!(
                    "Give the {} a code: lower-case letters, digits and _.",
                    E::NOUN
                ),
            ));
        }
        if E::all(&schema).iter().any(|e| e.code() == code) {
            return Err(Problems::one(
                "The code is taken.",
                format!(
                    "A {} named {code} already exists; edit it from the list instead.",
                    E::NOUN
                ),
            ));
        }
        E::all_mut(&mut schema).push(entity);
        Ok(schema)
    });
    let mut page = entity_page::<E>(&session, None, String::new(), None);
    page.definition = form.definition;
    page.allow_destructive = form.allow_destructive;
    let done = format!("{}?notice={}_saved", E::list_href(), E::NOUN);
    submit(&state, &actor, page, desired, intent, done).await
}

/// `POST /settings/{plural}/{code}`: preview, save or delete an entity.
pub(super) async fn update_entity<E: SchemaEntity>(
    State(state): State<AppState>,
    admin: AdminPage,
    Path(code): Path<String>,
    PageForm(form): PageForm<CodeForm>,
) -> PageResult {
    let actor = admin.actor();
    let session = admin.session;
    let intent = Intent::parse(&form.action)?;
    let mut schema = store::load_schema(state.db.pool())
        .await
        .map_err(AppError::from)?;
    let index = E::all(&schema)
        .iter()
        .position(|e| e.code() == code)
        .ok_or_else(|| not_found::<E>(&code))?;
    let fields_form = E::all(&schema)[index].fields_form(&schema);
    let desired = if intent == Intent::Delete {
        E::all_mut(&mut schema).remove(index);
        Ok(schema)
    } else {
        parse_snippet::<E>(&form.definition).and_then(|entity| {
            if entity.code() != code {
                return Err(Problems::one(
                    "The code cannot change here.",
                    format!(
                        "The snippet must keep code = \"{code}\". To rename, create a new {} and delete this one.",
                        E::NOUN
                    ),
                ));
            }
            E::all_mut(&mut schema)[index] = entity;
            Ok(schema)
        })
    };
    let mut page = entity_page::<E>(&session, Some(&code), String::new(), None);
    page.definition = form.definition;
    page.allow_destructive = form.allow_destructive;
    page.publishing = fields_form;
    let verb = if intent == Intent::Delete {
        "deleted"
    } else {
        "saved"
    };
    let done = format!("{}?notice={}_{verb}", E::list_href(), E::NOUN);
    submit(&state, &actor, page, desired, intent, done).await
}

/// Runs a desired schema through plan and apply and answers: the page with
/// the plan (preview), a redirect to `done` (applied), a redirect to the job
/// page (a destructive change that purges products runs as a job), or the
/// page again with what went wrong next to the text (422; 409 for refused
/// destructive steps).
pub(super) async fn submit(
    state: &AppState,
    actor: &Actor,
    mut page: CodePage,
    desired: Result<Schema, Problems>,
    intent: Intent,
    done: String,
) -> PageResult {
    let desired = match desired {
        Ok(desired) => desired,
        Err(problems) => {
            page.problems = Some(problems);
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let dry_run = intent == Intent::Preview;
    let allow = page.allow_destructive;
    let now = state.clock.now();
    let outcome = if dry_run {
        schema_code::apply(&state.db, actor, &desired, allow, true, now)
            .await
            .map(SchemaChange::Applied)
    } else {
        jobs::change_schema(&state.db, actor, &desired, allow, now).await
    };
    let (status, problems) = match outcome {
        Ok(SchemaChange::Applied(applied)) if dry_run => {
            page.plan = Some(PlanView::from(&applied.plan));
            return Ok(render(StatusCode::OK, &page));
        }
        // Products hold values the change removes: a job purges them and
        // applies it; the admin follows it on its page.
        Ok(SchemaChange::Queued(job)) => {
            state.jobs.wake();
            return Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response());
        }
        Ok(SchemaChange::Applied(applied)) => {
            let target = if applied.plan.is_empty() {
                // Strip the success notice: nothing happened.
                let list = done.split('?').next().unwrap_or(&done);
                format!("{list}?notice=schema_unchanged")
            } else {
                done
            };
            return Ok(Redirect::to(&target).into_response());
        }
        Err(SchemaError::Syntax(message)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems::one("The TOML could not be read.", message),
        ),
        Err(SchemaError::Invalid(items)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems {
                headline: format!(
                    "The schema would have {} problem(s); nothing was changed.",
                    items.len()
                ),
                items,
            },
        ),
        Err(SchemaError::Destructive(items)) => {
            // Show the whole plan, the destructive steps marked, so the choice is informed.
            let plan = schema_code::apply(&state.db, actor, &desired, allow, true, now)
                .await
                .map_err(AppError::from)?;
            page.plan = Some(PlanView::from(&plan.plan));
            let headline = if allow {
                "These steps cannot be applied, even with destructive changes allowed:"
            } else {
                "The plan would remove or invalidate product values. Tick \u{201c}Allow destructive changes\u{201d} and save again to apply it:"
            };
            (
                StatusCode::CONFLICT,
                Problems {
                    headline: headline.to_owned(),
                    items,
                },
            )
        }
        Err(other) => return Err(AppError::from(other).into()),
    };
    page.problems = Some(problems);
    Ok(render(status, &page))
}
