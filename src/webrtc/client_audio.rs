//! Audio of the test client: PCM from a WAV file encoded to 20 ms Opus frames, and received
//! Opus decoded back to PCM. Both at 48 kHz mono, the RTP clock of Opus.

use std::path::Path;

use opus::{Application, Channels, Decoder, Encoder};
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler};

use super::client::ClientError;

/// The sample rate of everything the client sends and records.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at 48 kHz.
pub const FRAME_SAMPLES: usize = 960;
/// The largest Opus packet libopus produces for one frame (RFC 6716 §3.4 bounds it at 1275).
const MAX_PACKET: usize = 1275;
/// Longest decoded frame libopus can return (120 ms at 48 kHz), the decode buffer size.
const MAX_DECODED: usize = 5760;

/// Reads a WAV file as 48 kHz mono 16-bit PCM: channels are averaged, other rates resampled.
pub fn read_wav(path: &Path) -> Result<Vec<i16>, ClientError> {
    let mut reader = hound::WavReader::open(path).map_err(|e| ClientError::Wav {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(8, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
        }
    }
    .map_err(|e| ClientError::Wav {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / frame.len() as f32)
        .collect();
    let at_48k = resample(mono, spec.sample_rate).map_err(|reason| ClientError::Wav {
        path: path.display().to_string(),
        reason,
    })?;
    Ok(at_48k.into_iter().map(to_i16).collect())
}

/// Writes 48 kHz mono PCM to a WAV file (for fixtures and for inspecting what was heard).
pub fn write_wav(path: &Path, samples: &[i16]) -> Result<(), ClientError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let wav_error = |e: hound::Error| ClientError::Wav {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(wav_error)?;
    for &sample in samples {
        writer.write_sample(sample).map_err(wav_error)?;
    }
    writer.finalize().map_err(wav_error)
}

fn resample(mono: Vec<f32>, rate: u32) -> Result<Vec<f32>, String> {
    if rate == SAMPLE_RATE || mono.is_empty() {
        return Ok(mono);
    }
    let len = mono.len();
    let mut resampler = Fft::<f32>::new(
        rate as usize,
        SAMPLE_RATE as usize,
        1024,
        1,
        FixedSync::Both,
    )
    .map_err(|e| format!("cannot resample from {rate} Hz to {SAMPLE_RATE} Hz: {e}"))?;
    let input = [mono];
    let adapter = SequentialSliceOfVecs::new(&input, 1, len).map_err(|e| e.to_string())?;
    let output = resampler
        .process_all(&adapter, len, None)
        .map_err(|e| format!("resampling from {rate} Hz failed: {e}"))?;
    Ok(output.take_data())
}

fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16
}

/// What the client sends: PCM cut into 20 ms frames and Opus-encoded, then silence once the
/// file has played (unless it loops), so the stream and the connection stay alive.
pub struct OpusSource {
    encoder: Encoder,
    samples: Vec<i16>,
    position: usize,
    looping: bool,
    frame: [i16; FRAME_SAMPLES],
    packet: [u8; MAX_PACKET],
}

impl OpusSource {
    /// A source playing `samples` (48 kHz mono) once, or over and over with `looping`.
    pub fn new(samples: Vec<i16>, looping: bool) -> Result<OpusSource, ClientError> {
        let encoder =
            Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip).map_err(opus_error)?;
        Ok(OpusSource {
            encoder,
            samples,
            position: 0,
            looping,
            frame: [0; FRAME_SAMPLES],
            packet: [0; MAX_PACKET],
        })
    }

    /// Whether the whole file has been sent once.
    pub fn finished(&self) -> bool {
        self.position >= self.samples.len()
    }

    /// Encodes the next 20 ms and returns the Opus packet.
    pub fn next_packet(&mut self) -> Result<&[u8], ClientError> {
        for slot in self.frame.iter_mut() {
            if self.looping && !self.samples.is_empty() && self.position >= self.samples.len() {
                self.position = 0;
            }
            *slot = self.samples.get(self.position).copied().unwrap_or(0);
            self.position += 1;
        }
        let len = self
            .encoder
            .encode(&self.frame, &mut self.packet)
            .map_err(opus_error)?;
        Ok(&self.packet[..len])
    }
}

/// What the client heard: every received Opus packet decoded, in arrival order, to 48 kHz PCM.
pub struct OpusRecorder {
    decoder: Decoder,
    pcm: Vec<i16>,
    decoded: Box<[i16; MAX_DECODED]>,
    undecodable: u64,
}

impl OpusRecorder {
    /// A recorder that has heard nothing yet, decoding to mono 48 kHz.
    pub fn new() -> Result<OpusRecorder, ClientError> {
        Ok(OpusRecorder {
            decoder: Decoder::new(SAMPLE_RATE, Channels::Mono).map_err(opus_error)?,
            pcm: Vec::new(),
            decoded: Box::new([0; MAX_DECODED]),
            undecodable: 0,
        })
    }

    /// Decodes one packet and appends it; a packet libopus rejects is counted and skipped.
    pub fn push(&mut self, payload: &[u8]) {
        match self.decoder.decode(payload, &mut self.decoded[..], false) {
            Ok(samples) => self.pcm.extend_from_slice(&self.decoded[..samples]),
            Err(_) => self.undecodable += 1,
        }
    }

    /// Everything heard so far, as mono 48 kHz samples in arrival order.
    pub fn pcm(&self) -> &[i16] {
        &self.pcm
    }

    /// Packets libopus could not decode.
    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }
}

fn opus_error(e: opus::Error) -> ClientError {
    ClientError::Opus(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn an_8khz_wav_is_read_at_48khz_with_the_same_duration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone8k.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        for s in tone(500.0, 8000, 1.0) {
            let v = (s * 32767.0) as i16;
            writer.write_sample(v).unwrap();
            writer.write_sample(v).unwrap();
        }
        writer.finalize().unwrap();

        let pcm = read_wav(&path).unwrap();
        assert!(
            (pcm.len() as i64 - 48_000).abs() < 100,
            "{} samples",
            pcm.len()
        );
        let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((14_000..18_000).contains(&peak), "peak {peak}");
    }

    #[test]
    fn a_missing_wav_names_the_path() {
        let err = read_wav(Path::new("/nonexistent/prompt.wav")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/prompt.wav"), "{err}");
    }

    #[test]
    fn frames_round_trip_through_opus() {
        let pcm: Vec<i16> = tone(1000.0, SAMPLE_RATE, 0.2)
            .into_iter()
            .map(to_i16)
            .collect();
        let mut source = OpusSource::new(pcm, false).unwrap();
        let mut recorder = OpusRecorder::new().unwrap();
        for _ in 0..10 {
            let packet = source.next_packet().unwrap().to_vec();
            recorder.push(&packet);
        }
        assert!(source.finished());
        assert_eq!(recorder.pcm().len(), 10 * FRAME_SAMPLES);
        let loud = recorder.pcm()[FRAME_SAMPLES * 4..]
            .iter()
            .filter(|s| s.abs() > 5000)
            .count();
        assert!(loud > 1000, "decoded tone is audible ({loud} loud samples)");
        recorder.push(&[0xff; 3]);
        assert_eq!(recorder.undecodable(), 1);
    }
}
