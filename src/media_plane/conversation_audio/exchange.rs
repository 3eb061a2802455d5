//! The 20 ms exchange of a conversation's audio, and what browsers send between ticks.
//! Allocation-free unless an event is reported (events carry ids). App-hosted bots' frames and
//! notices are made in `app_hosted.rs`; this only says when.

use std::time::Instant;

use switchboard_media::dtmf::Digit;
use switchboard_media::session::{Event, LegId, Output};

use super::app_hosted::{Source, hear_in_room};
use super::room::Room;
use super::{ConversationAudio, MemberAudio, MemberMedia};
use crate::calls::media::MediaEvent;
use crate::media_plane::browser::PeerSender;
use crate::media_plane::env::WorkerEnv;
use crate::media_plane::leg::Heard;
use crate::webrtc::{AudioPacket, TelephoneEventPacket};

/// Ticks between two speaking reports of one participant (500 ms): a hint for rosters, not a
/// level meter.
pub const SPEAKING_REPORT_TICKS: u64 = 25;

impl ConversationAudio {
    /// One 20 ms tick: every bot's session and the room (if any) tick, their packets go to the
    /// members who hear them (browsers through `out`), keys and speaking changes are reported,
    /// and the bots' operations advance.
    pub fn tick(&mut self, env: &mut WorkerEnv, out: &mut impl PeerSender, now: Instant) {
        self.ticks += 1;
        if self.room.is_some() {
            self.tick_room(env, out, now);
        } else {
            self.tick_direct(env, out, now);
        }
        for member in self.members.iter_mut() {
            let MemberAudio { call, media, .. } = member;
            match media {
                MemberMedia::Bot(leg) => {
                    leg.count_dropped_events(env);
                    leg.advance(env, call);
                }
                // A tick that sent a browser nothing (a lost packet passed on as a gap) still
                // moves its timeline on.
                MemberMedia::Browser(browser) => browser.tick_done(),
            }
        }
        self.report_speaking(env);
    }

    /// Two members (or one): each bot's link carries the other member.
    fn tick_direct(&mut self, env: &mut WorkerEnv, out: &mut impl PeerSender, now: Instant) {
        let pair = self.members.len() == 2;
        for i in 0..self.members.len() {
            let (me, mut other) = if pair {
                let (a, b) = self.members.split_at_mut(1);
                if i == 0 {
                    (&mut a[0], Some(&mut b[0]))
                } else {
                    (&mut b[0], Some(&mut a[0]))
                }
            } else {
                (&mut self.members[i], None)
            };
            let muted = me.muted();
            let MemberAudio { call, media, .. } = me;
            let MemberMedia::Bot(leg) = media else {
                continue;
            };
            if let Some(app) = leg.app.as_deref_mut() {
                app.play_into(&mut leg.session);
            }
            leg.session.tick(now);
            while let Some(output) = leg.session.poll_output() {
                match output {
                    Output::Packet(packet) => {
                        let Some(other) = other.as_deref_mut() else {
                            continue;
                        };
                        let payload = if muted { env.silence() } else { packet.payload };
                        match &mut other.media {
                            MemberMedia::Bot(them) => {
                                if let Some(link) = them.link {
                                    let _ = them.session.push_rtp(
                                        link,
                                        packet.sequence,
                                        packet.timestamp,
                                        payload,
                                        now,
                                    );
                                }
                            }
                            MemberMedia::Browser(browser) if browser.connected => {
                                let (timestamp, marker) = browser.stamp();
                                out.send(browser.peer, timestamp, marker, payload);
                            }
                            MemberMedia::Browser(_) => {}
                        }
                    }
                    Output::Event(event) => match leg.on_event(env, call, event, now) {
                        Some(Heard::Key(digit)) => {
                            if let (Some(app), Some(other)) = (leg.app.as_deref(), other.as_ref()) {
                                app.key_pressed(digit, other.source_id);
                            }
                            if leg.tones_subscribed {
                                let presser = other.as_ref().map(|o| o.participant.clone());
                                env.emit(MediaEvent::ToneDetected {
                                    call: call.clone(),
                                    tone: digit,
                                    participant: presser,
                                });
                            }
                        }
                        Some(Heard::Speaking(speaking)) => {
                            if let Some(other) = other.as_deref_mut() {
                                other.voice.speaking = speaking;
                            }
                        }
                        _ => {}
                    },
                }
            }
            if let Some(app) = leg.app.as_deref_mut() {
                // The link carries the other member: its frame is all the bot hears.
                let heard = other
                    .as_deref()
                    .zip(leg.link)
                    .and_then(|(o, link)| Source::heard(1 - i, o, &leg.session, link));
                app.hear(&leg.session, heard.as_slice(), i, env.max_unmixed_sources);
            }
        }
    }

