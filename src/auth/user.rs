//! A user as read from the `users` table: the record and its row mapping,
//! shared by `users` (the accounts), `sessions` and `tokens` (which read a
//! caller's user in the same query), so those need not import each other.

use serde::Serialize;
use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::{Role, Roles};
use crate::db::{StoredBool, Timestamp};

/// A user as everyone but the password check sees them.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub roles: Roles,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl User {
    /// This person as the audit log and history name them.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::user(self.id, &self.email)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(role)
    }

    pub fn display_name(&self) -> &str {
        if self.name.is_empty() {
            &self.email
        } else {
            &self.name
        }
    }

    #[cfg(test)]
    pub(crate) fn for_tests(roles: Roles) -> Self {
        let now = crate::db::Clock::system().now();
        User {
            id: 1,
            email: "t@example.com".into(),
            name: "T".into(),
            roles,
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }
}

pub(crate) const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.roles, u.disabled, u.created_at, u.updated_at";

/// The [`USER_COLUMNS`] of a row as stored.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    roles: String,
    #[sqlx(try_from = "StoredBool")]
    disabled: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    let stored = UserRow::from_row(row)?;
    Ok(User {
        id: stored.id,
        email: stored.email,
        name: stored.name,
        roles: Roles::parse_stored(&stored.roles).map_err(|err| sqlx::Error::Decode(err.into()))?,
        disabled: stored.disabled,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    })
}
