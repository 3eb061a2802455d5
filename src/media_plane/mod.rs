//! The real-time media plane: worker threads that own calls and their `MediaSession`s, reached
//! through bounded lock-free queues (the architecture's data flow).
//!
//! ```text
//!  control plane (tokio)                                 media workers (one OS thread each)
//!  CallService ── submit(MediaCommand) ──▶ placement ──▶ ArrayQueue ──▶ Worker::step every 20 ms
//!       ▲            │ queued as WorkerCommand::Media { command, audio }  conversations → sessions,
//!       │            │ audio not cached yet:                              bot legs' operations
//!       │            └▶ tokio task: fetch/encode (PromptLibrary) ──▶ Resolved on the same queue
//!       └──── MediaEventSink (LegReady, ToneDetected, OperationFinished) ◀──────────┘
//!                                 finished clips ──▶ RecordingStore inbox ──▶ GET /media/recordings/{id}
//! ```
//!
//! A request keeps its name on the way: the call layer's
//! [`MediaCommand`](crate::calls::media::MediaCommand) itself travels to the worker, with the
//! audio the engine resolved for it ([`command::Resolution`]), and a bot leg's operations are
//! named after the commands that asked for them.
//!
//! - `submit.rs`: the way down (the worker that owns a command, the queue, refusals);
//!   `command_audio.rs`: the audio a command plays, resolved while it is routed;
//!   `start.rs`: starting the workers.
//! - [`placement`]: which worker owns a call; all legs of a conversation share one worker.
//! - [`worker`]: the thread, its socket and WebRTC edge, its tick and its commands;
//!   [`conversation_audio`]: the audio side of one conversation, its members (bots and people
//!   in browsers) and the exchange of their audio; [`leg`]: one bot's session and operations;
//!   [`browser`]: a person's member, reached through the worker's WebRTC edge.
//! - [`webrtc_legs`]: the signaling layer's way in (an SDP offer in, the answer and the leg's
//!   state out); [`webrtc_settings`]: the `[media.webrtc]` section.
//! - [`app_stream`]: the lane between a worker and an app-hosted leg's media socket;
//!   [`media_socket`]: that socket's task (`switchboard.media.v1`); `app_sockets.rs`: the engine's
//!   handles on them.
//! - [`prompts`] and [`fetch`]: where prompts come from and the limits on fetching them.
//! - [`recordings`]: finished clips, downloadable with their token until the TTL or the call's end.
//! - [`clips`], [`env`], [`stats`], [`settings`], [`command`]: what those share.
//!
//! Start-up runs one way: the control plane's event channel is made first
//! (`MediaEventSink::channel`), [`MediaEngine::start`] takes its sink (and the token service that
//! signs media-socket dials), and `CallService::start` takes the running engine (as its
//! `MediaPlane`) with the channel's receiver.
//!
//! `submit` never blocks: it puts the command on the owning worker's queue or refuses with
//! `MediaPlaneBusy` (counted in `switchboard_media_command_queue_full_total`); events go up
//! through the control plane's bounded queue, and a full one is counted, never waited on.

mod app_sockets;
pub mod app_stream;
pub mod browser;
pub mod clips;
pub mod command;
mod command_audio;
pub mod conversation_audio;
pub mod env;
pub mod fetch;
pub mod leg;
pub mod media_socket;
pub mod placement;
pub mod prompts;
pub mod recordings;
pub mod settings;
mod start;
pub mod stats;
mod submit;
pub mod webrtc_legs;
pub mod webrtc_settings;
pub mod worker;
#[cfg(test)]
mod worker_tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_queue::ArrayQueue;

use crate::auth::tokens::TokenService;
use crate::calls::ids::CallId;
use crate::calls::media::MediaEventSink;
use command::WorkerCommand;
use placement::Placement;
use prompts::PromptLibrary;
use recordings::RecordingStore;
pub use settings::{AppHostedSettings, MediaSettings, MediaSettingsError, PromptSettings};
pub use start::{MediaStartError, WorkerStartError};
use stats::WorkerStats;
pub use webrtc_legs::{WebRtcAnswer, WebRtcLeg, WebRtcLegState, WebRtcOfferError};
pub use webrtc_settings::{WebRtcSettings, WebRtcSettingsError};

/// The control plane's handle on one worker.
struct WorkerHandle {
    queue: Arc<ArrayQueue<WorkerCommand>>,
    stats: Arc<WorkerStats>,
    /// Wakes the worker from its wait on the socket.
    waker: Arc<mio::Waker>,
    /// Browser legs that ended on their own, to forget in the placement table.
    departed: Arc<ArrayQueue<CallId>>,
    /// The UDP address the worker's socket is bound to.
    udp: std::net::SocketAddr,
    join: Option<JoinHandle<()>>,
}

/// Browser legs that may end on their own between two placement look-ups, per worker.
const DEPARTED_CAPACITY: usize = 4096;

/// The running media plane: worker threads, prompt library, recording store.
pub struct MediaEngine {
    settings: MediaSettings,
    workers: Vec<WorkerHandle>,
    placement: Mutex<Placement>,
    prompts: Arc<PromptLibrary>,
    recordings: Arc<RecordingStore>,
    events: MediaEventSink,
    runtime: Option<tokio::runtime::Handle>,
    stop: Arc<AtomicBool>,
    /// Mints the JWT of every media-socket dial.
    tokens: Arc<TokenService>,
    /// TLS settings shared by every `wss://` media socket.
    dialer: media_socket::Dialer,
    /// The socket task of every open app-hosted leg.
    sockets: app_sockets::Sockets,
}

impl std::fmt::Debug for MediaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaEngine")
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl MediaEngine {
    /// The UDP address each worker's socket is bound to (with the actual port).
    pub fn udp_addresses(&self) -> Vec<std::net::SocketAddr> {
        self.workers.iter().map(|w| w.udp).collect()
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &MediaSettings {
        &self.settings
    }

    /// The recording store (the download route reads it).
    pub fn recordings(&self) -> &RecordingStore {
        &self.recordings
    }

    /// Where every worker's prompts come from: the shared cache, the prompts folder, the fetcher.
    pub fn prompts(&self) -> &Arc<PromptLibrary> {
        &self.prompts
    }

    /// Each worker's counters.
    pub fn worker_stats(&self) -> Vec<Arc<WorkerStats>> {
        self.workers.iter().map(|w| w.stats.clone()).collect()
    }
}

impl Drop for MediaEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for worker in &mut self.workers {
            let _ = worker.waker.wake();
            if let Some(join) = worker.join.take() {
                let _ = join.join();
            }
        }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
