//! The audio side of a conversation on a worker: its members' media (bots and people in
//! browsers) and the 20 ms exchange of their audio. Who is in the conversation, and in what
//! state, is the call layer's (`calls::conversation`); this is only what they hear and say.
//!
//! Every bot has its own `MediaSession` with exactly one leg, its *link*: what the bot hears
//! and where its prompts, beeps and keys go. A browser has no session; it is a peer of the
//! worker's WebRTC edge. How the members are joined depends on how many there are:
//!
//! - **Two members: direct.** Bot↔bot: what one session sends on its link becomes the other's
//!   received RTP in the same tick. Bot↔browser: the browser's packets go into the bot's link,
//!   the bot's packets (cached prompt packets, untouched) go out through the edge. Browser↔browser:
//!   each packet is passed on as it arrives, without decode, encode or copy. Keys are detected
//!   by the bot's session on its link, so they name the other member.
//! - **Three or more: the room.** One conference session (`room.rs`) has a leg per member. Each
//!   member is decoded once there; the room's tone receivers and level meters run per member
//!   (so a key names who pressed it and speaking hints are per participant), and its mixer gives
//!   every member the sum of all the others, never itself: one encode per distinct mix, a lone
//!   speaker forwarded as is, and only members whose audio stands above their noise floor in
//!   the mix, so a meeting of fifty quiet listeners costs one shared encode. A bot's link then
//!   carries the room: the bot hears (and records) the mix of everyone else, and its prompts
//!   enter the room as one more member. Server mute takes a member out of every mix.
//!
//! Why not a mesh of bot sessions (each bot linked to each member, as before): a bot's session
//! had to grow a leg per member, which it could not do while an operation ran, so newcomers went
//! unheard; browsers could not hear each other at all; and a recording heard one member. With
//! the room, bot sessions never change shape (a newcomer is a new room leg, heard at once), and
//! everyone's audio is decoded once whatever the number of bots.
//!
//! The change between the two shapes happens when members join or leave: a bot keeps its link
//! (only its source changes, which the jitter buffer takes as a new sender), a browser keeps one
//! RTP timeline, and the room is rebuilt only when it grows past a power of two.

mod app_hosted;
mod exchange;
mod room;
mod speakers;

use std::sync::Arc;

use switchboard_media::session::{LegId, SessionError};
use tokio::sync::watch;

use super::app_stream::AppStream;
use super::browser::BrowserMember;
use super::env::WorkerEnv;
use super::leg::HostedLeg;
use super::webrtc_legs::WebRtcLegState;
use crate::calls::ids::{CallId, ConversationId, ParticipantId};
use crate::calls::media::Hosting;
use crate::webrtc::PeerId;
pub use app_hosted::AppHostedAudio;
use app_hosted::Source;
use room::Room;

/// Most members of one conversation: one worker mixes them all (the media crate's sessions hold
/// up to 127 legs).
pub const MAX_MEMBERS: usize = 100;

/// How a member's media is carried.
pub enum MemberMedia {
    /// A bot whose media Switchboard runs (service- or app-hosted).
    Bot(Box<HostedLeg>),
    /// A person in a browser, through the worker's WebRTC edge.
    Browser(Box<BrowserMember>),
}

/// Speaking as measured, and as last reported to the control plane.
#[derive(Debug, Clone, Copy, Default)]
struct Voice {
    speaking: bool,
    reported: bool,
    /// The conversation tick of the last report.
    reported_at: u64,
}

/// One member's audio in the conversation: how it is carried, its mutes, its room leg and
/// whether it is speaking.
pub struct MemberAudio {
    /// The member's call: a bot's call, or a person's WebRTC leg.
    pub call: CallId,
    /// Its roster id: names who pressed a key or spoke, and is what a server mute names.
    pub participant: ParticipantId,
    /// The number its audio is known by on app-hosted bots' media sockets (its roster
    /// `mediaStreams[0].sourceId`): what their unmixed frames, key and speaker notices carry.
    pub source_id: u32,
    /// How its audio travels: a bot's own session, or a browser's WebRTC peer.
    pub media: MemberMedia,
    /// The bot muted itself (`POST …/mute`); it is heard as silence until it unmutes.
    pub self_muted: bool,
    /// Another participant muted it.
    pub server_muted: bool,
    /// Its leg in the room, while there is one.
    room_leg: Option<LegId>,
    voice: Voice,
}

impl MemberAudio {
    fn new(
        call: CallId,
        participant: ParticipantId,
        source_id: u32,
        media: MemberMedia,
        muted: bool,
    ) -> MemberAudio {
        MemberAudio {
            call,
            participant,
            source_id,
            media,
            self_muted: false,
            server_muted: muted,
            room_leg: None,
            voice: Voice::default(),
        }
    }

