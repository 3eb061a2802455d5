//! `/communications/calls/{id}/participants` (§2.11–§2.13): the roster, removing and muting a
//! participant, and inviting new ones.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;

use super::call_context::Calls;
use super::calls::operation_response;
use super::error::ApiError;
use super::error::invalid;
use super::json::GraphJson;
use super::json::json_response;
use crate::calls::validate;
use crate::graph::requests::{ClientContextBody, InviteBody};

/// `GET …/participants`.
pub async fn list(calls: Calls, Path(call_id): Path<String>) -> Result<Response, ApiError> {
    let roster = calls
        .service
        .read(|registry| registry.participants(&calls.app.app_id, &call_id))?;
    let context = format!(
        "{}/v1.0/$metadata#communications/calls('{call_id}')/participants",
        calls.state.public_url
    );
    Ok(json_response(
        StatusCode::OK,
        None,
        Some(context),
        serde_json::json!({ "value": roster }),
    ))
}

/// `GET …/participants/{id}`.
pub async fn read(
    calls: Calls,
    Path((call_id, participant_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let participant = calls
        .service
        .read(|registry| registry.participant(&calls.app.app_id, &call_id, &participant_id))?;
    let context = format!(
        "{}/v1.0/$metadata#communications/calls('{call_id}')/participants/$entity",
        calls.state.public_url
    );
    Ok(json_response(
        StatusCode::OK,
        None,
        Some(context),
        participant,
    ))
}

/// `DELETE …/participants/{id}`: 204.
pub async fn remove(
    calls: Calls,
    Path((call_id, participant_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    calls.service.with(|registry, _, fx| {
        registry.remove_participant(&calls.app.app_id, &call_id, &participant_id, fx)
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/participants/{id}/mute`: a server mute; 200 with a completed operation.
pub async fn mute(
    calls: Calls,
    Path((call_id, participant_id)): Path<(String, String)>,
    GraphJson(body): GraphJson<ClientContextBody>,
) -> Result<Response, ApiError> {
    let op = calls.service.with(|registry, _, fx| {
        registry.mute_participant(
            &calls.app.app_id,
            &call_id,
            &participant_id,
            body.client_context,
            fx,
        )
    })?;
    Ok(operation_response(&calls, &call_id, op))
}

/// `POST …/participants/invite`: 200 with a running operation.
pub async fn invite(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<InviteBody>,
) -> Result<Response, ApiError> {
    let request = validate::invite(body).map_err(invalid)?;
    let reach = calls.reach_all("participants", &request.invitees).await?;
    let op = calls.service.with(|registry, now, fx| {
        registry.invite(&calls.app.app_id, &call_id, request, reach, now, fx)
    })?;
    Ok(operation_response(&calls, &call_id, op))
}
