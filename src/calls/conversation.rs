//! A conversation: the participants that hear each other, shared by every leg's view of the
//! roster. A P2P call, a group call and a meeting are each one conversation.

use super::ids::{CallId, ConversationId, OperationId, ParticipantId};
use super::media::StreamParticipant;
use crate::graph::odata::type_name;
use crate::graph::{MediaStream, Participant, ParticipantInfo};

/// What kind of conversation it is; it decides what happens when someone leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationKind {
    /// Two parties; when one leaves, the call ends for the other.
    PeerToPeer,
    /// A group call created by a bot (or a P2P call escalated by an invite).
    Group,
    /// An online meeting, by meeting id; it lasts while anyone is in it, until the last person
    /// (not a bot) leaves it.
    Meeting(String),
}

/// Whether a member has joined or is still being rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Being rung; not in the roster yet.
    Ringing,
    /// In the conversation and the roster.
    Joined,
}

/// One member of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The participant id, the same in every leg's roster.
    pub id: ParticipantId,
    /// The number its audio is known by (`mediaStreams[0].sourceId`, and the `sourceId` of its
    /// frames on app-hosted bots' media sockets); unique in the conversation, never 0 (the mix).
    pub source_id: u32,
    /// Who it is.
    pub info: ParticipantInfo,
    /// The app leg of this member, if an app is the member (users on a softphone have none).
    pub leg: Option<CallId>,
    /// Ringing or joined.
    pub presence: Presence,
    /// Muted by itself.
    pub self_muted: bool,
    /// Muted by the server (participant mute).
    pub server_muted: bool,
    /// Speaking, as the media plane last reported; `None` until it reports.
    pub speaking: Option<bool>,
    /// The roster sequence in which this member last changed.
    pub roster_sequence: i64,
    /// Set on a transfer target: the leg being transferred away.
    pub transfer_of: Option<CallId>,
    /// Set on an invitee: the leg and invite operation to report to.
    pub invited_by: Option<(CallId, OperationId)>,
}

impl Member {
    /// A member with a fresh participant id.
    pub fn new(info: ParticipantInfo, leg: Option<CallId>, presence: Presence) -> Member {
        let id = ParticipantId::random();
        let mut info = info;
        info.participant_id = Some(id.to_string());
        Member {
            id,
            source_id: 0,
            info,
            leg,
            presence,
            self_muted: false,
            server_muted: false,
            speaking: None,
            roster_sequence: 0,
            transfer_of: None,
            invited_by: None,
        }
    }

    /// Whether the member is a person (a user on a softphone), not an app: people have no leg.
    pub fn is_person(&self) -> bool {
        self.leg.is_none()
    }

    /// The member as a roster `participant`.
    pub fn view(&self) -> Participant {
        Participant {
            odata_type: Some(type_name("participant")),
            id: Some(self.id.to_string()),
            info: self.info.clone(),
            media_streams: vec![MediaStream::main_audio(
                self.source_id.to_string(),
                self.server_muted,
            )],
            is_muted: self.self_muted || self.server_muted,
            is_in_lobby: false,
            metadata: None,
            roster_sequence_number: Some(self.roster_sequence),
            removed_state: None,
            is_speaking: self.speaking,
        }
    }
}

/// A conversation and its members.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The id (each leg's `callChainId`).
    pub id: ConversationId,
    /// P2P, group or meeting.
    pub kind: ConversationKind,
    /// Members, in the order they were added.
    pub members: Vec<Member>,
    /// The roster sequence, bumped on every roster change.
    pub roster_sequence: i64,
    /// Whether anyone other than the creator ever joined (for group-call endings).
    pub anyone_joined: bool,
    /// Whether a person (not a bot) ever joined (for meeting endings: bots join first).
    pub person_joined: bool,
    /// The source id given to the last member added; ids are never reused in a conversation.
    pub last_source_id: u32,
}

