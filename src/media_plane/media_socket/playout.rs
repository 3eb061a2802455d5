//! The bot's audio on its way into the call. The server owns the playout clock: the bot sends
//! audio of any length, as far ahead as it likes (within `max_buffered_ms`); it is cut into 20 ms
//! frames here and fed into the lane's small playout ring a few frames ahead of the worker, which
//! plays exactly one frame per tick.
//!
//! Positions are counted in frames since the leg opened, on the worker's `played` counter's
//! scale: [`BotAudio::pushed`] is how many frames went into the ring and will be played (frames
//! taken back by `clear` are subtracted). A `mark` sits at the position of the audio sent before
//! it, and is played once `played` reaches it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::media_plane::app_stream::{AppStream, FRAME_SAMPLES, Pcm};
use crate::media_plane::settings::AppHostedSettings;

/// Frames kept in the lane's playout ring ahead of the worker (100 ms): enough to ride out a late
/// wake-up of the socket task, while the rest waits here where `clear` and flow control see it.
pub const PLAYOUT_AHEAD_FRAMES: usize = 5;
/// A trailing part-frame is played (padded with silence) once the bot has sent nothing for this
/// long: it finished speaking mid-frame.
pub const PARTIAL_FRAME_IDLE: Duration = Duration::from_millis(100);
/// Marks waiting to be played at most; more are refused (`badMessage`).
pub const MAX_PENDING_MARKS: usize = 1024;
/// Samples a millisecond at 16 kHz.
const SAMPLES_PER_MS: u64 = 16;

/// A change the bot is told about with `flowControl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowChange {
    /// Buffered audio passed `pause_above_ms`.
    Pause {
        /// Milliseconds buffered.
        buffered_ms: u64,
    },
    /// Buffered audio fell below `resume_below_ms`.
    Resume {
        /// Milliseconds buffered.
        buffered_ms: u64,
    },
}

/// The socket task's side of the bot's audio: frames waiting for the ring, the part-frame being
/// filled, the marks and the flow-control state.
#[derive(Debug)]
pub struct BotAudio {
    /// Complete frames not yet in the ring.
    frames: VecDeque<Pcm>,
    /// The frame being filled, and how many samples it has.
    partial: Pcm,
    partial_len: usize,
    /// When the bot's audio last arrived (for the part-frame flush).
    last_audio: Option<Instant>,
    /// Frames put in the ring that have been or will be played.
    pushed: u64,
    /// Marks not yet played: the position they wait for, and the name.
    marks: VecDeque<(u64, String)>,
    /// Whether the bot was told to pause.
    paused: bool,
    pause_above_ms: u64,
    resume_below_ms: u64,
    max_buffered_ms: u64,
}

impl BotAudio {
    /// An empty buffer with the limits of `settings`.
    pub fn new(settings: &AppHostedSettings) -> BotAudio {
        BotAudio {
            frames: VecDeque::new(),
            partial: [0; FRAME_SAMPLES],
            partial_len: 0,
            last_audio: None,
            pushed: 0,
            marks: VecDeque::new(),
            paused: false,
            pause_above_ms: settings.pause_above_ms,
            resume_below_ms: settings.resume_below_ms,
            max_buffered_ms: settings.max_buffered_ms,
        }
    }

    /// Frames put in the ring that have been or will be played.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Whether the bot was told to pause and not yet to resume.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Audio buffered ahead of playout (here and in the ring), in milliseconds.
    pub fn buffered_ms(&self, stream: &AppStream) -> u64 {
        self.buffered_samples(stream) / SAMPLES_PER_MS
    }

    fn buffered_samples(&self, stream: &AppStream) -> u64 {
        let frames = (stream.playout_queued() + self.frames.len()) as u64;
        frames * FRAME_SAMPLES as u64 + self.partial_len as u64
    }

