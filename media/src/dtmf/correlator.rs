//! The hot inner loop: correlates one 32-sample sub-block with the eight DTMF frequencies.
//!
//! Written here rather than taken from a crate because it is the detector's whole per-sample cost.
//! A Goertzel filter needs the previous two outputs for every sample, so its speed is bounded by
//! the latency of that recurrence. A block correlation with precomputed cosine and sine tables
//! has no recurrence: the eight cosines and eight sines sit in the sixteen lanes of one table row
//! (one AVX-512 vector, two AVX2 vectors), each sample is broadcast and multiply-added into one
//! accumulator row, and four independent accumulator rows keep the multiply-add units busy. The
//! same code is compiled for AVX-512, for AVX2 + FMA and for the baseline; CPUs with AVX-512 VNNI
//! run the 16-bit integer kernel of `kernel_vnni` instead, which needs a quarter of the
//! multiply-adds. The best one the CPU has is chosen once, when the detector is built. All
//! numeric work of a sub-block (the 16 kHz decimator, the correlation, the window judgement) runs
//! inside that one compiled function.

use std::sync::OnceLock;

use super::analysis::{WindowAnalyzer, WindowHit};
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

/// Lanes of a table row: eight cosines then eight negated sines.
const LANES: usize = 2 * BINS;

/// `cos(ω·m)` and `−sin(ω·m)` for every bin and every sample of a sub-block, one row per sample.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Tables {
    rows: [[f32; LANES]; SUB_BLOCK],
}

/// One table for every detector in the process: many channels share the same 2 KiB in cache.
static TABLES: OnceLock<Tables> = OnceLock::new();

impl Tables {
    /// The shared tables, computed on first use.
    pub(crate) fn shared() -> &'static Tables {
        TABLES.get_or_init(|| {
            let freqs = bin_frequencies();
            let mut t = Tables {
                rows: [[0.0; LANES]; SUB_BLOCK],
            };
            for (m, row) in t.rows.iter_mut().enumerate() {
                for (b, &f) in freqs.iter().enumerate() {
                    let phase =
                        std::f64::consts::TAU * f64::from(f) / f64::from(ANALYSIS_RATE) * m as f64;
                    row[b] = phase.cos() as f32;
                    row[BINS + b] = -phase.sin() as f32;
                }
            }
            t
        })
    }
}

/// The correlation of one sub-block: `X[b] = Σ x[m]·e^{−jω_b m}` with the phase reference at the
/// sub-block's first sample, and the sub-block's energy `Σ x[m]²` as eight partial sums (summed
/// once per window, so this stays one vector).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct SubBlockSpectrum {
    pub re: [f32; BINS],
    pub im: [f32; BINS],
    pub energy: [f32; 8],
}

/// The last three sub-blocks' spectra.
pub(crate) type Ring = [SubBlockSpectrum; 3];

/// Input samples kept from the previous sub-block for the 16 kHz decimator.
pub(crate) const HISTORY: usize = 2;

/// One sub-block of input as received (the conversion to `f32` happens in the kernel, vectorised
/// for its instruction set).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SubBlockInput<'a> {
    /// 32 samples at 8 kHz.
    At8k(&'a [i16; SUB_BLOCK]),
    /// 64 samples at 16 kHz, and the two input samples before them for the decimator.
    At16k {
        /// The last two samples of the previous sub-block.
        history: [i16; HISTORY],
        /// This sub-block's samples.
        samples: &'a [i16; 2 * SUB_BLOCK],
    },
}

/// Which compiled version of the kernel this machine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// The baseline instruction set of the target, without fused multiply-add.
    Portable,
    /// x86-64 with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    /// x86-64 with AVX-512F: one table row is one vector.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// x86-64 with AVX-512 VNNI: the 16-bit integer kernel of [`super::kernel_vnni`].
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

/// Whether this CPU runs the AVX-512 VNNI kernel.
#[cfg(target_arch = "x86_64")]
fn has_vnni() -> bool {
    use std::arch::is_x86_feature_detected as has;
    has!("avx512f") && has!("avx512bw") && has!("avx512vnni") && has!("avx2") && has!("fma")
}

