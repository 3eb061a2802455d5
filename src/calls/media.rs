//! The boundary between the control plane (calls, operations) and the media plane (worker
//! threads running one `MediaSession` per leg).
//!
//! Commands flow down through [`MediaPlane::submit`], which must never block: the media plane
//! puts them on the bounded lock-free queue of the worker that owns the call and refuses when it
//! is full. Events flow up through a [`MediaEventSink`], which the media plane may call from any
//! thread (it never blocks either). Both speak in domain terms: calls, conversations,
//! participants, operations, DTMF keys and prompt sources — no Graph JSON, no HTTP.
//!
//! Contract, per command (the media plane implements it; the control plane relies on it):
//!
//! | command | reply event |
//! |---|---|
//! | `OpenLeg` | exactly one `LegReady` or `LegFailed` |
//! | `CloseLeg` | none; the leg's queued and running operations are dropped silently |
//! | `PlayPrompts`, `Record`, `SendDtmf` | exactly one `OperationFinished` for that operation |
//! | `CancelMediaProcessing` | one `OperationFinished` (outcome `OperationCanceled`) per running or queued prompt, record and DTMF operation of the leg |
//! | `SubscribeTones` | none; from then on one `ToneDetected` per key press heard on the leg |
//! | `SetSelfMuted`, `SetServerMuted`, `SetParticipants` | none |
//!
//! An `OpenLeg` with app-hosted media also dials the bot's media socket: a socket that cannot be
//! kept (refused, or lost for longer than the reconnect window) ends the leg with `LegFailed`.
//!
//! Unasked: `SpeakingChanged` for participants whose audio the media plane decodes (in a
//! conversation of three or more, everyone's), rate-limited per participant; and, for a person's
//! WebRTC leg (opened by the signaling layer, see `media_plane::webrtc_legs`), `LegReady` when
//! ICE and DTLS complete and `LegFailed` when it fails, vanishes or is hung up by the browser
//! (DTLS close_notify; its detail says "hung up"), naming that leg's call id.
//!
//! Operations of one leg run in the order submitted, except that a `Record` with
//! `barge_in_allowed` first cancels (reports `OperationCanceled` for) the leg's running and
//! queued prompt and record operations. Events about a leg after its `CloseLeg` are ignored.

use std::time::Duration;

use switchboard_media::dtmf::Digit;

use super::ids::{CallId, ConversationId, OperationId, ParticipantId};
use super::result_codes::ResultCode;
use super::validate::{PromptSource, RecordResponse};

/// Who runs a leg's media.
#[derive(Debug, Clone, PartialEq)]
pub enum Hosting {
    /// Switchboard runs the media (serviceHostedMediaConfig): prompts, recording, tones.
    Service,
    /// The bot runs its own media (appHostedMediaConfig): Switchboard dials the bot's media
    /// socket and carries the leg's audio both ways over it; it runs no media actions.
    App(Box<AppHosted>),
}

/// What the media plane needs to open an app-hosted leg's media socket.
#[derive(Debug, Clone, PartialEq)]
pub struct AppHosted {
    /// Where and how to dial, from the call's `appHostedMediaConfig.blob`.
    pub socket: MediaSocketConfig,
    /// The bot's application (the audience of the dial's JWT).
    pub app_id: String,
    /// The application's tenant (the JWT's `tid`).
    pub tenant_id: String,
    /// The conversation's joined participants when the leg opens, for the socket's `start`.
    pub participants: Vec<StreamParticipant>,
}

/// An app-hosted bot's media socket settings: its `appHostedMediaConfig.blob`, parsed and checked
/// (`calls::validate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSocketConfig {
    /// The bot's WebSocket URL (`ws://` or `wss://`), dialled by Switchboard.
    pub url: String,
    /// Echoed to the bot in the `X-Switchboard-Auth-Token` header of every dial.
    pub auth_token: Option<String>,
    /// Which way audio flows on the socket.
    pub directions: StreamDirections,
    /// Whether the bot gets the mix of everyone it hears (source id 0).
    pub mixed: bool,
    /// Whether the bot gets one frame per active speaker, each with its source id.
    pub unmixed: bool,
}

/// Which way audio flows on a media socket (Graph's `StreamDirections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamDirections {
    /// The bot hears the call and speaks into it.
    SendRecv,
    /// The bot only hears the call; audio it sends is ignored.
    RecvOnly,
    /// The bot only speaks into the call; it is sent no audio.
    SendOnly,
}

