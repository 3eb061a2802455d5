//! One remote leg's slot: its receive chain (jitter buffer → decoder → tone receivers → level meter)
//! and its send state (RTP numbering and the packet waiting to be polled).

use super::config::{LegConfig, SessionError};
use super::event::LegStats;
use super::tones::LegTones;
use crate::codec::opus::{FrameDecoder, LIVE_ENCODER, PayloadCheck, check_payload, new_encoder};
use crate::frame::{Frame, MAX_PAYLOAD, RTP_TICKS_PER_FRAME, SILENT_FRAME};
use crate::jitter::{JitterBuffer, Playout};
use crate::level::{FrameLevel, LevelMeter};

/// RTP numbering of what is sent to a leg, continuous whatever the source, and the packet of this
/// tick until it is polled.
pub(crate) struct Sender {
    sequence: u16,
    timestamp: u32,
    sent_any: bool,
    pub(crate) pending: bool,
    pub(crate) packet_sequence: u16,
    pub(crate) packet_timestamp: u32,
    pub(crate) marker: bool,
    pub(crate) len: usize,
    pub(crate) payload: [u8; MAX_PAYLOAD],
}

impl Sender {
    fn new() -> Sender {
        Sender {
            sequence: 0,
            timestamp: 0,
            sent_any: false,
            pending: false,
            packet_sequence: 0,
            packet_timestamp: 0,
            marker: false,
            len: 0,
            payload: [0; MAX_PAYLOAD],
        }
    }

    fn restart(&mut self, config: LegConfig) {
        self.sequence = config.initial_sequence;
        self.timestamp = config.initial_timestamp;
        self.sent_any = false;
        self.pending = false;
    }

    /// Numbers the packet now in `payload[..len]` and marks it for polling.
    pub(crate) fn commit(&mut self, len: usize) {
        self.len = len;
        self.pending = true;
        self.packet_sequence = self.sequence;
        self.packet_timestamp = self.timestamp;
        self.marker = !self.sent_any;
        self.sent_any = true;
        self.advance();
    }

    /// Copies `payload` in and commits it.
    pub(crate) fn send(&mut self, payload: &[u8]) {
        self.payload[..payload.len()].copy_from_slice(payload);
        self.commit(payload.len());
    }

    /// Skips this tick's packet: the far end sees a loss and conceals it itself. Used when a
    /// forwarded source lost its packet, exactly as an SFU would pass the loss on.
    pub(crate) fn skip(&mut self) {
        self.pending = false;
        self.advance();
    }

    fn advance(&mut self) {
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(RTP_TICKS_PER_FRAME);
    }
}

/// One leg slot, preallocated when the session is created.
pub(crate) struct Leg {
    pub(crate) active: bool,
    pub(crate) muted: bool,
    pub(crate) jitter: JitterBuffer,
    pub(crate) decoder: FrameDecoder,
    pub(crate) encoder: opus::Encoder,
    pub(crate) meter: LevelMeter,
    pub(crate) tones: LegTones,
    pub(crate) sender: Sender,
    /// This tick's decoded audio (silence when idle).
    pub(crate) pcm: Frame,
    /// Whether `pcm` holds received audio this tick (decoded, FEC or concealed).
    pub(crate) sounding: bool,
    /// This tick's received packet, kept for forwarding; 0 when the frame was not a whole packet.
    pub(crate) forward_len: usize,
    pub(crate) forward: [u8; MAX_PAYLOAD],
    pub(crate) level: FrameLevel,
    /// RTP timestamp of the frame played this tick, when it came from a packet (or its FEC).
    pub(crate) played_timestamp: Option<u32>,
    /// RTP timestamp of the newest audio packet received.
    pub(crate) newest_timestamp: Option<u32>,
    pub(crate) garbage: u64,
    pub(crate) wrong_duration: u64,
    pub(crate) decode_errors: u64,
    pub(crate) telephone_events: u64,
}

impl Leg {
    pub(crate) fn new() -> Result<Leg, SessionError> {
        Ok(Leg {
            active: false,
            muted: false,
            jitter: JitterBuffer::new(),
            decoder: FrameDecoder::new()?,
            encoder: new_encoder(LIVE_ENCODER)?,
            meter: LevelMeter::new(),
            tones: LegTones::new()?,
            sender: Sender::new(),
            pcm: SILENT_FRAME,
            sounding: false,
            forward_len: 0,
            forward: [0; MAX_PAYLOAD],
            level: FrameLevel {
                dbfs: crate::level::FLOOR_DBFS,
                is_speech: false,
                change: None,
            },
            played_timestamp: None,
            newest_timestamp: None,
            garbage: 0,
            wrong_duration: 0,
            decode_errors: 0,
            telephone_events: 0,
        })
    }

    /// Makes the slot a fresh leg. No allocation: every part is reset in place.
    pub(crate) fn open(&mut self, config: LegConfig) {
        self.active = true;
        self.muted = false;
        self.jitter = JitterBuffer::new();
        self.decoder.reset();
        // A reset cannot fail on a valid encoder; a stale state would only colour one frame.
        let _ = self.encoder.reset_state();
        self.meter = LevelMeter::new();
        self.tones.reset(config.telephone_event_clock);
        self.sender.restart(config);
        self.pcm = SILENT_FRAME;
        self.sounding = false;
        self.forward_len = 0;
        self.played_timestamp = None;
        self.newest_timestamp = None;
        self.garbage = 0;
        self.wrong_duration = 0;
        self.decode_errors = 0;
        self.telephone_events = 0;
    }

    pub(crate) fn stats(&self) -> LegStats {
        LegStats {
            jitter: self.jitter.stats(),
            garbage: self.garbage,
            wrong_duration: self.wrong_duration,
            decode_errors: self.decode_errors,
            telephone_events: self.telephone_events,
            target_delay_frames: self.jitter.target(),
        }
    }

    /// Checks and buffers one received payload.
    pub(crate) fn receive(
        &mut self,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
        arrival_ms: f64,
    ) {
        match check_payload(payload) {
            PayloadCheck::Frame => {
                self.jitter.insert(sequence, timestamp, payload, arrival_ms);
                let newer = self
                    .newest_timestamp
                    .is_none_or(|n| (timestamp.wrapping_sub(n) as i32) > 0);
                if newer {
                    self.newest_timestamp = Some(timestamp);
                }
            }
            PayloadCheck::Garbage => self.garbage += 1,
            PayloadCheck::WrongDuration => self.wrong_duration += 1,
        }
    }

    /// Produces this tick's received frame into `pcm`.
    pub(crate) fn play_out(&mut self) {
        self.forward_len = 0;
        self.played_timestamp = None;
        match self.jitter.pop() {
            Playout::Packet { payload, timestamp } => {
                self.played_timestamp = Some(timestamp);
                self.forward[..payload.len()].copy_from_slice(payload);
                self.forward_len = payload.len();
                if self.decoder.decode(payload, &mut self.pcm).is_err() {
                    self.decode_errors += 1;
                    self.forward_len = 0;
                }
                self.sounding = true;
            }
            Playout::Fec { next, timestamp } => {
                self.played_timestamp = Some(timestamp);
                self.decoder.recover(next, &mut self.pcm);
                self.sounding = true;
            }
            Playout::Conceal => {
                self.decoder.conceal(&mut self.pcm);
                self.sounding = true;
            }
            Playout::Idle => {
                if self.sounding {
                    self.pcm = SILENT_FRAME;
                }
                self.sounding = false;
            }
        }
    }
}
