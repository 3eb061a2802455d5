//! The call state machine of the reference (§4) as a plain value type.
//!
//! [`CallState::apply`] is the only place that decides whether an event moves a call and where
//! to. Requests from the owning app ([`CallEvent::is_request`]) that the state does not allow are
//! refused with an [`IllegalRequest`]; signalling and timer events that no longer apply (a late
//! `Connected`, a stale timer) leave the call unchanged, because they race with the app.
//!
//! The states themselves are Graph's `callState` values, declared with the rest of the wire
//! vocabulary in `graph` (which imports nothing of the calls domain); their rules — the
//! transition table and what each state allows — are the inherent methods in this file.

use crate::calls::result_codes::ResultCode;
/// Re-exported so the state machine's users find the states next to their rules.
pub use crate::graph::CallState;

/// Something that can happen to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEvent {
    /// Request: the app answers (`POST …/answer`).
    Answer,
    /// Request: the app rejects (`POST …/reject`).
    Reject,
    /// Request: the app redirects (`POST …/redirect`).
    Redirect,
    /// Request: the app transfers (`POST …/transfer`).
    Transfer,
    /// Request: the app hangs up (`DELETE …/calls/{id}`).
    Hangup,
    /// Signalling and media are up (the callee answered, or the app's answer took effect).
    Connected,
    /// The far end put the call on hold.
    Hold,
    /// The far end took the call off hold.
    Resume,
    /// The transfer target accepted.
    TransferAccepted,
    /// The transferee reached the target; this leg is replaced.
    TransferCompleted,
    /// The transfer failed or ran out of time; the call carries on.
    TransferFailed,
    /// The redirected call was handed to its new targets.
    RedirectCompleted,
    /// Teardown after a hangup finished.
    Released,
    /// The far end or the conversation ended the call, for the given reason.
    RemoteEnded(ResultCode),
    /// The call could not be set up or lost its media, for the given reason.
    Failed(ResultCode),
    /// Nobody answered, rejected or redirected within the answer window (15 s).
    AnswerTimeout,
    /// No keepAlive within the keepAlive window (45 minutes).
    KeepAliveTimeout,
}

impl CallEvent {
    /// Whether the event is a request from the owning app (and so can be refused).
    pub fn is_request(self) -> bool {
        matches!(
            self,
            CallEvent::Answer
                | CallEvent::Reject
                | CallEvent::Redirect
                | CallEvent::Transfer
                | CallEvent::Hangup
        )
    }

    /// The request's name as in the API path, for error messages.
    pub fn request_name(self) -> &'static str {
        match self {
            CallEvent::Answer => "answer",
            CallEvent::Reject => "reject",
            CallEvent::Redirect => "redirect",
            CallEvent::Transfer => "transfer",
            CallEvent::Hangup => "delete",
            _ => "event",
        }
    }
}

/// The result of applying an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The call moved to a new state, still alive: notify `updated` with the new state. A failed
    /// transfer also carries the `resultInfo` that explains it.
    Moved {
        /// The state the call is in now; never `terminated` (that is `Ended`).
        to: CallState,
        /// Present when the move reports a failure (a transfer that did not complete).
        result: Option<ResultCode>,
    },
    /// The call ended: notify `deleted` with state `terminated` and this reason.
    Ended(ResultCode),
    /// Nothing changes (a repeated hangup, a late signalling event, a stale timer).
    Unchanged,
}

/// A request the call's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{request} is not allowed while the call is {state}; allowed while the call is {}",
    allowed_states(request)
)]
pub struct IllegalRequest {
    /// The request, as named in the API path (`answer`, `transfer`…).
    pub request: &'static str,
    /// The state the call is in.
    pub state: CallState,
}

impl IllegalRequest {
    /// Whether the call has ended: Graph answers requests on ended calls with 404, others with 409.
    pub fn call_has_ended(&self) -> bool {
        self.state == CallState::Terminated
    }
}

