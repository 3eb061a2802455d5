//! `commsNotification` and the `commsNotifications` envelope POSTed to a bot's `callbackUri` (§1.3).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::enums::ChangeType;
use super::odata::type_name;

/// One change: what changed (`resourceUrl`), how (`changeType`) and the new data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommsNotification {
    /// `#microsoft.graph.commsNotification`.
    #[serde(rename = "@odata.type", default = "notification_type")]
    pub odata_type: String,
    /// Created, updated or deleted.
    pub change_type: ChangeType,
    /// The legacy `/app/calls/…` path many bots still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The Graph path of the changed resource, for example `/communications/calls/{id}`.
    pub resource_url: String,
    /// The call's callback URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_uri: Option<String>,
    /// A partial call, a participant array, or an operation, each with `@odata.type`.
    pub resource_data: Value,
    /// Switchboard extension members beside Graph's (for example `switchboardTest` on a test
    /// notification); empty on every notification Graph also sends.
    #[serde(flatten)]
    pub extensions: serde_json::Map<String, Value>,
}

fn notification_type() -> String {
    type_name("commsNotification")
}

/// The envelope: one POST may carry several notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommsNotifications {
    /// `#microsoft.graph.commsNotifications`.
    #[serde(rename = "@odata.type", default = "envelope_type")]
    pub odata_type: String,
    /// The notifications, oldest first.
    pub value: Vec<CommsNotification>,
}

fn envelope_type() -> String {
    type_name("commsNotifications")
}

impl CommsNotifications {
    /// An envelope around notifications, oldest first.
    pub fn new(value: Vec<CommsNotification>) -> CommsNotifications {
        CommsNotifications {
            odata_type: envelope_type(),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docs_envelope_round_trips() {
        let input = json!({
            "@odata.type": "#microsoft.graph.commsNotifications",
            "value": [ {
                "@odata.type": "#microsoft.graph.commsNotification",
                "changeType": "updated",
                "resource": "/app/calls/2e1a",
                "resourceUrl": "/communications/calls/2e1a",
                "callbackUri": "https://bot.example.com/api/calls",
                "resourceData": { "@odata.type": "#microsoft.graph.call", "state": "established" }
            } ]
        });
        let envelope: CommsNotifications = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(envelope.value[0].change_type, ChangeType::Updated);
        assert_eq!(serde_json::to_value(&envelope).unwrap(), input);
    }
}
