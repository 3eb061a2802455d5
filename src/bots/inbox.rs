//! Where notifications for the server's own bots arrive: one loopback HTTP listener, the
//! in-process end of the notification contract. The server's notifier POSTs `commsNotifications`
//! here exactly as it does to an external bot's webhook; each registered key (a bot, a reminder
//! attempt) gets the notifications POSTed to its path.
//!
//! The listener binds 127.0.0.1 only, every path holds a random secret, and each POST's bearer
//! JWT is checked as the README tells bot developers to check it: signed by the server's
//! published key, issued by the notification issuer, for the receiving application.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::auth::tokens::TokenService;

/// A registered key: the application its notifications are for, and where they go.
type Route = (String, mpsc::UnboundedSender<Value>);
type Routes = Arc<Mutex<HashMap<String, Route>>>;

/// The loopback notification receiver.
#[derive(Clone)]
pub struct Inbox {
    base_url: String,
    routes: Routes,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inbox")
    }
}

#[derive(Clone)]
struct Shared {
    secret: String,
    routes: Routes,
    tokens: Arc<TokenService>,
}

impl Inbox {
    /// Binds a free loopback port and starts serving; `tokens` checks each POST's JWT.
    pub async fn bind(tokens: Arc<TokenService>) -> std::io::Result<Inbox> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let secret = crate::auth::secret::generate_secret();
        let routes: Routes = Arc::default();
        let shared = Shared {
            secret: secret.clone(),
            routes: Arc::clone(&routes),
            tokens,
        };
        let app = Router::new()
            .route("/hooks/{secret}/{*key}", post(receive))
            .with_state(shared);
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "built-in bot notification listener stopped");
            }
        });
        Ok(Inbox {
            base_url: format!("http://127.0.0.1:{port}/hooks/{secret}"),
            routes,
        })
    }

    /// The callback URI whose notifications go to `key`.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.base_url)
    }

    /// Routes the notifications for application `app_id` POSTed to [`Inbox::url`]`(key)` to the
    /// returned receiver.
    pub fn register(&self, key: &str, app_id: &str) -> mpsc::UnboundedReceiver<Value> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.lock()
            .insert(key.to_owned(), (app_id.to_owned(), sender));
        receiver
    }

    /// Stops routing `key`; later POSTs to it are refused with 404.
    pub fn unregister(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Route>> {
        // The map is only inserted into and removed from; a panic cannot leave it half-changed.
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn receive(
    State(shared): State<Shared>,
    Path((secret, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    if secret != shared.secret {
        return StatusCode::NOT_FOUND;
    }
    let route = shared
        .routes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    let Some((app_id, sender)) = route else {
        return StatusCode::NOT_FOUND;
    };
    if let Err(reason) = check_token(&shared.tokens, &headers, &app_id) {
        tracing::warn!(%key, %reason, "notification for a built-in bot refused");
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(envelope) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    for notification in envelope["value"].as_array().into_iter().flatten() {
        let _ = sender.send(notification.clone());
    }
    StatusCode::ACCEPTED
}

/// Checks the notification's bearer JWT: RS256 with the server's published key, the
/// notification issuer, audience `app_id`, and not expired.
fn check_token(tokens: &TokenService, headers: &HeaderMap, app_id: &str) -> Result<(), String> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
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
        let inbox = Inbox::bind(Arc::clone(&tokens)).await.unwrap();
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
