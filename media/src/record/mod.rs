//! RecordClip: a short recording with Graph recordResponse semantics (§2.7 of the Graph reference):
//! silence timeouts judged on the leg's own noise floor, a length cap, stop tones, and an end at once
//! when the call drops.

pub mod clip;

pub use clip::{ClipBuffer, ClipPool, MAX_CLIP};

use crate::dtmf::Digit;
use crate::frame::Frame;
use crate::level::FrameLevel;
use std::time::Duration;

/// Shortest allowed timer, in seconds.
pub const MIN_TIMER_SECS: u32 = 1;
/// Longest allowed timer, in seconds.
pub const MAX_TIMER_SECS: u32 = 120;
/// The default of each timer, in seconds.
pub const DEFAULT_TIMER_SECS: u32 = 5;

/// The caller's id for a recording, echoed in its finished event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordId(pub u64);

/// A set of DTMF keys, one bit per key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigitSet(u16);

impl DigitSet {
    /// No keys.
    pub const EMPTY: DigitSet = DigitSet(0);

    /// The set of `digits`.
    pub fn of(digits: &[Digit]) -> DigitSet {
        DigitSet(digits.iter().fold(0, |m, d| m | 1 << d.event_code()))
    }

    /// Whether `digit` is in the set.
    pub fn contains(self, digit: Digit) -> bool {
        self.0 & (1 << digit.event_code()) != 0
    }
}

/// The timers and stop tones of a recording (Graph recordResponse parameters), in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSettings {
    /// Longest silence before the caller starts speaking (1–120 s).
    pub initial_silence_timeout_secs: u32,
    /// Longest pause once the caller has spoken (1–120 s).
    pub max_silence_timeout_secs: u32,
    /// Longest recording (1–120 s).
    pub max_record_duration_secs: u32,
    /// Keys that end the recording.
    pub stop_tones: DigitSet,
}

impl Default for RecordSettings {
    fn default() -> Self {
        RecordSettings {
            initial_silence_timeout_secs: DEFAULT_TIMER_SECS,
            max_silence_timeout_secs: DEFAULT_TIMER_SECS,
            max_record_duration_secs: DEFAULT_TIMER_SECS,
            stop_tones: DigitSet::EMPTY,
        }
    }
}

/// A recording request that cannot be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A timer outside 1–120 s.
    #[error("{field} is {value} s; allowed: 1 to 120 s")]
    Timer {
        /// Graph's parameter name.
        field: &'static str,
        /// The value given, in seconds.
        value: u32,
    },
    /// The clip buffer is shorter than the maximum duration.
    #[error(
        "the clip buffer holds {capacity_ms} ms but maxRecordDurationInSeconds is {max_secs} s; give a buffer of at least that length"
    )]
    BufferTooSmall {
        /// What the buffer holds.
        capacity_ms: u64,
        /// The `maxRecordDurationInSeconds` asked for.
        max_secs: u32,
    },
}

impl RecordSettings {
    /// Checks every timer against Graph's limits.
    pub fn validate(&self) -> Result<(), RecordError> {
        for (field, value) in [
            (
                "initialSilenceTimeoutInSeconds",
                self.initial_silence_timeout_secs,
            ),
            ("maxSilenceTimeoutInSeconds", self.max_silence_timeout_secs),
            ("maxRecordDurationInSeconds", self.max_record_duration_secs),
        ] {
            if !(MIN_TIMER_SECS..=MAX_TIMER_SECS).contains(&value) {
                return Err(RecordError::Timer { field, value });
            }
        }
        Ok(())
    }
}

/// Why a recording ended (Graph's `recordCompletionReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordReason {
    /// The caller never spoke within the initial-silence timeout.
    InitialSilenceTimeout,
    /// The caller paused longer than the max-silence timeout.
    MaxSilenceTimeout,
    /// The maximum duration was reached.
    MaxRecordDurationReached,
    /// A stop tone was pressed.
    StopToneDetected,
    /// The recorded leg left or the call ended.
    CallDropped,
    /// The recording was stopped by a command.
    OperationCanceled,
}

