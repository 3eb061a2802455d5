//! A leg's life: placing a call (`POST /communications/calls`), ringing each target, applying
//! state events through the state machine, opening the leg's media, ending the leg, and ending
//! every leg at shutdown.

use std::time::Instant;

use super::{CallError, CallRegistry, Departure, Effects};
use crate::calls::call::{AppRef, Call, Deadlines};
use crate::calls::conversation::{Conversation, ConversationKind, Member, Presence};
use crate::calls::endpoints::{Reach, RingUser};
use crate::calls::ids::{CallId, ConversationId, ParticipantId};
use crate::calls::journal::JournalEntry;
use crate::calls::media::{AppHosted, Hosting, MediaCommand};
use crate::calls::notify;
use crate::calls::result_codes::ResultCode;
use crate::calls::state::{CallEvent, CallState, IllegalRequest, Transition};
use crate::calls::validate::{self, InvalidField, Target};
use crate::graph::{CallDirection, MediaConfig, ParticipantInfo};

impl CallRegistry {
    fn new_leg(
        &self,
        owner: AppRef,
        direction: CallDirection,
        state: CallState,
        now: Instant,
    ) -> Call {
        Call {
            id: CallId::random(),
            owner,
            conversation: ConversationId::from(""),
            participant: ParticipantId::from(""),
            direction,
            state,
            callback_uri: None,
            source: ParticipantInfo::default(),
            targets: Vec::new(),
            modalities: vec![crate::graph::Modality::Audio],
            media_config: None,
            media_socket: None,
            chat_info: None,
            meeting_info: None,
            subject: None,
            call_options: None,
            result_info: None,
            media_opened: false,
            tones_subscribed: false,
            tone_sequence: 0,
            operations: Vec::new(),
            deadlines: Deadlines {
                answer: None,
                keep_alive: now + self.timers.keep_alive_window,
                ring: None,
                transfer: None,
            },
            pending_transfer: None,
        }
    }

    /// `POST /communications/calls`: places a call for `owner`. `reach` holds, per target of the
    /// request and in the same order, how the target can be reached; `meeting` is the id of the
    /// meeting a join names (resolved by the caller from `meetingInfo`/`chatInfo`).
    pub fn create_call(
        &mut self,
        owner: AppRef,
        request: validate::CreateCall,
        reach: Vec<Reach>,
        meeting: Option<String>,
        now: Instant,
        fx: &mut Effects,
    ) -> Result<CallId, CallError> {
        if request.callback_uri.is_none() && owner.calling_webhook.is_none() {
            return Err(InvalidField::missing(
                "callbackUri",
                "an http(s) URL (this app has no calling webhook registered to fall back on)",
            )
            .into());
        }
        let (meeting_info, chat_info) = match &request.kind {
            validate::OutgoingKind::JoinMeeting {
                meeting_info,
                chat_info,
            } => (meeting_info.clone(), chat_info.clone()),
            _ => (None, None),
        };
        let (kind, targets) = match request.kind {
            validate::OutgoingKind::PeerToPeer(target) => {
                (ConversationKind::PeerToPeer, vec![*target])
            }
            validate::OutgoingKind::Group(targets) => (ConversationKind::Group, targets),
            validate::OutgoingKind::JoinMeeting { .. } => {
                let id = meeting.clone().ok_or_else(|| {
                    InvalidField::missing(
                        "meetingInfo",
                        "the joinMeetingId, organizer or chatInfo of an existing meeting",
                    )
                })?;
                (ConversationKind::Meeting(id), Vec::new())
            }
        };
        let mut call = self.new_leg(
            owner.clone(),
            CallDirection::Outgoing,
            CallState::Establishing,
            now,
        );
        call.callback_uri = request.callback_uri;
        call.source = owner.participant_info();
        call.targets = targets.iter().map(|t| t.info.clone()).collect();
        call.modalities = request.modalities;
        call.media_config = Some(request.media_config);
        call.media_socket = request.media_socket;
        call.subject = request.subject;
        call.call_options = request.call_options;
        call.meeting_info = meeting_info;
        call.chat_info = chat_info;
        let conversation_id = match &kind {
            ConversationKind::Meeting(id) => self.meetings.get(id).cloned(),
            _ => None,
        }
        .unwrap_or_else(|| {
            let conversation = Conversation::new(kind.clone());
            let id = conversation.id.clone();
            if let ConversationKind::Meeting(meeting_id) = &kind {
                self.meetings.insert(meeting_id.clone(), id.clone());
            }
            self.conversations.insert(id.clone(), conversation);
            id
        });
        let call_id = call.id.clone();
        call.conversation = conversation_id.clone();
        let conversation = self
            .conversations
            .get_mut(&conversation_id)
            .expect("inserted above");
        call.participant = conversation.add(Member::new(
            call.source.clone(),
            Some(call_id.clone()),
            Presence::Joined,
        ));
        call.source.participant_id = Some(call.participant.to_string());
        fx.notifications.extend(notify::state_changed(&call));
        let opens_at_once = !matches!(kind, ConversationKind::PeerToPeer);
        fx.journal.extend(JournalEntry::live(&call));
        self.calls.insert(call_id.clone(), call);
        if opens_at_once {
            // A group creator or meeting joiner is in the conversation at once.
            self.open_media(&call_id, fx);
            self.roster_changed(&conversation_id, fx);
            self.stream_members_changed(&conversation_id, fx);
        }
        let mut last_failure = None;
        let source = self.calls[&call_id].source.clone();
        for (target, reach) in targets.into_iter().zip(reach) {
            if let Err(failure) = self.ring(&conversation_id, &source, target, reach, None, now, fx)
            {
                last_failure = Some(failure);
            }
        }
        self.settle_ringing(&conversation_id, last_failure, fx);
        Ok(call_id)
    }