    /// Three or more: bots feed the room, the room feeds everyone.
    fn tick_room(&mut self, env: &mut WorkerEnv, out: &mut impl PeerSender, now: Instant) {
        let ConversationAudio {
            members,
            room,
            sources,
            ..
        } = self;
        let room = room.as_mut().expect("tick_room runs with a room");
        for member in members.iter_mut() {
            let MemberAudio {
                call,
                media,
                room_leg,
                ..
            } = member;
            let MemberMedia::Bot(leg) = media else {
                continue;
            };
            if let Some(app) = leg.app.as_deref_mut() {
                app.play_into(&mut leg.session);
            }
            leg.session.tick(now);
            while let Some(output) = leg.session.poll_output() {
                match output {
                    Output::Packet(packet) => {
                        if let Some(room_leg) = *room_leg {
                            // Mutes are the room's: a muted member is left out of every mix.
                            let _ = room.session.push_rtp(
                                room_leg,
                                packet.sequence,
                                packet.timestamp,
                                packet.payload,
                                now,
                            );
                        }
                    }
                    // Keys and speech on the link are the room's mix: the room reports them
                    // per member instead.
                    Output::Event(event) => {
                        let _ = leg.on_event(env, call, event, now);
                    }
                }
            }
        }
        let Room { session, owners } = room;
        let owner = |leg: LegId| owners.get(leg.index()).copied().flatten();
        session.tick(now);
        while let Some(output) = session.poll_output() {
            match output {
                Output::Packet(packet) => {
                    let Some(member) = owner(packet.leg).and_then(|i| members.get_mut(i)) else {
                        continue;
                    };
                    match &mut member.media {
                        MemberMedia::Bot(leg) => {
                            if let Some(link) = leg.link {
                                let _ = leg.session.push_rtp(
                                    link,
                                    packet.sequence,
                                    packet.timestamp,
                                    packet.payload,
                                    now,
                                );
                            }
                        }
                        MemberMedia::Browser(browser) if browser.connected => {
                            let (timestamp, marker) = browser.stamp();
                            out.send(browser.peer, timestamp, marker, packet.payload);
                        }
                        MemberMedia::Browser(_) => {}
                    }
                }
                Output::Event(Event::ToneStarted { leg, digit, .. }) => {
                    if let Some(presser) = owner(leg) {
                        key_pressed(env, members, presser, digit);
                    }
                }
                Output::Event(Event::SpeechStarted { leg, .. }) => {
                    if let Some(member) = owner(leg).and_then(|i| members.get_mut(i)) {
                        member.voice.speaking = true;
                    }
                }
                Output::Event(Event::SpeechEnded { leg, .. }) => {
                    if let Some(member) = owner(leg).and_then(|i| members.get_mut(i)) {
                        member.voice.speaking = false;
                    }
                }
                Output::Event(_) => {}
            }
        }
        hear_in_room(members, session, sources, env.max_unmixed_sources);
    }

    /// Reports speaking changes, at most one per participant every [`SPEAKING_REPORT_TICKS`];
    /// a change held back is reported once the interval has passed (if it still holds).
    fn report_speaking(&mut self, env: &WorkerEnv) {
        for member in self.members.iter_mut() {
            let voice = &mut member.voice;
            if voice.speaking == voice.reported
                || self.ticks < voice.reported_at + SPEAKING_REPORT_TICKS
            {
                continue;
            }
            voice.reported = voice.speaking;
            voice.reported_at = self.ticks;
            env.emit(MediaEvent::SpeakingChanged {
                conversation: self.id.clone(),
                participant: member.participant.clone(),
                speaking: voice.speaking,
            });
        }
    }

