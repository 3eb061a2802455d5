//! DTMF: the in-band tone receiver, the tone generator, RFC 4733 telephone events, and the merger
//! that turns both kinds of detection into one stream of key presses.

mod digit;

pub use digit::{Digit, DigitParseError};
