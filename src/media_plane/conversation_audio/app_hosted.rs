//! The worker's side of an app-hosted bot's lane ([`AppStream`]): every tick the bot's next
//! 20 ms of audio goes into its session before the session ticks (encoded and sent on exactly
//! as a prompt would be), and after the tick what the bot hears goes into the lane — the mix
//! (source 0) and one frame per active speaker — with notices of key presses, of who speaks and
//! of the dominant speaker.
//!
//! Where the heard audio comes from depends on how the conversation is joined (see the module
//! above):
//! - **direct** (two members): the bot's own session decodes the other member on its link; that
//!   frame is the mix and, while the other member speaks, its unmixed frame too;
//! - **room** (three or more): the room decodes every member once; the mix is the sum of the
//!   other members the room mixes for anyone (those audible), taken before the room encodes it
//!   for the bot's link, so it is as fresh as the unmixed frames and not coloured by a codec
//!   pass; each speaker's unmixed frame is its own decoded frame in the room.
//!
//! Never the bot itself, never a muted member. A speaker is a member whose level meter says it
//! is speaking (onset and hangover applied: a click or a cough of background noise is not a
//! speaker), loudest first. Every frame of a tick carries the leg's media clock, which counts
//! ticks and reads no clock. Everything is made when the lane is attached: a tick copies frames
//! into the lane's preallocated rings and allocates nothing.

use std::cmp::Ordering;
use std::sync::Arc;

use switchboard_media::MediaSession;
use switchboard_media::dtmf::Digit;
use switchboard_media::frame::{Frame, SILENT_FRAME};
use switchboard_media::mixer::MixBus;
use switchboard_media::session::LegId;

use super::MemberAudio;
use super::speakers::{LoudestFirst, SpeakerNotices};
use crate::media_plane::app_stream::{
    AppStream, FLAG_SILENCE, FLAG_UNMIXED, MIXED_SOURCE, Pcm, StreamFrame, StreamNotice,
    TIMESTAMP_STEP,
};

/// A member an app-hosted bot may hear this tick, and where its decoded frame is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source {
    /// Its index among the conversation's members (so a bot skips itself).
    pub(super) member: usize,
    /// What its frames and notices carry.
    pub(super) source_id: u32,
    /// The leg that decoded it: the bot's link (direct) or its room leg.
    pub(super) leg: LegId,
    /// Nobody may hear it (self- or server-muted).
    pub(super) muted: bool,
    /// Receiving audio and speaking, by its level meter.
    pub(super) speaking: bool,
    /// Its level this tick, in dBFS.
    pub(super) level_dbfs: f32,
}

impl Source {
    /// `member` (at index `index`) as heard on `leg` of `session`; `None` if the leg is gone.
    pub(super) fn heard(
        index: usize,
        member: &MemberAudio,
        session: &MediaSession,
        leg: LegId,
    ) -> Option<Source> {
        let frame = session.leg_frame(leg).ok()?;
        Some(Source {
            member: index,
            source_id: member.source_id,
            leg,
            muted: member.muted(),
            speaking: frame.sounding && frame.speaking,
            level_dbfs: frame.level_dbfs,
        })
    }

    /// Orders speakers first, the loudest first; the others after them.
    pub(super) fn loudest_first(a: &Source, b: &Source) -> Ordering {
        b.speaking
            .cmp(&a.speaking)
            .then(b.level_dbfs.total_cmp(&a.level_dbfs))
    }
}

/// One app-hosted bot's lane as its worker drives it.
pub struct AppHostedAudio {
    stream: Arc<AppStream>,
    /// The leg's media clock: this tick's frames' timestamp, in 100 ns units from the first.
    timestamp: u64,
    /// The bot's frame of this tick, on its way into the session.
    playout: Pcm,
    /// Sums what the bot hears in a room.
    mix: MixBus,
    speakers: SpeakerNotices,
}

impl std::fmt::Debug for AppHostedAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppHostedAudio")
            .field("stream", &self.stream)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

impl AppHostedAudio {
    /// The worker's side of `stream`; its media clock starts at the next tick.
    pub fn new(stream: Arc<AppStream>) -> AppHostedAudio {
        AppHostedAudio {
            stream,
            timestamp: 0,
            playout: SILENT_FRAME,
            mix: MixBus::new(),
            speakers: SpeakerNotices::default(),
        }
    }

    /// The lane.
    pub fn stream(&self) -> &Arc<AppStream> {
        &self.stream
    }

