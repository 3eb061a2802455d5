//! The background noise level under the analysis windows, so that steady noise does not count
//! against a tone's energy share (see [`super::analysis`]).
//!
//! Each window leaves a *residual*: its energy minus the two tones' energy when it is a hit, its
//! whole energy otherwise. The residual is smoothed over a few windows (a single 12 ms window of
//! white noise varies by ±14 %), and the floor is the smallest smoothed residual of the last 2 to
//! 2.5 seconds ("minimum statistics"). A tone's own windows leave only the noise around it;
//! speech and partly covered windows leave large residuals that the minimum ignores, so the floor
//! sits at the pauses between words rather than the words, and it follows a change of background
//! within 2.5 s whatever the level before. The minimum of a noisy estimate lies below the mean,
//! so the floor errs low: towards counting noise against the tone, as if there were no floor. In
//! digital silence the floor is zero and the share is exactly the whole-window share, so the
//! timing edges are unchanged.

/// Weight of the newest window in the smoothed residual.
const SMOOTHING: f32 = 0.25;

/// The minimum is kept per block of windows (0.5 s at 250 windows per second) ...
const BLOCK_WINDOWS: u16 = 125;
/// ... over the last four completed blocks and the current one.
const BLOCKS: usize = 4;

/// The running noise-floor estimate of one detector, in window energy (sum of squares over a
/// window).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NoiseFloor {
    /// The floor: the smaller of `current` and `completed`, 0 before the first window.
    level: f32,
    smoothed: f32,
    /// Smallest smoothed residual of the current block.
    current: f32,
    /// Smallest smoothed residual of each of the last completed blocks.
    blocks: [f32; BLOCKS],
    /// Smallest of `blocks`.
    completed: f32,
    /// Windows in the current block.
    windows: u16,
    /// Block of `blocks` to overwrite next.
    next: u8,
}

impl Default for NoiseFloor {
    fn default() -> Self {
        // Infinite until the first window: the first residual sets the floor at once.
        NoiseFloor {
            level: 0.0,
            smoothed: f32::INFINITY,
            current: f32::INFINITY,
            blocks: [f32::INFINITY; BLOCKS],
            completed: f32::INFINITY,
            windows: 0,
            next: 0,
        }
    }
}

impl NoiseFloor {
    /// The floor to judge the next window against; 0 before any window was seen.
    #[inline(always)]
    pub(crate) fn level(&self) -> f32 {
        self.level
    }

    /// Takes in one judged window's residual energy (clamped at 0: a clean tone's measured
    /// energy can slightly exceed the window's).
    #[inline(always)]
    pub(crate) fn update(&mut self, residual: f32) {
        // Plain comparisons rather than `f32::min`/`max`, whose NaN handling costs a compare and
        // a blend each; the energies here are never NaN.
        let residual = if residual > 0.0 { residual } else { 0.0 };
        self.smoothed = if self.smoothed == f32::INFINITY {
            residual
        } else {
            self.smoothed + SMOOTHING * (residual - self.smoothed)
        };
        self.current = if self.smoothed < self.current {
            self.smoothed
        } else {
            self.current
        };
        self.level = if self.current < self.completed {
            self.current
        } else {
            self.completed
        };
        self.windows += 1;
        if self.windows == BLOCK_WINDOWS {
            self.close_block();
        }
    }

    /// Files the current block's minimum; twice a second.
    #[cold]
    fn close_block(&mut self) {
        self.blocks[usize::from(self.next)] = self.current;
        self.next = (self.next + 1) % BLOCKS as u8;
        self.completed = self.blocks.iter().copied().fold(f32::INFINITY, f32::min);
        self.current = f32::INFINITY;
        self.level = self.completed;
        self.windows = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: usize = 250;

    #[test]
    fn the_floor_follows_quiet_windows_at_once_and_loud_ones_after_seconds() {
        let mut floor = NoiseFloor::default();
        assert_eq!(floor.level(), 0.0);
        floor.update(100.0);
        assert_eq!(floor.level(), 100.0);
        // Words (loud windows) for two seconds leave the floor where it was.
        for _ in 0..2 * SECOND {
            floor.update(1e6);
        }
        assert_eq!(floor.level(), 100.0);
        // Quiet again: down within a few windows.
        for _ in 0..60 {
            floor.update(50.0);
        }
        assert!((floor.level() - 50.0).abs() < 1.0, "{}", floor.level());
        // Louder background for good: adopted after at most 2.5 s, never before 2 s.
        for _ in 0..2 * SECOND - 40 {
            floor.update(400.0);
        }
        assert!(floor.level() < 60.0, "{}", floor.level());
        for _ in 0..SECOND / 2 + 40 {
            floor.update(400.0);
        }
        assert!((floor.level() - 400.0).abs() < 0.01, "{}", floor.level());
    }

    #[test]
    fn negative_residuals_count_as_silence() {
        let mut floor = NoiseFloor::default();
        floor.update(-5.0);
        assert_eq!(floor.level(), 0.0);
    }
}
