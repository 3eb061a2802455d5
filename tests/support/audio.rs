//! Measuring test audio: tones in, frequency and level out.

use std::f64::consts::PI;

/// A sine tone as 16-bit PCM at `amplitude` (0..1 of full scale).
pub fn tone(freq: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<i16> {
    let n = (f64::from(rate) * seconds) as usize;
    (0..n)
        .map(|i| {
            let v = amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin();
            (v * f64::from(i16::MAX)) as i16
        })
        .collect()
}

/// Power of `pcm` at `freq` by the Goertzel algorithm, normalised so that a full-length sine of
/// amplitude A gives about A²/2, like the mean power of the whole signal.
pub fn power_at(pcm: &[i16], rate: u32, freq: f64) -> f64 {
    let n = pcm.len() as f64;
    let w = 2.0 * PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for (i, &x) in pcm.iter().enumerate() {
        // A Hann window keeps a neighbouring frequency's leakage out of the measurement.
        let window = 0.5 - 0.5 * (2.0 * PI * i as f64 / n).cos();
        let s0 = f64::from(x) * window + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let magnitude2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    // Hann's coherent gain is 1/2: undo it, then scale to mean power.
    2.0 * magnitude2 / (n * n * 0.25)
}

/// Mean power of the signal.
pub fn mean_power(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    pcm.iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / pcm.len() as f64
}

/// The frequency between `from` and `to` Hz (in `step` Hz steps) with the most power.
pub fn dominant_frequency(pcm: &[i16], rate: u32, from: f64, to: f64, step: f64) -> f64 {
    let mut best = (from, 0.0);
    let mut f = from;
    while f <= to {
        let p = power_at(pcm, rate, f);
        if p > best.1 {
            best = (f, p);
        }
        f += step;
    }
    best.0
}

/// Share of the signal's power that is at `freq` (close to 1 for a clean tone).
pub fn tone_purity(pcm: &[i16], rate: u32, freq: f64) -> f64 {
    let total = mean_power(pcm);
    if total == 0.0 {
        return 0.0;
    }
    power_at(pcm, rate, freq) / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_clean_tone() {
        let pcm = tone(1000.0, 48_000, 0.5, 0.5);
        assert!((dominant_frequency(&pcm, 48_000, 100.0, 4000.0, 10.0) - 1000.0).abs() < 1.0);
        let purity = tone_purity(&pcm, 48_000, 1000.0);
        assert!((0.9..1.1).contains(&purity), "purity {purity}");
        assert!(tone_purity(&pcm, 48_000, 1300.0) < 0.01);
    }
}
