//! The sub-block kernel in 16-bit integers for CPUs with AVX-512 VNNI (AMD Zen 4, Intel Ice Lake
//! and later): the DSP hot path, written with explicit intrinsics because it is where the
//! detector spends its time and the compiler does not find this form on its own.
//!
//! One `vpdpwssd` multiplies 32 pairs of 16-bit numbers and adds each pair's two products into
//! one of 16 32-bit lanes. The PCM samples are 16-bit already; with the tables in 16-bit fixed
//! point (cosine and negated sine times 2¹⁰) a 32-sample sub-block is 16 broadcasts of a sample
//! pair and 16 multiply-adds, each producing all eight cosine and all eight sine sums at once:
//! a quarter of the float kernel's multiply-adds, and no conversion of the samples. Products of a
//! full-scale sample and a table entry stay below 2²⁵, so 32 of them cannot overflow 32 bits.
//! The table's rounding (±2⁻¹¹) adds error 60 dB below the tones, far under every threshold.
//!
//! 16 kHz input is decimated in integers first: `vpmaddwd` turns each sample pair into
//! `3·x[2k] + x[2k+1]` and `x[2k] + 3·x[2k+1]`, and the `[1, 3, 3, 1]/8` output is the first of
//! one pair plus the second of the pair before, shifted right by three.
//!
//! Two details the compiler would otherwise undo. The multiply-adds use the saturating form
//! `vpdpwssds`: the plain form is, to the compiler, an add of a `vpmaddwd`, and it splits the
//! chain into two instructions per pair and re-associates the adds; saturation never happens
//! here (see above), and its form is kept as one instruction. And at 8 kHz each sample pair is
//! broadcast straight from the caller's buffer (one load); given the samples in a register as
//! well, the compiler would extract the pairs from it instead, three instructions a pair. At
//! 16 kHz the decimated samples are in a register and a permutation broadcasts each pair
//! (measured: as fast as storing them and broadcasting from memory, faster than a forced
//! `vpermd`).

use std::arch::x86_64::{
    __m512i, _mm256_add_ps, _mm256_castpd_ps, _mm256_storeu_ps, _mm512_add_epi32,
    _mm512_alignr_epi32, _mm512_castps_pd, _mm512_castps512_ps256, _mm512_castsi256_si512,
    _mm512_cvtepi32_ps, _mm512_cvtsepi32_epi16, _mm512_dpwssds_epi32, _mm512_extractf64x4_pd,
    _mm512_inserti64x4, _mm512_loadu_si512, _mm512_madd_epi16, _mm512_mul_ps,
    _mm512_permutexvar_epi32, _mm512_reduce_add_ps, _mm512_set1_epi32, _mm512_set1_ps,
    _mm512_setzero_si512, _mm512_srai_epi32, _mm512_storeu_ps,
};
use std::sync::OnceLock;

use super::correlator::{BINS, HISTORY, KernelOps, Ring, SubBlockLevels, bin_frequencies};
use super::timing::{ANALYSIS_RATE, SUB_BLOCK};

/// Fixed-point scale of the tables: 1.0 is 2¹⁰.
const TABLE_ONE: f32 = 1024.0;
/// Sample pairs in a sub-block.
const PAIRS: usize = SUB_BLOCK / 2;

/// For each sample pair `p`, 32 16-bit numbers: lane `l` holds the table entries of samples
/// `2p` and `2p + 1` for output lane `l` (cosines of the eight bins, then their negated sines).
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct PairTables {
    rows: [[i16; 32]; PAIRS],
}

static PAIR_TABLES: OnceLock<PairTables> = OnceLock::new();

impl PairTables {
    /// The shared tables, computed on first use.
    fn shared() -> &'static PairTables {
        PAIR_TABLES.get_or_init(|| {
            let freqs = bin_frequencies();
            let mut t = PairTables {
                rows: [[0; 32]; PAIRS],
            };
            for (p, row) in t.rows.iter_mut().enumerate() {
                for lane in 0..2 * BINS {
                    for (half, m) in [2 * p, 2 * p + 1].into_iter().enumerate() {
                        let omega = std::f64::consts::TAU * f64::from(freqs[lane % BINS])
                            / f64::from(ANALYSIS_RATE);
                        let phase = omega * m as f64;
                        let value = if lane < BINS {
                            phase.cos()
                        } else {
                            -phase.sin()
                        };
                        row[2 * lane + half] = (value * f64::from(TABLE_ONE)).round() as i16;
                    }
                }
            }
            t
        })
    }
}

