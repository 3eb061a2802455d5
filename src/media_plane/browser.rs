//! A person's member in a conversation's audio: a peer of the worker's WebRTC edge. It has no
//! session of its own: what the browser sends goes into whoever hears it (a bot's session, the
//! room, or straight on to the other browser), and what it hears leaves through the edge.

use std::sync::Arc;

use tokio::sync::watch;

use super::webrtc_legs::WebRtcLegState;
use crate::webrtc::PeerId;

/// RTP timestamp ticks of one 20 ms Opus frame.
const FRAME_TICKS: u32 = 960;

/// Where the conversation's audio for browsers goes: the worker's edge, or a test's capture.
/// Called on the per-frame path: implementations take no lock and read no clock.
pub trait PeerSender {
    /// Sends one Opus frame made for this browser (a bot's prompt, the room's mix).
    fn send(&mut self, peer: PeerId, timestamp: u32, marker: bool, payload: &[u8]);
    /// Passes on another browser's packet untouched (no decode, no encode, no copy).
    fn forward(&mut self, peer: PeerId, timestamp: u32, marker: bool, payload: &Arc<[u8]>);
}

/// A person's member in a conversation's audio: its edge peer, whether it connected, the state
/// the signaling layer watches, and the RTP timeline of what is sent to it.
#[derive(Debug)]
pub struct BrowserMember {
    /// Its peer on the worker's edge.
    pub peer: PeerId,
    /// Whether ICE and DTLS completed (nothing is sent before).
    pub connected: bool,
    state: watch::Sender<WebRtcLegState>,
    /// RTP timestamp of the next packet made for the browser.
    next_timestamp: u32,
    sent_any: bool,
    sent_this_tick: bool,
    /// While another browser's packets are passed on as they come: what to add to their
    /// timestamps to continue this browser's timeline.
    forward_offset: Option<u32>,
}

impl BrowserMember {
    /// A browser whose offer was just answered; `state` tells the signaling layer how it goes.
    pub fn new(peer: PeerId, state: watch::Sender<WebRtcLegState>) -> BrowserMember {
        BrowserMember {
            peer,
            connected: false,
            state,
            next_timestamp: rand::random(),
            sent_any: false,
            sent_this_tick: false,
            forward_offset: None,
        }
    }

    /// Tells the signaling layer (nobody listening is fine).
    pub fn set_state(&self, state: WebRtcLegState) {
        self.state.send_replace(state);
    }

    /// Timestamp and marker for a packet made this tick. Ticks that send nothing (a lost source
    /// packet passed on as a gap) still move the timeline on: see [`Self::tick_done`].
    pub fn stamp(&mut self) -> (u32, bool) {
        self.forward_offset = None;
        self.sent_this_tick = true;
        let timestamp = self.next_timestamp;
        self.next_timestamp = timestamp.wrapping_add(FRAME_TICKS);
        let marker = !self.sent_any;
        self.sent_any = true;
        (timestamp, marker)
    }

    /// The tick is over: if it made nothing for the browser (and no other browser's packets are
    /// being passed on), its timeline still advances by a frame, as a gap the browser conceals.
    pub fn tick_done(&mut self) {
        if !self.sent_this_tick && self.forward_offset.is_none() && self.sent_any {
            self.next_timestamp = self.next_timestamp.wrapping_add(FRAME_TICKS);
        }
        self.sent_this_tick = false;
    }

    /// Timestamp and marker for another browser's packet passed on as is: its own timing (and
    /// gaps) are kept, shifted onto this browser's timeline.
    pub fn stamp_forwarded(&mut self, source_timestamp: u32, source_marker: bool) -> (u32, bool) {
        let offset = *self
            .forward_offset
            .get_or_insert(self.next_timestamp.wrapping_sub(source_timestamp));
        let timestamp = source_timestamp.wrapping_add(offset);
        self.next_timestamp = timestamp.wrapping_add(FRAME_TICKS);
        let marker = source_marker || !self.sent_any;
        self.sent_any = true;
        (timestamp, marker)
    }

    /// The source of its audio changed (someone joined or left): forwarded timestamps are
    /// re-based on the next packet.
    pub fn source_changed(&mut self) {
        self.forward_offset = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_and_forwarded_packets_continue_one_timeline() {
        let (state, _watch) = watch::channel(WebRtcLegState::Connecting);
        let mut leg = BrowserMember::new(
            PeerId {
                slot: 0,
                generation: 1,
            },
            state,
        );
        let (t0, marker) = leg.stamp();
        assert!(marker, "the first packet starts a talkspurt");
        let (t1, marker) = leg.stamp();
        assert_eq!((t1.wrapping_sub(t0), marker), (960, false));
        leg.tick_done();
        leg.tick_done();
        // Another browser's packets from timestamp 5000 on, with a 2-frame gap kept.
        let (f0, marker) = leg.stamp_forwarded(5000, false);
        assert_eq!((f0.wrapping_sub(t1), marker), (1920, false));
        let (f1, _) = leg.stamp_forwarded(5000 + 3 * 960, false);
        assert_eq!(f1.wrapping_sub(f0), 3 * 960);
        let (_, marker) = leg.stamp_forwarded(5000 + 4 * 960, true);
        assert!(marker, "the source's talkspurt marker is kept");
        // Back to made packets: they follow the last forwarded one.
        let (t2, _) = leg.stamp();
        assert_eq!(t2.wrapping_sub(f1), 2 * 960);
    }
}
