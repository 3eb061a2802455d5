//! Shared support for Switchboard's integration and end-to-end tests.
#![allow(dead_code)]

pub mod audio;
pub mod browser;
pub mod edge;
pub mod netns;
pub mod signaling;
