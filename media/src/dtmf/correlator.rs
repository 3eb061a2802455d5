//! The hot inner loop: correlates one 32-sample sub-block with the eight DTMF frequencies.
//!
//! Written here rather than taken from a crate because it is the detector's whole per-sample cost.
//! A Goertzel filter needs the previous two outputs for every sample, so its speed is bounded by
//! the latency of that recurrence. A block correlation with precomputed cosine and sine tables
//! has no recurrence: the eight bins sit in the eight lanes of one vector, each sample is
//! broadcast and multiplied into two accumulators, and four independent accumulator sets keep the
//! multiply-add units busy. On x86-64 the same code is compiled a second time with AVX2 and FMA
//! and chosen at run time, once, when the detector is built.

use std::sync::OnceLock;

use super::digit::{HIGH_GROUP_HZ, LOW_GROUP_HZ};
use super::timing::{ANALYSIS_RATE, SUB_BLOCK};

/// Number of DTMF frequencies: four low-group then four high-group.
pub(crate) const BINS: usize = 8;

/// The eight DTMF frequencies in Hz, low group first.
pub(crate) fn bin_frequencies() -> [f32; BINS] {
    let mut f = [0.0; BINS];
    f[..4].copy_from_slice(&LOW_GROUP_HZ);
    f[4..].copy_from_slice(&HIGH_GROUP_HZ);
    f
}

/// `cos(ω·m)` and `−sin(ω·m)` for every bin and every sample of a sub-block, laid out so that one
/// row is one vector of eight lanes.
#[derive(Debug)]
pub(crate) struct Tables {
    cos: [[f32; BINS]; SUB_BLOCK],
    neg_sin: [[f32; BINS]; SUB_BLOCK],
}

/// One table for every detector in the process: many channels share the same 2 KiB in cache.
static TABLES: OnceLock<Tables> = OnceLock::new();

impl Tables {
    /// The shared tables, computed on first use.
    pub(crate) fn shared() -> &'static Tables {
        TABLES.get_or_init(|| {
            let freqs = bin_frequencies();
            let mut t = Tables {
                cos: [[0.0; BINS]; SUB_BLOCK],
                neg_sin: [[0.0; BINS]; SUB_BLOCK],
            };
            for m in 0..SUB_BLOCK {
                for (b, &f) in freqs.iter().enumerate() {
                    let phase =
                        std::f64::consts::TAU * f64::from(f) / f64::from(ANALYSIS_RATE) * m as f64;
                    t.cos[m][b] = phase.cos() as f32;
                    t.neg_sin[m][b] = -phase.sin() as f32;
                }
            }
            t
        })
    }
}

/// The correlation of one sub-block: `X[b] = Σ x[m]·e^{−jω_b m}` with the phase reference at the
/// sub-block's first sample, and the sub-block's energy `Σ x[m]²`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct SubBlockSpectrum {
    pub re: [f32; BINS],
    pub im: [f32; BINS],
    pub energy: f32,
}

/// Which compiled version of the kernel this machine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// The baseline instruction set of the target.
    Portable,
    /// x86-64 with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Kernel {
    /// The fastest kernel this CPU supports.
    pub(crate) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Kernel::Avx2Fma;
            }
        }
        Kernel::Portable
    }

    /// Correlates `x` with every bin.
    #[inline]
    pub(crate) fn correlate(self, x: &[f32; SUB_BLOCK], tables: &Tables) -> SubBlockSpectrum {
        match self {
            Kernel::Portable => correlate_body(x, tables),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx2Fma` is only ever built by `detect`, after checking that this
            // CPU has AVX2 and FMA.
            Kernel::Avx2Fma => unsafe { correlate_avx2_fma(x, tables) },
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn correlate_avx2_fma(x: &[f32; SUB_BLOCK], tables: &Tables) -> SubBlockSpectrum {
    correlate_body(x, tables)
}

/// The kernel, inlined into each compiled version so the compiler vectorises it for that
/// instruction set.
#[inline(always)]
fn correlate_body(x: &[f32; SUB_BLOCK], tables: &Tables) -> SubBlockSpectrum {
    // Four independent accumulator sets: a single set would wait on the previous add every sample.
    let mut re = [[0.0f32; BINS]; 4];
    let mut im = [[0.0f32; BINS]; 4];
    for m in (0..SUB_BLOCK).step_by(4) {
        for u in 0..4 {
            let s = x[m + u];
            let c = &tables.cos[m + u];
            let ns = &tables.neg_sin[m + u];
            for b in 0..BINS {
                re[u][b] += s * c[b];
                im[u][b] += s * ns[b];
            }
        }
    }
    let mut out = SubBlockSpectrum::default();
    for b in 0..BINS {
        out.re[b] = (re[0][b] + re[1][b]) + (re[2][b] + re[3][b]);
        out.im[b] = (im[0][b] + im[1][b]) + (im[2][b] + im[3][b]);
    }
    let mut energy = [0.0f32; 8];
    for chunk in x.chunks_exact(8) {
        for (e, &s) in energy.iter_mut().zip(chunk) {
            *e += s * s;
        }
    }
    out.energy = energy.iter().sum();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bin_frequency_sine_gives_half_its_amplitude_times_the_length() {
        let freqs = bin_frequencies();
        let tables = Tables::shared();
        for (b, &f) in freqs.iter().enumerate() {
            let mut x = [0.0f32; SUB_BLOCK];
            for (m, s) in x.iter_mut().enumerate() {
                *s = 1000.0 * (std::f32::consts::TAU * f / ANALYSIS_RATE * m as f32).cos();
            }
            for kernel in [Kernel::Portable, Kernel::detect()] {
                let spec = kernel.correlate(&x, tables);
                let magnitude = spec.re[b].hypot(spec.im[b]);
                // A 32-sample block does not hold whole periods, so the negative-frequency image
                // leaks a little: allow 10 %.
                assert!(
                    (magnitude / (500.0 * 32.0) - 1.0).abs() < 0.1,
                    "bin {b}: {magnitude}"
                );
                let energy: f32 = x.iter().map(|s| s * s).sum();
                assert!((spec.energy - energy).abs() < 1e-3 * energy);
            }
        }
    }

    #[test]
    fn both_kernels_agree() {
        let tables = Tables::shared();
        let mut x = [0.0f32; SUB_BLOCK];
        for (m, s) in x.iter_mut().enumerate() {
            *s = ((m * 7919) % 2000) as f32 - 1000.0;
        }
        let a = Kernel::Portable.correlate(&x, tables);
        let b = Kernel::detect().correlate(&x, tables);
        for i in 0..BINS {
            assert!((a.re[i] - b.re[i]).abs() < 0.5 && (a.im[i] - b.im[i]).abs() < 0.5);
        }
    }
}
