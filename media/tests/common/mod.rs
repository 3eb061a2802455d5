//! Shared pieces of the session tests: a caller with a real libopus encoder, a seeded lossy and
//! reordering network, a simulated clock, and the speech fixture.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_media::codec::opus::{EncoderMode, EncoderSettings, encode_frame, new_encoder};
use switchboard_media::frame::{FRAME_SAMPLES, Frame, MAX_PAYLOAD, RTP_TICKS_PER_FRAME};
use switchboard_media::prompt::{Prompt, PromptCache};
use switchboard_media::session::{Event, LegId, MediaSession, Output};

/// What a browser sends: voice at 24 kbit/s with in-band FEC (complexity 10 codes it).
pub const BROWSER: EncoderSettings = EncoderSettings {
    mode: EncoderMode::Voice,
    complexity: 10,
    bitrate: 24_000,
};

/// One RTP packet on the wire.
#[derive(Debug, Clone)]
pub struct RtpPacket {
    pub sequence: u16,
    pub timestamp: u32,
    pub payload: Vec<u8>,
}

/// A remote participant: encodes 16 kHz PCM into numbered Opus RTP packets.
pub struct Caller {
    encoder: opus::Encoder,
    pub sequence: u16,
    pub timestamp: u32,
}

impl Caller {
    pub fn new(sequence: u16, timestamp: u32) -> Caller {
        Caller {
            encoder: new_encoder(BROWSER).unwrap(),
            sequence,
            timestamp,
        }
    }

    /// One packet per 20 ms of `pcm` (the last frame padded with silence).
    pub fn packets(&mut self, pcm: &[i16]) -> Vec<RtpPacket> {
        pcm.chunks(FRAME_SAMPLES)
            .map(|chunk| {
                let mut frame = [0i16; FRAME_SAMPLES];
                frame[..chunk.len()].copy_from_slice(chunk);
                self.packet(&frame)
            })
            .collect()
    }

    pub fn packet(&mut self, frame: &Frame) -> RtpPacket {
        let mut buf = [0u8; MAX_PAYLOAD];
        let len = encode_frame(&mut self.encoder, frame, &mut buf).unwrap();
        let p = RtpPacket {
            sequence: self.sequence,
            timestamp: self.timestamp,
            payload: buf[..len].to_vec(),
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(RTP_TICKS_PER_FRAME);
        p
    }
}

/// xorshift64*: small, seeded, good enough to pick losses.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A seeded network: drops packets with probability `loss`, holds a packet back one tick (so it
/// arrives after its successor) with probability `reorder`, duplicates with probability `duplicate`.
pub struct Network {
    rng: Rng,
    pub seed: u64,
    pub loss: f64,
    pub reorder: f64,
    pub duplicate: f64,
    held: VecDeque<RtpPacket>,
    pub dropped: u64,
}

impl Network {
    pub fn new(seed: u64, loss: f64, reorder: f64, duplicate: f64) -> Network {
        Network {
            rng: Rng::new(seed),
            seed,
            loss,
            reorder,
            duplicate,
            held: VecDeque::new(),
            dropped: 0,
        }
    }

    /// What arrives in this tick when `sent` was sent: held packets go after the new one.
    pub fn carry(&mut self, sent: RtpPacket) -> Vec<RtpPacket> {
        let mut out = Vec::new();
        let late: Vec<RtpPacket> = self.held.drain(..).collect();
        if self.rng.unit() < self.loss {
            self.dropped += 1;
        } else if self.rng.unit() < self.reorder {
            self.held.push_back(sent);
        } else {
            if self.rng.unit() < self.duplicate {
                out.push(sent.clone());
            }
            out.push(sent);
        }
        out.extend(late);
        out
    }
}

/// Simulated time: tick `n` happens at `start + 20 ms × n`.
pub struct Clock {
    pub start: Instant,
    pub ticks: u64,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
            ticks: 0,
        }
    }
    pub fn now(&self) -> Instant {
        self.start + Duration::from_millis(20 * self.ticks)
    }
    /// A moment inside the current tick period (packets arrive a few ms after the tick).
    pub fn now_plus(&self, ms: u64) -> Instant {
        self.now() + Duration::from_millis(ms)
    }
}

/// The speech fixture at 16 kHz (resampled by the prompt cache, which is what it is for).
pub fn speech_16k(cache: &mut PromptCache) -> (Arc<Prompt>, Vec<i16>) {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/speech-vm-intro-8k.wav"
    ))
    .expect("fixtures/speech-vm-intro-8k.wav");
    let prompt = cache.load_wav("speech", &bytes).unwrap();
    let pcm = (0..prompt.frames())
        .flat_map(|i| prompt.pcm(i).iter().copied())
        .collect();
    (prompt, pcm)
}

/// Everything one poll round produced.
#[derive(Default)]
pub struct Polled {
    pub events: Vec<Event>,
    pub packets: Vec<(LegId, u16, u32, bool, Vec<u8>)>,
}

/// Drains the session's output into owned values.
pub fn poll_all(session: &mut MediaSession, into: &mut Polled) {
    while let Some(out) = session.poll_output() {
        match out {
            Output::Event(e) => into.events.push(e),
            Output::Packet(p) => {
                into.packets
                    .push((p.leg, p.sequence, p.timestamp, p.marker, p.payload.to_vec()))
            }
        }
    }
}

/// Silence of `ms` milliseconds at 16 kHz.
pub fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 16]
}
