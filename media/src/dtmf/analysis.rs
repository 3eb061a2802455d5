//! Judges one analysis window (the last three sub-blocks): is it a clean DTMF digit?
//!
//! The three sub-block correlations are combined coherently into a 96-sample DFT of each bin. The
//! strongest bin of each group is the candidate. Its frequency is measured from the phase advance
//! between the first and the last two sub-blocks (64 samples each, one sub-block apart): a tone
//! `δ` rad/sample off the bin turns that phase by `δ·32`. Short windows cannot tell ±1.5 % from
//! ±3.5 % by magnitude, but the phase advance resolves a few Hz. The candidate's power is then
//! re-measured with the sub-blocks rotated back by the measured offset, so an off-frequency tone
//! is not under-measured, and the window is a hit when
//!
//! * both tones are above the floor,
//! * the twist is inside its limits,
//! * each candidate beats the rest of its group by the group margin,
//! * both frequencies are within the deviation limit,
//! * the two tones carry at least the share `c` of the window's energy above the noise floor,
//!   and at least the share `c_raw` of its whole energy.
//!
//! The share test also covers harmonics and speech: the second harmonic of a tone, or any other
//! sound, is energy outside the two tones, and 15 % of the window is all it may hold. That is
//! stricter than a separate second-harmonic check and costs nothing extra.
//!
//! # Two shares: timing and noise
//!
//! The share `c` does two jobs. It makes a window the tone covers only partly fail (the share is
//! about the covered fraction, see [`super::timing`]), and it bounds what else may sound with the
//! tones. Against the whole window energy it also counts steady background noise as "else": at
//! 8 dB S/N the tones carry only 86 % of a fully covered window. So the share that sets the
//! timing is measured against the window energy *above the noise floor*
//! ([`super::noise_floor`]): in silence the two are the same; in noise the covered fraction is
//! still what the share measures. The raw share against the whole energy keeps a lower limit
//! `c_raw` (default 0.7), so however high the floor estimate, most of a window must be tone.
//!
//! # Cheap screening first
//!
//! Most windows of speech pass the level floor but are nowhere near a digit. Before the
//! judgement, [`WindowAnalyzer::screen`] bounds the tone energy a window could show from the
//! sub-blocks' powers alone: whatever frequency the rotation settles on, `|X0 + u·X1 + u²·X2|²
//! ≤ 3·(|X0|² + |X1|² + |X2|²)` (Cauchy–Schwarz, equality for a steady tone), so the best bin of
//! each group bounds its tone. A window whose bound misses either share cannot be a hit; on speech
//! this rejects all but about 0.2 % of windows for a dozen vector operations.

use std::sync::{Arc, Mutex};

use super::correlator::{BINS, Ring, SubBlockLevels, bin_frequencies, decimator_gain};
use super::generator::dbm0_to_amplitude;
use super::timing::{ANALYSIS_RATE, SUB_BLOCK, WINDOW};
use super::{DetectorConfig, Digit};

/// Constants of the window analysis, derived once from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct WindowAnalyzer {
    /// `e^{−jω_b·S}`: turns a sub-block's local phase into the phase of the sub-block before it.
    rot_re: [f32; BINS],
    rot_im: [f32; BINS],
    /// `tan` of the largest accepted phase advance per sub-block, per bin.
    max_tan: [f32; BINS],
    /// Per bin: turns `Σ|X_k|²` of a window's sub-blocks into an upper bound on the energy the
    /// judgement can measure for that bin's tone (see [`Self::screen`]).
    bound_gain: [f32; BINS],
    /// Smallest window energy that could hold two tones at the floor.
    min_window_energy: f32,
    /// Floor on one tone's power (mean square).
    min_tone_power: f32,
    /// Twist limits as power ratios high/low.
    min_twist_ratio: f32,
    max_twist_ratio: f32,
    /// Group margin as a power ratio.
    group_margin: f32,
    /// Smallest share of the window energy above the noise floor the two tones must carry.
    min_share: f32,
    /// Smallest share of the whole window energy the two tones must carry.
    min_raw_share: f32,
    /// Tone power per unit of `|Y|²` for a full window: `2/W²`.
    power_scale: f32,
    /// On 16 kHz input, the decimation filter's power gain at each bin, to be divided out.
    bin_gain: [f32; BINS],
    /// The configuration these constants were derived from.
    config: DetectorConfig,
}

/// Sums of the sub-blocks' powers and energies over the current window, kept as running pair
/// sums so each window costs two vector additions and nothing is read back from a slot just
/// written. Aligned so each row of powers is one aligned vector.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(32))]
pub(crate) struct WindowSums {
    /// The newest sub-block's power per bin.
    last_power: [f32; BINS],
    /// The two newest sub-blocks' powers added.
    pair_power: [f32; BINS],
    /// The newest sub-block's energy.
    last_energy: f32,
    /// The two newest sub-blocks' energies added.
    pair_energy: f32,
}

