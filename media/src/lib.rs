//! `switchboard-media`: the real-time audio pipeline of Switchboard.
//!
//! Sans-IO by design: PCM, packets and times go in; packets and events come out. Nothing here opens
//! a socket, spawns a thread, reads a clock or logs. That is what makes every part replayable from
//! fixtures, fuzzable and benchmarkable per 20 ms frame.
//!
//! The map: [`session`] is one call ([`MediaSession`]); it is built from [`jitter`] (receive
//! buffering), [`codec`] (Opus), [`dtmf`] (key presses), [`level`] (speech/silence), [`prompt`]
//! (cached prompts and playback), [`record`] (recordResponse clips) and [`mixer`] (group calls).

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod codec;
pub mod dtmf;
pub mod frame;
pub mod jitter;
pub mod level;
pub mod mixer;
pub mod prompt;
pub mod record;
pub mod session;

pub use prompt::{Prompt, PromptCache};
pub use session::{MediaSession, SessionConfig};
