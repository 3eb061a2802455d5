//! One delivery lane per call: a task that POSTs the call's notifications one batch at a time,
//! so a call's order is strict while other calls' lanes run independently.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use bytes::Bytes;
use serde_json::json;

use super::stats::DropReason;
use super::transport::{PostOutcome, redacted};
use super::{AppQueue, NotifierInner, Outbound};
use crate::graph::CommsNotification;

/// Redirect hops followed for one POST before it counts as a failed attempt.
const MAX_REDIRECTS: u32 = 5;

/// A queued notification.
#[derive(Debug)]
pub(super) struct LaneItem {
    tenant_id: String,
    callback_uri: String,
    notification: CommsNotification,
}

impl From<Outbound> for LaneItem {
    fn from(request: Outbound) -> Self {
        LaneItem {
            tenant_id: request.tenant_id,
            callback_uri: request.callback_uri,
            notification: request.notification,
        }
    }
}

/// The notifications of one call not yet delivered.
#[derive(Debug)]
pub(super) struct Lane {
    /// Waiting, in order.
    pub(super) pending: VecDeque<LaneItem>,
    /// How many were taken for the POST in progress.
    pub(super) in_flight: usize,
}

impl Lane {
    pub(super) fn new(first: LaneItem) -> Self {
        Lane {
            pending: VecDeque::from([first]),
            in_flight: 0,
        }
    }
}

enum BatchResult {
    Delivered,
    Dropped(DropReason, String),
    Aborted,
}

/// The lane task: runs until the call's queue is empty (then removes the lane) or shutdown aborts.
pub(super) async fn run(inner: Arc<NotifierInner>, app: Arc<AppQueue>, call_id: String) {
    // Where a receiver redirected a callback URI; later POSTs of this call go there directly.
    let mut redirects: HashMap<String, String> = HashMap::new();
    loop {
        if inner.aborted.load(Ordering::Acquire) {
            return;
        }
        let batch = {
            let mut lanes = app.lanes.lock().unwrap_or_else(|p| p.into_inner());
            let Some(lane) = lanes.get_mut(&call_id) else {
                return;
            };
            if lane.pending.is_empty() {
                lanes.remove(&call_id);
                return;
            }
            let mut batch = Vec::new();
            while let Some(next) = lane.pending.front() {
                let fits = batch.first().is_none_or(|first: &LaneItem| {
                    first.callback_uri == next.callback_uri && first.tenant_id == next.tenant_id
                });
                if !fits || batch.len() >= inner.settings.max_batch {
                    break;
                }
                batch.extend(lane.pending.pop_front());
            }
            lane.in_flight = batch.len();
            batch
        };
        let result = deliver(&inner, &app, &call_id, &batch, &mut redirects).await;
        {
            let mut lanes = app.lanes.lock().unwrap_or_else(|p| p.into_inner());
            match lanes.get_mut(&call_id) {
                Some(lane) => lane.in_flight = 0,
                // The shutdown drain took the lane and has already accounted for this batch.
                None => return,
            }
        }
        let mut count = batch.len();
        match result {
            BatchResult::Delivered => app.stats.record_delivered(count),
            BatchResult::Dropped(reason, detail) => {
                if reason == DropReason::GaveUp {
                    // The rest of the call's notifications to that receiver would each wait as
                    // long again: they go with this batch.
                    count += drop_waiting_for(&app, &call_id, &batch[0].callback_uri);
                }
                tracing::warn!(app_id = %app.app_id, call_id = %call_id, count, reason = reason.as_str(), %detail, "notifications dropped");
                app.stats.record_drop(reason, &call_id, count, detail);
            }
            BatchResult::Aborted => return,
        }
        app.stats.release(count);
        inner.progress.notify_waiters();
    }
}

/// Takes the call's waiting notifications to `callback_uri` out of its lane; returns how many.
fn drop_waiting_for(app: &AppQueue, call_id: &str, callback_uri: &str) -> usize {
    let mut lanes = app.lanes.lock().unwrap_or_else(|p| p.into_inner());
    let Some(lane) = lanes.get_mut(call_id) else {
        return 0;
    };
    let before = lane.pending.len();
    lane.pending
        .retain(|item| item.callback_uri != callback_uri);
    before - lane.pending.len()
}

