//! What the WebRTC edge reports to the media worker: connection changes and received media.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Identifies one peer (one WebRTC call leg) of an edge. Ids are not reused by the same edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer {}.{}", self.slot, self.generation)
    }
}

/// Something that happened at the edge, taken with [`WebRtcEdge::poll_event`](super::WebRtcEdge::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeEvent {
    /// ICE and DTLS completed: media flows both ways from now on.
    Connected {
        /// The peer whose ICE and DTLS completed.
        peer: PeerId,
        /// Where the peer's media comes from.
        remote: Option<SocketAddr>,
        /// From negotiation (offer accepted or answer applied) to connected.
        setup: Duration,
    },
    /// One Opus packet from the peer, in arrival order (reordering and loss are left to the
    /// receiver's jitter buffer).
    Audio {
        /// The peer the packet came from.
        peer: PeerId,
        /// The Opus payload with its RTP sequence number and timestamp.
        packet: AudioPacket,
    },
    /// One RFC 4733 telephone-event report from the peer. The sender repeats reports while a key
    /// is held and sends the end report three times: the receiver merges them into one digit.
    TelephoneEvent {
        /// The peer whose key press the report is about.
        peer: PeerId,
        /// The event code, its duration so far and whether it is the end report.
        packet: TelephoneEventPacket,
    },
    /// The peer is gone; the edge has already forgotten it. Logged once by the edge.
    Disconnected {
        /// The peer that is gone; a later peer in its slot gets a new generation, so a new id.
        peer: PeerId,
        /// Why.
        reason: DisconnectReason,
    },
}

/// An Opus packet as received: the payload and the RTP fields a jitter buffer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    /// The Opus payload (one 20 ms frame from browsers). Shared with the transport, not copied.
    pub payload: Arc<[u8]>,
    /// RTP sequence number, extended past the 16-bit wrap (the wire value is `as u16`).
    pub sequence: u64,
    /// RTP timestamp at 48 kHz, as on the wire.
    pub rtp_timestamp: u32,
    /// RTP marker bit: first packet of a talkspurt after silence suppression.
    pub marker: bool,
    /// When the datagram carrying it was handed to the edge.
    pub arrival: Instant,
}

/// One RFC 4733 telephone-event report as received. All reports of one key press share
/// `rtp_timestamp`: merge by (`rtp_timestamp`, event) to report each key once. Do not rely on
/// seeing a start or update report: Chromium sending at 8000 Hz (see
/// [`negotiation`](super::negotiation)) sends only the three end reports, each with the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventPacket {
    /// The 4-byte report as on the wire: event, E/R/volume, duration (in `clock_rate` units).
    pub payload: [u8; 4],
    /// The RTP clock rate of the negotiated telephone-event payload type: 48000 or 8000.
    pub clock_rate: u32,
    /// RTP sequence number, extended past the 16-bit wrap.
    pub sequence: u64,
    /// RTP timestamp: the start of the event, the same for every report of one key press.
    pub rtp_timestamp: u32,
    /// RTP marker bit: set on the first report of an event.
    pub marker: bool,
    /// When the datagram carrying it was handed to the edge.
    pub arrival: Instant,
}

impl TelephoneEventPacket {
    /// The event code: 0-9 are digits, 10 is `*`, 11 is `#`, 12-15 are `A`-`D`.
    pub fn event(&self) -> u8 {
        self.payload[0]
    }

    /// Whether this report ends the event (the E bit).
    pub fn is_end(&self) -> bool {
        self.payload[1] & 0x80 != 0
    }

    /// How long the event has lasted so far, in units of `clock_rate`.
    pub fn duration_units(&self) -> u16 {
        u16::from_be_bytes([self.payload[2], self.payload[3]])
    }
}

