//! The receiver against every way real senders and networks deliver telephone events.

use super::*;
use crate::dtmf::{ALL_DIGITS, Digit};

/// A telephone-event stream from one source, written packet by packet.
struct Source {
    rx: TelephoneEventReceiver,
    seq: u16,
    events: Vec<KeyPressEvent>,
}

impl Source {
    fn new(rate: u32) -> Source {
        Source {
            rx: TelephoneEventReceiver::new(rate).unwrap(),
            seq: 0,
            events: Vec::with_capacity(MAX_EVENTS_PER_PACKET),
        }
    }

    fn send(&mut self, ts: u32, marker: bool, digit: Digit, end: bool, duration: u16) {
        let block = EventBlock {
            digit,
            end,
            volume: 10,
            duration,
        };
        self.send_payload(ts, marker, &block.encode());
    }

    fn send_payload(&mut self, ts: u32, marker: bool, payload: &[u8]) {
        self.seq = self.seq.wrapping_add(1);
        self.send_with_sequence(ts, self.seq, marker, payload);
    }

    fn send_with_sequence(&mut self, ts: u32, seq: u16, marker: bool, payload: &[u8]) {
        let packet = EventPacket {
            timestamp: ts,
            sequence: seq,
            marker,
            payload,
        };
        self.rx.receive(&packet, &mut self.events).unwrap();
    }

    /// A whole press the way a compliant sender sends it: updates every `step`, three ends.
    fn press(&mut self, ts: u32, digit: Digit, duration: u16, step: u16) {
        let mut d = step.min(duration);
        let mut first = true;
        while d < duration {
            self.send(ts, first, digit, false, d);
            first = false;
            d += step;
        }
        for _ in 0..3 {
            self.send(ts, first, digit, true, duration);
            first = false;
        }
    }

    fn take(&mut self) -> Vec<KeyPressEvent> {
        std::mem::take(&mut self.events)
    }
}

fn pressed(digit: Digit, start: u64) -> KeyPressEvent {
    KeyPressEvent::Pressed {
        digit,
        start,
        level_dbm0: -10,
    }
}

fn released(digit: Digit, start: u64, duration: u64, reason: ReleaseReason) -> KeyPressEvent {
    KeyPressEvent::Released {
        digit,
        start,
        duration,
        reason,
    }
}

/// The extended form of a wire timestamp seen before the first wrap.
fn ext(ts: u32) -> u64 {
    (1u64 << 32) + u64::from(ts)
}

