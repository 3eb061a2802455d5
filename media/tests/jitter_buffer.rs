//! The adaptive jitter buffer with real Opus packets: reordering, duplicates, loss with FEC and
//! concealment, sequence and timestamp wrap, timestamp jumps, adaptation up and down.

mod common;

use common::*;
use switchboard_media::jitter::{Insert, JitterBuffer, MAX_TARGET, Playout};

fn speechy(n: usize) -> [i16; 320] {
    let mut f = [0i16; 320];
    let mut seed = 0x1234_5678u32 ^ n as u32;
    for (i, s) in f.iter_mut().enumerate() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let t = (n * 320 + i) as f32 / 16_000.0;
        let w = 2.0 * std::f32::consts::PI * t;
        *s = (3.0 * ((seed % 2000) as f32 - 1000.0) * (1.0 + (4.0 * w).sin())
            + 4000.0 * (150.0 * w).sin()) as i16;
    }
    f
}

fn packets(n: usize, seq: u16, ts: u32) -> Vec<RtpPacket> {
    let mut c = Caller::new(seq, ts);
    (0..n).map(|i| c.packet(&speechy(i))).collect()
}

/// What one pop gave, reduced to a comparable tag.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    Packet(u32),
    Fec(u32),
    Conceal,
    Idle,
}

fn pop(jb: &mut JitterBuffer) -> Got {
    match jb.pop() {
        Playout::Packet { timestamp, .. } => Got::Packet(timestamp),
        Playout::Fec { timestamp, .. } => Got::Fec(timestamp),
        Playout::Conceal => Got::Conceal,
        Playout::Idle => Got::Idle,
    }
}

