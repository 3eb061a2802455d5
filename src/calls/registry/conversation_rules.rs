//! The conversation rules: what happens to the other members when one joins or leaves. A P2P
//! call ends for the other party; a group call sends rosters and ends when one is left; a meeting
//! lasts until its last person leaves (see `meetings`). A member joining also stops the others
//! rung in its place, and completes the transfer or invite that rang it.

use super::{CallRegistry, Departure, Effects, UserChange, UserNotice};
use crate::calls::conversation::{Conversation, ConversationKind, Presence};
use crate::calls::ids::{ConversationId, ParticipantId};
use crate::calls::media::MediaCommand;
use crate::calls::notify;
use crate::calls::result_codes::ResultCode;
use crate::calls::state::CallState;

impl CallRegistry {
    /// Ends a member's leg (if it has one) or drops it from the conversation (a ringing user).
    pub(super) fn end_member(
        &mut self,
        conversation_id: &ConversationId,
        participant: &ParticipantId,
        code: ResultCode,
        detail: Option<String>,
        departure: Departure,
        fx: &mut Effects,
    ) {
        let leg = self
            .conversations
            .get(conversation_id)
            .and_then(|c| c.member(participant))
            .and_then(|m| m.leg.clone());
        match leg {
            Some(leg) => self.end_leg(&leg, code, detail, departure, fx),
            None => {
                // A user: its softphone hangs up (or stops ringing) when told.
                if self.has_member(conversation_id, participant) {
                    fx.users.push(UserNotice {
                        conversation: conversation_id.clone(),
                        participant: participant.clone(),
                        change: UserChange::Ended {
                            code,
                            detail: detail.clone(),
                        },
                    });
                }
                self.member_left(conversation_id, participant, departure, fx)
            }
        }
    }

    /// Removes a member and applies the conversation's rules to the rest.
    pub(super) fn member_left(
        &mut self,
        conversation_id: &ConversationId,
        participant: &ParticipantId,
        departure: Departure,
        fx: &mut Effects,
    ) {
        let Some(conversation) = self.conversations.get_mut(conversation_id) else {
            return;
        };
        let Some(member) = conversation.remove(participant) else {
            return;
        };
        let failure = match &departure {
            Departure::NotReached(code, detail) => Some((*code, detail.clone())),
            _ => None,
        };
        if let (Some(transferring), Presence::Ringing) = (&member.transfer_of, member.presence) {
            self.transfer_failed(transferring, failure.clone(), fx);
        }
        if let (Some((leg, operation)), Presence::Ringing) = (&member.invited_by, member.presence) {
            self.invitee_settled(leg, operation, &member.id, failure.clone(), fx);
        }
        if member.presence == Presence::Joined {
            self.stream_members_changed(conversation_id, fx);
        }
        let Some(conversation) = self.conversations.get(conversation_id) else {
            return;
        };
        if conversation.members.is_empty() {
            self.forget_conversation(conversation_id);
            return;
        }
        match conversation.kind.clone() {
            ConversationKind::PeerToPeer => match departure {
                Departure::Left if member.presence == Presence::Joined => {
                    let detail = Some("the other party hung up".to_owned());
                    for other in conversation
                        .members
                        .iter()
                        .map(|m| m.id.clone())
                        .collect::<Vec<_>>()
                    {
                        self.end_member(
                            conversation_id,
                            &other,
                            ResultCode::EndedByPeer,
                            detail.clone(),
                            Departure::Left,
                            fx,
                        );
                    }
                }
                Departure::Transferred | Departure::Redirected => {}
                _ => self.settle_ringing(conversation_id, failure, fx),
            },
            ConversationKind::Group => {
                if member.presence == Presence::Joined {
                    self.roster_changed(conversation_id, fx);
                }
                self.settle_ringing(conversation_id, failure, fx);
            }
            ConversationKind::Meeting(_) => {
                if member.presence == Presence::Joined {
                    self.roster_changed(conversation_id, fx);
                }
                if member.is_person() {
                    self.end_meeting_if_no_people(conversation_id, fx);
                }
            }
        }
    }

    fn forget_conversation(&mut self, conversation_id: &ConversationId) {
        if let Some(Conversation {
            kind: ConversationKind::Meeting(meeting),
            ..
        }) = self.conversations.remove(conversation_id)
        {
            self.meetings.remove(&meeting);
        }
    }

