//! The one DTMF signal generator used by the tests, the conformance procedure, the benches and the
//! `switchboard dtmf generate` command.
//!
//! Signals are built as `f32` sample buffers segment by segment (tones, silences, drop-outs) and
//! then have dial tone or white noise mixed in, so every signal of the test procedure is a few
//! builder calls. Everything is deterministic: tones start at phase zero, noise comes from a
//! seeded PCG generator whose output does not change between crate versions.

use std::f64::consts::TAU;

use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::Digit;

/// The amplitude of a 0 dBm0 sine in 16-bit linear PCM (A-law convention: 3.14 dB below full scale).
pub const DBM0_AMPLITUDE: f32 = 22_826.4;

/// How far 0 dBm0 is below a full-scale sine, in dB (A-law convention; not π).
#[allow(
    clippy::approx_constant,
    reason = "3.14 dB is the A-law convention, not π"
)]
const DBM0_BELOW_FULL_SCALE_DB: f32 = 3.14;

/// The peak amplitude of a sine at `level_dbm0`, in 16-bit PCM units.
pub fn dbm0_to_amplitude(level_dbm0: f32) -> f32 {
    32_767.0 * 10f32.powf((level_dbm0 - DBM0_BELOW_FULL_SCALE_DB) / 20.0)
}

/// The level in dBm0 of a sine with this peak amplitude in 16-bit PCM units.
pub fn amplitude_to_dbm0(amplitude: f32) -> f32 {
    20.0 * (amplitude / 32_767.0).log10() + DBM0_BELOW_FULL_SCALE_DB
}

/// The level in dBm0 of a signal with this mean power (mean of squared 16-bit samples).
pub fn power_to_dbm0(mean_square: f32) -> f32 {
    amplitude_to_dbm0((2.0 * mean_square).sqrt())
}

/// The combined power level of two tones at these levels, in dBm0.
pub fn pair_level_dbm0(low_dbm0: f32, high_dbm0: f32) -> f32 {
    10.0 * (10f32.powf(low_dbm0 / 10.0) + 10f32.powf(high_dbm0 / 10.0)).log10()
}

/// How a key press sounds: level, twist and how far each tone is off its nominal frequency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneShape {
    /// Level of the low-group tone in dBm0.
    pub level_dbm0: f32,
    /// Twist: level of the high-group tone minus level of the low-group tone, in dB.
    pub twist_db: f32,
    /// Frequency offset of the low-group tone in percent of its nominal frequency.
    pub low_offset_pct: f32,
    /// Frequency offset of the high-group tone in percent of its nominal frequency.
    pub high_offset_pct: f32,
}

impl Default for ToneShape {
    fn default() -> Self {
        ToneShape {
            level_dbm0: -10.0,
            twist_db: 0.0,
            low_offset_pct: 0.0,
            high_offset_pct: 0.0,
        }
    }
}

impl ToneShape {
    /// Both tones at `level_dbm0`, no twist, nominal frequencies.
    pub fn at_level(level_dbm0: f32) -> Self {
        ToneShape {
            level_dbm0,
            ..ToneShape::default()
        }
    }

    /// A shape with the low tone at `low_dbm0` and the high tone at `high_dbm0`.
    pub fn with_levels(low_dbm0: f32, high_dbm0: f32) -> Self {
        ToneShape {
            level_dbm0: low_dbm0,
            twist_db: high_dbm0 - low_dbm0,
            ..ToneShape::default()
        }
    }

    /// This shape with the given frequency offsets (percent) of the low and the high tone.
    pub fn offset(self, low_offset_pct: f32, high_offset_pct: f32) -> Self {
        ToneShape {
            low_offset_pct,
            high_offset_pct,
            ..self
        }
    }

    /// Level of the low-group tone in dBm0.
    pub fn low_dbm0(&self) -> f32 {
        self.level_dbm0
    }

    /// Level of the high-group tone in dBm0.
    pub fn high_dbm0(&self) -> f32 {
        self.level_dbm0 + self.twist_db
    }

    /// The `(low, high)` frequencies in Hz this shape gives `digit`.
    pub fn frequencies(&self, digit: Digit) -> (f64, f64) {
        let (low, high) = digit.frequencies();
        (
            f64::from(low) * (1.0 + f64::from(self.low_offset_pct) / 100.0),
            f64::from(high) * (1.0 + f64::from(self.high_offset_pct) / 100.0),
        )
    }
}

/// A sample rate the generator cannot work at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "sample rate {rate} Hz is not supported by the DTMF generator; allowed are 4000 to 384000 Hz"
)]
pub struct GeneratorRateError {
    /// The rejected rate in Hz.
    pub rate: u32,
}

/// Builds a test signal segment by segment; see the module documentation.
#[derive(Debug, Clone)]
pub struct SignalBuilder {
    sample_rate: u32,
    samples: Vec<f32>,
}

