//! One WebRTC peer of the edge: a str0m `Rtc` plus what the edge tracks to tell when it is gone.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::format::Codec;
use str0m::media::Mid;
use str0m::net::Transmit;
use str0m::{Event, IceConnectionState, Output, Rtc, RtcError};

use super::events::{AudioPacket, EdgeCounters, TelephoneEventPacket};
use super::negotiation::NegotiatedAudio;
use super::{DisconnectReason, EdgeConfig, EdgeEvent, PeerId};

/// How many source addresses of one peer the demultiplexer remembers. A peer normally uses one;
/// a few more appear while ICE tries pairs or when a NAT rebinds.
const MAX_SOURCES: usize = 4;

/// A source address seen for the first time from a peer.
pub(crate) struct NewSource {
    /// An older source of the same peer that the demultiplexer should forget.
    pub(crate) evicted: Option<SocketAddr>,
}

/// Where a peer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// We made an offer; the answer has not come yet (the far end may be ringing). No timer runs.
    AwaitingAnswer,
    /// Negotiated at the given time; ICE and DTLS are running.
    Connecting { negotiated: Instant },
    /// Media flows.
    Connected,
}

/// One peer: its `Rtc` and liveness bookkeeping. Owned by [`WebRtcEdge`](super::WebRtcEdge).
pub(crate) struct Peer {
    pub(crate) id: PeerId,
    pub(crate) rtc: Rtc,
    phase: Phase,
    /// The audio m-line, from our offer or found in theirs.
    pub(crate) added_mid: Option<Mid>,
    /// Set once negotiation is complete.
    pub(crate) audio: Option<NegotiatedAudio>,
    pub(crate) pending_offer: Option<SdpPendingOffer>,
    /// Last time any datagram of this peer arrived.
    last_received: Option<Instant>,
    /// When str0m next wants `handle_input(Timeout)`.
    rtc_deadline: Instant,
    /// Source addresses the demultiplexer maps to this peer, to forget them when it ends.
    pub(crate) sources: Vec<SocketAddr>,
    /// Extends the caller's 32-bit RTP timestamps to str0m's 64-bit media time.
    clock: RtpClock,
}

impl Peer {
    /// A peer whose `Rtc` was just built at `now`.
    pub(crate) fn new(id: PeerId, rtc: Rtc, now: Instant) -> Peer {
        Peer {
            id,
            rtc,
            phase: Phase::AwaitingAnswer,
            added_mid: None,
            audio: None,
            pending_offer: None,
            last_received: None,
            rtc_deadline: now,
            sources: Vec::with_capacity(MAX_SOURCES),
            clock: RtpClock::default(),
        }
    }

    /// Starts the connect timer: the offer/answer exchange is complete.
    pub(crate) fn negotiated(&mut self, now: Instant) {
        self.phase = Phase::Connecting { negotiated: now };
    }

    /// Whether ICE and DTLS completed.
    pub(crate) fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// Notes a datagram from `source`; tells the demultiplexer when the source is new to this
    /// peer, and which old one to forget so that its map stays bounded.
    pub(crate) fn received_from(&mut self, now: Instant, source: SocketAddr) -> Option<NewSource> {
        self.last_received = Some(now);
        if self.sources.contains(&source) {
            return None;
        }
        let evicted = (self.sources.len() == MAX_SOURCES).then(|| self.sources.remove(0));
        self.sources.push(source);
        Some(NewSource { evicted })
    }

    /// The 64-bit media time for a 32-bit RTP timestamp from the caller.
    pub(crate) fn media_time(&mut self, rtp_timestamp: u32) -> u64 {
        self.clock.extend(rtp_timestamp)
    }

    /// When the edge must next look at this peer: str0m's timer or the liveness deadline.
    pub(crate) fn deadline(&self, config: &EdgeConfig) -> Instant {
        match self.liveness_deadline(config) {
            Some(liveness) => liveness.min(self.rtc_deadline),
            None => self.rtc_deadline,
        }
    }

    fn liveness_deadline(&self, config: &EdgeConfig) -> Option<Instant> {
        match self.phase {
            Phase::AwaitingAnswer => None,
            Phase::Connecting { negotiated } => Some(negotiated + config.connect_timeout),
            // `last_received` is set: a peer connects only through datagrams it sent.
            Phase::Connected => self.last_received.map(|t| t + config.silence_timeout),
        }
    }

    /// Whether the peer has been given up on at `now`, and why.
    pub(crate) fn check_liveness(
        &self,
        now: Instant,
        config: &EdgeConfig,
    ) -> Option<DisconnectReason> {
        let deadline = self.liveness_deadline(config)?;
        if now < deadline {
            return None;
        }
        Some(match self.phase {
            Phase::Connecting { negotiated } => DisconnectReason::ConnectTimeout {
                waited: now - negotiated,
            },
            _ => DisconnectReason::Silence {
                silent_for: now - self.last_received.unwrap_or(now),
            },
        })
    }

