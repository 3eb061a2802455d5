//! App-hosted media: one tokio task per app-hosted leg dials the bot's WebSocket (the blob's
//! `url`) and carries the leg's audio both ways, speaking `switchboard.media.v1`
//! (docs/media-socket.md).
//!
//! ```text
//!  worker ──AppStream──▶ task ──binary frames, JSON notices──▶ bot's WebSocket
//!  worker ◀─playout ring── task (re-frames, buffers, marks, flow control) ◀── bot's audio, mark,
//!                                                                            clear, stop
//!  engine ── participants, close ──▶ task ── LegFailed ──▶ control plane
//! ```
//!
//! - [`protocol`]: the wire format (pure); [`dial`]: one dial (address policy, TLS, handshake);
//!   [`playout`]: the bot's audio on its way into the call; [`outbound`]: frames and notices on
//!   their way to the bot; `session/`: the task (connect, reconnect, pump; the link and the
//!   writer in `link.rs`, the bot's messages in `from_bot.rs`).
//! - A dropped socket is redialled with backoff for `media.app_hosted.reconnect_window_secs`; the
//!   call goes on, and a reconnect is not a new call (`start` says `resumed: true`). A bot that
//!   refuses a dial with 401 or 403, an address the policy refuses, or a socket lost for the
//!   whole window ends the leg: `MediaEvent::LegFailed`, so the call ends with 410/301005.
//! - A bot's `stop` ends its media stream for good (no redial); the call goes on, the bot's side
//!   silent. `CloseLeg` sends `stop` (`callEnded`) and closes with 1000.

pub mod dial;
pub mod outbound;
pub mod playout;
pub mod protocol;
mod session;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use tokio::sync::{oneshot, watch};

use super::app_stream::AppStream;
use super::settings::AppHostedSettings;
use crate::auth::tokens::TokenService;
use crate::calls::ids::CallId;
use crate::calls::media::{AppHosted, MediaEventSink, StreamParticipant};
pub use dial::Dialer;

/// The `stop` reason when the call ends (`CloseLeg`).
pub const STOP_CALL_ENDED: &str = "callEnded";
/// The `stop` reason when the bot sent `stop`.
pub const STOP_BOT_STOPPED: &str = "botStopped";
/// The `stop` reason when the media plane shuts down.
pub const STOP_SHUTDOWN: &str = "shutdown";

/// Everything one leg's socket task needs.
#[derive(Debug)]
pub struct SocketLeg {
    /// The app-hosted bot's call.
    pub call: CallId,
    /// The socket settings, the app and tenant, the participants at open.
    pub app: AppHosted,
    /// The lane to the leg's worker.
    pub stream: Arc<AppStream>,
    /// `[media.app_hosted]`.
    pub settings: AppHostedSettings,
    /// Mints each dial's JWT.
    pub tokens: Arc<TokenService>,
    /// Where `LegFailed` goes.
    pub events: MediaEventSink,
    /// TLS settings for `wss://`.
    pub dialer: Dialer,
    /// The worker that owns the leg (the metrics' `worker` label).
    pub worker: usize,
}

/// The engine's handle on one leg's socket task.
#[derive(Debug)]
pub struct MediaSocket {
    participants: watch::Sender<Vec<StreamParticipant>>,
    close: Option<oneshot::Sender<&'static str>>,
}

impl MediaSocket {
    /// Starts `leg`'s task on `runtime`: it dials at once. Dropping the handle without
    /// [`MediaSocket::close`] stops the task with reason `shutdown`.
    pub fn spawn(runtime: &tokio::runtime::Handle, leg: SocketLeg) -> MediaSocket {
        let (participants, watched) = watch::channel(leg.app.participants.clone());
        let (close, closed) = oneshot::channel();
        runtime.spawn(session::run(leg, watched, closed));
        MediaSocket {
            participants,
            close: Some(close),
        }
    }

    /// The conversation's participants changed: the bot gets `participantsUpdated` if the list
    /// differs from what it has.
    pub fn set_participants(&self, participants: Vec<StreamParticipant>) {
        // The latest list is all that matters; a task that ended has no bot to tell.
        let _ = self.participants.send(participants);
    }

    /// The call ended: the task sends `stop` with `reason`, closes with 1000 and ends.
    pub fn close(mut self, reason: &'static str) {
        if let Some(close) = self.close.take() {
            let _ = close.send(reason);
        }
    }
}
