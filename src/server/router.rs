//! The router: public identity routes, `/metrics`, and `/v1.0` behind the bearer layer, wrapped
//! in the layers every request passes (request ids + Graph errors, panic catcher, body limit).

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::api::error::ApiError;
use crate::api::json::GraphJson;
use crate::api::request_id::request_context;
use crate::api::routes::v1_routes;
use crate::auth::extract::require_bearer;
use crate::auth::{oauth, oidc};
use crate::server::state::AppState;

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/{tenant}/oauth2/v2.0/token";

/// Builds the complete router for `state`.
pub fn build(state: AppState) -> Router {
    let v1 = v1_routes().route_layer(middleware::from_fn_with_state(
        state.clone(),
        require_bearer,
    ));
    let max_body = state.config.http.max_body_bytes;
    Router::new()
        .route(TOKEN_PATH, post(oauth::token))
        .route(oidc::DISCOVERY_PATH, get(oidc::discovery))
        .route(oidc::JWKS_PATH, get(oidc::jwks))
        .route("/metrics", get(crate::metrics::render))
        .route("/healthz", get(health))
        .nest("/v1.0", v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(request_context))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn health() -> impl IntoResponse {
    GraphJson(serde_json::json!({"status": "ok"}))
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "UnknownResource",
        format!(
            "no resource at {method} {}; see the README for the supported API",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(format!("{} does not support {method}", uri.path()))
}

/// Last resort: a handler panicked. Logged with the panic message; the client gets a 500 Graph
/// error. No input should ever get here — every bad input has its own 4xx.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "request handler panicked");
    ApiError::internal("the server hit an internal error; it has been logged").into_response()
}