    /// Adds `pcm` (s16le, an even number of bytes) after what is buffered, cut into frames; what
    /// would go past `max_buffered_ms` is discarded. Returns the milliseconds discarded.
    pub fn add(&mut self, pcm: &[u8], stream: &AppStream, now: Instant) -> u64 {
        let limit = self.max_buffered_ms * SAMPLES_PER_MS;
        let room = limit.saturating_sub(self.buffered_samples(stream));
        let samples = (pcm.len() / 2) as u64;
        let taken = samples.min(room) as usize;
        for pair in pcm.chunks_exact(2).take(taken) {
            self.partial[self.partial_len] = i16::from_le_bytes([pair[0], pair[1]]);
            self.partial_len += 1;
            if self.partial_len == FRAME_SAMPLES {
                self.frames.push_back(self.partial);
                self.partial_len = 0;
            }
        }
        if taken > 0 {
            self.last_audio = Some(now);
        }
        self.top_up(stream, now);
        (samples - taken as u64).div_ceil(SAMPLES_PER_MS)
    }

    /// Puts a mark after the audio sent so far (a trailing part-frame is padded with silence so
    /// the mark can be reached).
    pub fn mark(&mut self, name: String) -> Result<(), usize> {
        if self.marks.len() >= MAX_PENDING_MARKS {
            return Err(self.marks.len());
        }
        self.flush_partial();
        let position = self.pushed + self.frames.len() as u64;
        self.marks.push_back((position, name));
        Ok(())
    }

    /// Barge-in: drops everything not played yet, here and in the ring; returns the marks that
    /// will never be played, in order. Marks whose audio is all in the worker's hands (played or
    /// being played) stay, and are reported played.
    pub fn clear(&mut self, stream: &AppStream) -> Vec<String> {
        let taken_back = stream.clear_playout() as u64;
        self.pushed -= taken_back.min(self.pushed);
        self.frames.clear();
        self.partial_len = 0;
        let keep = self
            .marks
            .iter()
            .take_while(|(position, _)| *position <= self.pushed)
            .count();
        self.marks.drain(keep..).map(|(_, name)| name).collect()
    }

    /// The marks played since the last call, in order.
    pub fn played_marks(&mut self, stream: &AppStream) -> Vec<String> {
        let played = stream.played();
        let mut names = Vec::new();
        while let Some((position, _)) = self.marks.front() {
            if *position > played {
                break;
            }
            if let Some((_, name)) = self.marks.pop_front() {
                names.push(name);
            }
        }
        names
    }

    /// Keeps the ring [`PLAYOUT_AHEAD_FRAMES`] ahead of the worker, and plays a part-frame the
    /// bot left idle for [`PARTIAL_FRAME_IDLE`].
    pub fn top_up(&mut self, stream: &AppStream, now: Instant) {
        let idle = self
            .last_audio
            .is_some_and(|at| now.duration_since(at) >= PARTIAL_FRAME_IDLE);
        if idle && self.partial_len > 0 && self.frames.is_empty() {
            self.flush_partial();
        }
        while stream.playout_queued() < PLAYOUT_AHEAD_FRAMES {
            let Some(frame) = self.frames.pop_front() else {
                break;
            };
            if !stream.queue_playout(frame) {
                // Only the worker takes from the ring, so it cannot have filled up since the
                // check; keep the frame for the next top-up all the same.
                self.frames.push_front(frame);
                break;
            }
            self.pushed += 1;
        }
    }

    /// The flow-control message due now, if the buffered audio crossed a threshold.
    pub fn flow(&mut self, stream: &AppStream) -> Option<FlowChange> {
        let buffered_ms = self.buffered_ms(stream);
        if !self.paused && buffered_ms > self.pause_above_ms {
            self.paused = true;
            Some(FlowChange::Pause { buffered_ms })
        } else if self.paused && buffered_ms < self.resume_below_ms {
            self.paused = false;
            Some(FlowChange::Resume { buffered_ms })
        } else {
            None
        }
    }

