//! Notification delivery: the call code hands over one `commsNotification` at a time; this module
//! wraps them in `commsNotifications` envelopes, signs each POST, and delivers them to the
//! `callbackUri` — strictly in order per call, independently across calls, retrying with backoff
//! while the receiver fails, times out or is slow.
//!
//! A receiver that hangs or keeps failing stalls a call for `notify.give_up_after_secs` once: when
//! a batch is given up, the call's other notifications to that URI are dropped with it, and until
//! a POST to that URI succeeds again every batch to it gets a single attempt.
//!
//! Each application has a bounded queue (`notify.queue_capacity_per_app` notifications waiting or
//! in flight). A notification is never lost silently: when the queue is full [`Notifier::enqueue`]
//! refuses it with [`EnqueueError::QueueFull`]; when the receiver keeps failing past
//! `notify.give_up_after_secs`, or answers a permanent 4xx, or shutdown ends the drain, the loss
//! is counted in `/metrics` (`switchboard_notifications_dropped_total{app_id,reason}`), logged
//! with the call id, and listed by `GET /v1.0/switchboard/notificationDelivery` for the app.

mod backoff;
mod lane;
mod stats;
mod transport;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

pub use backoff::RetryPolicy;
pub use stats::{DeliveryStatus, DropReason, DropRecord};
pub use transport::{CallbackPolicy, HttpTransport, PostOutcome, Transport, classify, redacted};

use crate::auth::tokens::TokenService;
use crate::graph::CommsNotification;
use lane::{Lane, LaneItem};
use stats::AppStats;

/// One notification to deliver: to which application, at which URI, in the order of which key.
/// The call code builds them (`calls::notify`), as do reminders and test notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// The application the notification is for (the JWT's `aud`).
    pub app_id: String,
    /// The application's tenant (the JWT's `tid`).
    pub tenant_id: String,
    /// Where to POST: the call's `callbackUri`, or the app's calling webhook for incoming calls.
    pub callback_uri: String,
    /// Notifications with the same key (a call id, a reminder id) are delivered in the order
    /// enqueued; different keys are independent.
    pub ordering_key: String,
    /// The `commsNotification` (`changeType`, `resourceUrl`, `resourceData`, …).
    pub notification: CommsNotification,
}

/// Why a notification was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnqueueError {
    /// The application's queue holds `capacity` notifications already; this one was dropped and
    /// reported (metrics, log, delivery status).
    #[error(
        "notification queue of application {app_id} is full ({capacity} waiting, notify.queue_capacity_per_app); notification for call {call_id} dropped"
    )]
    QueueFull {
        /// The app (client) id whose queue is full.
        app_id: String,
        /// The call whose notification was dropped.
        call_id: String,
        /// The queue's capacity.
        capacity: usize,
    },
    /// The server is shutting down and its queues no longer accept work.
    #[error("the server is shutting down; notification for call {call_id} not accepted")]
    ShuttingDown {
        /// The call whose notification was refused.
        call_id: String,
    },
}

/// Delivery settings (the `[notify]` section gives them: `NotifyConfig::delivery`).
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Most notifications waiting or in flight per application.
    pub queue_capacity_per_app: usize,
    /// Most notifications per POST.
    pub max_batch: usize,
    /// Retry schedule.
    pub retry: RetryPolicy,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Seed for retry jitter; `None` seeds from the OS.
    pub jitter_seed: Option<u64>,
}

/// What a shutdown drain achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// Notifications still undelivered when the drain ended (reported as dropped, `shutdown`).
    pub abandoned: usize,
}

/// The notification delivery service; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<NotifierInner>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

struct NotifierInner {
    settings: DeliverySettings,
    tokens: TokenService,
    transport: Arc<dyn Transport>,
    apps: Mutex<HashMap<String, Arc<AppQueue>>>,
    closed: AtomicBool,
    aborted: AtomicBool,
    /// Woken whenever a notification is finished (delivered or dropped) and on abort.
    progress: Notify,
    jitter: Mutex<rand::rngs::StdRng>,
}

/// One application's lanes (one per call with pending notifications) and counters.
struct AppQueue {
    app_id: String,
    lanes: Mutex<HashMap<String, Lane>>,
    stats: AppStats,
    /// Callback URIs of this app whose last batch was given up: until one POST to them
    /// succeeds, each batch gets one attempt, not `give_up_after` of retries, so a receiver that
    /// hangs stalls the app's calls for one give-up period, not one per batch.
    failing: Mutex<std::collections::HashSet<String>>,
}

