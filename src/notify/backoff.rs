//! Retry delays: exponential, capped, with "equal jitter" (half fixed, half random) so retries
//! from many calls spread out while each still waits at least half the exponential step.

use std::time::Duration;

/// How failed notification POSTs are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Step of the first retry.
    pub initial: Duration,
    /// Largest step.
    pub max: Duration,
    /// Time after the first attempt at which a batch that still fails is given up.
    pub give_up_after: Duration,
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (0 for the first retry), with `unit_random` in
    /// `[0, 1)` choosing where in `[step/2, step)` it falls.
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Duration {
        let step = self.step(attempt);
        let half = step / 2;
        half + half.mul_f64(unit_random.clamp(0.0, 1.0))
    }

    /// The un-jittered step for retry number `attempt`: `initial * 2^attempt`, capped at `max`.
    pub fn step(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(15),
            give_up_after: Duration::from_secs(600),
        }
    }

    #[test]
    fn steps_double_then_cap() {
        let p = policy();
        let steps: Vec<u128> = (0..9).map(|a| p.step(a).as_millis()).collect();
        assert_eq!(
            steps,
            [250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]
        );
        assert_eq!(p.step(u32::MAX), Duration::from_secs(15));
    }

    #[test]
    fn jitter_stays_within_half_to_full_step() {
        let p = policy();
        assert_eq!(p.delay(2, 0.0), Duration::from_millis(500));
        assert_eq!(p.delay(2, 0.5), Duration::from_millis(750));
        assert!(p.delay(2, 0.999_999) < Duration::from_millis(1000));
        assert_eq!(
            p.delay(2, 7.0),
            Duration::from_millis(1000),
            "out-of-range random is clamped"
        );
    }
}
