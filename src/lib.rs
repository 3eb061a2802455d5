//! Switchboard: a self-hosted cloud-communications service and media-hosting bot runtime.
//!
//! This crate holds the signaling layer, the API, transports, built-in bots and the command line.
//! The real-time audio pipeline lives in the `switchboard-media` crate.

pub mod api;
pub mod auth;
pub mod bots;
pub mod calls;
pub mod cli;
pub mod config;
pub mod graph;
pub mod logging;
pub mod media_plane;
pub mod meetings;
pub mod metrics;
pub mod notify;
pub mod reminders;
pub mod server;
pub mod softphone;
pub mod store;
pub mod throttle;
pub mod webrtc;
