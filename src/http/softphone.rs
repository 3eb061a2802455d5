//! The softphone's routes: the page (`/`, its script, and `/meet/{id}` for a meeting's join
//! link), `POST /softphone/login` (a directory user's password, or with the dev login only that
//! the user exists, for a token the page presents on its socket), and `GET /softphone/users`
//! (who can be picked for the dev login). The signaling socket is in `softphone_socket`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, store_unavailable};
use super::state::AppState;
use crate::auth::secret::verify_secret;
use crate::softphone::sign_in::{SignedInUser, TOKEN_LIFETIME};
use crate::softphone::{PAGE_HTML, PAGE_SCRIPT};

/// `GET /`: the softphone page.
pub async fn page() -> Response {
    html(StatusCode::OK, PAGE_HTML)
}

/// `GET /softphone.js`: the page's script.
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGE_SCRIPT,
    )
        .into_response()
}

/// `GET /meet/{id}`: the page, ready to join the meeting whose `joinWebUrl` this is.
pub async fn meeting_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = Instant::now();
    let source = peer.ip();
    state.sign_ins.admit_source(source, now)?;
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
    let failed = |id: &str| {
        state.sign_ins.failed(source, &format!("user {id}"), now);
        refused()
    };
    let record = state
        .store
        .get_user(&request.user)
        .await
        .map_err(store_unavailable)?
        .ok_or_else(|| failed(&request.user))?;
    state.softphone.sign_ins.attempt(&record.id, now)?;
    if !state.config.dev_login() {
        let hash = state
            .config
            .users
            .iter()
            .find(|u| u.id == record.id)
            .and_then(|u| u.password_hash.clone())
            .ok_or_else(|| failed(&record.id))?;
        let password = request.password.unwrap_or_default();
        let ok = state
            .sign_ins
            .slow_check(move || verify_secret(&password, &hash))
            .await;
        if !ok {
            return Err(failed(&record.id));
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
        let unavailable = store_unavailable;
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
