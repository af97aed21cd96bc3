//! Password hashing with argon2id at OWASP's parameters (m = 19456 KiB, t = 2,
//! p = 1). Both hashing and verification cost tens of milliseconds of a core,
//! so they run on the blocking pool, never inside a request future.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tracing::Instrument;

use super::AuthError;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

/// At most this many hashes at once: each holds 19 MiB and a core, and a
/// flood of sign-ins must queue rather than spawn hundreds of blocking threads.
const CONCURRENT_HASHES: usize = 4;

fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(CONCURRENT_HASHES))
}

fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's documented ranges.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the password rules: 10 to 256 characters.
pub fn check_rules(password: &str) -> Result<(), AuthError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(AuthError::invalid(
            "password",
            format!("use at least {MIN_LENGTH} characters"),
        ));
    }
    if length > MAX_LENGTH {
        return Err(AuthError::invalid(
            "password",
            format!("use at most {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

/// Hashes a password into a PHC string, off the async runtime.
pub async fn hash(password: String) -> Result<String, AuthError> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|err| AuthError::Hashing(err.to_string()))?;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        hash_blocking(&password)
    })
    .in_current_span()
    .await
    .map_err(|err| AuthError::Hashing(err.to_string()))?
}

fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AuthError::Hashing(err.to_string()))
}

/// Verifies a password against a stored hash, off the async runtime. With no
/// stored hash (unknown account) it verifies against a fixed dummy hash, so the
/// answer takes as long as for a real account.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AuthError> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|err| AuthError::Hashing(err.to_string()))?;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let known = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => dummy_hash()?.to_owned(),
        };
        let parsed =
            PasswordHash::new(&stored).map_err(|err| AuthError::Hashing(err.to_string()))?;
        let matches = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|err| AuthError::Hashing(err.to_string()))?
}

fn dummy_hash() -> Result<&'static str, AuthError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_blocking("sluice-dummy-password-for-timing")?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_owasp_parameters() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(
            verify("correct horse battery".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(stored))
                .await
                .unwrap()
        );
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }

    #[test]
    fn rules() {
        assert!(check_rules("short").is_err());
        assert!(check_rules("long enough now").is_ok());
        assert!(check_rules(&"x".repeat(257)).is_err());
    }
}