impl WindowSums {
    /// Takes in the newest sub-block; returns the window's power per bin and energy (the sums
    /// over it and the two before).
    #[inline(always)]
    pub(crate) fn push(&mut self, newest: &SubBlockLevels) -> ([f32; BINS], f32) {
        let power = std::array::from_fn(|b| self.pair_power[b] + newest.power[b]);
        let energy = self.pair_energy + newest.energy;
        self.pair_power = std::array::from_fn(|b| self.last_power[b] + newest.power[b]);
        self.pair_energy = self.last_energy + newest.energy;
        self.last_power = newest.power;
        self.last_energy = newest.energy;
        (power, energy)
    }
}

/// One window judged a DTMF digit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WindowHit {
    /// Keypad row (low-group bin 0–3).
    pub row: usize,
    /// Keypad column (high-group bin 0–3).
    pub col: usize,
    /// Power (mean square) of the low tone.
    pub low_power: f32,
    /// Power (mean square) of the high tone.
    pub high_power: f32,
    /// Share of the window's energy above the noise floor carried by the two tones (about the
    /// covered fraction, at most 1).
    pub share: f32,
    /// Share of the window's whole energy carried by the two tones.
    pub raw_share: f32,
    /// Energy of the two tones over the window (as the analysis sees it, after the decimator).
    pub tone_energy: f32,
}

impl WindowHit {
    /// The keypad key of the two tones.
    pub fn digit(&self) -> Digit {
        Digit::from_position(self.row, self.col).expect("rows and columns of a window hit are 0..4")
    }
}

/// Analyzers shared by every detector with the same configuration: the constants are read
/// every window, and one copy for a thousand channels stays in cache where a thousand copies
/// would not. Bounded, so a program that builds detectors with ever new settings does not grow it.
static SHARED: Mutex<Vec<Arc<WindowAnalyzer>>> = Mutex::new(Vec::new());

/// Most configurations [`SHARED`] holds; beyond that, detectors get an analyzer of their own.
const MAX_SHARED: usize = 16;

impl WindowAnalyzer {
    /// The analyzer for `config` (validated), shared with every detector built with the same
    /// configuration. Takes a lock: for construction, never for the per-frame path.
    pub(crate) fn shared(config: &DetectorConfig) -> Arc<WindowAnalyzer> {
        // A poisoned cache only means another thread panicked while holding it; its content is
        // still a list of complete analyzers.
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = shared.iter().find(|a| a.config == *config) {
            return Arc::clone(a);
        }
        let analyzer = Arc::new(WindowAnalyzer::new(config));
        if shared.len() < MAX_SHARED {
            shared.push(Arc::clone(&analyzer));
        }
        analyzer
    }

    /// Precomputes the constants for `config`.
    fn new(config: &DetectorConfig) -> Self {
        let freqs = bin_frequencies();
        let mut a = WindowAnalyzer {
            rot_re: [0.0; BINS],
            rot_im: [0.0; BINS],
            max_tan: [0.0; BINS],
            bound_gain: [0.0; BINS],
            min_window_energy: 0.0,
            min_tone_power: 0.0,
            min_twist_ratio: 10f32.powf(config.min_twist_db / 10.0),
            max_twist_ratio: 10f32.powf(config.max_twist_db / 10.0),
            group_margin: 10f32.powf(config.min_group_margin_db / 10.0),
            min_share: config.min_tone_energy_ratio,
            min_raw_share: config.min_raw_tone_energy_ratio,
            power_scale: 2.0 / (WINDOW * WINDOW) as f32,
            bin_gain: [1.0; BINS],
            config: *config,
        };
        for (b, &f) in freqs.iter().enumerate() {
            let omega_s =
                std::f64::consts::TAU * f64::from(f) / f64::from(ANALYSIS_RATE) * SUB_BLOCK as f64;
            a.rot_re[b] = omega_s.cos() as f32;
            a.rot_im[b] = -omega_s.sin() as f32;
            let max_advance = omega_s * f64::from(config.max_frequency_deviation_pct) / 100.0;
            a.max_tan[b] = max_advance.tan() as f32;
            // `tone_power` divides by the in-sub-block loss `1 − (1 − cos θ)/12`, largest at the
            // largest accepted advance θ; 1 % on top covers rounding.
            let loss = 1.0 - (1.0 - max_advance.cos()) / 12.0;
            a.bound_gain[b] = (3.0 * 1.01 / (loss * loss)) as f32 * a.power_scale * WINDOW as f32;
            if config.sample_rate == 16_000 {
                let g = decimator_gain(f);
                a.bin_gain[b] = g * g;
            }
        }
        let floor_amp = dbm0_to_amplitude(config.min_level_dbm0);
        a.min_tone_power = floor_amp * floor_amp / 2.0;
        // Two tones at the floor covering the share c of the window; halve it again for the
        // decimator's loss and the leakage, so this cheap test never rejects a real tone.
        a.min_window_energy = 0.5 * 2.0 * a.min_tone_power * WINDOW as f32 * a.min_share * 0.5;
        a
    }

