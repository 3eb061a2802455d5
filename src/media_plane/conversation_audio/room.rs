//! The room: one conference `MediaSession` of a conversation of three or more, with a leg per
//! member. It decodes each member once, runs key and speech detection per member, and gives
//! every member the sum of the others — encoded once per distinct mix, a lone speaker's packet
//! forwarded untouched, silence to whoever hears nobody.

use switchboard_media::mixer::MAX_LEGS;
use switchboard_media::session::{LegConfig, LegId};

use super::SessionSetupError;
use switchboard_media::{MediaSession, SessionConfig};

/// Legs of the smallest room; rooms grow by doubling (up to the media crate's limit).
const MIN_ROOM_LEGS: usize = 4;

/// A conversation's conference session and who each of its legs carries.
pub(super) struct Room {
    /// The session that decodes each member once and encodes each distinct mix.
    pub(super) session: MediaSession,
    /// `owners[leg]`: the index of the member that room leg carries.
    pub(super) owners: Vec<Option<usize>>,
}

impl Room {
    /// A room with space for `members` (rounded up to a power of two, so a growing meeting
    /// rebuilds it rarely).
    pub(super) fn for_members(members: usize) -> Result<Room, SessionSetupError> {
        let legs = members.next_power_of_two().clamp(MIN_ROOM_LEGS, MAX_LEGS);
        let session = MediaSession::new(SessionConfig {
            max_legs: legs,
            // Nobody's silence is mixed: a large meeting of quiet listeners costs one encode.
            voice_activated_mix: true,
            // Speech changes and tones are reported per leg; periodic reports are not used.
            level_report_ticks: 0,
            stats_report_ticks: 0,
            // Room for a burst of key presses and speech changes of many members per tick.
            event_capacity: 4 * legs + 64,
        })
        .map_err(|source| SessionSetupError::Room { legs, source })?;
        Ok(Room {
            session,
            owners: vec![None; legs],
        })
    }

    /// How many members it can hold.
    pub(super) fn capacity(&self) -> usize {
        self.owners.len()
    }

    /// A new leg for a member, numbered from a random start as RFC 3550 asks.
    pub(super) fn add_leg(&mut self) -> Result<LegId, SessionSetupError> {
        let config = LegConfig {
            initial_sequence: rand::random(),
            initial_timestamp: rand::random(),
            ..LegConfig::default()
        };
        self.session
            .add_leg(config)
            .map_err(SessionSetupError::RoomLeg)
    }
}
