//! Built-in bots: flows from the configuration, run through the same public contract as external
//! bots — the `/v1.0` API and signed notifications — over HTTP on the loopback interface: they
//! sign in at the token endpoint, call the API as any bot does, and receive their notifications
//! at the [`inbox`]. They hold no handle on the call registry.

pub mod analysis;
pub mod call_flow;
pub mod client;
pub mod events;
pub mod flow;
pub mod inbox;
pub mod launch;
pub mod setup;

pub use launch::start;
