//! [`ToneDetector`]: the streaming, sans-IO in-band DTMF receiver.
//!
//! PCM of any chunk size goes in through [`ToneDetector::push`]; tone-start and tone-end events come
//! out through a callback. A callback rather than a queue to poll: events are rare, the caller
//! usually forwards them at once, and a callback needs no buffer that could fill up when a caller
//! pushes a long file in one call. Nothing allocates after [`ToneDetector::new`].
//!
//! 16 kHz input is decimated to 8 kHz on the way in by a 4-tap `[1, 3, 3, 1]/8` low-pass: −1.3 dB
//! at 1633 Hz (divided out again per bin), −30 dB where 6.4–7.3 kHz would fold onto the DTMF
//! band. That keeps 16 kHz almost as cheap as 8 kHz. Timing is described in [`super::timing`].
//!
//! # Cost
//!
//! A push is dispatched once to the whole push path compiled for the CPU's best kernel (see
//! [`super::correlator`]), not once per sub-block. Per sub-block it correlates, and per window
//! it decides in three steps, each rarer than the one before: the window energy against the level
//! floor (silence stops here), a bound on the tones' share from the sub-blocks' powers
//! ([`WindowAnalyzer::screen`]; almost all speech stops here), and only then the full judgement.
//! A detector is 704 bytes; per frame it touches its three-line [`Ring`] of spectra, two lines
//! of running window sums and a few counters. The analysis constants and the kernel tables are
//! shared by all detectors.

use std::sync::Arc;

use super::analysis::{WindowAnalyzer, WindowHit, WindowSums};
#[cfg(target_arch = "x86_64")]
use super::correlator::Fma;
use super::correlator::{HISTORY, Kernel, KernelOps, Portable, Ring, SubBlockLevels, window_slots};
use super::generator::power_to_dbm0;
#[cfg(target_arch = "x86_64")]
use super::kernel_vnni::Vnni;
use super::noise_floor::NoiseFloor;
use super::timing::{SUB_BLOCK, WINDOW, WindowCounts};
use super::{ConfigError, DetectorConfig, Digit};

/// Whether a tone began or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToneEdge {
    /// The key was pressed: the tone has lasted long enough to count.
    Start,
    /// The key was released: the tone has been gone long enough not to be a drop-out.
    End,
}

/// A tone starting or ending, with its timing in input samples since the detector started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneEvent {
    /// Start or end.
    pub edge: ToneEdge,
    /// The key whose row and column tones were heard.
    pub digit: Digit,
    /// The estimated sample index (at the input rate) of the tone's onset for a start, or of the
    /// first sample after the tone for an end.
    pub at: u64,
    /// The number of input samples the detector had been given when it reported this event:
    /// `reported_at − at` is the detection delay.
    pub reported_at: u64,
    /// Mean power per tone of the two tones in dBm0 (equal tones at −10 dBm0 give −10), measured
    /// over the fully covered windows seen so far of this tone.
    pub level_dbm0: f32,
    /// High-group level minus low-group level in dB, from the same window.
    pub twist_db: f32,
}

/// Counters for judging talk-off margins: how often a window looked like a digit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetectorStats {
    /// Analysis windows judged.
    pub windows: u64,
    /// Windows that passed every per-window test (a "single-block hit").
    pub hit_windows: u64,
    /// Runs of hits that ended before confirming a digit (near misses).
    pub unconfirmed_runs: u64,
    /// Digits confirmed.
    pub digits: u64,
}

