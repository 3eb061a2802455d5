//! The call registry: every live call and conversation, and the rules that tie legs together.
//! Plain data and functions: every method takes the time as an argument and returns its
//! consequences as [`Effects`] for the runtime to carry out, so tests drive it without sockets,
//! tasks or clocks.
//!
//! One [`CallRegistry`], its methods grouped by feature, a file each:
//!
//! - this file: the registry's data, [`Effects`], [`CallError`] and the lookups;
//! - `legs`: placing a call, ringing a target, applying state events to a leg, opening its
//!   media, ending it, and shutdown;
//! - `answer_and_hang_up`: the app answers, rejects or redirects an incoming call, or hangs up;
//! - `transfer`: a transfer from request to completion, failure or timeout;
//! - `media_operations`: playPrompt, recordResponse, tones, DTMF, cancelling media processing,
//!   self-mute, and reading an operation;
//! - `participants`: the roster, removing and muting participants, inviting;
//! - `users`: people on softphones placing, answering and declining calls, and the notices their
//!   softphones get;
//! - `meetings`: people joining meetings, and a meeting's call ending when its last person leaves;
//! - `conversation_rules`: what a member joining or leaving means for the rest of its
//!   conversation;
//! - `deadlines`: keepAlive and the timers that fall due;
//! - `media_events`: what the media plane reports (legs up or failed, tones, speaking, finished
//!   operations).

mod answer_and_hang_up;
mod conversation_rules;
mod deadlines;
mod legs;
mod media_events;
mod media_operations;
mod meetings;
mod participants;
mod transfer;
mod users;

#[cfg(test)]
mod test_support;

pub use users::{NotPlaced, UserChange, UserNotice};

use std::collections::HashMap;

use super::call::{Call, CallTimers};
use super::conversation::Conversation;
use super::endpoints::RingUser;
use super::ids::{CallId, ConversationId};
use super::journal::JournalEntry;
use super::media::MediaCommand;
use super::notify::Outbound;
use super::result_codes::ResultCode;
use super::state::{CallState, IllegalRequest};
use super::validate::InvalidField;

/// What a registry change asks the runtime to do, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    /// Notifications to deliver.
    pub notifications: Vec<Outbound>,
    /// Commands for the media plane.
    pub media: Vec<MediaCommand>,
    /// Users to ring on their signed-in endpoints.
    pub rings: Vec<RingUser>,
    /// Changes to tell users' softphones about.
    pub users: Vec<UserNotice>,
    /// Calls that became live or ended, for the journal a restart after a crash reads.
    pub journal: Vec<JournalEntry>,
}

/// Why a request on a call was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No such call, participant or operation for this app (another app's ids are unknown too).
    #[error("{what} '{id}' was not found")]
    NotFound {
        /// `call`, `participant`, `operation` or `meeting`.
        what: &'static str,
        /// The id from the request path that names nothing this app owns.
        id: String,
    },
    /// The call's state does not allow the request.
    #[error(transparent)]
    Illegal(#[from] IllegalRequest),
    /// A field of the request is wrong.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// A media action on a call whose media the app hosts itself.
    #[error(
        "{request} needs a call with serviceHostedMediaConfig; this call uses appHostedMediaConfig"
    )]
    NotServiceHosted {
        /// The refused request, as named in the API path (`playPrompt`, `recordResponse`…).
        request: &'static str,
    },
    /// A media action before the call's media is up (an outgoing call still ringing).
    #[error(
        "{request} is not allowed until the call's media is connected; the call is {state} and not answered yet"
    )]
    MediaNotConnected {
        /// The refused request, as named in the API path.
        request: &'static str,
        /// The state the call was in when refused.
        state: CallState,
    },
}

/// The live calls and conversations. The maps are private to the registry: other code asks it
/// ([`CallRegistry::has_call`], [`CallRegistry::meeting_in_progress`]…) instead of reading
/// them, so the rules that keep them consistent stay in one module.
#[derive(Debug, Default)]
pub struct CallRegistry {
    calls: HashMap<CallId, Call>,
    conversations: HashMap<ConversationId, Conversation>,
    /// The conversation of each meeting someone is in, by meeting id.
    meetings: HashMap<String, ConversationId>,
    timers: CallTimers,
}

/// Why a member left, which decides what happens to the rest of the conversation.
#[derive(Debug, Clone, PartialEq)]
enum Departure {
    /// It hung up, was removed, or its leg ended.
    Left,
    /// It was rung and did not join, for this reason.
    NotReached(ResultCode, Option<String>),
    /// It redirected the call to others (who are now ringing).
    Redirected,
    /// It transferred the call away.
    Transferred,
}

impl CallRegistry {
    /// An empty registry with these timers.
    pub fn new(timers: CallTimers) -> CallRegistry {
        CallRegistry {
            timers,
            ..CallRegistry::default()
        }
    }

    /// The app's call with this id; other apps' calls are not found.
    pub fn call(&self, app_id: &str, id: &str) -> Result<&Call, CallError> {
        self.calls
            .get(&CallId::from(id))
            .filter(|c| c.owner.app_id == app_id)
            .ok_or_else(|| not_found("call", id))
    }

    fn call_mut(&mut self, app_id: &str, id: &str) -> Result<&mut Call, CallError> {
        self.calls
            .get_mut(&CallId::from(id))
            .filter(|c| c.owner.app_id == app_id)
            .ok_or_else(|| not_found("call", id))
    }

    /// Whether call `id` is live, whichever app owns it.
    pub fn has_call(&self, id: &CallId) -> bool {
        self.calls.contains_key(id)
    }

    /// The app's live calls, oldest id order.
    pub fn calls_of(&self, app_id: &str) -> Vec<&Call> {
        let mut calls: Vec<_> = self
            .calls
            .values()
            .filter(|c| c.owner.app_id == app_id)
            .collect();
        calls.sort_by(|a, b| a.id.cmp(&b.id));
        calls
    }

    /// How many live calls an app has (for admission caps).
    pub fn count_of(&self, app_id: &str) -> usize {
        self.calls
            .values()
            .filter(|c| c.owner.app_id == app_id)
            .count()
    }

    /// How many live calls there are.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether there are no live calls.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The conversation a call is a leg of.
    pub fn conversation_of(&self, call: &Call) -> Option<&Conversation> {
        self.conversations.get(&call.conversation)
    }
}

/// The refusal for an id this app does not have: `what` is `call`, `participant` or `operation`.
fn not_found(what: &'static str, id: &str) -> CallError {
    CallError::NotFound {
        what,
        id: id.to_owned(),
    }
}