/// POSTs one batch until it is delivered, refused for good, given up, or shutdown aborts. A batch
/// to a receiver that failed for a whole give-up period before gets one attempt.
async fn deliver(
    inner: &NotifierInner,
    app: &AppQueue,
    call_id: &str,
    batch: &[LaneItem],
    redirects: &mut HashMap<String, String>,
) -> BatchResult {
    let app_id = app.app_id.as_str();
    let failing = |uri: &str| {
        app.failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(uri)
    };
    let mark = |uri: &str, down: bool| {
        let mut set = app.failing.lock().unwrap_or_else(|p| p.into_inner());
        if down {
            set.insert(uri.to_owned());
        } else {
            set.remove(uri);
        }
    };
    let Some(first) = batch.first() else {
        return BatchResult::Delivered;
    };
    let envelope = json!({
        "@odata.type": "#microsoft.graph.commsNotifications",
        "value": batch.iter().map(|item| &item.notification).collect::<Vec<_>>(),
    });
    let body = Bytes::from(envelope.to_string());
    // One message id per batch, kept across retries, so a receiver can drop duplicates.
    let message_id = uuid::Uuid::new_v4().to_string();
    let policy = inner.settings.retry;
    let started = tokio::time::Instant::now();
    let mut uri = redirects
        .get(&first.callback_uri)
        .cloned()
        .unwrap_or_else(|| first.callback_uri.clone());
    let mut attempt: u32 = 0;
    let mut hops: u32 = 0;
    loop {
        let token = match inner.tokens.notification_token(app_id, &first.tenant_id) {
            Ok(token) => token,
            Err(error) => return BatchResult::Dropped(DropReason::GaveUp, error.to_string()),
        };
        let headers = post_headers(&token, &inner.settings.user_agent, call_id, &message_id);
        let (reason, retry_after) = match inner
            .transport
            .post(uri.clone(), headers, body.clone())
            .await
        {
            PostOutcome::Delivered => {
                mark(&first.callback_uri, false);
                return BatchResult::Delivered;
            }
            PostOutcome::Refused(refused) => {
                return BatchResult::Dropped(
                    DropReason::Rejected,
                    format!("{} is refused: {refused}", redacted(&uri)),
                );
            }
            PostOutcome::Rejected(status) => {
                return BatchResult::Dropped(
                    DropReason::Rejected,
                    format!("{} answered {status}; not retried", redacted(&uri)),
                );
            }
            PostOutcome::Redirect(target) if hops < MAX_REDIRECTS => {
                hops += 1;
                tracing::info!(app_id, call_id, from = %redacted(&uri), to = %redacted(&target), "notification receiver redirected");
                redirects.insert(first.callback_uri.clone(), target.clone());
                uri = target;
                continue;
            }
            PostOutcome::Redirect(_) => (format!("more than {MAX_REDIRECTS} redirects"), None),
            PostOutcome::Retry {
                reason,
                retry_after,
            } => (reason, retry_after),
        };
        hops = 0;
        metrics::counter!(crate::metrics::NOTIFICATION_RETRIES, "app_id" => app_id.to_owned())
            .increment(1);
        let elapsed = started.elapsed();
        if failing(&first.callback_uri) {
            return BatchResult::Dropped(
                DropReason::GaveUp,
                format!(
                    "{} still failing ({reason}) since an earlier batch was given up; one attempt \
                     until it answers again",
                    redacted(&uri)
                ),
            );
        }
        if elapsed >= policy.give_up_after {
            mark(&first.callback_uri, true);
            return BatchResult::Dropped(
                DropReason::GaveUp,
                format!(
                    "{} still failing after {} s ({} attempts): {reason}",
                    redacted(&uri),
                    elapsed.as_secs(),
                    attempt + 1
                ),
            );
        }
        let mut delay = policy.delay(attempt, inner.jitter());
        if let Some(asked) = retry_after {
            delay = delay.max(asked.min(policy.max));
        }
        delay = delay.min(policy.give_up_after - elapsed);
        if attempt == 0 || attempt.is_multiple_of(5) {
            tracing::warn!(app_id, call_id, uri = %redacted(&uri), attempt = attempt + 1, retry_in_ms = delay.as_millis() as u64, %reason, "notification POST failed; will retry");
        }
        attempt += 1;
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                () = inner.progress.notified() => {
                    if inner.aborted.load(Ordering::Acquire) {
                        return BatchResult::Aborted;
                    }
                }
            }
        }
    }
}

/// The headers Graph sends on callbacks (reference §1.3), with the notification JWT.
fn post_headers(token: &str, user_agent: &str, call_id: &str, message_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::AUTHORIZATION, &format!("Bearer {token}"));
    set(header::CONTENT_TYPE, "application/json");
    set(header::ACCEPT, "application/json");
    set(header::USER_AGENT, user_agent);
    // Graph's chain and scenario ids group the messages of one call; the call id does that here.
    set(
        HeaderName::from_static("x-microsoft-skype-chain-id"),
        call_id,
    );
    set(HeaderName::from_static("scenario-id"), call_id);
    set(
        HeaderName::from_static("x-microsoft-skype-message-id"),
        message_id,
    );
    headers
}
