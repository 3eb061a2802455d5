//! Audio codecs of the media path: Opus (libopus), WebRTC's mandatory codec and the only one a
//! session speaks, and G.711.

pub mod g711;
pub mod opus;
