//! Group calls: every leg hears the others (and the bot), mute removes a leg from every mix, equal
//! mixes are encoded once, and a two-leg call forwards packets untouched.

mod common;

use common::*;
use switchboard_media::codec::opus::FrameDecoder;
use switchboard_media::frame::{FRAME_SAMPLES, Frame};
use switchboard_media::prompt::{PlaybackId, PromptCache};
use switchboard_media::session::{LegConfig, LegId, MediaSession, SessionConfig};

/// Pitches that tell the legs apart.
const PITCH: [f32; 3] = [500.0, 900.0, 1400.0];

fn sine(hz: f32, frame_index: usize) -> Frame {
    let mut f = [0i16; FRAME_SAMPLES];
    for (i, s) in f.iter_mut().enumerate() {
        let t = (frame_index * FRAME_SAMPLES + i) as f32 / 16_000.0;
        *s = (6000.0 * (2.0 * std::f32::consts::PI * hz * t).sin()) as i16;
    }
    f
}

/// Power of `hz` in `pcm` relative to the total, by a Goertzel filter.
fn share(pcm: &[i16], hz: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * hz / 16_000.0;
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    let mut total = 0.0f32;
    for &x in pcm {
        let x = x as f32;
        total += x * x;
        let s = x + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    2.0 * power / (pcm.len() as f32 * total.max(1.0))
}

struct Group {
    session: MediaSession,
    legs: Vec<LegId>,
    callers: Vec<Caller>,
    decoders: Vec<FrameDecoder>,
    clock: Clock,
    frame: usize,
}

impl Group {
    fn new(n: usize) -> Group {
        let mut session = MediaSession::new(SessionConfig {
            max_legs: n,
            ..SessionConfig::default()
        })
        .unwrap();
        let legs = (0..n)
            .map(|_| session.add_leg(LegConfig::default()).unwrap())
            .collect();
        Group {
            session,
            legs,
            callers: (0..n).map(|i| Caller::new(i as u16 * 1000, 0)).collect(),
            decoders: (0..n).map(|_| FrameDecoder::new().unwrap()).collect(),
            clock: Clock::new(),
            frame: 0,
        }
    }

    /// Runs `ticks` ticks with each leg `talking[i]` its pitch; returns what each leg heard (the
    /// last half, once codecs have settled) and the raw packets.
    fn run(&mut self, ticks: usize, talking: &[bool]) -> (Vec<Vec<i16>>, Polled) {
        let mut heard = vec![Vec::new(); self.legs.len()];
        let mut out = Polled::default();
        for t in 0..ticks {
            for (i, &leg) in self.legs.iter().enumerate() {
                let pcm = if talking[i] {
                    sine(PITCH[i], self.frame)
                } else {
                    [0; FRAME_SAMPLES]
                };
                let p = self.callers[i].packet(&pcm);
                self.session
                    .push_rtp(leg, p.sequence, p.timestamp, &p.payload, self.clock.now())
                    .unwrap();
            }
            self.frame += 1;
            self.clock.ticks += 1;
            self.session.tick(self.clock.now());
            let mut round = Polled::default();
            poll_all(&mut self.session, &mut round);
            for (leg, _, _, _, payload) in &round.packets {
                let mut pcm = [0i16; FRAME_SAMPLES];
                self.decoders[leg.index()]
                    .decode(payload, &mut pcm)
                    .unwrap();
                if t >= ticks / 2 {
                    heard[leg.index()].extend_from_slice(&pcm);
                }
            }
            out.packets.extend(round.packets);
            out.events.extend(round.events);
        }
        (heard, out)
    }
}

#[test]
fn three_legs_each_hear_the_other_two_and_mute_removes_one_from_every_mix() {
    let mut g = Group::new(3);
    let (heard, _) = g.run(40, &[true, true, true]);
    for (i, pcm) in heard.iter().enumerate() {
        for (j, &hz) in PITCH.iter().enumerate() {
            let s = share(pcm, hz);
            if i == j {
                assert!(s < 0.02, "leg {i} must not hear itself ({s:.3})");
            } else {
                assert!(s > 0.2, "leg {i} hears leg {j} ({s:.3})");
            }
        }
    }
    g.session.mute(g.legs[1], true).unwrap();
    let (heard, _) = g.run(40, &[true, true, true]);
    assert!(
        share(&heard[0], PITCH[1]) < 0.02,
        "muted leg 1 is gone from leg 0's mix"
    );
    assert!(share(&heard[2], PITCH[1]) < 0.02, "and from leg 2's");
    assert!(share(&heard[0], PITCH[2]) > 0.5);
    assert!(
        share(&heard[1], PITCH[0]) > 0.2 && share(&heard[1], PITCH[2]) > 0.2,
        "the muted leg still hears"
    );
}

#[test]
fn legs_hearing_the_same_mix_get_the_same_encoded_packet() {
    let mut g = Group::new(3);
    // Only leg 0 talks and the bot plays: legs 1 and 2 hear the same mix (leg 0 + bot).
    let mut cache = PromptCache::new().unwrap();
    let (speech, _) = speech_16k(&mut cache);
    g.session.play(PlaybackId(1), &[speech], false).unwrap();
    let (heard, out) = g.run(30, &[true, false, false]);
    let last: Vec<_> = out.packets[out.packets.len() - 3..].to_vec();
    assert_eq!(last[1].4, last[2].4, "one encode shared by legs 1 and 2");
    assert_ne!(last[0].4, last[1].4, "leg 0 hears only the bot");
    assert!(
        share(&heard[1], PITCH[0]) > 0.05,
        "the mix holds leg 0 under the prompt"
    );
}

#[test]
fn a_two_leg_call_forwards_packets_untouched_with_its_own_numbering() {
    let mut session = MediaSession::new(SessionConfig {
        max_legs: 2,
        ..SessionConfig::default()
    })
    .unwrap();
    let a = session
        .add_leg(LegConfig {
            initial_sequence: 10,
            initial_timestamp: 99,
            ..LegConfig::default()
        })
        .unwrap();
    let b = session.add_leg(LegConfig::default()).unwrap();
    let mut ca = Caller::new(500, 0);
    let mut cb = Caller::new(900, 0);
    let mut clock = Clock::new();
    let mut sent_by_b = Vec::new();
    let mut out = Polled::default();
    for n in 0..30 {
        let pa = ca.packet(&sine(PITCH[0], n));
        let pb = cb.packet(&sine(PITCH[1], n));
        session
            .push_rtp(a, pa.sequence, pa.timestamp, &pa.payload, clock.now())
            .unwrap();
        session
            .push_rtp(b, pb.sequence, pb.timestamp, &pb.payload, clock.now())
            .unwrap();
        sent_by_b.push(pb.payload);
        clock.ticks += 1;
        session.tick(clock.now());
        poll_all(&mut session, &mut out);
    }
    let to_a: Vec<_> = out.packets.iter().filter(|p| p.0 == a).collect();
    // After the jitter buffer's start-up, leg A gets B's packets byte for byte, numbered from 10.
    let forwarded: Vec<&Vec<u8>> = to_a
        .iter()
        .map(|p| &p.4)
        .filter(|p| sent_by_b.contains(p))
        .collect();
    assert!(forwarded.len() >= 25, "forwarded {} of 30", forwarded.len());
    assert_eq!(to_a[0].1, 10);
    assert_eq!(to_a[0].2, 99);
    for w in to_a.windows(2) {
        assert_eq!(w[1].1, w[0].1.wrapping_add(1));
    }
}

#[test]
fn each_leg_frame_is_that_leg_alone_with_its_speech_state_and_mute() {
    let mut g = Group::new(3);
    g.run(20, &[true, true, false]);
    for (i, &leg) in g.legs.iter().enumerate().take(2) {
        let frame = g.session.leg_frame(leg).unwrap();
        assert!(
            frame.sounding && frame.speaking && frame.audible(),
            "leg {i}"
        );
        assert!(frame.level_dbfs > -20.0, "leg {i}: {}", frame.level_dbfs);
        assert!(
            share(frame.pcm, PITCH[i]) > 0.8,
            "leg {i} holds its own pitch"
        );
        assert!(!frame.muted);
    }
    let quiet = g.session.leg_frame(g.legs[2]).unwrap();
    assert!(!quiet.speaking && !quiet.speech && !quiet.audible());
    g.session.mute(g.legs[1], true).unwrap();
    assert!(g.session.leg_frame(g.legs[1]).unwrap().muted);
    g.session.remove_leg(g.legs[2]).unwrap();
    assert!(g.session.leg_frame(g.legs[2]).is_err(), "a removed leg");
}
