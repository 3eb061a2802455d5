//! Prometheus metrics at `/metrics`: the metric names in one place and the exporter.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::server::state::AppState;

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

/// Installs the global Prometheus recorder; `None` if one is already installed (a second server
/// in one process, as in tests), in which case `/metrics` serves an empty page.
pub fn install_recorder() -> Option<PrometheusHandle> {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok().map(|()| handle)
}

/// `GET /metrics`: the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let body = state
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
