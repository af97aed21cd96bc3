//! The catalog schema over the API: reads for every caller with
//! `catalog:read`; writes (one entity at a time, through the same plan and
//! apply as `sluice schema apply`) for admins. A destructive write that
//! products are affected by is queued as a background job: 202 with the job.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Permission;
use crate::catalog::schema::{Attribute, Category, Channel, Family, Locale, Schema};
use crate::jobs::{self, SchemaChange};
use crate::schema_code::{self, SchemaError};
use crate::web::AppState;
use crate::web::error::{ApiResult, AppError, ErrorBody, FieldError};
use crate::web::extract::{ApiCaller, ApiJson};

impl From<SchemaError> for AppError {
    fn from(err: SchemaError) -> Self {
        let lines = |items: Vec<String>| {
            items
                .into_iter()
                .map(|message| FieldError {
                    message,
                    ..FieldError::default()
                })
                .collect::<Vec<_>>()
        };
        match err {
            SchemaError::Syntax(message) => AppError::BadRequest(message),
            SchemaError::Invalid(problems) => AppError::validation(lines(problems)),
            SchemaError::Destructive(steps) => AppError::ConflictDetails {
                message: "the change would remove or invalidate product values; repeat with allow_destructive=true".to_owned(),
                details: lines(steps),
            },
            SchemaError::Stale { .. } => AppError::Conflict(err.to_string()),
            SchemaError::Database(db) => AppError::internal(db),
            SchemaError::Write(write) => write.into(),
        }
    }
}

async fn read_schema(
    state: &AppState,
    caller: &crate::auth::Caller,
) -> ApiResult<std::sync::Arc<Schema>> {
    caller.require(&Permission::ReadCatalog)?;
    Ok(state.schema.get(&state.db).await?)
}

