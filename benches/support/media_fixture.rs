//! What the media benches feed a session: the speech fixture encoded once by a real libopus encoder
#![allow(dead_code)] // each bench uses part of it
//! (browser-like settings), replayed as an endless, correctly numbered RTP stream.

use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_media::codec::opus::{EncoderMode, EncoderSettings, encode_frame, new_encoder};
use switchboard_media::frame::{FRAME_SAMPLES, MAX_PAYLOAD, RTP_TICKS_PER_FRAME};
use switchboard_media::prompt::{Prompt, PromptCache};

/// The caller's encoder: voice, 24 kbit/s, complexity 10 (codes in-band FEC, as browsers do).
const CALLER: EncoderSettings = EncoderSettings {
    mode: EncoderMode::Voice,
    complexity: 10,
    bitrate: 24_000,
};

/// Shared inputs of every bench.
pub struct Fixture {
    /// The speech as a cached prompt (what the bot plays).
    pub prompt: Arc<Prompt>,
    /// The speech as the caller's Opus packets.
    pub packets: Vec<Vec<u8>>,
    /// The speech as 16 kHz PCM frames (what live encode is fed).
    pub pcm: Vec<[i16; FRAME_SAMPLES]>,
}

impl Fixture {
    pub fn load() -> Fixture {
        let mut cache = PromptCache::new().unwrap();
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/speech-vm-intro-8k.wav"
        ))
        .unwrap();
        let prompt = cache.load_wav("speech", &bytes).unwrap();
        let pcm: Vec<[i16; FRAME_SAMPLES]> = (0..prompt.frames()).map(|i| *prompt.pcm(i)).collect();
        let mut enc = new_encoder(CALLER).unwrap();
        let mut buf = [0u8; MAX_PAYLOAD];
        let packets = pcm
            .iter()
            .map(|f| {
                let len = encode_frame(&mut enc, f, &mut buf).unwrap();
                buf[..len].to_vec()
            })
            .collect();
        Fixture {
            prompt,
            packets,
            pcm,
        }
    }
}

/// An endless caller stream: packet `n` with sequence `n`, timestamp `960 n`, arriving at
/// `start + 20 ms × n` (simulated time; reading the clock is not part of what is measured).
pub struct Stream {
    pub n: u64,
    start: Instant,
}

impl Stream {
    pub fn new(start: Instant) -> Stream {
        Stream { n: 0, start }
    }

    /// The next packet's (sequence, timestamp, index into the fixture, arrival) and advances.
    pub fn next(&mut self, fixture_len: usize) -> (u16, u32, usize, Instant) {
        let n = self.n;
        self.n += 1;
        (
            n as u16,
            (n as u32).wrapping_mul(RTP_TICKS_PER_FRAME),
            (n % fixture_len as u64) as usize,
            self.start + Duration::from_millis(20 * n),
        )
    }
}
