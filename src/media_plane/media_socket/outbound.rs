//! What goes to the bot besides replies: the worker's frames, numbered per source and flagged
//! where frames were lost, its notices as JSON, and warnings at most once a second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::protocol::{AudioHeader, ServerMessage, WarningCode, audio_message};
use crate::media_plane::app_stream::{
    FLAG_DISCONTINUITY, FLAG_UNMIXED, StreamFrame, StreamNotice, TIMESTAMP_STEP,
};

/// Least time between two warnings of one code; what happens meanwhile is added to the next.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(1);

/// One source's numbering: the seq its next frame gets, and where its last frame was.
#[derive(Debug, Clone, Copy)]
struct SourceClock {
    next_seq: u32,
    last_timestamp: u64,
    /// [`ToBot::losses`] when its last frame was sent.
    losses: u64,
}

/// Numbers frames per source and flags discontinuities.
///
/// The mix has a frame every tick, so any skip of its timestamp is a loss. A speaker's frames
/// stop whenever they stop speaking, so a skip of theirs is flagged only when frames toward the
/// bot were lost since that speaker's last frame (the lane dropped some, or a reconnect discarded
/// them): their gap may hide lost speech.
#[derive(Debug, Default)]
pub struct ToBot {
    sources: HashMap<u32, SourceClock>,
    /// Times frames toward the bot were lost.
    losses: u64,
}

impl ToBot {
    /// Frames toward the bot were lost (dropped by the lane, or discarded on a reconnect).
    pub fn frames_lost(&mut self) {
        self.losses += 1;
    }

    /// The binary message of `frame`, with its source's next seq and the discontinuity flag when
    /// frames of that source were lost before it.
    pub fn message(&mut self, frame: &StreamFrame) -> Vec<u8> {
        let mut flags = frame.flags & !FLAG_DISCONTINUITY;
        let losses = self.losses;
        let clock = self.sources.entry(frame.source_id).or_insert(SourceClock {
            next_seq: 0,
            last_timestamp: frame.timestamp.wrapping_sub(TIMESTAMP_STEP),
            losses,
        });
        let skipped = frame.timestamp != clock.last_timestamp.wrapping_add(TIMESTAMP_STEP);
        let unmixed = frame.flags & FLAG_UNMIXED != 0;
        if skipped && (!unmixed || clock.losses != losses) {
            flags |= FLAG_DISCONTINUITY;
        }
        let header = AudioHeader {
            flags,
            source_id: frame.source_id,
            seq: clock.next_seq,
            timestamp: frame.timestamp,
        };
        clock.next_seq = clock.next_seq.wrapping_add(1);
        clock.last_timestamp = frame.timestamp;
        clock.losses = losses;
        audio_message(header, &frame.pcm)
    }
}

/// The JSON message of a worker's notice.
pub fn notice_message(notice: StreamNotice) -> ServerMessage {
    match notice {
        StreamNotice::Dtmf {
            digit,
            source_id,
            timestamp,
        } => ServerMessage::Dtmf {
            digit: digit.to_string(),
            source_id,
            timestamp,
        },
        StreamNotice::ActiveSpeakers {
            count,
            source_ids,
            timestamp,
        } => ServerMessage::ActiveSpeakers {
            timestamp,
            source_ids: source_ids[..usize::from(count).min(source_ids.len())].to_vec(),
        },
        StreamNotice::DominantSpeaker { current, previous } => {
            ServerMessage::DominantSpeakerChanged { current, previous }
        }
    }
}

/// One warning code's rate limit: the first occurrence is told at once, later ones at most once
/// per [`WARNING_INTERVAL`], with everything counted meanwhile.
#[derive(Debug, Default)]
pub struct WarningGate {
    /// Occurrences not told yet.
    pending: u64,
    /// When the last warning of this code was sent.
    last: Option<Instant>,
}

impl WarningGate {
    /// Counts `count` more occurrences; the count to warn about now, if one is due.
    pub fn add(&mut self, count: u64, now: Instant) -> Option<u64> {
        self.pending += count;
        self.due(now)
    }

