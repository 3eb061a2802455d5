//! The WebRTC edge of one media worker: many peers on one UDP socket, driven with explicit time.
//!
//! Sans-IO like str0m underneath: datagrams and `Instant`s go in, datagrams to send and events
//! come out. It never reads a clock, opens a socket or spawns anything, so the media worker
//! thread that owns it decides when things happen, and tests can drive it faster than real time.
//!
//! Per datagram the edge does a hash lookup of the source address and hands the bytes to that
//! peer's `Rtc` (str0m's `accepts` settles new sources: STUN by ICE username, others by
//! candidate). Queues are reused, so after warm-up the edge itself allocates nothing per packet;
//! str0m allocates one buffer per received media frame and per datagram it sends, which the edge
//! passes on without copying.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::error::PacketError;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, TelephoneEvent};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Input, RtcConfig, RtcError};

use super::negotiation::{self, negotiated_audio};
use super::peer::{Peer, disconnect_reason};
use super::peer_table::PeerTable;
use super::{DisconnectReason, EdgeConfig, EdgeCounters, EdgeError, EdgeEvent, PeerId};

/// Volume of the telephone events we send, in -dBm0 (RFC 4733 §2.3.4): a typical keypad level.
const TELEPHONE_EVENT_VOLUME: u8 = 10;

/// The WebRTC side of one media worker: ICE-lite, DTLS-SRTP and RTCP by str0m for every peer
/// that shares the worker's UDP socket.
pub struct WebRtcEdge {
    config: EdgeConfig,
    candidates: Vec<SocketAddr>,
    rtc_config: RtcConfig,
    peers: PeerTable,
    transmits: VecDeque<Transmit>,
    events: VecDeque<EdgeEvent>,
    /// Peers found dead during one `handle_timeout`, reused between calls.
    failing: Vec<(PeerId, DisconnectReason)>,
    counters: EdgeCounters,
}

impl WebRtcEdge {
    /// An edge advertising `host_candidates` (see [`EdgeConfig::host_candidates`]).
    pub fn new(config: EdgeConfig, host_candidates: Vec<SocketAddr>) -> Result<Self, EdgeError> {
        config.validate()?;
        if host_candidates.is_empty() {
            return Err(EdgeError::InvalidConfig(
                "no host candidates: the edge must advertise at least one address".into(),
            ));
        }
        for addr in &host_candidates {
            Candidate::host(*addr, "udp").map_err(|e| {
                EdgeError::InvalidConfig(format!(
                    "{addr} cannot be a host candidate ({e}); use a unicast address"
                ))
            })?;
        }
        tracing::info!(candidates = ?host_candidates, "WebRTC edge advertises");
        Ok(WebRtcEdge {
            rtc_config: negotiation::rtc_config(true, negotiation::new_certificate()),
            config,
            candidates: host_candidates,
            peers: PeerTable::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            failing: Vec::new(),
            counters: EdgeCounters::default(),
        })
    }

    /// The addresses this edge advertises as ICE host candidates.
    pub fn host_candidates(&self) -> &[SocketAddr] {
        &self.candidates
    }

    /// The advertised address a datagram from `source` was most likely sent to, for a socket
    /// bound to the unspecified address (which cannot tell): the loopback candidate for a
    /// loopback source, else the first candidate of the source's IP family.
    pub fn local_address_for(&self, source: SocketAddr) -> SocketAddr {
        let same_family = |c: &&SocketAddr| c.is_ipv4() == source.is_ipv4();
        let loopback = |c: &&SocketAddr| c.ip().is_loopback();
        let found = if source.ip().is_loopback() {
            self.candidates.iter().filter(same_family).find(loopback)
        } else {
            self.candidates
                .iter()
                .filter(same_family)
                .find(|c| !loopback(c))
        };
        *found
            .or(self.candidates.first())
            .expect("new() refuses an empty candidate list")
    }

    /// Accepts a peer's SDP offer (an incoming call) and returns the new peer with our answer.
    pub fn accept_offer(
        &mut self,
        now: Instant,
        offer_sdp: &str,
    ) -> Result<(PeerId, String), EdgeError> {
        let offer = negotiation::parse_offer(&negotiation::prefer_event_rate_of_opus(offer_sdp))?;
        let mut peer = self.new_peer(now)?;
        let answer = match self.answer(now, &mut peer, offer) {
            Ok(answer) => answer,
            Err(e) => {
                self.peers.release(peer.id);
                return Err(e);
            }
        };
        peer.negotiated(now);
        let id = self.peers.insert(peer);
        Ok((id, answer))
    }