impl Conversation {
    /// A conversation of this kind with a fresh id, no members and roster sequence 0.
    pub fn new(kind: ConversationKind) -> Conversation {
        Conversation {
            id: ConversationId::random(),
            kind,
            members: Vec::new(),
            roster_sequence: 0,
            anyone_joined: false,
            person_joined: false,
            last_source_id: 0,
        }
    }

    /// Adds a member, stamping the roster sequence.
    pub fn add(&mut self, mut member: Member) -> ParticipantId {
        self.roster_sequence += 1;
        member.roster_sequence = self.roster_sequence;
        self.last_source_id += 1;
        member.source_id = self.last_source_id;
        let id = member.id.clone();
        self.members.push(member);
        id
    }

    /// The member with this id.
    pub fn member(&self, id: &ParticipantId) -> Option<&Member> {
        self.members.iter().find(|m| &m.id == id)
    }

    /// The member with this id, mutably, stamping the roster sequence (it is about to change).
    pub fn member_mut(&mut self, id: &ParticipantId) -> Option<&mut Member> {
        let member = self.members.iter_mut().find(|m| &m.id == id)?;
        self.roster_sequence += 1;
        member.roster_sequence = self.roster_sequence;
        Some(member)
    }

    /// Removes a member and returns it.
    pub fn remove(&mut self, id: &ParticipantId) -> Option<Member> {
        let index = self.members.iter().position(|m| &m.id == id)?;
        self.roster_sequence += 1;
        Some(self.members.remove(index))
    }

    /// Joined members: the roster.
    pub fn roster(&self) -> Vec<Participant> {
        self.members
            .iter()
            .filter(|m| m.presence == Presence::Joined)
            .map(Member::view)
            .collect()
    }

    /// Every joined member as an app-hosted bot's media socket lists it.
    pub fn stream_participants(&self) -> Vec<StreamParticipant> {
        self.joined()
            .map(|m| StreamParticipant {
                id: m.id.clone(),
                source_id: m.source_id,
                identity: m.info.identity.clone(),
            })
            .collect()
    }

    /// Members still ringing.
    pub fn ringing(&self) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(|m| m.presence == Presence::Ringing)
    }

    /// Joined members.
    pub fn joined(&self) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(|m| m.presence == Presence::Joined)
    }

    /// Whether a person is in the conversation, joined or still being rung.
    pub fn has_people(&self) -> bool {
        self.members.iter().any(Member::is_person)
    }

    /// The app legs of joined members.
    pub fn joined_legs(&self) -> Vec<CallId> {
        self.joined().filter_map(|m| m.leg.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::IdentitySet;

    #[test]
    fn roster_lists_joined_members_with_their_mute_state_and_sequence() {
        let mut conversation = Conversation::new(ConversationKind::Group);
        let a = conversation.add(Member::new(
            ParticipantInfo::new(IdentitySet::application("app-a", None)),
            Some(CallId::from("ca")),
            Presence::Joined,
        ));
        let b = conversation.add(Member::new(
            ParticipantInfo::new(IdentitySet::user("u", None)),
            None,
            Presence::Ringing,
        ));
        assert_eq!(conversation.roster().len(), 1);
        conversation.member_mut(&b).unwrap().presence = Presence::Joined;
        conversation.member_mut(&a).unwrap().server_muted = true;
        let roster = conversation.roster();
        assert_eq!(roster.len(), 2);
        let muted = roster
            .iter()
            .find(|p| p.id.as_deref() == Some(a.as_str()))
            .unwrap();
        assert!(muted.is_muted);
        assert!(muted.media_streams[0].server_muted);
        assert_eq!(
            muted.roster_sequence_number,
            Some(conversation.roster_sequence)
        );
        assert_eq!(muted.info.participant_id.as_deref(), Some(a.as_str()));
        assert_eq!(conversation.joined_legs(), vec![CallId::from("ca")]);
        assert!(conversation.remove(&b).is_some());
        assert!(conversation.member(&b).is_none());
    }
}
