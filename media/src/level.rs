//! Per-leg level in dBFS and a speech/silence decision against the leg's own noise floor.
//!
//! A fixed threshold fails both ways on real lines: a noisy mobile caller never "goes silent" and a
//! quiet headset never "speaks". So the meter tracks the noise floor (down fast, up slowly) and calls
//! a frame speech when it stands clearly above that floor, with a short onset and a hangover so that
//! the gaps between words do not flap the state.

use crate::frame::Frame;

/// The level reported for digital silence, in dBFS.
pub const FLOOR_DBFS: f32 = -96.0;
/// How far above the noise floor a frame must be to count as speech, in dB.
const SPEECH_MARGIN_DB: f32 = 10.0;
/// Frames quieter than this are never speech, whatever the floor (dBFS).
const SPEECH_MIN_DBFS: f32 = -55.0;
/// The floor never rises above this, so that a long monologue is not learnt as noise (dBFS).
const FLOOR_MAX_DBFS: f32 = -35.0;
/// The floor before anything was heard (dBFS).
const FLOOR_INITIAL_DBFS: f32 = -65.0;
/// How fast the floor follows a quieter frame (fraction of the gap per frame).
const FLOOR_FALL: f32 = 0.3;
/// How fast the floor may rise, in dB per frame (1.5 dB/s).
const FLOOR_RISE_DB: f32 = 0.03;
/// Consecutive speech frames before speaking starts (40 ms): a click is not speech.
const ONSET_FRAMES: u8 = 2;
/// Non-speech frames before speaking ends (300 ms): the pause between words is not silence.
pub const HANGOVER_FRAMES: u16 = 15;

/// A change of the speaking state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceChange {
    /// Speech began.
    Started,
    /// Speech ended (after the hangover).
    Ended,
}

/// One frame's measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameLevel {
    /// RMS level of the frame in dBFS.
    pub dbfs: f32,
    /// Whether this frame alone stands above the noise floor (no onset, no hangover).
    pub is_speech: bool,
    /// A change of the smoothed speaking state at this frame.
    pub change: Option<VoiceChange>,
}

/// Level and voice-activity meter of one audio stream.
#[derive(Debug, Clone)]
pub struct LevelMeter {
    floor_dbfs: f32,
    last_dbfs: f32,
    speaking: bool,
    onset: u8,
    hangover: u16,
}

impl Default for LevelMeter {
    fn default() -> Self {
        LevelMeter::new()
    }
}

impl LevelMeter {
    /// A meter that has heard nothing yet.
    pub fn new() -> LevelMeter {
        LevelMeter {
            floor_dbfs: FLOOR_INITIAL_DBFS,
            last_dbfs: FLOOR_DBFS,
            speaking: false,
            onset: 0,
            hangover: 0,
        }
    }

    /// The estimated noise floor in dBFS.
    pub fn noise_floor_dbfs(&self) -> f32 {
        self.floor_dbfs
    }

    /// The last frame's level in dBFS.
    pub fn level_dbfs(&self) -> f32 {
        self.last_dbfs
    }

    /// Whether the stream is speaking (with onset and hangover applied).
    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// Measures one frame. Allocation-free.
    pub fn update(&mut self, frame: &Frame) -> FrameLevel {
        let dbfs = frame_dbfs(frame);
        self.last_dbfs = dbfs;
        let is_speech = dbfs > SPEECH_MIN_DBFS && dbfs > self.floor_dbfs + SPEECH_MARGIN_DB;
        if dbfs < self.floor_dbfs {
            self.floor_dbfs += (dbfs - self.floor_dbfs) * FLOOR_FALL;
        } else {
            self.floor_dbfs += (dbfs - self.floor_dbfs).min(FLOOR_RISE_DB);
        }
        self.floor_dbfs = self.floor_dbfs.clamp(FLOOR_DBFS, FLOOR_MAX_DBFS);

        let mut change = None;
        if is_speech {
            self.hangover = HANGOVER_FRAMES;
            self.onset = self.onset.saturating_add(1);
            if !self.speaking && self.onset >= ONSET_FRAMES {
                self.speaking = true;
                change = Some(VoiceChange::Started);
            }
        } else {
            self.onset = 0;
            if self.speaking {
                self.hangover = self.hangover.saturating_sub(1);
                if self.hangover == 0 {
                    self.speaking = false;
                    change = Some(VoiceChange::Ended);
                }
            }
        }
        FrameLevel {
            dbfs,
            is_speech,
            change,
        }
    }
}

/// RMS level of a frame in dBFS (full-scale square wave = 0 dBFS), at least [`FLOOR_DBFS`].
pub fn frame_dbfs(frame: &Frame) -> f32 {
    let energy: i64 = frame.iter().map(|&s| i64::from(s) * i64::from(s)).sum();
    if energy == 0 {
        return FLOOR_DBFS;
    }
    let mean = energy as f32 / frame.len() as f32;
    (10.0 * (mean / (32768.0 * 32768.0)).log10()).max(FLOOR_DBFS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FRAME_SAMPLES;

    fn noise(amplitude: i16, seed: &mut u32) -> Frame {
        let mut f = [0i16; FRAME_SAMPLES];
        for s in &mut f {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 17;
            *seed ^= *seed << 5;
            *s = ((*seed % (2 * amplitude as u32 + 1)) as i32 - i32::from(amplitude)) as i16;
        }
        f
    }

    #[test]
    fn dbfs_of_known_signals() {
        assert_eq!(frame_dbfs(&[0; FRAME_SAMPLES]), FLOOR_DBFS);
        assert!((frame_dbfs(&[i16::MAX; FRAME_SAMPLES])).abs() < 0.01);
        assert!((frame_dbfs(&[3277; FRAME_SAMPLES]) + 20.0).abs() < 0.05);
    }

    #[test]
    fn speech_is_judged_against_the_noise_floor_with_onset_and_hangover() {
        let mut seed = 7;
        let mut m = LevelMeter::new();
        // A noisy line at about -40 dBFS: at first it looks like speech, then the floor learns it.
        for _ in 0..2000 {
            m.update(&noise(600, &mut seed));
        }
        assert!(!m.is_speaking(), "steady noise becomes the floor");
        assert!(
            m.noise_floor_dbfs() > -45.0,
            "floor {}",
            m.noise_floor_dbfs()
        );
        // Speech 20 dB above the noise starts after the onset.
        assert_eq!(m.update(&noise(8000, &mut seed)).change, None);
        assert_eq!(
            m.update(&noise(8000, &mut seed)).change,
            Some(VoiceChange::Started)
        );
        // A pause shorter than the hangover does not end it; a longer one does.
        for i in 0..HANGOVER_FRAMES {
            let l = m.update(&noise(600, &mut seed));
            assert!(!l.is_speech);
            if i + 1 < HANGOVER_FRAMES {
                assert_eq!(l.change, None);
            } else {
                assert_eq!(l.change, Some(VoiceChange::Ended));
            }
        }
    }

    #[test]
    fn a_quiet_line_hears_quiet_speech() {
        let mut seed = 9;
        let mut m = LevelMeter::new();
        for _ in 0..200 {
            m.update(&noise(5, &mut seed));
        }
        // About -44 dBFS: quiet, but far above this line's floor.
        m.update(&noise(360, &mut seed));
        assert!(m.update(&noise(360, &mut seed)).is_speech);
        assert!(m.is_speaking());
    }
}