#[test]
fn in_order_packets_play_in_order_across_sequence_and_timestamp_wrap() {
    let ps = packets(40, 65_520, u32::MAX - 20 * 960 + 1);
    let mut jb = JitterBuffer::new();
    let mut got = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        assert_eq!(
            jb.insert(p.sequence, p.timestamp, &p.payload, 20.0 * i as f64),
            Insert::Buffered
        );
        got.push(pop(&mut jb));
    }
    let played: Vec<u32> = got
        .iter()
        .filter_map(|g| {
            if let Got::Packet(t) = g {
                Some(*t)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(played.len(), 39, "one frame of start-up delay");
    for w in played.windows(2) {
        assert_eq!(w[1], w[0].wrapping_add(960));
    }
    let s = jb.stats();
    assert_eq!((s.lost, s.late, s.concealed, s.duplicate), (0, 0, 0, 0));
}

#[test]
fn reordered_and_duplicated_packets_lose_nothing() {
    let ps = packets(30, 100, 0);
    let mut jb = JitterBuffer::new();
    let mut order: Vec<usize> = (0..30).collect();
    for i in (2..28).step_by(5) {
        order.swap(i, i + 1);
    }
    let mut played = 0;
    for (tick, &i) in order.iter().enumerate() {
        let p = &ps[i];
        jb.insert(p.sequence, p.timestamp, &p.payload, 20.0 * tick as f64);
        if tick % 7 == 0 {
            assert_eq!(
                jb.insert(p.sequence, p.timestamp, &p.payload, 20.0 * tick as f64),
                Insert::Duplicate
            );
        }
        if tick >= 1 && matches!(pop(&mut jb), Got::Packet(_)) {
            played += 1;
        }
    }
    let s = jb.stats();
    assert_eq!(s.lost, 0, "{s:?}");
    assert_eq!(s.duplicate, 5);
    assert!(played >= 27, "played {played}");
}

#[test]
fn a_lost_packet_is_rebuilt_from_fec_or_concealed_and_its_late_arrival_is_counted() {
    let ps = packets(30, 0, 0);
    let mut jb = JitterBuffer::new();
    let mut got = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        // Packets 10 and 11 are lost outright; packet 20 arrives three ticks late.
        if i != 10 && i != 11 && i != 20 {
            jb.insert(p.sequence, p.timestamp, &p.payload, 20.0 * i as f64);
        }
        if i == 23 {
            assert_eq!(
                jb.insert(ps[20].sequence, ps[20].timestamp, &ps[20].payload, 460.0),
                Insert::Late
            );
        }
        got.push(pop(&mut jb));
    }
    // 10 has no successor to rebuild it from; 11 and 20 are rebuilt from 12's and 21's FEC.
    assert!(got.contains(&Got::Conceal), "{got:?}");
    assert!(got.contains(&Got::Fec(11 * 960)), "{got:?}");
    assert!(got.contains(&Got::Fec(20 * 960)), "{got:?}");
    let s = jb.stats();
    // Two concealed frames: the underrun while nothing newer than 9 had arrived (which holds
    // play-out back one frame), then 10 itself.
    assert_eq!(
        (s.lost, s.fec_recovered, s.concealed, s.late),
        (3, 2, 2, 1),
        "{s:?}"
    );
}

#[test]
fn a_timestamp_jump_with_continuous_sequence_plays_on() {
    let mut ps = packets(40, 7, 1000);
    for p in &mut ps[20..] {
        p.timestamp = p.timestamp.wrapping_add(48_000 * 10);
    }
    let mut jb = JitterBuffer::new();
    let mut played = 0;
    for (i, p) in ps.iter().enumerate() {
        jb.insert(p.sequence, p.timestamp, &p.payload, 20.0 * i as f64);
        if matches!(pop(&mut jb), Got::Packet(_)) {
            played += 1;
        }
    }
    assert_eq!(played, 39);
    assert!(
        jb.target() <= 2,
        "a clock jump is not jitter (target {})",
        jb.target()
    );
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn the_delay_grows_with_jitter_and_shrinks_when_the_network_calms() {
    let seed = 0x0071_77e5;
    let mut rng = Rng::new(seed);
    let ps = packets(1200, 0, 0);
    let mut jb = JitterBuffer::new();
    let mut pending: Vec<(f64, usize)> = Vec::new();
    let mut peak_target = 0;
    for tick in 0..1200usize {
        let now = 20.0 * tick as f64;
        // First 400 packets: up to 70 ms of random delay; then a clean network.
        let delay = if tick < 400 { 70.0 * rng.unit() } else { 0.0 };
        pending.push((now + delay, tick));
        pending.sort_by(|a, b| a.0.total_cmp(&b.0));
        while let Some(&(at, i)) = pending.first() {
            if at > now {
                break;
            }
            pending.remove(0);
            jb.insert(ps[i].sequence, ps[i].timestamp, &ps[i].payload, at);
        }
        pop(&mut jb);
        if tick == 399 {
            peak_target = jb.target();
        }
    }
    assert!(
        (3..=MAX_TARGET).contains(&peak_target),
        "seed {seed:#x}: target under jitter {peak_target}"
    );
    assert!(
        jb.target() < peak_target,
        "seed {seed:#x}: target after calm {}",
        jb.target()
    );
    assert!(
        jb.depth() <= u64::from(jb.target()) + 1,
        "seed {seed:#x}: delay came back down"
    );
    assert!(
        jb.stats().discarded > 0,
        "seed {seed:#x}: frames dropped to cut delay"
    );
}

#[test]
fn an_underrun_conceals_a_few_frames_then_goes_idle_and_restarts() {
    let ps = packets(40, 0, 0);
    let mut jb = JitterBuffer::new();
    let mut got = Vec::new();
    for (i, p) in ps.iter().enumerate().take(10) {
        jb.insert(p.sequence, p.timestamp, &p.payload, 20.0 * i as f64);
        got.push(pop(&mut jb));
    }
    for _ in 0..10 {
        got.push(pop(&mut jb));
    }
    assert_eq!(
        got[10..15],
        [
            Got::Packet(9 * 960),
            Got::Conceal,
            Got::Conceal,
            Got::Conceal,
            Got::Conceal
        ][..],
        "{got:?}"
    );
    assert_eq!(got.last(), Some(&Got::Idle));
    // The talker comes back after the pause (DTX): play-out restarts without counting losses.
    for (i, p) in ps.iter().enumerate().skip(10) {
        jb.insert(p.sequence, p.timestamp, &p.payload, 400.0 + 20.0 * i as f64);
        pop(&mut jb);
    }
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn a_sender_restart_far_away_in_sequence_resyncs() {
    let a = packets(20, 1000, 0);
    let b = packets(20, 40_000, 555);
    let mut jb = JitterBuffer::new();
    for (i, p) in a.iter().chain(&b).enumerate() {
        jb.insert(p.sequence, p.timestamp, &p.payload, 20.0 * i as f64);
        pop(&mut jb);
    }
    assert_eq!(jb.stats().resyncs, 1);
    assert_eq!(jb.stats().lost, 0);
}