impl Kernel {
    /// The fastest kernel this CPU supports.
    pub(crate) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has_vnni() {
                return Kernel::Avx512Vnni;
            }
            if has!("avx512f") && has!("fma") {
                return Kernel::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return Kernel::Avx2Fma;
            }
        }
        Kernel::Portable
    }

    /// Every kernel this CPU can run, for tests that compare them.
    #[cfg(test)]
    pub(crate) fn all_supported() -> Vec<Kernel> {
        let mut all = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                all.push(Kernel::Avx2Fma);
            }
            if has!("avx512f") && has!("fma") {
                all.push(Kernel::Avx512);
            }
            if has_vnni() {
                all.push(Kernel::Avx512Vnni);
            }
        }
        all
    }

    /// Correlates one sub-block (16 kHz input is first low-passed and decimated to 8 kHz) into
    /// `ring[slot]`, and judges the window of the three sub-blocks in `ring` (oldest at
    /// `slot + 1`) when given an analyzer.
    #[inline]
    pub(crate) fn sub_block(
        self,
        input: SubBlockInput<'_>,
        ring: &mut Ring,
        slot: usize,
        analyzer: Option<&WindowAnalyzer>,
    ) -> Option<WindowHit> {
        match self {
            Kernel::Portable => sub_block_body::<false>(input, ring, slot, analyzer),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx2Fma` is only built by `detect` or `all_supported`, after
            // checking that this CPU has AVX2 and FMA.
            Kernel::Avx2Fma => unsafe { sub_block_avx2(input, ring, slot, analyzer) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx512` is only built by `detect` or `all_supported`, after
            // checking that this CPU has AVX-512F and FMA.
            Kernel::Avx512 => unsafe { sub_block_avx512(input, ring, slot, analyzer) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::Avx512Vnni` is only built by `detect` or `all_supported`, after
            // `has_vnni` confirmed every feature the kernel is compiled for.
            Kernel::Avx512Vnni => unsafe {
                super::kernel_vnni::sub_block_vnni(input, ring, slot, analyzer)
            },
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sub_block_avx2(
    input: SubBlockInput<'_>,
    ring: &mut Ring,
    slot: usize,
    analyzer: Option<&WindowAnalyzer>,
) -> Option<WindowHit> {
    sub_block_body::<true>(input, ring, slot, analyzer)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn sub_block_avx512(
    input: SubBlockInput<'_>,
    ring: &mut Ring,
    slot: usize,
    analyzer: Option<&WindowAnalyzer>,
) -> Option<WindowHit> {
    sub_block_body::<true>(input, ring, slot, analyzer)
}

/// `a·b + c`, fused where the instruction set has it (`f32::mul_add` without hardware FMA is a
/// slow library call).
#[inline(always)]
pub(crate) fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

/// Decimation (on 16 kHz input), correlation and window judgement of one sub-block.
#[inline(always)]
fn sub_block_body<const FUSED: bool>(
    input: SubBlockInput<'_>,
    ring: &mut Ring,
    slot: usize,
    analyzer: Option<&WindowAnalyzer>,
) -> Option<WindowHit> {
    let tables = Tables::shared();
    let x: [f32; SUB_BLOCK] = match input {
        SubBlockInput::At8k(samples) => std::array::from_fn(|i| f32::from(samples[i])),
        SubBlockInput::At16k { history, samples } => {
            let wide: [f32; HISTORY + 2 * SUB_BLOCK] = std::array::from_fn(|i| {
                f32::from(if i < HISTORY {
                    history[i]
                } else {
                    samples[i - HISTORY]
                })
            });
            // y[k] = (x[2k−2] + 3·x[2k−1] + 3·x[2k] + x[2k+1]) / 8, the history in front.
            std::array::from_fn(|k| {
                let i = 2 * k;
                (wide[i] + 3.0 * (wide[i + 1] + wide[i + 2]) + wide[i + 3]) * 0.125
            })
        }
    };
    let out = &mut ring[slot];
    correlate_body::<FUSED>(&x, tables, out);
    out.energy = match input {
        // On integers the compiler keeps the sum of squares a vector (it may reorder integer
        // adds, not float ones). A quarter of each square keeps four of them inside an i32.
        SubBlockInput::At8k(samples) => {
            let mut quarter = [0i32; 8];
            for c in 0..SUB_BLOCK / 8 {
                for (i, q) in quarter.iter_mut().enumerate() {
                    let v = i32::from(samples[c * 8 + i]);
                    *q += (v * v) >> 2;
                }
            }
            quarter.map(|q| q as f32 * 4.0)
        }
        SubBlockInput::At16k { .. } => std::array::from_fn(|i| {
            let (a, b, c, d) = (x[i], x[i + 8], x[i + 16], x[i + 24]);
            (a * a + b * b) + (c * c + d * d)
        }),
    };
    let analyzer = analyzer?;
    analyzer.judge::<FUSED>(&ring[(slot + 1) % 3], &ring[(slot + 2) % 3], &ring[slot])
}

/// The correlation (not the energy, see `sub_block_body`), inlined into each compiled version so
/// the compiler vectorises it for that instruction set.
#[inline(always)]
fn correlate_body<const FUSED: bool>(
    x: &[f32; SUB_BLOCK],
    tables: &Tables,
    out: &mut SubBlockSpectrum,
) {
    // Four independent accumulator rows: a single row would wait on the previous add every sample.
    let mut acc = [[0.0f32; LANES]; 4];
    for group in 0..SUB_BLOCK / 4 {
        let m = 4 * group;
        for (u, row) in acc.iter_mut().enumerate() {
            let s = x[m + u];
            let t = &tables.rows[m + u];
            for l in 0..LANES {
                row[l] = madd::<FUSED>(s, t[l], row[l]);
            }
        }
    }
    for b in 0..BINS {
        out.re[b] = (acc[0][b] + acc[1][b]) + (acc[2][b] + acc[3][b]);
        out.im[b] = (acc[0][BINS + b] + acc[1][BINS + b]) + (acc[2][BINS + b] + acc[3][BINS + b]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bin_frequency_sine_gives_half_its_amplitude_times_the_length() {
        let freqs = bin_frequencies();
        for (b, &f) in freqs.iter().enumerate() {
            let samples: [i16; SUB_BLOCK] = std::array::from_fn(|m| {
                (1000.0 * (std::f32::consts::TAU * f / ANALYSIS_RATE * m as f32).cos()).round()
                    as i16
            });
            let energy: f32 = samples.iter().map(|&s| f32::from(s).powi(2)).sum();
            for kernel in Kernel::all_supported() {
                let mut ring = Ring::default();
                kernel.sub_block(SubBlockInput::At8k(&samples), &mut ring, 0, None);
                let spec = ring[0];
                let magnitude = spec.re[b].hypot(spec.im[b]);
                // A 32-sample block does not hold whole periods, so the negative-frequency image
                // leaks a little: allow 10 %.
                assert!(
                    (magnitude / (500.0 * 32.0) - 1.0).abs() < 0.1,
                    "{kernel:?} bin {b}: {magnitude}"
                );
                assert!((spec.energy.iter().sum::<f32>() - energy).abs() < 1e-3 * energy);
            }
        }
    }

    #[test]
    fn every_kernel_computes_the_same_spectrum() {
        let mut samples = [0i16; 2 * SUB_BLOCK];
        for (m, s) in samples.iter_mut().enumerate() {
            *s = ((m * 7919) % 2000) as i16 - 1000;
        }
        let narrow: &[i16; SUB_BLOCK] = samples[..SUB_BLOCK].try_into().unwrap();
        let inputs = [
            SubBlockInput::At8k(narrow),
            SubBlockInput::At16k {
                history: [300, -700],
                samples: &samples,
            },
        ];
        for input in inputs {
            let mut reference = Ring::default();
            Kernel::Portable.sub_block(input, &mut reference, 1, None);
            for kernel in Kernel::all_supported() {
                let mut ring = Ring::default();
                kernel.sub_block(input, &mut ring, 1, None);
                let (a, b) = (reference[1], ring[1]);
                // The float kernels agree to rounding; the integer kernel's 2⁻¹⁰ tables (and,
                // at 16 kHz, its integer decimator) to 0.2 % of the largest bin.
                let largest = (0..BINS)
                    .map(|i| a.re[i].hypot(a.im[i]))
                    .fold(0.0, f32::max);
                let tolerance = 2e-3 * largest + 0.5;
                let (ea, eb): (f32, f32) = (a.energy.iter().sum(), b.energy.iter().sum());
                assert!(
                    (ea - eb).abs() <= 1e-3 * ea,
                    "{kernel:?}: energy {ea} vs {eb}"
                );
                for i in 0..BINS {
                    assert!(
                        (a.re[i] - b.re[i]).abs() < tolerance
                            && (a.im[i] - b.im[i]).abs() < tolerance,
                        "{kernel:?} bin {i}: {} {} vs {} {}",
                        a.re[i],
                        a.im[i],
                        b.re[i],
                        b.im[i]
                    );
                }
            }
        }
    }
}
