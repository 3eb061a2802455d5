//! The test procedure of `dtmf-requirements.md` (tests 1–11), run on any DTMF receiver.
//!
//! Every test builds a *train*: one long signal of bursts, each in its own slot with a known
//! expected outcome. The train is generated once (and, for test 9, sent through the codec once),
//! then played to the receiver at every block alignment by prepending 0 … P−1 samples of silence,
//! where P is the receiver's [`ReceiverUnderTest::alignment_period`]. Each detection is assigned
//! to the slot it was reported in. A row passes when the requirement holds at every alignment.
//!
//! The same procedure runs our [`ToneDetector`] (through [`OurReceiver`]) in `cargo test` and in
//! `switchboard dtmf conformance`, and a reference receiver in the comparison tool.

mod codec_tests;
mod noise_tests;
mod talkoff;
mod timing_tests;
mod tone_tests;
mod train;

use std::fmt;
use std::path::PathBuf;

pub use codec_tests::Channel;

use super::{DetectorConfig, Digit, ToneDetector, ToneEdge};

/// A DTMF receiver under test: ours, or a reference receiver in the comparison tool.
pub trait ReceiverUnderTest {
    /// A short name for reports.
    fn name(&self) -> &str;
    /// Starts a fresh signal at this sample rate (8000 or 16000).
    fn reset(&mut self, sample_rate: u32);
    /// Feeds PCM; appends what was detected to `out`.
    fn feed(&mut self, pcm: &[i16], out: &mut Vec<Detection>);
    /// End of the signal: report a digit still in progress.
    fn finish(&mut self, out: &mut Vec<Detection>);
    /// The receiver's block length in samples at `sample_rate`: the procedure tries every
    /// alignment within it (or evenly spaced ones, see [`Options::max_alignments`]).
    fn alignment_period(&self, sample_rate: u32) -> usize {
        // Our detector's hop: 4 ms.
        sample_rate as usize / 250
    }
    /// Single-block hits since the last reset (windows that looked like a digit on their own),
    /// when the receiver can tell: the talk-off near-miss measure.
    fn near_misses(&self) -> Option<u64> {
        None
    }
}

/// One digit as reported: `reported_at` is the sample index at which the receiver reported it
/// (for latency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The key the receiver reported.
    pub digit: Digit,
    /// Input samples the receiver had been given when it reported the digit.
    pub reported_at: u64,
    /// Estimated onset (sample index), if the receiver gives one.
    pub start: Option<u64>,
    /// Estimated end (sample index), if the receiver gives one.
    pub end: Option<u64>,
    /// Measured level per tone in dBm0, if the receiver gives one.
    pub level_dbm0: Option<f32>,
}

/// Our [`ToneDetector`] as a [`ReceiverUnderTest`].
#[derive(Debug, Clone)]
pub struct OurReceiver {
    config: DetectorConfig,
    detector: ToneDetector,
    /// The start of the tone in progress, completed by its end event.
    pending: Option<Detection>,
}

impl OurReceiver {
    /// Our detector with `config` (its sample rate is replaced at each reset).
    pub fn new(config: DetectorConfig) -> Result<Self, super::ConfigError> {
        Ok(OurReceiver {
            config,
            detector: ToneDetector::new(config)?,
            pending: None,
        })
    }

    fn collect(pending: &mut Option<Detection>, out: &mut Vec<Detection>, e: super::ToneEvent) {
        match e.edge {
            ToneEdge::Start => {
                if let Some(open) = pending.take() {
                    out.push(open);
                }
                *pending = Some(Detection {
                    digit: e.digit,
                    reported_at: e.reported_at,
                    start: Some(e.at),
                    end: None,
                    level_dbm0: Some(e.level_dbm0),
                });
            }
            ToneEdge::End => {
                if let Some(mut open) = pending.take() {
                    open.end = Some(e.at);
                    open.level_dbm0 = Some(e.level_dbm0);
                    out.push(open);
                }
            }
        }
    }
}

impl ReceiverUnderTest for OurReceiver {
    fn name(&self) -> &str {
        "switchboard"
    }

    fn reset(&mut self, sample_rate: u32) {
        if sample_rate == self.detector.sample_rate() {
            self.detector.reset();
        } else {
            let config = DetectorConfig {
                sample_rate,
                ..self.config
            };
            // The configuration was valid at construction; only the rate changes, and the
            // procedure only uses 8000 and 16000.
            self.detector = ToneDetector::new(config).expect("valid configuration at 8 or 16 kHz");
        }
        self.pending = None;
    }

    fn feed(&mut self, pcm: &[i16], out: &mut Vec<Detection>) {
        let pending = &mut self.pending;
        self.detector.push(pcm, |e| Self::collect(pending, out, e));
    }

