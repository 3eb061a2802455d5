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
mod start;
pub mod stats;
pub mod webrtc_legs;
pub mod webrtc_settings;
pub mod worker;
#[cfg(test)]
mod worker_tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

use crate::calls::ids::{CallId, OperationId};
use crate::calls::media::{MediaCommand, MediaEvent, MediaEventSink, MediaPlane, MediaPlaneBusy};
use crate::calls::result_codes::ResultCode;
use command::{Resolution, WorkerCommand};
use placement::Placement;
use prompts::PromptLibrary;
use recordings::RecordingStore;
pub use settings::{MediaSettings, MediaSettingsError, PromptSettings};
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
