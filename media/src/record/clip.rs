//! Clip memory: a preallocated buffer that *is* the WAV file (16 kHz mono 16-bit), header included,
//! and a bounded pool of them.
//!
//! Frames are appended as little-endian bytes after a 44-byte header that is filled in when the clip
//! ends, so handing out the finished clip copies and allocates nothing: the caller gets this buffer.

use crate::frame::{FRAME_SAMPLES, Frame, SAMPLE_RATE};
use std::time::Duration;

/// Bytes of the canonical WAV header written in front of the samples.
pub const WAV_HEADER_BYTES: usize = 44;
/// The longest clip Graph allows (recordResponse's hard cap).
pub const MAX_CLIP: Duration = Duration::from_secs(120);
const FRAME_BYTES: usize = FRAME_SAMPLES * 2;

/// A fixed-capacity recording buffer laid out as a WAV file.
#[derive(Debug)]
pub struct ClipBuffer {
    bytes: Vec<u8>,
}

impl ClipBuffer {
    /// Allocates room for `max` of audio (rounded up to whole frames, at most [`MAX_CLIP`]).
    pub fn with_capacity(max: Duration) -> ClipBuffer {
        let max = max.min(MAX_CLIP);
        let frames = max.as_millis().div_ceil(20) as usize;
        let mut bytes = Vec::with_capacity(WAV_HEADER_BYTES + frames * FRAME_BYTES);
        bytes.resize(WAV_HEADER_BYTES, 0);
        let mut clip = ClipBuffer { bytes };
        clip.write_header();
        clip
    }

    /// How many 20 ms frames fit.
    pub fn capacity_frames(&self) -> usize {
        (self.bytes.capacity() - WAV_HEADER_BYTES) / FRAME_BYTES
    }

    /// How much audio fits.
    pub fn capacity(&self) -> Duration {
        Duration::from_millis(20 * self.capacity_frames() as u64)
    }

    /// Samples recorded.
    pub fn samples(&self) -> usize {
        (self.bytes.len() - WAV_HEADER_BYTES) / 2
    }

    /// Length of the recorded audio.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// The recorded sample at `index`.
    pub fn sample(&self, index: usize) -> i16 {
        let at = WAV_HEADER_BYTES + 2 * index;
        i16::from_le_bytes([self.bytes[at], self.bytes[at + 1]])
    }

    /// The whole WAV file: header and samples. The header is current after every append.
    pub fn wav_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The WAV file as an owned vector (this buffer's own memory, no copy).
    pub fn into_wav_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Empties it for a new recording, keeping the memory.
    pub fn clear(&mut self) {
        self.bytes.truncate(WAV_HEADER_BYTES);
        self.write_header();
    }

    /// Appends one frame; `false` (and nothing written) when full. Never reallocates.
    pub(crate) fn push_frame(&mut self, frame: &Frame) -> bool {
        if self.bytes.capacity() - self.bytes.len() < FRAME_BYTES {
            return false;
        }
        let mut le = [0u8; FRAME_BYTES];
        for (pair, s) in le.chunks_exact_mut(2).zip(frame) {
            pair.copy_from_slice(&s.to_le_bytes());
        }
        self.bytes.extend_from_slice(&le);
        self.write_lengths();
        true
    }

    fn write_lengths(&mut self) {
        let data = (self.bytes.len() - WAV_HEADER_BYTES) as u32;
        self.bytes[4..8].copy_from_slice(&(36 + data).to_le_bytes());
        self.bytes[40..44].copy_from_slice(&data.to_le_bytes());
    }

    /// Writes the RIFF header for the current length.
    fn write_header(&mut self) {
        let h = &mut self.bytes[..WAV_HEADER_BYTES];
        h[0..4].copy_from_slice(b"RIFF");
        h[8..12].copy_from_slice(b"WAVE");
        h[12..16].copy_from_slice(b"fmt ");
        h[16..20].copy_from_slice(&16u32.to_le_bytes());
        h[20..22].copy_from_slice(&1u16.to_le_bytes()); // integer PCM
        h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
        h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
        h[28..32].copy_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // byte rate
        h[32..34].copy_from_slice(&2u16.to_le_bytes()); // block align
        h[34..36].copy_from_slice(&16u16.to_le_bytes()); // bits per sample
        h[36..40].copy_from_slice(b"data");
        self.write_lengths();
    }
}

/// A bounded set of clip buffers for the sessions of one media worker: memory for recordings is
/// allocated once, up front, and a recording that finds the pool empty is refused rather than
/// growing memory.
#[derive(Debug)]
pub struct ClipPool {
    free: Vec<ClipBuffer>,
    capacity: usize,
}

impl ClipPool {
    /// `count` buffers of `max` each.
    pub fn new(count: usize, max: Duration) -> ClipPool {
        ClipPool {
            free: (0..count).map(|_| ClipBuffer::with_capacity(max)).collect(),
            capacity: count,
        }
    }

    /// Takes a buffer, or `None` when all are in use.
    pub fn take(&mut self) -> Option<ClipBuffer> {
        self.free.pop()
    }

    /// Returns a buffer (cleared) once its clip has been delivered. Buffers beyond the pool's size
    /// are dropped, so the pool never grows.
    pub fn give_back(&mut self, mut clip: ClipBuffer) {
        if self.free.len() < self.capacity {
            clip.clear();
            self.free.push(clip);
        }
    }

    /// Buffers available now.
    pub fn available(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_a_valid_wav_file_that_hound_reads_back() {
        let mut clip = ClipBuffer::with_capacity(Duration::from_millis(100));
        assert_eq!(clip.capacity_frames(), 5);
        let mut frame = [0i16; FRAME_SAMPLES];
        for (i, s) in frame.iter_mut().enumerate() {
            *s = i as i16 * 50 - 8000;
        }
        for _ in 0..5 {
            assert!(clip.push_frame(&frame));
        }
        assert!(!clip.push_frame(&frame), "full");
        assert_eq!(clip.duration(), Duration::from_millis(100));
        let reader = hound::WavReader::new(std::io::Cursor::new(clip.wav_bytes())).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 16000, 16)
        );
        let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
        assert_eq!(samples.len(), 1600);
        assert_eq!(&samples[..FRAME_SAMPLES], &frame[..]);
    }

    #[test]
    fn the_pool_is_bounded() {
        let mut pool = ClipPool::new(2, Duration::from_secs(1));
        let a = pool.take().unwrap();
        let b = pool.take().unwrap();
        assert!(pool.take().is_none());
        pool.give_back(a);
        pool.give_back(b);
        pool.give_back(ClipBuffer::with_capacity(Duration::from_secs(1)));
        assert_eq!(pool.available(), 2);
    }
}