impl StreamDirections {
    /// Whether the bot is sent the call's audio.
    pub fn bot_hears(self) -> bool {
        !matches!(self, StreamDirections::SendOnly)
    }

    /// Whether the bot's audio is played into the call.
    pub fn bot_speaks(self) -> bool {
        !matches!(self, StreamDirections::RecvOnly)
    }

    /// The name in the blob and in the socket's `start` message.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamDirections::SendRecv => "sendrecv",
            StreamDirections::RecvOnly => "recvonly",
            StreamDirections::SendOnly => "sendonly",
        }
    }
}

/// A participant as an app-hosted bot's media socket lists it: the number its audio frames carry
/// (`sourceId`, the same as the participant's `mediaStreams[0].sourceId`) and who it is.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamParticipant {
    /// The participant id, as in the roster.
    pub id: ParticipantId,
    /// The number its unmixed audio frames carry; never 0 (0 is the mix).
    pub source_id: u32,
    /// Who it is: the participant's identity set as the roster shows it.
    pub identity: Option<crate::graph::IdentitySet>,
}

/// A command from the control plane to the media plane.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Set up media for a leg that has been answered: join it to its conversation's audio.
    OpenLeg {
        /// The bot's call whose media is set up (its id in `/communications/calls/{id}`).
        call: CallId,
        /// The conversation whose other legs it hears and is heard by.
        conversation: ConversationId,
        /// The leg's participant id, used to name who pressed a key.
        participant: ParticipantId,
        /// The number the leg's audio is known by on app-hosted bots' media sockets.
        source_id: u32,
        /// Service-hosted or app-hosted, from the call's `mediaConfig`.
        hosting: Hosting,
        /// Prompts to fetch and cache now (`preFetchMedia`).
        prefetch: Vec<PromptSource>,
    },
    /// Tear down a leg's media.
    CloseLeg {
        /// The bot's call that is terminating or ended; its operations are dropped unreported.
        call: CallId,
    },
    /// Play prompts in order into the leg (heard by the conversation's other participants).
    PlayPrompts {
        /// The bot's call the prompts play into (heard by the other participants).
        call: CallId,
        /// The playPrompt operation to report finished when the last prompt has played.
        operation: OperationId,
        /// The prompts, in order.
        prompts: Vec<PromptSource>,
    },
    /// Record what the leg hears (recordResponse).
    Record {
        /// The bot's call whose incoming audio (the other participants) is recorded.
        call: CallId,
        /// The recordResponse operation to report finished, with the clip, when recording stops.
        operation: OperationId,
        /// Prompt, beep, timers, stop tones, barge-in.
        settings: RecordResponse,
    },
    /// Start reporting key presses heard on the leg.
    SubscribeTones {
        /// The bot's call that sent subscribeToTone.
        call: CallId,
    },
    /// Send keys in-band as audio.
    SendDtmf {
        /// The bot's call whose outbound audio carries the tones.
        call: CallId,
        /// The sendDtmfTones operation to report finished when the last tone has been sent.
        operation: OperationId,
        /// Keys in order.
        tones: Vec<Digit>,
        /// Pause between keys.
        delay_between: Duration,
    },
    /// Cancel the leg's running and queued prompt, record and DTMF operations.
    CancelMediaProcessing {
        /// The bot's call that sent cancelMediaProcessing.
        call: CallId,
    },
    /// The bot mutes (or unmutes) itself: its outbound audio becomes silence.
    SetSelfMuted {
        /// The bot's call that sent mute or unmute.
        call: CallId,
        /// True to send silence, false to send the bot's audio again.
        muted: bool,
    },
    /// A server mute: drop the audio a participant sends into the conversation.
    SetServerMuted {
        /// The conversation whose mix the participant's audio is dropped from.
        conversation: ConversationId,
        /// The participant whose audio is dropped.
        participant: ParticipantId,
        /// True to drop the participant's audio, false to mix it again.
        muted: bool,
    },
    /// The conversation's participants changed: an app-hosted leg's media socket shows them
    /// (`participantsUpdated`).
    SetParticipants {
        /// The app-hosted bot's call whose socket is told.
        call: CallId,
        /// Every joined participant, the bot itself included, in roster order.
        participants: Vec<StreamParticipant>,
    },
}