    /// After a ring attempt ended: a P2P caller with nobody left to ring ends with the reason;
    /// a group creator alone with nobody ringing ends too.
    pub(super) fn settle_ringing(
        &mut self,
        conversation_id: &ConversationId,
        failure: Option<(ResultCode, Option<String>)>,
        fx: &mut Effects,
    ) {
        let Some(conversation) = self.conversations.get(conversation_id) else {
            return;
        };
        if conversation.ringing().next().is_some() {
            return;
        }
        let joined: Vec<_> = conversation.joined().map(|m| m.id.clone()).collect();
        let (code, detail) = match conversation.kind {
            ConversationKind::PeerToPeer if joined.len() == 1 => {
                failure.unwrap_or((ResultCode::NoAnswer, Some("nobody answered".into())))
            }
            ConversationKind::Group if joined.len() == 1 && !conversation.anyone_joined => {
                (ResultCode::NoOneElseJoined, failure.and_then(|(_, d)| d))
            }
            ConversationKind::Group if joined.len() == 1 => (ResultCode::AllOthersLeft, None),
            _ => return,
        };
        for member in joined {
            self.end_member(
                conversation_id,
                &member,
                code,
                detail.clone(),
                Departure::Left,
                fx,
            );
        }
    }

    /// Sends the roster to every joined app leg of a group call or meeting.
    pub(super) fn roster_changed(&self, conversation_id: &ConversationId, fx: &mut Effects) {
        let Some(conversation) = self.conversations.get(conversation_id) else {
            return;
        };
        let roster = conversation.roster();
        for leg in conversation.joined_legs() {
            if let Some(call) = self.calls.get(&leg) {
                fx.notifications.extend(notify::roster(call, &roster));
            }
        }
    }

    /// Tells every app-hosted leg of the conversation whose media is open who is in it now (its
    /// media socket sends `participantsUpdated` when the list changed).
    pub(super) fn stream_members_changed(
        &self,
        conversation_id: &ConversationId,
        fx: &mut Effects,
    ) {
        let Some(conversation) = self.conversations.get(conversation_id) else {
            return;
        };
        let mut participants = None;
        for leg in conversation.joined_legs() {
            let app_hosted = self
                .calls
                .get(&leg)
                .is_some_and(|c| c.media_opened && c.media_socket.is_some());
            if app_hosted {
                let participants =
                    participants.get_or_insert_with(|| conversation.stream_participants());
                fx.media.push(MediaCommand::SetParticipants {
                    call: leg,
                    participants: participants.clone(),
                });
            }
        }
    }

    /// A ringing member joined: it is in the roster now, a P2P caller's media opens and other
    /// ringing members stop, a transfer completes, an invite counts it.
    pub(super) fn member_joined(
        &mut self,
        conversation_id: &ConversationId,
        participant: &ParticipantId,
        fx: &mut Effects,
    ) {
        let Some(conversation) = self.conversations.get_mut(conversation_id) else {
            return;
        };
        let Some(member) = conversation.member_mut(participant) else {
            return;
        };
        member.presence = Presence::Joined;
        let is_person = member.is_person();
        let transfer_of = member.transfer_of.take();
        let invited_by = member.invited_by.take();
        conversation.anyone_joined = true;
        conversation.person_joined |= is_person;
        let kind = conversation.kind.clone();
        let others_ringing: Vec<_> = conversation
            .ringing()
            .filter(|m| m.transfer_of.is_none() && m.invited_by.is_none())
            .map(|m| m.id.clone())
            .collect();
        let joined_legs = conversation.joined_legs();
        if let Some(transferring) = transfer_of {
            self.transfer_completed(&transferring, fx);
        }
        if let Some((leg, operation)) = invited_by {
            self.invitee_settled(&leg, &operation, participant, None, fx);
        }
        if kind == ConversationKind::PeerToPeer {
            self.notice_peer_joined(conversation_id, participant, fx);
            for other in others_ringing {
                self.end_member(
                    conversation_id,
                    &other,
                    ResultCode::EndedByPeer,
                    Some("answered by another target".into()),
                    Departure::Left,
                    fx,
                );
            }
            for leg in joined_legs {
                let ringing_caller = self
                    .calls
                    .get(&leg)
                    .is_some_and(|c| c.state == CallState::Establishing);
                if ringing_caller {
                    if let Some(call) = self.calls.get_mut(&leg) {
                        call.deadlines.ring = None;
                    }
                    self.open_media(&leg, fx);
                }
            }
        } else {
            self.roster_changed(conversation_id, fx);
        }
        self.stream_members_changed(conversation_id, fx);
    }
}

#[cfg(test)]
#[path = "conversation_rules_tests.rs"]
mod tests;
