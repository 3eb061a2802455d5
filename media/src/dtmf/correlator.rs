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
//! multiply-adds. The best one the CPU has is chosen once, when the detector is built, and the
//! whole of [`ToneDetector::push`](super::ToneDetector::push) is compiled once per kernel, so a
//! frame crosses one dispatch, not one per sub-block.
//!
//! Every kernel sees the same 8 kHz integer samples: 16 kHz input goes through one integer
//! decimator (`[1, 3, 3, 1]/8`, rounded), written twice (portable here, intrinsics in
//! `kernel_vnni`) with identical results.

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

/// Lanes of a spectrum or a table row: eight cosine sums then eight (negated) sine sums.
pub(crate) const LANES: usize = 2 * BINS;

/// Input samples kept from the previous sub-block for the 16 kHz decimator.
pub(crate) const HISTORY: usize = 2;

/// The last three sub-blocks' correlations, which make up one analysis window: per sub-block
/// `X[b] = Σ x[m]·e^{−jω_b m}` (phase reference at its first sample; lanes 0–7 real, 8–15
/// imaginary). 192 bytes, three cache lines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(64))]
pub(crate) struct Ring {
    pub spectra: [[f32; LANES]; 3],
}

/// What a kernel hands back besides the spectrum it stores: the sub-block's power per bin
/// `|X[b]|²` and its energy `Σ x[m]²`, in registers, for the window screening. Aligned so the
/// eight powers are one aligned vector wherever the struct is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C, align(32))]
pub(crate) struct SubBlockLevels {
    pub power: [f32; BINS],
    pub energy: f32,
}

/// Slots `(oldest, middle, newest)` of the window whose newest sub-block is in slot `newest`.
#[inline(always)]
pub(crate) fn window_slots(newest: usize) -> (usize, usize, usize) {
    match newest {
        0 => (1, 2, 0),
        1 => (2, 0, 1),
        _ => (0, 1, 2),
    }
}

