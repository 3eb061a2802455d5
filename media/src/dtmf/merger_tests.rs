//! The merger against every order in which its two inputs can tell the same presses.

use super::merger::*;
use super::{Digit, MediaTime};

fn ms(ms: i64) -> MediaTime {
    // Tests place presses around 10 s into the leg so that negative offsets stay positive.
    MediaTime::from_millis((10_000 + ms) as u64)
}

/// One input's view of one press, to be fed at its arrival time.
#[derive(Debug, Clone, Copy)]
enum Input {
    InBandStart(Digit, MediaTime),
    InBandEnd(Digit, MediaTime),
    EventPressed(Digit, MediaTime),
    EventReleased(Digit, MediaTime, MediaTime),
}

fn feed(merger: &mut ToneMerger, inputs: &[Input]) -> Vec<MergedTone> {
    let mut reports = Vec::new();
    for input in inputs {
        let report = match *input {
            Input::InBandStart(d, t) => merger.in_band_started(d, t),
            Input::InBandEnd(d, t) => {
                merger.in_band_ended(d, t);
                None
            }
            Input::EventPressed(d, t) => merger.telephone_event_pressed(d, t),
            Input::EventReleased(d, s, e) => {
                merger.telephone_event_released(d, s, e);
                None
            }
        };
        reports.extend(report);
    }
    reports
}

#[test]
fn an_event_alone_is_reported_at_once() {
    let mut m = ToneMerger::default();
    assert_eq!(
        m.telephone_event_pressed(Digit::D5, ms(0)),
        Some(MergedTone {
            digit: Digit::D5,
            start: ms(0),
            source: ToneSource::TelephoneEvent
        })
    );
}

#[test]
fn an_in_band_tone_alone_is_reported_at_once() {
    let mut m = ToneMerger::default();
    assert_eq!(
        m.in_band_started(Digit::D5, ms(3)),
        Some(MergedTone {
            digit: Digit::D5,
            start: ms(3),
            source: ToneSource::InBand
        })
    );
}

#[test]
fn the_in_band_confirmation_of_an_event_is_suppressed() {
    let mut m = ToneMerger::default();
    assert!(m.telephone_event_pressed(Digit::D1, ms(0)).is_some());
    assert_eq!(m.in_band_started(Digit::D1, ms(4)), None);
}

#[test]
fn a_confirmation_arriving_after_the_event_ended_is_still_suppressed() {
    let mut m = ToneMerger::default();
    assert!(m.telephone_event_pressed(Digit::D1, ms(0)).is_some());
    m.telephone_event_released(Digit::D1, ms(0), ms(45));
    assert_eq!(m.in_band_started(Digit::D1, ms(2)), None);
    m.in_band_ended(Digit::D1, ms(47));
}

#[test]
fn an_event_delayed_behind_the_detector_is_suppressed() {
    let mut m = ToneMerger::default();
    assert!(m.in_band_started(Digit::D9, ms(0)).is_some());
    m.in_band_ended(Digit::D9, ms(50));
    assert_eq!(m.telephone_event_pressed(Digit::D9, ms(-3)), None);
}

#[test]
fn a_tone_broken_inside_one_event_is_one_press() {
    let mut m = ToneMerger::default();
    assert!(m.telephone_event_pressed(Digit::D0, ms(0)).is_some());
    assert_eq!(m.in_band_started(Digit::D0, ms(2)), None);
    m.in_band_ended(Digit::D0, ms(80));
    assert_eq!(m.in_band_started(Digit::D0, ms(110)), None);
    m.in_band_ended(Digit::D0, ms(200));
    m.telephone_event_released(Digit::D0, ms(0), ms(200));
    // The next press of the same key, 60 ms later, is a new press from either input.
    assert!(m.telephone_event_pressed(Digit::D0, ms(260)).is_some());
    assert_eq!(m.in_band_started(Digit::D0, ms(262)), None);
}

#[test]
fn an_in_band_only_press_before_a_press_seen_both_ways_stays_separate() {
    // The events of the first press were lost; the second press comes both ways.
    let mut m = ToneMerger::default();
    assert!(m.in_band_started(Digit::D4, ms(0)).is_some());
    m.in_band_ended(Digit::D4, ms(40));
    assert!(m.telephone_event_pressed(Digit::D4, ms(80)).is_some());
    assert_eq!(m.in_band_started(Digit::D4, ms(81)), None);
}

#[test]
fn different_keys_never_confirm_each_other() {
    let mut m = ToneMerger::default();
    assert!(m.telephone_event_pressed(Digit::D1, ms(0)).is_some());
    assert!(m.in_band_started(Digit::D2, ms(0)).is_some());
    m.in_band_ended(Digit::D2, ms(50));
    assert!(m.telephone_event_pressed(Digit::D2, ms(100)).is_some());
}

#[test]
fn an_end_for_another_key_is_ignored() {
    let mut m = ToneMerger::default();
    assert!(m.in_band_started(Digit::D1, ms(0)).is_some());
    m.in_band_ended(Digit::D7, ms(10)); // not the tone that is on: no effect
    m.in_band_ended(Digit::D1, ms(300));
    // The tone lasted to 300 ms, so an event starting at 250 ms is the same press.
    assert_eq!(m.telephone_event_pressed(Digit::D1, ms(250)), None);
}