impl SignalBuilder {
    /// An empty signal at `sample_rate` Hz (4 kHz to 384 kHz).
    pub fn new(sample_rate: u32) -> Result<Self, GeneratorRateError> {
        if !(4_000..=384_000).contains(&sample_rate) {
            return Err(GeneratorRateError { rate: sample_rate });
        }
        Ok(SignalBuilder {
            sample_rate,
            samples: Vec::new(),
        })
    }

    /// The rate the signal is built at, in Hz (fixed when the builder is made).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Number of samples built so far.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether nothing has been built yet.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The number of samples closest to `ms` milliseconds at this rate.
    pub fn ms_to_samples(&self, ms: f32) -> usize {
        (f64::from(ms.max(0.0)) * f64::from(self.sample_rate) / 1000.0).round() as usize
    }

    /// Appends `samples` samples of digital silence.
    pub fn silence(&mut self, samples: usize) -> &mut Self {
        self.samples.resize(self.samples.len() + samples, 0.0);
        self
    }

    /// Appends `ms` milliseconds of digital silence.
    pub fn silence_ms(&mut self, ms: f32) -> &mut Self {
        self.silence(self.ms_to_samples(ms))
    }

    /// Appends one key press of `samples` samples, both tones starting at phase zero.
    pub fn tone(&mut self, digit: Digit, shape: &ToneShape, samples: usize) -> &mut Self {
        self.tone_gated(digit, shape, &[(0, samples)])
    }

    /// Appends one key press of `ms` milliseconds.
    pub fn tone_ms(&mut self, digit: Digit, shape: &ToneShape, ms: f32) -> &mut Self {
        self.tone(digit, shape, self.ms_to_samples(ms))
    }

    /// Appends one key press with a drop-out: `before` samples of tone, `gap` samples of silence,
    /// `after` samples of tone. The tones keep their phase across the gap, as when a line
    /// interrupts a continuous tone.
    pub fn tone_with_dropout(
        &mut self,
        digit: Digit,
        shape: &ToneShape,
        before: usize,
        gap: usize,
        after: usize,
    ) -> &mut Self {
        self.tone_gated(
            digit,
            shape,
            &[(0, before), (before + gap, before + gap + after)],
        )
    }

    /// Appends `digits` as key presses of `on` samples each followed by `off` samples of silence.
    pub fn digits(
        &mut self,
        digits: &[Digit],
        shape: &ToneShape,
        on: usize,
        off: usize,
    ) -> &mut Self {
        for &digit in digits {
            self.tone(digit, shape, on).silence(off);
        }
        self
    }

    /// Appends a tone whose sound is on only inside the `(from, to)` sample ranges (relative to
    /// the start of the segment); the segment ends at the last range's end.
    fn tone_gated(
        &mut self,
        digit: Digit,
        shape: &ToneShape,
        ranges: &[(usize, usize)],
    ) -> &mut Self {
        let (low_hz, high_hz) = shape.frequencies(digit);
        let low_amp = f64::from(dbm0_to_amplitude(shape.low_dbm0()));
        let high_amp = f64::from(dbm0_to_amplitude(shape.high_dbm0()));
        let rate = f64::from(self.sample_rate);
        let start = self.samples.len();
        let end = ranges.iter().map(|r| r.1).max().unwrap_or(0);
        self.samples.resize(start + end, 0.0);
        for &(from, to) in ranges {
            for n in from..to {
                let t = n as f64 / rate;
                let value =
                    low_amp * (TAU * low_hz * t).sin() + high_amp * (TAU * high_hz * t).sin();
                self.samples[start + n] += value as f32;
            }
        }
        self
    }

    /// Mixes a dial tone (350 Hz + 440 Hz, each at `level_dbm0`) under everything built so far.
    pub fn add_dial_tone(&mut self, level_dbm0: f32) -> &mut Self {
        let amp = f64::from(dbm0_to_amplitude(level_dbm0));
        let rate = f64::from(self.sample_rate);
        for (n, s) in self.samples.iter_mut().enumerate() {
            let t = n as f64 / rate;
            *s += (amp * ((TAU * 350.0 * t).sin() + (TAU * 440.0 * t).sin())) as f32;
        }
        self
    }

    /// Mixes Gaussian white noise (flat from 0 Hz to half the sample rate) whose total power is
    /// `level_dbm0`, drawn from a PCG generator seeded with `seed`, under everything built so far.
    pub fn add_white_noise(&mut self, level_dbm0: f32, seed: u64) -> &mut Self {
        // A sine of peak amplitude A has power A²/2, so the noise standard deviation for a power
        // level L dBm0 is the 0 dBm0 amplitude scaled by 10^(L/20), divided by √2.
        let sigma = f64::from(dbm0_to_amplitude(level_dbm0)) / std::f64::consts::SQRT_2;
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut spare: Option<f64> = None;
        for s in self.samples.iter_mut() {
            let g = match spare.take() {
                Some(g) => g,
                None => {
                    // Box–Muller: two uniforms give two independent standard normals.
                    let u1: f64 = 1.0 - rng.random::<f64>();
                    let u2: f64 = rng.random::<f64>();
                    let r = (-2.0 * u1.ln()).sqrt();
                    spare = Some(r * (TAU * u2).sin());
                    r * (TAU * u2).cos()
                }
            };
            *s += (sigma * g) as f32;
        }
        self
    }

