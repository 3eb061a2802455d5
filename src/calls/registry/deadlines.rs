//! Deadlines: keepAlive pushing a call's window out, the earliest deadline the runtime's timer
//! sleeps until, and what each deadline does when it falls due — an unanswered incoming call
//! ends, a call without keepAlive ends, redirect targets that nobody answered end the caller,
//! and a transfer whose target did not answer fails.

use std::time::Instant;

use super::{CallError, CallRegistry, Departure, Effects};
use crate::calls::call::DeadlineKind;
use crate::calls::ids::CallId;
use crate::calls::result_codes::ResultCode;
use crate::calls::state::CallEvent;

impl CallRegistry {
    /// `POST …/keepAlive`: the call stays alive for another keepAlive window.
    pub fn keep_alive(
        &mut self,
        app_id: &str,
        call_id: &str,
        now: Instant,
    ) -> Result<(), CallError> {
        let window = self.timers.keep_alive_window;
        self.call_mut(app_id, call_id)?.deadlines.keep_alive = now + window;
        Ok(())
    }

    /// The earliest deadline of any call, for the runtime's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.calls.values().map(|c| c.deadlines.next()).min()
    }

    /// Runs every deadline due at `now`, earliest first (ties in call-id order, so runs are
    /// reproducible).
    pub fn fire_due(&mut self, now: Instant, fx: &mut Effects) {
        loop {
            let due = self
                .calls
                .iter()
                .filter_map(|(id, call)| {
                    call.deadlines
                        .earliest_due(now)
                        .map(|(at, kind)| (at, kind as u8, id.clone()))
                })
                .min();
            let Some((_, _, call_id)) = due else { break };
            let Some(kind) = self
                .calls
                .get_mut(&call_id)
                .and_then(|c| c.deadlines.take_due(now))
            else {
                break;
            };
            self.deadline(&call_id, kind, fx);
        }
    }

    /// A deadline of a call fell due.
    fn deadline(&mut self, call_id: &CallId, kind: DeadlineKind, fx: &mut Effects) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        match kind {
            DeadlineKind::Answer => {
                let seconds = self.timers.answer_window.as_secs_f32();
                let detail = format!("not answered, rejected or redirected within {seconds} s");
                let departure = Departure::NotReached(
                    ResultCode::NoAnswer,
                    Some(format!("the callee did not answer within {seconds} s")),
                );
                let _ = self.apply_leaving(
                    call_id,
                    CallEvent::AnswerTimeout,
                    Some(detail),
                    departure,
                    fx,
                );
            }
            DeadlineKind::KeepAlive => {
                let minutes = self.timers.keep_alive_window.as_secs_f32() / 60.0;
                let detail = format!("no keepAlive for {minutes} minutes");
                let _ = self.apply(call_id, CallEvent::KeepAliveTimeout, Some(detail), fx);
            }
            DeadlineKind::Ring => {
                let still_ringing = self
                    .conversations
                    .get(&call.conversation)
                    .is_some_and(|c| c.ringing().next().is_some());
                if still_ringing {
                    let detail =
                        Some("no redirect target answered before the redirect timeout".to_owned());
                    self.end_leg(call_id, ResultCode::NoAnswer, detail, Departure::Left, fx);
                }
            }
            DeadlineKind::Transfer => self.transfer_timed_out(call_id, fx),
        }
    }
}

#[cfg(test)]
#[path = "deadlines_tests.rs"]
mod tests;
