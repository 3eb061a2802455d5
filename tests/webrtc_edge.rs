//! The WebRTC edge against the str0m test client over real loopback UDP, in one process: calls
//! both ways, audio both ways, RFC 4733 digits, vanished peers and garbage on the socket.

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use support::audio::{dominant_frequency, tone, tone_purity};
use support::edge::{LoopbackEdge, ToneSender, drive};
use switchboard::webrtc::client::{WebRtcClient, read_wav, write_wav};
use switchboard::webrtc::{DisconnectReason, EdgeConfig, EdgeEvent, PeerId, TelephoneEventPacket};

const CLIENT_TONE_HZ: f64 = 1000.0;
const EDGE_TONE_HZ: f64 = 600.0;

/// The client's audio comes from a WAV file, as a fixture would.
fn client_with_tone(now: Instant, freq: f64) -> (WebRtcClient, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    write_wav(&wav, &tone(freq, 48_000, 3.0, 0.3)).unwrap();
    let samples = read_wav(&wav).unwrap();
    let client = WebRtcClient::new(now, "127.0.0.1:0".parse().unwrap(), samples, true).unwrap();
    (client, dir)
}

/// Key presses in order, one per event: reports of one press share the RTP timestamp.
fn digits(reports: &[TelephoneEventPacket]) -> Vec<u8> {
    let mut presses: Vec<(u32, u8)> = Vec::new();
    for r in reports {
        if !presses.contains(&(r.rtp_timestamp, r.event())) {
            presses.push((r.rtp_timestamp, r.event()));
        }
    }
    presses.into_iter().map(|(_, e)| e).collect()
}

fn connect_client_calling_edge(
    edge: &mut LoopbackEdge,
) -> (WebRtcClient, PeerId, Duration, tempfile::TempDir) {
    let start = Instant::now();
    let (mut client, dir) = client_with_tone(start, CLIENT_TONE_HZ);
    let offer = client.create_offer(start).unwrap();
    let (peer, answer) = edge.edge.accept_offer(start, &offer).unwrap();
    client.accept_answer(start, &answer).unwrap();
    drive(
        edge,
        &mut client,
        Duration::from_secs(5),
        "the call to connect",
        |e, c, _| e.connected_at(peer).is_some() && c.connected_at().is_some(),
    );
    let setup = edge.connected_at(peer).unwrap() - start;
    (client, peer, setup, dir)
}