    /// Whether nobody may hear it.
    pub fn muted(&self) -> bool {
        self.self_muted || self.server_muted
    }

    /// The bot's leg, if it is a bot.
    pub fn bot_mut(&mut self) -> Option<&mut HostedLeg> {
        match &mut self.media {
            MemberMedia::Bot(leg) => Some(leg),
            MemberMedia::Browser(_) => None,
        }
    }

    /// An app-hosted bot's lane, once attached.
    pub fn app(&self) -> Option<&AppHostedAudio> {
        match &self.media {
            MemberMedia::Bot(leg) => leg.app.as_deref(),
            MemberMedia::Browser(_) => None,
        }
    }

    /// An app-hosted bot's lane, once attached, to drive.
    pub fn app_mut(&mut self) -> Option<&mut AppHostedAudio> {
        self.bot_mut()?.app.as_deref_mut()
    }

    /// The browser's leg, if it is a browser.
    pub fn browser_mut(&mut self) -> Option<&mut BrowserMember> {
        match &mut self.media {
            MemberMedia::Browser(leg) => Some(leg),
            MemberMedia::Bot(_) => None,
        }
    }

    /// Its edge peer, if it is a browser.
    pub fn peer(&self) -> Option<PeerId> {
        match &self.media {
            MemberMedia::Browser(leg) => Some(leg.peer),
            MemberMedia::Bot(_) => None,
        }
    }
}

/// Why a leg could not join its conversation's audio.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinRefused {
    /// The conversation has as many members as one worker mixes.
    #[error(
        "the conversation already has {max} participants with media, the most one media worker \
         mixes"
    )]
    Full {
        /// The most members a conversation has ([`MAX_MEMBERS`]).
        max: usize,
    },
    /// The newcomer's session, or the room the conversation now needs, could not be set up.
    #[error(transparent)]
    Session(#[from] SessionSetupError),
}

