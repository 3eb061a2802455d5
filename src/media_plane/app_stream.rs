//! The lane between a media worker and an app-hosted leg's media socket: preallocated lock-free
//! rings, so neither side ever waits on the other.
//!
//! ```text
//!  media worker (every 20 ms tick)                         media socket task (tokio)
//!  what the bot hears: mixed + one per speaker ──▶ to_bot  ──▶ binary frames to the bot
//!  keys, speakers, dominant speaker          ──▶ notices ──▶ JSON control messages
//!  one 20 ms frame into the bot's session    ◀── playout ◀── the bot's audio, re-framed to 20 ms
//!  frames played (`played`)                  ──▶ counter ──▶ markPlayed, flow control
//! ```
//!
//! - **Toward the bot latency beats completeness.** The worker pushes with
//!   `ArrayQueue::force_push`: a full ring loses its oldest frame, never the newest, and the loss
//!   is counted in [`AppStream::frames_dropped`]. The socket task sees a source's timestamp skip
//!   and flags that source's next frame as a discontinuity, and warns the bot at most once a
//!   second. Notices (keys, speakers) are small and rare; a full notice ring counts the loss.
//! - **The server owns the playout clock.** The socket task keeps the bot's audio (any length,
//!   sent ahead of time) and tops the small `playout` ring up; the worker takes exactly one frame
//!   per tick, so the bot's audio is heard at real time whatever the bot's own timing. An empty
//!   ring is an underrun: the bot is silent for that frame. Barge-in (`clear`) empties the ring
//!   from the socket side ([`AppStream::clear_playout`]): what is left in the worker is at most
//!   the one frame of the current tick.
//! - Every method is allocation-free and lock-free on both sides; the rings are made when the
//!   leg's media opens, off the worker thread.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;
use switchboard_media::dtmf::Digit;

use crate::calls::media::MediaSocketConfig;

/// Samples in one 20 ms frame at 16 kHz.
pub const FRAME_SAMPLES: usize = 320;
/// One 20 ms frame of 16 kHz mono PCM.
pub type Pcm = [i16; FRAME_SAMPLES];
/// Frames a second (one per 20 ms tick).
pub const FRAMES_PER_SECOND: usize = 50;
/// Step of a frame's timestamp, in 100 ns units (Graph's `AudioMediaBuffer.Timestamp`): 20 ms.
pub const TIMESTAMP_STEP: u64 = 200_000;
/// Source id of the mix (what the bot hears); speakers' source ids are never 0.
pub const MIXED_SOURCE: u32 = 0;
/// Frames the playout ring holds (the socket task keeps it topped up; the rest of a bot's
/// buffered audio waits in the socket task): 400 ms.
pub const PLAYOUT_RING_FRAMES: usize = 20;
/// Notices the ring holds before new ones are counted as lost.
pub const NOTICE_RING: usize = 64;
/// Speakers one `ActiveSpeakers` notice lists (the loudest first); more speak rarely at once.
pub const MAX_LISTED_SPEAKERS: usize = 16;

/// Flag bit: the frame is silence (nobody audible).
pub const FLAG_SILENCE: u8 = 1;
/// Flag bit: the frame is one speaker's audio, not the mix.
pub const FLAG_UNMIXED: u8 = 2;
/// Flag bit: frames of this source were lost before this one.
pub const FLAG_DISCONTINUITY: u8 = 4;

/// One 20 ms frame toward the bot: the mix (source 0) or one speaker's audio.
#[derive(Clone, Copy)]
pub struct StreamFrame {
    /// [`MIXED_SOURCE`], or the speaker's source id (its `mediaStreams[0].sourceId`).
    pub source_id: u32,
    /// [`FLAG_SILENCE`] and [`FLAG_UNMIXED`] as the worker sets them; the socket task adds
    /// [`FLAG_DISCONTINUITY`].
    pub flags: u8,
    /// The leg's media clock at this frame, in 100 ns units, stepping [`TIMESTAMP_STEP`] per tick
    /// from the leg's start; the mix and every speaker of one tick share it.
    pub timestamp: u64,
    /// The audio: 16 kHz mono, 20 ms.
    pub pcm: Pcm,
}

impl std::fmt::Debug for StreamFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamFrame")
            .field("source_id", &self.source_id)
            .field("flags", &self.flags)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// Something the worker tells the bot besides audio; sent as a JSON control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamNotice {
    /// A key press, heard in-band or as RFC 4733 (each press once): `dtmf`.
    Dtmf {
        /// The key.
        digit: Digit,
        /// Who pressed it.
        source_id: u32,
        /// The media clock when it started, in 100 ns units.
        timestamp: u64,
    },
    /// Who is speaking changed: `activeSpeakers`, the loudest first.
    ActiveSpeakers {
        /// How many of `source_ids` are used.
        count: u8,
        /// The speakers' source ids.
        source_ids: [u32; MAX_LISTED_SPEAKERS],
        /// The media clock at the change, in 100 ns units.
        timestamp: u64,
    },
    /// The dominant speaker changed: `dominantSpeakerChanged` (0: nobody).
    DominantSpeaker {
        /// The new dominant speaker.
        current: u32,
        /// The one before.
        previous: u32,
    },
}