impl RecordReason {
    /// Graph's enum value, as it appears in JSON.
    pub fn as_graph_str(self) -> &'static str {
        match self {
            RecordReason::InitialSilenceTimeout => "initialSilenceTimeout",
            RecordReason::MaxSilenceTimeout => "maxSilenceTimeout",
            RecordReason::MaxRecordDurationReached => "maxRecordDurationReached",
            RecordReason::StopToneDetected => "stopToneDetected",
            RecordReason::CallDropped => "callDropped",
            RecordReason::OperationCanceled => "operationCanceled",
        }
    }
}

/// A finished recording: why it ended, the stop tone, and the WAV clip (return it to its pool).
#[derive(Debug)]
pub struct RecordResult {
    /// The caller's id.
    pub id: RecordId,
    /// Why it ended.
    pub reason: RecordReason,
    /// The stop tone that ended it, when `reason` is `StopToneDetected`.
    pub stop_tone: Option<Digit>,
    /// The recording as a WAV file (16 kHz mono 16-bit); return it to its pool when done.
    pub clip: ClipBuffer,
}

/// A recording in progress. Fed one frame and its level per tick; allocation-free.
#[derive(Debug)]
pub struct RecordClip {
    id: RecordId,
    initial_silence_frames: u32,
    max_silence_frames: u32,
    max_frames: u32,
    stop_tones: DigitSet,
    clip: ClipBuffer,
    frames: u32,
    silence_run: u32,
    heard_speech: bool,
}

const FRAMES_PER_SEC: u32 = 50;

impl RecordClip {
    /// Starts a recording into `clip` (emptied first). On a bad request the buffer comes back.
    pub fn start(
        id: RecordId,
        settings: RecordSettings,
        mut clip: ClipBuffer,
    ) -> Result<RecordClip, (RecordError, ClipBuffer)> {
        if let Err(e) = settings.validate() {
            return Err((e, clip));
        }
        let max_frames = settings.max_record_duration_secs * FRAMES_PER_SEC;
        if (clip.capacity_frames() as u64) < u64::from(max_frames) {
            let capacity_ms = clip.capacity().as_millis() as u64;
            return Err((
                RecordError::BufferTooSmall {
                    capacity_ms,
                    max_secs: settings.max_record_duration_secs,
                },
                clip,
            ));
        }
        clip.clear();
        Ok(RecordClip {
            id,
            initial_silence_frames: settings.initial_silence_timeout_secs * FRAMES_PER_SEC,
            max_silence_frames: settings.max_silence_timeout_secs * FRAMES_PER_SEC,
            max_frames,
            stop_tones: settings.stop_tones,
            clip,
            frames: 0,
            silence_run: 0,
            heard_speech: false,
        })
    }

    /// The caller's id.
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// Audio recorded so far.
    pub fn recorded(&self) -> Duration {
        self.clip.duration()
    }

    /// Whether `digit` ends this recording.
    pub fn is_stop_tone(&self, digit: Digit) -> bool {
        self.stop_tones.contains(digit)
    }

    /// Appends one frame with its level; returns the reason if the recording ends with it.
    ///
    /// Silence is counted from the last frame that stood above the noise floor (not from the end of
    /// the speaking hangover), so a max-silence timeout of 2 s means 2 s of actual quiet.
    pub fn push(
        &mut self,
        frame: &Frame,
        level: &FrameLevel,
        speaking: bool,
    ) -> Option<RecordReason> {
        self.clip.push_frame(frame);
        self.frames += 1;
        if level.is_speech {
            self.silence_run = 0;
        } else {
            self.silence_run += 1;
        }
        self.heard_speech |= speaking;
        if self.frames >= self.max_frames {
            Some(RecordReason::MaxRecordDurationReached)
        } else if !self.heard_speech && self.frames >= self.initial_silence_frames {
            Some(RecordReason::InitialSilenceTimeout)
        } else if self.heard_speech && self.silence_run >= self.max_silence_frames {
            Some(RecordReason::MaxSilenceTimeout)
        } else {
            None
        }
    }

    /// Ends the recording and hands out the clip.
    pub fn finish(self, reason: RecordReason, stop_tone: Option<Digit>) -> RecordResult {
        RecordResult {
            id: self.id,
            reason,
            stop_tone,
            clip: self.clip,
        }
    }
}
