//! Softphone sign-ins: the tokens `POST /softphone/login` (in `http::softphone`) hands out after
//! checking a directory user's password, which the page presents on its WebSocket, and the limit
//! on sign-in attempts per user.
//!
//! Tokens live in memory for [`TOKEN_LIFETIME`]: a restart signs everybody out, which a page
//! notices when its socket closes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::auth::secret::generate_secret;
use crate::throttle::{RateLimiter, Throttled};

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

    /// Counts one sign-in attempt as `user_id`; refused past [`ATTEMPTS_PER_MINUTE`].
    pub fn attempt(&self, user_id: &str, now: Instant) -> Result<(), Throttled> {
        self.attempts
            .check_request(&format!("sign-in as {user_id}"), now)
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
