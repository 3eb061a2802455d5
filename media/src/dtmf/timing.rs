//! Block layout and the alignment arithmetic behind the detector's timing edges.
//!
//! # Layout (at 8 kHz; 16 kHz input is first decimated to 8 kHz)
//!
//! The signal is cut into sub-blocks of `S = 32` samples (4 ms). Every sub-block is correlated
//! with the eight DTMF frequencies. An analysis window is the last `M = 3` sub-blocks,
//! `W = 96` samples (12 ms, 83 Hz resolution, enough to split 697 Hz from 770 Hz), and a new
//! window is judged every sub-block, so the hop is `H = S = 32` samples.
//!
//! # Why a partly covered window fails
//!
//! A window passes only if the two tones carry at least the share `c` (`min_tone_energy_ratio`,
//! default 0.85) of its energy. If the tone covers a fraction `f` of the window and the rest is
//! silent, the correlation sees amplitude `f·A` (tone power `f²·A²/2`) while the window's power is
//! `f·A²/2`, so the share is `f`: a window is a hit exactly when at least `c·W` of it is tone.
//!
//! # Hits in a tone of `T` samples
//!
//! Window starts `s` (multiples of `H`) with `[s, s+W)` at least `c` covered by a tone
//! `[a, a+T)` lie in `[a − (1−c)W, a + T − cW]`, an interval of length `T − x` with
//! `x = (2c − 1)·W` (67.2 samples for the defaults). It holds `⌊(T−x)/H⌋` or `⌊(T−x)/H⌋ + 1`
//! multiples of `H`, depending on the alignment. With `K` consecutive hits needed to confirm:
//!
//! * always rejected when `T < (K−1)·H + x`,
//! * always accepted when `T ≥ K·H + x`.
//!
//! `K` is chosen so that `min_on_ms` is the middle of that band: `K = round((T_min − x)/H + ½)`.
//! Defaults: `K = 5`, rejected below 195 samples (24.4 ms), accepted from 227 samples (28.4 ms):
//! the 23 ms reject and 40 ms accept hold with 11 ms and 93 samples to spare.
//!
//! # Drop-outs and pauses
//!
//! A silent gap of `g` samples makes the windows that see more than `(1−c)·W` of it miss:
//! `⌊(g+x)/H⌋` or `⌊(g+x)/H⌋ + 1` consecutive misses. A tone ends after `E` consecutive misses,
//! so a gap is always bridged when `g < (E−1)·H − x` and always ends the tone when
//! `g ≥ E·H − x`. The share `c` is measured, not exact (noise, codecs, leakage), so `E` is sized
//! with a margin of `0.2·W` on both sides: `E = ⌈(g_max + x + 0.2W)/H⌉ + 1`. Defaults: `E = 7`,
//! bridged up to 13 ms, separated from 22 ms at most, against the required 10 ms and 40 ms.
//!
//! # Latency
//!
//! The first hit window starts within `[a − (1−c)W, a − (1−c)W + H)`, the tone is confirmed at
//! the end of the `K`-th: `(K−1)·H + W` later. Onset to event is therefore
//! `(K−1)·H + c·W + [0, H)` = 209.6 to 241.6 samples: 26.2 ms to 30.2 ms at every alignment.

use super::DetectorConfig;

/// Samples per sub-block at 8 kHz: the hop between two analysis windows.
pub(crate) const SUB_BLOCK: usize = 32;
/// Sub-blocks per analysis window.
pub(crate) const WINDOW_SUB_BLOCKS: usize = 3;
/// Samples per analysis window at 8 kHz.
pub(crate) const WINDOW: usize = SUB_BLOCK * WINDOW_SUB_BLOCKS;
/// The analysis rate in Hz.
pub(crate) const ANALYSIS_RATE: f32 = 8000.0;

/// Margin on the covered share of a window for measurement spread, as a fraction of the window.
const COVERAGE_MARGIN: f32 = 0.2;

/// The timings of a [`DetectorConfig`] as whole numbers of windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WindowCounts {
    /// Consecutive hit windows that confirm a tone (`K`).
    pub confirm: u32,
    /// Consecutive missed windows that end a tone (`E`).
    pub release: u32,
    /// `x = (2c − 1)·W` in samples at 8 kHz, rounded down.
    shrink: f32,
}

impl WindowCounts {
    /// The shortest silent gap in ms that always ends a tone, with the coverage margin.
    pub fn always_separated_ms(&self) -> f32 {
        let samples =
            self.release as f32 * SUB_BLOCK as f32 - self.shrink + COVERAGE_MARGIN * WINDOW as f32;
        samples * 1000.0 / ANALYSIS_RATE
    }
}

/// Derives `K` and `E` from the millisecond timings; see the module documentation.
pub(crate) fn window_counts(config: &DetectorConfig) -> WindowCounts {
    let ms = |ms: f32| ms * ANALYSIS_RATE / 1000.0;
    let hop = SUB_BLOCK as f32;
    let shrink = (2.0 * config.min_tone_energy_ratio - 1.0) * WINDOW as f32;
    let confirm = ((ms(config.min_on_ms) - shrink) / hop + 0.5)
        .round()
        .max(1.0) as u32;
    let release = ((ms(config.max_dropout_ms) + shrink + COVERAGE_MARGIN * WINDOW as f32) / hop)
        .ceil() as u32
        + 1;
    WindowCounts {
        confirm,
        release: release.max(2),
        shrink,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_the_counts_worked_out_in_the_documentation() {
        let counts = window_counts(&DetectorConfig::default());
        assert_eq!((counts.confirm, counts.release), (5, 7));
        // Always separated from 7·32 − 67.2 + 19.2 = 176 samples = 22 ms.
        assert!((counts.always_separated_ms() - 22.0).abs() < 0.01);
    }

    #[test]
    fn longer_minimum_tones_need_more_hits() {
        let config = DetectorConfig {
            min_on_ms: 40.0,
            ..DetectorConfig::default()
        };
        assert_eq!(window_counts(&config).confirm, 8);
    }
}