#[test]
fn a_compliant_press_is_one_press_and_one_release() {
    let mut s = Source::new(8000);
    s.press(16_000, Digit::D5, 800, 160);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D5, ext(16_000)),
            released(Digit::D5, ext(16_000), 800, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn the_press_is_reported_on_its_first_packet() {
    let mut s = Source::new(8000);
    s.send(100, true, Digit::D1, false, 160);
    assert_eq!(s.take(), [pressed(Digit::D1, ext(100))]);
    s.send(100, false, Digit::D1, false, 320);
    assert_eq!(s.take(), []);
}

#[test]
fn a_missing_marker_bit_changes_nothing() {
    let mut s = Source::new(8000);
    for d in [160u16, 320, 480] {
        s.send(100, false, Digit::D2, false, d);
    }
    for _ in 0..3 {
        s.send(100, false, Digit::D2, true, 640);
    }
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D2, ext(100)),
            released(Digit::D2, ext(100), 640, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn repeated_end_packets_release_once() {
    let mut s = Source::new(8000);
    s.send(100, true, Digit::D3, false, 160);
    for _ in 0..7 {
        s.send(100, false, Digit::D3, true, 400);
    }
    assert_eq!(s.take().len(), 2);
}

#[test]
fn lost_start_packets_still_give_the_true_start() {
    let mut s = Source::new(8000);
    s.send(5000, false, Digit::D4, false, 480);
    s.send(5000, false, Digit::D4, true, 640);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D4, ext(5000)),
            released(Digit::D4, ext(5000), 640, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn a_press_seen_only_by_its_end_packet_is_pressed_and_released_together() {
    let mut s = Source::new(8000);
    s.send(5000, false, Digit::Star, true, 800);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::Star, ext(5000)),
            released(Digit::Star, ext(5000), 800, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn reordered_packets_within_a_press_keep_the_longest_duration() {
    let mut s = Source::new(8000);
    s.send(100, false, Digit::D6, false, 480);
    s.send(100, true, Digit::D6, false, 160);
    s.send(100, false, Digit::D6, false, 320);
    s.send(100, false, Digit::D6, true, 800);
    s.send(100, false, Digit::D6, false, 640); // late update after the end
    s.send(100, false, Digit::D6, true, 800);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D6, ext(100)),
            released(Digit::D6, ext(100), 800, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn a_press_whose_packets_arrive_after_the_next_press_is_reported_late_once() {
    let mut s = Source::new(8000);
    s.send(2000, true, Digit::D2, false, 160);
    // The whole first press was delayed behind the second one's first packet.
    s.send(1000, true, Digit::D1, false, 160);
    s.send(1000, false, Digit::D1, true, 400);
    s.send(1000, false, Digit::D1, true, 400);
    s.send(2000, false, Digit::D2, true, 400);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D2, ext(2000)),
            pressed(Digit::D1, ext(1000)),
            released(Digit::D1, ext(1000), 160, ReleaseReason::Superseded),
            released(Digit::D2, ext(2000), 400, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn lost_end_packets_are_made_good_by_the_next_press() {
    let mut s = Source::new(8000);
    s.send(100, true, Digit::D7, false, 160);
    s.send(100, false, Digit::D7, false, 320);
    // All three end packets lost; the next key is a different one.
    s.send(1500, true, Digit::D8, false, 160);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D7, ext(100)),
            released(Digit::D7, ext(100), 320, ReleaseReason::Superseded),
            pressed(Digit::D8, ext(1500))
        ]
    );
}

#[test]
fn two_presses_of_one_key_are_two_presses_even_without_end_or_marker() {
    let mut s = Source::new(8000);
    s.send(100, false, Digit::D9, false, 320);
    s.send(900, false, Digit::D9, false, 160);
    s.send(900, false, Digit::D9, true, 400);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D9, ext(100)),
            released(Digit::D9, ext(100), 320, ReleaseReason::Superseded),
            pressed(Digit::D9, ext(900)),
            released(Digit::D9, ext(900), 400, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn a_wrapping_duration_field_keeps_counting() {
    // A sender that lets the 16-bit duration wrap instead of starting a new segment.
    let mut s = Source::new(48_000);
    s.send(100, true, Digit::D0, false, 64_000);
    s.send(100, false, Digit::D0, false, 65_400);
    s.send(100, false, Digit::D0, false, 824); // 65536 + 824
    s.send(100, false, Digit::D0, false, 300); // a late, older report: ignored
    s.send(100, false, Digit::D0, true, 1_784);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D0, ext(100)),
            released(Digit::D0, ext(100), 65_536 + 1_784, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn a_late_packet_is_never_taken_for_a_duration_wrap() {
    let mut s = Source::new(48_000);
    let block = |duration, end| {
        EventBlock {
            digit: Digit::D0,
            end,
            volume: 10,
            duration,
        }
        .encode()
    };
    s.send_with_sequence(100, 50, true, &block(65_000, false));
    // Sent before the one above (older sequence number): 100 only looks like a wrap.
    s.send_with_sequence(100, 20, false, &block(100, false));
    s.send_with_sequence(100, 51, false, &block(65_200, true));
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D0, ext(100)),
            released(Digit::D0, ext(100), 65_200, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn a_long_press_in_segments_is_one_press() {
    let mut s = Source::new(48_000);
    s.send(100, true, Digit::Pound, false, 60_000);
    s.send(100, false, Digit::Pound, false, 0xffff);
    s.send(100 + 0xffff, false, Digit::Pound, false, 960);
    s.send(100, false, Digit::Pound, false, 64_000); // late report from the first segment
    s.send(100 + 0xffff, false, Digit::Pound, true, 1920);
    s.send(100 + 0xffff, false, Digit::Pound, true, 1920);
    assert_eq!(
        s.take(),
        [
            pressed(Digit::Pound, ext(100)),
            released(Digit::Pound, ext(100), 0xffff + 1920, ReleaseReason::EndBit)
        ]
    );
}

#[test]
fn a_marked_packet_one_segment_later_is_a_new_press() {
    let mut s = Source::new(48_000);
    s.send(100, true, Digit::Pound, false, 0xffff);
    s.send(100 + 0xffff, true, Digit::Pound, false, 960);
    let events = s.take();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[2], pressed(Digit::Pound, ext(100 + 0xffff)));
}

#[test]
fn rtp_timestamp_wrap_keeps_presses_in_order() {
    let mut s = Source::new(8000);
    let first = u32::MAX - 300;
    s.press(first, Digit::A, 400, 160);
    s.press(500, Digit::B, 400, 160); // after the wrap
    let events = s.take();
    let starts: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            KeyPressEvent::Pressed { start, .. } => Some(*start),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2);
    assert!(starts[1] > starts[0]);
    assert_eq!(starts[0] as u32, first);
    assert_eq!(starts[1] as u32, 500);
    assert_eq!(starts[1] - starts[0], 801);
}

#[test]
fn a_press_straddling_the_wrap_is_one_press() {
    let mut s = Source::new(8000);
    s.press(u32::MAX - 100, Digit::C, 800, 160);
    assert_eq!(s.take().len(), 2);
}

#[test]
fn expire_ends_a_press_whose_updates_stopped() {
    let mut s = Source::new(48_000);
    s.send(10_000, true, Digit::D, false, 960);
    s.send(10_000, false, Digit::D, false, 1920);
    let mut out = Vec::new();
    // 250 ms at 48 kHz is 12000 units after the last duration heard.
    s.rx.expire(10_000 + 1920 + 12_000, &mut out);
    assert_eq!(out, []);
    s.rx.expire(10_000 + 1920 + 12_001, &mut out);
    assert_eq!(
        out,
        [released(
            Digit::D,
            ext(10_000),
            1920,
            ReleaseReason::TimedOut
        )]
    );
    // The end packets arriving after all are recognised, not reported again.
    s.take();
    s.send(10_000, false, Digit::D, true, 2880);
    assert_eq!(s.take(), []);
}

#[test]
fn finish_releases_a_key_still_down() {
    let mut s = Source::new(8000);
    s.send(0, true, Digit::D1, false, 160);
    s.take();
    let mut out = Vec::new();
    s.rx.finish(&mut out);
    assert_eq!(
        out,
        [released(Digit::D1, ext(0), 160, ReleaseReason::StreamEnded)]
    );
    out.clear();
    s.rx.finish(&mut out);
    assert_eq!(out, []);
}

#[test]
fn garbage_is_an_error_and_changes_nothing() {
    let mut s = Source::new(8000);
    s.send(100, true, Digit::D1, false, 160);
    s.take();
    let mut out = Vec::new();
    for payload in [
        &[][..],
        &[1, 0, 0][..],
        &[16, 0x80, 0, 100][..],
        &[1, 0, 0, 1, 99][..],
    ] {
        let packet = EventPacket {
            timestamp: 9999,
            sequence: 7,
            marker: true,
            payload,
        };
        assert!(s.rx.receive(&packet, &mut out).is_err(), "{payload:?}");
    }
    assert_eq!(out, []);
    // The press in progress is untouched.
    s.send(100, false, Digit::D1, true, 400);
    assert_eq!(
        s.take(),
        [released(Digit::D1, ext(100), 400, ReleaseReason::EndBit)]
    );
}

#[test]
fn a_packet_with_several_events_reports_each_once() {
    let mut s = Source::new(8000);
    // Key 1 ended at 800 units, key 2 is 160 units in, packed in one packet (RFC 4733 §2.5.1.5).
    let mut payload = [0u8; 8];
    encode_payload(
        &[
            EventBlock {
                digit: Digit::D1,
                end: true,
                volume: 10,
                duration: 800,
            },
            EventBlock {
                digit: Digit::D2,
                end: false,
                volume: 10,
                duration: 160,
            },
        ],
        &mut payload,
    )
    .unwrap();
    s.send_payload(1000, true, &payload);
    s.send_payload(1000, false, &payload); // the same packet again
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D1, ext(1000)),
            released(Digit::D1, ext(1000), 800, ReleaseReason::EndBit),
            pressed(Digit::D2, ext(1800))
        ]
    );
}

#[test]
fn a_sender_that_restarts_its_timeline_is_followed() {
    let mut s = Source::new(8000);
    s.press(4_000_000, Digit::D1, 400, 160);
    s.press(1000, Digit::D2, 400, 160); // 500 s earlier: a new timeline, not a late packet
    s.press(2000, Digit::D3, 400, 160);
    let digits: Vec<Digit> = s
        .take()
        .iter()
        .filter_map(|e| match e {
            KeyPressEvent::Pressed { digit, .. } => Some(*digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, [Digit::D1, Digit::D2, Digit::D3]);
}

#[test]
fn a_packet_older_than_everything_remembered_is_dropped() {
    let mut s = Source::new(8000);
    for i in 0..20u32 {
        s.press(10_000 + i * 1000, Digit::D1, 400, 160);
    }
    s.take();
    // Press 0's end packet, delayed behind twenty presses: it cannot be told from a new one, so
    // it must not be reported again.
    s.send(10_000, false, Digit::D1, true, 400);
    assert_eq!(s.take(), []);
}

#[test]
fn any_clock_rate_in_range_is_accepted_and_others_are_errors() {
    for rate in [8000, 16_000, 48_000, 192_000] {
        assert_eq!(
            TelephoneEventReceiver::new(rate).unwrap().clock_rate(),
            rate
        );
    }
    for rate in [0, 7999, 192_001] {
        assert_eq!(
            TelephoneEventReceiver::new(rate).unwrap_err(),
            ClockRateError { rate }
        );
    }
}

/// xorshift64: a tiny fixed-seed generator so failures replay exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Presses sent by the real sender through a lossy, duplicating, reordering network: each press
/// is reported exactly once, with its true start, and released exactly once.
#[test]
fn a_lossy_reordering_network_never_loses_or_doubles_a_press() {
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let rate = if seed % 2 == 0 { 8000 } else { 48_000 };
        let interval = rate / 50;
        let mut ts = u32::MAX - rate * 2; // wraps a couple of seconds in
        let mut sent = Vec::new();
        let mut wire = Vec::new();
        for _ in 0..30 {
            let digit = ALL_DIGITS[rng.below(16) as usize];
            let duration = rate / 25 + rng.below(u64::from(rate)) as u32; // 40 ms to 1.04 s
            let plan = KeyPressPlan {
                digit,
                start_timestamp: ts,
                duration,
                packet_interval: interval,
                volume: 10,
            };
            let packets: Vec<_> = plan.packets().unwrap().collect();
            // Lose up to half of the packets, but never all of one press.
            let keep = rng.below(packets.len() as u64) as usize;
            for (i, p) in packets.iter().enumerate() {
                if i == keep || rng.below(2) == 0 {
                    wire.push(*p);
                    if rng.below(10) == 0 {
                        wire.push(*p); // duplicated by the network
                    }
                }
            }
            sent.push((digit, ts));
            ts = ts.wrapping_add(duration + rate / 25 + rng.below(u64::from(rate) / 2) as u32);
        }
        // Local reordering: swap neighbours now and then.
        for i in 1..wire.len() {
            if rng.below(5) == 0 {
                wire.swap(i - 1, i);
            }
        }
        let mut rx = TelephoneEventReceiver::new(rate).unwrap();
        let mut events = Vec::new();
        for (seq, p) in wire.iter().enumerate() {
            let packet = EventPacket {
                timestamp: p.timestamp,
                sequence: seq as u16,
                marker: p.marker,
                payload: &p.payload,
            };
            rx.receive(&packet, &mut events).unwrap();
        }
        rx.finish(&mut events);
        let mut presses: Vec<(u64, Digit)> = events
            .iter()
            .filter_map(|e| match e {
                KeyPressEvent::Pressed { digit, start, .. } => Some((*start, *digit)),
                _ => None,
            })
            .collect();
        presses.sort();
        let got: Vec<(Digit, u32)> = presses.iter().map(|&(s, d)| (d, s as u32)).collect();
        assert_eq!(got, sent, "seed {seed}");
        let releases = events
            .iter()
            .filter(|e| matches!(e, KeyPressEvent::Released { .. }))
            .count();
        assert_eq!(releases, sent.len(), "seed {seed}");
    }
}

/// The pattern of SIPp's RFC 2833 captures: a first packet with duration 0, updates every 20 ms,
/// and the end packet sent three times with one and the same sequence number.
#[test]
fn a_zero_duration_start_and_identical_end_copies_are_one_press() {
    let mut s = Source::new(8000);
    let block = |duration, end| {
        EventBlock {
            digit: Digit::D1,
            end,
            volume: 10,
            duration,
        }
        .encode()
    };
    for (i, duration) in (0u16..7).map(|i| i * 320).enumerate() {
        s.send_with_sequence(13_280, 7984 + i as u16, i == 0, &block(duration, false));
    }
    for _ in 0..3 {
        s.send_with_sequence(13_280, 7991, false, &block(2240, true));
    }
    assert_eq!(
        s.take(),
        [
            pressed(Digit::D1, ext(13_280)),
            released(Digit::D1, ext(13_280), 2240, ReleaseReason::EndBit)
        ]
    );
}
