//! One leg's key-press receivers: the in-band detector on decoded audio and RFC 4733 telephone
//! events, merged into one press stream.

use super::event::ToneSource;
use crate::dtmf::Digit;
use crate::frame::Frame;
use std::time::Duration;

/// A change in a leg's key-press stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // constructed once the DTMF receivers are wired in
pub(crate) enum Press {
    Started { digit: Digit, source: ToneSource },
    Ended { digit: Digit, duration: Duration },
}

/// The receivers of one leg.
pub(crate) struct LegTones {}

impl LegTones {
    pub(crate) fn new() -> LegTones {
        LegTones {}
    }

    pub(crate) fn reset(&mut self) {}

    /// Runs the in-band detector over one decoded frame.
    pub(crate) fn on_audio(&mut self, _frame: &Frame, _emit: &mut impl FnMut(Press)) {}

    /// Feeds one RFC 4733 payload; returns whether it was well-formed.
    pub(crate) fn on_telephone_event(
        &mut self,
        _payload: &[u8],
        _timestamp: u32,
        _marker: bool,
        _emit: &mut impl FnMut(Press),
    ) -> bool {
        false
    }
}
