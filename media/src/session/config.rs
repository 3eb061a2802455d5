//! Settings of a session and its legs, leg ids, and the errors commands return.

use crate::codec::opus::CodecError;
use crate::mixer::MAX_LEGS;
use crate::prompt::playback::PlaybackError;
use crate::record::{ClipBuffer, RecordError};

/// Settings fixed when a session is created; everything is preallocated from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// The most remote legs at once (1–127). Each leg slot holds an Opus decoder and encoder, so
    /// this is what sizes the session's memory.
    pub max_legs: usize,
    /// Mix and forward a leg only while its audio stands above its noise floor (the frame itself,
    /// or within the speech hangover), instead of whenever packets arrive. For a conference of
    /// many people: listeners who say nothing are in nobody's mix, so everyone who is silent
    /// hears one shared encode and a lone speaker is forwarded untouched.
    pub voice_activated_mix: bool,
    /// Events held between polls; more are counted and dropped.
    pub event_capacity: usize,
    /// Ticks between level reports per leg (0: never; speech start/end are always reported).
    pub level_report_ticks: u32,
    /// Ticks between packet-stats reports per leg (0: only when a leg is removed).
    pub stats_report_ticks: u32,
}

impl Default for SessionConfig {
    /// One remote leg (an IVR call), level reports every 500 ms, stats every 5 s.
    fn default() -> Self {
        SessionConfig {
            max_legs: 1,
            voice_activated_mix: false,
            event_capacity: 64,
            level_report_ticks: 25,
            stats_report_ticks: 250,
        }
    }
}

/// Settings of one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegConfig {
    /// Clock rate of the leg's RFC 4733 telephone events in Hz: 48000 when they share the Opus
    /// stream's RTP clock (WebRTC), 8000 for many SIP trunks.
    pub telephone_event_clock: u32,
    /// First RTP sequence number sent to the leg (RFC 3550 wants it random; the caller picks it).
    pub initial_sequence: u16,
    /// First RTP timestamp sent to the leg (likewise random).
    pub initial_timestamp: u32,
}

impl Default for LegConfig {
    fn default() -> Self {
        LegConfig {
            telephone_event_clock: crate::frame::RTP_CLOCK,
            initial_sequence: 0,
            initial_timestamp: 0,
        }
    }
}

/// A leg of a session: a small index into its preallocated slots. Reused after the leg is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u8);

impl LegId {
    /// The index of the leg's slot in the session's preallocated arrays (below `max_legs`).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A command a session could not carry out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A setting is outside what is allowed.
    #[error("session setting {field} is {value}; allowed: {allowed}")]
    Config {
        /// The `SessionConfig` field refused (`max_legs` or `event_capacity`).
        field: &'static str,
        /// The value the caller gave it.
        value: usize,
        /// What is allowed.
        allowed: &'static str,
    },
    /// No leg with this id is in the session.
    #[error("leg {0:?} is not in this session; add it with add_leg first")]
    UnknownLeg(LegId),
    /// All leg slots are taken.
    #[error(
        "all {max} leg slots are in use; remove a leg or create the session with more max_legs"
    )]
    LegsFull {
        /// The session's `max_legs`.
        max: usize,
    },
    /// The play request is refused.
    #[error(transparent)]
    Playback(#[from] PlaybackError),
    /// libopus failed while creating the session.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The in-band tone detector refused its settings.
    #[error(transparent)]
    ToneDetector(#[from] crate::dtmf::ConfigError),
    /// The telephone-event clock rate is unusable.
    #[error(transparent)]
    TelephoneEventClock(#[from] crate::dtmf::telephone_event::ClockRateError),
}

/// A recording that could not start; the clip buffer is handed back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordRejected {
    /// The settings or buffer are refused.
    #[error("{error}")]
    Invalid {
        /// What is wrong.
        error: RecordError,
        /// The caller's buffer, untouched.
        clip: ClipBuffer,
    },
    /// A recording is already running; stop it first (Graph's bargeInAllowed is the caller's call).
    #[error("a recording is already running in this session; stop it before starting another")]
    Busy {
        /// The caller's buffer, untouched.
        clip: ClipBuffer,
    },
    /// The leg to record is not in the session.
    #[error("leg {leg:?} is not in this session")]
    UnknownLeg {
        /// The leg the recording was asked for, which is not (or no longer) in the session.
        leg: LegId,
        /// The caller's buffer, untouched.
        clip: ClipBuffer,
    },
}

pub(crate) fn check_config(config: &SessionConfig) -> Result<(), SessionError> {
    if !(1..=MAX_LEGS).contains(&config.max_legs) {
        return Err(SessionError::Config {
            field: "max_legs",
            value: config.max_legs,
            allowed: "1 to 127",
        });
    }
    if !(1..=4096).contains(&config.event_capacity) {
        return Err(SessionError::Config {
            field: "event_capacity",
            value: config.event_capacity,
            allowed: "1 to 4096",
        });
    }
    Ok(())
}