#[test]
fn client_calls_edge_audio_flows_both_ways_and_digits_cross_once() {
    let mut edge = LoopbackEdge::start(EdgeConfig::default());
    let (mut client, peer, setup, _dir) = connect_client_calling_edge(&mut edge);
    println!("connection setup (offer to connected, loopback): {setup:?}");
    assert!(edge.edge.is_connected(peer));
    match &edge
        .events
        .iter()
        .find(|(_, e)| matches!(e, EdgeEvent::Connected { .. }))
        .unwrap()
        .1
    {
        EdgeEvent::Connected { remote, .. } => assert_eq!(*remote, Some(client.local_addr())),
        _ => unreachable!(),
    }

    // A written frame is a datagram ready to send at once, not at the next timer.
    let silence = [0xf8u8, 0xff, 0xfe];
    edge.edge
        .write_audio(Instant::now(), peer, 1, true, &silence[..])
        .unwrap();
    let datagram = edge.edge.poll_transmit().expect("the frame's datagram");
    assert_eq!(datagram.destination, client.local_addr());

    // Audio both ways for 1.5 s; the client presses 1, #, 5 meanwhile.
    let mut sender = ToneSender::new(tone(EDGE_TONE_HZ, 48_000, 1.0, 0.3));
    let started = Instant::now();
    let presses = [(200, 1u8), (500, 11), (800, 5)];
    let mut pressed = 0;
    drive(
        &mut edge,
        &mut client,
        Duration::from_secs(10),
        "1.5 s of audio",
        |e, c, now| {
            sender.send_due(&mut e.edge, peer, now);
            if pressed < presses.len() && now >= started + Duration::from_millis(presses[pressed].0)
            {
                c.send_digit(now, presses[pressed].1, Duration::from_millis(120))
                    .unwrap();
                pressed += 1;
            }
            now >= started + Duration::from_millis(1500)
        },
    );

    // The client's WAV tone reached the edge.
    let heard_by_edge = edge.decoded_audio(peer);
    assert!(
        heard_by_edge.len() >= 48_000,
        "edge decoded {} samples",
        heard_by_edge.len()
    );
    let steady = &heard_by_edge[9_600..];
    let f = dominant_frequency(steady, 48_000, 100.0, 4000.0, 10.0);
    assert!((f - CLIENT_TONE_HZ).abs() <= 10.0, "edge heard {f} Hz");
    let purity = tone_purity(steady, 48_000, CLIENT_TONE_HZ);
    assert!(
        purity > 0.8,
        "edge heard a {CLIENT_TONE_HZ} Hz share of {purity:.2}"
    );

    // RTP fields arrive as sent: +960 timestamps, rising sequence numbers that audio and the
    // telephone events share, with none missing.
    let audio = edge.audio(peer);
    for pair in audio.windows(2) {
        assert!(pair[1].sequence > pair[0].sequence);
        assert_eq!(
            pair[1].rtp_timestamp.wrapping_sub(pair[0].rtp_timestamp),
            960
        );
    }
    let reports = edge.telephone_events(peer);
    let span = audio.last().unwrap().sequence - audio[0].sequence + 1;
    assert_eq!(
        span as usize,
        audio.len() + reports.len(),
        "no packet lost on loopback"
    );

    // The edge's tone reached the client.
    let heard_by_client = client.recorded();
    assert!(
        heard_by_client.len() >= 48_000,
        "client decoded {} samples",
        heard_by_client.len()
    );
    let steady = &heard_by_client[9_600..];
    let f = dominant_frequency(steady, 48_000, 100.0, 4000.0, 10.0);
    assert!((f - EDGE_TONE_HZ).abs() <= 10.0, "client heard {f} Hz");
    assert!(tone_purity(steady, 48_000, EDGE_TONE_HZ) > 0.8);

    // Each digit once; every report at telephone-event/48000 and each press has an end report.
    assert_eq!(digits(&reports), vec![1, 11, 5], "{reports:?}");
    assert!(reports.iter().all(|r| r.clock_rate == 48_000));
    for digit in [1, 11, 5] {
        let ends = reports
            .iter()
            .filter(|r| r.event() == digit && r.is_end())
            .count();
        assert!(ends >= 1, "digit {digit} has no end report");
        assert!(
            reports.iter().any(|r| r.event() == digit && r.marker),
            "digit {digit} marker"
        );
    }
    assert_eq!(edge.edge.counters().malformed, 0);

    // The caller hangs up: the edge reports a remote close, which is not a media failure.
    client.close(Instant::now()).unwrap();
    drive(
        &mut edge,
        &mut client,
        Duration::from_secs(5),
        "the remote close",
        |e, _, _| disconnect_of(e, peer).is_some(),
    );
    let reason = disconnect_of(&edge, peer).unwrap();
    assert_eq!(reason, DisconnectReason::RemoteClosed);
    assert_eq!(reason.result_info(), None);
    assert_eq!(edge.edge.counters().failed, 0);
}

