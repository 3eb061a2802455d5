//! The real-time media plane: worker threads that own calls and their `MediaSession`s, reached
//! through bounded lock-free queues (the architecture's data flow).
//!
//! ```text
//!  control plane (tokio)                         media workers (one OS thread each)
//!  CallService ── MediaPlane::submit ──▶ placement ──▶ ArrayQueue ──▶ Worker::step every 20 ms
//!       ▲            │ prompts not cached yet:                         conversations → sessions
//!       │            └▶ tokio task: fetch/encode (PromptLibrary) ──▶ Resolved on the same queue
//!       └──── MediaEventSink (LegReady, ToneDetected, OperationFinished) ◀──────────┘
//!                                     finished clips ──▶ RecordingStore inbox ──▶ GET /media/recordings/{id}
//! ```
//!
//! - [`placement`]: which worker owns a call; all legs of a conversation share one worker.
//! - [`worker`]: the thread, its socket and WebRTC edge, its tick and its commands;
//!   [`conversation_audio`]: the audio side of one conversation, its members (bots and people
//!   in browsers) and the exchange of their audio; [`leg`]: one bot's session and operations;
//!   [`browser`]: a person's member, reached through the worker's WebRTC edge.
//! - [`webrtc_legs`]: the signaling layer's way in (an SDP offer in, the answer and the leg's
//!   state out); [`webrtc_settings`]: the `[media.webrtc]` section.
//! - [`prompts`] and [`fetch`]: where prompts come from and the limits on fetching them.
//! - [`recordings`]: finished clips, downloadable with their token until the TTL or the call's end.
//! - [`clips`], [`env`], [`stats`], [`settings`], [`command`]: what those share.
//!
//! Start-up runs one way: the control plane's event channel is made first
//! (`MediaEventSink::channel`), [`MediaEngine::start`] takes its sink, and `CallService::start`
//! takes the running engine (as its `MediaPlane`) with the channel's receiver.
//!
//! `submit` never blocks: it puts the command on the owning worker's queue or refuses with
//! [`MediaPlaneBusy`] (counted in `switchboard_media_command_queue_full_total`); events go up
//! through the control plane's bounded queue, and a full one is counted, never waited on.

pub mod browser;
pub mod clips;
pub mod command;
pub mod conversation_audio;
pub mod env;
pub mod fetch;
pub mod leg;
pub mod placement;
pub mod prompts;
pub mod recordings;
pub mod settings;
pub mod stats;
pub mod webrtc_legs;
pub mod webrtc_settings;
pub mod worker;
#[cfg(test)]
mod worker_tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use switchboard_media::record::ClipBuffer;

use crate::calls::ids::{CallId, OperationId};
use crate::calls::media::{MediaCommand, MediaEvent, MediaEventSink, MediaPlane, MediaPlaneBusy};
use crate::calls::result_codes::ResultCode;
use clips::ClipPools;
use command::{Resolution, WorkerCommand};
use env::WorkerEnv;
use placement::Placement;
use prompts::PromptLibrary;
use recordings::RecordingStore;
pub use settings::{MediaSettings, PromptSettings};
use stats::WorkerStats;
pub use webrtc_legs::{WebRtcAnswer, WebRtcLeg, WebRtcLegState, WebRtcOfferError};
pub use webrtc_settings::WebRtcSettings;

use crate::webrtc::{EdgeSocket, WebRtcEdge};

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
}

impl std::fmt::Debug for MediaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaEngine")
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

/// Why the media plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum MediaStartError {
    /// A setting is out of range.
    #[error("{0}")]
    Settings(String),
    /// The prompt library (codec or HTTP client) failed to build.
    #[error("prompts: {0}")]
    Prompts(String),
    /// A worker failed to start.
    #[error("media worker {index}: {reason}")]
    Worker {
        /// Which worker.
        index: usize,
        /// Why.
        reason: String,
    },
}

