//! Builders of every notification a call produces (§1.3), each addressed to the owning app's
//! callback URI with the call id as ordering key. Both `resource` (the legacy `/app/calls/…`
//! path) and `resourceUrl` are written.

use serde::Serialize;

use super::call::Call;
use super::operations::Operation;
use super::result_codes::ResultCode;
use crate::graph::odata::type_name;
use crate::graph::{ChangeType, CommsNotification, Participant, ToneInfo};
/// A call's notification goes to the notifier as it is built here, ordered by the call's id.
pub use crate::notify::Outbound;

fn outbound(
    call: &Call,
    change_type: ChangeType,
    suffix: &str,
    data: impl Serialize,
) -> Option<Outbound> {
    let callback_uri = call.notification_uri()?.to_owned();
    Some(Outbound {
        app_id: call.owner.app_id.clone(),
        tenant_id: call.owner.tenant_id.clone(),
        callback_uri: callback_uri.clone(),
        ordering_key: call.id.to_string(),
        notification: CommsNotification {
            odata_type: type_name("commsNotification"),
            change_type,
            resource: Some(format!("/app/calls/{}{suffix}", call.id)),
            resource_url: format!("{}{suffix}", call.path()),
            callback_uri: Some(callback_uri),
            // Serializing our own model types cannot fail: they hold no maps with non-string keys.
            resource_data: serde_json::to_value(data).unwrap_or_default(),
            extensions: serde_json::Map::new(),
        },
    })
}

/// `created`: a new incoming call, with the full call.
pub fn incoming(call: &Call) -> Option<Outbound> {
    let mut view = call.view();
    view.odata_id = Some(call.path());
    outbound(call, ChangeType::Created, "", view)
}

/// `updated`: the call's state changed (with `resultInfo` after a failed transfer).
pub fn state_changed(call: &Call) -> Option<Outbound> {
    outbound(call, ChangeType::Updated, "", call.state_view())
}

/// `deleted`: the call ended; state `terminated` with the reason in `resultInfo`.
pub fn ended(call: &Call) -> Option<Outbound> {
    outbound(call, ChangeType::Deleted, "", call.state_view())
}

/// `deleted`, for a call a stopped process could not end itself (it crashed or was killed): state
/// `terminated` with 500/1005 (the call's media is gone) and what happened in the message. Sent
/// by the next start, from the journal of live calls.
pub fn lost(
    call_id: &str,
    app_id: &str,
    tenant_id: &str,
    callback_uri: &str,
    detail: &str,
) -> Outbound {
    let path = format!("/communications/calls/{call_id}");
    let data = crate::graph::Call {
        odata_type: Some(type_name("call")),
        odata_id: Some(path.clone()),
        id: Some(call_id.to_owned()),
        state: Some(crate::graph::CallState::Terminated),
        callback_uri: Some(callback_uri.to_owned()),
        result_info: Some(ResultCode::MediaPlaneFailure.result_info(Some(detail))),
        ..crate::graph::Call::default()
    };
    Outbound {
        app_id: app_id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        callback_uri: callback_uri.to_owned(),
        ordering_key: call_id.to_owned(),
        notification: CommsNotification {
            odata_type: type_name("commsNotification"),
            change_type: ChangeType::Deleted,
            resource: Some(format!("/app/calls/{call_id}")),
            resource_url: path,
            callback_uri: Some(callback_uri.to_owned()),
            resource_data: serde_json::to_value(data).unwrap_or_default(),
            extensions: serde_json::Map::new(),
        },
    }
}

/// `updated` on `/participants`: the roster as it now is.
pub fn roster(call: &Call, participants: &[Participant]) -> Option<Outbound> {
    outbound(call, ChangeType::Updated, "/participants", participants)
}

/// `deleted` on `/operations/{id}`: the operation finished.
pub fn operation_finished(call: &Call, operation: &Operation) -> Option<Outbound> {
    outbound(
        call,
        ChangeType::Deleted,
        &format!("/operations/{}", operation.id),
        operation.view(&call.id),
    )
}

/// `updated`: a key press, with `toneInfo` naming who pressed it.
pub fn tone(call: &Call, tone: ToneInfo) -> Option<Outbound> {
    let mut view = call.state_view();
    view.tone_info = Some(tone);
    view.result_info = None;
    outbound(call, ChangeType::Updated, "", view)
}
