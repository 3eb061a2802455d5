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