    /// Adds a ringing member for `target` and rings it. Returns why it cannot be rung.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ring(
        &mut self,
        conversation_id: &ConversationId,
        source: &ParticipantInfo,
        target: Target,
        reach: Reach,
        answer_deadline: Option<Instant>,
        now: Instant,
        fx: &mut Effects,
    ) -> Result<ParticipantId, (ResultCode, Option<String>)> {
        let source = source.clone();
        let mut info = ParticipantInfo::new(target.info.identity.clone().unwrap_or_default());
        info.endpoint_type = target.info.endpoint_type;
        info.language_id = target.info.language_id.clone();
        info.region = target.info.region.clone();
        match reach {
            Reach::Unreachable { code, detail } => Err((code, Some(detail))),
            Reach::User { user_id, endpoints } if endpoints.is_empty() => Err((
                ResultCode::NoCalleeEndpoints,
                Some(format!("user '{user_id}' has no signed-in endpoint")),
            )),
            Reach::User { user_id, endpoints } => {
                let conversation = self
                    .conversations
                    .get_mut(conversation_id)
                    .ok_or((ResultCode::CannotRoute, None))?;
                let participant = conversation.add(Member::new(info, None, Presence::Ringing));
                fx.rings.push(RingUser {
                    user_id,
                    endpoints,
                    conversation: conversation_id.clone(),
                    participant: participant.clone(),
                    caller: source,
                });
                Ok(participant)
            }
            Reach::App(app) => {
                if app.calling_webhook.is_none() {
                    return Err((
                        ResultCode::NoCalleeEndpoints,
                        Some(format!(
                            "application '{}' has no calling webhook",
                            app.app_id
                        )),
                    ));
                }
                let mut leg = self.new_leg(app, CallDirection::Incoming, CallState::Incoming, now);
                leg.deadlines.answer =
                    Some(answer_deadline.unwrap_or(now + self.timers.answer_window));
                leg.source = source;
                leg.targets = vec![target.info.clone()];
                leg.conversation = conversation_id.clone();
                let conversation = self
                    .conversations
                    .get_mut(conversation_id)
                    .ok_or((ResultCode::CannotRoute, None))?;
                leg.participant =
                    conversation.add(Member::new(info, Some(leg.id.clone()), Presence::Ringing));
                fx.notifications.extend(notify::incoming(&leg));
                fx.journal.extend(JournalEntry::live(&leg));
                let participant = leg.participant.clone();
                self.calls.insert(leg.id.clone(), leg);
                Ok(participant)
            }
        }
    }

    /// Applies an event to a leg: notifies a move, or ends the leg.
    pub(super) fn apply(
        &mut self,
        call_id: &CallId,
        event: CallEvent,
        detail: Option<String>,
        fx: &mut Effects,
    ) -> Result<Transition, IllegalRequest> {
        self.apply_leaving(call_id, event, detail, Departure::Left, fx)
    }

    /// Like [`CallRegistry::apply`], saying how the leg's member departs if the leg ends.
    pub(super) fn apply_leaving(
        &mut self,
        call_id: &CallId,
        event: CallEvent,
        detail: Option<String>,
        departure: Departure,
        fx: &mut Effects,
    ) -> Result<Transition, IllegalRequest> {
        let Some(call) = self.calls.get_mut(call_id) else {
            return Ok(Transition::Unchanged);
        };
        let transition = call.state.apply(event)?;
        match transition {
            Transition::Moved { to, result } => {
                call.state = to;
                call.result_info = result.map(|code| code.result_info(detail.as_deref()));
                fx.notifications.extend(notify::state_changed(call));
                if to == CallState::Terminating {
                    fx.media.push(MediaCommand::CloseLeg {
                        call: call_id.clone(),
                    });
                    call.media_opened = false;
                }
            }
            Transition::Ended(code) => self.end_leg(call_id, code, detail, departure, fx),
            Transition::Unchanged => {}
        }
        Ok(transition)
    }

    /// Sends `OpenLeg` for a leg whose media is not open yet.
    pub(super) fn open_media(&mut self, call_id: &CallId, fx: &mut Effects) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if call.media_opened {
            return;
        }
        call.media_opened = true;
        let participants = || {
            self.conversations
                .get(&call.conversation)
                .map(Conversation::stream_participants)
                .unwrap_or_default()
        };
        let (hosting, prefetch) = match (&call.media_config, &call.media_socket) {
            (Some(MediaConfig::AppHosted(_)), Some(socket)) => (
                Hosting::App(Box::new(AppHosted {
                    socket: socket.clone(),
                    app_id: call.owner.app_id.clone(),
                    tenant_id: call.owner.tenant_id.clone(),
                    participants: participants(),
                })),
                Vec::new(),
            ),
            (Some(config), _) => (
                Hosting::Service,
                config
                    .pre_fetch_media()
                    .iter()
                    .map(|m| validate::PromptSource {
                        uri: m.uri.clone(),
                        resource_id: m.resource_id.clone(),
                    })
                    .collect(),
            ),
            (None, _) => (Hosting::Service, Vec::new()),
        };
        let source_id = self
            .conversations
            .get(&call.conversation)
            .and_then(|c| c.member(&call.participant))
            .map_or(0, |m| m.source_id);
        fx.media.push(MediaCommand::OpenLeg {
            call: call_id.clone(),
            conversation: call.conversation.clone(),
            participant: call.participant.clone(),
            source_id,
            hosting,
            prefetch,
        });
    }

    /// Ends a leg: `deleted` with the reason, media closed, the leg forgotten, and its member
    /// removed from the conversation (with the consequences for the others).
    pub(super) fn end_leg(
        &mut self,
        call_id: &CallId,
        code: ResultCode,
        detail: Option<String>,
        departure: Departure,
        fx: &mut Effects,
    ) {
        let Some(mut call) = self.calls.remove(call_id) else {
            return;
        };
        call.state = CallState::Terminated;
        call.result_info = Some(code.result_info(detail.as_deref()));
        fx.notifications.extend(notify::ended(&call));
        fx.journal.push(JournalEntry::Ended(call_id.clone()));
        if call.media_opened {
            fx.media.push(MediaCommand::CloseLeg {
                call: call_id.clone(),
            });
        }
        self.transferor_left(&call.conversation, call.pending_transfer.take(), fx);
        let departure = if code == ResultCode::TransferCompleted {
            Departure::Transferred
        } else {
            departure
        };
        self.member_left(&call.conversation.clone(), &call.participant, departure, fx);
    }

    /// Ends every call (server shutdown), each with 200/5003.
    pub fn end_all(&mut self, fx: &mut Effects) {
        let mut calls: Vec<_> = self.calls.drain().map(|(_, call)| call).collect();
        calls.sort_by(|a, b| a.id.cmp(&b.id));
        for mut call in calls {
            call.state = CallState::Terminated;
            call.result_info = Some(ResultCode::ServerShutdown.result_info(None));
            fx.notifications.extend(notify::ended(&call));
            fx.journal.push(JournalEntry::Ended(call.id.clone()));
            if call.media_opened {
                fx.media.push(MediaCommand::CloseLeg {
                    call: call.id.clone(),
                });
            }
        }
        self.conversations.clear();
        self.meetings.clear();
    }
}

#[cfg(test)]
#[path = "legs_tests.rs"]
mod tests;
