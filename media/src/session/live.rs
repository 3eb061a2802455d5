//! The bot's live audio (generated speech, an application's own PCM): a small fixed ring the caller
//! fills and the tick drains one frame at a time, to be encoded.

use crate::frame::{FRAME_SAMPLES, Frame};

/// Live audio the ring holds: 200 ms, enough to absorb a caller that pushes a few frames late.
pub const LIVE_CAPACITY: usize = 10 * FRAME_SAMPLES;

pub(crate) struct LiveSource {
    ring: [i16; LIVE_CAPACITY],
    read: usize,
    len: usize,
}

impl LiveSource {
    pub(crate) fn new() -> LiveSource {
        LiveSource {
            ring: [0; LIVE_CAPACITY],
            read: 0,
            len: 0,
        }
    }

    /// Appends what fits; returns how many samples were taken.
    pub(crate) fn push(&mut self, pcm: &[i16]) -> usize {
        let n = pcm.len().min(LIVE_CAPACITY - self.len);
        for (i, &s) in pcm[..n].iter().enumerate() {
            self.ring[(self.read + self.len + i) % LIVE_CAPACITY] = s;
        }
        self.len += n;
        n
    }

    /// Whether a whole frame is waiting.
    pub(crate) fn has_frame(&self) -> bool {
        self.len >= FRAME_SAMPLES
    }

    /// Takes one frame, if a whole one is waiting.
    pub(crate) fn pop_frame(&mut self, out: &mut Frame) -> bool {
        if !self.has_frame() {
            return false;
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.ring[(self.read + i) % LIVE_CAPACITY];
        }
        self.read = (self.read + FRAME_SAMPLES) % LIVE_CAPACITY;
        self.len -= FRAME_SAMPLES;
        true
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}