impl MediaEngine {
    /// Starts the workers, which report to `events` (the control plane's event channel, made
    /// first with [`MediaEventSink::channel`]); recordings are served under `public_url`.
    /// Background work (prompt fetches, metrics, the recording sweep) runs on the current tokio
    /// runtime, if any.
    pub fn start(
        settings: &MediaSettings,
        public_url: &str,
        events: MediaEventSink,
    ) -> Result<Arc<MediaEngine>, MediaStartError> {
        settings.validate().map_err(MediaStartError::Settings)?;
        let count = settings.worker_count();
        let prompts =
            Arc::new(PromptLibrary::new(&settings.prompts).map_err(MediaStartError::Prompts)?);
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
            let worker_error = |reason: String| MediaStartError::Worker { index, reason };
            let (socket, edge) = Self::bind_edge(settings, index, count).map_err(worker_error)?;
            let udp = socket
                .local_addr()
                .map_err(|e| worker_error(e.to_string()))?;
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
                },
                clips,
            )
            .map_err(worker_error)?;
            let worker = worker::Worker::new(env, queue.clone(), edge);
            let stop = stop.clone();
            let join = std::thread::Builder::new()
                .name(format!("media-{index}"))
                .spawn(move || worker.run(socket, stop))
                .map_err(|e| worker_error(e.to_string()))?;
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
    ) -> Result<(EdgeSocket, WebRtcEdge), String> {
        let config = settings.webrtc.edge_config(index, workers)?;
        let socket = EdgeSocket::bind(config.bind).map_err(|e| {
            format!(
                "cannot bind the WebRTC UDP socket {} ({e}); set media.webrtc.bind and \
                 media.webrtc.port (0 = any free port)",
                config.bind
            )
        })?;
        let bound = socket.local_addr().map_err(|e| e.to_string())?;
        let candidates = config
            .host_candidates(bound)
            .map_err(|e| format!("media.webrtc: {e}"))?;
        let edge = WebRtcEdge::new(config, candidates).map_err(|e| e.to_string())?;
        Ok((socket, edge))
    }

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

    /// The prompt library.
    pub fn prompts(&self) -> &Arc<PromptLibrary> {
        &self.prompts
    }

    /// Each worker's counters.
    pub fn worker_stats(&self) -> Vec<Arc<WorkerStats>> {
        self.workers.iter().map(|w| w.stats.clone()).collect()
    }

    /// Queues `command` on `worker`; a full queue is counted and refused.
    fn push(&self, worker: usize, command: WorkerCommand) -> Result<(), MediaPlaneBusy> {
        let handle = &self.workers[worker];
        match handle.queue.push(command) {
            Ok(()) => {
                // A failed wake leaves the command for the next tick, at most 20 ms later.
                let _ = handle.waker.wake();
                Ok(())
            }
            Err(_) => {
                WorkerStats::add(&handle.stats.command_queue_full, 1);
                tracing::warn!(
                    worker,
                    capacity = handle.queue.capacity(),
                    "media worker command queue full; command refused (media.command_queue_capacity)"
                );
                Err(MediaPlaneBusy)
            }
        }
    }

    /// Queues `command`, retrying from a background task while the queue is full: for what must
    /// not be lost (closing a leg).
    fn spawn_push(&self, worker: usize, command: WorkerCommand) {
        (self.pusher(worker))(command);
    }

    fn worker_of(&self, call: &CallId) -> Option<usize> {
        self.lock_placement().worker_of_call(call)
    }

    /// The placement table, first forgetting browser legs that ended on their own.
    fn lock_placement(&self) -> std::sync::MutexGuard<'_, Placement> {
        let mut placement = self.placement.lock().unwrap_or_else(|p| p.into_inner());
        for worker in &self.workers {
            while let Some(call) = worker.departed.pop() {
                placement.remove(&call);
            }
        }
        placement
    }

    /// Replies to an operation on a call with no media at once.
    fn no_media(&self, call: CallId, operation: OperationId) -> Result<(), MediaPlaneBusy> {
        let event = leg::finished(
            &call,
            operation,
            ResultCode::OperationMediaFailure,
            Some("the call's media is not open (it ended or never connected)".into()),
        );
        self.emit(event)
    }

    fn emit(&self, event: MediaEvent) -> Result<(), MediaPlaneBusy> {
        self.events.push(event).map_err(|_| MediaPlaneBusy)
    }

    /// Resolves `sources` now if cached, else in a background task whose result follows on the
    /// worker's queue.
    fn prompts_for(
        &self,
        worker: usize,
        call: &CallId,
        operation: &OperationId,
        field: &'static str,
        sources: Vec<crate::calls::validate::PromptSource>,
    ) -> Resolution {
        if sources.is_empty() {
            return Resolution::Ready(Vec::new());
        }
        if let Some(prompts) = self.prompts.cached(&sources) {
            return Resolution::Ready(prompts);
        }
        let Some(runtime) = &self.runtime else {
            return Resolution::Failed(command::PromptFailure {
                result: ResultCode::OperationMediaFailure,
                detail: "prompts cannot be fetched: the media plane runs without an async runtime"
                    .into(),
            });
        };
        let library = self.prompts.clone();
        let (call, operation) = (call.clone(), operation.clone());
        let engine_push = self.pusher(worker);
        runtime.spawn(async move {
            let prompts = library.resolve(field, &sources).await;
            engine_push(WorkerCommand::Resolved {
                call,
                operation,
                prompts,
            });
        });
        Resolution::Pending
    }

    fn dtmf_for(
        &self,
        worker: usize,
        call: &CallId,
        operation: &OperationId,
        tones: Vec<switchboard_media::dtmf::Digit>,
        delay: Duration,
    ) -> Resolution {
        if let Some(prompt) = self.prompts.cached_dtmf(&tones, delay) {
            return Resolution::Ready(vec![prompt]);
        }
        let Some(runtime) = &self.runtime else {
            return Resolution::Failed(command::PromptFailure {
                result: ResultCode::OperationMediaFailure,
                detail: "tones cannot be encoded: the media plane runs without an async runtime"
                    .into(),
            });
        };
        let library = self.prompts.clone();
        let (call, operation) = (call.clone(), operation.clone());
        let engine_push = self.pusher(worker);
        runtime.spawn(async move {
            let prompts = library.dtmf(&tones, delay).await.map(|p| vec![p]);
            engine_push(WorkerCommand::Resolved {
                call,
                operation,
                prompts,
            });
        });
        Resolution::Pending
    }

    /// A `'static` function that queues on `worker`, retrying while full.
    fn pusher(&self, worker: usize) -> impl Fn(WorkerCommand) + Send + 'static {
        let handle = &self.workers[worker];
        let (queue, waker, stop) = (
            handle.queue.clone(),
            handle.waker.clone(),
            self.stop.clone(),
        );
        let runtime = self.runtime.clone();
        move |command| {
            let (queue, waker, stop) = (queue.clone(), waker.clone(), stop.clone());
            let Err(command) = queue.push(command) else {
                let _ = waker.wake();
                return;
            };
            if let Some(runtime) = &runtime {
                runtime.spawn(async move {
                    let mut command = command;
                    while !stop.load(Ordering::Relaxed) {
                        match queue.push(command) {
                            Ok(()) => {
                                let _ = waker.wake();
                                return;
                            }
                            Err(back) => command = back,
                        }
                        tokio::time::sleep(worker::TICK).await;
                    }
                });
            }
        }
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

