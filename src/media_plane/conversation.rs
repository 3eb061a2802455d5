//! A conversation on a worker: the legs that hear each other, and the 20 ms exchange of their
//! audio.
//!
//! Every bot leg has its own `MediaSession`, with one session leg ("link") per other member:
//! what member A's session sends on its link to B is pushed, as received RTP, into B's session on
//! its link to A, within the same tick. So A's prompts and sendDtmfTones reach B as real Opus
//! packets, B's receiver detects A's keys through the codec, and every key press is attributed
//! to the member whose packets carried it. Each session mutes its links in its own mixer, so a
//! session sends only its bot's sound; a member hears every other member over its own links
//! (a full mesh), and nobody's audio is relayed twice. A muted member (self or server mute)
//! sends silence packets instead, keeping the receivers' packet streams continuous.
//!
//! A two-member conversation (the usual P2P call) gives each session one link. A third member
//! makes the sessions grow to `group_session_legs` links: at once for the newcomer, and for the
//! others as soon as they run no operation (until then the link waits, and a member that leaves
//! frees a link for it).
//!
//! A WebRTC leg (a person in a browser, driven by the worker's edge) becomes another kind of
//! [`MemberMedia`]: it has no session of its own; its packets go into the bots' sessions on their
//! links to it, and what the bots send on those links goes out through the edge.

use std::time::Instant;

use switchboard_media::session::{LegConfig, LegId, Output, SessionError};

use super::env::WorkerEnv;
use super::leg::HostedLeg;
use crate::calls::ids::{CallId, ConversationId, ParticipantId};
use crate::calls::media::{Hosting, MediaEvent};

/// Most members of one conversation on a worker: a session hears at most 15 others.
pub const MAX_MEMBERS: usize = 16;
/// Session leg slots (the media crate's limit).
const MAX_LINKS: usize = MAX_MEMBERS - 1;

/// How a member's media is carried.
pub enum MemberMedia {
    /// A bot whose media Switchboard runs (service- or app-hosted).
    Hosted(Box<HostedLeg>),
}

/// One leg in the conversation.
pub struct Member {
    /// The leg.
    pub call: CallId,
    /// Its participant id.
    pub participant: ParticipantId,
    /// Its media.
    pub media: MemberMedia,
    /// Join order, for choosing whom a recording listens to.
    joined: u64,
    /// The bot muted itself.
    pub self_muted: bool,
    /// Another participant muted it.
    pub server_muted: bool,
    /// `links[j]`: the session leg that carries member `j`.
    links: [Option<LegId>; MAX_MEMBERS],
    /// `owners[leg]`: the member a session leg carries.
    owners: [Option<u8>; MAX_LINKS],
    /// A link could not be made for lack of room: grow the session when idle.
    wants_room: bool,
}

impl Member {
    /// The hosted leg.
    pub fn hosted_mut(&mut self) -> &mut HostedLeg {
        match &mut self.media {
            MemberMedia::Hosted(leg) => leg,
        }
    }

    fn hosted(&self) -> &HostedLeg {
        match &self.media {
            MemberMedia::Hosted(leg) => leg,
        }
    }

    fn unlink_all(&mut self) {
        self.links = [None; MAX_MEMBERS];
        self.owners = [None; MAX_LINKS];
    }
}

/// Why a leg could not join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRefused(pub String);

/// The members of one conversation on this worker.
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    members: Vec<Option<Member>>,
    server_muted: Vec<ParticipantId>,
    joins: u64,
}

impl Conversation {
    /// An empty conversation with room for [`MAX_MEMBERS`].
    pub fn new(id: ConversationId) -> Conversation {
        Conversation {
            id,
            members: (0..MAX_MEMBERS).map(|_| None).collect(),
            server_muted: Vec::new(),
            joins: 0,
        }
    }

    /// Members present.
    pub fn len(&self) -> usize {
        self.members.iter().flatten().count()
    }

    /// Whether nobody is left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The member for `call`.
    pub fn member_mut(&mut self, call: &CallId) -> Option<&mut Member> {
        self.members.iter_mut().flatten().find(|m| m.call == *call)
    }

    /// Adds a bot leg and links it with everyone present.
    pub fn join(
        &mut self,
        env: &WorkerEnv,
        call: CallId,
        participant: ParticipantId,
        hosting: Hosting,
    ) -> Result<(), JoinRefused> {
        let Some(slot) = self.members.iter().position(Option::is_none) else {
            return Err(JoinRefused(format!(
                "the conversation already has {MAX_MEMBERS} participants with media, the most one \
                 media worker mixes"
            )));
        };
        let others = self.len();
        let legs = if others <= 1 {
            1
        } else {
            env.group_session_legs.max(others)
        }
        .min(MAX_LINKS);
        let leg = HostedLeg::new(hosting, legs).map_err(JoinRefused)?;
        self.joins += 1;
        let server_muted = self.server_muted.contains(&participant);
        self.members[slot] = Some(Member {
            call,
            participant,
            media: MemberMedia::Hosted(Box::new(leg)),
            joined: self.joins,
            self_muted: false,
            server_muted,
            links: [None; MAX_MEMBERS],
            owners: [None; MAX_LINKS],
            wants_room: false,
        });
        if others >= 1 {
            for member in self.members.iter_mut().flatten() {
                // The others will need room for the newcomer (and the ones after it).
                if member.hosted().capacity() < others {
                    member.wants_room = true;
                }
            }
        }
        self.link_everyone();
        Ok(())
    }