#[test]
fn edge_calls_client_and_sends_digits() {
    let mut edge = LoopbackEdge::start(EdgeConfig::default());
    let start = Instant::now();
    let (offer_peer, offer) = edge.edge.create_offer(start).unwrap();
    assert!(offer.contains("a=ice-lite"), "{offer}");
    assert!(offer.contains("telephone-event/48000"), "{offer}");
    assert!(offer.contains("telephone-event/8000"), "{offer}");
    assert!(offer.contains("a=candidate:"), "{offer}");

    let (mut client, _dir) = client_with_tone(start, CLIENT_TONE_HZ);
    // The far end rings for a while: no timer runs before the answer.
    edge.edge.handle_timeout(start + Duration::from_secs(30));
    assert_eq!(edge.edge.peer_count(), 1);
    let answer = client.accept_offer(start, &offer).unwrap();
    edge.edge.accept_answer(start, offer_peer, &answer).unwrap();
    let err = edge
        .edge
        .accept_answer(start, offer_peer, &answer)
        .unwrap_err();
    assert!(err.to_string().contains("no offer waiting"), "{err}");

    drive(
        &mut edge,
        &mut client,
        Duration::from_secs(5),
        "the call to connect",
        |e, c, _| e.connected_at(offer_peer).is_some() && c.connected_at().is_some(),
    );
    println!(
        "connection setup (answer to connected, loopback): {:?}",
        edge.connected_at(offer_peer).unwrap() - start
    );

    let mut sender = ToneSender::new(tone(EDGE_TONE_HZ, 48_000, 1.0, 0.3));
    let started = Instant::now();
    let mut pressed = false;
    drive(
        &mut edge,
        &mut client,
        Duration::from_secs(10),
        "1 s of audio",
        |e, _, now| {
            sender.send_due(&mut e.edge, offer_peer, now);
            if !pressed && now >= started + Duration::from_millis(200) {
                let ts = sender.rtp_timestamp;
                e.edge
                    .send_telephone_event(now, offer_peer, ts, 9, Duration::from_millis(100))
                    .unwrap();
                // Too soon after the first: refused with the reason, nothing sent.
                let err = e
                    .edge
                    .send_telephone_event(now, offer_peer, ts, 4, Duration::from_millis(100))
                    .unwrap_err();
                assert!(err.to_string().contains("50 ms apart"), "{err}");
                pressed = true;
            }
            now >= started + Duration::from_millis(1000)
        },
    );
    assert_eq!(client.received_digits(), vec![9]);
    assert!(client.telephone_events().iter().any(|r| r.end));
    let heard = &client.recorded()[9_600..];
    let f = dominant_frequency(heard, 48_000, 100.0, 4000.0, 10.0);
    assert!((f - EDGE_TONE_HZ).abs() <= 10.0, "client heard {f} Hz");
    let heard_by_edge = edge.decoded_audio(offer_peer);
    let f = dominant_frequency(&heard_by_edge[9_600..], 48_000, 100.0, 4000.0, 10.0);
    assert!((f - CLIENT_TONE_HZ).abs() <= 10.0, "edge heard {f} Hz");

    // Hanging up from our side forgets the peer without a Disconnected event, and the far end
    // learns of it from the DTLS close.
    edge.edge.close_peer(Instant::now(), offer_peer).unwrap();
    assert_eq!(edge.edge.peer_count(), 0);
    edge.socket.flush(&mut edge.edge);
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.ended().is_none() {
        assert!(Instant::now() < deadline, "the client never saw the hangup");
        std::thread::sleep(Duration::from_millis(5));
        client.drive(Instant::now()).unwrap();
    }
    assert_eq!(client.ended(), Some("closed by the other side"));
    edge.collect(Instant::now());
    assert!(
        !edge
            .events
            .iter()
            .any(|(_, e)| matches!(e, EdgeEvent::Disconnected { .. }))
    );
}

fn disconnect_of(edge: &LoopbackEdge, peer: PeerId) -> Option<DisconnectReason> {
    edge.events.iter().find_map(|(_, e)| match e {
        EdgeEvent::Disconnected { peer: p, reason } if *p == peer => Some(reason.clone()),
        _ => None,
    })
}

