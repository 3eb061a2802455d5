//! `GET /communications/calls/{id}/operations/{opId}` (§3.6).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use crate::api::call_context::{Calls, json_response};
use crate::api::error::ApiError;
use crate::server::state::AppState;

/// The operation route (mounted by the call routes, which provide the call service).
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/communications/calls/{call_id}/operations/{operation_id}",
        get(read),
    )
}

/// `GET …/operations/{id}`.
async fn read(
    calls: Calls,
    Path((call_id, operation_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let op = calls
        .service
        .read(|registry| registry.operation(&calls.app.app_id, &call_id, &operation_id))?;
    let context = format!(
        "{}/v1.0/$metadata#communications/calls('{call_id}')/operations/$entity",
        calls.state.public_url
    );
    Ok(json_response(StatusCode::OK, None, Some(context), op))
}
