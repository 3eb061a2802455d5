//! Built-in bots: flows from the configuration, run through the same public contract as external
//! bots — the `/v1.0` API and signed notifications — over an in-process transport.

pub mod flow;
