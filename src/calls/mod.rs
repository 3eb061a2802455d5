//! Calls: the state machine, the result-code table, the call aggregate and its registry, and
//! the notifications each change produces. Plain logic: no sockets, no tasks, time passed in.

pub mod ids;
pub mod media;
pub mod result_codes;
pub mod state;
pub mod validate;
