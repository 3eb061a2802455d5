//! Trains of test bursts and playing them to a receiver at every alignment.

use super::super::Digit;
use super::super::generator::SignalBuilder;
use super::{Detection, Options, ReceiverUnderTest};

/// One slot of a train: where it starts, where its (first) tone starts, and which key it holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// First sample of the slot.
    pub start: usize,
    /// Onset of the slot's first tone.
    pub onset: usize,
    /// The key the slot's tones are, if any.
    pub digit: Option<Digit>,
    /// The value the test sweeps (a duration in samples, an offset in tenths of a percent, …).
    pub param: i64,
}

/// A long test signal made of slots.
#[derive(Debug, Clone)]
pub(crate) struct Train {
    pub pcm: Vec<i16>,
    pub rate: u32,
    pub slots: Vec<Slot>,
}

/// Builds a [`Train`] slot by slot on top of a [`SignalBuilder`].
#[derive(Debug)]
pub(crate) struct TrainBuilder {
    pub signal: SignalBuilder,
    slots: Vec<Slot>,
}

impl TrainBuilder {
    /// A train at `rate` Hz, starting with 100 ms of silence: a codec's first frames are its
    /// start-up, not a channel in steady state.
    pub fn new(rate: u32) -> TrainBuilder {
        let mut signal = SignalBuilder::new(rate).expect("the procedure uses 8 and 16 kHz");
        signal.silence_ms(100.0);
        TrainBuilder {
            signal,
            slots: Vec::new(),
        }
    }

    /// Samples in `ms` milliseconds at the train's rate.
    pub fn samples(&self, ms: f32) -> usize {
        self.signal.ms_to_samples(ms)
    }

    /// Appends a slot of `len` samples: `lead` samples of silence, then whatever `fill` appends
    /// (the slot's tone starts right after the lead), then silence up to `len`.
    pub fn slot(
        &mut self,
        len: usize,
        lead: usize,
        digit: Option<Digit>,
        param: i64,
        fill: impl FnOnce(&mut SignalBuilder),
    ) {
        let start = self.signal.len();
        self.signal.silence(lead);
        fill(&mut self.signal);
        let used = self.signal.len() - start;
        assert!(
            used <= len,
            "slot content of {used} samples exceeds the slot of {len}"
        );
        self.signal.silence(len - used);
        self.slots.push(Slot {
            start,
            onset: start + lead,
            digit,
            param,
        });
    }

    /// The finished train (trailing silence added so the last tone can end).
    pub fn build(mut self) -> Train {
        let tail = self.samples(100.0);
        self.signal.silence(tail);
        Train {
            pcm: self.signal.to_pcm(),
            rate: self.signal.sample_rate(),
            slots: self.slots,
        }
    }
}

/// What one alignment of a train produced, slot by slot.
#[derive(Debug, Clone)]
pub(crate) struct AlignmentRun {
    /// Detections per slot, times relative to the train (the prepended silence removed).
    pub per_slot: Vec<Vec<Detection>>,
    /// Detections reported before the first slot (should not happen).
    pub stray: usize,
}

impl AlignmentRun {
    /// Whether slot `i` holds exactly one detection, of its own digit.
    pub fn exactly_once(&self, train: &Train, i: usize) -> bool {
        let d = &self.per_slot[i];
        d.len() == 1 && Some(d[0].digit) == train.slots[i].digit
    }

    /// Number of detections in slot `i`, of any digit.
    pub fn count(&self, i: usize) -> usize {
        self.per_slot[i].len()
    }
}

/// The alignments (prepended silence in samples) to try for `receiver` at `rate`.
pub(crate) fn alignments(
    receiver: &dyn ReceiverUnderTest,
    rate: u32,
    options: &Options,
) -> Vec<usize> {
    let period = receiver.alignment_period(rate).max(1);
    let count = options.max_alignments.clamp(1, period);
    (0..count).map(|i| i * period / count).collect()
}

/// Plays `train` to `receiver` after `offset` samples of silence, in 20 ms chunks.
pub(crate) fn play(
    receiver: &mut dyn ReceiverUnderTest,
    train: &Train,
    offset: usize,
) -> AlignmentRun {
    receiver.reset(train.rate);
    let mut found = Vec::new();
    let zeros = vec![0i16; offset];
    receiver.feed(&zeros, &mut found);
    for chunk in train.pcm.chunks(train.rate as usize / 50) {
        receiver.feed(chunk, &mut found);
    }
    receiver.finish(&mut found);
    let mut run = AlignmentRun {
        per_slot: vec![Vec::new(); train.slots.len()],
        stray: 0,
    };
    for mut d in found {
        let Some(at) = d.reported_at.checked_sub(offset as u64) else {
            run.stray += 1;
            continue;
        };
        d.reported_at = at;
        d.start = d.start.map(|s| s.saturating_sub(offset as u64));
        d.end = d.end.map(|s| s.saturating_sub(offset as u64));
        // The last slot whose start is at or before the report.
        let slot = train.slots.partition_point(|s| s.start as u64 <= at);
        match slot.checked_sub(1) {
            Some(i) => run.per_slot[i].push(d),
            None => run.stray += 1,
        }
    }
    run
}

/// Plays `train` at every alignment.
pub(crate) fn sweep(
    receiver: &mut dyn ReceiverUnderTest,
    train: &Train,
    options: &Options,
) -> Vec<AlignmentRun> {
    alignments(receiver, train.rate, options)
        .into_iter()
        .map(|offset| play(receiver, train, offset))
        .collect()
}

/// Per slot: in how many alignment runs `ok` held.
pub(crate) fn slot_counts(
    runs: &[AlignmentRun],
    slots: usize,
    ok: impl Fn(&AlignmentRun, usize) -> bool,
) -> Vec<usize> {
    (0..slots)
        .map(|i| runs.iter().filter(|r| ok(r, i)).count())
        .collect()
}

/// Time resolution of the sweeps: fine for the signal as generated, coarser through a codec,
/// where every step costs an encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// 0.125 ms (one sample at 8 kHz).
    Fine,
    /// 0.5 ms.
    Coarse,
}

impl Resolution {
    /// How far apart consecutive swept durations are, in ms.
    pub fn step_ms(self) -> f32 {
        match self {
            Resolution::Fine => 0.125,
            Resolution::Coarse => 0.5,
        }
    }
}

/// Formats a millisecond value with the precision the sweeps use.
pub(crate) fn ms(value: f64) -> String {
    format!("{value:.1} ms")
}
