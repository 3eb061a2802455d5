//! `GET /v1.0/switchboard/notificationDelivery`: an application's delivery counters and recent
//! losses (a Switchboard extension; Graph has no equivalent).

use axum::extract::State;

use crate::api::json::GraphJson;
use crate::auth::AuthenticatedApp;
use crate::server::state::AppState;

use super::DeliveryStatus;

/// Path of the status route under `/v1.0`.
pub const PATH: &str = "/switchboard/notificationDelivery";

/// The handler: the caller's own status only.
pub async fn delivery_status(
    State(state): State<AppState>,
    app: AuthenticatedApp,
) -> GraphJson<DeliveryStatus> {
    GraphJson(state.notifier.status(&app.app_id))
}
