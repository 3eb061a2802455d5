//! Meetings in the registry: people joining an online meeting from the softphone (one
//! conversation per meeting, shared with the bots that joined it by `POST /communications/calls`),
//! the meeting's call ending for its bots when its last person leaves, and whether a meeting is
//! in progress (someone is in it).

use super::{CallRegistry, Departure, Effects};
use crate::calls::conversation::{Conversation, ConversationKind, Member, Presence};
use crate::calls::ids::{ConversationId, ParticipantId};
use crate::calls::result_codes::ResultCode;
use crate::calls::state::{CallEvent, CallState};
use crate::graph::ParticipantInfo;

impl CallRegistry {
    /// Whether anyone (a person or a bot) is in the online meeting with this id now.
    pub fn meeting_in_progress(&self, meeting: &str) -> bool {
        self.meetings.contains_key(meeting)
    }
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
        self.stream_members_changed(&conversation_id, fx);
        (conversation_id, participant)
    }

    /// A meeting's call ends when its last person leaves: once a person has been in the
    /// meeting's conversation and no person is left in it (joined or still being rung), every bot
    /// still in it is ended, `terminating` then `terminated` with 200/5002. A meeting no person
    /// has joined yet is left alone, because bots commonly join first and wait. The meeting
    /// itself stays: the next join starts a new conversation (unless the meeting is over).
    pub(super) fn end_meeting_if_no_people(
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

#[cfg(test)]
#[path = "meetings_tests.rs"]
mod tests;
