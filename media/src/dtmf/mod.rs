//! DTMF: the in-band tone receiver, the tone generator, RFC 4733 telephone events, and the merger
//! that turns both kinds of detection into one stream of key presses.

mod analysis;
mod config;
pub mod conformance;
mod correlator;
mod detector;
mod digit;
pub mod generator;
#[cfg(target_arch = "x86_64")]
mod kernel_vnni;
mod media_time;
pub mod merger;
mod noise_floor;
pub mod telephone_event;
mod timing;

#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod merger_tests;

pub use config::{ConfigError, DetectorConfig};
pub use detector::{DetectorStats, ToneDetector, ToneEdge, ToneEvent};
pub use digit::{ALL_DIGITS, Digit, DigitParseError, HIGH_GROUP_HZ, LOW_GROUP_HZ};
pub use media_time::MediaTime;
pub use merger::{MergedTone, ToneMerger, ToneMergerConfig, ToneSource};
