//! The app's answer to an incoming call — answer, reject or redirect — and the app hanging up.
//! Each checks the call's state first (refusing with the documented error), then changes the
//! registry and returns the effects.

use std::time::Instant;

use super::{CallError, CallRegistry, Departure, Effects};
use crate::calls::endpoints::Reach;
use crate::calls::ids::CallId;
use crate::calls::journal::JournalEntry;
use crate::calls::result_codes::ResultCode;
use crate::calls::state::{CallEvent, CallState};
use crate::calls::validate;

impl CallRegistry {
    /// Checks that `event` is allowed now, without changing anything.
    pub(super) fn check(
        &self,
        app_id: &str,
        call_id: &str,
        event: CallEvent,
    ) -> Result<CallId, CallError> {
        let call = self.call(app_id, call_id)?;
        call.state.apply(event)?;
        Ok(call.id.clone())
    }

    /// `POST …/answer`.
    pub fn answer(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Answer,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Answer)?;
        let call = self.call_mut(app_id, call_id)?;
        if request.callback_uri.is_some() {
            call.callback_uri = request.callback_uri;
            fx.journal.extend(JournalEntry::live(call));
        }
        call.media_config = Some(request.media_config);
        call.media_socket = request.media_socket;
        call.modalities = request.modalities;
        call.call_options = request.call_options;
        call.deadlines.answer = None;
        let (conversation, participant) = (call.conversation.clone(), call.participant.clone());
        self.apply(&id, CallEvent::Answer, None, fx)?;
        self.open_media(&id, fx);
        self.member_joined(&conversation, &participant, fx);
        Ok(())
    }

    /// `POST …/reject`.
    pub fn reject(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Reject,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Reject)?;
        if request.callback_uri.is_some() {
            let call = self.call_mut(app_id, call_id)?;
            call.callback_uri = request.callback_uri;
            fx.journal.extend(JournalEntry::live(call));
        }
        let reason = request.reason.as_str();
        let departure = Departure::NotReached(
            ResultCode::CalleeDeclined,
            Some(format!("the callee rejected the call, reason {reason}")),
        );
        self.apply_leaving(
            &id,
            CallEvent::Reject,
            Some(format!("rejected, reason {reason}")),
            departure,
            fx,
        )?;
        Ok(())
    }

    /// `POST …/redirect`. `reach` holds how each target can be reached, in order.
    pub fn redirect(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Redirect,
        reach: Vec<Reach>,
        now: Instant,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Redirect)?;
        let call = self.call_mut(app_id, call_id)?;
        if request.callback_uri.is_some() {
            call.callback_uri = request.callback_uri;
            fx.journal.extend(JournalEntry::live(call));
        }
        call.deadlines.answer = None;
        let (conversation, source) = (call.conversation.clone(), call.source.clone());
        self.apply(&id, CallEvent::Redirect, None, fx)?;
        let mut last_failure = None;
        let mut ringing = 0;
        for (target, reach) in request.targets.into_iter().zip(reach) {
            match self.ring(
                &conversation,
                &source,
                target,
                reach,
                Some(now + request.timeout),
                now,
                fx,
            ) {
                Ok(_) => ringing += 1,
                Err(failure) => last_failure = Some(failure),
            }
        }
        if ringing > 0 {
            let callers: Vec<_> = self
                .conversations
                .get(&conversation)
                .map(|c| c.joined_legs())
                .unwrap_or_default();
            for caller in callers {
                if let Some(call) = self.calls.get_mut(&caller) {
                    call.deadlines.ring = Some(now + request.timeout);
                }
            }
        }
        let departure = match last_failure {
            Some((code, detail)) if ringing == 0 => Departure::NotReached(code, detail),
            None if ringing == 0 => Departure::NotReached(ResultCode::NoCalleeEndpoints, None),
            _ => Departure::Redirected,
        };
        self.apply_leaving(
            &id,
            CallEvent::RedirectCompleted,
            Some("redirected".into()),
            departure,
            fx,
        )?;
        Ok(())
    }

    /// `DELETE /communications/calls/{id}`: terminating, then terminated with 200/5001.
    pub fn hang_up(
        &mut self,
        app_id: &str,
        call_id: &str,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Hangup)?;
        // Hanging up a call still ringing here declines it, as far as the caller is concerned.
        let departure = match self.calls.get(&id).map(|c| c.state) {
            Some(CallState::Incoming) => Departure::NotReached(
                ResultCode::CalleeDeclined,
                Some("the callee hung up before answering".into()),
            ),
            _ => Departure::Left,
        };
        self.apply(&id, CallEvent::Hangup, None, fx)?;
        self.apply_leaving(&id, CallEvent::Released, None, departure, fx)?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "answer_and_hang_up_tests.rs"]
mod tests;
