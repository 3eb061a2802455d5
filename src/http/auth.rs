//! Bearer authentication for `/v1.0`: a layer that authenticates and throttles every request, and
//! the extractors handlers use to learn who is calling.
//!
//! A handler takes [`AuthenticatedApp`] (application routes: calls, participants, operations),
//! [`AuthenticatedUser`] (`/me/...`) or [`AuthenticatedPrincipal`] (either). The `/v1.0` layer has
//! already verified the token; the extractors also work without it (they verify themselves).

use std::time::Instant;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use super::state::AppState;
use crate::auth::principal::Principal;

/// The caller of an application route: an app signed in with client credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedApp {
    /// Application (client) id.
    pub app_id: String,
    /// The application's tenant.
    pub tenant_id: String,
}

/// The caller of a user route (`/me/...`): a signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    /// User id.
    pub user_id: String,
    /// The user's tenant.
    pub tenant_id: String,
}

/// The caller of a route open to apps and users alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedPrincipal(pub Principal);

/// Middleware for `/v1.0`: authenticates the bearer token (401), throttles the caller (429), and
/// leaves the [`Principal`] in the request extensions for the extractors.
pub async fn require_bearer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let principal = authenticate(&state, request.headers()).await?;
    if let Err(throttled) = state
        .throttle
        .check_request(principal.subject(), Instant::now())
    {
        metrics::counter!(crate::metrics::THROTTLED_REQUESTS, "app_id" => principal.subject().to_owned())
            .increment(1);
        return Err(throttled.into());
    }
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// Verifies the request's bearer token and that its tenant and subject exist here.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let token = bearer_token(headers)?;
    let principal = state
        .tokens
        .verify(token)
        .map_err(|e| ApiError::unauthenticated(e.to_string()))?;
    let tenant_id = principal.tenant_id().to_owned();
    let known = match &principal {
        Principal::App { app_id, .. } => state
            .store
            .get_app(app_id)
            .await?
            .is_some_and(|app| app.tenant_id == tenant_id),
        Principal::User { user_id, .. } => state
            .store
            .get_user(user_id)
            .await?
            .is_some_and(|user| user.tenant_id == tenant_id),
    };
    if !known {
        return Err(ApiError::unauthenticated(format!(
            "the token's {} {:?} is not registered in tenant {tenant_id:?} on this server",
            principal.kind(),
            principal.subject()
        )));
    }
    Ok(principal)
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthenticated(
            "Access token is empty: send Authorization: Bearer <token> (get one from POST /{tenant}/oauth2/v2.0/token)",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("the Authorization header is not ASCII text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthenticated(
            "the Authorization header is not a bearer token; allowed: Authorization: Bearer <token>",
        )),
    }
}

async fn principal_of(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
    if let Some(principal) = parts.extensions.get::<Principal>() {
        return Ok(principal.clone());
    }
    let principal = authenticate(state, &parts.headers).await?;
    parts.extensions.insert(principal.clone());
    Ok(principal)
}

impl FromRequestParts<AppState> for AuthenticatedPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        principal_of(parts, state).await.map(AuthenticatedPrincipal)
    }
}

impl FromRequestParts<AppState> for AuthenticatedApp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal_of(parts, state).await? {
            Principal::App { app_id, tenant_id } => Ok(AuthenticatedApp { app_id, tenant_id }),
            Principal::User { user_id, .. } => Err(ApiError::forbidden(format!(
                "this API needs an application token; user {user_id:?} signed in with a user token (calls are application-permission only)"
            ))),
        }
    }
}

impl FromRequestParts<AppState> for AuthenticatedUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal_of(parts, state).await? {
            Principal::User { user_id, tenant_id } => Ok(AuthenticatedUser { user_id, tenant_id }),
            Principal::App { app_id, .. } => Err(ApiError::forbidden(format!(
                "/me needs a signed-in user; application {app_id:?} has no /me — use /users/{{id}} instead"
            ))),
        }
    }
}