#[test]
fn a_peer_that_goes_silent_is_reported_within_the_silence_timeout() {
    let mut edge = LoopbackEdge::start(EdgeConfig::default());
    let (client, peer, _, _dir) = connect_client_calling_edge(&mut edge);
    // The client vanishes: no more packets. Time is an input, so the test moves it on.
    drop(client);
    let last_heard = Instant::now();
    edge.turn(Instant::now() + Duration::from_millis(50));
    edge.edge
        .handle_timeout(last_heard + Duration::from_millis(4_500));
    edge.collect(Instant::now());
    assert_eq!(
        disconnect_of(&edge, peer),
        None,
        "still within the 5 s allowance"
    );
    let reported_by = last_heard + Duration::from_millis(5_500);
    edge.edge.handle_timeout(reported_by);
    edge.collect(reported_by);
    let reason = disconnect_of(&edge, peer).expect("reported by 5.5 s of silence");
    let DisconnectReason::Silence { silent_for } = reason else {
        panic!("expected silence, got {reason:?}");
    };
    assert!(silent_for >= Duration::from_secs(5) && silent_for < Duration::from_secs(6));
    let info = reason.result_info().unwrap();
    assert_eq!((info.code, info.subcode), (410, 301005));
    assert_eq!(edge.edge.peer_count(), 0);
    assert_eq!(edge.edge.counters().failed, 1);
    // Reported once.
    edge.edge
        .handle_timeout(reported_by + Duration::from_secs(10));
    edge.collect(reported_by);
    let reports = edge
        .events
        .iter()
        .filter(|(_, e)| matches!(e, EdgeEvent::Disconnected { .. }));
    assert_eq!(reports.count(), 1);
}

#[test]
fn a_peer_that_never_connects_times_out() {
    let mut edge = LoopbackEdge::start(EdgeConfig::default());
    let start = Instant::now();
    let (client, _dir) = client_with_tone(start, CLIENT_TONE_HZ);
    let mut client = client;
    let offer = client.create_offer(start).unwrap();
    let (peer, _answer) = edge.edge.accept_offer(start, &offer).unwrap();
    // The answer never reaches the client, so it never checks connectivity.
    edge.edge
        .handle_timeout(start + Duration::from_millis(9_900));
    edge.collect(start);
    assert_eq!(disconnect_of(&edge, peer), None);
    edge.edge
        .handle_timeout(start + Duration::from_millis(10_100));
    edge.collect(start);
    let reason = disconnect_of(&edge, peer).expect("connect timeout");
    assert!(
        matches!(reason, DisconnectReason::ConnectTimeout { .. }),
        "{reason:?}"
    );
    assert!(reason.to_string().contains("UDP port"), "{reason}");
}

#[test]
fn a_certificate_that_does_not_match_the_fingerprint_fails_dtls() {
    let mut edge = LoopbackEdge::start(EdgeConfig::default());
    let start = Instant::now();
    let (mut client, _dir) = client_with_tone(start, CLIENT_TONE_HZ);
    let offer = client.create_offer(start).unwrap();
    // Replace the client's certificate fingerprint with another valid-looking one.
    let line = offer
        .lines()
        .find(|l| l.starts_with("a=fingerprint:sha-256 "))
        .unwrap();
    let forged = format!("a=fingerprint:sha-256 {}", vec!["AB"; 32].join(":"));
    let offer = offer.replace(line, &forged);
    let (peer, answer) = edge.edge.accept_offer(start, &offer).unwrap();
    client.accept_answer(start, &answer).unwrap();
    drive(
        &mut edge,
        &mut client,
        Duration::from_secs(5),
        "the DTLS failure",
        |e, _, _| disconnect_of(e, peer).is_some(),
    );
    let reason = disconnect_of(&edge, peer).unwrap();
    assert!(
        matches!(&reason, DisconnectReason::DtlsFailed { detail } if detail.contains("fingerprint")),
        "{reason:?}"
    );
    assert_eq!(reason.result_info().unwrap().subcode, 301005);
}

