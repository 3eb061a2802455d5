//! The built-in bots' notification listener: one route on its own loopback listener, where the
//! notifier POSTs their `commsNotifications` (see `bots::inbox` for the checks it applies).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use crate::bots::inbox::{Inbox, InboxRefusal};

/// The listener's one route.
pub const PATH: &str = "/hooks/{secret}/{*key}";

/// The router of the inbox's listener.
pub fn router(inbox: Inbox) -> Router {
    Router::new().route(PATH, post(receive)).with_state(inbox)
}

/// Serves the inbox on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, inbox: Inbox) {
    if let Err(error) = axum::serve(listener, router(inbox)).await {
        tracing::error!(%error, "built-in bot notification listener stopped");
    }
}

async fn receive(
    State(inbox): State<Inbox>,
    Path((secret, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    match inbox.deliver(&secret, &key, authorization, &body) {
        Ok(()) => StatusCode::ACCEPTED,
        Err(InboxRefusal::UnknownPath) => StatusCode::NOT_FOUND,
        Err(refusal @ InboxRefusal::Unauthenticated { .. }) => {
            tracing::warn!(%key, %refusal, "notification for a built-in bot refused");
            StatusCode::UNAUTHORIZED
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}
