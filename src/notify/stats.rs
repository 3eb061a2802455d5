//! Per-application delivery counters and the list of recent losses, mirrored to `/metrics`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

/// How many recent losses each application keeps for the status API.
const RECENT_DROPS: usize = 100;

/// Why notifications were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DropReason {
    /// The application's queue was full when the call code enqueued it.
    QueueFull,
    /// The receiver kept failing for `notify.give_up_after_secs`.
    GaveUp,
    /// The receiver answered a 4xx that retrying cannot fix.
    Rejected,
    /// The server shut down before it could be delivered.
    Shutdown,
}

impl DropReason {
    /// The metrics label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::GaveUp => "gave_up",
            DropReason::Rejected => "rejected",
            DropReason::Shutdown => "shutdown",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One loss, as listed by the status API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DropRecord {
    /// The call the notifications belonged to.
    pub call_id: String,
    /// Why.
    pub reason: DropReason,
    /// How many notifications.
    pub count: usize,
    /// What happened, e.g. the receiver's last answer.
    pub detail: String,
    /// When (RFC 3339, UTC).
    pub date_time: String,
}

/// Delivery status of one application (`GET /v1.0/switchboard/notificationDelivery`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStatus {
    /// The app (client) id whose notifications these are.
    pub app_id: String,
    /// Waiting or in flight now.
    pub pending: usize,
    /// Accepted since start.
    pub queued: u64,
    /// Delivered since start.
    pub delivered: u64,
    /// Lost since start, by reason.
    pub dropped: DroppedCounts,
    /// The most recent losses, oldest first.
    pub recent_drops: Vec<DropRecord>,
}

/// Loss counters by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DroppedCounts {
    /// Queue full.
    pub queue_full: u64,
    /// Given up after retries.
    pub gave_up: u64,
    /// Refused by the receiver.
    pub rejected: u64,
    /// Abandoned at shutdown.
    pub shutdown: u64,
}

impl DeliveryStatus {
    /// The status of an application that never had a notification.
    pub fn empty(app_id: &str) -> Self {
        DeliveryStatus {
            app_id: app_id.to_owned(),
            pending: 0,
            queued: 0,
            delivered: 0,
            dropped: DroppedCounts::default(),
            recent_drops: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub(super) struct AppStats {
    app_id: String,
    pending: AtomicUsize,
    queued: AtomicU64,
    delivered: AtomicU64,
    dropped: [AtomicU64; 4],
    recent: Mutex<VecDeque<DropRecord>>,
}

impl AppStats {
    pub(super) fn new(app_id: &str) -> Self {
        AppStats {
            app_id: app_id.to_owned(),
            pending: AtomicUsize::new(0),
            queued: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: Default::default(),
            recent: Mutex::new(VecDeque::new()),
        }
    }

    fn publish_pending(&self) {
        metrics::gauge!(crate::metrics::NOTIFICATIONS_PENDING, "app_id" => self.app_id.clone())
            .set(self.pending() as f64);
    }

    /// Counts one more pending notification if fewer than `capacity` are pending.
    pub(super) fn try_reserve(&self, capacity: usize) -> bool {
        let reserved = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < capacity).then_some(n + 1)
            })
            .is_ok();
        if reserved {
            self.queued.fetch_add(1, Ordering::Relaxed);
            self.publish_pending();
        }
        reserved
    }

    pub(super) fn release(&self, count: usize) {
        // Saturating: a drain and a lane task settling the same batch must not underflow.
        let _ = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(count))
            });
        self.publish_pending();
    }

    pub(super) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    pub(super) fn record_delivered(&self, count: usize) {
        self.delivered.fetch_add(count as u64, Ordering::Relaxed);
        metrics::counter!(crate::metrics::NOTIFICATIONS_DELIVERED, "app_id" => self.app_id.clone())
            .increment(count as u64);
    }

    pub(super) fn record_drop(
        &self,
        reason: DropReason,
        call_id: &str,
        count: usize,
        detail: String,
    ) {
        self.dropped[reason.index()].fetch_add(count as u64, Ordering::Relaxed);
        metrics::counter!(crate::metrics::NOTIFICATIONS_DROPPED, "app_id" => self.app_id.clone(), "reason" => reason.as_str()).increment(count as u64);
        let date_time = jiff::Timestamp::now().to_string();
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == RECENT_DROPS {
            recent.pop_front();
        }
        recent.push_back(DropRecord {
            call_id: call_id.to_owned(),
            reason,
            count,
            detail,
            date_time,
        });
    }

    pub(super) fn snapshot(&self) -> DeliveryStatus {
        let dropped = |r: DropReason| self.dropped[r.index()].load(Ordering::Relaxed);
        DeliveryStatus {
            app_id: self.app_id.clone(),
            pending: self.pending(),
            queued: self.queued.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: DroppedCounts {
                queue_full: dropped(DropReason::QueueFull),
                gave_up: dropped(DropReason::GaveUp),
                rejected: dropped(DropReason::Rejected),
                shutdown: dropped(DropReason::Shutdown),
            },
            recent_drops: self
                .recent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned()
                .collect(),
        }
    }
}
