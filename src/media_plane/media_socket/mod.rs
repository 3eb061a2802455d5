//! App-hosted media: the media socket Switchboard dials for each app-hosted leg, speaking
//! `switchboard.media.v1` (docs/media-socket.md).
//!
//! - [`protocol`]: the wire format (pure); [`playout`]: the bot's audio on its way into the call;
//!   [`outbound`]: frames and notices on their way to the bot.

pub mod outbound;
pub mod playout;
pub mod protocol;
