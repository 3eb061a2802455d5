//! A WebRTC edge on a real loopback UDP socket, driven from the test thread, with what it
//! received collected for assertions.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use opus::{Application, Channels, Decoder, Encoder};
use switchboard::webrtc::client::WebRtcClient;
use switchboard::webrtc::{
    AudioPacket, EdgeConfig, EdgeEvent, EdgeSocket, PeerId, TelephoneEventPacket, WebRtcEdge,
};

/// An edge bound to 127.0.0.1 on a free port, advertising loopback.
pub struct LoopbackEdge {
    pub socket: EdgeSocket,
    pub edge: WebRtcEdge,
    pub events: Vec<(Instant, EdgeEvent)>,
}

impl LoopbackEdge {
    /// Starts an edge with `config` (its `bind` is replaced by 127.0.0.1:0).
    pub fn start(config: EdgeConfig) -> LoopbackEdge {
        let config = EdgeConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            advertise_loopback: true,
            ..config
        };
        let socket = EdgeSocket::bind(config.bind).expect("bind a loopback UDP port");
        let candidates = config
            .host_candidates(socket.local_addr().unwrap())
            .expect("loopback candidates");
        let edge = WebRtcEdge::new(config, candidates).expect("edge settings are valid");
        LoopbackEdge {
            socket,
            edge,
            events: Vec::new(),
        }
    }

    /// The edge's UDP address.
    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// One socket turn (waits at most until `until`), collecting events. Returns the turn's now.
    pub fn turn(&mut self, until: Instant) -> Instant {
        let now = self
            .socket
            .turn(&mut self.edge, until)
            .expect("socket turn");
        self.collect(now);
        now
    }

    /// Moves the edge's pending events into `events`, stamped with `now`.
    pub fn collect(&mut self, now: Instant) {
        while let Some(event) = self.edge.poll_event() {
            self.events.push((now, event));
        }
    }

    /// When `peer` connected, if it did.
    pub fn connected_at(&self, peer: PeerId) -> Option<Instant> {
        self.events.iter().find_map(|(at, e)| match e {
            EdgeEvent::Connected { peer: p, .. } if *p == peer => Some(*at),
            _ => None,
        })
    }

    /// The Opus packets received from `peer`.
    pub fn audio(&self, peer: PeerId) -> Vec<&AudioPacket> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                EdgeEvent::Audio { peer: p, packet } if *p == peer => Some(packet),
                _ => None,
            })
            .collect()
    }

    /// The RFC 4733 reports received from `peer`.
    pub fn telephone_events(&self, peer: PeerId) -> Vec<TelephoneEventPacket> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                EdgeEvent::TelephoneEvent { peer: p, packet } if *p == peer => Some(*packet),
                _ => None,
            })
            .collect()
    }

    /// The audio received from `peer`, decoded to 48 kHz PCM in sequence order.
    pub fn decoded_audio(&self, peer: PeerId) -> Vec<i16> {
        let mut packets = self.audio(peer);
        packets.sort_by_key(|p| p.sequence);
        decode(packets.iter().map(|p| &p.payload[..]))
    }
}

/// Decodes Opus packets to 48 kHz mono PCM.
pub fn decode<'a>(packets: impl Iterator<Item = &'a [u8]>) -> Vec<i16> {
    let mut decoder = Decoder::new(48_000, Channels::Mono).unwrap();
    let mut out = Vec::new();
    let mut frame = vec![0i16; 5760];
    for packet in packets {
        let n = decoder
            .decode(packet, &mut frame, false)
            .expect("valid opus");
        out.extend_from_slice(&frame[..n]);
    }
    out
}

/// Encodes PCM to 20 ms Opus frames at 48 kHz, for the edge to send.
pub struct ToneSender {
    encoder: Encoder,
    pcm: Vec<i16>,
    position: usize,
    pub rtp_timestamp: u32,
    next: Option<Instant>,
}

impl ToneSender {
    /// Sends `pcm` (48 kHz mono) over and over.
    pub fn new(pcm: Vec<i16>) -> ToneSender {
        ToneSender {
            encoder: Encoder::new(48_000, Channels::Mono, Application::Voip).unwrap(),
            pcm,
            position: 0,
            rtp_timestamp: 9_000,
            next: None,
        }
    }

    /// Writes the frames due at `now` to `peer`.
    pub fn send_due(&mut self, edge: &mut WebRtcEdge, peer: PeerId, now: Instant) {
        self.send_due_muted(edge, peer, now, false);
    }

    /// Writes the frames due at `now` to `peer`, as digital silence when `muted` (the stream and
    /// its timestamps go on, as a muted participant's would).
    pub fn send_due_muted(
        &mut self,
        edge: &mut WebRtcEdge,
        peer: PeerId,
        now: Instant,
        muted: bool,
    ) {
        let due = self.next.get_or_insert(now);
        let mut packet = [0u8; 1500];
        while *due <= now {
            let frame: Vec<i16> = (0..960)
                .map(|i| {
                    if muted {
                        0
                    } else {
                        self.pcm[(self.position + i) % self.pcm.len()]
                    }
                })
                .collect();
            self.position = (self.position + 960) % self.pcm.len();
            let n = self.encoder.encode(&frame, &mut packet).unwrap();
            edge.write_audio(now, peer, self.rtp_timestamp, false, &packet[..n])
                .expect("write audio");
            self.rtp_timestamp = self.rtp_timestamp.wrapping_add(960);
            *due += Duration::from_millis(20);
        }
    }
}

/// Runs edge and client on the test thread until `done` or `limit` passes; `each` runs every
/// turn (to send audio or digits). Panics with `what` on timeout.
pub fn drive(
    edge: &mut LoopbackEdge,
    client: &mut WebRtcClient,
    limit: Duration,
    what: &str,
    mut each: impl FnMut(&mut LoopbackEdge, &mut WebRtcClient, Instant) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        let now = edge.turn(Instant::now() + Duration::from_millis(2));
        client.drive(now).expect("client drive");
        edge.socket.flush(&mut edge.edge);
        if each(edge, client, now) {
            return;
        }
        assert!(
            now < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
    }
}
