//! Where notifications for the server's own bots arrive: one loopback HTTP listener, the
//! in-process end of the notification contract. The server's notifier POSTs `commsNotifications`
//! here exactly as it does to an external bot's webhook; each registered key (a bot, a reminder
//! attempt) gets the notifications POSTed to its path.
//!
//! The listener binds 127.0.0.1 only, and every path holds a random secret, so nothing outside
//! this process can feed a bot notifications.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use tokio::sync::mpsc;

type Routes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>>;

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
}

impl Inbox {
    /// Binds a free loopback port and starts serving.
    pub async fn bind() -> std::io::Result<Inbox> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let secret = crate::auth::secret::generate_secret();
        let routes: Routes = Arc::default();
        let shared = Shared {
            secret: secret.clone(),
            routes: Arc::clone(&routes),
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

    /// Routes the notifications POSTed to [`Inbox::url`]`(key)` to the returned receiver.
    pub fn register(&self, key: &str) -> mpsc::UnboundedReceiver<Value> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.lock().insert(key.to_owned(), sender);
        receiver
    }

    /// Stops routing `key`; later POSTs to it are refused with 404.
    pub fn unregister(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Value>>> {
        // The map is only inserted into and removed from; a panic cannot leave it half-changed.
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn receive(
    State(shared): State<Shared>,
    Path((secret, key)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> StatusCode {
    if secret != shared.secret {
        return StatusCode::NOT_FOUND;
    }
    let Ok(envelope) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let sender = shared
        .routes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    let Some(sender) = sender else {
        return StatusCode::NOT_FOUND;
    };
    for notification in envelope["value"].as_array().into_iter().flatten() {
        let _ = sender.send(notification.clone());
    }
    StatusCode::ACCEPTED
}
