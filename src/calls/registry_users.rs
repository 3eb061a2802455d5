//! People on softphones in conversations: a user places a call, a user's ringing runs out, and
//! the notices that tell the softphone when a user's place in a conversation changed without
//! the user doing anything (the other party answered, hung up, or stopped ringing them), and
//! people in meetings (joining one, and the meeting's call ending when its last person leaves).
//!
//! A user has no call leg of its own in the registry (calls belong to apps); it is a member of a
//! conversation with `leg: None`, and the softphone keys its media by the member.

use std::time::Instant;

use super::conversation::{Conversation, ConversationKind, Member, Presence};
use super::endpoints::Reach;
use super::ids::{ConversationId, ParticipantId};
use super::registry::{CallRegistry, Departure, Effects};
use super::result_codes::ResultCode;
use super::state::{CallEvent, CallState};
use super::validate::Target;
use crate::graph::ParticipantInfo;

/// A change of a user's place in a conversation that the user's softphone must hear about.
#[derive(Debug, Clone, PartialEq)]
pub struct UserNotice {
    /// The conversation.
    pub conversation: ConversationId,
    /// The user's participant id in it.
    pub participant: ParticipantId,
    /// What changed.
    pub change: UserChange,
}

/// What changed for a user.
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
        fx.media.push(super::media::MediaCommand::SetServerMuted {
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

    /// Tells every other joined user of a P2P conversation that `joined` came in.
    pub(crate) fn notice_peer_joined(
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

impl CallRegistry {
    /// A signed-in user joins an online meeting (by meeting id) from the softphone: the
    /// meeting's conversation is created if nobody is in it yet, and the roster goes to every
    /// bot in it. Returns the conversation and the user's participant id.
    pub fn user_joins_meeting(
        &mut self,
        meeting: &str,
        user: ParticipantInfo,
        fx: &mut Effects,
    ) -> (ConversationId, ParticipantId) {
        let conversation_id = match self.meetings.get(meeting) {
            Some(id) if self.conversations.contains_key(id) => id.clone(),
            _ => {
                let conversation = Conversation::new(ConversationKind::Meeting(meeting.to_owned()));
                let id = conversation.id.clone();
                self.conversations.insert(id.clone(), conversation);
                self.meetings.insert(meeting.to_owned(), id.clone());
                id
            }
        };
        let conversation = self
            .conversations
            .get_mut(&conversation_id)
            .expect("found or inserted above");
        let participant = conversation.add(Member::new(user, None, Presence::Joined));
        conversation.anyone_joined = true;
        conversation.person_joined = true;
        self.roster_changed(&conversation_id, fx);
        (conversation_id, participant)
    }

    /// A meeting's call ends when its last person leaves: once a person has been in the
    /// meeting's conversation and no person is left in it (joined or still being rung), every bot
    /// still in it is ended, `terminating` then `terminated` with 200/5002. A meeting no person
    /// has joined yet is left alone, because bots commonly join first and wait. The meeting
    /// itself stays: the next join starts a new conversation (unless the meeting is over).
    pub(crate) fn end_meeting_if_no_people(
        &mut self,
        conversation_id: &ConversationId,
        fx: &mut Effects,
    ) {
        let Some(conversation) = self.conversations.get(conversation_id) else {
            return;
        };
        let ConversationKind::Meeting(meeting) = &conversation.kind else {
            return;
        };
        if !conversation.person_joined || conversation.has_people() {
            return;
        }
        // Of the documented endings (reference §4), 200/5002 "all other participants left" is
        // the one that says what happened from a bot's side: the people it was there for are
        // gone. 5001 and 5003 ("the conversation has ended") already mean the app's own DELETE
        // and the server's shutdown here, so a bot could not tell this ending from those.
        let detail = Some(format!("the last person left meeting '{meeting}'"));
        let legs: Vec<_> = conversation
            .members
            .iter()
            .filter_map(|m| m.leg.clone())
            .collect();
        for leg in legs {
            let Some(state) = self.calls.get(&leg).map(|c| c.state) else {
                continue;
            };
            let departure = if state == CallState::Incoming {
                // A bot still being invited never joined: its invite fails rather than counts.
                Departure::NotReached(ResultCode::AllOthersLeft, detail.clone())
            } else {
                // An answered leg hangs up the way a DELETE does, so the bot sees `terminating`
                // first; `Hangup` is allowed in every live state, so this cannot be refused.
                let _ = self.apply(&leg, CallEvent::Hangup, None, fx);
                Departure::Left
            };
            self.end_leg(
                &leg,
                ResultCode::AllOthersLeft,
                detail.clone(),
                departure,
                fx,
            );
        }
    }
}
