//! The softphone: the page people call and answer from (served at `/`, and at `/meet/{id}`
//! ready to join a meeting), its sign-ins, and the hub that rings signed-in users and carries
//! their calls. The routes that serve the page, the sign-in and the signaling socket are in
//! `http::softphone` and `http::softphone_socket`; [`protocol`] is what travels on that socket.
//!
//! Start-up runs one way: [`signals`] makes the channel the call service rings users through,
//! the call service starts with its sending end, and [`Softphone::start`] takes the call service
//! and the receiving end.

pub mod hub;
#[cfg(test)]
mod hub_tests;
pub mod media;
pub mod protocol;
pub mod sign_in;

pub use hub::{Refusal, Softphone, UserSignals, signals};

/// The page's HTML (markup and styles).
pub const PAGE_HTML: &str = include_str!("page/index.html");
/// The page's script: sign-in, signaling, WebRTC, keypad, level meter.
pub const PAGE_SCRIPT: &str = include_str!("page/softphone.js");
