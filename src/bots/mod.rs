//! Built-in bots: flows from the configuration, run through the same public contract as external
//! bots — the `/v1.0` API and signed notifications — over an in-process transport.

pub mod analysis;
pub mod call_flow;
pub mod client;
pub mod events;
pub mod flow;
pub mod inbox;
pub mod launch;
pub mod setup;

pub use launch::start;
