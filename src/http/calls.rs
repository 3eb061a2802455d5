//! `/communications/calls` and the actions on a call (§2.1–§2.10, §2.16 and the media actions):
//! each handler validates the body, resolves targets, applies the change to the call registry
//! and answers with the documented status (201 + `Location`, 202, 204, or 200 + `Location` +
//! operation).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;

use super::call_context::Calls;
use super::callbacks::check_optional;
use super::error::ApiError;
use super::error::invalid;
use super::json::GraphJson;
use super::json::json_response;
use crate::calls::validate::{self, OutgoingKind};
use crate::graph::CommsOperation;
use crate::graph::requests::{
    AnswerBody, ClientContextBody, CreateCallBody, PlayPromptBody, RecordResponseBody,
    RedirectBody, RejectBody, SendDtmfTonesBody, TransferBody,
};
use crate::meetings;

fn entity_context(calls: &Calls) -> String {
    format!(
        "{}/v1.0/$metadata#communications/calls/$entity",
        calls.state.public_url
    )
}

/// `POST /communications/calls`.
pub async fn create(
    calls: Calls,
    GraphJson(body): GraphJson<CreateCallBody>,
) -> Result<Response, ApiError> {
    let request = validate::create_call(body).map_err(invalid)?;
    check_optional(&calls.state, "callbackUri", request.callback_uri.as_deref()).await?;
    calls
        .check_media_socket(request.media_socket.as_ref())
        .await?;
    let owner = calls.owner().await?;
    let (reach, meeting) = match &request.kind {
        OutgoingKind::PeerToPeer(target) => (vec![calls.reach("targets[0]", target).await?], None),
        OutgoingKind::Group(targets) => (calls.reach_all("targets", targets).await?, None),
        OutgoingKind::JoinMeeting {
            meeting_info,
            chat_info,
        } => {
            let reference = meetings::meeting_ref(meeting_info.as_ref(), chat_info.as_ref())
                .map_err(invalid)?;
            (
                Vec::new(),
                Some(calls.meeting_for_join(reference).await?.id),
            )
        }
    };
    let slot = calls.state.admission.try_admit(&calls.app.app_id)?;
    let id = calls
        .service
        .with(|registry, now, fx| registry.create_call(owner, request, reach, meeting, now, fx))?;
    calls.service.hold_until_ended(&id, Box::new(slot));
    // The call may already have ended (an unreachable target); answer with what it was.
    let view = calls.service.read(|registry| {
        registry
            .call(&calls.app.app_id, id.as_str())
            .map(|c| c.view())
            .ok()
    });
    let view = view.unwrap_or_else(|| crate::graph::Call {
        id: Some(id.to_string()),
        state: Some(crate::graph::CallState::Terminated),
        ..crate::graph::Call::default()
    });
    let location = calls.url(&format!("/communications/calls/{id}"));
    Ok(json_response(
        StatusCode::CREATED,
        Some(location),
        Some(entity_context(&calls)),
        view,
    ))
}

/// `GET /communications/calls`: the app's live calls.
pub async fn list(calls: Calls) -> Response {
    let views: Vec<_> = calls.service.read(|registry| {
        registry
            .calls_of(&calls.app.app_id)
            .iter()
            .map(|c| c.view())
            .collect()
    });
    let context = format!(
        "{}/v1.0/$metadata#communications/calls",
        calls.state.public_url
    );
    json_response(
        StatusCode::OK,
        None,
        Some(context),
        serde_json::json!({ "value": views }),
    )
}

/// `GET /communications/calls/{id}`.
pub async fn read(calls: Calls, Path(call_id): Path<String>) -> Result<Response, ApiError> {
    let view = calls
        .service
        .read(|registry| registry.call(&calls.app.app_id, &call_id).map(|c| c.view()))?;
    Ok(json_response(
        StatusCode::OK,
        None,
        Some(entity_context(&calls)),
        view,
    ))
}