#[test]
fn a_long_burst_of_one_key_is_counted_exactly() {
    let mut m = ToneMerger::default();
    let mut reports = 0;
    for i in 0..40 {
        let start = i * 93; // 10.75 digits per second, 50 ms on
        reports += usize::from(m.telephone_event_pressed(Digit::D8, ms(start)).is_some());
        reports += usize::from(m.in_band_started(Digit::D8, ms(start + 2)).is_some());
        m.in_band_ended(Digit::D8, ms(start + 51));
        m.telephone_event_released(Digit::D8, ms(start), ms(start + 50));
    }
    assert_eq!(reports, 40);
}

/// Every interleaving of two sequences, each kept in its own order.
fn interleavings(a: &[Input], b: &[Input]) -> Vec<Vec<Input>> {
    if a.is_empty() {
        return vec![b.to_vec()];
    }
    if b.is_empty() {
        return vec![a.to_vec()];
    }
    let mut all = Vec::new();
    for mut rest in interleavings(&a[1..], b) {
        rest.insert(0, a[0]);
        all.push(rest);
    }
    for mut rest in interleavings(a, &b[1..]) {
        rest.insert(0, b[0]);
        all.push(rest);
    }
    all
}

/// Two presses, told by both inputs, in all 70 orders of the eight inputs, over a grid of
/// durations, pauses and disagreements between the inputs' clocks: always exactly two reports.
#[test]
fn two_presses_told_both_ways_are_two_reports_in_every_order() {
    let keys = [(Digit::D3, Digit::D3), (Digit::D3, Digit::D6)];
    let mut cases = 0;
    for (first, second) in keys {
        for duration in [40i64, 60, 200] {
            for pause in [40i64, 100] {
                for tone_offset in [-10i64, 0, 10] {
                    for event_shift in [-20i64, 0, 20] {
                        let p2 = duration + pause;
                        let events = [
                            Input::EventPressed(first, ms(event_shift)),
                            Input::EventReleased(
                                first,
                                ms(event_shift),
                                ms(event_shift + duration),
                            ),
                            Input::EventPressed(second, ms(p2 + event_shift)),
                            Input::EventReleased(
                                second,
                                ms(p2 + event_shift),
                                ms(p2 + event_shift + duration),
                            ),
                        ];
                        let tones = [
                            Input::InBandStart(first, ms(tone_offset)),
                            Input::InBandEnd(first, ms(duration + tone_offset)),
                            Input::InBandStart(second, ms(p2 + tone_offset)),
                            Input::InBandEnd(second, ms(p2 + duration + tone_offset)),
                        ];
                        for order in interleavings(&events, &tones) {
                            let mut m = ToneMerger::default();
                            let mut reports = feed(&mut m, &order);
                            reports.sort_by_key(|r| r.start);
                            let digits: Vec<Digit> = reports.iter().map(|r| r.digit).collect();
                            assert_eq!(
                                digits,
                                [first, second],
                                "duration {duration} pause {pause} offset {tone_offset} \
                                 shift {event_shift} order {order:?}"
                            );
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * 3 * 2 * 3 * 3 * 70);
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

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// Random dialling on one leg: each press told by events only, tones only or both, tones broken
/// by drop-outs, events late by network jitter and the detector late by its latency. Every press
/// is reported once, in order.
#[test]
fn random_dialling_is_reported_once_per_press() {
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let event_shift = rng.range(-15, 15);
        let mut arrivals: Vec<(i64, usize, Input)> = Vec::new();
        let mut truth = Vec::new();
        let mut t = 0i64;
        let mut event_arrival = 0i64;
        for _ in 0..25 {
            // Two keys only, so repeats of one key are common.
            let digit = if rng.range(0, 2) == 0 {
                Digit::D1
            } else {
                Digit::Pound
            };
            let duration = rng.range(40, 300);
            let how = rng.range(0, 9); // 0: events only, 1: tones only, else both
            let events = how != 1;
            let tones = how != 0;
            if events {
                let start = t + event_shift;
                let end = start + duration;
                // Events arrive in order, each after 0–60 ms of network delay.
                event_arrival = event_arrival.max(start + rng.range(0, 60));
                arrivals.push((
                    event_arrival,
                    arrivals.len(),
                    Input::EventPressed(digit, ms(start)),
                ));
                event_arrival = event_arrival.max(end + rng.range(0, 60));
                arrivals.push((
                    event_arrival,
                    arrivals.len(),
                    Input::EventReleased(digit, ms(start), ms(end)),
                ));
            }
            if tones {
                let start = t + rng.range(-5, 5);
                let end = t + duration + rng.range(-5, 5);
                let latency = rng.range(20, 35);
                // A drop-out breaks a long tone in two only where events make it one press.
                let broken = events && duration > 120 && rng.range(0, 4) == 0;
                let pieces: &[(i64, i64)] = if broken {
                    &[(start, start + 50), (start + 65, end)]
                } else {
                    &[(start, end)]
                };
                for &(s, e) in pieces {
                    arrivals.push((
                        s + latency,
                        arrivals.len(),
                        Input::InBandStart(digit, ms(s)),
                    ));
                    arrivals.push((e + latency, arrivals.len(), Input::InBandEnd(digit, ms(e))));
                }
            }
            truth.push(digit);
            t += duration + rng.range(40, 300);
        }
        arrivals.sort_by_key(|&(at, order, _)| (at, order));
        let inputs: Vec<Input> = arrivals.iter().map(|&(_, _, input)| input).collect();
        let mut m = ToneMerger::default();
        let mut reports = feed(&mut m, &inputs);
        reports.sort_by_key(|r| r.start);
        let digits: Vec<Digit> = reports.iter().map(|r| r.digit).collect();
        assert_eq!(digits, truth, "seed {seed}, event shift {event_shift} ms");
    }
}
