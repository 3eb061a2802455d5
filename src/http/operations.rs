//! `GET /communications/calls/{id}/operations/{opId}` (§3.6).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;

use super::call_context::Calls;
use super::error::ApiError;
use super::json::json_response;

/// `GET …/operations/{id}`.
pub async fn read(
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
