//! The engine's side of app-hosted legs: opening one makes its lane ([`AppStream`]), hands it to
//! the owning worker right after the leg's `OpenLeg`, and starts the leg's media socket task;
//! the engine keeps a handle per call, through which participant changes reach the task (not the
//! worker) and `CloseLeg` stops it.

use std::sync::{Arc, MutexGuard};

use super::MediaEngine;
use super::app_stream::{AppStream, MAX_LISTED_SPEAKERS};
use super::command::WorkerCommand;
use super::media_socket::{MediaSocket, STOP_CALL_ENDED, SocketLeg};
use crate::calls::ids::{CallId, ConversationId};
use crate::calls::media::{AppHosted, MediaCommand, MediaEvent, MediaPlaneBusy, StreamParticipant};
use std::collections::HashMap;

/// Every open app-hosted leg's socket task, by call.
pub(super) type Sockets = std::sync::Mutex<HashMap<CallId, MediaSocket>>;

impl MediaEngine {
    /// Opens an app-hosted leg: `OpenLeg` and then its lane on the worker of `conversation`, and
    /// the socket task. Without an async runtime the leg cannot have a socket: it fails at once.
    pub(super) fn open_app_hosted(
        &self,
        call: CallId,
        conversation: &ConversationId,
        app: AppHosted,
        command: MediaCommand,
    ) -> Result<(), MediaPlaneBusy> {
        let Some(runtime) = &self.runtime else {
            return self.emit(MediaEvent::LegFailed {
                call,
                detail: "app-hosted media needs the media plane to run on an async runtime".into(),
            });
        };
        let settings = &self.settings.app_hosted;
        // The worker sends at most this many speakers a tick; without a cap, the speakers one
        // activeSpeakers notice can list.
        let unmixed_slots = match settings.max_unmixed_sources {
            0 => MAX_LISTED_SPEAKERS,
            cap => cap,
        };
        let stream = Arc::new(AppStream::new(
            app.socket.clone(),
            settings.send_queue_ms,
            unmixed_slots,
        ));
        let mut placement = self.lock_placement();
        let worker = placement.choose(conversation);
        self.push(worker, WorkerCommand::media(command))?;
        placement.add(&call, conversation, worker);
        drop(placement);
        // Queued after the leg's OpenLeg; retried while the queue is full, since a leg without
        // its lane would be silent both ways.
        self.spawn_push(
            worker,
            WorkerCommand::AttachStream {
                call: call.clone(),
                stream: stream.clone(),
            },
        );
        let socket = MediaSocket::spawn(
            runtime,
            SocketLeg {
                call: call.clone(),
                app,
                stream,
                settings: settings.clone(),
                tokens: self.tokens.clone(),
                events: self.events.clone(),
                dialer: self.dialer.clone(),
                worker,
            },
        );
        if let Some(previous) = self.lock_sockets().insert(call, socket) {
            previous.close(STOP_CALL_ENDED);
        }
        Ok(())
    }

    /// Tells an app-hosted leg's socket the conversation's participants; other legs have no one
    /// to tell.
    pub(super) fn set_participants(&self, call: &CallId, participants: Vec<StreamParticipant>) {
        if let Some(socket) = self.lock_sockets().get(call) {
            socket.set_participants(participants);
        }
    }

    /// Stops an app-hosted leg's socket (`stop`, then close 1000), if the call has one.
    pub(super) fn close_socket(&self, call: &CallId) {
        let socket = self.lock_sockets().remove(call);
        if let Some(socket) = socket {
            socket.close(STOP_CALL_ENDED);
        }
    }

    fn lock_sockets(&self) -> MutexGuard<'_, HashMap<CallId, MediaSocket>> {
        self.sockets.lock().unwrap_or_else(|p| p.into_inner())
    }
}
