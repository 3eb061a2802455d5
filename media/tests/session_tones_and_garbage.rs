//! RFC 4733 telephone events through the session, merged with in-band tones; garbage input.

mod common;

use common::*;
use switchboard_media::dtmf::generator::{ToneShape, digit_sequence};
use switchboard_media::dtmf::telephone_event::KeyPressPlan;
use switchboard_media::dtmf::{Digit, ToneSource};
use switchboard_media::session::{Event, LegConfig, MediaSession, SessionConfig};

fn started(out: &Polled) -> Vec<(Digit, ToneSource)> {
    out.events
        .iter()
        .filter_map(|e| match e {
            Event::ToneStarted { digit, source, .. } => Some((*digit, *source)),
            _ => None,
        })
        .collect()
}

/// Sends `pcm` as audio and, when `press` is given, the telephone events of that key press timed
/// like a browser does (same RTP clock as the audio). Returns the output.
fn run(pcm: &[i16], press: Option<(Digit, usize, u32)>) -> Polled {
    let mut session = MediaSession::new(SessionConfig::default()).unwrap();
    let leg = session.add_leg(LegConfig::default()).unwrap();
    let mut caller = Caller::new(100, 1_000_000);
    let mut clock = Clock::new();
    let mut out = Polled::default();
    let packets = caller.packets(pcm);
    // Telephone-event packets, keyed by the audio frame index they are sent with.
    let mut events: Vec<(usize, u16, u32, bool, [u8; 4])> = Vec::new();
    if let Some((digit, at_frame, duration)) = press {
        let plan = KeyPressPlan {
            digit,
            start_timestamp: 1_000_000 + at_frame as u32 * 960,
            duration,
            packet_interval: 960,
            volume: 10,
        };
        for (i, p) in plan.packets().unwrap().enumerate() {
            let frame = at_frame + (p.send_offset / 960) as usize;
            events.push((frame, 5000 + i as u16, p.timestamp, p.marker, p.payload));
        }
    }
    for (i, p) in packets.iter().enumerate() {
        session
            .push_rtp(leg, p.sequence, p.timestamp, &p.payload, clock.now())
            .unwrap();
        for e in events.iter().filter(|e| e.0 == i) {
            session
                .push_telephone_event(leg, 48_000, e.1, e.2, e.3, &e.4, clock.now())
                .unwrap();
        }
        clock.ticks += 1;
        session.tick(clock.now());
        poll_all(&mut session, &mut out);
    }
    out
}

#[test]
fn a_browser_key_press_arrives_as_telephone_events_only() {
    let out = run(&silence(1000), Some((Digit::D7, 10, 4800)));
    assert_eq!(started(&out), vec![(Digit::D7, ToneSource::TelephoneEvent)]);
    let ended: Vec<_> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ToneEnded {
                digit, duration, ..
            } => Some((*digit, duration.as_millis())),
            _ => None,
        })
        .collect();
    assert_eq!(ended, vec![(Digit::D7, 100)]);
}

#[test]
fn a_gateway_sending_both_tones_and_events_is_reported_once() {
    let mut pcm = silence(200);
    pcm.extend(
        digit_sequence(
            16_000,
            &[Digit::D3],
            &ToneShape::at_level(-10.0),
            120.0,
            400.0,
        )
        .unwrap(),
    );
    // The tone starts at frame 10 (200 ms); the events say the same press.
    let out = run(&pcm, Some((Digit::D3, 10, 5760)));
    assert_eq!(started(&out), vec![(Digit::D3, ToneSource::TelephoneEvent)]);
    let ends = out
        .events
        .iter()
        .filter(|e| matches!(e, Event::ToneEnded { .. }))
        .count();
    assert_eq!(ends, 1);
}

#[test]
fn garbage_is_counted_and_dropped_never_a_panic() {
    let seed = 0xbad_5eed;
    let mut rng = Rng::new(seed);
    let mut session = MediaSession::new(SessionConfig::default()).unwrap();
    let leg = session.add_leg(LegConfig::default()).unwrap();
    let mut clock = Clock::new();
    let mut out = Polled::default();
    let mut caller = Caller::new(0, 0);
    let mut garbage_sent = 0;
    for i in 0..2000u32 {
        let len = (rng.next_u64() % 600) as usize;
        let junk: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        session
            .push_rtp(
                leg,
                rng.next_u64() as u16,
                rng.next_u64() as u32,
                &junk,
                clock.now(),
            )
            .unwrap();
        session
            .push_telephone_event(
                leg,
                48_000,
                i as u16,
                rng.next_u64() as u32,
                rng.next_u64() & 1 == 0,
                &junk,
                clock.now(),
            )
            .unwrap();
        garbage_sent += 1;
        // Real audio keeps flowing in between.
        let p = caller.packet(&[0; 320]);
        session
            .push_rtp(leg, p.sequence, p.timestamp, &p.payload, clock.now())
            .unwrap();
        clock.ticks += 1;
        session.tick(clock.now());
        poll_all(&mut session, &mut out);
    }
    let stats = session.stats(leg).unwrap();
    assert!(
        stats.garbage > garbage_sent / 2,
        "seed {seed:#x}: {stats:?}"
    );
    assert_eq!(
        out.packets.len(),
        2000,
        "one packet per tick whatever came in"
    );
    // A few random payloads happen to be valid Opus: those may decode, but nothing broke.
    assert!(stats.jitter.received > 0);
}
