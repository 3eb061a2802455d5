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
        let write = (self.read + self.len) % LIVE_CAPACITY;
        // At most two contiguous runs: up to the end of the ring, then from its start.
        let first = n.min(LIVE_CAPACITY - write);
        self.ring[write..write + first].copy_from_slice(&pcm[..first]);
        self.ring[..n - first].copy_from_slice(&pcm[first..n]);
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
        let first = FRAME_SAMPLES.min(LIVE_CAPACITY - self.read);
        out[..first].copy_from_slice(&self.ring[self.read..self.read + first]);
        out[first..].copy_from_slice(&self.ring[..FRAME_SAMPLES - first]);
        self.read = (self.read + FRAME_SAMPLES) % LIVE_CAPACITY;
        self.len -= FRAME_SAMPLES;
        true
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_in_order_across_the_ring_edge_and_overflow_is_refused() {
        let mut live = LiveSource::new();
        let mut out = [0i16; FRAME_SAMPLES];
        let mut next = 0i16;
        let mut expect = 0i16;
        for _ in 0..25 {
            // 1.5 frames in, one frame out: the ring fills, wraps and finally refuses.
            let chunk: Vec<i16> = (0..480).map(|i| next.wrapping_add(i)).collect();
            let taken = live.push(&chunk);
            next = next.wrapping_add(taken as i16);
            assert!(live.pop_frame(&mut out));
            for &s in &out {
                assert_eq!(s, expect);
                expect = expect.wrapping_add(1);
            }
        }
        assert!(live.push(&[0; LIVE_CAPACITY]) < LIVE_CAPACITY);
    }
}
