//! What can go wrong when the call layer or a media worker uses the WebRTC edge.

use super::PeerId;

/// An error from a call into the WebRTC edge. Each says what was wrong, with the value, and what
/// is allowed. A peer that fails on the network is not an error here: it is reported as
/// [`EdgeEvent::Disconnected`](super::EdgeEvent::Disconnected).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// A setting is out of range, or the machine has nothing to advertise.
    #[error("invalid WebRTC edge settings: {0}")]
    InvalidConfig(String),
    /// The SDP text could not be parsed.
    #[error("the SDP {kind} cannot be parsed: {reason}")]
    InvalidSdp {
        /// `"offer"` or `"answer"`.
        kind: &'static str,
        /// What the parser rejected.
        reason: String,
    },
    /// The SDP parsed but cannot be negotiated (for example no audio, or answers out of order).
    #[error("the SDP {kind} cannot be negotiated: {reason}")]
    Negotiation {
        /// `"offer"` or `"answer"`.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// The peer's SDP has no audio that this edge can use: it accepts one audio m-line with Opus.
    #[error(
        "the SDP {kind} has no usable audio: Switchboard needs an audio m-line with opus/48000/2"
    )]
    NoUsableAudio {
        /// `"offer"` or `"answer"`.
        kind: &'static str,
    },
    /// The peer id is not (or no longer) known to this edge: it ended or never existed.
    #[error("{0} is not a peer of this edge (it ended, or belongs to another worker)")]
    UnknownPeer(PeerId),
    /// `accept_answer` for a peer whose offer was not made by this edge, or was already answered.
    #[error("{0} has no offer waiting for an answer; call create_offer first, and answer it once")]
    NoPendingOffer(PeerId),
    /// Media was written to a peer whose negotiation is not finished (an offer waits for its
    /// answer).
    #[error("{0} is still negotiating: accept its answer before sending media")]
    NotNegotiated(PeerId),
    /// A telephone event was refused (code out of the negotiated range, too short or long, too
    /// soon after the previous one, or no telephone-event/48000 negotiated).
    #[error("telephone event {event} for {peer} refused: {reason}")]
    TelephoneEvent {
        /// The peer the key was to be sent to.
        peer: PeerId,
        /// The RFC 4733 event code that was asked for.
        event: u8,
        /// Why it was refused.
        reason: String,
    },
    /// Writing audio to the peer failed.
    #[error("writing audio to {peer} failed: {reason}")]
    Write {
        /// The peer whose audio could not be written.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// The edge's UDP socket could not be set up or polled.
    #[error("UDP socket error: {0}")]
    Io(#[from] std::io::Error),
}
