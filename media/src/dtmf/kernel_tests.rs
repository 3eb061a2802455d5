//! Every compiled kernel (portable, AVX2 + FMA, AVX-512, AVX-512 VNNI) must make the detector
//! report the same tones: the same keys in the same order, the same times to a sample or two and
//! the same levels to a tenth of a dB. The signals stay clear of the thresholds (a tone exactly
//! at an edge may fall either way by rounding), but cover every path: silence, tones at both
//! rates, noise under the tones (the noise floor), and real speech (the screen).

use super::correlator::Kernel;
use super::generator::{SignalBuilder, ToneShape};
use super::{ALL_DIGITS, DetectorConfig, DetectorStats, ToneDetector, ToneEvent};

fn run(kernel: Kernel, rate: u32, pcm: &[i16]) -> (Vec<ToneEvent>, DetectorStats) {
    let mut detector = ToneDetector::with_kernel(DetectorConfig::at_rate(rate), kernel);
    let mut events = Vec::new();
    for frame in pcm.chunks(rate as usize / 50) {
        detector.push(frame, |e| events.push(e));
    }
    detector.finish(|e| events.push(e));
    (events, detector.stats())
}

fn assert_same(rate: u32, what: &str, pcm: &[i16], expect_digits: usize) {
    let (reference, reference_stats) = run(Kernel::Portable, rate, pcm);
    assert_eq!(
        reference.len(),
        2 * expect_digits,
        "{what} at {rate} Hz, portable kernel: {reference:?}"
    );
    for &kernel in Kernel::all_supported() {
        let (events, stats) = run(kernel, rate, pcm);
        assert_eq!(
            events.len(),
            reference.len(),
            "{what} at {rate} Hz, {kernel:?}: {events:?}"
        );
        for (a, b) in reference.iter().zip(&events) {
            assert_eq!((a.edge, a.digit), (b.edge, b.digit), "{what}, {kernel:?}");
            assert!(
                a.at.abs_diff(b.at) <= 2,
                "{what}, {kernel:?}: {a:?} vs {b:?}"
            );
            assert_eq!(a.reported_at, b.reported_at, "{what}, {kernel:?}");
            assert!(
                (a.level_dbm0 - b.level_dbm0).abs() < 0.1 && (a.twist_db - b.twist_db).abs() < 0.1,
                "{what}, {kernel:?}: {a:?} vs {b:?}"
            );
        }
        assert_eq!(stats.digits, reference_stats.digits, "{what}, {kernel:?}");
        assert_eq!(stats.windows, reference_stats.windows, "{what}, {kernel:?}");
    }
}

#[test]
fn every_kernel_reports_the_same_tones() {
    for rate in [8000, 16000] {
        let mut b = SignalBuilder::new(rate).unwrap();
        b.silence_ms(30.0);
        let (on, off) = (b.ms_to_samples(60.0), b.ms_to_samples(70.0));
        b.digits(&ALL_DIGITS, &ToneShape::at_level(-6.0), on, off);
        b.digits(
            &ALL_DIGITS,
            &ToneShape::at_level(-30.0).offset(1.0, -1.0),
            on,
            off,
        );
        b.digits(&ALL_DIGITS, &ToneShape::with_levels(-10.0, -15.0), on, off);
        assert_same(rate, "clean keys", &b.to_pcm(), 48);
        // 18 dB S/N for the quietest keys: the noise floor carries part of their share.
        b.add_white_noise(-45.0, 0x5eed);
        assert_same(rate, "keys in noise", &b.to_pcm(), 48);
    }
}

#[test]
fn every_kernel_screens_speech_alike() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/talkoff/speech-allison-8k.wav");
    let speech: Vec<i16> = hound::WavReader::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_samples::<i16>()
        .take(8000 * 30)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_same(8000, "speech", &speech, 0);
}
