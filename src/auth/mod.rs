//! Who may do what: users, roles, password hashing, sessions, API tokens,
//! login throttling, and the one place where roles and scopes are checked.

pub mod login;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod user;
pub mod users;

use std::fmt;

use serde::Serialize;

pub use user::User;

/// What a person does in Sluice. A user may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Editor,
    Approver,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Editor, Role::Approver, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Approver => "approver",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text.trim())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sorted, de-duplicated, non-empty set of roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Result<Self, AuthError> {
        let mut roles: Vec<Role> = roles.into_iter().collect();
        roles.sort();
        roles.dedup();
        if roles.is_empty() {
            return Err(AuthError::invalid("roles", "choose at least one role"));
        }
        Ok(Self(roles))
    }

    /// Parses the stored form, `admin,editor`.
    pub fn parse_stored(text: &str) -> Result<Self, AuthError> {
        let roles = text
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(|part| {
                Role::parse(part).ok_or_else(|| {
                    AuthError::invalid("roles", format!("unknown role {:?}", part.trim()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(roles)
    }

    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|role| role.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

/// What an API token may be used for. It never widens what its user's roles allow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    CatalogRead,
    CatalogWrite,
    Import,
    /// `feed:<channel>`; `None` is `feed:*`, every channel.
    Feed(Option<String>),
    Admin,
}

impl Scope {
    pub fn parse(text: &str) -> Result<Scope, AuthError> {
        let text = text.trim();
        match text {
            "catalog:read" => Ok(Scope::CatalogRead),
            "catalog:write" => Ok(Scope::CatalogWrite),
            "import" => Ok(Scope::Import),
            "admin" => Ok(Scope::Admin),
            "feed:*" => Ok(Scope::Feed(None)),
            _ => match text.strip_prefix("feed:") {
                Some(channel) if is_channel_code(channel) => {
                    Ok(Scope::Feed(Some(channel.to_owned())))
                }
                _ => Err(AuthError::invalid(
                    "scopes",
                    format!(
                        "unknown scope {text:?}; use catalog:read, catalog:write, import, \
                         feed:<channel>, feed:* or admin"
                    ),
                )),
            },
        }
    }

    /// The role a user needs for this scope to be of any use.
    fn grants(&self, permission: &Permission) -> bool {
        match (self, permission) {
            (Scope::CatalogRead | Scope::CatalogWrite, Permission::ReadCatalog) => true,
            (Scope::CatalogWrite, Permission::EditCatalog | Permission::Review) => true,
            (Scope::Import, Permission::Import) => true,
            (Scope::Feed(None), Permission::ReadFeed(_)) => true,
            (Scope::Feed(Some(mine)), Permission::ReadFeed(wanted)) => mine == wanted,
            (Scope::Admin, Permission::Administer) => true,
            _ => false,
        }
    }

    /// The permissions this scope can grant, used to refuse scopes the user could never use.
    fn permissions(&self) -> Vec<Permission> {
        match self {
            Scope::CatalogRead => vec![Permission::ReadCatalog],
            Scope::CatalogWrite => vec![Permission::EditCatalog, Permission::Review],
            Scope::Import => vec![Permission::Import],
            Scope::Feed(channel) => vec![Permission::ReadFeed(channel.clone().unwrap_or_default())],
            Scope::Admin => vec![Permission::Administer],
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::CatalogRead => f.write_str("catalog:read"),
            Scope::CatalogWrite => f.write_str("catalog:write"),
            Scope::Import => f.write_str("import"),
            Scope::Feed(None) => f.write_str("feed:*"),
            Scope::Feed(Some(channel)) => write!(f, "feed:{channel}"),
            Scope::Admin => f.write_str("admin"),
        }
    }
}

/// A sorted, de-duplicated, non-empty set of scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Result<Self, AuthError> {
        let mut scopes: Vec<Scope> = scopes.into_iter().collect();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(AuthError::invalid("scopes", "choose at least one scope"));
        }
        Ok(Self(scopes))
    }

    /// Parses a space- or comma-separated list.
    pub fn parse_list(text: &str) -> Result<Self, AuthError> {
        let scopes = text
            .split([',', ' '])
            .filter(|part| !part.trim().is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(scopes)
    }

    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// The first scope that the given roles could never use, if any.
    pub fn beyond(&self, roles: &Roles) -> Option<&Scope> {
        self.0.iter().find(|scope| {
            !scope
                .permissions()
                .iter()
                .any(|permission| roles_allow(roles, permission))
        })
    }
}

/// Channel codes as the catalog defines them, so every channel can get a
/// token scoped to it.
pub fn is_channel_code(code: &str) -> bool {
    crate::catalog::schema::is_code(code)
}

/// Something a caller wants to do. Every check in Sluice names one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    /// Read products, schema, proposals, imports, media.
    ReadCatalog,
    /// Change products and propose changes.
    EditCatalog,
    /// Approve or reject other people's proposals.
    Review,
    /// Run ERP imports.
    Import,
    /// Pull a channel's published feed.
    ReadFeed(String),
    /// Users, tokens, schema, channels, profiles, the audit log.
    Administer,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Permission::ReadCatalog => f.write_str("read the catalog"),
            Permission::EditCatalog => f.write_str("edit the catalog"),
            Permission::Review => f.write_str("review proposals"),
            Permission::Import => f.write_str("run imports"),
            Permission::ReadFeed(channel) => write!(f, "read the feed of channel {channel}"),
            Permission::Administer => f.write_str("administer Sluice"),
        }
    }
}

