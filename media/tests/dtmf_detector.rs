//! The detector's public API: events, timing, chunking, rates, configuration errors.

use switchboard_media::dtmf::generator::{SignalBuilder, ToneShape};
use switchboard_media::dtmf::{
    ALL_DIGITS, DetectorConfig, Digit, ToneDetector, ToneEdge, ToneEvent,
};

fn run(rate: u32, pcm: &[i16], chunk: usize) -> Vec<ToneEvent> {
    let mut detector = ToneDetector::new(DetectorConfig::at_rate(rate)).unwrap();
    let mut events = Vec::new();
    for piece in pcm.chunks(chunk.max(1)) {
        detector.push(piece, |e| events.push(e));
    }
    detector.finish(|e| events.push(e));
    events
}

fn starts(events: &[ToneEvent]) -> Vec<Digit> {
    events
        .iter()
        .filter(|e| e.edge == ToneEdge::Start)
        .map(|e| e.digit)
        .collect()
}

#[test]
fn every_key_is_found_once_with_start_and_end_at_both_rates() {
    for rate in [8000, 16000] {
        let mut b = SignalBuilder::new(rate).unwrap();
        b.silence_ms(20.0);
        let on = b.ms_to_samples(50.0);
        b.digits(&ALL_DIGITS, &ToneShape::at_level(-10.0), on, on);
        let events = run(rate, &b.to_pcm(), 160);
        assert_eq!(
            starts(&events),
            ALL_DIGITS.to_vec(),
            "rate {rate}: {events:?}"
        );
        assert_eq!(events.len(), 32);
        for (i, pair) in events.chunks(2).enumerate() {
            let (start, end) = (pair[0], pair[1]);
            assert_eq!((start.edge, end.edge), (ToneEdge::Start, ToneEdge::End));
            let onset = (rate as u64 / 1000) * (20 + 100 * i as u64);
            let ms = |samples: u64| samples as f64 * 1000.0 / rate as f64;
            assert!(
                ms(start.at.abs_diff(onset)) < 2.0,
                "rate {rate}: start {} vs {onset}",
                start.at
            );
            assert!(
                ms(end.at.abs_diff(onset + on as u64)) < 2.0,
                "rate {rate}: end {}",
                end.at
            );
            assert!(
                ms(start.reported_at - onset) <= 31.0,
                "rate {rate}: latency {}",
                start.reported_at - onset
            );
            assert!(
                (start.level_dbm0 + 10.0).abs() < 0.5,
                "level {}",
                start.level_dbm0
            );
            assert!(start.twist_db.abs() < 0.5, "twist {}", start.twist_db);
        }
    }
}

#[test]
fn chunk_size_does_not_change_the_events() {
    for rate in [8000, 16000] {
        let mut b = SignalBuilder::new(rate).unwrap();
        let on = b.ms_to_samples(45.0);
        b.digits(
            &Digit::parse_sequence("159#").unwrap(),
            &ToneShape::at_level(-20.0),
            on,
            on,
        );
        let pcm = b.to_pcm();
        let reference = run(rate, &pcm, pcm.len());
        assert_eq!(reference.len(), 8);
        for chunk in [1, 3, 31, 32, 33, 160, 321] {
            assert_eq!(
                run(rate, &pcm, chunk),
                reference,
                "rate {rate} chunk {chunk}"
            );
        }
    }
}

#[test]
fn invalid_configurations_are_refused_with_the_field_named() {
    let err = ToneDetector::new(DetectorConfig::at_rate(11_025)).unwrap_err();
    assert!(err.to_string().contains("11025 Hz"), "{err}");
    let config = DetectorConfig {
        max_frequency_deviation_pct: 9.0,
        ..DetectorConfig::default()
    };
    let err = ToneDetector::new(config).unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_frequency_deviation_pct = 9 is out of range; allowed is 0.5 to 6"
    );
}

