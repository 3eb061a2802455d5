//! What a session hands back from `poll_output`: packets to send and events.

use super::config::LegId;
use crate::dtmf::{Digit, ToneSource};
use crate::frame::Frame;
use crate::jitter::JitterStats;
use crate::prompt::PlaybackId;
use crate::record::RecordResult;
use std::time::Duration;

/// One output of [`super::MediaSession::poll_output`].
#[derive(Debug)]
pub enum Output<'a> {
    /// Something happened.
    Event(Event),
    /// An RTP payload to send to a leg (the transport adds SSRC, SRTP and UDP).
    Packet(OutgoingPacket<'a>),
}

/// An Opus RTP packet for one leg, with its sequence number and timestamp already continuous
/// across sources (prompts, tones, mixes, forwarded audio, silence).
#[derive(Debug, PartialEq, Eq)]
pub struct OutgoingPacket<'a> {
    /// The leg whose remote end gets the packet; the transport maps it to a peer and SSRC.
    pub leg: LegId,
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp (48 kHz clock).
    pub timestamp: u32,
    /// RTP marker bit: set on the first packet sent to the leg.
    pub marker: bool,
    /// One 20 ms Opus frame, borrowed from the session until the next poll.
    pub payload: &'a [u8],
}

/// One leg's received audio of the last tick, as the session decoded and measured it: what an
/// application that hears each participant on its own (unmixed) is given, with what tells a
/// speaker from background noise.
#[derive(Debug, Clone, Copy)]
pub struct LegFrame<'a> {
    /// The decoded frame (16 kHz mono); silence when nothing was received.
    pub pcm: &'a Frame,
    /// Whether `pcm` holds received audio (decoded, recovered with FEC, or concealed).
    pub sounding: bool,
    /// Whether this frame alone stands clearly above the leg's noise floor.
    pub speech: bool,
    /// Whether the leg is speaking: the level meter's state, with its onset (a click is not
    /// speech) and hangover (the pause between words is not silence).
    pub speaking: bool,
    /// The frame's RMS level in dBFS.
    pub level_dbfs: f32,
    /// Whether the leg is server-muted in this session (left out of every mix).
    pub muted: bool,
}

impl LegFrame<'_> {
    /// Whether the frame is someone audible: received, and speech or within a stretch of speech.
    pub fn audible(&self) -> bool {
        self.sounding && (self.speech || self.speaking)
    }
}

/// Counters of one leg's received media.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegStats {
    /// Jitter-buffer counters: received, duplicate, late, lost, FEC-recovered, concealed, discarded.
    pub jitter: JitterStats,
    /// Payloads that are not valid Opus (or exceed the payload limit), dropped.
    pub garbage: u64,
    /// Valid Opus payloads of a duration other than 20 ms, dropped.
    pub wrong_duration: u64,
    /// Decodes libopus refused (concealed instead).
    pub decode_errors: u64,
    /// RFC 4733 telephone-event payloads received.
    pub telephone_events: u64,
    /// The jitter buffer's current play-out delay in frames.
    pub target_delay_frames: u8,
}

/// Something a session reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A key press began on a leg.
    ToneStarted {
        /// The leg that pressed it.
        leg: LegId,
        /// The key, however it was heard (`source` says how).
        digit: Digit,
        /// How it was heard.
        source: ToneSource,
    },
    /// A key press ended on a leg.
    ToneEnded {
        /// The leg that pressed it.
        leg: LegId,
        /// The key released, as in its `ToneStarted`.
        digit: Digit,
        /// How long it was held.
        duration: Duration,
    },
    /// A play list played to its end.
    PromptFinished(PlaybackId),
    /// A play list was cut short (stopped, replaced, pre-empted by a recording, or hang-up).
    PromptCancelled(PlaybackId),
    /// A recording ended; the clip is inside.
    RecordFinished(RecordResult),
    /// A leg started speaking.
    SpeechStarted {
        /// The leg whose audio rose above its noise floor.
        leg: LegId,
        /// The level of the frame that started the speech, in dBFS.
        level_dbfs: f32,
    },
    /// A leg stopped speaking (after the hangover).
    SpeechEnded {
        /// The leg that fell silent.
        leg: LegId,
        /// Its noise floor in dBFS.
        noise_floor_dbfs: f32,
    },
    /// A periodic level report.
    Level {
        /// The leg measured (every `level_report_ticks` ticks).
        leg: LegId,
        /// Level of the last frame in dBFS.
        level_dbfs: f32,
        /// The estimated noise floor in dBFS.
        noise_floor_dbfs: f32,
        /// Whether the leg is speaking.
        speaking: bool,
    },
    /// Packet counters of a leg: periodic, and final when the leg is removed.
    PacketStats {
        /// The leg the counters are for.
        leg: LegId,
        /// Its jitter-buffer, dropped-payload, decode-error and telephone-event counts.
        stats: LegStats,
    },
}