    /// Pads the part-frame with silence and queues it as a whole frame.
    fn flush_partial(&mut self) {
        if self.partial_len == 0 {
            return;
        }
        self.partial[self.partial_len..].fill(0);
        self.frames.push_back(self.partial);
        self.partial_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::media::{MediaSocketConfig, StreamDirections};

    fn stream() -> AppStream {
        let config = MediaSocketConfig {
            url: "ws://bot.test/".into(),
            auth_token: None,
            directions: StreamDirections::SendRecv,
            mixed: true,
            unmixed: false,
        };
        AppStream::new(config, 1000, 0)
    }

    fn pcm(samples: usize, value: i16) -> Vec<u8> {
        (0..samples).flat_map(|_| value.to_le_bytes()).collect()
    }

    fn play(stream: &AppStream) -> Option<Pcm> {
        let mut out = [0; FRAME_SAMPLES];
        stream.next_playout(&mut out).then_some(out)
    }

    #[test]
    fn audio_of_any_length_is_cut_into_frames_and_the_ring_kept_a_few_ahead() {
        let (lane, now) = (stream(), Instant::now());
        let mut audio = BotAudio::new(&AppHostedSettings::default());
        assert_eq!(audio.add(&pcm(10 * FRAME_SAMPLES + 100, 7), &lane, now), 0);
        assert_eq!(lane.playout_queued(), PLAYOUT_AHEAD_FRAMES);
        assert_eq!(audio.buffered_ms(&lane), 206);
        for _ in 0..10 {
            assert_eq!(play(&lane), Some([7; FRAME_SAMPLES]));
            audio.top_up(&lane, now);
        }
        assert_eq!(play(&lane), None, "the part-frame waits for more audio");
        audio.top_up(&lane, now + PARTIAL_FRAME_IDLE);
        let last = play(&lane).unwrap();
        assert_eq!((last[99], last[100]), (7, 0), "padded with silence");
        assert_eq!(audio.pushed(), 11);
    }

    #[test]
    fn a_mark_is_played_when_the_audio_before_it_is() {
        let (lane, now) = (stream(), Instant::now());
        let mut audio = BotAudio::new(&AppHostedSettings::default());
        audio.mark("at once".into()).unwrap();
        assert_eq!(audio.played_marks(&lane), ["at once"]);
        audio.add(&pcm(FRAME_SAMPLES + 1, 1), &lane, now);
        audio.mark("after two".into()).unwrap();
        audio.top_up(&lane, now);
        play(&lane);
        assert!(audio.played_marks(&lane).is_empty());
        play(&lane);
        assert_eq!(audio.played_marks(&lane), ["after two"]);
    }

    #[test]
    fn clear_takes_back_the_ring_and_names_the_marks_never_played() {
        let (lane, now) = (stream(), Instant::now());
        let mut audio = BotAudio::new(&AppHostedSettings::default());
        audio.add(&pcm(2 * FRAME_SAMPLES, 1), &lane, now);
        audio.mark("one".into()).unwrap();
        audio.add(&pcm(20 * FRAME_SAMPLES, 2), &lane, now);
        audio.mark("two".into()).unwrap();
        play(&lane);
        play(&lane);
        assert_eq!(audio.clear(&lane), ["two"]);
        assert_eq!(lane.playout_queued(), 0);
        assert_eq!(audio.buffered_ms(&lane), 0);
        assert_eq!(audio.played_marks(&lane), ["one"]);
        assert_eq!(audio.pushed(), 2);
    }

    #[test]
    fn flow_control_pauses_above_and_resumes_below_and_the_excess_is_discarded() {
        let (lane, now) = (stream(), Instant::now());
        let settings = AppHostedSettings::default();
        let mut audio = BotAudio::new(&settings);
        audio.add(&pcm(2000 * 16, 0), &lane, now);
        assert_eq!(audio.flow(&lane), None, "2000 ms is not above 2000 ms");
        audio.add(&pcm(FRAME_SAMPLES, 0), &lane, now);
        assert_eq!(
            audio.flow(&lane),
            Some(FlowChange::Pause { buffered_ms: 2020 })
        );
        assert_eq!(audio.flow(&lane), None);
        let discarded = audio.add(&pcm(9000 * 16, 0), &lane, now);
        assert_eq!(discarded, 1020);
        assert_eq!(audio.buffered_ms(&lane), 10_000);
        while audio.buffered_ms(&lane) >= 1000 {
            play(&lane);
            audio.top_up(&lane, now);
        }
        assert_eq!(
            audio.flow(&lane),
            Some(FlowChange::Resume { buffered_ms: 980 })
        );
    }

    #[test]
    fn pending_marks_are_bounded() {
        let mut audio = BotAudio::new(&AppHostedSettings::default());
        audio.frames.push_back([0; FRAME_SAMPLES]);
        for n in 0..MAX_PENDING_MARKS {
            audio.mark(n.to_string()).unwrap();
        }
        assert_eq!(audio.mark("one more".into()), Err(MAX_PENDING_MARKS));
    }
}
