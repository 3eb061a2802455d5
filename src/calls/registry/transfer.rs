//! A transfer, all of it: the app's `POST …/transfer` rings the target on behalf of the
//! transferee; the target joining completes it (transferAccepted, then this leg ends with
//! 200/7015); the target not being reached, or not answering within the transfer timeout, fails
//! it (back to established with 500/7000); the transferring leg ending first stops the ring.
//!
//! While the target rings, the transferring leg keeps it in `pending_transfer` (with the
//! transfer deadline) and the target's member points back with `transfer_of`; the conversation
//! rules call back here when that member joins or leaves.

use std::time::Instant;

use super::{CallError, CallRegistry, Departure, Effects, not_found};
use crate::calls::endpoints::Reach;
use crate::calls::ids::{CallId, ConversationId, ParticipantId};
use crate::calls::result_codes::ResultCode;
use crate::calls::state::{CallEvent, CallState};
use crate::calls::validate::{self, InvalidField};

impl CallRegistry {
    /// `POST …/transfer`. `reach` says how the transfer target can be reached.
    pub fn transfer(
        &mut self,
        app_id: &str,
        call_id: &str,
        request: validate::Transfer,
        reach: Reach,
        now: Instant,
        fx: &mut Effects,
    ) -> Result<(), CallError> {
        let id = self.check(app_id, call_id, CallEvent::Transfer)?;
        let call = self.call(app_id, call_id)?;
        let conversation = self
            .conversations
            .get(&call.conversation)
            .ok_or_else(|| not_found("call", call_id))?;
        let others: Vec<_> = conversation
            .joined()
            .filter(|m| m.id != call.participant)
            .collect();
        let transferee = match &request.transferee {
            None if others.len() == 1 => others[0],
            None => {
                return Err(InvalidField::missing(
                    "transferee",
                    format!(
                        "the participant to transfer: this call has {} other participants",
                        others.len()
                    ),
                )
                .into());
            }
            Some(info) => others
                .iter()
                .find(|m| {
                    info.participant_id.as_deref() == Some(m.id.as_str())
                        || (info.identity.is_some()
                            && info.identity.as_ref().and_then(|i| i.party())
                                == m.info.identity.as_ref().and_then(|i| i.party()))
                })
                .copied()
                .ok_or_else(|| {
                    InvalidField::new(
                        "transferee",
                        serde_json::to_string(info).unwrap_or_default(),
                        "a participantId or identity of another participant in this call",
                    )
                })?,
        };
        let source = transferee.info.clone();
        let conversation_id = call.conversation.clone();
        self.apply(&id, CallEvent::Transfer, None, fx)?;
        match self.ring(
            &conversation_id,
            &source,
            request.target,
            reach,
            None,
            now,
            fx,
        ) {
            Ok(target) => {
                if let Some(member) = self
                    .conversations
                    .get_mut(&conversation_id)
                    .and_then(|c| c.member_mut(&target))
                {
                    member.transfer_of = Some(id.clone());
                }
                if let Some(call) = self.calls.get_mut(&id) {
                    call.pending_transfer = Some(target);
                    call.deadlines.transfer = Some(now + self.timers.transfer_timeout);
                }
            }
            Err(failure) => self.transfer_failed(&id, Some(failure), fx),
        }
        Ok(())
    }

    /// The transfer target joined: report transferAccepted, then end this leg with 200/7015.
    pub(super) fn transfer_completed(&mut self, leg: &CallId, fx: &mut Effects) {
        if let Some(call) = self.calls.get_mut(leg) {
            call.pending_transfer = None;
            call.deadlines.transfer = None;
        }
        // Both events are legal in Transferring; a refusal means the leg already moved on.
        let _ = self.apply(leg, CallEvent::TransferAccepted, None, fx);
        let _ = self.apply(leg, CallEvent::TransferCompleted, None, fx);
    }

    /// The transfer failed: back to established with 500/7000 and the reason.
    pub(super) fn transfer_failed(
        &mut self,
        leg: &CallId,
        failure: Option<(ResultCode, Option<String>)>,
        fx: &mut Effects,
    ) {
        let Some(call) = self.calls.get_mut(leg) else {
            return;
        };
        if !matches!(
            call.state,
            CallState::Transferring | CallState::TransferAccepted
        ) {
            return;
        }
        call.pending_transfer = None;
        call.deadlines.transfer = None;
        let detail = failure.map(|(code, detail)| {
            let (c, s, text) = code.parts();
            format!("{} ({c}/{s})", detail.unwrap_or_else(|| text.to_owned()))
        });
        let _ = self.apply(leg, CallEvent::TransferFailed, detail, fx);
    }

    /// The transfer deadline of `leg` fell due: the target still ringing stops, which fails the
    /// transfer (through the conversation rules) with the timeout as the reason.
    pub(super) fn transfer_timed_out(&mut self, leg: &CallId, fx: &mut Effects) {
        let Some(call) = self.calls.get(leg) else {
            return;
        };
        let (conversation, target) = (call.conversation.clone(), call.pending_transfer.clone());
        if let Some(target) = target {
            let seconds = self.timers.transfer_timeout.as_secs_f32();
            let failure = Departure::NotReached(
                ResultCode::NoAnswer,
                Some(format!(
                    "the transfer target did not answer within {seconds} s"
                )),
            );
            let detail = Some("the transfer timed out".to_owned());
            self.end_member(
                &conversation,
                &target,
                ResultCode::EndedByPeer,
                detail,
                failure,
                fx,
            );
        }
    }

    /// A leg with a transfer still ringing (`pending`) ended: stop ringing its target.
    pub(super) fn transferor_left(
        &mut self,
        conversation: &ConversationId,
        pending: Option<ParticipantId>,
        fx: &mut Effects,
    ) {
        if let Some(target) = pending {
            self.end_member(
                conversation,
                &target,
                ResultCode::EndedByPeer,
                Some("the transferor left".into()),
                Departure::Left,
                fx,
            );
        }
    }
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
