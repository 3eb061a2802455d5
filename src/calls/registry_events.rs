//! What happens to calls without an app request: media-plane events, deadlines, user
//! endpoints answering or declining, and shutdown.

use super::call::DeadlineKind;
use super::conversation::{ConversationKind, Presence};
use super::ids::{CallId, ConversationId, ParticipantId};
use super::media::MediaEvent;
use super::notify;
use super::registry::{CallRegistry, Departure, Effects};
use super::result_codes::ResultCode;
use super::state::CallEvent;
use crate::graph::odata::type_name;
use crate::graph::{Tone, ToneInfo};

impl CallRegistry {
    /// Applies an event from the media plane. Events about calls that ended are ignored.
    pub fn on_media_event(&mut self, event: MediaEvent, fx: &mut Effects) {
        match event {
            MediaEvent::LegReady { call } => {
                let _ = self.apply(&call, CallEvent::Connected, None, fx);
            }
            MediaEvent::LegFailed { call, detail } => {
                let _ = self.apply(
                    &call,
                    CallEvent::Failed(ResultCode::MediaConnectivityFailure),
                    Some(detail),
                    fx,
                );
            }
            MediaEvent::ToneDetected {
                call,
                tone,
                participant,
            } => {
                let Some(leg) = self.calls.get_mut(&call) else {
                    return;
                };
                if !leg.tones_subscribed {
                    return;
                }
                leg.tone_sequence += 1;
                let info = ToneInfo {
                    odata_type: Some(type_name("toneInfo")),
                    sequence_id: leg.tone_sequence,
                    tone: Tone::from_digit(tone),
                    participant_id: participant.map(|p| p.to_string()),
                };
                fx.notifications.extend(notify::tone(leg, info));
            }
            MediaEvent::SpeakingChanged {
                conversation,
                participant,
                speaking,
            } => self.speaking_changed(&conversation, &participant, speaking, fx),
            MediaEvent::OperationFinished {
                call,
                operation,
                outcome,
            } => {
                let Some(leg) = self.calls.get_mut(&call) else {
                    return;
                };
                let Some(op) = leg.operation_mut(operation.as_str()) else {
                    return;
                };
                if !op.is_pending() {
                    return;
                }
                op.finish(outcome.result, outcome.detail, outcome.recording);
                let op = op.clone();
                fx.notifications
                    .extend(notify::operation_finished(leg, &op));
            }
        }
    }

    /// A participant started or stopped speaking: group calls and meetings get the roster with
    /// the change (`isSpeaking`); a P2P call only keeps it for its next roster, since its bot
    /// knows who speaks (the other party) and a roster per utterance would be noise.
    fn speaking_changed(
        &mut self,
        conversation_id: &ConversationId,
        participant: &ParticipantId,
        speaking: bool,
        fx: &mut Effects,
    ) {
        let Some(conversation) = self.conversations.get_mut(conversation_id) else {
            return;
        };
        let group = conversation.kind != ConversationKind::PeerToPeer;
        let joined = conversation
            .member(participant)
            .is_some_and(|m| m.presence == Presence::Joined && m.speaking != Some(speaking));
        if !joined {
            return;
        }
        if let Some(member) = conversation.member_mut(participant) {
            member.speaking = Some(speaking);
        }
        if group {
            self.roster_changed(conversation_id, fx);
        }
    }

    /// A deadline of a call fell due.
    pub(crate) fn deadline(&mut self, call_id: &CallId, kind: DeadlineKind, fx: &mut Effects) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        match kind {
            DeadlineKind::Answer => {
                let seconds = self.timers.answer_window.as_secs_f32();
                let detail = format!("not answered, rejected or redirected within {seconds} s");
                let departure = Departure::NotReached(
                    ResultCode::NoAnswer,
                    Some(format!("the callee did not answer within {seconds} s")),
                );
                let _ = self.apply_leaving(
                    call_id,
                    CallEvent::AnswerTimeout,
                    Some(detail),
                    departure,
                    fx,
                );
            }
            DeadlineKind::KeepAlive => {
                let minutes = self.timers.keep_alive_window.as_secs_f32() / 60.0;
                let detail = format!("no keepAlive for {minutes} minutes");
                let _ = self.apply(call_id, CallEvent::KeepAliveTimeout, Some(detail), fx);
            }
            DeadlineKind::Ring => {
                let still_ringing = self
                    .conversations
                    .get(&call.conversation)
                    .is_some_and(|c| c.ringing().next().is_some());
                if still_ringing {
                    let detail =
                        Some("no redirect target answered before the redirect timeout".to_owned());
                    self.end_leg(call_id, ResultCode::NoAnswer, detail, Departure::Left, fx);
                }
            }
            DeadlineKind::Transfer => {
                let (conversation, target) =
                    (call.conversation.clone(), call.pending_transfer.clone());
                if let Some(target) = target {
                    let seconds = self.timers.transfer_timeout.as_secs_f32();
                    let failure = Departure::NotReached(
                        ResultCode::NoAnswer,
                        Some(format!(
                            "the transfer target did not answer within {seconds} s"
                        )),
                    );
                    let detail = Some("the transfer timed out".to_owned());
                    self.end_member(
                        &conversation,
                        &target,
                        ResultCode::EndedByPeer,
                        detail,
                        failure,
                        fx,
                    );
                }
            }
        }
    }

    /// A rung user answered on an endpoint: it joins the conversation.
    pub fn user_answered(
        &mut self,
        conversation: &ConversationId,
        participant: &ParticipantId,
        fx: &mut Effects,
    ) {
        self.member_joined(conversation, participant, fx);
    }

    /// A rung user declined on an endpoint (or every endpoint stopped ringing).
    pub fn user_declined(
        &mut self,
        conversation: &ConversationId,
        participant: &ParticipantId,
        fx: &mut Effects,
    ) {
        let departure = Departure::NotReached(
            ResultCode::CalleeDeclined,
            Some("the user declined the call".to_owned()),
        );
        self.member_left(conversation, participant, departure, fx);
    }

    /// A user in a conversation hung up.
    pub fn user_hung_up(
        &mut self,
        conversation: &ConversationId,
        participant: &ParticipantId,
        fx: &mut Effects,
    ) {
        self.member_left(conversation, participant, Departure::Left, fx);
    }

    /// Ends every call (server shutdown), each with 200/5003.
    pub fn end_all(&mut self, fx: &mut Effects) {
        let mut calls: Vec<_> = self.calls.drain().map(|(_, call)| call).collect();
        calls.sort_by(|a, b| a.id.cmp(&b.id));
        for mut call in calls {
            call.state = super::state::CallState::Terminated;
            call.result_info = Some(ResultCode::ServerShutdown.result_info(None));
            fx.notifications.extend(notify::ended(&call));
            if call.media_opened {
                fx.media.push(super::media::MediaCommand::CloseLeg {
                    call: call.id.clone(),
                });
            }
        }
        self.conversations.clear();
        self.meetings.clear();
    }
}