/// `DELETE /communications/calls/{id}`: 204, then terminating and terminated.
pub async fn hang_up(calls: Calls, Path(call_id): Path<String>) -> Result<StatusCode, ApiError> {
    calls
        .service
        .with(|registry, _, fx| registry.hang_up(&calls.app.app_id, &call_id, fx))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/answer`: 202; the answering app takes an admission slot.
pub async fn answer(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<AnswerBody>,
) -> Result<StatusCode, ApiError> {
    let request = validate::answer(body).map_err(invalid)?;
    check_optional(&calls.state, "callbackUri", request.callback_uri.as_deref()).await?;
    calls
        .check_media_socket(request.media_socket.as_ref())
        .await?;
    // Refuse answering another app's or an ended call before taking a slot.
    calls
        .service
        .read(|registry| registry.call(&calls.app.app_id, &call_id).map(|_| ()))?;
    let slot = calls.state.admission.try_admit(&calls.app.app_id)?;
    calls
        .service
        .with(|registry, _, fx| registry.answer(&calls.app.app_id, &call_id, request, fx))?;
    calls
        .service
        .hold_until_ended(&call_id.as_str().into(), Box::new(slot));
    Ok(StatusCode::ACCEPTED)
}

/// `POST …/reject`: 202.
pub async fn reject(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<RejectBody>,
) -> Result<StatusCode, ApiError> {
    let request = validate::reject(body).map_err(invalid)?;
    check_optional(&calls.state, "callbackUri", request.callback_uri.as_deref()).await?;
    calls
        .service
        .with(|registry, _, fx| registry.reject(&calls.app.app_id, &call_id, request, fx))?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST …/redirect`: 202.
pub async fn redirect(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<RedirectBody>,
) -> Result<StatusCode, ApiError> {
    let request = validate::redirect(body).map_err(invalid)?;
    check_optional(&calls.state, "callbackUri", request.callback_uri.as_deref()).await?;
    let reach = calls.reach_all("targets", &request.targets).await?;
    calls.service.with(|registry, now, fx| {
        registry.redirect(&calls.app.app_id, &call_id, request, reach, now, fx)
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST …/transfer`: 202; the outcome arrives as notifications.
pub async fn transfer(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<TransferBody>,
) -> Result<StatusCode, ApiError> {
    let request = validate::transfer(body).map_err(invalid)?;
    let reach = calls.reach("transferTarget", &request.target).await?;
    calls.service.with(|registry, now, fx| {
        registry.transfer(&calls.app.app_id, &call_id, request, reach, now, fx)
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST …/keepAlive`: 200 with no body; 404 once the call has ended.
pub async fn keep_alive(calls: Calls, Path(call_id): Path<String>) -> Result<StatusCode, ApiError> {
    calls
        .service
        .with(|registry, now, _| registry.keep_alive(&calls.app.app_id, &call_id, now))?;
    Ok(StatusCode::OK)
}

/// 200 with the operation and its `Location`.
pub(crate) fn operation_response(
    calls: &Calls,
    call_id: &str,
    operation: CommsOperation,
) -> Response {
    let location = operation
        .id
        .as_ref()
        .map(|id| calls.url(&format!("/communications/calls/{call_id}/operations/{id}")));
    json_response(StatusCode::OK, location, None, operation)
}

/// `POST …/playPrompt`.
pub async fn play_prompt(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<PlayPromptBody>,
) -> Result<Response, ApiError> {
    let request = validate::play_prompt(body).map_err(invalid)?;
    let op = calls
        .service
        .with(|registry, _, fx| registry.play_prompt(&calls.app.app_id, &call_id, request, fx))?;
    Ok(operation_response(&calls, &call_id, op))
}

/// `POST …/recordResponse`.
pub async fn record_response(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<RecordResponseBody>,
) -> Result<Response, ApiError> {
    let request = validate::record_response(body).map_err(invalid)?;
    let op = calls.service.with(|registry, _, fx| {
        registry.record_response(&calls.app.app_id, &call_id, request, fx)
    })?;
    Ok(operation_response(&calls, &call_id, op))
}

/// `POST …/subscribeToTone`.
pub async fn subscribe_to_tone(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<ClientContextBody>,
) -> Result<Response, ApiError> {
    let op = calls.service.with(|registry, _, fx| {
        registry.subscribe_to_tone(&calls.app.app_id, &call_id, body.client_context, fx)
    })?;
    Ok(operation_response(&calls, &call_id, op))
}

/// `POST …/sendDtmfTones`.
pub async fn send_dtmf_tones(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<SendDtmfTonesBody>,
) -> Result<Response, ApiError> {
    let request = validate::send_dtmf_tones(body).map_err(invalid)?;
    let op = calls.service.with(|registry, _, fx| {
        registry.send_dtmf_tones(&calls.app.app_id, &call_id, request, fx)
    })?;
    Ok(operation_response(&calls, &call_id, op))
}

/// `POST …/cancelMediaProcessing`.
pub async fn cancel_media_processing(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<ClientContextBody>,
) -> Result<Response, ApiError> {
    let op = calls.service.with(|registry, _, fx| {
        registry.cancel_media_processing(&calls.app.app_id, &call_id, body.client_context, fx)
    })?;
    Ok(operation_response(&calls, &call_id, op))
}

/// `POST …/mute`: the bot mutes itself.
pub async fn mute(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<ClientContextBody>,
) -> Result<Response, ApiError> {
    let op = calls.service.with(|registry, _, fx| {
        registry.set_self_muted(&calls.app.app_id, &call_id, true, body.client_context, fx)
    })?;
    Ok(operation_response(&calls, &call_id, op))
}

/// `POST …/unmute`: the bot unmutes itself.
pub async fn unmute(
    calls: Calls,
    Path(call_id): Path<String>,
    GraphJson(body): GraphJson<ClientContextBody>,
) -> Result<Response, ApiError> {
    let op = calls.service.with(|registry, _, fx| {
        registry.set_self_muted(&calls.app.app_id, &call_id, false, body.client_context, fx)
    })?;
    Ok(operation_response(&calls, &call_id, op))
}
