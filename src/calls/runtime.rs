//! The call service: the registry behind one lock, with the tasks that drive it — a timer that
//! sleeps until the next deadline and a reader of media-plane events — and the dispatch of every
//! change's effects (notifications, media commands, rings) while the lock is held, so the
//! notifications of a call leave in the order its changes happened.
//!
//! The lock is a `std::sync::Mutex`: every critical section is short, synchronous and never
//! awaits, and the notifier and media plane accept work without blocking.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::sync::mpsc::Receiver;

use super::call::CallTimers;
use super::endpoints::RingUser;
use super::ids::CallId;
use super::journal::CallJournal;
use super::media::{MediaCommand, MediaEvent, MediaPlane, OperationOutcome};
use super::notify::Outbound;
use super::registry::UserNotice;
use super::registry::{CallRegistry, Effects};
use super::result_codes::ResultCode;
use crate::notify::Notifier;

/// Most media events waiting for the control plane: the capacity of the channel made with
/// [`MediaEventSink::channel`](super::media::MediaEventSink::channel) before the media plane
/// starts.
pub const MEDIA_EVENT_QUEUE: usize = 4096;

/// Where notifications go: the server's [`Notifier`]; tests record them. Must not block.
pub trait NotificationSink: Send + Sync + 'static {
    /// Queues one notification; a refusal (full queue) is counted and reported by the sink.
    fn deliver(&self, outbound: Outbound);
}

impl NotificationSink for Notifier {
    fn deliver(&self, outbound: Outbound) {
        // A refusal is counted, logged and listed by the notifier itself.
        let _ = self.enqueue(outbound);
    }
}

/// Rings users on their endpoints and tells them what happened to their calls; the softphone
/// transport implements it. Must not block: it is called with the registry locked.
pub trait UserRinger: Send + Sync + 'static {
    /// Rings the user's endpoints.
    fn ring(&self, ring: RingUser);

    /// Tells a user's softphone that its place in a conversation changed.
    fn notify(&self, _notice: UserNotice) {}
}

/// A ringer for a server without softphones: never called, because users have no endpoints.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRinger;

impl UserRinger for NoRinger {
    fn ring(&self, _ring: RingUser) {}
}

/// The running call service; cheap to clone.
#[derive(Clone)]
pub struct CallService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CallService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallService").finish_non_exhaustive()
    }
}

struct Inner {
    state: Mutex<Guarded>,
    media: Arc<dyn MediaPlane>,
    sink: Arc<dyn NotificationSink>,
    ringer: Arc<dyn UserRinger>,
    journal: Arc<dyn CallJournal>,
    wake: Arc<Notify>,
}

struct Guarded {
    registry: CallRegistry,
    /// Per-call tokens (admission slots) released when the call ends.
    tokens: HashMap<CallId, Box<dyn Any + Send>>,
}

impl CallService {
    /// Starts the service on the current tokio runtime. Media commands go to `media`, already
    /// running; `events` is the receiving end of the channel whose sink `media` reports to.
    pub fn start(
        timers: CallTimers,
        media: Arc<dyn MediaPlane>,
        mut events: Receiver<MediaEvent>,
        sink: Arc<dyn NotificationSink>,
        ringer: Arc<dyn UserRinger>,
        journal: Arc<dyn CallJournal>,
    ) -> CallService {
        let service = CallService {
            inner: Arc::new(Inner {
                state: Mutex::new(Guarded {
                    registry: CallRegistry::new(timers),
                    tokens: HashMap::new(),
                }),
                media,
                sink,
                ringer,
                journal,
                wake: Arc::new(Notify::new()),
            }),
        };
        let weak = Arc::downgrade(&service.inner);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                CallService { inner }.with(|registry, _, fx| registry.on_media_event(event, fx));
            }
        });
        tokio::spawn(run_timers(
            Arc::downgrade(&service.inner),
            service.inner.wake.clone(),
        ));
        service
    }

    fn lock(&self) -> MutexGuard<'_, Guarded> {
        // A panic while holding the lock leaves the registry as the panicking change left it;
        // serving on is better than refusing every later request.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs a change on the registry at the current time, then carries out its effects in order.
    pub fn with<T>(&self, change: impl FnOnce(&mut CallRegistry, Instant, &mut Effects) -> T) -> T {
        let mut guard = self.lock();
        let now = tokio::time::Instant::now().into_std();
        let mut fx = Effects::default();
        let result = change(&mut guard.registry, now, &mut fx);
        self.dispatch(&mut guard, fx);
        let Guarded { registry, tokens } = &mut *guard;
        tokens.retain(|id, _| registry.has_call(id));
        drop(guard);
        self.inner.wake.notify_one();
        result
    }

    /// Reads the registry without changing it.
    pub fn read<T>(&self, read: impl FnOnce(&CallRegistry) -> T) -> T {
        read(&self.lock().registry)
    }

    /// Keeps `token` (an admission slot) until call `id` ends; dropped at once if it has ended.
    pub fn hold_until_ended(&self, id: &CallId, token: Box<dyn Any + Send>) {
        let mut guard = self.lock();
        if guard.registry.has_call(id) {
            guard.tokens.insert(id.clone(), token);
        }
    }

    fn dispatch(&self, guard: &mut Guarded, mut fx: Effects) {
        // Media refusals feed back as events, which may produce more effects: loop until quiet.
        loop {
            for outbound in fx.notifications.drain(..) {
                self.inner.sink.deliver(outbound);
            }
            for ring in fx.rings.drain(..) {
                self.inner.ringer.ring(ring);
            }
            for notice in fx.users.drain(..) {
                self.inner.ringer.notify(notice);
            }
            if !fx.journal.is_empty() {
                self.inner.journal.record(std::mem::take(&mut fx.journal));
            }
            let refused: Vec<_> = fx
                .media
                .drain(..)
                .filter_map(|command| match self.inner.media.submit(command.clone()) {
                    Ok(()) => None,
                    Err(busy) => refusal_event(command, &busy.to_string()),
                })
                .collect();
            if refused.is_empty() {
                return;
            }
            for event in refused {
                guard.registry.on_media_event(event, &mut fx);
            }
        }
    }
}

/// The event that reports a command the media plane could not take.
fn refusal_event(command: MediaCommand, why: &str) -> Option<MediaEvent> {
    match command {
        MediaCommand::OpenLeg { call, .. } => Some(MediaEvent::LegFailed {
            call,
            detail: why.to_owned(),
        }),
        MediaCommand::PlayPrompts {
            call, operation, ..
        }
        | MediaCommand::Record {
            call, operation, ..
        }
        | MediaCommand::SendDtmf {
            call, operation, ..
        } => Some(MediaEvent::OperationFinished {
            call,
            operation,
            outcome: OperationOutcome {
                result: ResultCode::OperationMediaFailure,
                detail: Some(why.to_owned()),
                recording: None,
            },
        }),
        // Closing, cancelling, subscribing and muting have no operation to fail: a closed leg's
        // media plane state is dropped with the worker's next sweep, and the others are repeated
        // by the app if they matter.
        _ => None,
    }
}

async fn run_timers(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let next = {
            let Some(strong) = inner.upgrade() else {
                return;
            };
            strong
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .registry
                .next_deadline()
        };
        let sleep = match next {
            Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)),
            None => tokio::time::sleep(Duration::from_secs(3600)),
        };
        tokio::select! {
            () = sleep => {
                let Some(inner) = inner.upgrade() else { return };
                CallService { inner }.with(|registry, now, fx| registry.fire_due(now, fx));
            }
            () = wake.notified() => {}
        }
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
