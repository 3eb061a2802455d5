//! Who an app-hosted bot is told is speaking: the set of speakers (`ActiveSpeakers`, sent when
//! the set changes) and the dominant speaker (`DominantSpeaker`, sent when it changes, with
//! hysteresis). Fixed-size state, allocation-free.

use crate::media_plane::app_stream::{AppStream, MAX_LISTED_SPEAKERS, StreamNotice};

/// A source id and its level (dBFS) this tick.
pub(super) type Loudness = (u32, f32);

/// This tick's speakers, loudest first, at most [`MAX_LISTED_SPEAKERS`]: a fixed array, so
/// collecting them never allocates.
#[derive(Clone, Copy)]
pub(super) struct LoudestFirst {
    speakers: [Loudness; MAX_LISTED_SPEAKERS],
    len: usize,
}

impl LoudestFirst {
    /// Nobody speaking.
    pub(super) const NOBODY: LoudestFirst = LoudestFirst {
        speakers: [(0, 0.0); MAX_LISTED_SPEAKERS],
        len: 0,
    };

    /// Adds the next speaker (the caller goes loudest first); beyond the list's room it is left
    /// out, as the quietest.
    pub(super) fn push(&mut self, source_id: u32, level_dbfs: f32) {
        if self.len < MAX_LISTED_SPEAKERS {
            self.speakers[self.len] = (source_id, level_dbfs);
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[Loudness] {
        &self.speakers[..self.len]
    }
}

/// How much louder (dB) a challenger must be than a dominant speaker who is still talking.
const TAKEOVER_MARGIN_DB: f32 = 6.0;
/// Ticks a challenger must lead by the margin (net of ticks it does not) to take over: 300 ms.
const TAKEOVER_TICKS: u16 = 15;
/// Ticks a dominant speaker is kept at least, whatever happens: 500 ms.
const MIN_HOLD_TICKS: u16 = 25;
/// Ticks of nobody speaking after which nobody dominates: 1 s.
const RELEASE_TICKS: u16 = 50;

/// The dominant speaker and what it takes to replace it.
///
/// Why hysteresis: the loudest speaker of one 20 ms frame changes between syllables, in the
/// gaps of a sentence and whenever two people talk over each other. A bot that re-targets its
/// recognition, re-lays-out video or re-attributes a transcript on every change would thrash;
/// a change should mean someone else has the floor. So a speaker keeps the floor for at least
/// half a second, while still talking loses it only to someone clearly (6 dB) louder for most
/// of 300 ms, loses it at once to someone else once it has stopped (the meter's hangover has
/// already bridged the pauses between its words), and nobody has it after a second of silence.
#[derive(Debug, Clone, Copy, Default)]
struct Dominant {
    /// The dominant speaker's source id; 0: nobody.
    current: u32,
    /// The speaker who is louder than `current` by the margin, and its net lead in ticks.
    challenger: u32,
    lead: u16,
    /// Ticks since `current` took the floor.
    held: u16,
    /// Ticks nobody has spoken.
    quiet: u16,
}

impl Dominant {
    /// One tick's speakers, loudest first; returns (new, previous) when the dominant changed.
    fn update(&mut self, loudest_first: &[Loudness]) -> Option<(u32, u32)> {
        self.held = self.held.saturating_add(1);
        let Some(&(loudest, loudest_db)) = loudest_first.first() else {
            self.challenger = 0;
            self.lead = 0;
            self.quiet = self.quiet.saturating_add(1);
            return (self.current != 0 && self.quiet >= RELEASE_TICKS).then(|| self.take(0));
        };
        self.quiet = 0;
        if self.current == 0 {
            return Some(self.take(loudest));
        }
        if loudest == self.current {
            self.lead = self.lead.saturating_sub(1);
            return None;
        }
        let held_enough = self.held >= MIN_HOLD_TICKS;
        let Some(&(_, current_db)) = loudest_first.iter().find(|(id, _)| *id == self.current)
        else {
            // The dominant speaker stopped: the floor passes to whoever speaks now.
            return held_enough.then(|| self.take(loudest));
        };
        if loudest != self.challenger {
            self.challenger = loudest;
            self.lead = 0;
        }
        if loudest_db >= current_db + TAKEOVER_MARGIN_DB {
            self.lead += 1;
        } else {
            self.lead = self.lead.saturating_sub(1);
        }
        (held_enough && self.lead >= TAKEOVER_TICKS).then(|| self.take(loudest))
    }

    fn take(&mut self, next: u32) -> (u32, u32) {
        let previous = self.current;
        *self = Dominant {
            current: next,
            ..Dominant::default()
        };
        (next, previous)
    }
}

/// What one app-hosted bot was last told about who speaks.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SpeakerNotices {
    /// The speakers last listed, sorted by source id (a new order of the same speakers is no
    /// change: levels reorder them every frame).
    listed: [u32; MAX_LISTED_SPEAKERS],
    listed_len: usize,
    dominant: Dominant,
}

impl SpeakerNotices {
    /// Takes this tick's speakers (loudest first) and tells the bot through `stream` if the set
    /// of speakers or the dominant speaker changed.
    pub(super) fn update(&mut self, speakers: &LoudestFirst, timestamp: u64, stream: &AppStream) {
        let now = speakers.as_slice();
        let mut sorted = [0u32; MAX_LISTED_SPEAKERS];
        for (slot, (id, _)) in sorted.iter_mut().zip(now) {
            *slot = *id;
        }
        sorted[..now.len()].sort_unstable();
        if sorted[..now.len()] != self.listed[..self.listed_len] {
            self.listed = sorted;
            self.listed_len = now.len();
            let mut source_ids = [0u32; MAX_LISTED_SPEAKERS];
            for (slot, (id, _)) in source_ids.iter_mut().zip(now) {
                *slot = *id;
            }
            stream.notify(StreamNotice::ActiveSpeakers {
                count: now.len() as u8,
                source_ids,
                timestamp,
            });
        }
        if let Some((current, previous)) = self.dominant.update(now) {
            stream.notify(StreamNotice::DominantSpeaker { current, previous });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dominant: &mut Dominant, ticks: usize, speakers: &[Loudness]) -> Vec<(u32, u32)> {
        (0..ticks)
            .filter_map(|_| dominant.update(speakers))
            .collect()
    }

    #[test]
    fn the_first_speaker_dominates_at_once_and_nobody_after_a_second_of_silence() {
        let mut d = Dominant::default();
        assert_eq!(run(&mut d, 10, &[(7, -20.0)]), vec![(7, 0)]);
        assert_eq!(run(&mut d, 49, &[]), vec![], "pauses keep the floor");
        assert_eq!(run(&mut d, 1, &[]), vec![(0, 7)]);
    }

    #[test]
    fn a_louder_speaker_takes_over_only_when_clearly_louder_for_a_while() {
        let mut d = Dominant::default();
        run(&mut d, 30, &[(1, -20.0)]);
        // Slightly louder, flipping each frame: never enough.
        let mut changes = Vec::new();
        for k in 0..200 {
            let speakers = if k % 2 == 0 {
                [(2, -18.0), (1, -20.0)]
            } else {
                [(1, -19.0), (2, -20.0)]
            };
            changes.extend(d.update(&speakers));
        }
        assert_eq!(changes, vec![], "two people at about one level do not flap");
        // Clearly louder: taken over after the lead builds up.
        let changes = run(&mut d, TAKEOVER_TICKS as usize, &[(2, -10.0), (1, -20.0)]);
        assert_eq!(changes, vec![(2, 1)]);
    }

    #[test]
    fn a_speaker_who_stopped_hands_over_but_not_faster_than_the_hold() {
        let mut d = Dominant::default();
        run(&mut d, 1, &[(1, -20.0)]);
        let changes = run(&mut d, 30, &[(2, -30.0)]);
        assert_eq!(changes, vec![(2, 1)]);
        assert_eq!(
            d.held,
            30 - MIN_HOLD_TICKS,
            "handed over as soon as the hold ran out"
        );
    }

    #[test]
    fn the_set_of_speakers_is_told_when_it_changes_not_when_it_reorders() {
        use crate::calls::media::{MediaSocketConfig, StreamDirections};
        let stream = AppStream::new(
            MediaSocketConfig {
                url: "ws://bot.test/m".into(),
                auth_token: None,
                directions: StreamDirections::SendRecv,
                mixed: true,
                unmixed: true,
            },
            100,
            4,
        );
        let mut notices = SpeakerNotices::default();
        let mut speakers = LoudestFirst::NOBODY;
        speakers.push(3, -10.0);
        speakers.push(5, -12.0);
        notices.update(&speakers, 0, &stream);
        let mut reordered = LoudestFirst::NOBODY;
        reordered.push(5, -9.0);
        reordered.push(3, -12.0);
        notices.update(&reordered, 200_000, &stream);
        notices.update(&LoudestFirst::NOBODY, 400_000, &stream);
        let mut told = Vec::new();
        while let Some(notice) = stream.take_notice() {
            told.push(notice);
        }
        let mut expected = [0; MAX_LISTED_SPEAKERS];
        expected[..2].copy_from_slice(&[3, 5]);
        assert_eq!(
            told,
            vec![
                StreamNotice::ActiveSpeakers {
                    count: 2,
                    source_ids: expected,
                    timestamp: 0
                },
                StreamNotice::DominantSpeaker {
                    current: 3,
                    previous: 0
                },
                StreamNotice::ActiveSpeakers {
                    count: 0,
                    source_ids: [0; MAX_LISTED_SPEAKERS],
                    timestamp: 400_000
                },
            ]
        );
    }
}