/// The streaming in-band DTMF receiver; see the module documentation.
///
/// Laid out (`repr(C)`) with what every frame touches first, in the first seven cache lines, and
/// what only partial pushes, hits and configuration changes touch after it.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct ToneDetector {
    /// The last three sub-blocks' correlations (the current window).
    ring: Ring,
    /// Power and energy sums over the current window.
    sums: WindowSums,
    /// Background noise under the windows.
    noise: NoiseFloor,
    /// Constants of the window analysis, shared with other detectors.
    analyzer: Arc<WindowAnalyzer>,
    /// Sub-blocks analysed so far.
    sub_blocks: u64,
    /// Input samples received so far.
    input_samples: u64,
    candidate: Option<Run>,
    active: Option<Active>,
    /// Input samples in `stage`.
    filled: usize,
    /// Slot of `ring` the next sub-block goes to.
    next: u8,
    kernel: Kernel,
    /// 1 at 8 kHz, 2 at 16 kHz: input samples per analysed sample.
    decimation: u8,
    /// The last two input samples of the previous sub-block (16 kHz decimator).
    history: [i16; HISTORY],
    stats: DetectorStats,
    counts: WindowCounts,
    /// Input samples of a sub-block that arrived split across calls.
    stage: [i16; 2 * SUB_BLOCK],
    config: DetectorConfig,
}

/// Bytes at the start of a [`ToneDetector`] that every push reads or writes.
const HOT_BYTES: usize = std::mem::offset_of!(ToneDetector, stats);

/// A run of consecutive hit windows of one digit, not yet confirmed.
#[derive(Debug, Clone, Copy)]
struct Run {
    digit: Digit,
    hits: u32,
    /// Estimated onset at 8 kHz.
    onset: f32,
    best: Level,
}

/// The digit currently reported as pressed.
#[derive(Debug, Clone, Copy)]
struct Active {
    digit: Digit,
    misses: u32,
    /// Estimated end of the tone at 8 kHz, from the last hit window and the partly covered
    /// windows right after it.
    end: f32,
    /// Whether every window since the last hit was this tone partly covering the window.
    trailing: bool,
    best: Level,
}

/// The level of a tone: the mean tone powers over its fully covered windows. Windows more than
/// 1 dB weaker than the strongest are left out: they are the partly covered ones at the edges.
#[derive(Debug, Clone, Copy)]
struct Level {
    strongest: f32,
    low_sum: f32,
    high_sum: f32,
    windows: u32,
}

/// 1 dB as a power ratio.
const ONE_DB_BELOW: f32 = 0.794;

impl Level {
    fn of(hit: &WindowHit) -> Level {
        Level {
            strongest: hit.low_power + hit.high_power,
            low_sum: hit.low_power,
            high_sum: hit.high_power,
            windows: 1,
        }
    }

    fn add(&mut self, hit: &WindowHit) {
        let power = hit.low_power + hit.high_power;
        if power * ONE_DB_BELOW > self.strongest {
            *self = Level::of(hit);
        } else if power > self.strongest * ONE_DB_BELOW {
            self.strongest = self.strongest.max(power);
            self.low_sum += hit.low_power;
            self.high_sum += hit.high_power;
            self.windows += 1;
        }
    }

    fn dbm0(&self) -> f32 {
        power_to_dbm0((self.low_sum + self.high_sum) / (2 * self.windows) as f32)
    }

    fn twist_db(&self) -> f32 {
        10.0 * (self.high_sum / self.low_sum).log10()
    }
}

impl ToneDetector {
    /// A detector for `config`, or the reason the configuration cannot work.
    pub fn new(config: DetectorConfig) -> Result<Self, ConfigError> {
        let counts = config.validate()?;
        Ok(ToneDetector {
            ring: Ring::default(),
            next: 0,
            sums: WindowSums::default(),
            analyzer: super::analyzer_cache::shared_analyzer(&config),
            noise: NoiseFloor::default(),
            kernel: Kernel::detect(),
            decimation: (config.sample_rate / 8000) as u8,
            sub_blocks: 0,
            input_samples: 0,
            candidate: None,
            active: None,
            stats: DetectorStats::default(),
            counts,
            history: [0; HISTORY],
            filled: 0,
            stage: [0; 2 * SUB_BLOCK],
            config,
        })
    }

    /// The same detector running a given kernel (tests compare kernels).
    #[cfg(test)]
    pub(crate) fn with_kernel(config: DetectorConfig, kernel: Kernel) -> Self {
        assert!(Kernel::all_supported().contains(&kernel));
        ToneDetector {
            kernel,
            ..ToneDetector::new(config).expect("tests use valid configurations")
        }
    }

