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
//!
//! A media worker thread owns one socket and one edge and runs this loop (the signaling side
//! hands it offers and answers through its command queue, waking it with
//! [`EdgeSocket::waker`]):
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use switchboard::webrtc::{EdgeConfig, EdgeEvent, EdgeSocket, WebRtcEdge};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = EdgeConfig::default();
//! let mut socket = EdgeSocket::bind(config.bind)?;
//! let candidates = config.host_candidates(socket.local_addr()?)?;
//! let mut edge = WebRtcEdge::new(config, candidates)?;
//! let mut next_tick = Instant::now();
//! loop {
//!     // Sends, waits for datagrams, the edge's timers or the tick, feeds what came in.
//!     let now = socket.turn(&mut edge, next_tick)?;
//!     // Commands from the control plane: edge.accept_offer(now, sdp), edge.close_peer(..)...
//!     while let Some(event) = edge.poll_event() {
//!         match event {
//!             EdgeEvent::Audio { peer, packet } => { /* MediaSession of `peer` takes it */ }
//!             EdgeEvent::TelephoneEvent { peer, packet } => { /* the same, RFC 4733 */ }
//!             EdgeEvent::Connected { .. } => {}
//!             EdgeEvent::Disconnected { peer, reason } => {
//!                 // End the leg with reason.result_info(): 410/301005 for failures.
//!             }
//!         }
//!     }
//!     if now >= next_tick {
//!         // Tick every MediaSession; for each Opus frame out:
//!         // edge.write_audio(now, peer, rtp_timestamp, marker, payload)?;
//!         next_tick += Duration::from_millis(20);
//!         socket.flush(&mut edge);
//!     }
//! }
//! # }
//! ```

#![warn(missing_docs)]

mod config;
mod edge;
mod error;
mod events;
pub mod negotiation;
mod peer;
mod peer_table;
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
