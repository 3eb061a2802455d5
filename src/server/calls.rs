//! Starting the call service for a server: notifications go to the notifier, media commands to
//! the media plane, and shutdown ends every call with its final notification.

use std::sync::Arc;

use crate::calls::call::CallTimers;
use crate::calls::media::{MediaEvent, MediaPlane};
use crate::calls::notify::Outbound;
use crate::calls::runtime::{CallService, NotificationSink, UserRinger};
use crate::notify::{NotificationRequest, Notifier};
use crate::server::shutdown::Shutdown;

/// Hands notifications to the server's notifier.
struct NotifierSink(Notifier);

impl NotificationSink for NotifierSink {
    fn deliver(&self, outbound: Outbound) {
        let call_id = outbound.ordering_key.to_string();
        let notification = match serde_json::to_value(&outbound.notification) {
            Ok(value) => value,
            Err(error) => {
                tracing::error!(%error, call_id, "notification failed to serialize");
                return;
            }
        };
        let request = NotificationRequest {
            app_id: outbound.app_id,
            tenant_id: outbound.tenant_id,
            callback_uri: outbound.callback_uri,
            call_id,
            notification,
        };
        // A refusal is counted, logged and listed by the notifier itself.
        let _ = self.0.enqueue(request);
    }
}

/// Starts the call service on the current tokio runtime, reading the media plane's `events`,
/// and registers the shutdown hook that ends every call (200/5003).
pub fn start_call_service(
    timers: CallTimers,
    media: Arc<dyn MediaPlane>,
    events: tokio::sync::mpsc::Receiver<MediaEvent>,
    notifier: &Notifier,
    ringer: Arc<dyn UserRinger>,
    shutdown: &Shutdown,
) -> CallService {
    let service = CallService::start(
        timers,
        media,
        events,
        Arc::new(NotifierSink(notifier.clone())),
        ringer,
    );
    let ending = service.clone();
    shutdown.on_shutdown("end every call", move || async move {
        ending.with(|registry, _, fx| registry.end_all(fx));
    });
    service
}
