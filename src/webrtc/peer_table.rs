//! The peers of one edge: slots addressed by [`PeerId`], and the source-address map that sends
//! each datagram to its peer with one lookup.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use str0m::Input;

use super::PeerId;
use super::peer::Peer;

/// Peers in reusable slots. A slot's generation grows each time it is reserved, so a stale
/// [`PeerId`] never reaches the peer that reuses its slot.
#[derive(Default)]
pub(crate) struct PeerTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_source: HashMap<SocketAddr, PeerId>,
}

#[derive(Default)]
struct Slot {
    generation: u32,
    peer: Option<Peer>,
}

impl PeerTable {
    /// Reserves a slot for a peer being built; give it back with [`Self::release`] if the peer
    /// is never inserted.
    pub(crate) fn reserve(&mut self) -> PeerId {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            (self.slots.len() - 1) as u32
        });
        let entry = &mut self.slots[slot as usize];
        entry.generation = entry.generation.wrapping_add(1);
        PeerId {
            slot,
            generation: entry.generation,
        }
    }

    /// Gives back a reserved slot whose peer was never inserted.
    pub(crate) fn release(&mut self, id: PeerId) {
        self.free.push(id.slot);
    }

    /// Puts a peer built in a reserved slot in place.
    pub(crate) fn insert(&mut self, peer: Peer) -> PeerId {
        let id = peer.id;
        let slot = &mut self.slots[id.slot as usize];
        debug_assert_eq!(
            slot.generation, id.generation,
            "insert into the reserved slot"
        );
        slot.peer = Some(peer);
        id
    }

    /// Takes a peer out, forgetting its source addresses.
    pub(crate) fn remove(&mut self, id: PeerId) -> Option<Peer> {
        let peer = self
            .slots
            .get_mut(id.slot as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.peer.take())?;
        for source in &peer.sources {
            if self.by_source.get(source) == Some(&id) {
                self.by_source.remove(source);
            }
        }
        self.free.push(id.slot);
        Some(peer)
    }

    pub(crate) fn get(&self, id: PeerId) -> Option<&Peer> {
        self.slots
            .get(id.slot as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.peer.as_ref())
    }

    pub(crate) fn get_mut(&mut self, id: PeerId) -> Option<&mut Peer> {
        self.slots
            .get_mut(id.slot as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.peer.as_mut())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Peer> {
        self.slots.iter().filter_map(|s| s.peer.as_ref())
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Peer> {
        self.slots.iter_mut().filter_map(|s| s.peer.as_mut())
    }

    /// The peer a datagram from `from` belongs to: by its source address, else by asking each
    /// peer's `Rtc` (STUN by ICE username, others by candidate).
    pub(crate) fn find(&self, from: SocketAddr, input: &Input) -> Option<PeerId> {
        if let Some(&id) = self.by_source.get(&from)
            && self.get(id).is_some_and(|p| p.rtc.accepts(input))
        {
            return Some(id);
        }
        // A source not seen yet: the first STUN check of a new peer, or a NAT rebinding. Rare,
        // so a scan is fine.
        self.iter().find(|p| p.rtc.accepts(input)).map(|p| p.id)
    }

    /// Notes that `id` took a datagram from `from` at `now`: a sign of life, and a source to
    /// map to it from now on.
    pub(crate) fn heard_from(&mut self, id: PeerId, now: Instant, from: SocketAddr) {
        let Some(peer) = self.get_mut(id) else {
            return;
        };
        if let Some(new_source) = peer.received_from(now, from) {
            if let Some(old) = new_source.evicted {
                self.by_source.remove(&old);
            }
            self.by_source.insert(from, id);
        }
    }
}
