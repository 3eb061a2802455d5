//! Prompts: audio encoded to Opus once and shared read-only by every call that plays it.
//!
//! - [`wav`] reads prompt files and refuses bad ones precisely.
//! - [`cache`] resamples, encodes and keeps them ([`PromptCache`]).
//! - [`tone`] synthesises the beep and DTMF digit prompts.
//! - [`playback`] walks a play list frame by frame inside a session.

pub mod cache;
pub mod playback;
pub mod tone;
pub mod wav;

pub use cache::{PromptCache, PromptError};
pub use playback::PlaybackId;

use crate::codec::opus::{CodecError, encode_frame};
use crate::frame::{FRAME_SAMPLES, Frame, MAX_PAYLOAD, SAMPLE_RATE};
use std::time::Duration;

/// A prompt ready to send: its Opus packets (one per 20 ms) and the same audio as 16 kHz PCM, which
/// the mixer uses when the prompt must be heard on top of other participants.
#[derive(Debug)]
pub struct Prompt {
    name: Box<str>,
    packets: Box<[u8]>,
    /// End offset of each packet in `packets`.
    ends: Box<[u32]>,
    pcm: Box<[Frame]>,
}

impl Prompt {
    /// Encodes 16 kHz mono PCM (padded with silence to whole frames) with `encoder`.
    pub(crate) fn encode(
        name: &str,
        pcm: &[i16],
        encoder: &mut opus::Encoder,
    ) -> Result<Prompt, CodecError> {
        // Every prompt starts from a fresh encoder so that its packets do not depend on what was
        // encoded before it.
        encoder.reset_state().map_err(|source| CodecError {
            what: "reset prompt encoder",
            source,
        })?;
        let silence = [0i16; 1];
        let pcm = if pcm.is_empty() { &silence[..] } else { pcm };
        let frames: Box<[Frame]> = pcm
            .chunks(FRAME_SAMPLES)
            .map(|chunk| {
                let mut f = [0i16; FRAME_SAMPLES];
                f[..chunk.len()].copy_from_slice(chunk);
                f
            })
            .collect();
        let mut packets = Vec::with_capacity(frames.len() * 64);
        let mut ends = Vec::with_capacity(frames.len());
        let mut buf = [0u8; MAX_PAYLOAD];
        for frame in frames.iter() {
            let len = encode_frame(encoder, frame, &mut buf)?;
            packets.extend_from_slice(&buf[..len]);
            ends.push(packets.len() as u32);
        }
        Ok(Prompt {
            name: name.into(),
            packets: packets.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
            pcm: frames,
        })
    }

    /// The name it was cached under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of 20 ms frames (and packets). Always at least one.
    pub fn frames(&self) -> usize {
        self.ends.len()
    }

    /// How long it plays.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(20 * self.frames() as u64)
    }

    /// The Opus payload of frame `index`. Panics if `index >= frames()`.
    pub fn packet(&self, index: usize) -> &[u8] {
        let start = if index == 0 {
            0
        } else {
            self.ends[index - 1] as usize
        };
        &self.packets[start..self.ends[index] as usize]
    }

    /// The 16 kHz PCM of frame `index`. Panics if `index >= frames()`.
    pub fn pcm(&self, index: usize) -> &Frame {
        &self.pcm[index]
    }

    /// Total bytes of Opus payload (what sending it once costs on the wire, before RTP).
    pub fn payload_bytes(&self) -> usize {
        self.packets.len()
    }

    /// Samples at 16 kHz, including the padding of the last frame.
    pub fn samples(&self) -> usize {
        self.frames() * FRAME_SAMPLES
    }

    /// The sample rate of [`Prompt::pcm`].
    pub const SAMPLE_RATE: u32 = SAMPLE_RATE;
}
