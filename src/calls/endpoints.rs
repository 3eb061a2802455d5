//! How a call target is reached, and the seam through which a signed-in softphone is rung.
//!
//! The API resolves each target's identity before it touches the registry (the directory is in
//! SQLite and may be slow): an application becomes [`Reach::App`], a user becomes
//! [`Reach::User`] with the endpoints it is signed in on (from an [`EndpointRegistry`]); an
//! unknown id or a kind of party this server cannot call (a phone number, a guest) is refused
//! there, naming the target, and [`Reach::Unreachable`] carries the reason for a target
//! the registry must end the attempt on. When the registry rings a user it emits a
//! [`RingUser`]; the softphone transport delivers it and later reports the outcome back through
//! `CallRegistry::user_answered` / `CallRegistry::user_declined`.

use super::call::AppRef;
use super::ids::{ConversationId, ParticipantId};
use super::result_codes::ResultCode;
use crate::graph::ParticipantInfo;

/// A softphone (or other user endpoint) session, by id.
pub type EndpointId = String;

/// How one call target can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// An application of the directory: it gets an incoming call at its calling webhook.
    App(AppRef),
    /// A user of the directory, with the endpoints it is signed in on (maybe none).
    User {
        /// The user's object id.
        user_id: String,
        /// Signed-in endpoints; none means the call ends with 480/10037.
        endpoints: Vec<EndpointId>,
    },
    /// Not reachable here: the call attempt ends with this reason.
    Unreachable {
        /// The reason the attempt ends with (its `resultInfo`).
        code: ResultCode,
        /// Why, in words.
        detail: String,
    },
}

/// A request to ring a user's endpoints for a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct RingUser {
    /// The called user's object id in the directory.
    pub user_id: String,
    /// The softphone sessions the user is signed in on, all rung at once.
    pub endpoints: Vec<EndpointId>,
    /// The conversation to join on answer.
    pub conversation: ConversationId,
    /// The participant id the user will have.
    pub participant: ParticipantId,
    /// Who is calling.
    pub caller: ParticipantInfo,
}

/// Which endpoints each user is signed in on. The softphone transport implements it.
pub trait EndpointRegistry: Send + Sync + 'static {
    /// The endpoints a user is signed in on now.
    fn endpoints_of(&self, user_id: &str) -> Vec<EndpointId>;
}

/// The endpoint registry before any softphone exists: nobody is signed in anywhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEndpoints;

impl EndpointRegistry for NoEndpoints {
    fn endpoints_of(&self, _user_id: &str) -> Vec<EndpointId> {
        Vec::new()
    }
}
