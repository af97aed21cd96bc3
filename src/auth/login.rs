//! Signing in and out: throttle, verify, start a fresh session, audit.

use super::sessions::{self, NewSession, Session, SessionPolicy};
use super::{AuthError, password, throttle, users};
use crate::audit::{self, Actor, AuditEvent};
use crate::db::{Db, Timestamp};

/// What the login form sends.
#[derive(Debug)]
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    pub client_addr: String,
}

/// Checks the throttle and the password and, on success, starts a new session
/// (a new id at every login; the session the browser had before is ended).
/// Every outcome is audited.
pub async fn login(
    db: &Db,
    attempt: LoginAttempt,
    policy: SessionPolicy,
    previous_session: Option<&str>,
    now: Timestamp,
) -> Result<NewSession, AuthError> {
    // Bounded: what was typed becomes a throttle key, an audit label and a log field.
    let email: String = attempt
        .email
        .trim()
        .to_lowercase()
        .chars()
        .take(254)
        .collect();
    let addr = attempt.client_addr.as_str();
    let anonymous = Actor::anonymous(&email).from_addr(addr);

    let counted = match throttle::begin_attempt(db, &email, addr, now).await {
        Ok(counted) => counted,
        Err(throttled @ AuthError::Throttled { .. }) => {
            // One entry per account and window: a flood of refused attempts
            // must not flood the audit log.
            let target = format!("user:{email}");
            let mut tx = db.begin_write().await?;
            db.lock_key(&mut tx, &format!("audit:{target}")).await?;
            let since = now.minus(throttle::WINDOW);
            if !audit::exists_since(&mut *tx, "auth.login_throttled", &target, since).await? {
                audit::record(
                    &mut *tx,
                    &anonymous,
                    AuditEvent::new("auth.login_throttled", target),
                    now,
                )
                .await?;
            }
            tx.commit().await?;
            return Err(throttled);
        }
        Err(other) => return Err(other),
    };

    let found = users::credentials(db, &email).await?;
    let (user, stored) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let password_ok = password::verify(attempt.password, stored).await?;
    let refusal = match &user {
        None => Some("unknown account"),
        Some(_) if !password_ok => Some("wrong password"),
        Some(user) if user.disabled => Some("account disabled"),
        Some(_) => None,
    };

    let mut tx = db.begin_write().await?;
    if let Some(reason) = refusal {
        // The attempt's rows stay: they are the recorded failure.
        audit::record(
            &mut *tx,
            &anonymous,
            AuditEvent::new("auth.login_failed", format!("user:{email}")).detail("reason", reason),
            now,
        )
        .await?;
        tx.commit().await?;
        return Err(AuthError::BadCredentials);
    }
    let Some(user) = user else {
        return Err(AuthError::BadCredentials);
    };
    throttle::succeeded(&mut tx, counted, &email).await?;
    if let Some(previous) = previous_session {
        sessions::end(&mut *tx, previous).await?;
    }
    let new_session = sessions::create(&mut *tx, &user, addr, policy, now).await?;
    audit::record(
        &mut *tx,
        &user.actor().from_addr(addr),
        AuditEvent::new("auth.login", format!("user:{}", user.email)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(new_session)
}

/// Ends the session and records the logout.
pub async fn logout(
    db: &Db,
    session: &Session,
    client_addr: &str,
    now: Timestamp,
) -> Result<(), AuthError> {
    let mut tx = db.begin_write().await?;
    sessions::end(&mut *tx, &session.id_hash).await?;
    audit::record(
        &mut *tx,
        &session.user.actor().from_addr(client_addr),
        AuditEvent::new("auth.logout", format!("user:{}", session.user.email)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
