//! Where notifications for the server's own bots arrive: the in-process end of the notification
//! contract. The server's notifier POSTs `commsNotifications` to a loopback listener exactly as it
//! does to an external bot's webhook (the listener's one route is `http::inbox`); each registered
//! key (a bot, a reminder attempt) gets the notifications POSTed to its path.
//!
//! The listener binds 127.0.0.1 only, every path holds a random secret, and each POST's bearer
//! JWT is checked as the README tells bot developers to check it: signed by the server's
//! published key, issued by the notification issuer, for the receiving application.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::auth::tokens::TokenService;

/// A registered key: the application its notifications are for, and where they go.
type Route = (String, mpsc::UnboundedSender<Value>);

/// The loopback notification receiver; cheap to clone.
#[derive(Clone)]
pub struct Inbox {
    inner: Arc<Shared>,
}

struct Shared {
    base_url: String,
    secret: String,
    routes: Mutex<HashMap<String, Route>>,
    tokens: Arc<TokenService>,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inbox")
    }
}

/// Why a POST to the inbox was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InboxRefusal {
    /// The path's secret is wrong or its key is not registered (any more).
    #[error("no inbox at this path")]
    UnknownPath,
    /// The bearer JWT is missing or not valid for the key's application.
    #[error("notification token refused: {reason}")]
    Unauthenticated {
        /// What was wrong with the token.
        reason: String,
    },
    /// The body is not a JSON `commsNotifications` envelope.
    #[error("the body is not JSON: {reason}")]
    NotJson {
        /// What serde_json said about the body, with its line and column.
        reason: String,
    },
}

impl Inbox {
    /// An inbox served by a listener bound to `listening` (a loopback address); `tokens` checks
    /// each POST's JWT.
    pub fn new(listening: SocketAddr, tokens: Arc<TokenService>) -> Inbox {
        let secret = crate::auth::secret::generate_secret();
        Inbox {
            inner: Arc::new(Shared {
                base_url: format!("http://{listening}/hooks/{secret}"),
                secret,
                routes: Mutex::new(HashMap::new()),
                tokens,
            }),
        }
    }

    /// The callback URI whose notifications go to `key`.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.inner.base_url)
    }

    /// Routes the notifications for application `app_id` POSTed to [`Inbox::url`]`(key)` to the
    /// returned receiver.
    pub fn register(&self, key: &str, app_id: &str) -> mpsc::UnboundedReceiver<Value> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.lock()
            .insert(key.to_owned(), (app_id.to_owned(), sender));
        receiver
    }

    /// Stops routing `key`; later POSTs to it are refused as an unknown path.
    pub fn unregister(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Takes one POST to `/hooks/{secret}/{key}` with its `Authorization` header value: checks the
    /// path and the JWT, then hands each notification of the envelope to the key's receiver.
    pub fn deliver(
        &self,
        secret: &str,
        key: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<(), InboxRefusal> {
        if secret != self.inner.secret {
            return Err(InboxRefusal::UnknownPath);
        }
        let route = self.lock().get(key).cloned();
        let Some((app_id, sender)) = route else {
            return Err(InboxRefusal::UnknownPath);
        };
        check_token(&self.inner.tokens, authorization, &app_id)
            .map_err(|reason| InboxRefusal::Unauthenticated { reason })?;
        let envelope =
            serde_json::from_slice::<Value>(body).map_err(|e| InboxRefusal::NotJson {
                reason: e.to_string(),
            })?;
        for notification in envelope["value"].as_array().into_iter().flatten() {
            let _ = sender.send(notification.clone());
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Route>> {
        // The map is only inserted into and removed from; a panic cannot leave it half-changed.
        self.inner.routes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Checks the notification's bearer JWT: RS256 with the server's published key, the
/// notification issuer, audience `app_id`, and not expired.
fn check_token(
    tokens: &TokenService,
    authorization: Option<&str>,
    app_id: &str,
) -> Result<(), String> {
    let token = authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("no Authorization: Bearer token")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 60;
    validation.set_issuer(&[tokens.notification_issuer()]);
    validation.set_audience(&[app_id]);
    jsonwebtoken::decode::<serde_json::Map<String, Value>>(
        token,
        tokens.keys().decoding_key(),
        &validation,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::SigningKeys;

    #[tokio::test]
    async fn only_signed_notifications_for_the_registered_app_get_through() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(SigningKeys::load_or_create(dir.path()).unwrap());
        let tokens = Arc::new(TokenService::new(
            keys,
            "http://sb.test".into(),
            "https://graph.microsoft.com".into(),
            3600,
            "http://sb.test".into(),
            300,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let inbox = Inbox::new(listener.local_addr().unwrap(), Arc::clone(&tokens));
        tokio::spawn(crate::http::inbox::serve(listener, inbox.clone()));
        let mut received = inbox.register("bots/app-1", "app-1");
        let http = reqwest::Client::new();
        let body = serde_json::json!({"value": [{"changeType": "created"}]});
        let post = |url: String, token: Option<String>| {
            let mut request = http.post(url).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            async move { request.send().await.unwrap().status().as_u16() }
        };
        let url = inbox.url("bots/app-1");
        assert_eq!(post(url.clone(), None).await, 401);
        let foreign = tokens.notification_token("app-2", "t").unwrap();
        assert_eq!(post(url.clone(), Some(foreign)).await, 401);
        let wrong_secret = url.replace("/hooks/", "/hooks/x");
        let good = tokens.notification_token("app-1", "t").unwrap();
        assert_eq!(post(wrong_secret, Some(good.clone())).await, 404);
        assert_eq!(post(url, Some(good)).await, 202);
        assert_eq!(received.recv().await.unwrap()["changeType"], "created");
        assert!(
            received.try_recv().is_err(),
            "refused POSTs deliver nothing"
        );
    }
}
