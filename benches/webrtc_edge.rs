//! Per-packet cost of the WebRTC edge, without sockets: one received Opus packet (demultiplex,
//! SRTP unprotect, depacketize, event out) and one sent (packetize, SRTP protect, datagram out),
//! with 1 and 100 connected peers on the edge.
//!
//! The far ends are plain str0m instances connected to the edge in memory, as str0m's own tests
//! do; time is simulated. Run: `cargo bench --bench webrtc_edge -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input, Output, Rtc};
use switchboard::webrtc::negotiation::{self, rtc_config};
use switchboard::webrtc::{EdgeConfig, EdgeEvent, PeerId, WebRtcEdge};

const EDGE_ADDR: &str = "10.0.0.1:40000";
/// A typical 20 ms Opus voice frame at 32 kbit/s is about 80 bytes.
const OPUS_FRAME: [u8; 80] = [0x78; 80];

/// A far end: a str0m `Rtc` at its own address.
struct FarEnd {
    rtc: Rtc,
    addr: SocketAddr,
    mid: Mid,
    pt: Pt,
    timestamp: u64,
}

/// The edge with `n` far ends connected in memory; returns them and the simulated time.
fn connected(n: usize) -> (WebRtcEdge, Vec<(PeerId, FarEnd)>, Instant) {
    let edge_addr: SocketAddr = EDGE_ADDR.parse().unwrap();
    // Liveness is not measured here; the far ends keep ICE consent alive every simulated second.
    let config = EdgeConfig {
        silence_timeout: Duration::from_secs(3600),
        ..EdgeConfig::default()
    };
    let mut edge = WebRtcEdge::new(config, vec![edge_addr]).unwrap();
    let mut now = Instant::now();
    let mut peers = Vec::new();
    for i in 0..n {
        let addr: SocketAddr = format!("10.0.1.{}:{}", 1 + i / 200, 10_000 + i)
            .parse()
            .unwrap();
        let mut rtc = rtc_config(false, negotiation::new_certificate()).build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let mid = change.add_media(
            str0m::media::MediaKind::Audio,
            str0m::media::Direction::SendRecv,
            None,
            None,
            None,
        );
        let (offer, pending) = change.apply().unwrap();
        let (peer, answer) = edge.accept_offer(now, &offer.to_sdp_string()).unwrap();
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        let pt = rtc
            .writer(mid)
            .unwrap()
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .unwrap()
            .pt();
        let mut far = FarEnd {
            rtc,
            addr,
            mid,
            pt,
            timestamp: 0,
        };
        while !edge.is_connected(peer) {
            now += Duration::from_millis(5);
            exchange(&mut edge, &mut far, now);
        }
        peers.push((peer, far));
    }
    while edge.poll_event().is_some() {}
    (edge, peers, now)
}

/// Moves datagrams both ways between the edge and one far end until both are quiet.
fn exchange(edge: &mut WebRtcEdge, far: &mut FarEnd, now: Instant) {
    for _ in 0..20 {
        let mut moved = false;
        far.rtc.handle_input(Input::Timeout(now)).unwrap();
        for datagram in drain(&mut far.rtc) {
            edge.handle_datagram(now, far.addr, EDGE_ADDR.parse().unwrap(), &datagram);
            moved = true;
        }
        edge.handle_timeout(now);
        while let Some(t) = edge.poll_transmit() {
            if t.destination == far.addr {
                let receive = Receive::new(Protocol::Udp, t.source, far.addr, &t.contents);
                let input = Input::Receive(now, receive.unwrap());
                far.rtc.handle_input(input).unwrap();
                moved = true;
            }
        }
        if !moved {
            return;
        }
    }
}

fn drain(rtc: &mut Rtc) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        match rtc.poll_output().unwrap() {
            Output::Timeout(_) => return out,
            Output::Transmit(t) => out.push(t.contents.to_vec()),
            Output::Event(_) => {}
        }
    }
}

/// Whether a datagram is RTP (not RTCP, STUN or DTLS; RFC 5761 and RFC 7983).
fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() > 12 && datagram[0] & 0xc0 == 0x80 && !(192..=223).contains(&datagram[1])
}