    fn answer(
        &mut self,
        now: Instant,
        peer: &mut Peer,
        offer: str0m::change::SdpOffer,
    ) -> Result<String, EdgeError> {
        let mids = negotiation::offer_mids(&offer);
        let answer =
            peer.rtc
                .sdp_api()
                .accept_offer(offer)
                .map_err(|e| EdgeError::Negotiation {
                    kind: "offer",
                    reason: e.to_string(),
                })?;
        self.drain_new(now, peer)?;
        peer.added_mid = negotiation::first_audio_mid(&peer.rtc, &mids);
        peer.audio = negotiated_audio(&mut peer.rtc, peer.added_mid);
        if peer.audio.is_none() {
            return Err(EdgeError::NoUsableAudio { kind: "offer" });
        }
        Ok(answer.to_sdp_string())
    }

    /// Makes an SDP offer for an outgoing call. Send it to the peer and pass its answer to
    /// [`Self::accept_answer`]; no timer runs until then (the far end may be ringing).
    pub fn create_offer(&mut self, now: Instant) -> Result<(PeerId, String), EdgeError> {
        let mut peer = self.new_peer(now)?;
        let mut change = peer.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change
            .apply()
            .expect("a change that adds media always makes an offer");
        let offer = self
            .drain_new(now, &mut peer)
            .and_then(|()| negotiation::offer_both_event_rates(offer));
        let offer = match offer {
            Ok(offer) => offer,
            Err(e) => {
                self.peers.release(peer.id);
                return Err(e);
            }
        };
        peer.added_mid = Some(mid);
        peer.pending_offer = Some(pending);
        let id = self.peers.insert(peer);
        Ok((id, offer.to_sdp_string()))
    }

    /// Applies the peer's answer to our offer; ICE and DTLS start, and the connect timer runs.
    /// If the answer cannot be used the peer is dropped (the error says why).
    pub fn accept_answer(
        &mut self,
        now: Instant,
        peer: PeerId,
        answer_sdp: &str,
    ) -> Result<(), EdgeError> {
        let answer = negotiation::parse_answer(answer_sdp)?;
        let p = self.peer_mut(peer)?;
        let pending = p
            .pending_offer
            .take()
            .ok_or(EdgeError::NoPendingOffer(peer))?;
        let applied = p.rtc.sdp_api().accept_answer(pending, answer);
        let drained = self.drain(now, peer);
        let failure = match (applied, drained) {
            (Err(e), _) => Some(EdgeError::Negotiation {
                kind: "answer",
                reason: e.to_string(),
            }),
            (Ok(()), Err(reason)) => Some(EdgeError::Negotiation {
                kind: "answer",
                reason: reason.to_string(),
            }),
            (Ok(()), Ok(())) => {
                let p = self.peer_mut(peer)?;
                p.audio = negotiated_audio(&mut p.rtc, p.added_mid);
                if p.audio.is_some() {
                    p.negotiated(now);
                    None
                } else {
                    Some(EdgeError::NoUsableAudio { kind: "answer" })
                }
            }
        };
        match failure {
            None => Ok(()),
            Some(error) => {
                tracing::info!(%peer, %error, "WebRTC peer dropped: unusable answer");
                self.remove(peer);
                Err(error)
            }
        }
    }

    /// Hangs up a peer from our side: sends RTCP BYE and DTLS close_notify, then forgets it.
    /// No [`EdgeEvent::Disconnected`] follows: the caller already knows.
    pub fn close_peer(&mut self, now: Instant, peer: PeerId) -> Result<(), EdgeError> {
        let p = self.peer_mut(peer)?;
        // A failure to close cleanly leaves nothing to do: the peer is forgotten either way.
        let _ = p.rtc.close();
        let _ = self.drain(now, peer);
        tracing::info!(%peer, "WebRTC peer closed by the call layer");
        self.remove(peer);
        Ok(())
    }

