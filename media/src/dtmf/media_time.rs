//! One time base for everything that happens on a call leg.

use std::fmt;

/// A point on a call leg's media timeline, in ticks of 48 kHz since the leg began.
///
/// Why 48 kHz ticks: every rate the leg deals in divides 48 000 — decoded audio at 8 or 16 kHz
/// (6 or 3 ticks per sample), Opus and telephone events at 48 kHz (1 tick per RTP unit) or at
/// 8 kHz (6 ticks) — so sample times and RTP timestamps land on the same integer grid with no
/// rounding. Microseconds would not: a 16 kHz sample is 62.5 µs. At 48 kHz a `u64` lasts for
/// millions of years.
///
/// The leg owner converts: a sample index `n` of the decoded stream at rate `r` is
/// `MediaTime::from_samples(n, r)`; an extended RTP timestamp `t` of a stream whose first
/// timestamp `t0` was heard at media time `m0` is `m0 + MediaTime::from_samples(t - t0, clock)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MediaTime(pub u64);

impl MediaTime {
    /// Ticks per second of the media timeline.
    pub const TICKS_PER_SECOND: u64 = 48_000;

    /// The media time `samples` samples after the leg began, at `sample_rate` Hz. Exact for every
    /// rate that divides 48 000; other rates (44 100) are rounded down to the tick before.
    pub fn from_samples(samples: u64, sample_rate: u32) -> MediaTime {
        let rate = u64::from(sample_rate.max(1));
        if Self::TICKS_PER_SECOND.is_multiple_of(rate) {
            MediaTime(samples * (Self::TICKS_PER_SECOND / rate))
        } else {
            // u128 so that long streams at odd rates cannot overflow the product.
            MediaTime(
                (u128::from(samples) * u128::from(Self::TICKS_PER_SECOND) / u128::from(rate))
                    as u64,
            )
        }
    }

    /// The media time `ms` milliseconds after the leg began.
    pub fn from_millis(ms: u64) -> MediaTime {
        MediaTime(ms * (Self::TICKS_PER_SECOND / 1000))
    }

    /// This time in milliseconds since the leg began.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 * 1000.0 / Self::TICKS_PER_SECOND as f64
    }

    /// `self + other`, saturating at the end of time.
    pub fn saturating_add(self, other: MediaTime) -> MediaTime {
        MediaTime(self.0.saturating_add(other.0))
    }

    /// `self − other`, or zero when `other` is later.
    pub fn saturating_sub(self, other: MediaTime) -> MediaTime {
        MediaTime(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for MediaTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} ms", self.as_millis_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_at_every_leg_rate_land_on_whole_ticks() {
        assert_eq!(MediaTime::from_samples(160, 8000), MediaTime(960));
        assert_eq!(MediaTime::from_samples(320, 16_000), MediaTime(960));
        assert_eq!(MediaTime::from_samples(960, 48_000), MediaTime(960));
        assert_eq!(MediaTime::from_millis(20), MediaTime(960));
        assert_eq!(MediaTime(960).as_millis_f64(), 20.0);
        // 441 samples at 44.1 kHz are exactly 10 ms.
        assert_eq!(MediaTime::from_samples(441, 44_100), MediaTime(480));
        assert_eq!(MediaTime(480).to_string(), "10.000 ms");
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(MediaTime(5).saturating_sub(MediaTime(9)), MediaTime(0));
        assert_eq!(
            MediaTime(u64::MAX).saturating_add(MediaTime(1)),
            MediaTime(u64::MAX)
        );
    }
}
