//! The app's participant requests: the roster (list and get), removing a participant, a server
//! mute of another participant, and inviting participants, whose invite operation finishes once
//! every invitee joined or was not reached.

use std::time::Instant;

use super::{CallError, CallRegistry, Departure, Effects, UserChange, UserNotice, not_found};
use crate::calls::conversation::ConversationKind;
use crate::calls::endpoints::Reach;
use crate::calls::ids::{CallId, OperationId, ParticipantId};
use crate::calls::media::MediaCommand;
use crate::calls::notify;
use crate::calls::operations::Operation;
use crate::calls::result_codes::ResultCode;
use crate::calls::validate;
use crate::graph::{CommsOperation, OperationKind, OperationStatus, Participant};

impl CallRegistry {
    /// `GET …/participants`: the roster.
    pub fn participants(&self, app_id: &str, call_id: &str) -> Result<Vec<Participant>, CallError> {
        let call = self.call(app_id, call_id)?;
        Ok(self
            .conversation_of(call)
            .map(|c| c.roster())
            .unwrap_or_default())
    }

    /// `GET …/participants/{id}`.
    pub fn participant(
        &self,
        app_id: &str,
        call_id: &str,
        participant_id: &str,
    ) -> Result<Participant, CallError> {
        self.participants(app_id, call_id)?
            .into_iter()
            .find(|p| p.id.as_deref() == Some(participant_id))
            .ok_or_else(|| not_found("participant", participant_id))
    }

    /// `DELETE …/participants/{id}`: removes a participant (the bot itself means hanging up).
    pub fn remove_participant(
        &mut self,
        app_id: &str,
        call_id: &str,
        participant_id: &str,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let call = self.call(app_id, call_id)?;
        if call.participant.as_str() == participant_id {
            return self.hang_up(app_id, call_id, fx);
        }
        let conversation = call.conversation.clone();
        let participant = ParticipantId::from(participant_id);
        if self
            .conversations
            .get(&conversation)
            .and_then(|c| c.member(&participant))
            .is_none()
        {
            return Err(not_found("participant", participant_id));
        }
        let detail = Some(format!("removed by application '{app_id}'"));
        self.end_member(
            &conversation,
            &participant,
            ResultCode::RemovedByParticipant,
            detail,
            Departure::Left,
            fx,
        );
        Ok(())
    }

    /// `POST …/participants/{id}/mute`: a server mute of another participant.
    pub fn mute_participant(
        &mut self,
        app_id: &str,
        call_id: &str,
        participant_id: &str,
        client_context: Option<String>,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(app_id, call_id, "mute", false)?;
        let client_context = validate::client_context(client_context)?;
        let conversation = self.calls[&leg].conversation.clone();
        let participant = ParticipantId::from(participant_id);
        let member = self
            .conversations
            .get_mut(&conversation)
            .and_then(|c| c.member_mut(&participant))
            .ok_or_else(|| not_found("participant", participant_id))?;
        member.server_muted = true;
        if member.leg.is_none() {
            // A person on a softphone: the page shows it, and may unmute itself.
            fx.users.push(UserNotice {
                conversation: conversation.clone(),
                participant: participant.clone(),
                change: UserChange::ServerMuted,
            });
        }
        fx.media.push(MediaCommand::SetServerMuted {
            conversation: conversation.clone(),
            participant,
            muted: true,
        });
        self.roster_changed(&conversation, fx);
        Ok(self.start_operation(
            &leg,
            Operation::completed(OperationKind::MuteParticipant, client_context),
        ))
    }

    /// `POST …/participants/invite`. `reach` holds how each invitee can be reached, in order.
    pub fn invite(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Invite,
        reach: Vec<Reach>,
        now: Instant,
        fx: &mut Effects,
    ) -> Result<CommsOperation, CallError> {
        let leg = self.media_leg(app_id, call_id, "invite", false)?;
        let call = &self.calls[&leg];
        let (conversation, source) = (call.conversation.clone(), call.source.clone());
        if let Some(c) = self.conversations.get_mut(&conversation) {
            // Inviting into a P2P call escalates it to a group call, as in Graph.
            if c.kind == ConversationKind::PeerToPeer {
                c.kind = ConversationKind::Group;
                c.anyone_joined = true;
            }
        }
        let mut op = Operation::new(
            OperationKind::InviteParticipants,
            OperationStatus::Running,
            request.client_context,
        );
        op.invitees = Some(request.invitees.iter().map(|t| t.info.clone()).collect());
        for (target, reach) in request.invitees.into_iter().zip(reach) {
            match self.ring(&conversation, &source, target, reach, None, now, fx) {
                Ok(participant) => {
                    if let Some(member) = self
                        .conversations
                        .get_mut(&conversation)
                        .and_then(|c| c.member_mut(&participant))
                    {
                        member.invited_by = Some((leg.clone(), op.id.clone()));
                    }
                    op.ringing.push(participant);
                }
                Err(failure) => op.last_failure = Some(failure),
            }
        }
        if op.ringing.is_empty() {
            let (code, detail) = op
                .last_failure
                .clone()
                .unwrap_or((ResultCode::NoCalleeEndpoints, None));
            op.finish(code, detail, None);
        }
        Ok(self.start_operation(&leg, op))
    }

    /// An invitee joined (`failure` is `None`) or was not reached: the invite operation
    /// finishes once no invitee is ringing, completed if anyone joined.
    pub(super) fn invitee_settled(
        &mut self,
        leg: &CallId,
        operation: &OperationId,
        participant: &ParticipantId,
        failure: Option<(ResultCode, Option<String>)>,
        fx: &mut Effects,
    ) {
        let Some(call) = self.calls.get_mut(leg) else {
            return;
        };
        let Some(op) = call.operation_mut(operation.as_str()) else {
            return;
        };
        op.ringing.retain(|p| p != participant);
        match failure {
            None => op.joined += 1,
            Some(failure) => op.last_failure = Some(failure),
        }
        if op.ringing.is_empty() && op.is_pending() {
            let (code, detail) = if op.joined > 0 {
                (ResultCode::OperationCompleted, None)
            } else {
                op.last_failure
                    .clone()
                    .unwrap_or((ResultCode::NoCalleeEndpoints, None))
            };
            op.finish(code, detail, None);
            let op = op.clone();
            fx.notifications
                .extend(notify::operation_finished(call, &op));
        }
    }
}

#[cfg(test)]
#[path = "participants_tests.rs"]
mod tests;
