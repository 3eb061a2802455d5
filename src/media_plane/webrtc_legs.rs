//! What the signaling layer (the softphone's WebSocket) calls to put a person in a browser into a
//! conversation: an SDP offer in, the answer out, then the leg's state as it connects and ends.
//!
//! ```text
//!  softphone signaling ── accept_webrtc_offer(leg, offer) ──▶ worker of leg.conversation
//!          ▲                                                    edge.accept_offer → member joins
//!          └──────── answer SDP + watch of WebRtcLegState ◀──── (oneshot reply)
//!  ICE+DTLS done  → state Connected,  MediaEvent::LegReady { call }
//!  peer vanishes  → state Failed,     MediaEvent::LegFailed { call, detail }  (410/301005)
//!  peer hangs up  → state ClosedByPeer (DTLS close_notify)
//!  close_webrtc_leg(call) (or MediaCommand::CloseLeg) → state Closed, nothing reported
//! ```
//!
//! The leg joins its conversation's audio at once (it hears and is heard as soon as ICE and
//! DTLS complete). Its conversation's members all live on one worker, because the browser's ICE
//! is bound to that worker's UDP socket: every later leg of the conversation, browser or bot,
//! goes to the same worker.

use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::MediaEngine;
use super::command::WorkerCommand;
use super::conversation_audio::JoinRefused;
use crate::calls::ids::{CallId, ConversationId, ParticipantId};
use crate::calls::media::{MediaCommand, MediaPlane};
use crate::webrtc::EdgeError;

/// A person's leg: its call id (chosen by the signaling layer, unique among calls), the
/// conversation it is in, and its participant id in that conversation's roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebRtcLeg {
    /// The leg's call id; `LegReady`/`LegFailed` name it, `CloseLeg` takes it.
    pub call: CallId,
    /// The conversation whose other members it hears and is heard by.
    pub conversation: ConversationId,
    /// Its roster id: named in tone events and speaking hints.
    pub participant: ParticipantId,
    /// The number its audio is known by on app-hosted bots' media sockets (its roster
    /// `mediaStreams[0].sourceId`).
    pub source_id: u32,
}

/// Where a browser's media stands, for the signaling layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebRtcLegState {
    /// The answer is out; ICE and DTLS are running (at most `media.webrtc.connect_timeout_ms`).
    Connecting,
    /// ICE and DTLS completed: audio flows both ways.
    Connected {
        /// From the answer to connected.
        setup: Duration,
    },
    /// The media failed or the browser vanished (410/301005); the reason was logged once.
    Failed {
        /// Why, in words (no ICE within the timeout, no packets for seconds, DTLS failure…).
        detail: String,
    },
    /// The browser closed the connection itself (DTLS close_notify): a hang-up.
    ClosedByPeer,
    /// Closed by the server (`close_webrtc_leg`, `CloseLeg`, or shutdown).
    Closed,
}

impl WebRtcLegState {
    /// Whether the leg is over.
    pub fn is_ended(&self) -> bool {
        matches!(
            self,
            WebRtcLegState::Failed { .. } | WebRtcLegState::ClosedByPeer | WebRtcLegState::Closed
        )
    }
}

/// The media plane's answer to a browser's offer.
#[derive(Debug)]
pub struct WebRtcAnswer {
    /// The SDP answer to send to the browser.
    pub sdp: String,
    /// The leg's state from now on; `changed().await` wakes on every change.
    pub state: watch::Receiver<WebRtcLegState>,
}

/// Why an offer was refused. The leg is not in the media plane afterwards.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebRtcOfferError {
    /// The offer cannot be used (unparsable SDP, no Opus audio m-line…): say why to the browser.
    #[error("the SDP offer cannot be used: {0}")]
    Offer(#[source] EdgeError),
    /// This call id already has media (a leg is open under it).
    #[error("call '{0}' already has a media leg; close it before offering again")]
    AlreadyOpen(CallId),
    /// The worker's edge could not take one more peer.
    #[error("the leg cannot join its conversation: {0}")]
    EdgeRefused(#[source] EdgeError),
    /// The conversation is full or the member's audio could not be set up.
    #[error("the leg cannot join its conversation: {0}")]
    JoinRefused(#[source] JoinRefused),
    /// The worker's command queue is full: try again shortly.
    #[error("the media plane's command queue is full; try again shortly")]
    Busy,
    /// The media plane is shutting down.
    #[error("the media plane is shutting down")]
    Stopped,
}

impl MediaEngine {
    /// Answers a browser's SDP offer and joins `leg` to its conversation's audio (on the worker
    /// that owns the conversation, or the least loaded one for a new conversation). The answer
    /// comes from the worker thread within a tick; then watch `state` or the `LegReady` /
    /// `LegFailed` media events. Never blocks a thread.
    pub async fn accept_webrtc_offer(
        &self,
        leg: WebRtcLeg,
        offer_sdp: String,
    ) -> Result<WebRtcAnswer, WebRtcOfferError> {
        let call = leg.call.clone();
        let (reply, answer) = oneshot::channel();
        {
            let mut placement = self.lock_placement();
            if placement.worker_of_call(&call).is_some() {
                return Err(WebRtcOfferError::AlreadyOpen(call));
            }
            let worker = placement.choose(&leg.conversation);
            let conversation = leg.conversation.clone();
            self.push(
                worker,
                WorkerCommand::AcceptOffer {
                    leg,
                    offer: offer_sdp,
                    reply,
                },
            )
            .map_err(|_| WebRtcOfferError::Busy)?;
            placement.add(&call, &conversation, worker);
        }
        let result = answer.await.unwrap_or(Err(WebRtcOfferError::Stopped));
        if result.is_err() {
            self.lock_placement().remove(&call);
        }
        result
    }

    /// Hangs up a browser's leg from the server's side (the same as `MediaCommand::CloseLeg`):
    /// the edge sends DTLS close_notify, the leg leaves its conversation, its state becomes
    /// `Closed`, and no event is reported. Unknown or ended legs are ignored.
    pub fn close_webrtc_leg(&self, call: &CallId) {
        // CloseLeg is never refused: it is retried from a task while the queue is full.
        let _ = self.submit(MediaCommand::CloseLeg { call: call.clone() });
    }
}
