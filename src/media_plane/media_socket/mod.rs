//! App-hosted media: the media socket Switchboard dials for each app-hosted leg, speaking
//! `switchboard.media.v1` (docs/media-socket.md).
//!
//! - [`protocol`]: the wire format (pure).

pub mod protocol;
