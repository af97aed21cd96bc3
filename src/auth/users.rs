//! People who sign in: e-mail, name, roles, password, enabled or not.
//! Every change here writes an audit entry in the same transaction.

use sqlx::{Any, Executor, Row};

pub use super::user::User;
use super::user::{USER_COLUMNS, user_from_row};
use super::{AuthError, Role, Roles, password, sessions};
use crate::audit::{self, Actor, AuditEvent};
use crate::db::{Db, Timestamp, is_unique_violation};

/// A validated e-mail address, trimmed and lower-cased (unique case-insensitively).
pub fn normalize_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                && !domain.starts_with('.') && !domain.ends_with('.'));
    if valid {
        Ok(email)
    } else {
        Err(AuthError::invalid(
            "email",
            "enter an e-mail address like name@example.com",
        ))
    }
}

fn normalize_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim();
    if name.chars().count() > 100 {
        return Err(AuthError::invalid("name", "use at most 100 characters"));
    }
    Ok(name.to_owned())
}

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub roles: Roles,
    pub password: String,
}

/// Creates a user; the password is hashed off the runtime first.
pub async fn create(
    db: &Db,
    actor: &Actor,
    new: NewUser,
    now: Timestamp,
) -> Result<User, AuthError> {
    let email = normalize_email(&new.email)?;
    let name = normalize_name(&new.name)?;
    password::check_rules(&new.password)?;
    let password_hash = password::hash(new.password).await?;

    let mut tx = db.begin_write().await?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (email, name, password_hash, roles, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5, $5) RETURNING id",
    )
    .bind(&email)
    .bind(&name)
    .bind(&password_hash)
    .bind(new.roles.to_stored())
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(id) => id,
        Err(err) if is_unique_violation(&err) => return Err(AuthError::EmailTaken(email)),
        Err(err) => return Err(err.into()),
    };
    audit::record(
        &mut *tx,
        actor,
        AuditEvent::new("user.create", format!("user:{email}"))
            .detail("roles", new.roles.to_stored()),
        now,
    )
    .await?;
    let user = get_in(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(user)
}

async fn get_in<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<User, AuthError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("user {id}")))?;
    Ok(user_from_row(&row)?)
}

pub async fn get(db: &Db, id: i64) -> Result<User, AuthError> {
    get_in(db.pool(), id).await
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, AuthError> {
    let Ok(email) = normalize_email(email) else {
        return Ok(None);
    };
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.as_ref().map(user_from_row).transpose()?)
}

/// The user and stored password hash for a sign-in attempt.
pub(super) async fn credentials(db: &Db, email: &str) -> Result<Option<(User, String)>, AuthError> {
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(row) => Ok(Some((user_from_row(&row)?, row.try_get("password_hash")?))),
        None => Ok(None),
    }
}

/// All users, by e-mail.
pub async fn list(db: &Db) -> Result<Vec<User>, AuthError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.email");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
}

/// Changes name and roles. An admin cannot take the admin role from themselves,
/// so the last way into the settings is never closed by accident.
pub async fn update_profile(
    db: &Db,
    actor: &Actor,
    id: i64,
    name: &str,
    roles: Roles,
    now: Timestamp,
) -> Result<User, AuthError> {
    let name = normalize_name(name)?;
    if actor.user_id == Some(id) && !roles.contains(Role::Admin) {
        return Err(AuthError::invalid(
            "roles",
            "you cannot remove the admin role from yourself",
        ));
    }
    let mut tx = db.begin_write().await?;
    let before = get_in(&mut *tx, id).await?;
    sqlx::query("UPDATE users SET name = $1, roles = $2, updated_at = $3 WHERE id = $4")
        .bind(&name)
        .bind(roles.to_stored())
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if before.roles != roles {
        audit::record(
            &mut *tx,
            actor,
            AuditEvent::new("user.roles_change", format!("user:{}", before.email))
                .detail("before", before.roles.to_stored())
                .detail("after", roles.to_stored()),
            now,
        )
        .await?;
    }
    if before.name != name {
        audit::record(
            &mut *tx,
            actor,
            AuditEvent::new("user.rename", format!("user:{}", before.email))
                .detail("before", before.name.clone())
                .detail("after", name.clone()),
            now,
        )
        .await?;
    }
    let user = get_in(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Disables or enables a user. Disabling ends all of their sessions.
pub async fn set_disabled(
    db: &Db,
    actor: &Actor,
    id: i64,
    disabled: bool,
    now: Timestamp,
) -> Result<User, AuthError> {
    if disabled && actor.user_id == Some(id) {
        return Err(AuthError::invalid(
            "disabled",
            "you cannot disable yourself",
        ));
    }
    let mut tx = db.begin_write().await?;
    let before = get_in(&mut *tx, id).await?;
    sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
        .bind(disabled)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if disabled {
        sessions::end_all_for_user(&mut *tx, id).await?;
    }
    if before.disabled != disabled {
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        audit::record(
            &mut *tx,
            actor,
            AuditEvent::new(action, format!("user:{}", before.email)),
            now,
        )
        .await?;
    }
    let user = get_in(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Sets a new password and ends every session of the user except `keep_session`
/// (the caller's own, when people change their own password).
pub async fn set_password(
    db: &Db,
    actor: &Actor,
    id: i64,
    new_password: String,
    keep_session: Option<&str>,
    now: Timestamp,
) -> Result<(), AuthError> {
    password::check_rules(&new_password)?;
    let password_hash = password::hash(new_password).await?;
    let mut tx = db.begin_write().await?;
    let user = get_in(&mut *tx, id).await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(&password_hash)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    match keep_session {
        Some(session_hash) => sessions::end_others_for_user(&mut *tx, id, session_hash).await?,
        None => sessions::end_all_for_user(&mut *tx, id).await?,
    }
    let action = if actor.user_id == Some(id) {
        "user.password_change"
    } else {
        "user.password_reset"
    };
    audit::record(
        &mut *tx,
        actor,
        AuditEvent::new(action, format!("user:{}", user.email)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Checks a user's current password (for changing one's own password). It
/// counts against the same throttle as signing in, so a stolen session cannot
/// be used to guess the password either.
pub async fn check_password(
    db: &Db,
    user: &User,
    password: String,
    client_addr: &str,
    now: Timestamp,
) -> Result<bool, AuthError> {
    let attempt = super::throttle::begin_attempt(db, &user.email, client_addr, now).await?;
    let stored = credentials(db, &user.email).await?.map(|(_, hash)| hash);
    let matches = password::verify(password, stored).await?;
    if matches {
        let mut conn = db.pool().acquire().await?;
        super::throttle::succeeded(&mut conn, attempt, &user.email).await?;
    }
    Ok(matches)
}
