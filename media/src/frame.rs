//! The fixed audio frame every stage of the pipeline works in: 20 ms of 16 kHz mono PCM.
//!
//! One size everywhere means buffers are plain arrays sized at compile time, and a tick is exactly
//! one frame in and one packet out per leg.

/// The internal sample rate in Hz: Opus decodes straight to it and DTMF, levels and recording use it.
pub const SAMPLE_RATE: u32 = 16_000;

/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 320;

/// The RTP clock rate for Opus (RFC 7587): always 48 kHz, whatever the audio bandwidth.
pub const RTP_CLOCK: u32 = 48_000;

/// RTP timestamp ticks in one 20 ms frame.
pub const RTP_TICKS_PER_FRAME: u32 = 960;

/// The largest Opus payload a leg accepts or sends, in bytes.
///
/// 400 bytes of a 20 ms frame is 160 kbit/s, four times what a browser sends for voice by default;
/// larger payloads are counted as garbage. The bound keeps every jitter-buffer slot a fixed array.
pub const MAX_PAYLOAD: usize = 400;

/// One frame of PCM.
pub type Frame = [i16; FRAME_SAMPLES];

/// A frame of digital silence.
pub const SILENT_FRAME: Frame = [0; FRAME_SAMPLES];