    /// One Opus packet from browser member `index`, as the edge received it.
    pub fn browser_audio(
        &mut self,
        env: &WorkerEnv,
        index: usize,
        packet: &AudioPacket,
        out: &mut impl PeerSender,
        now: Instant,
    ) {
        let sequence = packet.sequence as u16;
        if let Some(room) = self.room.as_mut() {
            if let Some(leg) = self.members.get(index).and_then(|m| m.room_leg) {
                let _ = room.session.push_rtp(
                    leg,
                    sequence,
                    packet.rtp_timestamp,
                    &packet.payload,
                    now,
                );
            }
            return;
        }
        let Some((me, Some(other))) = self.pair_mut(index) else {
            return;
        };
        let muted = me.muted();
        match &mut other.media {
            MemberMedia::Bot(bot) => {
                let Some(link) = bot.link else { return };
                let payload = if muted {
                    env.silence()
                } else {
                    &packet.payload
                };
                let _ = bot
                    .session
                    .push_rtp(link, sequence, packet.rtp_timestamp, payload, now);
            }
            MemberMedia::Browser(browser) if browser.connected => {
                let (timestamp, marker) =
                    browser.stamp_forwarded(packet.rtp_timestamp, packet.marker);
                let payload = if muted {
                    env.silence_shared()
                } else {
                    &packet.payload
                };
                out.forward(browser.peer, timestamp, marker, payload);
            }
            MemberMedia::Browser(_) => {}
        }
    }

    /// One RFC 4733 report from browser member `index`: to whoever detects its keys (the room,
    /// or the bot it talks to).
    pub fn browser_telephone_event(
        &mut self,
        index: usize,
        packet: &TelephoneEventPacket,
        now: Instant,
    ) {
        let sequence = packet.sequence as u16;
        let push = |session: &mut switchboard_media::MediaSession, leg| {
            let _ = session.push_telephone_event(
                leg,
                packet.clock_rate,
                sequence,
                packet.rtp_timestamp,
                packet.marker,
                &packet.payload,
                now,
            );
        };
        if let Some(room) = self.room.as_mut() {
            if let Some(leg) = self.members.get(index).and_then(|m| m.room_leg) {
                push(&mut room.session, leg);
            }
            return;
        }
        if let Some((_, Some(other))) = self.pair_mut(index)
            && let Some(bot) = other.bot_mut()
            && let Some(link) = bot.link
        {
            push(&mut bot.session, link);
        }
    }

    /// Member `index` and, in a two-member conversation, the other one.
    fn pair_mut(&mut self, index: usize) -> Option<(&mut MemberAudio, Option<&mut MemberAudio>)> {
        match (self.members.len(), index) {
            (2, 0) => {
                let (a, b) = self.members.split_at_mut(1);
                Some((&mut a[0], Some(&mut b[0])))
            }
            (2, 1) => {
                let (a, b) = self.members.split_at_mut(1);
                Some((&mut b[0], Some(&mut a[0])))
            }
            (_, i) => self.members.get_mut(i).map(|m| (m, None)),
        }
    }
}

/// Member `presser` pressed `digit` (heard by the room): every other bot that subscribed hears
/// of it, naming the presser, every app-hosted bot is told with the presser's source id, and a
/// recording of any other bot that stops on it ends.
fn key_pressed(env: &WorkerEnv, members: &mut [MemberAudio], presser: usize, digit: Digit) {
    // The presser's id is copied only for an event: a press nobody subscribed to (one an
    // app-hosted bot is told of by source id) allocates nothing.
    let subscribed = |(i, m): (usize, &MemberAudio)| {
        i != presser && matches!(&m.media, MemberMedia::Bot(leg) if leg.tones_subscribed)
    };
    let who = members
        .iter()
        .enumerate()
        .any(subscribed)
        .then(|| members[presser].participant.clone());
    let source_id = members[presser].source_id;
    for (i, member) in members.iter_mut().enumerate() {
        if i == presser {
            continue;
        }
        let MemberAudio { call, media, .. } = member;
        let MemberMedia::Bot(leg) = media else {
            continue;
        };
        if let Some(link) = leg.link {
            let _ = leg.session.key_pressed_elsewhere(link, digit);
        }
        if let Some(app) = leg.app.as_deref() {
            app.key_pressed(digit, source_id);
        }
        if leg.tones_subscribed {
            env.emit(MediaEvent::ToneDetected {
                call: call.clone(),
                tone: digit,
                participant: who.clone(),
            });
        }
    }
}
