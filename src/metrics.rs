//! Prometheus metrics: the metric names in one place and the recorder (served at `/metrics` by
//! `http::metrics`).

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Counter: HTTP responses, by `status`.
pub const HTTP_RESPONSES: &str = "switchboard_http_responses_total";
/// Counter: requests refused with 429 by the rate limiter, by `app_id`.
pub const THROTTLED_REQUESTS: &str = "switchboard_throttled_requests_total";
/// Gauge: calls admitted and not yet ended.
pub const ACTIVE_CALLS: &str = "switchboard_active_calls";
/// Counter: notifications accepted into a delivery queue, by `app_id`.
pub const NOTIFICATIONS_QUEUED: &str = "switchboard_notifications_queued_total";
/// Counter: notifications the receiver acknowledged with 2xx, by `app_id`.
pub const NOTIFICATIONS_DELIVERED: &str = "switchboard_notifications_delivered_total";
/// Counter: notifications lost, by `app_id` and `reason` (`queue_full`, `gave_up`, `rejected`,
/// `shutdown`).
pub const NOTIFICATIONS_DROPPED: &str = "switchboard_notifications_dropped_total";
/// Counter: notification POST attempts that failed and will be retried, by `app_id`.
pub const NOTIFICATION_RETRIES: &str = "switchboard_notification_retries_total";
/// Gauge: notifications waiting or in flight, by `app_id`.
pub const NOTIFICATIONS_PENDING: &str = "switchboard_notifications_pending";
/// Counter: media ticks run, by `worker`.
pub const MEDIA_TICKS: &str = "switchboard_media_ticks_total";
/// Counter: media ticks whose work ended after the next tick's deadline, by `worker`.
pub const MEDIA_LATE_TICKS: &str = "switchboard_media_late_ticks_total";
/// Counter: media ticks skipped after a worker fell more than 5 ticks behind, by `worker`.
pub const MEDIA_SKIPPED_TICKS: &str = "switchboard_media_skipped_ticks_total";
/// Counter: time a media worker spent working (commands and ticks), in µs, by `worker`.
pub const MEDIA_BUSY_MICROSECONDS: &str = "switchboard_media_busy_microseconds_total";
/// Gauge: the longest media tick in the last second, in seconds, by `worker`.
pub const MEDIA_TICK_MAX_SECONDS: &str = "switchboard_media_tick_max_seconds";
/// Gauge: legs (calls with media) on a media worker, by `worker`.
pub const MEDIA_LEGS: &str = "switchboard_media_legs";
/// Gauge: conversations on a media worker, by `worker`.
pub const MEDIA_CONVERSATIONS: &str = "switchboard_media_conversations";
/// Counter: media commands refused because the worker's queue was full, by `worker`.
pub const MEDIA_COMMAND_QUEUE_FULL: &str = "switchboard_media_command_queue_full_total";
/// Counter: media events dropped because the control plane's queue was full, by `worker`.
pub const MEDIA_EVENT_QUEUE_FULL: &str = "switchboard_media_event_queue_full_total";
/// Counter: recordings refused because every clip buffer of the worker was in use, by `worker`.
pub const MEDIA_CLIP_POOL_EXHAUSTED: &str = "switchboard_media_clip_pool_exhausted_total";
/// Counter: session events lost to a full per-session event queue, by `worker`.
pub const MEDIA_SESSION_EVENTS_DROPPED: &str = "switchboard_media_session_events_dropped_total";
/// Counter: prompt fetches or decodes that failed, by `reason`.
pub const MEDIA_PROMPT_FAILURES: &str = "switchboard_media_prompt_failures_total";
/// Gauge: recordings held for download.
pub const MEDIA_RECORDINGS: &str = "switchboard_media_recordings";
/// Gauge: browser peers on a worker's WebRTC edge, by `worker`.
pub const MEDIA_WEBRTC_PEERS: &str = "switchboard_media_webrtc_peers";
/// Counter: browser peers that completed ICE and DTLS, by `worker`.
pub const MEDIA_WEBRTC_CONNECTED: &str = "switchboard_media_webrtc_connected_total";
/// Counter: browser legs lost to a media failure (410/301005), by `worker`.
pub const MEDIA_WEBRTC_FAILED: &str = "switchboard_media_webrtc_failed_total";
/// Counter: audio writes to a browser peer the edge refused, by `worker`.
pub const MEDIA_WEBRTC_WRITE_ERRORS: &str = "switchboard_media_webrtc_write_errors_total";
/// Counter: datagrams received on a worker's UDP socket, by `worker`.
pub const MEDIA_UDP_DATAGRAMS_IN: &str = "switchboard_media_udp_datagrams_received_total";
/// Counter: datagrams sent from a worker's UDP socket, by `worker`.
pub const MEDIA_UDP_DATAGRAMS_OUT: &str = "switchboard_media_udp_datagrams_sent_total";
/// Counter: datagrams dropped because the socket's send buffer was full, by `worker`.
pub const MEDIA_UDP_SEND_DROPPED: &str = "switchboard_media_udp_send_dropped_total";
/// Counter: dials of app-hosted bots' media sockets (first dials and redials), by `worker`.
pub const MEDIA_SOCKET_DIALS: &str = "switchboard_media_socket_dials_total";
/// Counter: media sockets connected again after they were lost, by `worker`.
pub const MEDIA_SOCKET_RECONNECTS: &str = "switchboard_media_socket_reconnects_total";
/// Counter: media-socket dials refused for good (the bot answered 401 or 403, or the address
/// policy refused the address), by `worker`.
pub const MEDIA_SOCKET_REFUSED_DIALS: &str = "switchboard_media_socket_refused_dials_total";
/// Counter: app-hosted legs ended because their media socket could not be kept, by `worker`.
pub const MEDIA_SOCKET_LEGS_FAILED: &str = "switchboard_media_socket_legs_failed_total";
/// Counter: audio frames toward app-hosted bots dropped because a bot read too slowly, by
/// `worker`.
pub const MEDIA_SOCKET_FRAMES_DROPPED: &str = "switchboard_media_socket_frames_dropped_total";
/// Counter: milliseconds of bots' audio discarded (beyond `max_buffered_ms`, or sent on a
/// `recvonly` stream), by `worker`.
pub const MEDIA_SOCKET_DISCARDED_MILLISECONDS: &str =
    "switchboard_media_socket_discarded_milliseconds_total";

/// Installs the global Prometheus recorder; `None` if one is already installed (a second server
/// in one process, as in tests), in which case `/metrics` serves an empty page.
pub fn install_recorder() -> Option<PrometheusHandle> {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok().map(|()| handle)
}