/// Why a peer was dropped by the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// ICE and DTLS did not complete in time after negotiation: usually a firewall blocking the
    /// UDP port, or a wrong advertised address (see the README, "WebRTC and NAT").
    ConnectTimeout {
        /// How long the edge waited.
        waited: Duration,
    },
    /// A connected peer sent nothing (no RTP, RTCP or STUN) for too long: it vanished.
    Silence {
        /// How long it had been silent.
        silent_for: Duration,
    },
    /// The ICE agent lost the peer.
    IceDisconnected,
    /// The DTLS handshake failed or the certificate did not match the SDP fingerprint.
    DtlsFailed {
        /// What failed.
        detail: String,
    },
    /// The peer closed the connection itself (DTLS close_notify).
    RemoteClosed,
    /// Another transport failure reported by the WebRTC stack.
    Transport {
        /// What failed.
        detail: String,
    },
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::ConnectTimeout { waited } => write!(
                f,
                "ICE/DTLS did not complete within {waited:?} (is the UDP port reachable and the \
                 advertised address right?)"
            ),
            DisconnectReason::Silence { silent_for } => {
                write!(f, "no packets from the peer for {silent_for:?}")
            }
            DisconnectReason::IceDisconnected => write!(f, "ICE connectivity lost"),
            DisconnectReason::DtlsFailed { detail } => write!(f, "DTLS failed: {detail}"),
            DisconnectReason::RemoteClosed => write!(f, "the peer closed the connection"),
            DisconnectReason::Transport { detail } => write!(f, "transport error: {detail}"),
        }
    }
}

/// A Graph `resultInfo` (code, subcode, message) for a call leg that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultInfo {
    /// HTTP-like code.
    pub code: u16,
    /// Graph subcode.
    pub subcode: u32,
    /// Graph's documented wording for the code and subcode, such as "Media connectivity failure".
    pub message: &'static str,
}

/// Graph's documented code for a leg lost to media connectivity (graph-communications-api.md §4).
pub const MEDIA_CONNECTIVITY_FAILURE: ResultInfo = ResultInfo {
    code: 410,
    subcode: 301005,
    message: "Media connectivity failure",
};

impl DisconnectReason {
    /// The `resultInfo` the call layer ends the leg with. `None` for [`Self::RemoteClosed`]: the
    /// peer hung up on purpose, and the call layer ends the leg as that participant leaving.
    pub fn result_info(&self) -> Option<ResultInfo> {
        match self {
            DisconnectReason::RemoteClosed => None,
            _ => Some(MEDIA_CONNECTIVITY_FAILURE),
        }
    }
}

/// Running totals of what the edge saw, for metrics. Plain counters owned by one worker thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeCounters {
    /// Datagrams handed to the edge.
    pub datagrams_in: u64,
    /// Datagrams that are not STUN, DTLS, RTP or RTCP: dropped.
    pub malformed: u64,
    /// Well-formed datagrams no peer claimed (unknown source, stale ICE credentials): dropped.
    pub unmatched: u64,
    /// Datagrams a peer refused (failed decryption, bad DTLS record): dropped.
    pub rejected: u64,
    /// Datagrams queued for sending.
    pub datagrams_out: u64,
    /// Peers connected.
    pub connected: u64,
    /// Peers dropped for a transport failure (every [`DisconnectReason`] except a remote close).
    pub failed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_maps_to_media_connectivity_failure() {
        let failures = [
            DisconnectReason::ConnectTimeout {
                waited: Duration::from_secs(10),
            },
            DisconnectReason::Silence {
                silent_for: Duration::from_secs(5),
            },
            DisconnectReason::IceDisconnected,
            DisconnectReason::DtlsFailed {
                detail: "remote fingerprint no match".into(),
            },
            DisconnectReason::Transport { detail: "x".into() },
        ];
        for reason in failures {
            let info = reason.result_info().unwrap();
            assert_eq!((info.code, info.subcode), (410, 301005), "{reason}");
            assert_eq!(info.message, "Media connectivity failure");
        }
        assert_eq!(DisconnectReason::RemoteClosed.result_info(), None);
    }

    #[test]
    fn telephone_event_fields_read_from_the_wire_bytes() {
        let packet = TelephoneEventPacket {
            payload: [11, 0x80 | 10, 0x03, 0x20],
            clock_rate: 8000,
            sequence: 7,
            rtp_timestamp: 1234,
            marker: false,
            arrival: Instant::now(),
        };
        assert_eq!(packet.event(), 11);
        assert!(packet.is_end());
        assert_eq!(packet.duration_units(), 800);
    }
}
