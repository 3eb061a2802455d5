//! What the media plane reports about calls, without any app request: a leg's media is up or
//! failed, a key was pressed, a participant started or stopped speaking, a running operation
//! (prompt, recording, DTMF) finished. Reports about calls that already ended are ignored.

use super::{CallRegistry, Effects};
use crate::calls::conversation::{ConversationKind, Presence};
use crate::calls::ids::{ConversationId, ParticipantId};
use crate::calls::media::MediaEvent;
use crate::calls::notify;
use crate::calls::result_codes::ResultCode;
use crate::calls::state::CallEvent;
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
}

#[cfg(test)]
#[path = "media_events_tests.rs"]
mod tests;
