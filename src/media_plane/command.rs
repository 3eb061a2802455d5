//! What travels on a worker's queue: the control plane's commands with their prompts resolved
//! (or marked as still being fetched), and the results of prompt fetches.

use std::sync::Arc;

use switchboard_media::Prompt;
use tokio::sync::oneshot;

use super::webrtc_legs::{WebRtcAnswer, WebRtcLeg, WebRtcOfferError};

use crate::calls::ids::{CallId, ConversationId, OperationId, ParticipantId};
use crate::calls::media::Hosting;
use crate::calls::result_codes::ResultCode;
use crate::calls::validate::RecordResponse;

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

/// One entry of a worker's command queue.
#[derive(Debug)]
pub enum WorkerCommand {
    /// Join a leg to its conversation's audio.
    Open {
        /// The leg.
        call: CallId,
        /// Its conversation.
        conversation: ConversationId,
        /// Its participant id (named in tone events of other legs).
        participant: ParticipantId,
        /// Who runs its media.
        hosting: Hosting,
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
    /// Tear a leg down (a bot's or a browser's); its operations are dropped without replies.
    Close {
        /// The leg.
        call: CallId,
    },
    /// Queue a playPrompt.
    Play {
        /// The leg.
        call: CallId,
        /// The operation.
        operation: OperationId,
        /// The prompts.
        prompts: Resolution,
    },
    /// Queue (or, with barge-in, start) a recordResponse.
    Record {
        /// The leg.
        call: CallId,
        /// The operation.
        operation: OperationId,
        /// The request.
        settings: Box<RecordResponse>,
        /// Its prompt (empty when it has none).
        prompt: Resolution,
    },
    /// Queue a sendDtmfTones: the keys as one synthesised prompt.
    SendDtmf {
        /// The leg.
        call: CallId,
        /// The operation.
        operation: OperationId,
        /// The tones.
        tones: Resolution,
    },
    /// Report key presses heard on the leg from now on.
    SubscribeTones {
        /// The leg.
        call: CallId,
    },
    /// Cancel the leg's running and queued media operations.
    Cancel {
        /// The leg.
        call: CallId,
    },
    /// The bot's own audio becomes silence (or not).
    SelfMute {
        /// The leg.
        call: CallId,
        /// Muted or not.
        muted: bool,
    },
    /// A participant's audio is replaced by silence for everyone in the conversation (or not).
    ServerMute {
        /// The conversation.
        conversation: ConversationId,
        /// The participant.
        participant: ParticipantId,
        /// Muted or not.
        muted: bool,
    },
    /// A `Pending` resolution finished.
    Resolved {
        /// The leg.
        call: CallId,
        /// The operation.
        operation: OperationId,
        /// The prompts, or why they are unusable.
        prompts: Result<Vec<Arc<Prompt>>, PromptFailure>,
    },
}