/// What one compiled kernel provides: the correlation of a sub-block at either rate.
pub(crate) trait KernelOps {
    /// The kernel's shared tables.
    type Tables: 'static;
    /// The tables, computed on first use; fetched once per push, not per sub-block.
    fn tables() -> &'static Self::Tables;
    /// Correlates 32 samples at 8 kHz: the spectrum into `ring` slot `slot`, the power per bin
    /// and the energy returned.
    fn correlate_8k(
        tables: &Self::Tables,
        x: &[i16; SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels;
    /// Decimates 64 samples at 16 kHz to 32 at 8 kHz through `[1, 3, 3, 1]/8` (rounded,
    /// saturated; `history` is the two samples before them) and correlates them like
    /// [`Self::correlate_8k`].
    fn correlate_16k(
        tables: &Self::Tables,
        history: [i16; HISTORY],
        samples: &[i16; 2 * SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels;
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
        *Kernel::all_supported()
            .last()
            .expect("the portable kernel is always supported")
    }

    /// Every kernel this CPU can run, slowest first.
    pub(crate) fn all_supported() -> &'static [Kernel] {
        static SUPPORTED: OnceLock<Vec<Kernel>> = OnceLock::new();
        SUPPORTED.get_or_init(|| {
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
        })
    }

    /// Runs `K`'s correlation on one sub-block, through the compiled version that matches `self`
    /// (for tests and the kernel comparison; the detector dispatches whole pushes instead).
    #[cfg(test)]
    pub(crate) fn correlate(
        self,
        x: &[i16; SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels {
        match self {
            Kernel::Portable => Portable::correlate_8k(Portable::tables(), x, ring, slot),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: these kernels are only listed by `all_supported` after checking that this
            // CPU has the features they are compiled for.
            Kernel::Avx2Fma | Kernel::Avx512 => unsafe { correlate_fma(x, ring, slot) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Kernel::Avx512Vnni => unsafe { super::kernel_vnni::correlate_for_test(x, ring, slot) },
        }
    }

    /// Runs this kernel's decimator on one sub-block (tests only).
    #[cfg(test)]
    pub(crate) fn decimate(
        self,
        history: [i16; HISTORY],
        samples: &[i16; 2 * SUB_BLOCK],
    ) -> [i16; SUB_BLOCK] {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: only listed by `all_supported` after checking the CPU's features.
            Kernel::Avx512Vnni => unsafe {
                super::kernel_vnni::decimate_for_test(history, samples)
            },
            _ => decimate_body(history, samples),
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
fn correlate_fma(x: &[i16; SUB_BLOCK], ring: &mut Ring, slot: usize) -> SubBlockLevels {
    Fma::correlate_8k(Fma::tables(), x, ring, slot)
}

/// The float kernel without fused multiply-add (any target).
pub(crate) struct Portable;
/// The float kernel with fused multiply-add (AVX2 or AVX-512 builds).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Fma;

impl KernelOps for Portable {
    type Tables = Tables;
    #[inline(always)]
    fn tables() -> &'static Tables {
        Tables::shared()
    }
    #[inline(always)]
    fn correlate_8k(
        tables: &Tables,
        x: &[i16; SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels {
        correlate_body::<false>(tables, x, ring, slot)
    }
    #[inline(always)]
    fn correlate_16k(
        tables: &Tables,
        history: [i16; HISTORY],
        samples: &[i16; 2 * SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels {
        correlate_body::<false>(tables, &decimate_body(history, samples), ring, slot)
    }
}

#[cfg(target_arch = "x86_64")]
impl KernelOps for Fma {
    type Tables = Tables;
    #[inline(always)]
    fn tables() -> &'static Tables {
        Tables::shared()
    }
    #[inline(always)]
    fn correlate_8k(
        tables: &Tables,
        x: &[i16; SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels {
        correlate_body::<true>(tables, x, ring, slot)
    }
    #[inline(always)]
    fn correlate_16k(
        tables: &Tables,
        history: [i16; HISTORY],
        samples: &[i16; 2 * SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels {
        correlate_body::<true>(tables, &decimate_body(history, samples), ring, slot)
    }
}

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
    fn shared() -> &'static Tables {
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

/// `a·b + c`, fused where the instruction set has it (`f32::mul_add` without hardware FMA is a
/// slow library call).
#[inline(always)]
pub(crate) fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { a.mul_add(b, c) } else { a * b + c }
}

/// The integer `[1, 3, 3, 1]/8` decimator: `y[k] = (x[2k−2] + 3·x[2k−1] + 3·x[2k] + x[2k+1] + 4)
/// >> 3`, saturated to 16 bits, with the history in front.
#[inline(always)]
fn decimate_body(history: [i16; HISTORY], samples: &[i16; 2 * SUB_BLOCK]) -> [i16; SUB_BLOCK] {
    let at = |i: usize| -> i32 {
        i32::from(if i < HISTORY {
            history[i]
        } else {
            samples[i - HISTORY]
        })
    };
    std::array::from_fn(|k| {
        let i = 2 * k;
        let y = (at(i) + 3 * (at(i + 1) + at(i + 2)) + at(i + 3) + 4) >> 3;
        y.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
    })
}

/// Amplitude response of the `[1, 3, 3, 1]/8` decimation filter at `f` Hz on 16 kHz input.
pub(crate) fn decimator_gain(f: f32) -> f32 {
    (std::f32::consts::PI * f / 16_000.0).cos().powi(3)
}

/// Correlation, power per bin and energy of one sub-block, inlined into each compiled version so
/// the compiler vectorises it for that instruction set.
#[inline(always)]
fn correlate_body<const FUSED: bool>(
    tables: &Tables,
    samples: &[i16; SUB_BLOCK],
    ring: &mut Ring,
    slot: usize,
) -> SubBlockLevels {
    let x: [f32; SUB_BLOCK] = std::array::from_fn(|i| f32::from(samples[i]));
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
    let spectrum: [f32; LANES] =
        std::array::from_fn(|l| (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]));
    let power = std::array::from_fn(|b| {
        madd::<FUSED>(
            spectrum[b],
            spectrum[b],
            spectrum[BINS + b] * spectrum[BINS + b],
        )
    });
    ring.spectra[slot] = spectrum;
    // Eight partial sums, added pairwise: a whole-vector expression the compiler keeps in lanes.
    let partial: [f32; 8] = std::array::from_fn(|i| {
        let (a, b, c, d) = (x[i], x[i + 8], x[i + 16], x[i + 24]);
        (a * a + b * b) + (c * c + d * d)
    });
    let energy = ((partial[0] + partial[4]) + (partial[1] + partial[5]))
        + ((partial[2] + partial[6]) + (partial[3] + partial[7]));
    SubBlockLevels { power, energy }
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
            for &kernel in Kernel::all_supported() {
                let mut ring = Ring::default();
                let levels = kernel.correlate(&samples, &mut ring, 0);
                let magnitude = ring.spectra[0][b].hypot(ring.spectra[0][BINS + b]);
                // A 32-sample block does not hold whole periods, so the negative-frequency image
                // leaks a little: allow 10 %.
                assert!(
                    (magnitude / (500.0 * 32.0) - 1.0).abs() < 0.1,
                    "{kernel:?} bin {b}: {magnitude}"
                );
                assert!(
                    (levels.power[b] / (magnitude * magnitude) - 1.0).abs() < 1e-4,
                    "{kernel:?} bin {b}: power {} vs |X|² {}",
                    levels.power[b],
                    magnitude * magnitude
                );
                assert!((levels.energy - energy).abs() < 1e-3 * energy);
            }
        }
    }

    #[test]
    fn every_kernel_computes_the_same_spectrum() {
        let mut samples = [0i16; 2 * SUB_BLOCK];
        for (m, s) in samples.iter_mut().enumerate() {
            *s = ((m * 7919) % 2000) as i16 - 1000;
        }
        let narrow: [i16; SUB_BLOCK] = samples[..SUB_BLOCK].try_into().unwrap();
        let mut reference = Ring::default();
        let reference_levels = Kernel::Portable.correlate(&narrow, &mut reference, 1);
        for &kernel in Kernel::all_supported() {
            let mut ring = Ring::default();
            let levels = kernel.correlate(&narrow, &mut ring, 1);
            // The float kernels agree to rounding; the integer kernel's 2⁻¹⁰ tables to 0.2 % of
            // the largest bin.
            let (a, b) = (&reference.spectra[1], &ring.spectra[1]);
            let largest = (0..BINS)
                .map(|i| a[i].hypot(a[BINS + i]))
                .fold(0.0, f32::max);
            let tolerance = 2e-3 * largest + 0.5;
            let (ea, eb) = (reference_levels.energy, levels.energy);
            assert!(
                (ea - eb).abs() <= 1e-3 * ea,
                "{kernel:?}: energy {ea} vs {eb}"
            );
            for l in 0..LANES {
                assert!(
                    (a[l] - b[l]).abs() < tolerance,
                    "{kernel:?} lane {l}: {} vs {}",
                    a[l],
                    b[l]
                );
            }
        }
    }

    #[test]
    fn every_kernel_decimates_alike_and_saturates() {
        let mut samples = [0i16; 2 * SUB_BLOCK];
        for (m, s) in samples.iter_mut().enumerate() {
            *s = ((m * 7919) % 60_000) as i16;
        }
        // Full scale everywhere at the end: (1 + 3 + 3 + 1)·32767/8 rounds up to 32768.
        samples[2 * SUB_BLOCK - 8..].fill(i16::MAX);
        let history = [i16::MIN, 12_345];
        let reference = Kernel::Portable.decimate(history, &samples);
        assert_eq!(reference[SUB_BLOCK - 1], i16::MAX);
        // y[0] = (x[−2] + 3·x[−1] + 3·x[0] + x[1] + 4) >> 3
        let expected0 = (i32::from(history[0])
            + 3 * (i32::from(history[1]) + i32::from(samples[0]))
            + i32::from(samples[1])
            + 4)
            >> 3;
        assert_eq!(i32::from(reference[0]), expected0);
        for &kernel in Kernel::all_supported() {
            assert_eq!(kernel.decimate(history, &samples), reference, "{kernel:?}");
        }
    }
}
