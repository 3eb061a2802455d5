//! `switchboard-media`: the real-time audio pipeline of Switchboard.
//!
//! Sans-IO by design: PCM, packets and times go in; packets and events come out. Nothing here opens
//! a socket, spawns a thread, reads a clock or logs. That is what makes every part replayable from
//! fixtures, fuzzable and benchmarkable per 20 ms frame.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod codec;
pub mod dtmf;