    /// Drains str0m's output after a mutation, as str0m requires before the next one: datagrams
    /// to send, events for the media worker, and the next timer. `Err` means the peer is gone.
    pub(crate) fn drain(
        &mut self,
        now: Instant,
        transmits: &mut VecDeque<Transmit>,
        events: &mut VecDeque<EdgeEvent>,
        counters: &mut EdgeCounters,
    ) -> Result<(), DisconnectReason> {
        loop {
            let output = self.rtc.poll_output().map_err(disconnect_reason)?;
            match output {
                Output::Timeout(at) => {
                    self.rtc_deadline = at;
                    return Ok(());
                }
                Output::Transmit(transmit) => {
                    counters.datagrams_out += 1;
                    transmits.push_back(transmit);
                }
                Output::Event(event) => self.handle_event(now, event, events, counters)?,
            }
        }
    }

    fn handle_event(
        &mut self,
        now: Instant,
        event: Event,
        events: &mut VecDeque<EdgeEvent>,
        counters: &mut EdgeCounters,
    ) -> Result<(), DisconnectReason> {
        match event {
            Event::MediaData(data) => {
                let spec = data.params.spec();
                if spec.codec == Codec::Opus {
                    events.push_back(EdgeEvent::Audio {
                        peer: self.id,
                        packet: AudioPacket {
                            payload: data.data,
                            sequence: **data.seq_range.start(),
                            // The wire timestamp is the low 32 bits of str0m's extended time.
                            rtp_timestamp: data.time.numer() as u32,
                            marker: data.audio_start_of_talk_spurt,
                            arrival: data.network_time,
                        },
                    });
                } else if spec.codec.is_tele() {
                    // str0m splits packed reports into one MediaData each; shorter ones are
                    // malformed and counted.
                    match <[u8; 4]>::try_from(&data.data[..data.data.len().min(4)]) {
                        Ok(payload) => events.push_back(EdgeEvent::TelephoneEvent {
                            peer: self.id,
                            packet: TelephoneEventPacket {
                                payload,
                                clock_rate: spec.clock_rate.get(),
                                sequence: **data.seq_range.start(),
                                rtp_timestamp: data.time.numer() as u32,
                                marker: data.audio_start_of_talk_spurt,
                                arrival: data.network_time,
                            },
                        }),
                        Err(_) => counters.rejected += 1,
                    }
                }
            }
            Event::Connected => {
                let setup = match self.phase {
                    Phase::Connecting { negotiated } => now.saturating_duration_since(negotiated),
                    _ => Duration::ZERO,
                };
                self.phase = Phase::Connected;
                counters.connected += 1;
                let remote = self.sources.last().copied();
                tracing::info!(
                    peer = %self.id,
                    remote = ?remote,
                    setup_ms = setup.as_millis() as u64,
                    "WebRTC peer connected"
                );
                events.push_back(EdgeEvent::Connected {
                    peer: self.id,
                    remote,
                    setup,
                });
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                return Err(DisconnectReason::IceDisconnected);
            }
            Event::IceConnectionStateChange(state) => {
                tracing::debug!(peer = %self.id, ?state, "ICE state");
            }
            Event::Closed => return Err(DisconnectReason::RemoteClosed),
            // Statistics, keyframe requests and stream pauses need no action for audio calls:
            // liveness is judged from every datagram, not from one stream.
            _ => {}
        }
        Ok(())
    }
}

/// Names a str0m failure in the edge's words.
pub(crate) fn disconnect_reason(error: RtcError) -> DisconnectReason {
    match error {
        RtcError::Dtls(e) => DisconnectReason::DtlsFailed {
            detail: e.to_string(),
        },
        // str0m reports a certificate that does not match the SDP fingerprint this way.
        RtcError::RemoteSdp(detail) => DisconnectReason::DtlsFailed { detail },
        other => DisconnectReason::Transport {
            detail: other.to_string(),
        },
    }
}

/// Extends 32-bit RTP timestamps into a monotonic 64-bit count, accepting steps either way of up
/// to half the range (as RTP receivers do).
#[derive(Debug, Default, Clone, Copy)]
struct RtpClock {
    last: Option<u64>,
}

impl RtpClock {
    fn extend(&mut self, rtp_timestamp: u32) -> u64 {
        let extended = match self.last {
            // Start one wrap up so that a first step backwards cannot go below zero.
            None => (1u64 << 32) + u64::from(rtp_timestamp),
            Some(last) => {
                let step = rtp_timestamp.wrapping_sub(last as u32) as i32;
                last.wrapping_add_signed(i64::from(step))
            }
        };
        self.last = Some(extended);
        extended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_clock_extends_across_the_wrap_both_ways() {
        let mut clock = RtpClock::default();
        let first = clock.extend(u32::MAX - 959);
        assert_eq!(first as u32, u32::MAX - 959);
        let wrapped = clock.extend(0);
        assert_eq!(wrapped, first + 960, "forward across the 32-bit wrap");
        let back = clock.extend(u32::MAX - 959);
        assert_eq!(back, first, "a step back is allowed");
        let mut from_zero = RtpClock::default();
        let start = from_zero.extend(0);
        assert_eq!(
            from_zero.extend(u32::MAX),
            start - 1,
            "no underflow going back from 0"
        );
    }
}
