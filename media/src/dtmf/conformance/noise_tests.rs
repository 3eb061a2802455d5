//! Tests 6 and 8: white noise and dial tone under the digits.

use super::super::generator::{ToneShape, pair_level_dbm0};
use super::super::{ALL_DIGITS, Digit};
use super::train::{TrainBuilder, play};
use super::{Options, ReceiverUnderTest, Row};

/// Seed of the noise at S/N `snr_db`; printed in the row so a failure can be replayed.
pub(crate) fn noise_seed(snr_db: i32) -> u64 {
    0x5EED_0000 + snr_db as u64
}

/// Test 6: digit 1 at −4 dBm0 per tone plus flat white noise (0–4 kHz); S/N is the power of
/// the two tones together against the noise's. `snr_bursts` bursts per level, from 30 dB down
/// in 1 dB steps until a level misses or adds a digit. The bursts' positions step through every
/// alignment of a 32-sample block.
pub(crate) fn signal_to_noise(rx: &mut dyn ReceiverUnderTest, options: &Options) -> Vec<Row> {
    let bursts = options.snr_bursts.max(1);
    let signal_dbm0 = pair_level_dbm0(-4.0, -4.0);
    let mut lowest_clean = None;
    let mut first_failure = None;
    for snr in (3..=30).rev() {
        let mut t = TrainBuilder::new(8000);
        let on = t.samples(50.0);
        for i in 0..bursts {
            // 50 ms on, 50 ms plus 0 … 31 samples off: every block alignment occurs.
            let len = 2 * on + (i * 13) % 32;
            t.slot(len, 0, Some(Digit::D1), i as i64, |b| {
                b.tone(Digit::D1, &ToneShape::at_level(-4.0), on);
            });
        }
        let seed = noise_seed(snr);
        t.signal.add_white_noise(signal_dbm0 - snr as f32, seed);
        let train = t.build();
        let run = play(rx, &train, 0);
        let detected = (0..train.slots.len())
            .filter(|&i| run.exactly_once(&train, i))
            .count();
        let extra: usize = run
            .per_slot
            .iter()
            .map(|d| d.len().saturating_sub(1))
            .sum::<usize>()
            + run.stray;
        if detected == bursts && extra == 0 {
            lowest_clean = Some(snr);
        } else {
            first_failure = Some((snr, detected, extra, seed));
            break;
        }
    }
    let pass = lowest_clean.is_some_and(|s| s <= 15);
    let mut measured = match lowest_clean {
        Some(s) => format!("all {bursts} down to {s} dB"),
        None => "fails at 30 dB".into(),
    };
    if let Some((snr, detected, extra, seed)) = first_failure {
        measured += &format!("; at {snr} dB {detected}/{bursts}, {extra} extra (seed {seed:#x})");
    }
    vec![Row::new(
        6,
        format!("S/N, {bursts} bursts per level"),
        "all at 15 dB",
        measured,
        pass,
    )]
}

/// Test 8: dial tone (350 + 440 Hz) under all 16 digits at −10 dBm0 per tone, raised in 1 dB
/// steps until a digit is missed or added; reports the dial tone's level per tone relative to a
/// DTMF tone at the first failure.
pub(crate) fn dial_tone(rx: &mut dyn ReceiverUnderTest, options: &Options) -> Vec<Row> {
    let level = -10.0;
    let mut failure = None;
    for ratio in -30..=10 {
        let mut t = TrainBuilder::new(8000);
        let on = t.samples(50.0);
        for digit in ALL_DIGITS {
            t.slot(2 * on, 0, Some(digit), 0, |b| {
                b.tone(digit, &ToneShape::at_level(level), on);
            });
        }
        t.signal.add_dial_tone(level + ratio as f32);
        let train = t.build();
        let all_aligned = super::train::sweep(rx, &train, options)
            .iter()
            .all(|r| (0..train.slots.len()).all(|i| r.exactly_once(&train, i)) && r.stray == 0);
        if !all_aligned {
            failure = Some(ratio);
            break;
        }
    }
    let measured = match failure {
        Some(r) => format!("first failure with dial tone {r:+} dB relative to each DTMF tone"),
        None => "no failure up to +10 dB".into(),
    };
    vec![Row::info(8, "dial tone under the digits", measured)]
}