/// The role table: which roles grant which permission.
fn roles_allow(roles: &Roles, permission: &Permission) -> bool {
    let any = |wanted: &[Role]| wanted.iter().any(|role| roles.contains(*role));
    match permission {
        Permission::ReadCatalog | Permission::ReadFeed(_) => true,
        Permission::EditCatalog => any(&[Role::Editor, Role::Admin]),
        Permission::Review => any(&[Role::Approver]),
        Permission::Import => any(&[Role::Editor, Role::Admin]),
        Permission::Administer => any(&[Role::Admin]),
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session: the user's roles apply in full.
    Session,
    /// An API token: its scopes narrow the user's roles.
    Token {
        id: i64,
        name: String,
        scopes: Scopes,
    },
}

/// An authenticated caller: a user, and how they signed in.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub credential: Credential,
}

impl Caller {
    /// The single check: the user's roles must allow it, and a token's scopes must cover it.
    pub fn may(&self, permission: &Permission) -> bool {
        if !roles_allow(&self.user.roles, permission) {
            return false;
        }
        match &self.credential {
            Credential::Session => true,
            Credential::Token { scopes, .. } => scopes.iter().any(|scope| scope.grants(permission)),
        }
    }

    pub fn require(&self, permission: &Permission) -> Result<(), AuthError> {
        if self.may(permission) {
            return Ok(());
        }
        let reason = match &self.credential {
            Credential::Token { scopes, .. } if roles_allow(&self.user.roles, permission) => {
                format!(
                    "this token's scopes ({}) do not allow you to {permission}",
                    scopes.to_stored()
                )
            }
            _ => format!("your roles do not allow you to {permission}"),
        };
        Err(AuthError::Forbidden(reason))
    }

    /// The actor recorded in audit entries and history.
    pub fn actor(&self) -> crate::audit::Actor {
        match &self.credential {
            Credential::Session => self.user.actor(),
            Credential::Token { id, name, .. } => {
                crate::audit::Actor::token(self.user.id, &self.user.email, *id, name)
            }
        }
    }
}

/// Errors of the auth domain.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("a user with the e-mail {0} already exists")]
    EmailTaken(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("Too many failed sign-in attempts. Try again in {minutes} minute(s).")]
    Throttled { minutes: i64 },
    #[error("E-mail or password is wrong, or the account is disabled.")]
    BadCredentials,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl AuthError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AuthError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// 32 random bytes from the operating system, hex-encoded (256 bits).
pub fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The SHA-256 of a secret, hex-encoded: what the database keeps instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(roles: &[Role], scopes: Option<&str>) -> Caller {
        Caller {
            user: User::for_tests(Roles::new(roles.iter().copied()).unwrap()),
            credential: match scopes {
                None => Credential::Session,
                Some(list) => Credential::Token {
                    id: 1,
                    name: "t".into(),
                    scopes: Scopes::parse_list(list).unwrap(),
                },
            },
        }
    }

    #[test]
    fn token_scopes_narrow_roles_and_never_widen_them() {
        let admin_session = caller(&[Role::Admin], None);
        assert!(admin_session.may(&Permission::Administer));
        let admin_read_token = caller(&[Role::Admin], Some("catalog:read"));
        assert!(!admin_read_token.may(&Permission::Administer));
        assert!(admin_read_token.may(&Permission::ReadCatalog));
        let viewer_admin_token = caller(&[Role::Viewer], Some("admin catalog:write"));
        assert!(!viewer_admin_token.may(&Permission::Administer));
        assert!(!viewer_admin_token.may(&Permission::EditCatalog));
    }

    #[test]
    fn feed_scopes_are_per_channel() {
        let token = caller(&[Role::Viewer], Some("feed:google"));
        assert!(token.may(&Permission::ReadFeed("google".into())));
        assert!(!token.may(&Permission::ReadFeed("shopify".into())));
        let all = caller(&[Role::Viewer], Some("feed:*"));
        assert!(all.may(&Permission::ReadFeed("shopify".into())));
    }

    #[test]
    fn scopes_and_roles_parse_strictly() {
        assert!(Scope::parse("feed:Google").is_err());
        assert!(Scope::parse("catalog:delete").is_err());
        assert!(Roles::parse_stored("admin,wizard").is_err());
        assert_eq!(
            Roles::parse_stored("viewer,admin,admin")
                .unwrap()
                .to_stored(),
            "admin,viewer"
        );
        let scopes = Scopes::parse_list("admin, catalog:read").unwrap();
        let editor = Roles::new([Role::Editor]).unwrap();
        assert_eq!(scopes.beyond(&editor), Some(&Scope::Admin));
        // An approver's token may carry catalog:write: it is what review needs.
        let approver = Roles::new([Role::Approver]).unwrap();
        assert_eq!(
            Scopes::parse_list("catalog:write")
                .unwrap()
                .beyond(&approver),
            None
        );
        let viewer = Roles::new([Role::Viewer]).unwrap();
        assert_eq!(
            Scopes::parse_list("catalog:write").unwrap().beyond(&viewer),
            Some(&Scope::CatalogWrite)
        );
    }
}
