//! One call as one app sees it (a leg of a conversation), its deadlines, and its Graph view.

use std::time::{Duration, Instant};

use super::ids::{CallId, ConversationId, ParticipantId};
use super::media::MediaSocketConfig;
use super::operations::Operation;
use super::state::CallState;
use crate::graph::odata::type_name;
use crate::graph::{
    self, CallDirection, CallMediaState, CallOptions, ChatInfo, IdentitySet,
    InvitationParticipantInfo, MediaConfig, MediaState, MeetingInfo, Modality, ParticipantInfo,
    ResultInfo,
};

/// The application that owns a call, as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRef {
    /// The app (client) id.
    pub app_id: String,
    /// The app's tenant.
    pub tenant_id: String,
    /// The app's display name.
    pub display_name: Option<String>,
    /// The app's registered calling webhook, used when a call has no `callbackUri`.
    pub calling_webhook: Option<String>,
}

impl AppRef {
    /// The app's identity as a participant.
    pub fn participant_info(&self) -> ParticipantInfo {
        let mut identity = IdentitySet::application(self.app_id.clone(), self.display_name.clone());
        if let Some(app) = identity.application.as_mut() {
            app.tenant_id = Some(self.tenant_id.clone());
        }
        ParticipantInfo::new(identity)
    }
}

/// How long the timers of a call run. The defaults are Graph's; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimers {
    /// Time for an app to answer, reject or redirect an incoming call (Graph: 15 s).
    pub answer_window: Duration,
    /// Longest time without keepAlive before a call is ended (Graph: 45 minutes).
    pub keep_alive_window: Duration,
    /// Longest a transfer may wait for its target before it is reported failed.
    pub transfer_timeout: Duration,
    /// How long a user's softphone endpoints ring before the attempt ends with 408/10057.
    pub user_ring_window: Duration,
}

impl Default for CallTimers {
    fn default() -> CallTimers {
        CallTimers {
            answer_window: Duration::from_secs(15),
            keep_alive_window: Duration::from_secs(45 * 60),
            transfer_timeout: Duration::from_secs(60),
            user_ring_window: Duration::from_secs(30),
        }
    }
}

/// Which deadline of a call fell due. Declared in the order same-instant deadlines are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineKind {
    /// The ring time of redirect targets, on the caller's leg.
    Ring,
    /// The time a transfer may take.
    Transfer,
    /// The answer window of an incoming call.
    Answer,
    /// No keepAlive came within the keepAlive window; the call ends with 408/8537.
    KeepAlive,
}

/// A call's pending deadlines, as data: the runtime sleeps until [`Deadlines::next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Answer, reject or redirect by then (incoming calls only).
    pub answer: Option<Instant>,
    /// The next keepAlive is due by then.
    pub keep_alive: Instant,
    /// Redirect targets ring until then.
    pub ring: Option<Instant>,
    /// A transfer fails if not completed by then.
    pub transfer: Option<Instant>,
}

impl Deadlines {
    /// The earliest pending deadline.
    pub fn next(&self) -> Instant {
        [self.answer, Some(self.keep_alive), self.ring, self.transfer]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.keep_alive)
    }

    /// The earliest deadline due at `now` and its kind, without clearing it. Of deadlines due
    /// at the same instant, ring and transfer come before answer and keepAlive, so a caller's
    /// ring timeout is reported before the callee legs it ends.
    pub fn earliest_due(&self, now: Instant) -> Option<(Instant, DeadlineKind)> {
        [
            (self.ring, DeadlineKind::Ring),
            (self.transfer, DeadlineKind::Transfer),
            (self.answer, DeadlineKind::Answer),
            (Some(self.keep_alive), DeadlineKind::KeepAlive),
        ]
        .into_iter()
        .enumerate()
        .filter_map(|(rank, (at, kind))| at.filter(|at| *at <= now).map(|at| (at, rank, kind)))
        .min_by_key(|(at, rank, _)| (*at, *rank))
        .map(|(at, _, kind)| (at, kind))
    }

    /// The deadline due at `now`, earliest first, and clears it.
    pub fn take_due(&mut self, now: Instant) -> Option<DeadlineKind> {
        let (_, kind) = self.earliest_due(now)?;
        match kind {
            DeadlineKind::Answer => self.answer = None,
            DeadlineKind::Ring => self.ring = None,
            DeadlineKind::Transfer => self.transfer = None,
            // A fired keepAlive ends the call; push it out so it cannot fire twice.
            DeadlineKind::KeepAlive => self.keep_alive = now + Duration::from_secs(365 * 24 * 3600),
        }
        Some(kind)
    }
}

