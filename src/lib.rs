//! Switchboard: a self-hosted cloud-communications service and media-hosting bot runtime.
//!
//! This crate holds the signaling layer, the API, transports, built-in bots and the command line.
//! The real-time audio pipeline lives in the `switchboard-media` crate.
//!
//! Modules import one way, from the top of this list down (`tests/module_graph.rs` checks it;
//! `docs/architecture.md` draws it):
//!
//! | layer | modules | what |
//! |---|---|---|
//! | command line | [`cli`] | the `switchboard` subcommands |
//! | start-up | [`server`] | builds every service in order, serves, shuts down |
//! | HTTP | [`http`] | every route, extractor and Graph error mapping |
//! | bots | [`reminders`], [`bots`] | reminder calls; built-in bots speaking the public API |
//! | configuration | [`config`], [`logging`] | the TOML/env settings of every part |
//! | people | [`softphone`] | signed-in pages, ringing users, their calls |
//! | calls | [`meetings`], [`media_plane`], [`calls`] | meeting rules; media workers; call state |
//! | delivery and data | [`notify`], [`store`], [`throttle`], [`auth`] | webhooks; SQLite; limits; tokens |
//! | vocabulary | [`graph`], [`webrtc`], [`address_policy`], [`metrics`] | Graph JSON; the WebRTC edge; where the server may connect; metric names |

#![forbid(unsafe_code)]

pub mod address_policy;
pub mod auth;
pub mod bots;
pub mod calls;
pub mod cli;
pub mod config;
pub mod graph;
pub mod http;
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
