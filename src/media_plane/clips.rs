//! A worker's recording memory: two bounded pools of preallocated clip buffers, short ones for the
//! usual few-second answers and a few full-length (120 s) ones, so memory for recordings is fixed
//! at start-up and a recording that finds no buffer is refused instead of growing memory.

use std::time::Duration;

use switchboard_media::record::{ClipBuffer, ClipPool, MAX_CLIP};

/// The short and long clip pools of one worker.
#[derive(Debug)]
pub struct ClipPools {
    short: ClipPool,
    short_len: Duration,
    long: ClipPool,
}

impl ClipPools {
    /// `short` buffers of `short_len` and `long` buffers of 120 s, allocated now.
    pub fn new(short: usize, short_len: Duration, long: usize) -> ClipPools {
        ClipPools {
            short: ClipPool::new(short, short_len),
            short_len: short_len.min(MAX_CLIP),
            long: ClipPool::new(long, MAX_CLIP),
        }
    }

    /// A buffer with room for `max` of audio, or `None` when every fitting buffer is in use.
    pub fn take(&mut self, max: Duration) -> Option<ClipBuffer> {
        if max <= self.short_len {
            self.short.take().or_else(|| self.long.take())
        } else {
            self.long.take()
        }
    }

    /// Returns a buffer to the pool it came from.
    pub fn give_back(&mut self, clip: ClipBuffer) {
        if clip.capacity() < MAX_CLIP {
            self.short.give_back(clip);
        } else {
            self.long.give_back(clip);
        }
    }

    /// Buffers free now (short, long).
    pub fn available(&self) -> (usize, usize) {
        (self.short.available(), self.long.available())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_requests_use_short_buffers_then_long_ones_and_the_pools_are_bounded() {
        let mut pools = ClipPools::new(1, Duration::from_secs(2), 1);
        let a = pools.take(Duration::from_secs(2)).unwrap();
        assert!(a.capacity() < MAX_CLIP);
        let b = pools.take(Duration::from_secs(1)).unwrap();
        assert_eq!(b.capacity(), MAX_CLIP, "falls back to a long buffer");
        assert!(pools.take(Duration::from_secs(1)).is_none());
        pools.give_back(a);
        pools.give_back(b);
        assert_eq!(pools.available(), (1, 1));
        assert!(pools.take(Duration::from_secs(3)).unwrap().capacity() == MAX_CLIP);
    }
}
