//! Reading prompt WAV files: any common rate, mono or stereo, 8/16/24/32-bit integer or 32-bit
//! float, into mono `f32` samples at the file's own rate.
//!
//! `hound` decodes the samples. Before it runs, the `fmt ` chunk is read here so that a file we
//! cannot play is refused with the field, the value found and what is allowed; hound alone would
//! only say "unsupported".

/// Sample rates a prompt file may have, in Hz.
pub const ALLOWED_RATES: [u32; 9] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];

/// The longest prompt accepted, in seconds (a prompt is a message, not a programme).
pub const MAX_PROMPT_SECONDS: u32 = 600;

/// Why a WAV file cannot become a prompt.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    /// The RIFF/WAVE structure is broken.
    #[error("not a usable WAV file: {reason}")]
    Malformed {
        /// What is broken.
        reason: String,
    },
    /// The `fmt ` chunk names an encoding we do not decode.
    #[error(
        "WAV fmt audio format is {found:#06x}; allowed: 0x0001 (integer PCM), 0x0003 (IEEE float) or 0xfffe (extensible PCM/float)"
    )]
    Encoding {
        /// The `fmt ` chunk's format tag (such as 0x0002 for ADPCM).
        found: u16,
    },
    /// Neither mono nor stereo.
    #[error("WAV fmt channels is {found}; allowed: 1 (mono) or 2 (stereo)")]
    Channels {
        /// The channel count found.
        found: u16,
    },
    /// A sample rate we do not convert from.
    #[error(
        "WAV fmt sample rate is {found} Hz; allowed: 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or 48000 Hz"
    )]
    SampleRate {
        /// The file's sample rate, in Hz.
        found: u32,
    },
    /// A sample width or kind we do not decode.
    #[error(
        "WAV fmt bits per sample is {bits} ({kind}); allowed: 8, 16, 24 or 32-bit integer, or 32-bit float"
    )]
    SampleFormat {
        /// Bits per sample found.
        bits: u16,
        /// "integer" or "float".
        kind: &'static str,
    },
    /// The data chunk holds no whole sample frame.
    #[error("WAV data chunk holds no samples; a prompt needs at least one")]
    Empty,
    /// Longer than [`MAX_PROMPT_SECONDS`].
    #[error("WAV lasts {seconds:.1} s; prompts may last at most {max} s")]
    TooLong {
        /// The file's duration.
        seconds: f64,
        /// The longest a prompt may last, in seconds ([`MAX_PROMPT_SECONDS`]).
        max: u32,
    },
}

/// A decoded prompt file: mono samples in [-1, 1] at `rate`.
pub struct DecodedWav {
    /// Mono samples (stereo is averaged).
    pub samples: Vec<f32>,
    /// Sample rate in Hz, one of [`ALLOWED_RATES`].
    pub rate: u32,
}

struct FmtChunk {
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
}

fn malformed(reason: impl Into<String>) -> WavError {
    WavError::Malformed {
        reason: reason.into(),
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Finds and reads the `fmt ` chunk, and checks that a whole `data` chunk follows it.
fn read_fmt(bytes: &[u8]) -> Result<FmtChunk, WavError> {
    if bytes.len() < 12 {
        return Err(malformed(format!(
            "{} bytes is shorter than a RIFF header (12 bytes)",
            bytes.len()
        )));
    }
    if &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(malformed(
            "the file does not start with a RIFF header of form type WAVE",
        ));
    }
    let mut fmt = None;
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = le32(bytes, at + 4) as usize;
        let body = at + 8;
        if id == b"fmt " {
            if len < 16 || body + 16 > bytes.len() {
                return Err(malformed(format!(
                    "fmt chunk is {len} bytes; it must hold at least 16"
                )));
            }
            let mut tag = le16(bytes, body);
            if tag == 0xfffe && len >= 40 && body + 26 <= bytes.len() {
                // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
                tag = le16(bytes, body + 24);
            }
            fmt = Some(FmtChunk {
                tag,
                channels: le16(bytes, body + 2),
                rate: le32(bytes, body + 4),
                bits: le16(bytes, body + 14),
            });
        } else if id == b"data" {
            let Some(fmt) = fmt else {
                return Err(malformed("the data chunk comes before the fmt chunk"));
            };
            let present = bytes.len() - body;
            if len > present {
                return Err(malformed(format!(
                    "the data chunk declares {len} bytes but only {present} follow (truncated file)"
                )));
            }
            return Ok(fmt);
        }
        // Chunks are padded to an even length.
        at = body.saturating_add(len).saturating_add(len & 1);
    }
    Err(malformed(match fmt {
        None => "no fmt chunk before the end of the file",
        Some(_) => "no data chunk before the end of the file",
    }))
}

fn check_fmt(fmt: &FmtChunk) -> Result<bool, WavError> {
    if !matches!(fmt.tag, 1 | 3 | 0xfffe) {
        return Err(WavError::Encoding { found: fmt.tag });
    }
    if !matches!(fmt.channels, 1 | 2) {
        return Err(WavError::Channels {
            found: fmt.channels,
        });
    }
    if !ALLOWED_RATES.contains(&fmt.rate) {
        return Err(WavError::SampleRate { found: fmt.rate });
    }
    let float = fmt.tag == 3;
    let ok = if float {
        fmt.bits == 32
    } else {
        matches!(fmt.bits, 8 | 16 | 24 | 32)
    };
    if !ok {
        return Err(WavError::SampleFormat {
            bits: fmt.bits,
            kind: if float { "float" } else { "integer" },
        });
    }
    Ok(float)
}

/// Decodes a WAV file's bytes into mono samples, refusing what prompts cannot use.
pub fn decode(bytes: &[u8]) -> Result<DecodedWav, WavError> {
    let fmt = read_fmt(bytes)?;
    check_fmt(&fmt)?;
    let mut reader =
        hound::WavReader::new(std::io::Cursor::new(bytes)).map_err(|e| malformed(e.to_string()))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    let frames = reader.duration();
    if frames == 0 {
        return Err(WavError::Empty);
    }
    let seconds = f64::from(frames) / f64::from(spec.sample_rate);
    if seconds > f64::from(MAX_PROMPT_SECONDS) {
        return Err(WavError::TooLong {
            seconds,
            max: MAX_PROMPT_SECONDS,
        });
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| malformed(format!("reading float samples: {e}")))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| malformed(format!("reading integer samples: {e}")))?
        }
    };
    let samples = interleaved
        .chunks_exact(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect::<Vec<_>>();
    if samples.is_empty() {
        return Err(WavError::Empty);
    }
    Ok(DecodedWav {
        samples,
        rate: spec.sample_rate,
    })
}