/// Locales.
#[utoipa::path(get, path = "/api/v1/locales", tag = "schema",
    responses((status = 200, description = "All locales", body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn list_locales(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<Vec<Locale>>> {
    Ok(Json(read_schema(&state, &caller).await?.locales.clone()))
}

/// Channels with their locales, currencies, format and URL template.
#[utoipa::path(get, path = "/api/v1/channels", tag = "schema",
    responses((status = 200, description = "All channels", body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn list_channels(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<Vec<Channel>>> {
    Ok(Json(read_schema(&state, &caller).await?.channels.clone()))
}

/// Attributes with type, labels, group, owner, lane, validation and options.
#[utoipa::path(get, path = "/api/v1/attributes", tag = "schema",
    responses((status = 200, description = "All attributes", body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn list_attributes(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<Vec<Attribute>>> {
    Ok(Json(read_schema(&state, &caller).await?.attributes.clone()))
}

/// Families with their attributes, requirements per channel and variant axes.
#[utoipa::path(get, path = "/api/v1/families", tag = "schema",
    responses((status = 200, description = "All families", body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn list_families(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<Vec<Family>>> {
    Ok(Json(read_schema(&state, &caller).await?.families.clone()))
}

/// Categories (each names its parent; roots have none).
#[utoipa::path(get, path = "/api/v1/categories", tag = "schema",
    responses((status = 200, description = "All categories", body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn list_categories(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(read_schema(&state, &caller).await?.categories.clone()))
}

/// Options of a schema write.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WriteQuery {
    /// Allow steps that remove or invalidate product values.
    #[serde(default)]
    pub allow_destructive: bool,
    /// Only answer the plan.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a schema write planned and whether it was applied.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub applied: bool,
    pub steps: Vec<String>,
}

/// Kinds of entity the API writes, by path segment.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Locales,
    Channels,
    Attributes,
    Families,
    Categories,
}

fn replace_entity(
    schema: &mut Schema,
    kind: EntityKind,
    code: &str,
    body: Option<serde_json::Value>,
) -> Result<(), AppError> {
    fn put<T: serde::de::DeserializeOwned>(
        list: &mut Vec<T>,
        code: &str,
        body: Option<serde_json::Value>,
        code_of: impl Fn(&T) -> &str,
    ) -> Result<(), AppError> {
        let position = list.iter().position(|item| code_of(item) == code);
        match body {
            None => match position {
                Some(index) => {
                    list.remove(index);
                    Ok(())
                }
                None => Err(AppError::NotFound(format!("{code} does not exist"))),
            },
            Some(json) => {
                let item: T = serde_json::from_value(json).map_err(|err| {
                    AppError::validation(vec![FieldError {
                        message: err.to_string(),
                        ..FieldError::default()
                    }])
                })?;
                if code_of(&item) != code {
                    return Err(AppError::validation(vec![FieldError::field(
                        "code",
                        format!("the body's code must be {code}"),
                    )]));
                }
                match position {
                    Some(index) => list[index] = item,
                    None => list.push(item),
                }
                Ok(())
            }
        }
    }
    match kind {
        EntityKind::Locales => put(&mut schema.locales, code, body, |l| &l.code),
        EntityKind::Channels => put(&mut schema.channels, code, body, |c| &c.code),
        EntityKind::Attributes => put(&mut schema.attributes, code, body, |a| &a.code),
        EntityKind::Families => put(&mut schema.families, code, body, |f| &f.code),
        EntityKind::Categories => put(&mut schema.categories, code, body, |c| &c.code),
    }
}

async fn write_entity(
    state: &AppState,
    caller: &crate::auth::Caller,
    kind: EntityKind,
    code: &str,
    body: Option<serde_json::Value>,
    query: &WriteQuery,
) -> ApiResult<Response> {
    caller.require(&Permission::Administer)?;
    let mut desired = crate::catalog::store::load_schema(state.db.pool()).await?;
    replace_entity(&mut desired, kind, code, body)?;
    let (actor, now) = (caller.actor(), state.clock.now());
    let outcome = if query.dry_run {
        schema_code::apply(
            &state.db,
            &actor,
            &desired,
            query.allow_destructive,
            true,
            now,
        )
        .await
        .map(SchemaChange::Applied)
    } else {
        jobs::change_schema(&state.db, &actor, &desired, query.allow_destructive, now).await
    };
    match outcome? {
        SchemaChange::Applied(applied) => Ok(Json(PlanView {
            applied: applied.applied,
            steps: schema_code::plan_lines(&applied.plan),
        })
        .into_response()),
        SchemaChange::Queued(job) => {
            state.jobs.wake();
            Ok(super::jobs::accepted(*job))
        }
    }
}

/// Creates or replaces one schema entity (admin). The body is the entity
/// as the matching list returns it.
#[utoipa::path(put, path = "/api/v1/{kind}/{code}", tag = "schema",
    params(
        ("kind" = EntityKind, Path, description = "locales, channels, attributes, families or categories"),
        ("code" = String, Path, description = "The entity's code"),
        WriteQuery,
    ),
    request_body = Object,
    responses(
        (status = 200, description = "The plan, applied", body = PlanView),
        (status = 202, description = "Products hold values it removes: queued as a job that purges them, then applies it (follow `Location`)", body = super::jobs::BackgroundJob),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Destructive without allow_destructive", body = ErrorBody),
        (status = 422, description = "The schema would be invalid", body = ErrorBody),
    ))]
pub async fn put_entity(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((kind, code)): Path<(EntityKind, String)>,
    query: Result<Query<WriteQuery>, axum::extract::rejection::QueryRejection>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Response> {
    let Query(query) = query?;
    write_entity(&state, &caller, kind, &code, Some(body), &query).await
}

/// Deletes one schema entity (admin).
#[utoipa::path(delete, path = "/api/v1/{kind}/{code}", tag = "schema",
    params(
        ("kind" = EntityKind, Path, description = "locales, channels, attributes, families or categories"),
        ("code" = String, Path, description = "The entity's code"),
        WriteQuery,
    ),
    responses(
        (status = 200, description = "The plan, applied", body = PlanView),
        (status = 202, description = "Products hold values it removes: queued as a job that purges them, then applies it (follow `Location`)", body = super::jobs::BackgroundJob),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such entity", body = ErrorBody),
        (status = 409, description = "Destructive without allow_destructive", body = ErrorBody),
        (status = 422, description = "The schema would be invalid (e.g. still referenced)", body = ErrorBody),
    ))]
pub async fn delete_entity(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((kind, code)): Path<(EntityKind, String)>,
    query: Result<Query<WriteQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query?;
    write_entity(&state, &caller, kind, &code, None, &query).await
}
