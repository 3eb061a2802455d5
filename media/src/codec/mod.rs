//! Audio codecs of the media path that are not libopus.

pub mod g711;
