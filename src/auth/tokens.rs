//! API tokens: `slc_` + 256 random bits, shown once, stored as SHA-256. A token
//! acts as its user, narrowed to its scopes; revoking is immediate.

use serde::Serialize;
use sqlx::{Any, Executor, FromRow};

use super::user::{USER_COLUMNS, user_from_row};
use super::{AuthError, Caller, Credential, Scopes, hash_secret, random_secret};
use crate::audit::{self, Actor, AuditEvent};
use crate::db::{Db, Timestamp};

pub const PREFIX: &str = "slc_";
const TOUCH_EVERY: time::Duration = time::Duration::seconds(60);

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub user_id: i64,
    pub user_email: String,
    /// The first characters of the secret, to recognise it in a config file.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A token just created; `secret` is shown once and then only its hash exists.
#[derive(Debug)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

fn normalize_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AuthError::invalid(
            "name",
            "give the token a name of 1 to 80 characters",
        ));
    }
    Ok(name.to_owned())
}

/// Creates a token for `user_email`. Scopes the user's roles could never use
/// are refused, so nobody is handed a token that silently does nothing.
pub async fn create(
    db: &Db,
    actor: &Actor,
    name: &str,
    user_email: &str,
    scopes: Scopes,
    now: Timestamp,
) -> Result<CreatedToken, AuthError> {
    let name = normalize_name(name)?;
    let user = super::users::find_by_email(db, user_email)
        .await?
        .ok_or_else(|| {
            AuthError::invalid("user", format!("no user with the e-mail {user_email}"))
        })?;
    if user.disabled {
        return Err(AuthError::invalid(
            "user",
            format!("{} is disabled", user.email),
        ));
    }
    if let Some(scope) = scopes.beyond(&user.roles) {
        return Err(AuthError::invalid(
            "scopes",
            format!(
                "{} has the roles {} which never allow the scope {scope}",
                user.email,
                user.roles.to_stored()
            ),
        ));
    }
    let secret = format!("{PREFIX}{}", random_secret());
    let prefix: String = secret.chars().take(PREFIX.len() + 6).collect();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (name, user_id, token_hash, token_prefix, scopes, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&name)
    .bind(user.id)
    .bind(hash_secret(&secret))
    .bind(&prefix)
    .bind(scopes.to_stored())
    .bind(now)
    .bind(actor.user_id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        AuditEvent::new("token.create", format!("token:{name} #{id}"))
            .detail("user", user.email.clone())
            .detail("scopes", scopes.to_stored()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        token: ApiToken {
            id,
            name,
            user_id: user.id,
            user_email: user.email,
            prefix,
            scopes: scopes.iter().map(ToString::to_string).collect(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
        secret,
    })
}

/// A listed token: its `api_tokens` columns and its user's e-mail.
#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    user_id: i64,
    email: String,
    token_prefix: String,
    scopes: String,
    created_at: Timestamp,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl From<TokenRow> for ApiToken {
    fn from(row: TokenRow) -> Self {
        ApiToken {
            id: row.id,
            name: row.name,
            user_id: row.user_id,
            user_email: row.email,
            prefix: row.token_prefix,
            scopes: row.scopes.split(' ').map(str::to_owned).collect(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// The token's own columns of a token-and-user row (the user's are [`USER_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct CallerTokenRow {
    token_id: i64,
    token_name: String,
    scopes: String,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

/// All tokens, newest first, revoked ones included (they stay for the record).
pub async fn list(db: &Db) -> Result<Vec<ApiToken>, AuthError> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "SELECT t.id, t.name, t.user_id, u.email, t.token_prefix, t.scopes, t.created_at, \
                t.last_used_at, t.revoked_at \
         FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id DESC",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(ApiToken::from).collect())
}

/// Revokes a token. Revoking twice is harmless and audited once.
pub async fn revoke(db: &Db, actor: &Actor, id: i64, now: Timestamp) -> Result<(), AuthError> {
    let mut tx = db.begin_write().await?;
    let (name, revoked_at): (String, Option<Timestamp>) =
        sqlx::query_as("SELECT name, revoked_at FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AuthError::NotFound(format!("token {id}")))?;
    if revoked_at.is_none() {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut *tx,
            actor,
            AuditEvent::new("token.revoke", format!("token:{name} #{id}")),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Resolves a bearer secret to its caller. Unknown, revoked or malformed
/// tokens and tokens of disabled users are refused.
pub async fn authenticate(db: &Db, secret: &str, now: Timestamp) -> Result<Caller, AuthError> {
    if !secret.starts_with(PREFIX) || secret.len() > 200 {
        return Err(AuthError::InvalidToken(
            "the token is not a Sluice token (slc_…)",
        ));
    }
    let sql = format!(
        "SELECT t.id AS token_id, t.name AS token_name, t.scopes, t.last_used_at, t.revoked_at, \
                {USER_COLUMNS} \
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hash_secret(secret))
        .fetch_optional(db.pool())
        .await?
        .ok_or(AuthError::InvalidToken("the token is unknown"))?;
    let token = CallerTokenRow::from_row(&row)?;
    if token.revoked_at.is_some() {
        return Err(AuthError::InvalidToken("the token has been revoked"));
    }
    let user = user_from_row(&row)?;
    if user.disabled {
        return Err(AuthError::InvalidToken("the token's user is disabled"));
    }
    let id = token.token_id;
    if token
        .last_used_at
        .is_none_or(|at| now.since(at) >= TOUCH_EVERY)
    {
        touch(db.pool(), id, now).await?;
    }
    Ok(Caller {
        user,
        credential: Credential::Token {
            id,
            name: token.token_name,
            scopes: Scopes::parse_list(&token.scopes)?,
        },
    })
}

async fn touch<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    now: Timestamp,
) -> Result<(), AuthError> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}