impl MediaPlane for MediaEngine {
    fn submit(&self, command: MediaCommand) -> Result<(), MediaPlaneBusy> {
        match command {
            MediaCommand::OpenLeg {
                call,
                conversation,
                participant,
                hosting,
                prefetch,
            } => {
                let mut placement = self.lock_placement();
                let worker = placement.choose(&conversation);
                self.push(
                    worker,
                    WorkerCommand::Open {
                        call: call.clone(),
                        conversation: conversation.clone(),
                        participant,
                        hosting,
                    },
                )?;
                placement.add(&call, &conversation, worker);
                drop(placement);
                if !prefetch.is_empty()
                    && let Some(runtime) = &self.runtime
                {
                    let library = self.prompts.clone();
                    runtime.spawn(async move {
                        if let Err(failure) = library
                            .resolve("mediaConfig.preFetchMedia", &prefetch)
                            .await
                        {
                            tracing::warn!(detail = %failure.detail, "prefetching a prompt failed");
                        }
                    });
                }
                Ok(())
            }
            MediaCommand::CloseLeg { call } => {
                let Some(worker) = self.lock_placement().remove(&call) else {
                    return Ok(());
                };
                self.spawn_push(worker, WorkerCommand::Close { call });
                Ok(())
            }
            MediaCommand::PlayPrompts {
                call,
                operation,
                prompts,
            } => {
                let Some(worker) = self.worker_of(&call) else {
                    return self.no_media(call, operation);
                };
                let prompts = self.prompts_for(worker, &call, &operation, "prompts", prompts);
                self.push(
                    worker,
                    WorkerCommand::Play {
                        call,
                        operation,
                        prompts,
                    },
                )
            }
            MediaCommand::Record {
                call,
                operation,
                settings,
            } => {
                let Some(worker) = self.worker_of(&call) else {
                    return self.no_media(call, operation);
                };
                let sources: Vec<_> = settings.prompt.iter().cloned().collect();
                let prompt = self.prompts_for(worker, &call, &operation, "prompts[0]", sources);
                self.push(
                    worker,
                    WorkerCommand::Record {
                        call,
                        operation,
                        settings: Box::new(settings),
                        prompt,
                    },
                )
            }
            MediaCommand::SendDtmf {
                call,
                operation,
                tones,
                delay_between,
            } => {
                let Some(worker) = self.worker_of(&call) else {
                    return self.no_media(call, operation);
                };
                let tones = self.dtmf_for(worker, &call, &operation, tones, delay_between);
                self.push(
                    worker,
                    WorkerCommand::SendDtmf {
                        call,
                        operation,
                        tones,
                    },
                )
            }
            MediaCommand::SubscribeTones { call } => match self.worker_of(&call) {
                Some(worker) => self.push(worker, WorkerCommand::SubscribeTones { call }),
                None => Ok(()),
            },
            MediaCommand::CancelMediaProcessing { call } => match self.worker_of(&call) {
                Some(worker) => self.push(worker, WorkerCommand::Cancel { call }),
                None => Ok(()),
            },
            MediaCommand::SetSelfMuted { call, muted } => match self.worker_of(&call) {
                Some(worker) => self.push(worker, WorkerCommand::SelfMute { call, muted }),
                None => Ok(()),
            },
            MediaCommand::SetServerMuted {
                conversation,
                participant,
                muted,
            } => {
                let worker = self.lock_placement().worker_of_conversation(&conversation);
                match worker {
                    Some(worker) => self.push(
                        worker,
                        WorkerCommand::ServerMute {
                            conversation,
                            participant,
                            muted,
                        },
                    ),
                    None => Ok(()),
                }
            }
        }
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
