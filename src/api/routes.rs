//! Every route under `/v1.0`. Each resource module contributes one `Router<AppState>`; merge it
//! here. The router assembly wraps all of them in the bearer-token layer, so no route can be
//! reached without a valid token.

use axum::Router;

use crate::server::state::AppState;

/// The `/v1.0` routes (paths relative to `/v1.0`).
pub fn v1_routes() -> Router<AppState> {
    Router::new()
        .merge(crate::notify::routes::routes())
        .merge(crate::api::calls::routes())
        .merge(crate::api::meetings::routes())
        .merge(crate::api::reminders::routes())
    // Resource routers are merged here, e.g. `.merge(crate::calls::routes())`.
}
