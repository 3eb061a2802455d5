//! Side-by-side comparison of Switchboard's DTMF receiver with spandsp's.
//!
//! [`SpandspReceiver`] wraps spandsp's receiver (Debian's libspandsp, linked through a handful of
//! hand-declared functions) so that the conformance procedure of `switchboard-media` can run on
//! it exactly as it runs on ours. The `dtmf-compare` binary prints both results row by row.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod decimate;
pub mod files;
pub mod latency;
pub mod receiver;
pub mod spandsp;
pub mod workload;

pub use receiver::SpandspReceiver;
pub use spandsp::{SPANDSP_BLOCK, SpandspDtmfRx, SpandspMissing, ToneChange};
