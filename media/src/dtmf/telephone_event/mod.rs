//! RFC 4733 telephone events: DTMF keys sent as RTP packets instead of tones.
//!
//! Browsers (WebRTC's `insertDTMF`) and most SIP trunks signal keys this way. [`EventBlocks`]
//! decodes a payload and [`EventBlock::encode`] writes one; [`TelephoneEventReceiver`] turns one
//! source's packets into key presses, each reported once; [`KeyPressPlan`] yields the packets that
//! send one press. Only the DTMF events (codes 0–15) are handled: any other code is an error.

mod payload;
mod receiver;
mod sender;

#[cfg(test)]
mod receiver_tests;

pub use payload::{
    EVENT_BLOCK_LEN, EventBlock, EventBlocks, MAX_BLOCKS_PER_PACKET, TelephoneEventError,
    encode_payload,
};
pub use receiver::{
    ClockRateError, EventPacket, KeyPressEvent, MAX_EVENTS_PER_PACKET, ReleaseReason,
    TelephoneEventReceiver,
};
pub use sender::{
    END_PACKET_REPEATS, KeyPressPackets, KeyPressPlan, KeyPressPlanError, OutgoingEventPacket,
};
