//! The router: the route table wrapped in the layers every request passes (request ids and Graph
//! error bodies, the panic catcher, the body limit), with Graph errors for unknown paths and
//! methods.

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use super::error::ApiError;
use super::json::GraphJson;
use super::request_id::request_context;
use super::routes;
use super::state::AppState;

/// Builds the complete router for `state`.
pub fn build(state: AppState) -> Router {
    let max_body = state.config.http.max_body_bytes;
    routes::table()
        .into_router(&state)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(request_context))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET /healthz`: the process is up and serving.
pub async fn health() -> impl IntoResponse {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt as _;

    async fn boom() -> &'static str {
        panic!("handler bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_logged_graph_500() {
        let app: Router = Router::new()
            .route("/boom", get(boom))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(middleware::from_fn(request_context));
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let request_id = response.headers()["request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.unwrap())
                .unwrap();
        assert_eq!(body["error"]["code"], "generalException");
        assert_eq!(
            body["error"]["innerError"]["request-id"],
            request_id.as_str()
        );
        assert!(
            !body.to_string().contains("handler bug"),
            "panic text stays in the log"
        );
    }
}