/// Why a media session for a member could not be set up: a bot's own, or the room's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionSetupError {
    /// A bot's session, or the leg it hears on (its link), could not be made.
    #[error("media session: {0}")]
    Bot(#[source] SessionError),
    /// The room's conference session could not be made.
    #[error("conference session of {legs} legs: {source}")]
    Room {
        /// The legs it was to have.
        legs: usize,
        /// What the media crate said.
        source: SessionError,
    },
    /// A member's leg in the room could not be added.
    #[error("conference session: {0}")]
    RoomLeg(#[source] SessionError),
}

/// The audio of one conversation on this worker: its members', the room that mixes three or more,
/// and the server mutes that also hold for members who join later.
pub struct ConversationAudio {
    /// The conversation's id (the `callChainId` of its calls).
    pub id: ConversationId,
    members: Vec<MemberAudio>,
    room: Option<Room>,
    server_muted: Vec<ParticipantId>,
    /// Every member as the room heard it this tick, for app-hosted bots; it gets room for
    /// [`MAX_MEMBERS`] when the first app-hosted bot's lane is attached, so a tick never grows it.
    sources: Vec<Source>,
    ticks: u64,
}

impl ConversationAudio {
    /// A conversation's audio with nobody in it yet.
    pub fn new(id: ConversationId) -> ConversationAudio {
        ConversationAudio {
            id,
            members: Vec::new(),
            room: None,
            server_muted: Vec::new(),
            sources: Vec::new(),
            ticks: 0,
        }
    }

    /// Members present.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nobody is left.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether the members are joined through a room (three or more).
    pub fn has_room(&self) -> bool {
        self.room.is_some()
    }

    /// The member for `call`.
    pub fn member_mut(&mut self, call: &CallId) -> Option<&mut MemberAudio> {
        self.members.iter_mut().find(|m| m.call == *call)
    }

    /// The index of the browser member on edge peer `peer`.
    pub(crate) fn browser_index(&self, peer: PeerId) -> Option<usize> {
        self.members.iter().position(|m| m.peer() == Some(peer))
    }

    /// Adds a bot leg; it hears and is heard from the next tick.
    pub fn join_bot(
        &mut self,
        call: CallId,
        participant: ParticipantId,
        source_id: u32,
        hosting: Hosting,
    ) -> Result<(), JoinRefused> {
        let leg = HostedLeg::new(hosting)?;
        self.join(
            call,
            participant,
            source_id,
            MemberMedia::Bot(Box::new(leg)),
        )
    }

    /// Adds a browser whose offer the edge answered as `peer`.
    pub fn join_browser(
        &mut self,
        call: CallId,
        participant: ParticipantId,
        source_id: u32,
        peer: PeerId,
        state: watch::Sender<WebRtcLegState>,
    ) -> Result<(), JoinRefused> {
        let leg = BrowserMember::new(peer, state);
        self.join(
            call,
            participant,
            source_id,
            MemberMedia::Browser(Box::new(leg)),
        )
    }

    fn join(
        &mut self,
        call: CallId,
        participant: ParticipantId,
        source_id: u32,
        media: MemberMedia,
    ) -> Result<(), JoinRefused> {
        if self.members.len() >= MAX_MEMBERS {
            return Err(JoinRefused::Full { max: MAX_MEMBERS });
        }
        let muted = self.server_muted.contains(&participant);
        self.members
            .push(MemberAudio::new(call, participant, source_id, media, muted));
        if let Err(reason) = self.relink() {
            // Undo: the others go back to how they were joined before.
            self.members.pop();
            let _ = self.relink();
            return Err(reason.into());
        }
        Ok(())
    }

    /// Removes a leg. A bot's session ends without reports (a recording of the others hearing
    /// it goes on; a bot left alone loses its link, ending its recording with callDropped). A
    /// browser's member is handed back for the worker to close its peer.
    pub fn leave(&mut self, env: &mut WorkerEnv, call: &CallId) -> Option<Box<BrowserMember>> {
        let index = self.members.iter().position(|m| m.call == *call)?;
        let member = self.members.remove(index);
        if let (Some(room), Some(leg)) = (self.room.as_mut(), member.room_leg) {
            let _ = room.session.remove_leg(leg);
        }
        // Removing members only shrinks what is needed: relinking cannot fail.
        let _ = self.relink();
        match member.media {
            MemberMedia::Bot(leg) => {
                leg.close(env);
                None
            }
            MemberMedia::Browser(leg) => Some(leg),
        }
    }

    /// Gives the app-hosted bot of `call` its lane to its media socket; the stream is handed back
    /// when `call` is not a member here or not an app-hosted bot.
    pub fn attach_stream(
        &mut self,
        call: &CallId,
        stream: Arc<AppStream>,
    ) -> Result<(), Arc<AppStream>> {
        let Some(bot) = self.member_mut(call).and_then(|m| m.bot_mut()) else {
            return Err(stream);
        };
        bot.attach(stream)?;
        // Made here, off the tick: a room's tick lists every member for its app-hosted bots.
        self.sources.reserve_exact(MAX_MEMBERS);
        Ok(())
    }

    /// Sets or clears a server mute of `participant` (also for members that join later).
    pub fn server_mute(&mut self, participant: &ParticipantId, muted: bool) {
        self.server_muted.retain(|p| p != participant);
        if muted {
            self.server_muted.push(participant.clone());
        }
        for member in self.members.iter_mut() {
            if member.participant == *participant {
                member.server_muted = muted;
            }
        }
        self.apply_mutes();
    }

    /// A bot mutes (or unmutes) itself.
    pub fn self_mute(&mut self, call: &CallId, muted: bool) {
        if let Some(member) = self.member_mut(call) {
            member.self_muted = muted;
        }
        self.apply_mutes();
    }

    fn apply_mutes(&mut self) {
        if let Some(room) = self.room.as_mut() {
            for member in &self.members {
                if let Some(leg) = member.room_leg {
                    let _ = room.session.mute(leg, member.muted());
                }
            }
        }
    }

    /// Joins the members the way their number asks for (see the module documentation).
    fn relink(&mut self) -> Result<(), SessionSetupError> {
        for member in self.members.iter_mut() {
            if let Some(browser) = member.browser_mut() {
                browser.source_changed();
            }
        }
        if self.members.len() < 3 {
            if self.room.take().is_some() {
                for member in self.members.iter_mut() {
                    member.room_leg = None;
                }
            }
            let pair = self.members.len() == 2;
            for member in self.members.iter_mut() {
                if let Some(bot) = member.bot_mut() {
                    if pair {
                        bot.ensure_link()?;
                    } else {
                        bot.drop_link();
                    }
                }
            }
            return Ok(());
        }
        let needed = self.members.len();
        if self.room.as_ref().is_none_or(|r| r.capacity() < needed) {
            let room = Room::for_members(needed)?;
            self.room = Some(room);
            for member in self.members.iter_mut() {
                member.room_leg = None;
            }
        }
        let room = self.room.as_mut().expect("made above");
        room.owners.fill(None);
        for (index, member) in self.members.iter_mut().enumerate() {
            let leg = match member.room_leg {
                Some(leg) => leg,
                None => {
                    let leg = room.add_leg()?;
                    member.room_leg = Some(leg);
                    leg
                }
            };
            room.owners[leg.index()] = Some(index);
            let _ = room.session.mute(leg, member.muted());
            if let Some(bot) = member.bot_mut() {
                bot.ensure_link()?;
            }
        }
        Ok(())
    }
}