/// The states in which a request is allowed, for error messages.
fn allowed_states(request: &str) -> &'static str {
    match request {
        "answer" | "reject" | "redirect" => "incoming",
        "transfer" => "established or hold",
        "delete" => "not yet terminated",
        "playPrompt"
        | "recordResponse"
        | "subscribeToTone"
        | "sendDtmfTones"
        | "cancelMediaProcessing"
        | "mute"
        | "unmute"
        | "invite" => "answered: establishing, established, hold, transferring or transferAccepted",
        _ => "in another state",
    }
}

// An inherent impl on the Graph enum (legal within the crate): the wire vocabulary stays free of
// domain imports, and the table below stays callable as `state.apply(event)`.
impl CallState {
    /// Applies an event. Requests the state does not allow are refused; other events that no
    /// longer apply leave the call unchanged.
    pub fn apply(self, event: CallEvent) -> Result<Transition, IllegalRequest> {
        use CallEvent as E;
        use CallState as S;
        use Transition::{Ended, Moved, Unchanged};
        let moved = |to| Ok(Moved { to, result: None });
        match (self, event) {
            // Already over: requests are refused, anything else is a late echo.
            (S::Terminated, e) if e.is_request() => Err(self.refuse(e)),
            (S::Terminated, _) => Ok(Unchanged),

            // Hanging up is allowed in every live state; a second DELETE changes nothing.
            (S::Terminating, E::Hangup) => Ok(Unchanged),
            (_, E::Hangup) => moved(S::Terminating),
            (
                S::Terminating,
                E::Released | E::RemoteEnded(_) | E::Failed(_) | E::KeepAliveTimeout,
            ) => Ok(Ended(ResultCode::ConversationEnded)),
            (S::Terminating, e) if e.is_request() => Err(self.refuse(e)),
            (S::Terminating, _) => Ok(Unchanged),

            // Endings that can strike any other live state.
            (_, E::RemoteEnded(code) | E::Failed(code)) => Ok(Ended(code)),
            (_, E::KeepAliveTimeout) => Ok(Ended(ResultCode::KeepAliveTimeout)),

            (S::Incoming, E::Answer) => moved(S::Establishing),
            (S::Incoming, E::Reject) => Ok(Ended(ResultCode::EndedByApp)),
            (S::Incoming, E::Redirect) => moved(S::Redirecting),
            (S::Incoming, E::AnswerTimeout) => Ok(Ended(ResultCode::AnswerTimeout)),

            (S::Establishing, E::Connected) => moved(S::Established),

            (S::Established, E::Hold) => moved(S::Hold),
            (S::Hold, E::Resume) => moved(S::Established),
            (S::Established | S::Hold, E::Transfer) => moved(S::Transferring),

            (S::Transferring, E::TransferAccepted) => moved(S::TransferAccepted),
            (S::Transferring | S::TransferAccepted, E::TransferCompleted) => {
                Ok(Ended(ResultCode::TransferCompleted))
            }
            (S::Transferring | S::TransferAccepted, E::TransferFailed) => Ok(Moved {
                to: S::Established,
                result: Some(ResultCode::TransferFailed),
            }),

            (S::Redirecting, E::RedirectCompleted) => Ok(Ended(ResultCode::EndedByApp)),

            (_, e) if e.is_request() => Err(self.refuse(e)),
            _ => Ok(Unchanged),
        }
    }

    fn refuse(self, event: CallEvent) -> IllegalRequest {
        IllegalRequest {
            request: event.request_name(),
            state: self,
        }
    }

    /// Whether the call has not ended yet.
    pub fn is_live(self) -> bool {
        self != CallState::Terminated
    }

    /// Whether media actions (playPrompt, recordResponse, subscribeToTone, sendDtmfTones,
    /// cancelMediaProcessing, mute/unmute) are accepted. Establishing counts: bots commonly ask
    /// for a prompt right after answering, and the operation starts once media is up.
    pub fn accepts_media_requests(self) -> bool {
        matches!(
            self,
            CallState::Establishing
                | CallState::Established
                | CallState::Hold
                | CallState::Transferring
                | CallState::TransferAccepted
        )
    }

    /// Whether audio flows in this state (for `mediaState`).
    pub fn media_active(self) -> bool {
        matches!(self, CallState::Established)
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
