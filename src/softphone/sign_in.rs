//! Softphone sign-in: `POST /softphone/login` checks a directory user's password (or, with the
//! dev login on, only that the user exists) and hands out a token the page presents on its
//! WebSocket; `GET /softphone/users` lists who can be picked for the dev login.
//!
//! Tokens live in memory for [`TOKEN_LIFETIME`]: a restart signs everybody out, which a page
//! notices when its socket closes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::api::error::ApiError;
use crate::auth::secret::{generate_secret, verify_secret};
use crate::server::state::AppState;
use crate::throttle::RateLimiter;

/// How long a sign-in token is good for.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedInUser {
    /// Directory id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Tenant.
    pub tenant_id: String,
}

/// Sign-in attempts allowed per directory user per minute, so a password cannot be guessed
/// quickly whatever its hash costs.
pub const ATTEMPTS_PER_MINUTE: u32 = 10;

/// The tokens handed out, by token, and each user's sign-in attempts.
#[derive(Clone)]
pub struct SignIns {
    tokens: Arc<Mutex<HashMap<String, (SignedInUser, Instant)>>>,
    /// Counted for directory users only, so the buckets are as many as the users.
    attempts: Arc<RateLimiter>,
}

impl std::fmt::Debug for SignIns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIns").finish_non_exhaustive()
    }
}

impl Default for SignIns {
    fn default() -> Self {
        SignIns {
            tokens: Arc::default(),
            attempts: Arc::new(RateLimiter::new(
                ATTEMPTS_PER_MINUTE,
                Duration::from_secs(60),
            )),
        }
    }
}

impl SignIns {
    /// A new token for `user`.
    pub fn issue(&self, user: SignedInUser, now: Instant) -> String {
        let token = generate_secret();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        // Forget expired tokens as new ones are made, so the map stays as small as the live set.
        tokens.retain(|_, (_, expires)| *expires > now);
        tokens.insert(token.clone(), (user, now + TOKEN_LIFETIME));
        token
    }

    /// The user a token was issued to, if it is known and not expired.
    pub fn user(&self, token: &str, now: Instant) -> Option<SignedInUser> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .get(token)
            .filter(|(_, expires)| *expires > now)
            .map(|(user, _)| user.clone())
    }
}

/// The body of `POST /softphone/login`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    /// The user's directory id.
    pub user: String,
    /// The user's password (not needed with the dev login).
    #[serde(default)]
    pub password: Option<String>,
}

/// The answer to a sign-in.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// Present it in the WebSocket's `register` message.
    pub token: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
    /// Who signed in.
    pub user: SignedInUser,
}

/// `POST /softphone/login`.
pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "bad sign-in body ({}); send JSON {{\"user\": \"<user id>\", \"password\": \"…\"}}",
            e.body_text()
        ))
    })?;
    let refused = || {
        ApiError::unauthenticated(
            "unknown user or wrong password; check the user id and the password".to_owned(),
        )
    };
    let record = state
        .store
        .get_user(&request.user)
        .await
        .map_err(crate::api::call_context::store_unavailable)?
        .ok_or_else(refused)?;
    state
        .softphone
        .sign_ins
        .attempts
        .check_request(&format!("sign-in as {}", record.id), Instant::now())?;
    if !state.config.dev_login() {
        let hash = state
            .config
            .users
            .iter()
            .find(|u| u.id == record.id)
            .and_then(|u| u.password_hash.clone())
            .ok_or_else(refused)?;
        let password = request.password.unwrap_or_default();
        let ok = tokio::task::spawn_blocking(move || verify_secret(&password, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(refused());
        }
    }
    let user = SignedInUser {
        id: record.id,
        display_name: record.display_name,
        tenant_id: record.tenant_id,
    };
    let token = state.softphone.sign_ins.issue(user.clone(), Instant::now());
    Ok(Json(LoginResponse {
        token,
        expires_in: TOKEN_LIFETIME.as_secs(),
        user,
    }))
}

/// The answer to `GET /softphone/users`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    /// Whether the password-less dev login is on (then `users` lists everyone).
    pub dev_login: bool,
    /// Users to pick from (empty without the dev login).
    pub users: Vec<SignedInUser>,
}

/// `GET /softphone/users`: with the dev login on, every directory user, by tenant and name.
pub async fn users(State(state): State<AppState>) -> Result<Json<UserList>, ApiError> {
    let dev_login = state.config.dev_login();
    let mut users = Vec::new();
    if dev_login {
        let store = &state.store;
        let unavailable = crate::api::call_context::store_unavailable;
        for tenant in store.list_tenants().await.map_err(unavailable)? {
            for user in store.list_users(&tenant.id).await.map_err(unavailable)? {
                users.push(SignedInUser {
                    id: user.id,
                    display_name: user.display_name,
                    tenant_id: user.tenant_id,
                });
            }
        }
    }
    Ok(Json(UserList { dev_login, users }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_user_until_they_expire() {
        let sign_ins = SignIns::default();
        let now = Instant::now();
        let user = SignedInUser {
            id: "u".into(),
            display_name: "U".into(),
            tenant_id: "t".into(),
        };
        let token = sign_ins.issue(user.clone(), now);
        assert_eq!(sign_ins.user(&token, now), Some(user));
        assert_eq!(sign_ins.user("other", now), None);
        assert_eq!(sign_ins.user(&token, now + TOKEN_LIFETIME), None);
    }
}
