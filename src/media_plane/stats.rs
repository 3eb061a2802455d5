//! Worker counters: written by the worker thread with relaxed atomic adds (no lock, no syscall),
//! read by a publisher task that copies them into the Prometheus registry once a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::metrics as names;

/// One worker's counters and gauges.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Ticks run.
    pub ticks: AtomicU64,
    /// Ticks whose work ended after the next tick's deadline.
    pub late_ticks: AtomicU64,
    /// Ticks skipped because the worker fell more than a few ticks behind.
    pub skipped_ticks: AtomicU64,
    /// Nanoseconds spent working (commands and ticks), summed.
    pub busy_nanos: AtomicU64,
    /// Longest tick since the publisher last looked, in nanoseconds.
    pub max_tick_nanos: AtomicU64,
    /// Legs (calls) on the worker.
    pub legs: AtomicU64,
    /// Conversations on the worker.
    pub conversations: AtomicU64,
    /// Commands refused because the worker's queue was full.
    pub command_queue_full: AtomicU64,
    /// Events the control plane's queue refused (dropped).
    pub event_queue_full: AtomicU64,
    /// Recordings refused because every clip buffer was in use.
    pub clip_pool_exhausted: AtomicU64,
    /// Session events dropped because a session's event queue overflowed between polls.
    pub session_events_dropped: AtomicU64,
    /// Browser peers on the worker's edge.
    pub webrtc_peers: AtomicU64,
    /// Browser peers that completed ICE and DTLS.
    pub webrtc_connected: AtomicU64,
    /// Browser legs lost to a media failure (no ICE in time, silence, DTLS…).
    pub webrtc_failed: AtomicU64,
    /// Audio writes to a browser peer the edge refused.
    pub webrtc_write_errors: AtomicU64,
    /// Datagrams received on the worker's socket.
    pub udp_datagrams_in: AtomicU64,
    /// Datagrams sent.
    pub udp_datagrams_out: AtomicU64,
    /// Datagrams dropped because the socket's send buffer was full.
    pub udp_send_dropped: AtomicU64,
}

impl WorkerStats {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Records one tick's duration.
    pub fn tick_took(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.max_tick_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Copies every worker's counters into the metrics registry.
pub fn publish(all: &[Arc<WorkerStats>]) {
    for (i, s) in all.iter().enumerate() {
        let worker = i.to_string();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        metrics::counter!(names::MEDIA_TICKS, "worker" => worker.clone()).absolute(get(&s.ticks));
        metrics::counter!(names::MEDIA_LATE_TICKS, "worker" => worker.clone())
            .absolute(get(&s.late_ticks));
        metrics::counter!(names::MEDIA_SKIPPED_TICKS, "worker" => worker.clone())
            .absolute(get(&s.skipped_ticks));
        metrics::counter!(names::MEDIA_BUSY_MICROSECONDS, "worker" => worker.clone())
            .absolute(get(&s.busy_nanos) / 1_000);
        let max = s.max_tick_nanos.swap(0, Ordering::Relaxed);
        metrics::gauge!(names::MEDIA_TICK_MAX_SECONDS, "worker" => worker.clone())
            .set(max as f64 / 1e9);
        metrics::gauge!(names::MEDIA_LEGS, "worker" => worker.clone()).set(get(&s.legs) as f64);
        metrics::gauge!(names::MEDIA_CONVERSATIONS, "worker" => worker.clone())
            .set(get(&s.conversations) as f64);
        metrics::counter!(names::MEDIA_COMMAND_QUEUE_FULL, "worker" => worker.clone())
            .absolute(get(&s.command_queue_full));
        metrics::counter!(names::MEDIA_EVENT_QUEUE_FULL, "worker" => worker.clone())
            .absolute(get(&s.event_queue_full));
        metrics::counter!(names::MEDIA_CLIP_POOL_EXHAUSTED, "worker" => worker.clone())
            .absolute(get(&s.clip_pool_exhausted));
        metrics::counter!(names::MEDIA_SESSION_EVENTS_DROPPED, "worker" => worker.clone())
            .absolute(get(&s.session_events_dropped));
        metrics::gauge!(names::MEDIA_WEBRTC_PEERS, "worker" => worker.clone())
            .set(get(&s.webrtc_peers) as f64);
        metrics::counter!(names::MEDIA_WEBRTC_CONNECTED, "worker" => worker.clone())
            .absolute(get(&s.webrtc_connected));
        metrics::counter!(names::MEDIA_WEBRTC_FAILED, "worker" => worker.clone())
            .absolute(get(&s.webrtc_failed));
        metrics::counter!(names::MEDIA_WEBRTC_WRITE_ERRORS, "worker" => worker.clone())
            .absolute(get(&s.webrtc_write_errors));
        metrics::counter!(names::MEDIA_UDP_DATAGRAMS_IN, "worker" => worker.clone())
            .absolute(get(&s.udp_datagrams_in));
        metrics::counter!(names::MEDIA_UDP_DATAGRAMS_OUT, "worker" => worker.clone())
            .absolute(get(&s.udp_datagrams_out));
        metrics::counter!(names::MEDIA_UDP_SEND_DROPPED, "worker" => worker)
            .absolute(get(&s.udp_send_dropped));
    }
}
