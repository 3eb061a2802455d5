//! The app's media requests on its calls: playPrompt, recordResponse, subscribeToTone,
//! sendDtmfTones, cancelMediaProcessing, mute/unmute of the bot itself, and reading an operation
//! back. Each checks that the call's media can take it ([`CallRegistry::media_leg`]), sends the
//! media plane its command and stores the operation; the media plane's report of how a running
//! operation finished arrives in `media_events`.

use super::{CallError, CallRegistry, Effects, not_found};
use crate::calls::ids::CallId;
use crate::calls::media::MediaCommand;
use crate::calls::operations::Operation;
use crate::calls::state::IllegalRequest;
use crate::calls::validate;
use crate::graph::{CommsOperation, OperationKind, OperationStatus};

impl CallRegistry {
    /// Checks a media or participant action and returns the leg's id. `service_only` refuses
    /// calls whose media the app hosts itself.
    pub(super) fn media_leg(
        &self,
        app_id: &str,
        call_id: &str,
        request: &'static str,
        service_only: bool,
    ) -> Result<CallId, CallError> {
        let call = self.call(app_id, call_id)?;
        if !call.state.accepts_media_requests() {
            return Err(IllegalRequest {
                request,
                state: call.state,
            }
            .into());
        }
        if service_only && !call.is_service_hosted() {
            return Err(CallError::NotServiceHosted { request });
        }
        if !call.media_opened {
            return Err(CallError::MediaNotConnected {
                request,
                state: call.state,
            });
        }
        Ok(call.id.clone())
    }

    /// Stores a new operation on a leg and returns its view.
    pub(super) fn start_operation(&mut self, leg: &CallId, operation: Operation) -> CommsOperation {
        let view = operation.view(leg);
        if let Some(call) = self.calls.get_mut(leg) {
            call.operations.push(operation);
        }
        view
    }

    /// `POST …/playPrompt`.
    pub fn play_prompt(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::PlayPrompt,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(app_id, call_id, "playPrompt", true)?;
        let op = Operation::new(
            OperationKind::PlayPrompt,
            OperationStatus::Running,
            request.client_context,
        );
        fx.media.push(MediaCommand::PlayPrompts {
            call: leg.clone(),
            operation: op.id.clone(),
            prompts: request.prompts,
        });
        Ok(self.start_operation(&leg, op))
    }

    /// `POST …/recordResponse`.
    pub fn record_response(
        &mut self,
        app_id: &str,
        call_id: &str,
        mut request: validate::RecordResponse,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(app_id, call_id, "recordResponse", true)?;
        let op = Operation::new(
            OperationKind::Record,
            OperationStatus::Running,
            request.client_context.take(),
        );
        fx.media.push(MediaCommand::Record {
            call: leg.clone(),
            operation: op.id.clone(),
            settings: request,
        });
        Ok(self.start_operation(&leg, op))
    }

    /// `POST …/subscribeToTone`: completed at once; key presses follow as notifications. Allowed
    /// on app-hosted calls too: the keys are detected by Switchboard either way.
    pub fn subscribe_to_tone(
        &mut self,
        app_id: &str,
        call_id: &str,
        client_context: Option<String>,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(app_id, call_id, "subscribeToTone", false)?;
        let client_context = validate::client_context(client_context)?;
        if let Some(call) = self.calls.get_mut(&leg).filter(|c| !c.tones_subscribed) {
            call.tones_subscribed = true;
            fx.media
                .push(MediaCommand::SubscribeTones { call: leg.clone() });
        }
        Ok(self.start_operation(
            &leg,
            Operation::completed(OperationKind::SubscribeToTone, client_context),
        ))
    }

    /// `POST …/sendDtmfTones`.
    pub fn send_dtmf_tones(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::SendDtmfTones,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(app_id, call_id, "sendDtmfTones", true)?;
        let op = Operation::new(
            OperationKind::SendDtmfTones,
            OperationStatus::Running,
            request.client_context,
        );
        fx.media.push(MediaCommand::SendDtmf {
            call: leg.clone(),
            operation: op.id.clone(),
            tones: request.tones,
            delay_between: request.delay_between_tones,
        });
        Ok(self.start_operation(&leg, op))
    }

    /// `POST …/cancelMediaProcessing`: completed at once; the cancelled operations report
    /// themselves as cancelled.
    pub fn cancel_media_processing(
        &mut self,
        app_id: &str,
        call_id: &str,
        client_context: Option<String>,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(app_id, call_id, "cancelMediaProcessing", true)?;
        let client_context = validate::client_context(client_context)?;
        fx.media
            .push(MediaCommand::CancelMediaProcessing { call: leg.clone() });
        Ok(self.start_operation(
            &leg,
            Operation::completed(OperationKind::CancelMediaProcessing, client_context),
        ))
    }

    /// `POST …/mute` and `…/unmute`: the bot mutes or unmutes itself.
    pub fn set_self_muted(
        &mut self,
        app_id: &str,
        call_id: &str,
        muted: bool,
        client_context: Option<String>,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(
            app_id,
            call_id,
            if muted { "mute" } else { "unmute" },
            false,
        )?;
        let client_context = validate::client_context(client_context)?;
        let call = &self.calls[&leg];
        let (conversation, participant) = (call.conversation.clone(), call.participant.clone());
        if let Some(member) = self
            .conversations
            .get_mut(&conversation)
            .and_then(|c| c.member_mut(&participant))
        {
            member.self_muted = muted;
        }
        fx.media.push(MediaCommand::SetSelfMuted {
            call: leg.clone(),
            muted,
        });
        self.roster_changed(&conversation, fx);
        let kind = if muted {
            OperationKind::MuteParticipant
        } else {
            OperationKind::UnmuteParticipant
        };
        Ok(self.start_operation(&leg, Operation::completed(kind, client_context)))
    }

    /// `GET …/operations/{id}`.
    pub fn operation(
        &self,
        app_id: &str,
        call_id: &str,
        operation_id: &str,
    ) -> Result<CommsOperation, CallError> {
        let call = self.call(app_id, call_id)?;
        call.operations
            .iter()
            .find(|op| op.id.as_str() == operation_id)
            .map(|op| op.view(&call.id))
            .ok_or_else(|| not_found("operation", operation_id))
    }
}

#[cfg(test)]
#[path = "media_operations_tests.rs"]
mod tests;