    /// Smallest window energy worth looking at: below it two tones at the floor cannot fit.
    #[inline(always)]
    pub(crate) fn min_window_energy(&self) -> f32 {
        self.min_window_energy
    }

    /// Whether a judged window counts as a hit: its two tones carry enough of its energy, above
    /// the noise floor and in all. A window that passes every other test but this one is only
    /// partly covered by the tone.
    #[inline]
    pub(crate) fn is_hit(&self, hit: &WindowHit) -> bool {
        hit.share >= self.min_share && hit.raw_share >= self.min_raw_share
    }

    /// The tone energy a window of energy `energy` over a noise floor `noise` (both window
    /// energies) must show to carry both required shares.
    #[inline(always)]
    pub(crate) fn required_tone_energy(&self, energy: f32, noise: f32) -> f32 {
        larger(
            self.min_raw_share * energy,
            self.min_share * (energy - noise),
        )
    }

    /// A necessary condition for a hit, from the sub-blocks' powers alone (`power`: per bin, the
    /// sum of `|X_k|²` over the window's sub-blocks): `false` when no low tone and high tone the
    /// window could show reach `required` tone energy together (see [`Self::required_tone_energy`]). Never `false` for a window
    /// [`Self::judge`] would call a hit.
    #[inline(always)]
    pub(crate) fn screen(&self, power: &[f32; BINS], required: f32) -> bool {
        let g = &self.bound_gain;
        let bound: [f32; BINS] = std::array::from_fn(|b| power[b] * g[b]);
        // Is any low bin plus any high bin enough? All sixteen pairs at once, written as whole
        // arrays and an OR so the compiler keeps it in vectors, without branches.
        let low: [f32; 16] = std::array::from_fn(|k| bound[k & 3]);
        let high: [f32; 16] = std::array::from_fn(|k| bound[4 + (k >> 2)]);
        let enough: [bool; 16] = std::array::from_fn(|k| low[k] + high[k] >= required);
        enough.iter().fold(false, |any, &e| any | e)
    }

    /// Judges the window made of the sub-blocks in `slots` (oldest first), of energy `energy`
    /// over a noise floor of `noise` (window energy; 0 when unknown): `Some` when it passes
    /// every test except perhaps the energy shares (see [`Self::is_hit`]).
    #[inline(always)]
    pub(crate) fn judge(
        &self,
        ring: &Ring,
        slots: (usize, usize, usize),
        energy: f32,
        noise: f32,
    ) -> Option<WindowHit> {
        let s = [
            &ring.spectra[slots.0],
            &ring.spectra[slots.1],
            &ring.spectra[slots.2],
        ];
        // Y = X0 + r·X1 + r²·X2 = X0 + r·(X1 + r·X2), for all bins at once; each step is one
        // whole-array expression so it compiles to vector operations.
        let (rr, ri) = (&self.rot_re, &self.rot_im);
        let (re, im) = (
            |k: usize, b: usize| s[k][b],
            |k: usize, b: usize| s[k][BINS + b],
        );
        // tail = X1 + r·X2: the last two sub-blocks in the phase of the middle one.
        let tail_re: [f32; BINS] =
            std::array::from_fn(|b| re(1, b) + rr[b] * re(2, b) - ri[b] * im(2, b));
        let tail_im: [f32; BINS] =
            std::array::from_fn(|b| im(1, b) + rr[b] * im(2, b) + ri[b] * re(2, b));
        let yr: [f32; BINS] =
            std::array::from_fn(|b| re(0, b) + rr[b] * tail_re[b] - ri[b] * tail_im[b]);
        let yi: [f32; BINS] =
            std::array::from_fn(|b| im(0, b) + rr[b] * tail_im[b] + ri[b] * tail_re[b]);
        let power: [f32; BINS] = std::array::from_fn(|b| yr[b] * yr[b] + yi[b] * yi[b]);
        let row = clear_winner(&power[..4], self.group_margin)?;
        let col = clear_winner(&power[4..], self.group_margin)?;
        let (lo, hi) = (row, 4 + col);
        let low_seen = self.tone_power(lo, s, tail_re[lo], tail_im[lo])?;
        let high_seen = self.tone_power(hi, s, tail_re[hi], tail_im[hi])?;
        // The shares compare like with like (both after the decimator); level and twist are of
        // the tones as they arrived.
        let tone_energy = (low_seen + high_seen) * WINDOW as f32;
        let raw_share = tone_energy / energy;
        let share = tone_energy / (energy - noise).max(tone_energy);
        let low_power = low_seen / self.bin_gain[lo];
        let high_power = high_seen / self.bin_gain[hi];
        if low_power < self.min_tone_power || high_power < self.min_tone_power {
            return None;
        }
        if high_power < self.min_twist_ratio * low_power
            || high_power > self.max_twist_ratio * low_power
        {
            return None;
        }
        Some(WindowHit {
            row,
            col,
            low_power,
            high_power,
            share,
            raw_share,
            tone_energy,
        })
    }

