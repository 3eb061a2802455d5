//! 16 kHz to 8 kHz for spandsp, which only works at 8 kHz.
//!
//! rubato's synchronous FFT resampler does the 2:1 conversion with a proper anti-aliasing filter
//! (every DTMF tone, at most 1633 Hz, is far inside the 4 kHz pass band). Its start-up delay is
//! trimmed off, so output sample `k` is input sample `2k`: times measured on the 8 kHz side map
//! back to the 16 kHz stream exactly by doubling. The delay itself is reported separately
//! ([`Decimator::delay_ms`]); a production pipeline feeding spandsp would pay it on top.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Input frames per resampler call: 20 ms at 16 kHz.
const CHUNK: usize = 320;

/// Streams 16 kHz PCM into 8 kHz PCM, sample-aligned (see the module notes).
pub struct Decimator {
    resampler: Fft<f32>,
    pending: Vec<f32>,
    out: Vec<f32>,
    /// Output frames still to drop: the resampler's start-up delay.
    to_trim: usize,
    delay_frames: usize,
    /// 16 kHz input samples taken so far (to flush exactly what is owed at the end).
    taken: u64,
    /// 8 kHz output samples given so far.
    given: u64,
}

impl Decimator {
    /// A decimator from 16 kHz to 8 kHz.
    pub fn new() -> Decimator {
        let resampler = Fft::<f32>::new(16_000, 8_000, CHUNK, 1, FixedSync::Input)
            .expect("16000 to 8000 Hz with 320-frame chunks is a valid rubato setup");
        let delay_frames = resampler.output_delay();
        let out_max = resampler.output_frames_max();
        Decimator {
            resampler,
            pending: Vec::with_capacity(CHUNK * 2),
            out: vec![0.0; out_max],
            to_trim: delay_frames,
            delay_frames,
            taken: 0,
            given: 0,
        }
    }

    /// The resampler's own delay, in milliseconds, which is trimmed from the output.
    pub fn delay_ms(&self) -> f64 {
        self.delay_frames as f64 / 8.0
    }

    /// Takes 16 kHz samples and appends the 8 kHz samples now ready to `out`.
    pub fn push(&mut self, pcm: &[i16], out: &mut Vec<i16>) {
        self.taken += pcm.len() as u64;
        self.pending.extend(pcm.iter().map(|&s| f32::from(s)));
        while self.pending.len() >= self.resampler.input_frames_next() {
            let frames = self.resampler.input_frames_next();
            self.run(frames, None, out);
            self.pending.drain(..frames);
        }
    }

    /// Flushes the delay line: appends the 8 kHz samples still owed for the input taken, so the
    /// output is exactly half as long as the input.
    pub fn finish(&mut self, out: &mut Vec<i16>) {
        let owed = self.taken / 2;
        while self.given < owed {
            let frames = self.resampler.input_frames_next();
            let valid = self.pending.len().min(frames);
            self.pending.resize(frames, 0.0);
            self.run(frames, Some(valid), out);
            self.pending.clear();
        }
        let excess = (self.given - owed) as usize;
        out.truncate(out.len().saturating_sub(excess));
        self.given = owed;
    }

    fn run(&mut self, frames: usize, partial: Option<usize>, out: &mut Vec<i16>) {
        let input = InterleavedSlice::new(&self.pending[..frames], 1, frames)
            .expect("the slice holds exactly `frames` mono frames");
        let capacity = self.out.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out[..], 1, capacity)
            .expect("the buffer holds output_frames_max mono frames");
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: partial,
            active_channels_mask: None,
        };
        let (_, written) = self
            .resampler
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .expect("buffers are sized from the resampler's own figures");
        let skip = self.to_trim.min(written);
        self.to_trim -= skip;
        for &sample in &self.out[skip..written] {
            out.push(sample.round().clamp(-32768.0, 32767.0) as i16);
        }
        self.given += (written - skip) as u64;
    }
}

impl Default for Decimator {
    fn default() -> Self {
        Decimator::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: f64, hz: f64, n: usize, amplitude: f64) -> Vec<i16> {
        (0..n)
            .map(|i| (amplitude * (2.0 * std::f64::consts::PI * hz * i as f64 / rate).sin()) as i16)
            .collect()
    }

    #[test]
    fn output_is_half_as_long_and_sample_aligned() {
        let input = tone(16_000.0, 1000.0, 16_000, 10_000.0);
        let mut d = Decimator::new();
        let mut out = Vec::new();
        for chunk in input.chunks(123) {
            d.push(chunk, &mut out);
        }
        d.finish(&mut out);
        assert_eq!(out.len(), 8000);
        let expected = tone(8000.0, 1000.0, 8000, 10_000.0);
        // Away from the edges the decimated tone matches the tone generated at 8 kHz.
        for k in 200..7800 {
            assert!(
                (i32::from(out[k]) - i32::from(expected[k])).abs() < 150,
                "sample {k}: {} vs {}",
                out[k],
                expected[k]
            );
        }
    }

    #[test]
    fn tones_above_4_khz_are_filtered_out() {
        let input = tone(16_000.0, 6000.0, 16_000, 10_000.0);
        let mut d = Decimator::new();
        let mut out = Vec::new();
        d.push(&input, &mut out);
        d.finish(&mut out);
        let peak = out[500..7500]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(peak < 100, "6 kHz leaked through at peak {peak}");
    }
}
