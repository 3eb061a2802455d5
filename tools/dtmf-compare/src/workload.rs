//! Realistic audio for the per-frame benches: real speech with key presses mixed in.
//!
//! Silence would flatter any detector that skips work on quiet input, and pure tones would
//! flatter one that bails out early on clean signals; speech with digits exercises every path.

use std::path::{Path, PathBuf};

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use switchboard_media::dtmf::ALL_DIGITS;
use switchboard_media::dtmf::generator::{SignalBuilder, ToneShape};

/// A WAV file that cannot serve as speech for the workload.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The file could not be read as a WAV.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: hound::Error,
    },
    /// The file is not 8 kHz mono 16-bit PCM.
    #[error("{path}: {rate} Hz, {channels} channels, {bits} bits; 8000 Hz mono 16-bit is needed")]
    Format {
        /// The file.
        path: PathBuf,
        /// Its rate.
        rate: u32,
        /// Its channels.
        channels: u16,
        /// Its bits per sample.
        bits: u16,
    },
}

/// Reads an 8 kHz mono 16-bit WAV.
pub fn read_speech_8k(path: &Path) -> Result<Vec<i16>, WorkloadError> {
    let read_error = |source| WorkloadError::Read {
        path: path.to_owned(),
        source,
    };
    let reader = hound::WavReader::open(path).map_err(read_error)?;
    let spec = reader.spec();
    if spec.sample_rate != 8000 || spec.channels != 1 || spec.bits_per_sample != 16 {
        return Err(WorkloadError::Format {
            path: path.to_owned(),
            rate: spec.sample_rate,
            channels: spec.channels,
            bits: spec.bits_per_sample,
        });
    }
    reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)
}

/// 8 kHz speech brought to 16 kHz (rubato's FFT resampler, start-up delay trimmed).
pub fn upsample_to_16k(speech: &[i16]) -> Vec<i16> {
    let mut resampler = Fft::<f32>::new(8000, 16_000, 1024, 1, FixedSync::Input)
        .expect("8000 to 16000 Hz is a valid rubato setup");
    let input: Vec<f32> = speech.iter().map(|&s| f32::from(s)).collect();
    let adapter = InterleavedSlice::new(&input, 1, input.len()).expect("mono slice");
    let out = resampler
        .process_all(&adapter, input.len(), None)
        .expect("process_all sizes its own buffers");
    out.take_data()
        .into_iter()
        .map(|s| s.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// `speech` at `rate` with a 60 ms key press at −12 dBm0 mixed in every second, cycling
/// through all sixteen keys.
pub fn speech_with_digits(speech: &[i16], rate: u32) -> Vec<i16> {
    let mut mixed: Vec<f32> = speech.iter().map(|&s| f32::from(s)).collect();
    let second = rate as usize;
    let shape = ToneShape::at_level(-12.0);
    for (i, start) in (second / 2..mixed.len().saturating_sub(second))
        .step_by(second)
        .enumerate()
    {
        let mut tone = SignalBuilder::new(rate).expect("8000 and 16000 Hz are generator rates");
        tone.tone_ms(ALL_DIGITS[i % 16], &shape, 60.0);
        for (dst, &src) in mixed[start..].iter_mut().zip(tone.as_f32()) {
            *dst += src;
        }
    }
    mixed
        .iter()
        .map(|&s| s.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}