    /// Measures bin `b`'s tone: checks its frequency and returns its power (mean square) with the
    /// frequency offset taken out, or `None` when it is too far off.
    #[inline(always)]
    fn tone_power(
        &self,
        b: usize,
        s: [&[f32; 2 * BINS]; 3],
        tail_re: f32,
        tail_im: f32,
    ) -> Option<f32> {
        let (rr, ri) = (self.rot_re[b], self.rot_im[b]);
        let (x0r, x0i) = (s[0][b], s[0][BINS + b]);
        let (x1r, x1i) = (s[1][b], s[1][BINS + b]);
        let (x2r, x2i) = (s[2][b], s[2][BINS + b]);
        // head = X0 + r·X1: the first two sub-blocks. tail = X1 + r·X2 is the same pair one
        // sub-block later; for a tone δ rad/sample off the bin, tail = e^{j(ω+δ)S}·head, so
        // z = r·tail·conj(head) points at angle δ·S.
        let hr = x0r + rr * x1r - ri * x1i;
        let hi = x0i + rr * x1i + ri * x1r;
        let pr = tail_re * hr + tail_im * hi;
        let pi = tail_im * hr - tail_re * hi;
        let zr = rr * pr - ri * pi;
        let zi = rr * pi + ri * pr;
        // |δ·S| within the limit, without an arctangent: z in the right half-plane and
        // |tan(angle)| small enough.
        if zr <= 0.0 || zi.abs() > self.max_tan[b] * zr {
            return None;
        }
        // Rotate the sub-blocks onto each other with the measured frequency instead of the bin's:
        // u = r·e^{−jδS} = r·conj(z)/|z|, Y' = X0 + u·X1 + u²·X2 adds them in phase.
        let zn = (zr * zr + zi * zi).sqrt();
        let (cr, ci) = (zr / zn, -zi / zn);
        let ur = rr * cr - ri * ci;
        let ui = rr * ci + ri * cr;
        let vr = x1r + ur * x2r - ui * x2i;
        let vi = x1i + ur * x2i + ui * x2r;
        let yr = x0r + ur * vr - ui * vi;
        let yi = x0i + ur * vi + ui * vr;
        // What remains is the loss inside one sub-block, sin(θ/2)/(θ/2) for an advance θ, about
        // 1 − (1 − cos θ)/12 in amplitude (0.1 dB off at the 2.5 % limit of 1633 Hz).
        let loss = 1.0 - (1.0 - cr) / 12.0;
        Some((yr * yr + yi * yi) * self.power_scale / (loss * loss))
    }
}

/// The larger of two numbers, without `f32::max`'s care for NaN (which costs a compare and a
/// blend per use; the powers here are never NaN).
#[inline(always)]
fn larger(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// The loudest of a group's four bins, if it beats each of the other three by `margin` (a power
/// ratio ≥ 1). Branch-free: every bin within the margin of the loudest sets a bit, and only a lone
/// bit is a winner.
#[inline(always)]
fn clear_winner(p: &[f32], margin: f32) -> Option<usize> {
    let loudest = p[0].max(p[1]).max(p[2].max(p[3]));
    let mut close = 0u32;
    for (i, &v) in p.iter().enumerate().take(4) {
        close |= u32::from(v * margin >= loudest) << i;
    }
    (close.count_ones() == 1).then(|| close.trailing_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_winner_must_beat_every_other_bin_by_the_margin() {
        assert_eq!(clear_winner(&[1.0, 10.0, 2.0, 0.5], 4.0), Some(1));
        assert_eq!(clear_winner(&[1.0, 10.0, 3.0, 0.5], 4.0), None);
        assert_eq!(clear_winner(&[0.0, 0.0, 0.0, 0.0], 4.0), None);
        assert_eq!(clear_winner(&[0.0, 0.0, 0.0, 7.0], 1.0), Some(3));
    }
}