    fn finish(&mut self, out: &mut Vec<Detection>) {
        let pending = &mut self.pending;
        self.detector.finish(|e| Self::collect(pending, out, e));
        if let Some(open) = pending.take() {
            out.push(open);
        }
    }

    fn near_misses(&self) -> Option<u64> {
        Some(self.detector.stats().hit_windows)
    }
}

/// How much of the procedure to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Most alignments tried per block period (evenly spaced); the default 32 covers every
    /// alignment of our 32-sample hop at 8 kHz.
    pub max_alignments: usize,
    /// Bursts per noise level in test 6 (the procedure says 1000).
    pub snr_bursts: usize,
    /// Channels of test 9.
    pub codec_channels: Vec<Channel>,
    /// Real speech and music for test 10: mono 16-bit WAV files at 8 kHz.
    pub talkoff_files: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_alignments: 32,
            snr_bursts: 1000,
            codec_channels: Channel::ALL.to_vec(),
            talkoff_files: talkoff::fixture_files(),
        }
    }
}

/// Whether a row met its requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The requirement holds.
    Pass,
    /// The requirement does not hold.
    Fail,
    /// The row only reports a measurement; there is no requirement to meet.
    Info,
}

/// One row of the conformance table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Test number of the procedure (1–11).
    pub test: u8,
    /// What the row measures, e.g. `bandwidth, low group`.
    pub item: String,
    /// The requirement, as in `dtmf-requirements.md`.
    pub requirement: String,
    /// The measured edge(s).
    pub measured: String,
    /// Pass, fail or information only.
    pub verdict: Verdict,
}

impl Row {
    fn new(
        test: u8,
        item: impl Into<String>,
        requirement: impl Into<String>,
        measured: impl Into<String>,
        passed: bool,
    ) -> Row {
        Row {
            test,
            item: item.into(),
            requirement: requirement.into(),
            measured: measured.into(),
            verdict: if passed { Verdict::Pass } else { Verdict::Fail },
        }
    }

    fn info(test: u8, item: impl Into<String>, measured: impl Into<String>) -> Row {
        Row {
            test,
            item: item.into(),
            requirement: "report".into(),
            measured: measured.into(),
            verdict: Verdict::Info,
        }
    }
}

/// The whole procedure's results for one receiver.
#[derive(Debug, Clone)]
pub struct Report {
    /// The receiver's name.
    pub receiver: String,
    /// Every row, in procedure order.
    pub rows: Vec<Row>,
}

impl Report {
    /// Rows that met their requirement.
    pub fn passed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Pass)
            .count()
    }

    /// Rows that did not.
    pub fn failed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = |get: fn(&Row) -> &str, min: usize| {
            self.rows
                .iter()
                .map(|r| get(r).chars().count())
                .max()
                .unwrap_or(0)
                .max(min)
        };
        let wi = width(|r| &r.item, 4);
        let wr = width(|r| &r.requirement, 11);
        let wm = width(|r| &r.measured, 8);
        writeln!(f, "DTMF conformance: {}", self.receiver)?;
        writeln!(
            f,
            "{:>2}  {:wi$}  {:wr$}  {:wm$}  result",
            "#", "item", "requirement", "measured"
        )?;
        for r in &self.rows {
            let verdict = match r.verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "FAIL",
                Verdict::Info => "info",
            };
            writeln!(
                f,
                "{:>2}  {:wi$}  {:wr$}  {:wm$}  {verdict}",
                r.test, r.item, r.requirement, r.measured
            )?;
        }
        write!(
            f,
            "conformance: {} passed, {} failed",
            self.passed(),
            self.failed()
        )
    }
}

/// Runs tests 1–11 on `receiver`.
pub fn run_all(receiver: &mut dyn ReceiverUnderTest, options: &Options) -> Report {
    let mut rows = Vec::new();
    for test in 1..=11 {
        rows.extend(run_test(receiver, options, test));
    }
    Report {
        receiver: receiver.name().to_string(),
        rows,
    }
}

/// Runs one test (1–11) of the procedure on `receiver`; an unknown number gives no rows.
pub fn run_test(receiver: &mut dyn ReceiverUnderTest, options: &Options, test: u8) -> Vec<Row> {
    let direct = Channel::Linear8k;
    match test {
        1 => tone_tests::decode(receiver, options, direct).rows,
        2 => tone_tests::bandwidth(receiver, options, direct),
        3 => tone_tests::twist(receiver, options),
        4 => tone_tests::dynamic_range(receiver, options),
        5 => timing_tests::guard_time(receiver, options, direct),
        6 => noise_tests::signal_to_noise(receiver, options),
        7 => timing_tests::pause_and_interruption(receiver, options, direct),
        8 => noise_tests::dial_tone(receiver, options),
        9 => codec_tests::through_codecs(receiver, options),
        10 => talkoff::talk_off(receiver, options),
        11 => timing_tests::latency(receiver, options),
        _ => Vec::new(),
    }
}
