//! The app's requests on its calls: answer, reject, redirect, transfer, hang up, keepAlive, and
//! the media and participant actions. Each checks the call's state first (refusing with the
//! documented error), then changes the registry and returns the effects.

use std::time::Instant;

use super::endpoints::Reach;
use super::ids::CallId;
use super::media::MediaCommand;
use super::operations::Operation;
use super::registry::{CallError, CallRegistry, Departure, Effects};
use super::result_codes::ResultCode;
use super::state::{CallEvent, CallState, IllegalRequest};
use super::validate::{self, InvalidField};
use crate::graph::{CommsOperation, OperationKind, OperationStatus};

impl CallRegistry {
    /// Checks that `event` is allowed now, without changing anything.
    fn check(&self, app_id: &str, call_id: &str, event: CallEvent) -> Result<CallId, CallError> {
        let call = self.call(app_id, call_id)?;
        call.state.apply(event)?;
        Ok(call.id.clone())
    }

    /// `POST …/answer`.
    pub fn answer(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Answer,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Answer)?;
        let call = self.call_mut(app_id, call_id)?;
        if request.callback_uri.is_some() {
            call.callback_uri = request.callback_uri;
        }
        call.media_config = Some(request.media_config);
        call.modalities = request.modalities;
        call.call_options = request.call_options;
        call.deadlines.answer = None;
        let (conversation, participant) = (call.conversation.clone(), call.participant.clone());
        self.apply(&id, CallEvent::Answer, None, fx)?;
        self.open_media(&id, fx);
        self.member_joined(&conversation, &participant, fx);
        Ok(())
    }

    /// `POST …/reject`.
    pub fn reject(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Reject,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Reject)?;
        if request.callback_uri.is_some() {
            self.call_mut(app_id, call_id)?.callback_uri = request.callback_uri;
        }
        let reason = request.reason.as_str();
        let departure = Departure::NotReached(
            ResultCode::CalleeDeclined,
            Some(format!("the callee rejected the call, reason {reason}")),
        );
        self.apply_leaving(
            &id,
            CallEvent::Reject,
            Some(format!("rejected, reason {reason}")),
            departure,
            fx,
        )?;
        Ok(())
    }

    /// `POST …/redirect`. `reach` holds how each target can be reached, in order.
    pub fn redirect(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Redirect,
        reach: Vec<Reach>,
        now: Instant,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Redirect)?;
        let call = self.call_mut(app_id, call_id)?;
        if request.callback_uri.is_some() {
            call.callback_uri = request.callback_uri;
        }
        call.deadlines.answer = None;
        let (conversation, source) = (call.conversation.clone(), call.source.clone());
        self.apply(&id, CallEvent::Redirect, None, fx)?;
        let mut last_failure = None;
        let mut ringing = 0;
        for (target, reach) in request.targets.into_iter().zip(reach) {
            match self.ring(
                &conversation,
                &source,
                target,
                reach,
                Some(now + request.timeout),
                now,
                fx,
            ) {
                Ok(_) => ringing += 1,
                Err(failure) => last_failure = Some(failure),
            }
        }
        if ringing > 0 {
            let callers: Vec<_> = self
                .conversations
                .get(&conversation)
                .map(|c| c.joined_legs())
                .unwrap_or_default();
            for caller in callers {
                if let Some(call) = self.calls.get_mut(&caller) {
                    call.deadlines.ring = Some(now + request.timeout);
                }
            }
        }
        let departure = match last_failure {
            Some((code, detail)) if ringing == 0 => Departure::NotReached(code, detail),
            None if ringing == 0 => Departure::NotReached(ResultCode::NoCalleeEndpoints, None),
            _ => Departure::Redirected,
        };
        self.apply_leaving(
            &id,
            CallEvent::RedirectCompleted,
            Some("redirected".into()),
            departure,
            fx,
        )?;
        Ok(())
    }

    /// `POST …/transfer`. `reach` says how the transfer target can be reached.
    pub fn transfer(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Transfer,
        reach: Reach,
        now: Instant,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Transfer)?;
        let call = self.call(app_id, call_id)?;
        let conversation = self
            .conversations
            .get(&call.conversation)
            .ok_or_else(|| not_found("call", call_id))?;
        let others: Vec<_> = conversation
            .joined()
            .filter(|m| m.id != call.participant)
            .collect();
        let transferee = match &request.transferee {
            None if others.len() == 1 => others[0],
            None => {
                return Err(InvalidField::missing(
                    "transferee",
                    format!(
                        "the participant to transfer: this call has {} other participants",
                        others.len()
                    ),
                )
                .into());
            }
            Some(info) => others
                .iter()
                .find(|m| {
                    info.participant_id.as_deref() == Some(m.id.as_str())
                        || (info.identity.is_some()
                            && info.identity.as_ref().and_then(|i| i.party())
                                == m.info.identity.as_ref().and_then(|i| i.party()))
                })
                .copied()
                .ok_or_else(|| {
                    InvalidField::new(
                        "transferee",
                        serde_json::to_string(info).unwrap_or_default(),
                        "a participantId or identity of another participant in this call",
                    )
                })?,
        };
        let source = transferee.info.clone();
        let conversation_id = call.conversation.clone();
        self.apply(&id, CallEvent::Transfer, None, fx)?;
        match self.ring(
            &conversation_id,
            &source,
            request.target,
            reach,
            None,
            now,
            fx,
        ) {
            Ok(target) => {
                if let Some(member) = self
                    .conversations
                    .get_mut(&conversation_id)
                    .and_then(|c| c.member_mut(&target))
                {
                    member.transfer_of = Some(id.clone());
                }
                if let Some(call) = self.calls.get_mut(&id) {
                    call.pending_transfer = Some(target);
                    call.deadlines.transfer = Some(now + self.timers.transfer_timeout);
                }
            }
            Err(failure) => self.transfer_failed(&id, Some(failure), fx),
        }
        Ok(())
    }

    /// The transfer target joined: report transferAccepted, then end this leg with 200/7015.
    pub(crate) fn transfer_completed(&mut self, leg: &CallId, fx: &mut Effects) {
        if let Some(call) = self.calls.get_mut(leg) {
            call.pending_transfer = None;
            call.deadlines.transfer = None;
        }
        // Both events are legal in Transferring; a refusal means the leg already moved on.
        let _ = self.apply(leg, CallEvent::TransferAccepted, None, fx);
        let _ = self.apply(leg, CallEvent::TransferCompleted, None, fx);
    }

    /// The transfer failed: back to established with 500/7000 and the reason.
    pub(crate) fn transfer_failed(
        &mut self,
        leg: &CallId,
        failure: Option<(ResultCode, Option<String>)>,
        fx: &mut Effects,
    ) {
        let Some(call) = self.calls.get_mut(leg) else {
            return;
        };
        if !matches!(
            call.state,
            CallState::Transferring | CallState::TransferAccepted
        ) {
            return;
        }
        call.pending_transfer = None;
        call.deadlines.transfer = None;
        let detail = failure.map(|(code, detail)| {
            let (c, s, text) = code.parts();
            format!("{} ({c}/{s})", detail.unwrap_or_else(|| text.to_owned()))
        });
        let _ = self.apply(leg, CallEvent::TransferFailed, detail, fx);
    }

    /// `DELETE /communications/calls/{id}`: terminating, then terminated with 200/5001.
    pub fn hang_up(
        &mut self,
        app_id: &str,
        call_id: &str,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Hangup)?;
        // Hanging up a call still ringing here declines it, as far as the caller is concerned.
        let departure = match self.calls.get(&id).map(|c| c.state) {
            Some(CallState::Incoming) => Departure::NotReached(
                ResultCode::CalleeDeclined,
                Some("the callee hung up before answering".into()),
            ),
            _ => Departure::Left,
        };
        self.apply(&id, CallEvent::Hangup, None, fx)?;
        self.apply_leaving(&id, CallEvent::Released, None, departure, fx)?;
        Ok(())
    }

    /// `POST …/keepAlive`: the call stays alive for another keepAlive window.
    pub fn keep_alive(
        &mut self,
        app_id: &str,
        call_id: &str,
        now: Instant,
    ) -> Result<(), CallError> {
        let window = self.timers.keep_alive_window;
        self.call_mut(app_id, call_id)?.deadlines.keep_alive = now + window;
        Ok(())
    }

    /// Checks a media or participant action and returns the leg's id.
    pub(crate) fn media_leg(
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
    pub(crate) fn start_operation(&mut self, leg: &CallId, operation: Operation) -> CommsOperation {
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

    /// `POST …/subscribeToTone`: completed at once; key presses follow as notifications.
    pub fn subscribe_to_tone(
        &mut self,
        app_id: &str,
        call_id: &str,
        client_context: Option<String>,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(app_id, call_id, "subscribeToTone", true)?;
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

pub(crate) fn not_found(what: &'static str, id: &str) -> CallError {
    CallError::NotFound {
        what,
        id: id.to_owned(),
    }
}
