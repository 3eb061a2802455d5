//! The `commsOperation` family (§1.2, §3.6): what media and participant actions return.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::call::ResultInfo;
use super::enums::OperationStatus;
use super::odata::{short_name, type_name};
use super::participant::InvitationParticipantInfo;

/// The concrete operation type, written as `@odata.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// `playPromptOperation`.
    PlayPrompt,
    /// `recordOperation` (from recordResponse).
    Record,
    /// `subscribeToToneOperation`.
    SubscribeToTone,
    /// `sendDtmfTonesOperation`.
    SendDtmfTones,
    /// `cancelMediaProcessingOperation`.
    CancelMediaProcessing,
    /// `muteParticipantOperation` (participant mute and self mute).
    MuteParticipant,
    /// `unmuteParticipantOperation` (self unmute).
    UnmuteParticipant,
    /// `inviteParticipantsOperation`.
    InviteParticipants,
    /// `updateRecordingStatusOperation`.
    UpdateRecordingStatus,
    /// `startHoldMusicOperation`.
    StartHoldMusic,
    /// `stopHoldMusicOperation`.
    StopHoldMusic,
}

impl OperationKind {
    /// Every kind.
    pub const ALL: [OperationKind; 11] = [
        OperationKind::PlayPrompt,
        OperationKind::Record,
        OperationKind::SubscribeToTone,
        OperationKind::SendDtmfTones,
        OperationKind::CancelMediaProcessing,
        OperationKind::MuteParticipant,
        OperationKind::UnmuteParticipant,
        OperationKind::InviteParticipants,
        OperationKind::UpdateRecordingStatus,
        OperationKind::StartHoldMusic,
        OperationKind::StopHoldMusic,
    ];

    /// The Graph type name without namespace, for example `playPromptOperation`.
    pub fn type_short_name(self) -> &'static str {
        match self {
            OperationKind::PlayPrompt => "playPromptOperation",
            OperationKind::Record => "recordOperation",
            OperationKind::SubscribeToTone => "subscribeToToneOperation",
            OperationKind::SendDtmfTones => "sendDtmfTonesOperation",
            OperationKind::CancelMediaProcessing => "cancelMediaProcessingOperation",
            OperationKind::MuteParticipant => "muteParticipantOperation",
            OperationKind::UnmuteParticipant => "unmuteParticipantOperation",
            OperationKind::InviteParticipants => "inviteParticipantsOperation",
            OperationKind::UpdateRecordingStatus => "updateRecordingStatusOperation",
            OperationKind::StartHoldMusic => "startHoldMusicOperation",
            OperationKind::StopHoldMusic => "stopHoldMusicOperation",
        }
    }
}

impl Serialize for OperationKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&type_name(self.type_short_name()))
    }
}

impl<'de> Deserialize<'de> for OperationKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = String::deserialize(deserializer)?;
        let name = short_name(&value);
        OperationKind::ALL
            .into_iter()
            .find(|k| k.type_short_name().eq_ignore_ascii_case(name))
            .ok_or_else(|| D::Error::custom(format!("'{value}' is not a commsOperation type")))
    }
}

/// An operation as returned by an action, read at `/operations/{id}`, or sent when it ends.
/// Subtype fields are present only on their subtype.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommsOperation {
    /// Which request made it (`playPromptOperation`, `recordOperation`…), as `@odata.type`.
    #[serde(rename = "@odata.type")]
    pub kind: OperationKind,
    /// `@odata.id`, the operation's path, in notifications.
    #[serde(rename = "@odata.id", default, skip_serializing_if = "Option::is_none")]
    pub odata_id: Option<String>,
    /// The id in `…/operations/{id}`; the same in the 200, the GET and the notification.
    pub id: Option<String>,
    /// Where it stands.
    pub status: OperationStatus,
    /// The caller's correlation token, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_context: Option<String>,
    /// The outcome, once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
    /// recordOperation: where to download the clip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_location: Option<String>,
    /// recordOperation: the bearer token for `recordingLocation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_access_token: Option<String>,
    /// Why a record, prompt or DTMF operation ended (beta field; harmless on the open type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_reason: Option<String>,
    /// inviteParticipantsOperation: the invitees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<InvitationParticipantInfo>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn record_operation_notification_from_the_docs_round_trips() {
        let input = json!({
            "@odata.type": "#microsoft.graph.recordOperation",
            "id": "0fe0623f", "status": "completed", "clientContext": "d453",
            "resultInfo": { "@odata.type": "#microsoft.graph.resultInfo", "code": 200, "subcode": 8515,
                            "message": "Action completed, max record duration reached." },
            "recordingLocation": "https://media.example.com/recordings/17e3",
            "recordingAccessToken": "tok"
        });
        let op: CommsOperation = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(op.kind, OperationKind::Record);
        assert_eq!(op.result_info.as_ref().unwrap().subcode, 8515);
        assert_eq!(serde_json::to_value(&op).unwrap(), input);
    }

    #[test]
    fn capitalised_invite_status_parses_and_is_emitted_lowercase() {
        let op: CommsOperation = serde_json::from_value(json!({
            "@odata.type": "#microsoft.graph.inviteParticipantsOperation",
            "id": "eec3", "status": "Running", "clientContext": "f2fa", "resultInfo": null,
            "participants": [ { "identity": { "user": { "id": "2784" } } } ]
        }))
        .unwrap();
        assert_eq!(op.status, OperationStatus::Running);
        let out = serde_json::to_value(&op).unwrap();
        assert_eq!(out["status"], "running");
        assert_eq!(out["participants"][0]["identity"]["user"]["id"], "2784");
    }

    #[test]
    fn every_kind_round_trips_through_its_type_name() {
        for kind in OperationKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert!(json.as_str().unwrap().starts_with("#microsoft.graph."));
            assert_eq!(serde_json::from_value::<OperationKind>(json).unwrap(), kind);
        }
        assert!(serde_json::from_value::<OperationKind>(json!("#microsoft.graph.call")).is_err());
    }
}
