//! People on softphones in conversations: a user places a call, answers, declines or hangs up,
//! a user's ringing runs out, a user unmutes itself after a server mute, and the notices that tell
//! the softphone when a user's place in a conversation changed without the user doing anything
//! (the other party answered, hung up, or stopped ringing them, or a bot muted them).
//!
//! A user has no call leg of its own in the registry (calls belong to apps); it is a member of a
//! conversation with `leg: None`, and the softphone keys its media by the member.

use std::time::Instant;

use super::{CallRegistry, Departure, Effects};
use crate::calls::conversation::{Conversation, ConversationKind, Member, Presence};
use crate::calls::endpoints::Reach;
use crate::calls::ids::{ConversationId, ParticipantId};
use crate::calls::media::MediaCommand;
use crate::calls::result_codes::ResultCode;
use crate::calls::validate::Target;
use crate::graph::ParticipantInfo;

/// A change of a user's place in a conversation that the user's softphone must hear about.
#[derive(Debug, Clone, PartialEq)]
pub struct UserNotice {
    /// The conversation the user is in, or was being rung into.
    pub conversation: ConversationId,
    /// The user's participant id in it, which the softphone keys its call by.
    pub participant: ParticipantId,
    /// A peer joined, a bot muted the user, or the user's part ended.
    pub change: UserChange,
}

/// What changed for a user, as its softphone must show it.
#[derive(Debug, Clone, PartialEq)]
pub enum UserChange {
    /// Someone else joined the user's conversation (the callee answered, or a transfer target
    /// took over the other end).
    PeerJoined {
        /// Who joined.
        peer: Box<ParticipantInfo>,
    },
    /// A bot muted the user for everyone (participant mute); the user may unmute itself.
    ServerMuted,
    /// The user is out of the conversation (or no longer rung), for this reason.
    Ended {
        /// The reason, from the one result-code table.
        code: ResultCode,
        /// Why, in words.
        detail: Option<String>,
    },
}

/// Why a user's call attempt could not start.
#[derive(Debug, Clone, PartialEq)]
pub struct NotPlaced {
    /// The reason, from the one result-code table.
    pub code: ResultCode,
    /// Why, in words.
    pub detail: Option<String>,
}

impl CallRegistry {
    /// A signed-in user calls `target`: a P2P conversation with the user joined (its media
    /// connects at once) and the target rung. Returns the conversation and the user's
    /// participant id; when the target cannot be rung nothing is kept.
    pub fn user_calls(
        &mut self,
        caller: ParticipantInfo,
        target: Target,
        reach: Reach,
        now: Instant,
        fx: &mut Effects,
    ) -> Result<(ConversationId, ParticipantId), NotPlaced> {
        let mut conversation = Conversation::new(ConversationKind::PeerToPeer);
        let conversation_id = conversation.id.clone();
        let participant = conversation.add(Member::new(caller, None, Presence::Joined));
        let source = conversation
            .member(&participant)
            .map(|m| m.info.clone())
            .unwrap_or_default();
        self.conversations
            .insert(conversation_id.clone(), conversation);
        // A refused ring adds no effects, so they can go straight to `fx`.
        match self.ring(&conversation_id, &source, target, reach, None, now, fx) {
            Ok(_) => Ok((conversation_id, participant)),
            Err((code, detail)) => {
                self.conversations.remove(&conversation_id);
                Err(NotPlaced { code, detail })
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

    /// A rung user did not answer on any endpoint within the ring window: 408/10057 for the
    /// caller.
    pub fn user_not_answered(
        &mut self,
        conversation: &ConversationId,
        participant: &ParticipantId,
        fx: &mut Effects,
    ) {
        let ringing = self
            .conversations
            .get(conversation)
            .and_then(|c| c.member(participant))
            .is_some_and(|m| m.presence == Presence::Ringing);
        if !ringing {
            return;
        }
        let seconds = self.timers.user_ring_window.as_secs_f32();
        let departure = Departure::NotReached(
            ResultCode::NoAnswer,
            Some(format!("the user did not answer within {seconds} s")),
        );
        self.member_left(conversation, participant, departure, fx);
    }

    /// A user unmutes itself after a server mute: everyone hears it again, and the bots in a
    /// group call or meeting get the roster.
    pub fn user_unmuted(
        &mut self,
        conversation: &ConversationId,
        participant: &ParticipantId,
        fx: &mut Effects,
    ) -> bool {
        let Some(member) = self
            .conversations
            .get_mut(conversation)
            .and_then(|c| c.member_mut(participant))
        else {
            return false;
        };
        if !member.server_muted {
            return true;
        }
        member.server_muted = false;
        fx.media.push(MediaCommand::SetServerMuted {
            conversation: conversation.clone(),
            participant: participant.clone(),
            muted: false,
        });
        let group = self
            .conversations
            .get(conversation)
            .is_some_and(|c| c.kind != ConversationKind::PeerToPeer);
        if group {
            self.roster_changed(conversation, fx);
        }
        true
    }

    /// Whether a user member is still in a conversation, ringing or joined.
    pub fn has_member(&self, conversation: &ConversationId, participant: &ParticipantId) -> bool {
        self.conversations
            .get(conversation)
            .is_some_and(|c| c.member(participant).is_some())
    }

    /// The source id of a member (the number its audio is known by), if it is still there.
    pub fn source_id_of(
        &self,
        conversation: &ConversationId,
        participant: &ParticipantId,
    ) -> Option<u32> {
        self.conversations
            .get(conversation)?
            .member(participant)
            .map(|m| m.source_id)
    }

    /// Tells every other joined user of a P2P conversation that `joined` came in.
    pub(super) fn notice_peer_joined(
        &self,
        conversation_id: &ConversationId,
        joined: &ParticipantId,
        fx: &mut Effects,
    ) {
        let Some(conversation) = self.conversations.get(conversation_id) else {
            return;
        };
        let Some(peer) = conversation.member(joined).map(|m| m.info.clone()) else {
            return;
        };
        for user in conversation
            .joined()
            .filter(|m| m.leg.is_none() && &m.id != joined)
        {
            fx.users.push(UserNotice {
                conversation: conversation_id.clone(),
                participant: user.id.clone(),
                change: UserChange::PeerJoined {
                    peer: Box::new(peer.clone()),
                },
            });
        }
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