fn detected(rate: u32, digit: Digit, shape: &ToneShape, ms: f32) -> Vec<ToneEvent> {
    let mut b = SignalBuilder::new(rate).unwrap();
    b.silence_ms(30.0)
        .tone_ms(digit, shape, ms)
        .silence_ms(60.0);
    run(rate, &b.to_pcm(), 160)
}

#[test]
fn the_floor_is_minus_45_dbm0_per_tone() {
    for rate in [8000, 16000] {
        assert_eq!(
            starts(&detected(
                rate,
                Digit::D8,
                &ToneShape::at_level(-44.0),
                60.0
            )),
            vec![Digit::D8]
        );
        assert_eq!(
            starts(&detected(
                rate,
                Digit::D8,
                &ToneShape::at_level(-30.0),
                60.0
            )),
            vec![Digit::D8]
        );
        assert!(detected(rate, Digit::D8, &ToneShape::at_level(-47.0), 60.0).is_empty());
        // One tone below the floor is enough to refuse.
        assert!(detected(rate, Digit::D8, &ToneShape::with_levels(-20.0, -48.0), 60.0).is_empty());
    }
}

#[test]
fn frequency_off_by_more_than_3_5_percent_is_refused_and_1_5_percent_accepted() {
    for rate in [8000, 16000] {
        for digit in [Digit::D1, Digit::D] {
            for pct in [-1.5, 1.5] {
                let ok = detected(
                    rate,
                    digit,
                    &ToneShape::at_level(-10.0).offset(pct, pct),
                    60.0,
                );
                assert_eq!(starts(&ok), vec![digit], "{digit} at {pct} %");
            }
            for pct in [-3.6, 3.6] {
                assert!(
                    detected(
                        rate,
                        digit,
                        &ToneShape::at_level(-10.0).offset(pct, 0.0),
                        60.0
                    )
                    .is_empty()
                );
                assert!(
                    detected(
                        rate,
                        digit,
                        &ToneShape::at_level(-10.0).offset(0.0, pct),
                        60.0
                    )
                    .is_empty()
                );
            }
        }
    }
}

#[test]
fn twist_is_measured_and_limited() {
    let events = detected(8000, Digit::D9, &ToneShape::with_levels(-6.0, -12.0), 60.0);
    assert!(
        (events[0].twist_db + 6.0).abs() < 0.7,
        "twist {}",
        events[0].twist_db
    );
    // Low 10 dB under high is beyond +5.5 dB.
    assert!(detected(8000, Digit::D9, &ToneShape::with_levels(-16.0, -6.0), 60.0).is_empty());
}

#[test]
fn a_short_blip_is_a_near_miss_not_a_digit() {
    let mut b = SignalBuilder::new(8000).unwrap();
    b.silence_ms(30.0)
        .tone_ms(Digit::D4, &ToneShape::at_level(-10.0), 20.0)
        .silence_ms(60.0);
    let mut detector = ToneDetector::new(DetectorConfig::default()).unwrap();
    detector.push(&b.to_pcm(), |e| panic!("unexpected {e:?}"));
    detector.finish(|e| panic!("unexpected {e:?}"));
    let stats = detector.stats();
    assert_eq!(stats.digits, 0);
    assert_eq!(stats.unconfirmed_runs, 1);
    assert!(stats.hit_windows >= 1 && stats.hit_windows < 5, "{stats:?}");
}

#[test]
fn reset_forgets_a_tone_in_progress() {
    let mut b = SignalBuilder::new(8000).unwrap();
    b.tone_ms(Digit::D2, &ToneShape::default(), 100.0);
    let mut detector = ToneDetector::new(DetectorConfig::default()).unwrap();
    detector.push(&b.to_pcm(), |_| {});
    assert_eq!(detector.active_digit(), Some(Digit::D2));
    detector.reset();
    assert_eq!(detector.active_digit(), None);
    assert_eq!(detector.samples_pushed(), 0);
    detector.finish(|e| panic!("unexpected {e:?}"));
}
