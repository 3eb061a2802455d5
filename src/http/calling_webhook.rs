//! `/v1.0/switchboard/callingWebhook`: a Switchboard extension with which an application reads or
//! sets its own calling webhook, where its incoming calls are announced. Graph keeps this in the
//! bot's registration (the Azure portal); a self-hosted bot sets it from its own code at start,
//! so it can run on any port. `[[apps]]` entries set it from the configuration at every start.
//!
//! - `GET`: `{"url": "…"}` or `{"url": null}`.
//! - `PUT {"url": "https://…"}`: sets it (an absolute http or https URL).
//! - `DELETE`: clears it; incoming calls to the app are then refused as unreachable.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::auth::AuthenticatedApp;
use super::error::{ApiError, invalid, store_unavailable};
use super::json::GraphJson;
use super::state::AppState;
use crate::calls::validate::InvalidField;

/// The body of `PUT` and the answer of every method.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallingWebhook {
    /// Where incoming-call notifications are POSTed; `null` when none is set.
    pub url: Option<String>,
}

/// `GET /v1.0/switchboard/callingWebhook`.
pub async fn read(
    State(state): State<AppState>,
    app: AuthenticatedApp,
) -> Result<GraphJson<CallingWebhook>, ApiError> {
    let record = state
        .store
        .get_app(&app.app_id)
        .await
        .map_err(store_unavailable)?;
    Ok(GraphJson(CallingWebhook {
        url: record.and_then(|r| r.calling_webhook),
    }))
}

/// `PUT /v1.0/switchboard/callingWebhook`.
pub async fn set(
    State(state): State<AppState>,
    app: AuthenticatedApp,
    GraphJson(body): GraphJson<CallingWebhook>,
) -> Result<GraphJson<CallingWebhook>, ApiError> {
    let url = body.url.ok_or_else(|| {
        invalid(InvalidField::missing(
            "url",
            "an absolute http or https URL (DELETE clears the webhook)",
        ))
    })?;
    match reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {}
        _ => {
            return Err(invalid(InvalidField::new(
                "url",
                format!("'{url}'"),
                "an absolute http or https URL",
            )));
        }
    }
    super::callbacks::check_callback(&state, "url", &url).await?;
    store(&state, &app, Some(url.clone())).await?;
    Ok(GraphJson(CallingWebhook { url: Some(url) }))
}

/// `DELETE /v1.0/switchboard/callingWebhook`.
pub async fn clear(
    State(state): State<AppState>,
    app: AuthenticatedApp,
) -> Result<StatusCode, ApiError> {
    store(&state, &app, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn store(
    state: &AppState,
    app: &AuthenticatedApp,
    url: Option<String>,
) -> Result<(), ApiError> {
    let found = state
        .store
        .set_calling_webhook(&app.app_id, url)
        .await
        .map_err(store_unavailable)?;
    if found {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "application {} is not registered on this server",
            app.app_id
        )))
    }
}
