//! What travels on a worker's queue: the control plane's own [`MediaCommand`]s, each with the
//! audio the engine resolved for it while routing it (or marked as still being fetched), and two
//! commands of the media plane's own: a browser's offer (from the signaling layer) and the result
//! of a prompt fetch.

use std::sync::Arc;

use switchboard_media::Prompt;
use tokio::sync::oneshot;

use super::app_stream::AppStream;
use super::webrtc_legs::{WebRtcAnswer, WebRtcLeg, WebRtcOfferError};

use crate::calls::ids::{CallId, OperationId};
use crate::calls::media::MediaCommand;
use crate::calls::result_codes::ResultCode;

/// Why an operation's audio could not be made ready: the outcome code and the words for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptFailure {
    /// `MediaUnusable` for bad audio or a refused fetch, `OperationMediaFailure` for our faults.
    pub result: ResultCode,
    /// What was wrong, naming the prompt, the value and what is allowed.
    pub detail: String,
}

/// The audio an operation plays, as far as it is known when the command is queued.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Still being fetched or encoded; a [`WorkerCommand::Resolved`] follows.
    Pending,
    /// Ready to play (for a record: its prompt, if any; the beep is added by the worker).
    Ready(Vec<Arc<Prompt>>),
    /// Unusable: the operation fails with this when it reaches the head of its leg's queue.
    Failed(PromptFailure),
}

impl Resolution {
    /// No audio: what commands that play nothing carry, and a record without a prompt.
    pub const NONE: Resolution = Resolution::Ready(Vec::new());
}

/// One entry of a worker's command queue.
#[derive(Debug)]
pub enum WorkerCommand {
    /// A control-plane command, as submitted, with the audio the engine resolved for it while
    /// routing it.
    Media {
        /// The call layer's command, unchanged since it left the registry.
        command: MediaCommand,
        /// What it plays: the prompts of `PlayPrompts`, the prompt of `Record` (none when it has
        /// none; the worker adds the beep), the keys of `SendDtmf` as one prompt;
        /// [`Resolution::NONE`] for the commands that play nothing.
        audio: Resolution,
    },
    /// Answer a browser's SDP offer and join its leg to the conversation.
    AcceptOffer {
        /// The browser's leg.
        leg: WebRtcLeg,
        /// The browser's SDP offer.
        offer: String,
        /// Where the answer (or the refusal) goes.
        reply: oneshot::Sender<Result<WebRtcAnswer, WebRtcOfferError>>,
    },
    /// The audio of an operation queued as `Pending` is ready, or unusable.
    Resolved {
        /// The leg the operation runs on.
        call: CallId,
        /// The operation waiting for its audio.
        operation: OperationId,
        /// The prompts, or why they are unusable.
        prompts: Result<Vec<Arc<Prompt>>, PromptFailure>,
    },
    /// An app-hosted leg's lane to its media socket, made by the engine when it opened the leg;
    /// follows that leg's `OpenLeg` on the same queue.
    AttachStream {
        /// The app-hosted bot's leg.
        call: CallId,
        /// The lane its audio and notices cross.
        stream: Arc<AppStream>,
    },
}

impl WorkerCommand {
    /// `command` carrying no audio: for the commands that play nothing.
    pub fn media(command: MediaCommand) -> WorkerCommand {
        WorkerCommand::Media {
            command,
            audio: Resolution::NONE,
        }
    }
}
