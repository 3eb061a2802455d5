//! The address policy for callback URIs an application sends (`callbackUri` on calls and
//! reminders, test notifications, its calling webhook), checked when the request arrives so the
//! app learns at once; the notifier checks again on every POST (`notify::transport`).

use super::error::{ApiError, invalid};
use super::state::AppState;
use crate::address_policy::{self, Purpose};
use crate::calls::validate::InvalidField;
use crate::notify::CallbackPolicy;

/// Refuses `uri` (in `field`) when the server may not POST to its address: a non-public address,
/// or a name resolving to one, unless `notify.allow_private_addresses` is on or the origin is a
/// configured `[[apps]]` calling webhook's.
pub async fn check_callback(state: &AppState, field: &str, uri: &str) -> Result<(), ApiError> {
    if state.config.notify.allow_private_addresses {
        return Ok(());
    }
    let refuse = |allowed: String| invalid(InvalidField::new(field, format!("'{uri}'"), allowed));
    let url = reqwest::Url::parse(uri)
        .map_err(|e| refuse(format!("an absolute http or https URL ({e})")))?;
    let origin = url.origin().ascii_serialization();
    let configured = state
        .config
        .apps
        .iter()
        .filter_map(|app| app.calling_webhook.as_deref())
        .filter_map(CallbackPolicy::origin_of)
        .any(|trusted| trusted == origin);
    if configured {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    address_policy::resolve_checked(host, port, false, Purpose::Callback)
        .await
        .map(|_| ())
        .map_err(|error| refuse(format!("a URL the server may POST to: {error}")))
}

/// [`check_callback`] for an optional URI.
pub async fn check_optional(
    state: &AppState,
    field: &str,
    uri: Option<&str>,
) -> Result<(), ApiError> {
    match uri {
        Some(uri) => check_callback(state, field, uri).await,
        None => Ok(()),
    }
}