impl Notifier {
    /// A notifier signing with `tokens` and sending through `transport`.
    pub fn new(
        settings: DeliverySettings,
        tokens: TokenService,
        transport: Arc<dyn Transport>,
    ) -> Self {
        use rand::SeedableRng as _;
        let jitter = match settings.jitter_seed {
            Some(seed) => rand::rngs::StdRng::seed_from_u64(seed),
            None => rand::rngs::StdRng::from_rng(&mut rand::rng()),
        };
        Notifier {
            inner: Arc::new(NotifierInner {
                settings,
                tokens,
                transport,
                apps: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
                aborted: AtomicBool::new(false),
                progress: Notify::new(),
                jitter: Mutex::new(jitter),
            }),
        }
    }

    /// Queues one notification for delivery. Never blocks; must be called inside a tokio runtime.
    pub fn enqueue(&self, request: Outbound) -> Result<(), EnqueueError> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(EnqueueError::ShuttingDown {
                call_id: request.ordering_key,
            });
        }
        let app = inner.app_queue(&request.app_id);
        let capacity = inner.settings.queue_capacity_per_app;
        if !app.stats.try_reserve(capacity) {
            let error = EnqueueError::QueueFull {
                app_id: request.app_id.clone(),
                call_id: request.ordering_key.clone(),
                capacity,
            };
            tracing::warn!(app_id = %request.app_id, call_id = %request.ordering_key, capacity, "notification dropped: queue full");
            app.stats.record_drop(
                DropReason::QueueFull,
                &request.ordering_key,
                1,
                error.to_string(),
            );
            return Err(error);
        }
        metrics::counter!(crate::metrics::NOTIFICATIONS_QUEUED, "app_id" => app.app_id.clone())
            .increment(1);
        let call_id = request.ordering_key.clone();
        let item = LaneItem::from(request);
        let start_task = {
            let mut lanes = app.lanes.lock().unwrap_or_else(|p| p.into_inner());
            match lanes.get_mut(&call_id) {
                Some(lane) => {
                    lane.pending.push_back(item);
                    false
                }
                None => {
                    lanes.insert(call_id.clone(), Lane::new(item));
                    true
                }
            }
        };
        if start_task {
            tokio::spawn(lane::run(Arc::clone(inner), Arc::clone(&app), call_id));
        }
        Ok(())
    }

    /// The delivery counters and recent losses of one application.
    pub fn status(&self, app_id: &str) -> DeliveryStatus {
        let apps = self.inner.apps.lock().unwrap_or_else(|p| p.into_inner());
        match apps.get(app_id) {
            Some(app) => app.stats.snapshot(),
            None => DeliveryStatus::empty(app_id),
        }
    }

    /// Notifications waiting or in flight, over all applications.
    pub fn pending_total(&self) -> usize {
        let apps = self.inner.apps.lock().unwrap_or_else(|p| p.into_inner());
        apps.values().map(|a| a.stats.pending()).sum()
    }

    /// Stops accepting notifications, waits up to `timeout` for the queues to empty (retries go
    /// on meanwhile), then abandons what is left and reports it as dropped (`shutdown`).
    pub async fn drain(&self, timeout: Duration) -> DrainReport {
        let inner = &self.inner;
        inner.closed.store(true, Ordering::Release);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let progress = inner.progress.notified();
            if self.pending_total() == 0 {
                return DrainReport { abandoned: 0 };
            }
            if tokio::time::timeout_at(deadline, progress).await.is_err() {
                break;
            }
        }
        inner.aborted.store(true, Ordering::Release);
        inner.progress.notify_waiters();
        let mut abandoned = 0;
        let apps: Vec<Arc<AppQueue>> = inner
            .apps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for app in apps {
            let lanes = std::mem::take(&mut *app.lanes.lock().unwrap_or_else(|p| p.into_inner()));
            for (call_id, lane) in lanes {
                let count = lane.pending.len() + lane.in_flight;
                if count > 0 {
                    tracing::warn!(app_id = %app.app_id, call_id = %call_id, count, "notifications abandoned at shutdown");
                    app.stats.record_drop(
                        DropReason::Shutdown,
                        &call_id,
                        count,
                        "server shut down before delivery".into(),
                    );
                    app.stats.release(count);
                    abandoned += count;
                }
            }
        }
        DrainReport { abandoned }
    }
}

impl NotifierInner {
    fn app_queue(&self, app_id: &str) -> Arc<AppQueue> {
        let mut apps = self.apps.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(apps.entry(app_id.to_owned()).or_insert_with(|| {
            Arc::new(AppQueue {
                app_id: app_id.to_owned(),
                lanes: Mutex::new(HashMap::new()),
                stats: AppStats::new(app_id),
                failing: Mutex::new(std::collections::HashSet::new()),
            })
        }))
    }

    fn jitter(&self) -> f64 {
        use rand::RngExt as _;
        self.jitter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random::<f64>()
    }
}

#[cfg(test)]
mod tests;