    /// The signal so far as `f32` samples on the 16-bit scale (not yet clipped).
    pub fn as_f32(&self) -> &[f32] {
        &self.samples
    }

    /// The signal as 16-bit PCM, rounded and clipped to the 16-bit range.
    pub fn to_pcm(&self) -> Vec<i16> {
        self.samples
            .iter()
            .map(|&s| s.round().clamp(-32_768.0, 32_767.0) as i16)
            .collect()
    }
}

/// The `digits` as `on`/`off` millisecond key presses at `sample_rate`, as 16-bit PCM: the signal
/// `switchboard dtmf generate` writes. Each press is followed by its pause.
pub fn digit_sequence(
    sample_rate: u32,
    digits: &[Digit],
    shape: &ToneShape,
    on_ms: f32,
    off_ms: f32,
) -> Result<Vec<i16>, GeneratorRateError> {
    let mut signal = SignalBuilder::new(sample_rate)?;
    let on = signal.ms_to_samples(on_ms);
    let off = signal.ms_to_samples(off_ms);
    signal.digits(digits, shape, on, off);
    Ok(signal.to_pcm())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(samples: &[f32]) -> f32 {
        (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
    }

    #[test]
    fn zero_dbm0_follows_the_a_law_convention() {
        assert!((dbm0_to_amplitude(0.0) - DBM0_AMPLITUDE).abs() < 1.0);
        assert!((amplitude_to_dbm0(dbm0_to_amplitude(-17.3)) + 17.3).abs() < 1e-4);
        assert!((pair_level_dbm0(-10.0, -10.0) + 6.99).abs() < 0.01);
    }

    #[test]
    fn tone_levels_and_twist_come_out_as_asked() {
        let mut b = SignalBuilder::new(8000).unwrap();
        let shape = ToneShape::at_level(-4.0);
        b.tone(Digit::D5, &shape, 8000);
        let level = power_to_dbm0(rms(b.as_f32()).powi(2));
        // Two tones at −4 dBm0 each add up to −0.99 dBm0.
        assert!(
            (level - pair_level_dbm0(-4.0, -4.0)).abs() < 0.02,
            "level {level}"
        );

        let shape = ToneShape::with_levels(-3.0, -11.0);
        assert_eq!(shape.twist_db, -8.0);
        assert_eq!(shape.high_dbm0(), -11.0);
    }

    #[test]
    fn frequency_offsets_shift_each_group_separately() {
        let shape = ToneShape::default().offset(2.0, -3.0);
        let (low, high) = shape.frequencies(Digit::D1);
        assert!((low - 697.0 * 1.02).abs() < 1e-9);
        assert!((high - 1209.0 * 0.97).abs() < 1e-9);
    }

    #[test]
    fn dropout_keeps_phase_and_leaves_silence() {
        let mut gated = SignalBuilder::new(8000).unwrap();
        gated.tone_with_dropout(Digit::D1, &ToneShape::default(), 100, 40, 100);
        let mut whole = SignalBuilder::new(8000).unwrap();
        whole.tone(Digit::D1, &ToneShape::default(), 240);
        assert_eq!(gated.len(), 240);
        assert!(gated.as_f32()[100..140].iter().all(|&s| s == 0.0));
        assert_eq!(gated.as_f32()[..100], whole.as_f32()[..100]);
        assert_eq!(gated.as_f32()[140..], whole.as_f32()[140..]);
    }

    #[test]
    fn noise_is_seeded_and_has_the_asked_power() {
        let build = |seed| {
            let mut b = SignalBuilder::new(8000).unwrap();
            b.silence(80_000).add_white_noise(-20.0, seed);
            b
        };
        let a = build(7);
        assert_eq!(a.as_f32(), build(7).as_f32());
        assert_ne!(a.as_f32(), build(8).as_f32());
        let level = power_to_dbm0(rms(a.as_f32()).powi(2));
        assert!((level + 20.0).abs() < 0.1, "noise level {level}");
    }

    #[test]
    fn pcm_is_clipped_not_wrapped_and_rates_are_checked() {
        let mut b = SignalBuilder::new(48_000).unwrap();
        b.tone(Digit::D1, &ToneShape::at_level(6.0), 480);
        let pcm = b.to_pcm();
        assert_eq!(pcm.iter().copied().max(), Some(32_767));
        assert_eq!(pcm.iter().copied().min(), Some(-32_768));
        assert_eq!(SignalBuilder::new(100).unwrap_err().rate, 100);
        let seq = digit_sequence(
            16_000,
            &[Digit::D1, Digit::D2],
            &ToneShape::default(),
            50.0,
            50.0,
        )
        .unwrap();
        assert_eq!(seq.len(), 4 * 800);
    }
}