    /// Hands the edge one received datagram. Never fails: garbage, datagrams for unknown peers
    /// and datagrams a peer refuses are counted in [`Self::counters`] and dropped.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        bytes: &[u8],
    ) {
        self.counters.datagrams_in += 1;
        let Ok(receive) = Receive::new(Protocol::Udp, from, to, bytes) else {
            self.counters.malformed += 1;
            return;
        };
        let input = Input::Receive(now, receive);
        let Some(id) = self.peers.find(from, &input) else {
            self.counters.unmatched += 1;
            return;
        };
        let peer = self.peers.get_mut(id).expect("find returns live peers");
        match peer.rtc.handle_input(input) {
            // Datagrams the peer refused are no sign of life: junk sent from its address must
            // not keep a vanished peer alive.
            Ok(()) => self.peers.heard_from(id, now, from),
            // A bad packet, not a dead peer (say a forged SRTP packet): drop it.
            Err(_) if peer.rtc.is_alive() => self.counters.rejected += 1,
            Err(error) => {
                self.fail(id, disconnect_reason(error));
                return;
            }
        }
        if let Err(reason) = self.drain(now, id) {
            self.fail(id, reason);
        }
    }

    /// Advances every peer whose timer is due to `now`: retransmissions, RTCP reports, queued
    /// telephone events, and the connect and silence timeouts. Call it at
    /// [`Self::next_timeout`] or more often (the media worker's 20 ms tick is fine).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut failing = std::mem::take(&mut self.failing);
        for peer in self.peers.iter_mut() {
            if peer.deadline(&self.config) > now {
                continue;
            }
            let result = peer
                .rtc
                .handle_input(Input::Timeout(now))
                .map_err(disconnect_reason)
                .and_then(|()| {
                    peer.drain(
                        now,
                        &mut self.transmits,
                        &mut self.events,
                        &mut self.counters,
                    )
                });
            if let Err(reason) = result {
                failing.push((peer.id, reason));
            } else if let Some(reason) = peer.check_liveness(now, &self.config) {
                failing.push((peer.id, reason));
            }
        }
        for (id, reason) in failing.drain(..) {
            self.fail(id, reason);
        }
        self.failing = failing;
    }

    /// The earliest time [`Self::handle_timeout`] has work to do; `None` without peers.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.peers.iter().map(|p| p.deadline(&self.config)).min()
    }

    /// The next datagram to send on the worker's socket (to `transmit.destination`).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the media worker: connected, audio, telephone event, disconnected.
    pub fn poll_event(&mut self) -> Option<EdgeEvent> {
        self.events.pop_front()
    }

    /// Sends one Opus frame to the peer. `rtp_timestamp` is at 48 kHz (+960 per 20 ms frame);
    /// sequence numbers, SSRC and encryption are the edge's. Pass an `Arc<[u8]>` (a cached
    /// prompt packet) to send without copying. Frames written before the peer is connected are
    /// dropped, as nobody could hear them.
    pub fn write_audio(
        &mut self,
        now: Instant,
        peer: PeerId,
        rtp_timestamp: u32,
        marker: bool,
        payload: impl Into<Arc<[u8]>>,
    ) -> Result<(), EdgeError> {
        let p = self.peer_mut(peer)?;
        let audio = p.audio.ok_or(EdgeError::NotNegotiated(peer))?;
        let time = MediaTime::new(p.media_time(rtp_timestamp), Frequency::FORTY_EIGHT_KHZ);
        let writer = p.rtc.writer(audio.mid).ok_or_else(|| EdgeError::Write {
            peer,
            reason: "the peer's audio direction does not allow sending".into(),
        })?;
        let written = writer
            .start_of_talkspurt(marker)
            .write(audio.opus_pt, now, time, payload);
        self.after_write(now, peer, written)
            .map_err(|reason| EdgeError::Write { peer, reason })
    }

    /// Sends one RFC 4733 telephone event (`event` 0-15: digits, `*`=10, `#`=11, `A`-`D`) lasting
    /// `duration` (40 ms to 6 s), starting at `rtp_timestamp` (48 kHz, on the audio's clock).
    /// The edge paces the reports every 20 ms and repeats the end report three times, as
    /// browsers do. Events must be at least 50 ms apart.
    pub fn send_telephone_event(
        &mut self,
        now: Instant,
        peer: PeerId,
        rtp_timestamp: u32,
        event: u8,
        duration: Duration,
    ) -> Result<(), EdgeError> {
        let p = self.peer_mut(peer)?;
        let audio = p.audio.ok_or(EdgeError::NotNegotiated(peer))?;
        let time = MediaTime::new(p.media_time(rtp_timestamp), Frequency::FORTY_EIGHT_KHZ);
        let refused = |reason: String| EdgeError::TelephoneEvent {
            peer,
            event,
            reason,
        };
        let writer = p
            .rtc
            .writer(audio.mid)
            .ok_or_else(|| refused("the peer's audio direction does not allow sending".into()))?;
        let report = TelephoneEvent {
            event,
            end: true,
            volume: TELEPHONE_EVENT_VOLUME,
            duration,
        };
        // An empty audio payload sends the telephone-event packets alone.
        let written =
            writer
                .telephone_event(report)
                .write(audio.opus_pt, now, time, Arc::<[u8]>::from([]));
        self.after_write(now, peer, written).map_err(refused)
    }

    /// Drains a peer after a write, then runs its timers at `now` so the frame is packetized
    /// and its datagram is ready for [`Self::poll_transmit`] at once (str0m packetizes on a
    /// timer). A refused write is the caller's error; a failure of the peer ends it.
    fn after_write(
        &mut self,
        now: Instant,
        peer: PeerId,
        written: Result<(), RtcError>,
    ) -> Result<(), String> {
        let sent = self.drain(now, peer).and_then(|()| {
            let Some(p) = self.peers.get_mut(peer) else {
                return Ok(());
            };
            p.rtc
                .handle_input(Input::Timeout(now))
                .map_err(disconnect_reason)?;
            self.drain(now, peer)
        });
        if let Err(reason) = sent {
            self.fail(peer, reason);
        }
        written.map_err(|e| match e {
            RtcError::Packet(_, _, PacketError::InvalidTelephoneEvent(reason)) => reason.into(),
            other => other.to_string(),
        })
    }

    /// Whether the peer exists and has completed ICE and DTLS.
    pub fn is_connected(&self, peer: PeerId) -> bool {
        self.peers.get(peer).is_some_and(Peer::is_connected)
    }

    /// How many peers the edge holds.
    pub fn peer_count(&self) -> usize {
        self.peers.iter().count()
    }

    /// Running totals for metrics.
    pub fn counters(&self) -> &EdgeCounters {
        &self.counters
    }

    /// Builds a peer with our host candidates in a reserved slot. A peer that is not inserted in
    /// the end must be given back with [`Self::release`].
    fn new_peer(&mut self, now: Instant) -> Result<Peer, EdgeError> {
        let id = self.peers.reserve();
        let mut peer = Peer::new(id, self.rtc_config.clone().build(now), now);
        for index in 0..self.candidates.len() {
            let addr = self.candidates[index];
            let candidate =
                Candidate::host(addr, "udp").expect("new() checked every candidate address");
            peer.rtc.add_local_candidate(candidate);
            if let Err(e) = self.drain_new(now, &mut peer) {
                self.peers.release(id);
                return Err(e);
            }
        }
        Ok(peer)
    }

    /// Drains a peer not yet inserted (negotiation in progress).
    fn drain_new(&mut self, now: Instant, peer: &mut Peer) -> Result<(), EdgeError> {
        peer.drain(
            now,
            &mut self.transmits,
            &mut self.events,
            &mut self.counters,
        )
        .map_err(|reason| EdgeError::Negotiation {
            kind: "offer",
            reason: reason.to_string(),
        })
    }

    fn drain(&mut self, now: Instant, id: PeerId) -> Result<(), DisconnectReason> {
        let Some(peer) = self.peers.get_mut(id) else {
            return Ok(());
        };
        peer.drain(
            now,
            &mut self.transmits,
            &mut self.events,
            &mut self.counters,
        )
    }

    /// Drops a failed peer, logs why once, and tells the media worker.
    fn fail(&mut self, id: PeerId, reason: DisconnectReason) {
        if self.peers.get(id).is_none() {
            return;
        }
        if reason != DisconnectReason::RemoteClosed {
            self.counters.failed += 1;
        }
        if reason == DisconnectReason::RemoteClosed {
            tracing::info!(peer = %id, %reason, "WebRTC peer disconnected");
        } else {
            tracing::warn!(peer = %id, %reason, "WebRTC peer disconnected");
        }
        self.remove(id);
        self.events
            .push_back(EdgeEvent::Disconnected { peer: id, reason });
    }

    fn remove(&mut self, id: PeerId) {
        self.peers.remove(id);
    }

    fn peer_mut(&mut self, id: PeerId) -> Result<&mut Peer, EdgeError> {
        self.peers.get_mut(id).ok_or(EdgeError::UnknownPeer(id))
    }
}
