//! The call registry: every live call and conversation, and the rules that tie legs together
//! (ringing, answering, ending, redirecting). Plain data and functions: every method takes the
//! time as an argument and returns its consequences as [`Effects`] for the runtime to carry out,
//! so tests drive it without sockets, tasks or clocks.

use std::collections::HashMap;
use std::time::Instant;

use super::call::{AppRef, Call, CallTimers, Deadlines};
use super::conversation::{Conversation, ConversationKind, Member, Presence};
use super::endpoints::{Reach, RingUser};
use super::ids::{CallId, ConversationId, ParticipantId};
use super::media::MediaCommand;
use super::notify::{self, Outbound};
use super::result_codes::ResultCode;
use super::state::{CallEvent, CallState, IllegalRequest, Transition};
use super::validate::{self, InvalidField, Target};
use crate::graph::{CallDirection, ParticipantInfo};

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
    pub users: Vec<super::registry_users::UserNotice>,
}

/// Why a request on a call was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No such call, participant or operation for this app (another app's ids are unknown too).
    #[error("{what} '{id}' was not found")]
    NotFound {
        /// `call`, `participant`, `operation` or `meeting`.
        what: &'static str,
        /// The id asked for.
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
        /// The request.
        request: &'static str,
    },
    /// A media action before the call's media is up (an outgoing call still ringing).
    #[error(
        "{request} is not allowed until the call's media is connected; the call is {state} and not answered yet"
    )]
    MediaNotConnected {
        /// The request.
        request: &'static str,
        /// The call's state.
        state: CallState,
    },
}

/// The live calls and conversations.
#[derive(Debug, Default)]
pub struct CallRegistry {
    pub(crate) calls: HashMap<CallId, Call>,
    pub(crate) conversations: HashMap<ConversationId, Conversation>,
    pub(crate) meetings: HashMap<String, ConversationId>,
    pub(crate) timers: CallTimers,
}

/// Why a member left, which decides what happens to the rest of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Departure {
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
            .ok_or_else(|| CallError::NotFound {
                what: "call",
                id: id.to_owned(),
            })
    }

    pub(crate) fn call_mut(&mut self, app_id: &str, id: &str) -> Result<&mut Call, CallError> {
        self.calls
            .get_mut(&CallId::from(id))
            .filter(|c| c.owner.app_id == app_id)
            .ok_or_else(|| CallError::NotFound {
                what: "call",
                id: id.to_owned(),
            })
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

    /// The conversation of a call.
    pub fn conversation_of(&self, call: &Call) -> Option<&Conversation> {
        self.conversations.get(&call.conversation)
    }

    /// The earliest deadline of any call, for the runtime's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.calls.values().map(|c| c.deadlines.next()).min()
    }

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
        self.calls.insert(call_id.clone(), call);
        if opens_at_once {
            // A group creator or meeting joiner is in the conversation at once.
            self.open_media(&call_id, fx);
            self.roster_changed(&conversation_id, fx);
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
    pub(crate) fn ring(
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
                let participant = leg.participant.clone();
                self.calls.insert(leg.id.clone(), leg);
                Ok(participant)
            }
        }
    }

    /// Applies an event to a leg: notifies a move, or ends the leg.
    pub(crate) fn apply(
        &mut self,
        call_id: &CallId,
        event: CallEvent,
        detail: Option<String>,
        fx: &mut Effects,
    ) -> Result<Transition, IllegalRequest> {
        self.apply_leaving(call_id, event, detail, Departure::Left, fx)
    }

    /// Like [`CallRegistry::apply`], saying how the leg's member departs if the leg ends.
    pub(crate) fn apply_leaving(
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

    /// Ends a leg: `deleted` with the reason, media closed, the leg forgotten, and its member
    /// removed from the conversation (with the consequences for the others).
    pub(crate) fn end_leg(
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
        if call.media_opened {
            fx.media.push(MediaCommand::CloseLeg {
                call: call_id.clone(),
            });
        }
        if let Some(target) = call.pending_transfer.take() {
            // The transferring leg is gone: stop ringing its target.
            self.end_member(
                &call.conversation,
                &target,
                ResultCode::EndedByPeer,
                Some("the transferor left".into()),
                Departure::Left,
                fx,
            );
        }
        let departure = if code == ResultCode::TransferCompleted {
            Departure::Transferred
        } else {
            departure
        };
        self.member_left(&call.conversation.clone(), &call.participant, departure, fx);
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
}