/// The lane of one app-hosted leg, shared by its worker and its media socket task.
pub struct AppStream {
    /// What the bot asked for in its blob.
    config: MediaSocketConfig,
    to_bot: ArrayQueue<StreamFrame>,
    notices: ArrayQueue<StreamNotice>,
    playout: ArrayQueue<Pcm>,
    played: AtomicU64,
    frames_dropped: AtomicU64,
    notices_dropped: AtomicU64,
}

impl std::fmt::Debug for AppStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppStream")
            .field("to_bot", &self.to_bot.len())
            .field("playout", &self.playout.len())
            .field("played", &self.played())
            .finish_non_exhaustive()
    }
}

impl AppStream {
    /// A lane for a bot with `config`, whose frames toward it are held for `send_queue_ms` at
    /// most (with room for `unmixed_sources` speakers a tick when it asked for unmixed audio).
    pub fn new(config: MediaSocketConfig, send_queue_ms: u64, unmixed_sources: usize) -> AppStream {
        let ticks = (send_queue_ms / 20).max(1) as usize;
        let per_tick = 1 + if config.unmixed { unmixed_sources } else { 0 };
        AppStream {
            config,
            to_bot: ArrayQueue::new(ticks * per_tick),
            notices: ArrayQueue::new(NOTICE_RING),
            playout: ArrayQueue::new(PLAYOUT_RING_FRAMES),
            played: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            notices_dropped: AtomicU64::new(0),
        }
    }

    /// What the bot asked for.
    pub fn config(&self) -> &MediaSocketConfig {
        &self.config
    }

    // The worker's side.

    /// Takes the bot's next 20 ms frame to play into the call and counts it as played; `false` is
    /// an underrun (nothing queued: the bot is silent this tick).
    pub fn next_playout(&self, out: &mut Pcm) -> bool {
        let got = match self.playout.pop() {
            Some(frame) => {
                *out = frame;
                true
            }
            None => false,
        };
        if got {
            self.played.fetch_add(1, Ordering::Release);
        }
        got
    }

    /// Queues a frame toward the bot; a full ring drops its oldest frame (counted).
    pub fn send_frame(&self, frame: StreamFrame) {
        if self.to_bot.force_push(frame).is_some() {
            self.frames_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues a notice toward the bot; a full ring drops this one (counted).
    pub fn notify(&self, notice: StreamNotice) {
        if self.notices.push(notice).is_err() {
            self.notices_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    // The socket task's side.

    /// The oldest frame toward the bot not yet taken.
    pub fn take_frame(&self) -> Option<StreamFrame> {
        self.to_bot.pop()
    }

    /// The oldest notice not yet taken.
    pub fn take_notice(&self) -> Option<StreamNotice> {
        self.notices.pop()
    }

    /// Queues one frame of the bot's audio for playout; `false` (and the frame is dropped) when
    /// the ring is full — check [`AppStream::playout_room`] first.
    pub fn queue_playout(&self, pcm: Pcm) -> bool {
        self.playout.push(pcm).is_ok()
    }

    /// Frames the playout ring can take now.
    pub fn playout_room(&self) -> usize {
        self.playout.capacity() - self.playout.len()
    }

    /// Frames of the bot's audio queued in the ring and not yet played.
    pub fn playout_queued(&self) -> usize {
        self.playout.len()
    }

    /// Empties the playout ring (barge-in); returns how many frames will not be played.
    pub fn clear_playout(&self) -> usize {
        let mut cleared = 0;
        while self.playout.pop().is_some() {
            cleared += 1;
        }
        cleared
    }

    /// Frames of the bot's audio played into the call so far.
    pub fn played(&self) -> u64 {
        self.played.load(Ordering::Acquire)
    }

    /// Frames toward the bot dropped because the bot did not read them in time.
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped.load(Ordering::Relaxed)
    }

    /// Notices dropped because the ring was full.
    pub fn notices_dropped(&self) -> u64 {
        self.notices_dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::media::StreamDirections;

    fn stream(send_queue_ms: u64) -> AppStream {
        AppStream::new(
            MediaSocketConfig {
                url: "ws://bot.test/m".into(),
                auth_token: None,
                directions: StreamDirections::SendRecv,
                mixed: true,
                unmixed: false,
            },
            send_queue_ms,
            8,
        )
    }

    fn frame(timestamp: u64) -> StreamFrame {
        StreamFrame {
            source_id: MIXED_SOURCE,
            flags: 0,
            timestamp,
            pcm: [0; FRAME_SAMPLES],
        }
    }

    #[test]
    fn a_slow_reader_loses_the_oldest_frames_and_the_loss_is_counted() {
        let lane = stream(100);
        for tick in 0..8 {
            lane.send_frame(frame(tick * TIMESTAMP_STEP));
        }
        assert_eq!(lane.frames_dropped(), 3);
        let first = lane.take_frame().unwrap();
        assert_eq!(
            first.timestamp,
            3 * TIMESTAMP_STEP,
            "the newest five are kept"
        );
    }

    #[test]
    fn playout_counts_what_was_played_and_clear_takes_back_the_rest() {
        let lane = stream(1000);
        for n in 0..3 {
            assert!(lane.queue_playout([n; FRAME_SAMPLES]));
        }
        let mut out = [0; FRAME_SAMPLES];
        assert!(lane.next_playout(&mut out));
        assert_eq!(out[0], 0);
        assert_eq!(lane.played(), 1);
        assert_eq!(lane.clear_playout(), 2);
        assert!(!lane.next_playout(&mut out), "an underrun after clear");
        assert_eq!(lane.played(), 1);
    }
}
