//! Codecs. Only Opus: WebRTC's mandatory audio codec and the only one the media path speaks.

pub mod opus;
