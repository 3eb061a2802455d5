//! Calls: the state machine, the result-code table, the call aggregate and its registry, and
//! the notifications each change produces. Plain logic: no sockets, no tasks, time passed in.

pub mod app_hosted;
pub mod call;
pub mod conversation;
pub mod endpoints;
pub mod ids;
pub mod journal;
pub mod media;
pub mod notify;
pub mod operations;
pub mod registry;
pub mod result_codes;
pub mod runtime;
pub mod state;
pub mod validate;
