//! [`PromptCache`]: WAV files and synthesised tones turned into Opus packets once, then shared.
//!
//! Playing a prompt to N callers costs N packet copies instead of N encoders; that is the main
//! reason Switchboard carries more calls per core than servers that transcode per call.

use super::Prompt;
use super::tone;
use super::wav::{self, WavError};
use crate::codec::opus::{CodecError, PROMPT_ENCODER, new_encoder};
use crate::dtmf::Digit;
use crate::frame::SAMPLE_RATE;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use std::collections::HashMap;
use std::sync::Arc;

/// Input chunk size of the resamplers, in frames; a hint rubato rounds to fit the ratio.
const RESAMPLER_CHUNK: usize = 1024;

/// Why a prompt could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// The WAV file is refused.
    #[error("prompt {name:?}: {source}")]
    Wav {
        /// The name the prompt is cached under (in Switchboard, its URI or resourceId).
        name: String,
        /// What is wrong with the file.
        #[source]
        source: WavError,
    },
    /// The resampler failed (should not happen for an allowed rate).
    #[error("prompt {name:?}: resampling {rate} Hz to 16000 Hz failed: {reason}")]
    Resample {
        /// The name the prompt is cached under (in Switchboard, its URI or resourceId).
        name: String,
        /// The file's rate.
        rate: u32,
        /// rubato's message.
        reason: String,
    },
    /// libopus refused.
    #[error("prompt {name:?}: {source}")]
    Codec {
        /// The name the prompt is cached under (in Switchboard, its URI or resourceId).
        name: String,
        /// What libopus refused while encoding the prompt's frames.
        #[source]
        source: CodecError,
    },
    /// An empty digit string was asked for as a DTMF prompt.
    #[error("a DTMF prompt needs at least one digit; none were given")]
    NoDigits,
}

/// Prompts by name, each encoded once with [`PROMPT_ENCODER`] and handed out as `Arc<Prompt>`.
///
/// Not on the media path: loading decodes, resamples and encodes, and allocates. Share it between
/// threads behind a lock; sessions only ever hold the `Arc<Prompt>`s it returns.
pub struct PromptCache {
    prompts: HashMap<String, Arc<Prompt>>,
    /// One resampler per source rate, built on first use and reused: rubato allocates only when
    /// constructed.
    resamplers: HashMap<u32, Fft<f32>>,
    encoder: opus::Encoder,
    beep: Arc<Prompt>,
}

impl PromptCache {
    /// An empty cache holding only the beep.
    pub fn new() -> Result<PromptCache, PromptError> {
        let codec = |source| PromptError::Codec {
            name: tone::BEEP_NAME.into(),
            source,
        };
        let mut encoder = new_encoder(PROMPT_ENCODER).map_err(codec)?;
        let beep =
            Arc::new(Prompt::encode(tone::BEEP_NAME, &tone::beep(), &mut encoder).map_err(codec)?);
        let mut prompts = HashMap::new();
        prompts.insert(tone::BEEP_NAME.to_string(), beep.clone());
        Ok(PromptCache {
            prompts,
            resamplers: HashMap::new(),
            encoder,
            beep,
        })
    }

    /// The record beep (1 kHz, 400 ms).
    pub fn beep(&self) -> Arc<Prompt> {
        self.beep.clone()
    }

    /// The prompt cached under `name`, if any.
    pub fn get(&self, name: &str) -> Option<Arc<Prompt>> {
        self.prompts.get(name).cloned()
    }

    /// Number of cached prompts (the beep included).
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// Whether the cache holds no prompt (never true: the beep is always cached).
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    /// Drops `name` from the cache; sessions still playing it keep their `Arc`.
    pub fn remove(&mut self, name: &str) -> Option<Arc<Prompt>> {
        self.prompts.remove(name)
    }

    /// Decodes, resamples to 16 kHz and encodes a WAV file, caching it under `name`. A name
    /// already cached returns the cached prompt without reading `wav` (Graph's `resourceId`).
    pub fn load_wav(&mut self, name: &str, wav_bytes: &[u8]) -> Result<Arc<Prompt>, PromptError> {
        if let Some(p) = self.prompts.get(name) {
            return Ok(p.clone());
        }
        let decoded = wav::decode(wav_bytes).map_err(|source| PromptError::Wav {
            name: name.into(),
            source,
        })?;
        let pcm = self.resample_to_16k(name, &decoded.samples, decoded.rate)?;
        self.insert_pcm(name, &pcm)
    }

    /// Encodes 16 kHz mono PCM (for example generated speech) and caches it under `name`,
    /// replacing what was there.
    pub fn insert_pcm(&mut self, name: &str, pcm: &[i16]) -> Result<Arc<Prompt>, PromptError> {
        let prompt =
            Prompt::encode(name, pcm, &mut self.encoder).map_err(|source| PromptError::Codec {
                name: name.into(),
                source,
            })?;
        let prompt = Arc::new(prompt);
        self.prompts.insert(name.to_string(), prompt.clone());
        Ok(prompt)
    }

    /// The DTMF tones for `digits` (Graph's sendDtmfTones), synthesised by the shared generator,
    /// cached under `dtmf:<digits>`.
    pub fn dtmf(&mut self, digits: &[Digit]) -> Result<Arc<Prompt>, PromptError> {
        if digits.is_empty() {
            return Err(PromptError::NoDigits);
        }
        let name: String = "dtmf:"
            .chars()
            .chain(digits.iter().map(|d| d.as_char()))
            .collect();
        if let Some(p) = self.prompts.get(&name) {
            return Ok(p.clone());
        }
        let pcm = tone::dtmf_sequence(digits);
        self.insert_pcm(&name, &pcm)
    }

    /// Resamples mono `f32` at `rate` to 16 kHz `i16`.
    fn resample_to_16k(
        &mut self,
        name: &str,
        samples: &[f32],
        rate: u32,
    ) -> Result<Vec<i16>, PromptError> {
        let to_i16 = |s: f32| (s * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
        if rate == SAMPLE_RATE {
            return Ok(samples.iter().map(|&s| to_i16(s)).collect());
        }
        let err = |reason: String| PromptError::Resample {
            name: name.into(),
            rate,
            reason,
        };
        let resampler = match self.resamplers.entry(rate) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(
                Fft::<f32>::new(
                    rate as usize,
                    SAMPLE_RATE as usize,
                    RESAMPLER_CHUNK,
                    1,
                    FixedSync::Both,
                )
                .map_err(|e| err(e.to_string()))?,
            ),
        };
        resampler.reset();
        let input =
            InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| err(e.to_string()))?;
        let needed = resampler.process_all_needed_output_len(samples.len());
        let mut out = vec![0f32; needed];
        let mut output =
            InterleavedSlice::new_mut(&mut out, 1, needed).map_err(|e| err(e.to_string()))?;
        let (_, produced) = resampler
            .process_all_into_buffer(&input, &mut output, samples.len(), None)
            .map_err(|e| err(e.to_string()))?;
        Ok(out[..produced].iter().map(|&s| to_i16(s)).collect())
    }
}
