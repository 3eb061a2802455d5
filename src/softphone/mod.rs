//! The softphone: the page people call and answer from (served at `/`, and at `/meet/{id}`
//! ready to join a meeting), its sign-in, and its WebSocket signaling with the endpoint registry
//! that rings signed-in users.

pub mod hub;
#[cfg(test)]
mod hub_tests;
pub mod media;
pub mod protocol;
pub mod sign_in;
pub mod socket;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use hub::Softphone;

use crate::server::state::AppState;

/// The page's HTML (markup and styles).
const PAGE_HTML: &str = include_str!("page/index.html");
/// The page's script: sign-in, signaling, WebRTC, keypad, level meter.
const PAGE_SCRIPT: &str = include_str!("page/softphone.js");

/// The page, its script, sign-in and the signaling socket.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/softphone.js", get(script))
        .route("/meet/{id}", get(meeting_page))
        .route("/softphone/login", post(sign_in::login))
        .route("/softphone/users", get(sign_in::users))
        .route("/softphone/ws", get(socket::upgrade))
}

async fn page() -> Response {
    html(StatusCode::OK, PAGE_HTML)
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGE_SCRIPT,
    )
        .into_response()
}

/// `GET /meet/{id}`: the page, ready to join the meeting whose `joinWebUrl` this is.
async fn meeting_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let url = format!("{}/meet/{id}", state.public_url);
    match state.store.find_meeting_by_join_web_url(&url).await {
        Ok(Some(_)) => html(StatusCode::OK, PAGE_HTML),
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            "<!doctype html><title>No such meeting</title><p>There is no meeting at this link. \
             Check the link in the invitation, or ask the organizer for a new one.</p>",
        ),
        Err(error) => {
            tracing::error!(%error, "meeting lookup failed");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                "<!doctype html><title>Try again</title><p>The meeting directory is not \
                 available right now; reload the page in a moment.</p>",
            )
        }
    }
}

fn html(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}
