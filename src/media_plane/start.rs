//! Starting the media plane: the settings checked, the prompt library built, one thread per
//! worker with its UDP socket and WebRTC edge, and the housekeeping task (metrics, the recording
//! sweep).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use switchboard_media::codec::opus::CodecError;
use switchboard_media::record::ClipBuffer;

use super::clips::ClipPools;
use super::env::{self, WorkerEnv};
use super::media_socket::Dialer;
use super::placement::Placement;
use super::prompts::{PromptLibrary, PromptLibraryError};
use super::recordings::RecordingStore;
use super::settings::{MediaSettings, MediaSettingsError};
use super::stats::{self, WorkerStats};
use super::webrtc_settings::WebRtcSettingsError;
use super::worker;
use super::{DEPARTED_CAPACITY, MediaEngine, WorkerHandle};
use crate::auth::tokens::TokenService;
use crate::calls::media::MediaEventSink;
use crate::webrtc::{EdgeError, EdgeSocket, WebRtcEdge};

/// Why the media plane could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaStartError {
    /// A setting is out of range.
    #[error("{0}")]
    Settings(#[from] MediaSettingsError),
    /// The prompt library (codec or HTTP client) failed to build.
    #[error("prompts: {0}")]
    Prompts(#[from] PromptLibraryError),
    /// A worker failed to start.
    #[error("media worker {index}: {reason}")]
    Worker {
        /// Which worker.
        index: usize,
        /// Why.
        #[source]
        reason: WorkerStartError,
    },
}

/// Why one media worker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerStartError {
    /// Its `[media.webrtc]` settings cannot make its edge.
    #[error(transparent)]
    Settings(#[from] WebRtcSettingsError),
    /// Its UDP socket cannot be bound.
    #[error(
        "cannot bind the WebRTC UDP socket {bind} ({source}); set media.webrtc.bind and \
         media.webrtc.port (0 = any free port)"
    )]
    Bind {
        /// The address from `media.webrtc.bind` and the worker's port.
        bind: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The bound socket's own address cannot be read.
    #[error("{0}")]
    LocalAddress(#[source] std::io::Error),
    /// No address to advertise to browsers.
    #[error("media.webrtc: {0}")]
    Candidates(#[source] EdgeError),
    /// The edge refused its settings or candidates.
    #[error("{0}")]
    Edge(#[source] EdgeError),
    /// The Opus encoder of the silence muted members send failed.
    #[error("silence encoder: {0}")]
    SilenceEncoder(#[source] CodecError),
    /// The thread cannot be spawned.
    #[error("{0}")]
    Thread(#[source] std::io::Error),
}

impl MediaEngine {
    /// Starts the workers, which report to `events` (the control plane's event channel, made
    /// first with [`MediaEventSink::channel`]); recordings are served under `public_url`;
    /// `tokens` signs the JWT of every app-hosted media-socket dial. Background work (prompt
    /// fetches, media sockets, metrics, the recording sweep) runs on the current tokio runtime,
    /// if any; without one, app-hosted legs fail when opened.
    pub fn start(
        settings: &MediaSettings,
        public_url: &str,
        events: MediaEventSink,
        tokens: Arc<TokenService>,
    ) -> Result<Arc<MediaEngine>, MediaStartError> {
        settings.validate()?;
        let count = settings.worker_count();
        let prompts = Arc::new(PromptLibrary::new(&settings.prompts)?);
        let clips_per_worker = settings.short_clips_per_worker + settings.long_clips_per_worker;
        let returns: Vec<Arc<ArrayQueue<ClipBuffer>>> = (0..count)
            .map(|_| Arc::new(ArrayQueue::new(clips_per_worker.max(1))))
            .collect();
        let recordings = Arc::new(RecordingStore::new(
            public_url,
            settings.recording_ttl(),
            returns.clone(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::with_capacity(count);
        for (index, returned) in returns.into_iter().enumerate() {
            let worker_error = |reason: WorkerStartError| MediaStartError::Worker { index, reason };
            let (socket, edge) = Self::bind_edge(settings, index, count).map_err(worker_error)?;
            let udp = socket
                .local_addr()
                .map_err(|e| worker_error(WorkerStartError::LocalAddress(e)))?;
            let waker = socket.waker();
            let departed = Arc::new(ArrayQueue::new(DEPARTED_CAPACITY));
            let stats = Arc::new(WorkerStats::default());
            let queue = Arc::new(ArrayQueue::new(settings.command_queue_capacity));
            let clips = ClipPools::new(
                settings.short_clips_per_worker,
                Duration::from_secs(u64::from(settings.short_clip_secs)),
                settings.long_clips_per_worker,
            );
            let env = WorkerEnv::new(
                index,
                env::Shared {
                    events: events.clone(),
                    stats: stats.clone(),
                    returned_clips: returned,
                    recordings: recordings.clone(),
                    beep: prompts.beep(),
                    departed: departed.clone(),
                    max_unmixed_sources: settings.app_hosted.max_unmixed_sources,
                },
                clips,
            )
            .map_err(worker_error)?;
            let worker = worker::Worker::new(env, queue.clone(), edge);
            let stop = stop.clone();
            let join = std::thread::Builder::new()
                .name(format!("media-{index}"))
                .spawn(move || worker.run(socket, stop))
                .map_err(|e| worker_error(WorkerStartError::Thread(e)))?;
            workers.push(WorkerHandle {
                queue,
                stats,
                waker,
                departed,
                udp,
                join: Some(join),
            });
        }
        let engine = Arc::new(MediaEngine {
            settings: settings.clone(),
            placement: Mutex::new(Placement::new(count)),
            workers,
            prompts,
            recordings,
            events,
            runtime: tokio::runtime::Handle::try_current().ok(),
            stop,
            tokens,
            dialer: Dialer::new(),
            sockets: Default::default(),
        });
        engine.spawn_housekeeping();
        tracing::info!(
            workers = count,
            udp = ?engine.udp_addresses(),
            allow_private_prompt_addresses = settings.prompts.allow_private_addresses,
            "media plane started"
        );
        Ok(engine)
    }

    /// Binds worker `index`'s UDP socket and builds its edge (the candidates it advertises are
    /// logged by the edge).
    fn bind_edge(
        settings: &MediaSettings,
        index: usize,
        workers: usize,
    ) -> Result<(EdgeSocket, WebRtcEdge), WorkerStartError> {
        let config = settings.webrtc.edge_config(index, workers)?;
        let socket = EdgeSocket::bind(config.bind).map_err(|source| WorkerStartError::Bind {
            bind: config.bind,
            source,
        })?;
        let bound = socket
            .local_addr()
            .map_err(WorkerStartError::LocalAddress)?;
        let candidates = config
            .host_candidates(bound)
            .map_err(WorkerStartError::Candidates)?;
        let edge = WebRtcEdge::new(config, candidates).map_err(WorkerStartError::Edge)?;
        Ok((socket, edge))
    }

    fn spawn_housekeeping(self: &Arc<Self>) {
        let Some(runtime) = &self.runtime else { return };
        let stats = self.worker_stats();
        let recordings = self.recordings.clone();
        let stop = self.stop.clone();
        runtime.spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(1));
            let mut dropped_seen = 0;
            while !stop.load(Ordering::Relaxed) {
                ticker.tick().await;
                stats::publish(&stats);
                let held = recordings.sweep(Instant::now());
                metrics::gauge!(crate::metrics::MEDIA_RECORDINGS).set(held as f64);
                let dropped: u64 = stats
                    .iter()
                    .map(|s| WorkerStats::get(&s.event_queue_full))
                    .sum();
                if dropped > dropped_seen {
                    tracing::warn!(
                        dropped = dropped - dropped_seen,
                        "media events dropped: the control plane's event queue was full"
                    );
                    dropped_seen = dropped;
                }
            }
        });
    }
}
