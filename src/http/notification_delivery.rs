//! Switchboard extensions (Graph has no equivalent) that let a bot developer see and test
//! notification delivery:
//!
//! - `GET /v1.0/switchboard/notificationDelivery`: the caller's delivery counters and recent
//!   losses (how queue overflow and give-ups are surfaced).
//! - `POST /v1.0/switchboard/testNotification`: queue test notifications to a callback URI, signed
//!   and delivered exactly like call notifications — to check a webhook and its JWT validation.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::AuthenticatedApp;
use super::error::ApiError;
use super::json::GraphJson;
use super::state::AppState;
use crate::graph::odata::type_name;
use crate::graph::{ChangeType, CommsNotification};
use crate::notify::{DeliveryStatus, EnqueueError, Outbound};

/// Most test notifications one request may queue.
pub const MAX_TEST_NOTIFICATIONS: u32 = 100;

/// `GET /v1.0/switchboard/notificationDelivery`: the caller's own status only.
pub async fn status(
    State(state): State<AppState>,
    app: AuthenticatedApp,
) -> GraphJson<DeliveryStatus> {
    GraphJson(state.notifier.status(&app.app_id))
}

/// Body of `POST /v1.0/switchboard/testNotification`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestNotificationBody {
    /// Where to POST; default: the app's calling webhook.
    #[serde(default)]
    pub callback_uri: Option<String>,
    /// How many notifications (1–100, default 1), numbered by `switchboardTest.sequence`.
    #[serde(default)]
    pub count: Option<u32>,
    /// Ordering key; default: a fresh id. Reuse one to test ordering across requests.
    #[serde(default)]
    pub call_id: Option<String>,
}

/// Response of `POST /v1.0/switchboard/testNotification`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestNotificationResult {
    /// The `callId` the notifications were queued under: the one sent, or a fresh id.
    pub call_id: String,
    /// Notifications accepted into the queue.
    pub queued: u32,
    /// Notifications refused because the queue was full.
    pub dropped: u32,
}

/// `POST /v1.0/switchboard/testNotification` → `202` with [`TestNotificationResult`].
pub async fn test_notification(
    State(state): State<AppState>,
    app: AuthenticatedApp,
    GraphJson(body): GraphJson<TestNotificationBody>,
) -> Result<(StatusCode, GraphJson<TestNotificationResult>), ApiError> {
    let count = body.count.unwrap_or(1);
    if !(1..=MAX_TEST_NOTIFICATIONS).contains(&count) {
        return Err(ApiError::bad_request(format!(
            "count {count} is out of range; allowed: 1 to {MAX_TEST_NOTIFICATIONS}"
        )));
    }
    let callback_uri = match body.callback_uri {
        Some(uri) => uri,
        None => state
            .store
            .get_app(&app.app_id)
            .await?
            .and_then(|a| a.calling_webhook)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "callbackUri is missing and application {} has no calling_webhook configured",
                    app.app_id
                ))
            })?,
    };
    validate_callback_uri(&callback_uri)?;
    super::callbacks::check_callback(&state, "callbackUri", &callback_uri).await?;
    let call_id = body
        .call_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let (mut queued, mut dropped) = (0, 0);
    for sequence in 0..count {
        let mut extensions = serde_json::Map::new();
        extensions.insert(
            "switchboardTest".into(),
            json!({"sequence": sequence, "count": count}),
        );
        let notification = CommsNotification {
            odata_type: type_name("commsNotification"),
            change_type: ChangeType::Updated,
            resource: Some(format!("/app/calls/{call_id}")),
            resource_url: format!("/communications/calls/{call_id}"),
            callback_uri: Some(callback_uri.clone()),
            resource_data: json!({"@odata.type": "#microsoft.graph.call", "id": call_id}),
            extensions,
        };
        let request = Outbound {
            app_id: app.app_id.clone(),
            tenant_id: app.tenant_id.clone(),
            callback_uri: callback_uri.clone(),
            ordering_key: call_id.clone(),
            notification,
        };
        match state.notifier.enqueue(request) {
            Ok(()) => queued += 1,
            Err(EnqueueError::QueueFull { .. }) => dropped += 1,
            Err(error @ EnqueueError::ShuttingDown { .. }) => {
                return Err(ApiError::service_unavailable(error.to_string(), 5));
            }
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        GraphJson(TestNotificationResult {
            call_id,
            queued,
            dropped,
        }),
    ))
}

/// A callback URI must be an absolute http(s) URL.
pub fn validate_callback_uri(uri: &str) -> Result<(), ApiError> {
    match reqwest::Url::parse(uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        Ok(url) => Err(ApiError::bad_request(format!(
            "callbackUri {uri:?} has scheme {:?}; allowed: an absolute http or https URL",
            url.scheme()
        ))),
        Err(error) => Err(ApiError::bad_request(format!(
            "callbackUri {uri:?} is not a URL ({error}); allowed: an absolute http or https URL"
        ))),
    }
}