/// xorshift64*: a fixed-seed generator so a failing run can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn garbage_datagrams_are_counted_and_dropped_while_calls_go_on() {
    const SEED: u64 = 0x5eed_0f5b_0a4d;
    println!("garbage seed: {SEED:#x}");
    let mut edge = LoopbackEdge::start(EdgeConfig::default());
    let (mut client, peer, _, _dir) = connect_client_calling_edge(&mut edge);
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rng = Rng(SEED);
    let mut datagram = [0u8; 1400];
    for i in 0..600 {
        let len = (rng.next() % 1400) as usize;
        for b in &mut datagram[..len] {
            *b = rng.next() as u8;
        }
        // First bytes in each demultiplexing range (RFC 7983): STUN 0-3, DTLS 20-63, RTP/RTCP
        // 128-191, and outside them all.
        if len > 0 {
            datagram[0] = [0, 1, 22, 23, 128, 144, 200, 255][i % 8];
        }
        attacker.send_to(&datagram[..len], edge.addr()).unwrap();
        // The same junk as if it came from the client's own address (a spoofed source).
        edge.edge.handle_datagram(
            Instant::now(),
            client.local_addr(),
            edge.addr(),
            &datagram[..len],
        );
    }
    let before = edge.audio(peer).len();
    let started = Instant::now();
    drive(
        &mut edge,
        &mut client,
        Duration::from_secs(10),
        "audio after garbage",
        |_, _, now| now >= started + Duration::from_millis(500),
    );
    let counters = *edge.edge.counters();
    println!("counters after garbage: {counters:?}");
    assert!(counters.malformed > 0, "{counters:?}");
    assert!(counters.unmatched + counters.rejected > 0, "{counters:?}");
    assert!(edge.edge.is_connected(peer), "the call survived");
    assert!(edge.audio(peer).len() >= before + 20, "audio still flows");
    assert_eq!(disconnect_of(&edge, peer), None);
}

#[test]
fn many_peers_on_one_socket_each_get_their_own_audio() {
    const PEERS: usize = 6;
    let mut edge = LoopbackEdge::start(EdgeConfig::default());
    let start = Instant::now();
    let mut calls = Vec::new();
    let mut dirs = Vec::new();
    for i in 0..PEERS {
        // A distinct tone per caller: 400, 550, 700, ... Hz.
        let freq = 400.0 + 150.0 * i as f64;
        let (mut client, dir) = client_with_tone(start, freq);
        let offer = client.create_offer(start).unwrap();
        let (peer, answer) = edge.edge.accept_offer(start, &offer).unwrap();
        client.accept_answer(start, &answer).unwrap();
        calls.push((client, peer, freq));
        dirs.push(dir);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut connected_for = None;
    loop {
        let now = edge.turn(Instant::now() + Duration::from_millis(2));
        for (client, _, _) in &mut calls {
            client.drive(now).unwrap();
        }
        edge.socket.flush(&mut edge.edge);
        let all = calls
            .iter()
            .all(|(_, p, _)| edge.connected_at(*p).is_some());
        if all && connected_for.is_none() {
            connected_for = Some(now);
        }
        if connected_for.is_some_and(|t| now >= t + Duration::from_millis(800)) {
            break;
        }
        assert!(
            now < deadline,
            "not all {PEERS} calls connected and carried audio in time"
        );
    }
    assert_eq!(edge.edge.peer_count(), PEERS);
    for (_, peer, freq) in &calls {
        let pcm = edge.decoded_audio(*peer);
        assert!(pcm.len() > 9_600 * 2, "{peer}: {} samples", pcm.len());
        let heard = dominant_frequency(&pcm[9_600..], 48_000, 100.0, 2000.0, 10.0);
        assert!(
            (heard - freq).abs() <= 10.0,
            "{peer} sent {freq} Hz, edge heard {heard} Hz"
        );
    }
    let counters = edge.edge.counters();
    assert_eq!(
        (counters.unmatched, counters.malformed),
        (0, 0),
        "{counters:?}"
    );
}