/// One app's leg of a conversation.
#[derive(Debug, Clone)]
pub struct Call {
    /// The id in `/communications/calls/{id}`; each leg of a conversation has its own.
    pub id: CallId,
    /// The app the call belongs to: only it may act on the call, and its webhook is the fallback.
    pub owner: AppRef,
    /// The conversation this leg belongs to (`callChainId`).
    pub conversation: ConversationId,
    /// This leg's participant id (`myParticipantId`).
    pub participant: ParticipantId,
    /// Incoming or outgoing.
    pub direction: CallDirection,
    /// Where it stands.
    pub state: CallState,
    /// The call's own callback URI, if one was given.
    pub callback_uri: Option<String>,
    /// Who placed the call (Graph's `source`); for a call the app placed, the app itself.
    pub source: ParticipantInfo,
    /// Who the call rings or rang (Graph's `targets`), as the caller sent them.
    pub targets: Vec<InvitationParticipantInfo>,
    /// The modalities the app asked for or accepted; audio is always among them.
    pub modalities: Vec<Modality>,
    /// Who hosts the media; `None` until an incoming call is answered.
    pub media_config: Option<MediaConfig>,
    /// The app-hosted bot's media socket (from `mediaConfig.blob`); `None` for service-hosted.
    pub media_socket: Option<MediaSocketConfig>,
    /// The meeting's chat thread (`chatInfo`), for a call that joins a meeting.
    pub chat_info: Option<ChatInfo>,
    /// How the app named the meeting it joins (`meetingInfo`), echoed in the call's view.
    pub meeting_info: Option<MeetingInfo>,
    /// The group call's subject, as its creator gave it.
    pub subject: Option<String>,
    /// The app's `callOptions` (roster and escalation flags), echoed with the direction's type.
    pub call_options: Option<CallOptions>,
    /// Why the call ended, or why the last transfer failed.
    pub result_info: Option<ResultInfo>,
    /// Whether `OpenLeg` has been sent for this leg.
    pub media_opened: bool,
    /// Whether the app subscribed to tones.
    pub tones_subscribed: bool,
    /// The last tone sequence id sent.
    pub tone_sequence: i64,
    /// The call's operations, oldest first.
    pub operations: Vec<Operation>,
    /// Pending deadlines.
    pub deadlines: Deadlines,
    /// The participant a transfer from this leg is ringing.
    pub pending_transfer: Option<ParticipantId>,
}

impl Call {
    /// The Graph path of the call.
    pub fn path(&self) -> String {
        format!("/communications/calls/{}", self.id)
    }

    /// Where notifications go: the call's callback URI, else the app's calling webhook.
    pub fn notification_uri(&self) -> Option<&str> {
        self.callback_uri
            .as_deref()
            .or(self.owner.calling_webhook.as_deref())
    }

    /// Whether the call's media is hosted by Switchboard (so media actions are allowed).
    pub fn is_service_hosted(&self) -> bool {
        self.media_config
            .as_ref()
            .is_none_or(MediaConfig::is_service_hosted)
    }

    /// The call's operation with this id.
    pub fn operation_mut(&mut self, id: &str) -> Option<&mut Operation> {
        self.operations.iter_mut().find(|op| op.id.as_str() == id)
    }

    /// The full Graph view of the call (GET, create response, incoming notification).
    pub fn view(&self) -> graph::Call {
        let mut call_options = self.call_options.clone();
        if let Some(options) = call_options.as_mut() {
            options.odata_type = Some(type_name(match self.direction {
                CallDirection::Outgoing => "outgoingCallOptions",
                CallDirection::Incoming => "incomingCallOptions",
            }));
        }
        graph::Call {
            odata_type: Some(type_name("call")),
            id: Some(self.id.to_string()),
            state: Some(self.state),
            direction: Some(self.direction),
            callback_uri: self.notification_uri().map(str::to_owned),
            source: Some(self.source.clone()),
            targets: Some(self.targets.clone()),
            requested_modalities: Some(self.modalities.clone()),
            media_config: self.media_config.clone(),
            media_state: Some(CallMediaState {
                audio: if self.state.media_active() {
                    MediaState::Active
                } else {
                    MediaState::Inactive
                },
            }),
            chat_info: self.chat_info.clone(),
            meeting_info: self.meeting_info.clone(),
            tenant_id: Some(self.owner.tenant_id.clone()),
            my_participant_id: Some(self.participant.to_string()),
            result_info: self.result_info.clone(),
            call_chain_id: Some(self.conversation.to_string()),
            call_options,
            subject: self.subject.clone(),
            ..graph::Call::default()
        }
    }

    /// The partial view sent with a state change: type, id, state, direction, and the result
    /// when there is one.
    pub fn state_view(&self) -> graph::Call {
        graph::Call {
            odata_type: Some(type_name("call")),
            odata_id: Some(self.path()),
            id: Some(self.id.to_string()),
            state: Some(self.state),
            direction: Some(self.direction),
            callback_uri: self.notification_uri().map(str::to_owned),
            my_participant_id: Some(self.participant.to_string()),
            result_info: self.result_info.clone(),
            ..graph::Call::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_fire_earliest_first_and_only_once() {
        let t0 = Instant::now();
        let mut deadlines = Deadlines {
            answer: Some(t0 + Duration::from_secs(15)),
            keep_alive: t0 + Duration::from_secs(2700),
            ring: None,
            transfer: Some(t0 + Duration::from_secs(10)),
        };
        assert_eq!(deadlines.next(), t0 + Duration::from_secs(10));
        assert_eq!(deadlines.take_due(t0 + Duration::from_secs(9)), None);
        let late = t0 + Duration::from_secs(20);
        assert_eq!(deadlines.take_due(late), Some(DeadlineKind::Transfer));
        assert_eq!(deadlines.take_due(late), Some(DeadlineKind::Answer));
        assert_eq!(deadlines.take_due(late), None);
        assert_eq!(deadlines.next(), t0 + Duration::from_secs(2700));
        let end = t0 + Duration::from_secs(2700);
        assert_eq!(deadlines.take_due(end), Some(DeadlineKind::KeepAlive));
        assert_eq!(deadlines.take_due(end), None, "keepAlive fires once");
    }

    #[test]
    fn default_timers_are_graphs() {
        let timers = CallTimers::default();
        assert_eq!(timers.answer_window, Duration::from_secs(15));
        assert_eq!(timers.keep_alive_window, Duration::from_secs(2700));
    }
}