    /// The count to warn about now, if occurrences wait and the interval has passed.
    pub fn due(&mut self, now: Instant) -> Option<u64> {
        let open = self
            .last
            .is_none_or(|at| now.duration_since(at) >= WARNING_INTERVAL);
        if self.pending == 0 || !open {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }
}

/// The warnings of one socket, each code rate-limited on its own.
#[derive(Debug, Default)]
pub struct Warnings {
    /// `framesDropped`: frames the lane dropped while the bot was slow.
    pub dropped: WarningGate,
    /// `mediaDiscarded`: milliseconds of the bot's audio not played.
    pub discarded: WarningGate,
    /// `badMessage`: malformed messages; the latest one's words are told.
    pub bad: WarningGate,
    /// What was wrong with the latest malformed message.
    pub bad_words: String,
    /// Why the latest audio was discarded.
    pub discarded_words: String,
}

impl Warnings {
    /// The warnings due now (after their interval), as messages.
    pub fn due(&mut self, now: Instant) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        if let Some(count) = self.dropped.due(now) {
            out.push(frames_dropped(count));
        }
        if let Some(count) = self.discarded.due(now) {
            out.push(warning(
                WarningCode::MediaDiscarded,
                count,
                self.discarded_words.clone(),
            ));
        }
        if let Some(count) = self.bad.due(now) {
            out.push(warning(
                WarningCode::BadMessage,
                count,
                self.bad_words.clone(),
            ));
        }
        out
    }
}

/// A `framesDropped` warning for `count` frames.
pub fn frames_dropped(count: u64) -> ServerMessage {
    warning(
        WarningCode::FramesDropped,
        count,
        format!(
            "{count} frames of audio toward the bot were dropped because it did not read them \
             in time (media.app_hosted.send_queue_ms); the next frame of each source that lost \
             some carries the discontinuity flag"
        ),
    )
}

/// A `warning` message.
pub fn warning(code: WarningCode, count: u64, message: String) -> ServerMessage {
    ServerMessage::Warning {
        code,
        count: Some(count),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media_plane::app_stream::{FLAG_SILENCE, FRAME_SAMPLES, MIXED_SOURCE};
    use crate::media_plane::media_socket::protocol::AudioHeader;

    fn frame(source_id: u32, tick: u64) -> StreamFrame {
        StreamFrame {
            source_id,
            flags: if source_id == MIXED_SOURCE {
                0
            } else {
                FLAG_UNMIXED
            },
            timestamp: tick * TIMESTAMP_STEP,
            pcm: [0; FRAME_SAMPLES],
        }
    }

    fn header(to_bot: &mut ToBot, frame: StreamFrame) -> AudioHeader {
        AudioHeader::parse(&to_bot.message(&frame)).unwrap()
    }

    #[test]
    fn seqs_count_per_source_and_a_skip_of_the_mix_is_a_discontinuity() {
        let mut to_bot = ToBot::default();
        let first = header(&mut to_bot, frame(0, 10));
        assert_eq!((first.seq, first.flags), (0, 0));
        assert_eq!(header(&mut to_bot, frame(7, 10)).seq, 0);
        assert_eq!(header(&mut to_bot, frame(0, 11)).seq, 1);
        let after_gap = header(&mut to_bot, frame(0, 14));
        assert_eq!(after_gap.seq, 2);
        assert_eq!(after_gap.flags, FLAG_DISCONTINUITY);
        assert_eq!(header(&mut to_bot, frame(0, 15)).flags, 0);
    }

    #[test]
    fn a_speakers_pause_is_no_discontinuity_unless_frames_were_lost() {
        let mut to_bot = ToBot::default();
        header(&mut to_bot, frame(7, 1));
        let resumed = header(&mut to_bot, frame(7, 50));
        assert_eq!(resumed.flags, FLAG_UNMIXED, "they just paused");
        to_bot.frames_lost();
        let after_loss = header(&mut to_bot, frame(7, 60));
        assert_eq!(after_loss.flags, FLAG_UNMIXED | FLAG_DISCONTINUITY);
        assert_eq!(after_loss.seq, 2);
        let mut silent = frame(0, 1);
        header(&mut to_bot, frame(0, 0));
        silent.flags = FLAG_SILENCE | FLAG_DISCONTINUITY;
        assert_eq!(
            header(&mut to_bot, silent).flags,
            FLAG_SILENCE,
            "the worker's own discontinuity bit is replaced by ours"
        );
    }

    #[test]
    fn a_warning_code_is_told_at_once_then_at_most_once_a_second() {
        let mut gate = WarningGate::default();
        let start = Instant::now();
        assert_eq!(gate.add(3, start), Some(3));
        assert_eq!(gate.add(2, start + Duration::from_millis(300)), None);
        assert_eq!(gate.add(4, start + Duration::from_millis(900)), None);
        assert_eq!(gate.due(start + Duration::from_millis(999)), None);
        assert_eq!(gate.due(start + WARNING_INTERVAL), Some(6));
        assert_eq!(gate.due(start + 3 * WARNING_INTERVAL), None);
    }
}
