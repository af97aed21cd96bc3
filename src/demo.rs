//! Demo seeding: one user per role, with passwords that are random on every
//! run unless `SLUICE_DEMO_PASSWORD` sets them. Seeding twice changes nothing
//! but the passwords.

use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::audit::Actor;
use crate::auth::users::{self, NewUser};
use crate::auth::{AuthError, Role, Roles};
use crate::db::{Clock, Db};

/// A demo login to print.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub roles: Roles,
}

const DEMO_USERS: [(&str, &str, Role); 4] = [
    ("admin@sluice.local", "Ada Admin", Role::Admin),
    ("editor@sluice.local", "Eddie Editor", Role::Editor),
    ("approver@sluice.local", "April Approver", Role::Approver),
    ("viewer@sluice.local", "Vic Viewer", Role::Viewer),
];

pub fn random_password() -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

/// Creates the demo users, or gives existing ones a fresh password.
pub async fn seed_users(
    db: &Db,
    clock: &Clock,
    fixed_password: Option<&str>,
) -> Result<Vec<DemoLogin>, AuthError> {
    let actor = Actor::system("sluice demo");
    let mut logins = Vec::new();
    for (email, name, role) in DEMO_USERS {
        let password = fixed_password.map_or_else(random_password, str::to_owned);
        let roles = Roles::new([role])?;
        match users::find_by_email(db, email).await? {
            Some(user) => {
                users::set_password(db, &actor, user.id, password.clone(), None, clock.now())
                    .await?;
            }
            None => {
                users::create(
                    db,
                    &actor,
                    NewUser {
                        email: email.to_owned(),
                        name: name.to_owned(),
                        roles: roles.clone(),
                        password: password.clone(),
                    },
                    clock.now(),
                )
                .await?;
            }
        }
        logins.push(DemoLogin {
            email: email.to_owned(),
            password,
            roles,
        });
    }
    Ok(logins)
}
