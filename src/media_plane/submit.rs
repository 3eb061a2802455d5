//! The way down: [`MediaPlane::submit`] finds (or, for a new leg, chooses) the worker that owns
//! what a command is about, resolves the audio of the commands that play some
//! (`command_audio.rs`), and puts the command itself on that worker's queue — never blocking.
//! A full queue refuses the command at once (counted), except `CloseLeg`, which is retried from a
//! task until it is queued. An operation on a call with no media is answered at once. App-hosted
//! legs also have a media socket task (`app_sockets.rs`): `OpenLeg` starts it, `SetParticipants`
//! goes only to it, `CloseLeg` stops it.

use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use super::command::WorkerCommand;
use super::placement::Placement;
use super::stats::WorkerStats;
use super::{MediaEngine, leg, worker};
use crate::calls::ids::{CallId, OperationId};
use crate::calls::media::{Hosting, MediaCommand, MediaEvent, MediaPlane, MediaPlaneBusy};
use crate::calls::result_codes::ResultCode;

impl MediaPlane for MediaEngine {
    fn submit(&self, command: MediaCommand) -> Result<(), MediaPlaneBusy> {
        match &command {
            MediaCommand::OpenLeg {
                call,
                conversation,
                hosting: Hosting::App(app),
                ..
            } => {
                let (call, conversation, app) = (call.clone(), conversation.clone(), *app.clone());
                self.open_app_hosted(call, &conversation, app, command)
            }
            MediaCommand::OpenLeg {
                call,
                conversation,
                prefetch,
                ..
            } => {
                let (call, conversation, prefetch) =
                    (call.clone(), conversation.clone(), prefetch.clone());
                // Placed under the lock: every leg of a conversation goes to one worker.
                let mut placement = self.lock_placement();
                let worker = placement.choose(&conversation);
                self.push(worker, WorkerCommand::media(command))?;
                placement.add(&call, &conversation, worker);
                drop(placement);
                self.prefetch(prefetch);
                Ok(())
            }
            MediaCommand::CloseLeg { call } => {
                self.close_socket(call);
                if let Some(worker) = self.lock_placement().remove(call) {
                    self.spawn_push(worker, WorkerCommand::media(command));
                }
                Ok(())
            }
            // The participants are the socket task's business; the worker has no use for them.
            MediaCommand::SetParticipants { call, participants } => {
                self.set_participants(call, participants.clone());
                Ok(())
            }
            _ => {
                let Some(worker) = self.owner(&command) else {
                    return self.without_media(command);
                };
                let audio = self.audio_for(worker, &command);
                self.push(worker, WorkerCommand::Media { command, audio })
            }
        }
    }
}

impl MediaEngine {
    /// The worker that owns what `command` is about: its call's, or (a server mute) its
    /// conversation's. `None` when it has no media here.
    fn owner(&self, command: &MediaCommand) -> Option<usize> {
        let placement = self.lock_placement();
        match command {
            MediaCommand::SetServerMuted { conversation, .. } => {
                placement.worker_of_conversation(conversation)
            }
            other => other.call().and_then(|call| placement.worker_of_call(call)),
        }
    }

    /// A command about media that is not open: an operation is answered at once; subscribing,
    /// cancelling and muting have nothing to act on.
    fn without_media(&self, command: MediaCommand) -> Result<(), MediaPlaneBusy> {
        match command {
            MediaCommand::PlayPrompts {
                call, operation, ..
            }
            | MediaCommand::Record {
                call, operation, ..
            }
            | MediaCommand::SendDtmf {
                call, operation, ..
            } => self.no_media(call, operation),
            _ => Ok(()),
        }
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

    pub(super) fn emit(&self, event: MediaEvent) -> Result<(), MediaPlaneBusy> {
        self.events.push(event).map_err(|_| MediaPlaneBusy)
    }

    /// Queues `command` on `worker`; a full queue is counted and refused.
    pub(super) fn push(&self, worker: usize, command: WorkerCommand) -> Result<(), MediaPlaneBusy> {
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
    pub(super) fn spawn_push(&self, worker: usize, command: WorkerCommand) {
        (self.pusher(worker))(command);
    }

    /// The placement table, first forgetting browser legs that ended on their own.
    pub(super) fn lock_placement(&self) -> MutexGuard<'_, Placement> {
        let mut placement = self.placement.lock().unwrap_or_else(|p| p.into_inner());
        for worker in &self.workers {
            while let Some(call) = worker.departed.pop() {
                placement.remove(&call);
            }
        }
        placement
    }

    /// A `'static` function that queues on `worker`, retrying while full.
    pub(super) fn pusher(&self, worker: usize) -> impl Fn(WorkerCommand) + Send + 'static {
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