    /// Removes a leg: the others' links to it go (a recording of it ends with callDropped), its
    /// session ends without reports, and links that waited for room are made.
    pub fn leave(&mut self, env: &mut WorkerEnv, call: &CallId) -> bool {
        let Some(slot) = self
            .members
            .iter()
            .position(|m| m.as_ref().is_some_and(|m| m.call == *call))
        else {
            return false;
        };
        for other in self.members.iter_mut().flatten() {
            if let Some(leg) = other.links[slot].take() {
                other.owners[leg.index()] = None;
                let _ = other.hosted_mut().session.remove_leg(leg);
            }
        }
        if let Some(member) = self.members[slot].take() {
            match member.media {
                MemberMedia::Hosted(leg) => leg.close(env),
            }
        }
        self.link_everyone();
        true
    }

    /// Sets or clears a server mute of `participant` (also for members that join later).
    pub fn server_mute(&mut self, participant: &ParticipantId, muted: bool) {
        self.server_muted.retain(|p| p != participant);
        if muted {
            self.server_muted.push(participant.clone());
        }
        for member in self.members.iter_mut().flatten() {
            if member.participant == *participant {
                member.server_muted = muted;
            }
        }
    }

    /// Grows the sessions that wait for room and run nothing; returns whether any still wait.
    pub fn make_room(&mut self, env: &WorkerEnv) -> bool {
        let mut waiting = false;
        let mut grown = false;
        for member in self.members.iter_mut().flatten() {
            if !member.wants_room {
                continue;
            }
            let leg = member.hosted_mut();
            if !leg.is_idle() {
                waiting = true;
                continue;
            }
            let legs = env
                .group_session_legs
                .max(leg.capacity() + 1)
                .min(MAX_LINKS);
            if leg.grow(legs).is_ok() {
                member.unlink_all();
                member.wants_room = false;
                grown = true;
            }
        }
        if grown {
            self.link_everyone();
        }
        waiting
    }

    /// Makes every missing link that has room.
    fn link_everyone(&mut self) {
        for i in 0..MAX_MEMBERS {
            for j in 0..MAX_MEMBERS {
                if i == j || self.members[j].is_none() {
                    continue;
                }
                let Some(member) = self.members[i].as_mut() else {
                    break;
                };
                if member.links[j].is_some() {
                    continue;
                }
                let config = LegConfig {
                    initial_sequence: rand::random(),
                    initial_timestamp: rand::random(),
                    ..LegConfig::default()
                };
                let session = &mut member.hosted_mut().session;
                match session.add_leg(config) {
                    Ok(leg) => {
                        // The session sends only its bot's sound: each member hears the others
                        // over its own links, not relayed through a third session.
                        let _ = session.mute(leg, true);
                        member.links[j] = Some(leg);
                        member.owners[leg.index()] = Some(j as u8);
                    }
                    Err(SessionError::LegsFull { .. }) => member.wants_room = true,
                    Err(_) => {}
                }
            }
        }
    }

    /// One 20 ms tick: every session ticks, then each one's packets go into the sessions of the
    /// members they are for, and its events become operation results and tone reports.
    /// Allocation-free unless an event is reported.
    pub fn tick(&mut self, env: &mut WorkerEnv, now: Instant) {
        for member in self.members.iter_mut().flatten() {
            member.hosted_mut().session.tick(now);
        }
        for i in 0..MAX_MEMBERS {
            let (before, rest) = self.members.split_at_mut(i);
            let Some((Some(me), after)) = rest.split_first_mut() else {
                continue;
            };
            let muted = me.self_muted || me.server_muted;
            loop {
                let Member {
                    call,
                    media: MemberMedia::Hosted(leg),
                    owners,
                    ..
                } = &mut *me;
                let Some(output) = leg.session.poll_output() else {
                    break;
                };
                match output {
                    Output::Packet(packet) => {
                        let Some(j) = owners[packet.leg.index()].map(usize::from) else {
                            continue;
                        };
                        let dest = if j < i {
                            before[j].as_mut()
                        } else {
                            after[j - i - 1].as_mut()
                        };
                        let Some(dest) = dest else { continue };
                        let Some(link) = dest.links[i] else { continue };
                        let payload = if muted { env.silence() } else { packet.payload };
                        let _ = dest.hosted_mut().session.push_rtp(
                            link,
                            packet.sequence,
                            packet.timestamp,
                            payload,
                            now,
                        );
                    }
                    Output::Event(event) => {
                        let Some(tone) = leg.on_event(env, call, event, now) else {
                            continue;
                        };
                        let from = owners[tone.leg.index()].map(usize::from);
                        let participant = from
                            .and_then(|j| {
                                if j < i {
                                    before[j].as_ref()
                                } else {
                                    after[j - i - 1].as_ref()
                                }
                            })
                            .map(|m| m.participant.clone());
                        env.emit(MediaEvent::ToneDetected {
                            call: call.clone(),
                            tone: tone.digit,
                            participant,
                        });
                    }
                }
            }
            let record_leg = recorded_link(me, before, after, i);
            let Member {
                call,
                media: MemberMedia::Hosted(leg),
                ..
            } = me;
            leg.count_dropped_events(env);
            leg.advance(env, call, record_leg);
        }
    }
}

/// The link a recording of `me` (member `i`) listens to: the member who joined first among those
/// it is linked to — in a two-party call, the other party.
fn recorded_link(
    me: &Member,
    before: &[Option<Member>],
    after: &[Option<Member>],
    i: usize,
) -> Option<LegId> {
    let mut best: Option<(u64, LegId)> = None;
    for (j, link) in me.links.iter().enumerate() {
        let Some(link) = link else { continue };
        let other = if j < i {
            before[j].as_ref()
        } else if j > i {
            after[j - i - 1].as_ref()
        } else {
            None
        };
        if let Some(other) = other
            && best.is_none_or(|(joined, _)| other.joined < joined)
        {
            best = Some((other.joined, *link));
        }
    }
    best.map(|(_, link)| link)
}
