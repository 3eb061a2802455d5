//! Switchboard: a self-hosted cloud-communications service and media-hosting bot runtime.
//!
//! This crate holds the signaling layer, the API, transports, built-in bots and the command line.
//! The real-time audio pipeline lives in the `switchboard-media` crate.

pub mod cli;
pub mod webrtc;
