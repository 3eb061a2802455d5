//! WebRTC media for people in browsers: the edge a media worker thread drives, the UDP socket it
//! owns, and a small WebRTC client for tests and load generation.
//!
//! ```text
//!  UDP datagrams ──▶ EdgeSocket ──handle_datagram(now, from, to, bytes)──▶ WebRtcEdge
//!                                                                   │ poll_event()
//!                      Opus payloads, RFC 4733 reports, connected / disconnected
//!                                                                   ▼
//!                                                       media worker → MediaSession
//!  UDP datagrams ◀── EdgeSocket ◀──poll_transmit()── WebRtcEdge ◀── write_audio / send_telephone_event
//! ```
//!
//! The edge is [str0m](https://github.com/algesten/str0m) in ICE-lite mode with one `Rtc` per
//! peer, all on one socket; time is always an argument. See the README, "WebRTC and NAT", for
//! the settings an operator needs.

mod config;
mod edge;
mod error;
mod events;
pub mod negotiation;
mod peer;
mod socket;

pub mod client;
mod client_audio;

pub use config::{DEFAULT_UDP_PORT, EdgeConfig};
pub use edge::WebRtcEdge;
pub use error::EdgeError;
pub use events::{
    AudioPacket, DisconnectReason, EdgeCounters, EdgeEvent, MEDIA_CONNECTIVITY_FAILURE, PeerId,
    ResultInfo, TelephoneEventPacket,
};
pub use socket::{EdgeSocket, SocketCounters};
pub use str0m::net::Transmit;