    /// Before the bot's session ticks: its next 20 ms (if it speaks and sent any) becomes the
    /// session's live audio, encoded this tick. An underrun leaves the bot silent.
    pub fn play_into(&mut self, session: &mut MediaSession) {
        if self.stream.config().directions.bot_speaks()
            && self.stream.next_playout(&mut self.playout)
        {
            session.push_bot_pcm(&self.playout);
        }
    }

    /// The bot heard `source_id` press `digit` this tick (each press once).
    pub fn key_pressed(&self, digit: Digit, source_id: u32) {
        self.stream.notify(StreamNotice::Dtmf {
            digit,
            source_id,
            timestamp: self.timestamp,
        });
    }

    /// After the tick: the bot's frames from `sources` (decoded by `session`, speakers loudest
    /// first as [`Source::loudest_first`] orders them), leaving out member `me`, at most
    /// `max_unmixed` speakers (0: all); the speaker notices; then the clock steps on.
    pub(super) fn hear(
        &mut self,
        session: &MediaSession,
        sources: &[Source],
        me: usize,
        max_unmixed: usize,
    ) {
        let others = || sources.iter().filter(move |s| s.member != me && !s.muted);
        let config = self.stream.config();
        let (hears, mixed, unmixed) = (config.directions.bot_hears(), config.mixed, config.unmixed);
        if hears {
            if mixed {
                self.send_mix(session, others());
            }
            if unmixed {
                let cap = if max_unmixed == 0 {
                    usize::MAX
                } else {
                    max_unmixed
                };
                for speaker in others().filter(|s| s.speaking).take(cap) {
                    if let Ok(frame) = session.leg_frame(speaker.leg) {
                        self.stream.send_frame(StreamFrame {
                            source_id: speaker.source_id,
                            flags: FLAG_UNMIXED,
                            timestamp: self.timestamp,
                            pcm: *frame.pcm,
                        });
                    }
                }
            }
        }
        let mut speaking = LoudestFirst::NOBODY;
        for speaker in others().filter(|s| s.speaking) {
            speaking.push(speaker.source_id, speaker.level_dbfs);
        }
        self.speakers
            .update(&speaking, self.timestamp, &self.stream);
        self.timestamp += TIMESTAMP_STEP;
    }

    /// The mix of `heard`: what the session would mix of them (every frame received; in a room,
    /// only the audible ones), flagged silence when nobody in it is audible. One source is
    /// copied as is; the mix bus sums two or more.
    fn send_mix<'s>(&mut self, session: &MediaSession, heard: impl Iterator<Item = &'s Source>) {
        let voice_activated = session.config().voice_activated_mix;
        let mut first: Option<&Frame> = None;
        let mut summed = 0usize;
        let mut audible = false;
        for source in heard {
            let Ok(frame) = session.leg_frame(source.leg) else {
                continue;
            };
            if !frame.sounding || (voice_activated && !frame.audible()) {
                continue;
            }
            audible |= frame.audible();
            match first {
                None => first = Some(frame.pcm),
                Some(one) => {
                    if summed == 0 {
                        self.mix.clear();
                        self.mix.add(one);
                    }
                    self.mix.add(frame.pcm);
                    summed += 1;
                }
            }
        }
        let mut frame = StreamFrame {
            source_id: MIXED_SOURCE,
            flags: if audible { 0 } else { FLAG_SILENCE },
            timestamp: self.timestamp,
            pcm: SILENT_FRAME,
        };
        match first {
            Some(_) if summed > 0 => self.mix.write_without(None, &mut frame.pcm),
            Some(one) => frame.pcm = *one,
            None => {}
        }
        self.stream.send_frame(frame);
    }
}

/// A room's tick for its app-hosted bots: every member's frame as the room decoded it, sorted
/// once (speakers loudest first) into `sources`, then each app-hosted bot hears the others.
/// `sources` has room for every member (reserved when a lane was attached), so it never grows
/// here.
pub(super) fn hear_in_room(
    members: &mut [MemberAudio],
    room: &MediaSession,
    sources: &mut Vec<Source>,
    max_unmixed: usize,
) {
    if !members.iter().any(|m| m.app().is_some()) {
        return;
    }
    sources.clear();
    for (index, member) in members.iter().enumerate() {
        if let Some(source) = member
            .room_leg
            .and_then(|leg| Source::heard(index, member, room, leg))
        {
            sources.push(source);
        }
    }
    sources.sort_unstable_by(Source::loudest_first);
    for (index, member) in members.iter_mut().enumerate() {
        if let Some(app) = member.app_mut() {
            app.hear(room, sources, index, max_unmixed);
        }
    }
}
