//! The test procedure of `dtmf-requirements.md` (tests 1–11) on our receiver: every row must meet
//! its requirement. Each test prints its rows, so `cargo test -- --nocapture` shows the table.
//!
//! The same procedure runs in full in `switchboard dtmf conformance`; here too, with 1000 bursts
//! per noise level in test 6 and every alignment of the detector's 4 ms hop.

use switchboard_media::dtmf::DetectorConfig;
use switchboard_media::dtmf::conformance::{Options, OurReceiver, Row, Verdict, run_test};

fn run(test: u8) -> Vec<Row> {
    let mut receiver =
        OurReceiver::new(DetectorConfig::default()).expect("default config is valid");
    let rows = run_test(&mut receiver, &Options::default(), test);
    for row in &rows {
        println!(
            "{:>2}  {}  |  {}  |  {}  |  {:?}",
            row.test, row.item, row.requirement, row.measured, row.verdict
        );
    }
    assert!(!rows.is_empty(), "test {test} produced no rows");
    let failed: Vec<&Row> = rows.iter().filter(|r| r.verdict == Verdict::Fail).collect();
    assert!(
        failed.is_empty(),
        "test {test}: rows failing their requirement: {failed:#?}"
    );
    rows
}

#[test]
fn test_01_decode_every_digit_exactly_once() {
    run(1);
}

#[test]
fn test_02_bandwidth_accepts_1_5_and_rejects_beyond_3_5_percent() {
    assert_eq!(run(2).len(), 2);
}

#[test]
fn test_03_twist_accepts_minus_8_to_plus_4_db() {
    assert_eq!(run(3).len(), 2);
}

#[test]
fn test_04_dynamic_range_and_floor() {
    let rows = run(4);
    // Our floor is −45 dBm0: −30 dBm0 is found, −46 dBm0 and below never are.
    assert!(
        rows[0].measured.contains("nothing below -45 dBm0"),
        "{}",
        rows[0].measured
    );
}

#[test]
fn test_05_guard_time_accepts_40_rejects_23_ms() {
    run(5);
}

#[test]
fn test_06_signal_to_noise_15_db_with_1000_bursts() {
    run(6);
}

#[test]
fn test_07_pause_dropout_and_signalling_speed() {
    assert_eq!(run(7).len(), 3);
}

#[test]
fn test_08_dial_tone_is_reported() {
    let rows = run(8);
    assert_eq!(rows[0].verdict, Verdict::Info);
}

#[test]
fn test_09_through_opus_and_g711() {
    // Six channels (16 kHz linear, Opus 16/24/32 kbit/s, µ-law, A-law) × seven rows.
    assert_eq!(run(9).len(), 42);
}

#[test]
fn test_10_talk_off_on_real_speech_and_music() {
    assert_eq!(run(10).len(), 2);
}

#[test]
fn test_11_latency_median_30_max_40_ms() {
    assert_eq!(run(11).len(), 2);
}