/// Loads 32 16-bit numbers.
#[inline(always)]
fn load(values: &[i16; 32]) -> __m512i {
    // SAFETY: `values` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(values.as_ptr().cast()) }
}

/// The AVX-512 VNNI kernel. Its functions may only run on a CPU with the features of
/// [`super::correlator::Kernel::Avx512Vnni`]; the detector only uses it inside code compiled for
/// those features, after checking them.
pub(crate) struct Vnni;

impl KernelOps for Vnni {
    type Tables = PairTables;

    #[inline(always)]
    fn tables() -> &'static PairTables {
        PairTables::shared()
    }

    #[inline(always)]
    fn correlate_8k(
        tables: &PairTables,
        x: &[i16; SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels {
        // SAFETY: `Vnni` is only used by code compiled for these features, which runs only after
        // `Kernel::detect` or `Kernel::all_supported` confirmed them.
        unsafe { correlate_8k(tables, x, ring, slot) }
    }

    #[inline(always)]
    fn correlate_16k(
        tables: &PairTables,
        history: [i16; HISTORY],
        samples: &[i16; 2 * SUB_BLOCK],
        ring: &mut Ring,
        slot: usize,
    ) -> SubBlockLevels {
        // SAFETY: as for `correlate_8k`.
        unsafe { correlate_16k(tables, history, samples, ring, slot) }
    }
}

/// [`Vnni::correlate_8k`] for tests, callable from code not compiled for the features.
#[cfg(test)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
pub(crate) fn correlate_for_test(
    x: &[i16; SUB_BLOCK],
    ring: &mut Ring,
    slot: usize,
) -> SubBlockLevels {
    correlate_8k(PairTables::shared(), x, ring, slot)
}

/// The decimator alone, for tests, callable from code not compiled for the features.
#[cfg(test)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
pub(crate) fn decimate_for_test(
    history: [i16; HISTORY],
    samples: &[i16; 2 * SUB_BLOCK],
) -> [i16; SUB_BLOCK] {
    let mut out = [0i16; SUB_BLOCK];
    // SAFETY: `out` is 64 writable bytes; unaligned stores are allowed.
    unsafe {
        std::arch::x86_64::_mm512_storeu_si512(out.as_mut_ptr().cast(), decimate(history, samples));
    }
    out
}

/// 64 samples at 16 kHz to 32 at 8 kHz through `[1, 3, 3, 1]/8`, rounded and saturated, in one
/// register.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
fn decimate(history: [i16; HISTORY], samples: &[i16; 2 * SUB_BLOCK]) -> __m512i {
    let first: &[i16; 32] = samples[..32]
        .try_into()
        .expect("64 samples split in halves");
    let second: &[i16; 32] = samples[32..]
        .try_into()
        .expect("64 samples split in halves");
    // (3, 1) and (1, 3) in every 32-bit lane (low half first).
    let ahead_weights = _mm512_set1_epi32(3 | (1 << 16));
    let behind_weights = _mm512_set1_epi32(1 | (3 << 16));
    let (lo, hi) = (load(first), load(second));
    let ahead_lo = _mm512_madd_epi16(lo, ahead_weights);
    let ahead_hi = _mm512_madd_epi16(hi, ahead_weights);
    let behind_lo = _mm512_madd_epi16(lo, behind_weights);
    let behind_hi = _mm512_madd_epi16(hi, behind_weights);
    // behind[k − 1]: the previous sub-block's last pair enters at lane 0.
    let before = _mm512_set1_epi32(i32::from(history[0]) + 3 * i32::from(history[1]));
    let shifted_lo = _mm512_alignr_epi32::<15>(behind_lo, before);
    let shifted_hi = _mm512_alignr_epi32::<15>(behind_hi, behind_lo);
    let half = _mm512_set1_epi32(4);
    let y_lo = _mm512_srai_epi32::<3>(_mm512_add_epi32(
        _mm512_add_epi32(ahead_lo, shifted_lo),
        half,
    ));
    let y_hi = _mm512_srai_epi32::<3>(_mm512_add_epi32(
        _mm512_add_epi32(ahead_hi, shifted_hi),
        half,
    ));
    _mm512_inserti64x4::<1>(
        _mm512_castsi256_si512(_mm512_cvtsepi32_epi16(y_lo)),
        _mm512_cvtsepi32_epi16(y_hi),
    )
}

/// Correlation, power per bin and energy of 32 samples at 8 kHz, read from memory.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
fn correlate_8k(
    tables: &PairTables,
    x: &[i16; SUB_BLOCK],
    ring: &mut Ring,
    slot: usize,
) -> SubBlockLevels {
    let pair = |p: usize| {
        // SAFETY: samples 2p and 2p + 1 are inside `x`; the read has no alignment need. Read as
        // one 32-bit number (low sample in the low half, x86 being little-endian).
        _mm512_set1_epi32(unsafe { std::ptr::read_unaligned(x.as_ptr().add(2 * p).cast::<i32>()) })
    };
    correlate(tables, pair, opaque_load(x), ring, slot)
}

/// Loads 32 16-bit numbers through a load the compiler cannot see into. Given the samples in a
/// register, it would rewrite the 16 pair broadcasts from memory (one folded load each) as
/// extractions from that register, three instructions a pair.
#[inline]
#[target_feature(enable = "avx512f")]
fn opaque_load(values: &[i16; 32]) -> __m512i {
    let v: __m512i;
    // SAFETY: reads the 64 bytes of `values` (no alignment needed) and nothing else.
    unsafe {
        std::arch::asm!(
            "vmovdqu64 {v}, [{p}]",
            v = out(zmm_reg) v,
            p = in(reg) values.as_ptr(),
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    v
}

/// Decimation, then correlation, power per bin and energy of one 16 kHz sub-block.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
fn correlate_16k(
    tables: &PairTables,
    history: [i16; HISTORY],
    samples: &[i16; 2 * SUB_BLOCK],
    ring: &mut Ring,
    slot: usize,
) -> SubBlockLevels {
    let x = decimate(history, samples);
    let pair = |p: usize| _mm512_permutexvar_epi32(_mm512_set1_epi32(p as i32), x);
    correlate(tables, pair, x, ring, slot)
}

/// Correlation, power per bin and energy of 32 samples; `pair(p)` broadcasts the sample pair
/// `p` to every lane, `x` holds all of them.
#[inline(always)]
fn correlate(
    tables: &PairTables,
    pair: impl Fn(usize) -> __m512i,
    x: __m512i,
    ring: &mut Ring,
    slot: usize,
) -> SubBlockLevels {
    // Four independent accumulators: one would wait on the previous multiply-add every pair.
    // SAFETY (all intrinsics below): only reached from the functions above, which are compiled
    // for and only run on CPUs with AVX-512F/BW/VNNI.
    unsafe {
        let mut acc = [_mm512_setzero_si512(); 4];
        for group in 0..PAIRS / 4 {
            for (u, a) in acc.iter_mut().enumerate() {
                let p = 4 * group + u;
                *a = _mm512_dpwssds_epi32(*a, load(&tables.rows[p]), pair(p));
            }
        }
        let sums = _mm512_add_epi32(
            _mm512_add_epi32(acc[0], acc[1]),
            _mm512_add_epi32(acc[2], acc[3]),
        );
        let spectrum = _mm512_mul_ps(_mm512_cvtepi32_ps(sums), _mm512_set1_ps(1.0 / TABLE_ONE));
        // |X|²: square every lane, then add the imaginary half onto the real half.
        let squares = _mm512_mul_ps(spectrum, spectrum);
        let power = _mm256_add_ps(
            _mm512_castps512_ps256(squares),
            _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(squares))),
        );
        // Σx² as 16 pair sums (saturating: two full-scale negative samples reach 2³¹), summed
        // as floats (the integer total can pass 2³¹).
        let pair_energy = _mm512_cvtepi32_ps(_mm512_dpwssds_epi32(_mm512_setzero_si512(), x, x));
        // The slot's spectrum row holds 16 floats, `levels.power` 8; unaligned stores are
        // allowed.
        _mm512_storeu_ps(ring.spectra[slot].as_mut_ptr(), spectrum);
        let mut levels = SubBlockLevels {
            energy: _mm512_reduce_add_ps(pair_energy),
            ..SubBlockLevels::default()
        };
        _mm256_storeu_ps(levels.power.as_mut_ptr(), power);
        levels
    }
}