    /// The configuration this detector runs with.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// The input sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.config.sample_rate
    }

    /// Input samples given to the detector since it was built or reset.
    pub fn samples_pushed(&self) -> u64 {
        self.input_samples
    }

    /// The digit currently held down, if any.
    pub fn active_digit(&self) -> Option<Digit> {
        self.active.map(|a| a.digit)
    }

    /// Talk-off counters since the detector was built or reset.
    pub fn stats(&self) -> DetectorStats {
        DetectorStats {
            // Every sub-block from the third on completes a window.
            windows: self.sub_blocks.saturating_sub(2),
            ..self.stats
        }
    }

    /// Forgets all input, as if newly built with the same configuration.
    pub fn reset(&mut self) {
        // Everything but the configuration, the shared analyzer and the kernel choice.
        self.ring = Ring::default();
        self.next = 0;
        self.sums = WindowSums::default();
        self.noise = NoiseFloor::default();
        self.sub_blocks = 0;
        self.input_samples = 0;
        self.candidate = None;
        self.active = None;
        self.stats = DetectorStats::default();
        self.history = [0; HISTORY];
        self.filled = 0;
    }

    /// Feeds 16-bit PCM at the configured rate, in chunks of any size; `on_event` is called for
    /// every tone start and end found, in order. Allocates nothing.
    pub fn push(&mut self, pcm: &[i16], mut on_event: impl FnMut(ToneEvent)) {
        // With many channels both the detector and its input come from memory: ask for all of
        // their lines at once rather than one miss after another.
        prefetch(std::ptr::from_ref(self).cast(), HOT_BYTES);
        prefetch(pcm.as_ptr().cast(), std::mem::size_of_val(pcm).min(1024));
        match self.kernel {
            Kernel::Portable => self.push_with::<Portable, _>(pcm, &mut on_event),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx2Fma` is only chosen after checking that this CPU has AVX2 and
            // FMA (`Kernel::detect`, `Kernel::all_supported`).
            Kernel::Avx2Fma => unsafe { self.push_avx2(pcm, &mut on_event) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx512` is only chosen after checking for AVX-512F, AVX2 and FMA.
            Kernel::Avx512 => unsafe { self.push_avx512(pcm, &mut on_event) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx512Vnni` is only chosen after checking for every feature the
            // VNNI path is compiled for.
            Kernel::Avx512Vnni => unsafe { self.push_vnni(pcm, &mut on_event) },
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn push_avx2<F: FnMut(ToneEvent)>(&mut self, pcm: &[i16], on_event: &mut F) {
        self.push_with::<Fma, F>(pcm, on_event);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn push_avx512<F: FnMut(ToneEvent)>(&mut self, pcm: &[i16], on_event: &mut F) {
        self.push_with::<Fma, F>(pcm, on_event);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
    fn push_vnni<F: FnMut(ToneEvent)>(&mut self, pcm: &[i16], on_event: &mut F) {
        self.push_with::<Vnni, F>(pcm, on_event);
    }

    /// The push path, inlined into each compiled version.
    #[inline(always)]
    fn push_with<K: KernelOps, F: FnMut(ToneEvent)>(&mut self, pcm: &[i16], on_event: &mut F) {
        let per_block = SUB_BLOCK * usize::from(self.decimation);
        let tables = K::tables();
        let mut rest = pcm;
        if self.filled > 0 {
            let take = (per_block - self.filled).min(rest.len());
            self.stage[self.filled..self.filled + take].copy_from_slice(&rest[..take]);
            self.filled += take;
            self.input_samples += take as u64;
            rest = &rest[take..];
            if self.filled < per_block {
                return;
            }
            self.filled = 0;
            let stage = self.stage;
            self.sub_block::<K, F>(tables, &stage[..per_block], on_event);
        }
        // Whole sub-blocks are analysed straight from the caller's buffer.
        let mut blocks = rest.chunks_exact(per_block);
        for block in &mut blocks {
            self.input_samples += per_block as u64;
            self.sub_block::<K, F>(tables, block, on_event);
        }
        let tail = blocks.remainder();
        self.stage[..tail.len()].copy_from_slice(tail);
        self.filled = tail.len();
        self.input_samples += tail.len() as u64;
    }

    /// Correlates one whole sub-block of input and judges the window it completes.
    #[inline(always)]
    fn sub_block<K: KernelOps, F: FnMut(ToneEvent)>(
        &mut self,
        tables: &K::Tables,
        block: &[i16],
        on_event: &mut F,
    ) {
        let slot = usize::from(self.next);
        self.next = if slot == 2 { 0 } else { self.next + 1 };
        let levels: SubBlockLevels = if self.decimation == 2 {
            let samples = block.try_into().expect("push hands over whole sub-blocks");
            let history = self.history;
            self.history = [block[2 * SUB_BLOCK - 2], block[2 * SUB_BLOCK - 1]];
            K::correlate_16k(tables, history, samples, &mut self.ring, slot)
        } else {
            let x = block.try_into().expect("push hands over whole sub-blocks");
            K::correlate_8k(tables, x, &mut self.ring, slot)
        };
        let (power, energy) = self.sums.push(&levels);
        self.sub_blocks += 1;
        // The first two sub-blocks do not make a window yet.
        if self.sub_blocks >= 3 {
            self.window::<K, F>(slot, &power, energy, on_event);
        }
    }

    /// Judges the window whose newest sub-block is in `slot` (its power per bin and energy
    /// summed over its sub-blocks) and updates the tone state.
    #[inline(always)]
    fn window<K: KernelOps, F: FnMut(ToneEvent)>(
        &mut self,
        slot: usize,
        power: &[f32; 8],
        energy: f32,
        on_event: &mut F,
    ) {
        let noise = self.noise.level();
        let analyzer = &*self.analyzer;
        // Right after a tone the partly covered windows refine its end, so they are judged in
        // full; otherwise only a hit matters, and the screen never rejects one. Both cheap
        // tests are computed and combined without branching: on speech their outcomes change
        // from window to window, and a mispredicted branch costs more than the screen itself.
        let loud = energy >= analyzer.min_window_energy();
        let required = analyzer.required_tone_energy(energy, noise);
        let could_hit = analyzer.screen(power, required);
        let trailing = self.active.is_some_and(|a| a.trailing);
        if loud & (could_hit | trailing) {
            self.judged_window(slot, energy, noise, on_event);
            return;
        }
        // A miss without judgement: almost every window of silence and speech.
        self.noise.update(energy);
        if self.candidate.is_some() || self.active.is_some() {
            if let Some(active) = self.active.as_mut() {
                active.trailing = false;
            }
            self.on_miss(on_event);
        }
    }

    /// The full judgement of a window the screen let through, and the tone state's update.
    /// Rare, so kept out of line (and the same instructions whatever the kernel).
    #[inline(never)]
    fn judged_window<F: FnMut(ToneEvent)>(
        &mut self,
        slot: usize,
        energy: f32,
        noise: f32,
        on_event: &mut F,
    ) {
        let verdict = self
            .analyzer
            .judge(&self.ring, window_slots(slot), energy, noise);
        let hit = verdict.filter(|h| self.analyzer.is_hit(h));
        self.noise
            .update(energy - hit.map_or(0.0, |h| h.tone_energy));
        // The window covers 8 kHz samples [end − W, end).
        let end = (self.sub_blocks * SUB_BLOCK as u64) as f32;
        if let Some(hit) = hit {
            self.stats.hit_windows += 1;
            self.on_hit(&hit, end, on_event);
            return;
        }
        // A window the held tone covers only partly, right after its last hit, tells where the
        // tone stopped more precisely than the last hit does.
        if let (Some(partial), Some(active)) = (verdict, self.active.as_mut())
            && active.trailing
            && partial.digit() == active.digit
        {
            let uncovered = (1.0 - partial.share.clamp(0.0, 1.0)) * WINDOW as f32;
            active.end = active.end.max(end - uncovered);
        } else if let Some(active) = self.active.as_mut() {
            active.trailing = false;
        }
        self.on_miss(on_event);
    }

    /// Ends the input: reports the end of a tone still in progress. The detector can be reset and
    /// reused afterwards.
    pub fn finish(&mut self, mut on_event: impl FnMut(ToneEvent)) {
        if let Some(active) = self.active.take() {
            self.emit_end(&active, &mut on_event);
        }
        if self.candidate.take().is_some() {
            self.stats.unconfirmed_runs += 1;
        }
    }

    fn on_hit(&mut self, hit: &WindowHit, end: f32, on_event: &mut impl FnMut(ToneEvent)) {
        let digit = hit.digit();
        // The uncovered part of a partly covered window is about (1 − share)·W.
        let uncovered = (1.0 - hit.share.min(1.0)) * WINDOW as f32;
        if let Some(active) = self.active.as_mut()
            && active.digit == digit
        {
            active.misses = 0;
            active.trailing = true;
            active.end = end - uncovered;
            active.best.add(hit);
            self.candidate = None;
            return;
        }
        let run = match self.candidate.as_mut() {
            Some(run) if run.digit == digit => {
                run.hits += 1;
                run.best.add(hit);
                *run
            }
            other => {
                if other.is_some() {
                    self.stats.unconfirmed_runs += 1;
                }
                let run = Run {
                    digit,
                    hits: 1,
                    onset: end - WINDOW as f32 + uncovered,
                    best: Level::of(hit),
                };
                self.candidate = Some(run);
                run
            }
        };
        // A different digit's window is a miss for the digit held down.
        if let Some(active) = self.active.as_mut() {
            active.misses += 1;
            if active.misses >= self.counts.release || run.hits >= self.counts.confirm {
                let active = self.active.take().expect("checked just above");
                self.emit_end(&active, on_event);
            }
        }
        if run.hits >= self.counts.confirm {
            self.candidate = None;
            self.stats.digits += 1;
            self.active = Some(Active {
                digit,
                misses: 0,
                trailing: true,
                end: end - uncovered,
                best: run.best,
            });
            on_event(ToneEvent {
                edge: ToneEdge::Start,
                digit,
                at: self.to_input_time(run.onset),
                reported_at: self.input_samples,
                level_dbm0: run.best.dbm0(),
                twist_db: run.best.twist_db(),
            });
        }
    }

    fn on_miss(&mut self, on_event: &mut impl FnMut(ToneEvent)) {
        if self.candidate.take().is_some() {
            self.stats.unconfirmed_runs += 1;
        }
        if let Some(active) = self.active.as_mut() {
            active.misses += 1;
            if active.misses >= self.counts.release {
                let active = self.active.take().expect("checked just above");
                self.emit_end(&active, on_event);
            }
        }
    }

    fn emit_end(&self, active: &Active, on_event: &mut impl FnMut(ToneEvent)) {
        on_event(ToneEvent {
            edge: ToneEdge::End,
            digit: active.digit,
            at: self.to_input_time(active.end),
            reported_at: self.input_samples,
            level_dbm0: active.best.dbm0(),
            twist_db: active.best.twist_db(),
        });
    }

    /// An 8 kHz analysis time as an input sample index. The decimator's output `n` is centred on
    /// input sample `2n − ½`, close enough to `2n`.
    fn to_input_time(&self, t8: f32) -> u64 {
        (t8.max(0.0).round() as u64) * u64::from(self.decimation)
    }
}

/// Asks the CPU to start loading the `bytes` bytes from `start` into the cache.
#[inline(always)]
fn prefetch(start: *const u8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    for offset in (0..bytes).step_by(64) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch never faults and has no effect on memory; callers pass the
        // start and length of one object.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, bytes);
}