/// The far end sends its next Opus packet, 20 ms after the previous one. Returns that packet;
/// everything else it sends (STUN consent checks, RTCP) is delivered to the edge, and the edge's
/// replies to it, outside the measurement.
fn next_packet(edge: &mut WebRtcEdge, far: &mut FarEnd, clock: &mut Instant) -> (Vec<u8>, Instant) {
    *clock += Duration::from_millis(20);
    let now = *clock;
    far.timestamp += 960;
    let time = MediaTime::new(far.timestamp, Frequency::FORTY_EIGHT_KHZ);
    far.rtc
        .writer(far.mid)
        .unwrap()
        .write(far.pt, now, time, &OPUS_FRAME[..])
        .unwrap();
    // str0m packetizes on its next timer: give it that time.
    let mut out = drain(&mut far.rtc);
    far.rtc.handle_input(Input::Timeout(now)).unwrap();
    out.extend(drain(&mut far.rtc));
    let rtp = out
        .iter()
        .position(|d| is_rtp(d))
        .expect("the far end sent its packet");
    let packet = out.swap_remove(rtp);
    let edge_addr: SocketAddr = EDGE_ADDR.parse().unwrap();
    for other in out {
        edge.handle_datagram(now, far.addr, edge_addr, &other);
    }
    deliver_to(edge, far, now);
    (packet, now)
}

/// Every simulated second, lets every far end run its timers (ICE consent checks, RTCP) and
/// exchanges what they and the edge send, so that no peer times out during a long run.
fn keep_alive(edge: &mut WebRtcEdge, peers: &mut [(PeerId, FarEnd)], now: Instant, round: u64) {
    if !round.is_multiple_of(50) {
        return;
    }
    for (_, far) in peers.iter_mut() {
        exchange(edge, far, now);
    }
    while edge.poll_event().is_some() {}
}

/// Hands the far end what the edge sent it.
fn deliver_to(edge: &mut WebRtcEdge, far: &mut FarEnd, now: Instant) {
    while let Some(t) = edge.poll_transmit() {
        if t.destination == far.addr {
            let receive = Receive::new(Protocol::Udp, t.source, far.addr, &t.contents).unwrap();
            far.rtc.handle_input(Input::Receive(now, receive)).unwrap();
            for datagram in drain(&mut far.rtc) {
                if !is_rtp(&datagram) {
                    edge.handle_datagram(now, far.addr, EDGE_ADDR.parse().unwrap(), &datagram);
                }
            }
        }
    }
    while edge.poll_event().is_some() {}
}

fn receive(c: &mut Criterion) {
    for n in [1usize, 100] {
        let (mut edge, mut peers, mut clock) = connected(n);
        let edge_addr: SocketAddr = EDGE_ADDR.parse().unwrap();
        // The last peer: the one a linear scan would find last.
        let last = peers.len() - 1;
        let (peer, from) = (peers[last].0, peers[last].1.addr);
        let mut round = 0u64;
        c.bench_function(&format!("edge receive one Opus packet, {n} peers"), |b| {
            b.iter_custom(|iters| {
                let mut measured = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    keep_alive(&mut edge, &mut peers, clock, round);
                    let (datagram, now) = next_packet(&mut edge, &mut peers[last].1, &mut clock);
                    let start = Instant::now();
                    edge.handle_datagram(now, from, edge_addr, &datagram);
                    let event = edge.poll_event();
                    measured += start.elapsed();
                    assert!(
                        matches!(event, Some(EdgeEvent::Audio { peer: p, .. }) if p == peer),
                        "{event:?}"
                    );
                    black_box(event);
                }
                measured
            })
        });
        assert_eq!(edge.peer_count(), n, "every peer stayed connected");
    }
}

fn send(c: &mut Criterion) {
    for n in [1usize, 100] {
        let (mut edge, mut peers, mut now) = connected(n);
        let last = peers.len() - 1;
        let peer = peers[last].0;
        let mut round = 0u64;
        let payload: Arc<[u8]> = Arc::from(&OPUS_FRAME[..]);
        let mut timestamp = 0u32;
        c.bench_function(&format!("edge send one Opus packet, {n} peers"), |b| {
            b.iter_custom(|iters| {
                let mut measured = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    keep_alive(&mut edge, &mut peers, now, round);
                    now += Duration::from_millis(20);
                    timestamp = timestamp.wrapping_add(960);
                    let start = Instant::now();
                    edge.write_audio(now, peer, timestamp, false, Arc::clone(&payload))
                        .unwrap();
                    // str0m packetizes in the drain that follows the write.
                    let datagram = edge.poll_transmit();
                    measured += start.elapsed();
                    let datagram = datagram.expect("a datagram out");
                    black_box(&datagram);
                    // Keep ICE consent alive both ways, outside the measurement.
                    let far = &mut peers[last].1;
                    far.rtc.handle_input(Input::Timeout(now)).unwrap();
                    for d in drain(&mut far.rtc) {
                        edge.handle_datagram(now, far.addr, EDGE_ADDR.parse().unwrap(), &d);
                    }
                    deliver_to(&mut edge, far, now);
                }
                measured
            })
        });
        assert_eq!(edge.peer_count(), n, "every peer stayed connected");
    }
}

criterion_group!(benches, receive, send);
criterion_main!(benches);