impl MediaCommand {
    /// The leg the command is about, if it is about one leg.
    pub fn call(&self) -> Option<&CallId> {
        match self {
            MediaCommand::OpenLeg { call, .. }
            | MediaCommand::CloseLeg { call }
            | MediaCommand::PlayPrompts { call, .. }
            | MediaCommand::Record { call, .. }
            | MediaCommand::SubscribeTones { call }
            | MediaCommand::SendDtmf { call, .. }
            | MediaCommand::CancelMediaProcessing { call }
            | MediaCommand::SetSelfMuted { call, .. }
            | MediaCommand::SetParticipants { call, .. } => Some(call),
            MediaCommand::SetServerMuted { .. } => None,
        }
    }
}

/// A recorded clip, served by the media plane at `location` to holders of `access_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Absolute URL of the clip.
    pub location: String,
    /// Bearer token that unlocks it.
    pub access_token: String,
}

/// How a media operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationOutcome {
    /// The outcome, from the one result-code table.
    pub result: ResultCode,
    /// What exactly happened, in words (the format that was wrong, the URL that failed…).
    pub detail: Option<String>,
    /// The clip of a record operation.
    pub recording: Option<Recording>,
}

/// An event from the media plane to the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// The leg's media is up: the call becomes established.
    LegReady {
        /// The call that becomes established (a bot's call, or a person's WebRTC leg).
        call: CallId,
    },
    /// The leg's media could not be set up or was lost: the call ends with 410/301005.
    LegFailed {
        /// The call that ends (a bot's call, or a person's WebRTC leg).
        call: CallId,
        /// Why, in words.
        detail: String,
    },
    /// A key press heard on a leg that subscribed to tones.
    ToneDetected {
        /// The bot's call that subscribed to tones and heard the key.
        call: CallId,
        /// The key pressed: 0–9, `*`, `#` or A–D (reported as `toneInfo.tone`).
        tone: Digit,
        /// Who pressed it (the participant whose audio carried it), when known.
        participant: Option<ParticipantId>,
    },
    /// A participant started or stopped speaking (a hint for rosters: at most one change per
    /// participant every 500 ms, measured against that participant's own noise floor).
    SpeakingChanged {
        /// The conversation the participant is speaking in.
        conversation: ConversationId,
        /// The participant whose speaking changed (its roster id).
        participant: ParticipantId,
        /// Speaking now, or not.
        speaking: bool,
    },
    /// A prompt, record or DTMF operation ended.
    OperationFinished {
        /// The bot's call the operation belongs to.
        call: CallId,
        /// The playPrompt, recordResponse or sendDtmfTones operation that ended.
        operation: OperationId,
        /// How it ended.
        outcome: OperationOutcome,
    },
}

/// The media plane refused a command because the owning worker's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the media plane's command queue is full; try again shortly")]
pub struct MediaPlaneBusy;

/// What the control plane hands media commands to. Implemented by the media plane.
pub trait MediaPlane: Send + Sync + 'static {
    /// Queues a command for the worker owning its call. Never blocks.
    fn submit(&self, command: MediaCommand) -> Result<(), MediaPlaneBusy>;
}

/// Where the media plane sends events. Cheap to clone; callable from any thread; never blocks.
#[derive(Debug, Clone)]
pub struct MediaEventSink {
    sender: tokio::sync::mpsc::Sender<MediaEvent>,
}

/// The control plane could not take an event because its queue is full; the media plane counts
/// and reports these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the control plane's event queue is full; event dropped: {0:?}")]
pub struct EventQueueFull(pub Box<MediaEvent>);

impl MediaEventSink {
    /// A sink and the receiver the control plane reads, holding at most `capacity` events.
    pub fn channel(capacity: usize) -> (MediaEventSink, tokio::sync::mpsc::Receiver<MediaEvent>) {
        let (sender, receiver) = tokio::sync::mpsc::channel(capacity);
        (MediaEventSink { sender }, receiver)
    }

    /// Sends an event without waiting.
    pub fn push(&self, event: MediaEvent) -> Result<(), EventQueueFull> {
        self.sender
            .try_send(event)
            .map_err(|e| EventQueueFull(Box::new(e.into_inner())))
    }
}

#[cfg(test)]
#[path = "media_signalling_only.rs"]
pub(crate) mod signalling_only;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_event_queue_is_reported_not_waited_on() {
        let (sink, _events) = MediaEventSink::channel(1);
        let call = CallId::from("c");
        sink.push(MediaEvent::LegReady { call: call.clone() })
            .unwrap();
        let err = sink
            .push(MediaEvent::LegReady { call: call.clone() })
            .unwrap_err();
        assert_eq!(*err.0, MediaEvent::LegReady { call });
    }
}
