//! Request bodies of `POST /communications/calls` and of every call and participant action (§2).
//!
//! Fields Graph marks required are still `Option` here: a missing one is reported by validation
//! with the field's name and what is allowed, instead of a generic deserializer message.
//! Read-only call properties a client may copy back (`state`, `myParticipantId`…) are not fields,
//! so they are ignored as §2.1 asks.

use serde::{Deserialize, Serialize};

use super::enums::{Modality, RejectReason, Tone};
use super::media::{MediaConfig, MediaPrompt};
use super::meeting_info::{CallOptions, ChatInfo, MeetingInfo};
use super::participant::{InvitationParticipantInfo, ParticipantInfo};

/// `POST /communications/calls`: the call to create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCallBody {
    /// Where notifications go; defaults to the app's calling webhook.
    #[serde(default)]
    pub callback_uri: Option<String>,
    /// Who hosts the media. Required.
    #[serde(default)]
    pub media_config: Option<MediaConfig>,
    /// Modalities; `["audio"]` when absent.
    #[serde(default)]
    pub requested_modalities: Option<Vec<Modality>>,
    /// One target: a P2P call; two to five: a group call; none: a meeting join.
    #[serde(default)]
    pub targets: Option<Vec<InvitationParticipantInfo>>,
    /// The bot's own identity; filled in by the server when absent.
    #[serde(default)]
    pub source: Option<ParticipantInfo>,
    /// Group-call subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The meeting chat, to join a meeting.
    #[serde(default)]
    pub chat_info: Option<ChatInfo>,
    /// The meeting, to join a meeting.
    #[serde(default)]
    pub meeting_info: Option<MeetingInfo>,
    /// The tenant of the meeting or number.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Call options.
    #[serde(default)]
    pub call_options: Option<CallOptions>,
}

/// `POST …/answer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerBody {
    /// Where notifications go from now on.
    #[serde(default)]
    pub callback_uri: Option<String>,
    /// Who hosts the media. Required.
    #[serde(default)]
    pub media_config: Option<MediaConfig>,
    /// Modalities accepted; `["audio"]` when absent.
    #[serde(default)]
    pub accepted_modalities: Option<Vec<Modality>>,
    /// Call options.
    #[serde(default)]
    pub call_options: Option<CallOptions>,
    /// Policy-based recording capacity; accepted and ignored.
    #[serde(default)]
    pub participant_capacity: Option<i32>,
}

/// `POST …/reject`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectBody {
    /// Why; `none` when absent.
    #[serde(default)]
    pub reason: Option<RejectReason>,
    /// Where the final notification goes.
    #[serde(default)]
    pub callback_uri: Option<String>,
}

/// `POST …/redirect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectBody {
    /// Where to send the call; several ring at once. Required, 1 to 25.
    #[serde(default)]
    pub targets: Option<Vec<InvitationParticipantInfo>>,
    /// How long the targets ring, 15–90 s; 55 s for one target, 60 s for several.
    #[serde(default)]
    pub timeout: Option<i32>,
    /// Where the final notification goes.
    #[serde(default)]
    pub callback_uri: Option<String>,
}

/// `POST …/transfer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferBody {
    /// Who to transfer to. Required.
    #[serde(default)]
    pub transfer_target: Option<InvitationParticipantInfo>,
    /// Who is transferred; required in a group call.
    #[serde(default)]
    pub transferee: Option<ParticipantInfo>,
}

/// `POST …/playPrompt`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayPromptBody {
    /// The prompts, played in order. Required, 1 to 20.
    #[serde(default)]
    pub prompts: Option<Vec<MediaPrompt>>,
    /// Correlation token, at most 256 characters.
    #[serde(default)]
    pub client_context: Option<String>,
}

/// `POST …/recordResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordResponseBody {
    /// At most one prompt, played before recording starts.
    #[serde(default)]
    pub prompts: Option<Vec<MediaPrompt>>,
    /// Pre-empt queued and running prompt and record operations.
    #[serde(default)]
    pub barge_in_allowed: Option<bool>,
    /// Longest silence before speech starts, 1–120 s, default 5.
    #[serde(default)]
    pub initial_silence_timeout_in_seconds: Option<i32>,
    /// Longest pause once speaking, 1–120 s, default 5.
    #[serde(default)]
    pub max_silence_timeout_in_seconds: Option<i32>,
    /// Longest recording, 1–120 s, default 5.
    #[serde(default)]
    pub max_record_duration_in_seconds: Option<i32>,
    /// Beep before recording; default true (the Python SDK always sends false unless set).
    #[serde(default)]
    pub play_beep: Option<bool>,
    /// Keys that end the recording: `"0"`–`"9"`, `"*"`, `"#"`, `"A"`–`"D"`.
    #[serde(default)]
    pub stop_tones: Option<Vec<String>>,
    /// Correlation token, at most 256 characters.
    #[serde(default)]
    pub client_context: Option<String>,
}

/// `POST …/sendDtmfTones`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendDtmfTonesBody {
    /// The keys to send, in order. Required.
    #[serde(default)]
    pub tones: Option<Vec<Tone>>,
    /// Pause between keys in milliseconds.
    #[serde(default)]
    pub delay_between_tones_ms: Option<i32>,
    /// Correlation token, at most 256 characters.
    #[serde(default)]
    pub client_context: Option<String>,
}

/// The body of actions whose only parameter is `clientContext`: subscribeToTone,
/// cancelMediaProcessing, mute and unmute (self), and participant mute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientContextBody {
    /// Correlation token, at most 256 characters.
    #[serde(default)]
    pub client_context: Option<String>,
}

/// `POST …/participants/invite`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteBody {
    /// Who to invite. Required, 1 to 5 (only the first counts with `replacesCallId`).
    #[serde(default)]
    pub participants: Option<Vec<InvitationParticipantInfo>>,
    /// Correlation token, at most 256 characters.
    #[serde(default)]
    pub client_context: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::identity::Party;
    use serde_json::json;

    #[test]
    fn sdk_create_call_body_parses() {
        // Exactly what msgraph-sdk 1.65 sends (§7.4): no @odata.type on call, targets or identities.
        let body: CreateCallBody = serde_json::from_value(json!({
            "callbackUri": "https://bot.example.com/cb",
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
            "requestedModalities": ["audio"],
            "targets": [{"identity": {"user": {"displayName": "John", "id": "u1"}}}]
        }))
        .unwrap();
        assert!(body.media_config.unwrap().is_service_hosted());
        let target = &body.targets.unwrap()[0];
        assert_eq!(
            target.identity.as_ref().unwrap().party(),
            Some(Party::User("u1".into()))
        );
    }

    #[test]
    fn read_only_call_fields_are_ignored_on_create() {
        let body: CreateCallBody = serde_json::from_value(json!({
            "@odata.type": "#microsoft.graph.call",
            "direction": "outgoing", "state": "whatever", "myParticipantId": "x",
            "callChainId": "c", "mediaConfig": {"blob": "b"}
        }))
        .unwrap();
        assert!(!body.media_config.unwrap().is_service_hosted());
    }

    #[test]
    fn sdk_record_response_and_reject_bodies_parse() {
        let record: RecordResponseBody = serde_json::from_value(json!({
            "bargeInAllowed": false, "playBeep": false, "maxRecordDurationInSeconds": 10,
            "stopTones": ["#", "1", "*"], "clientContext": "c",
            "prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": "https://x/a.wav"}}]
        }))
        .unwrap();
        assert_eq!(record.play_beep, Some(false));
        assert_eq!(record.stop_tones.unwrap().len(), 3);
        let reject: RejectBody = serde_json::from_value(json!({"reason": "busy"})).unwrap();
        assert_eq!(reject.reason, Some(RejectReason::Busy));
        let capitalised: RejectBody =
            serde_json::from_value(json!({"reason": "Forbidden"})).unwrap();
        assert_eq!(capitalised.reason, Some(RejectReason::Forbidden));
    }

    #[test]
    fn docs_answer_redirect_transfer_and_invite_bodies_parse() {
        let answer: AnswerBody = serde_json::from_value(json!({
            "callbackUri": "https://bot.example.com/api/calls",
            "acceptedModalities": ["audio"],
            "mediaConfig": { "@odata.type": "#microsoft.graph.serviceHostedMediaConfig",
                             "preFetchMedia": [ { "uri": "https://cdn.example.com/menu.wav", "resourceId": "1D6D" } ] },
            "callOptions": { "@odata.type": "#microsoft.graph.incomingCallOptions", "isContentSharingNotificationEnabled": false }
        }))
        .unwrap();
        assert_eq!(answer.accepted_modalities, Some(vec![Modality::Audio]));
        let redirect: RedirectBody = serde_json::from_value(json!({
            "targets": [ { "@odata.type": "#microsoft.graph.invitationParticipantInfo",
                           "identity": { "@odata.type": "#microsoft.graph.identitySet",
                                         "phone": { "@odata.type": "#microsoft.graph.identity", "id": "+12345678901" } } } ],
            "timeout": 30
        }))
        .unwrap();
        assert_eq!(redirect.timeout, Some(30));
        let transfer: TransferBody = serde_json::from_value(json!({
            "transferTarget": { "endpointType": "default",
                                "identity": { "user": { "id": "550f", "displayName": "Heidi Steen" } },
                                "replacesCallId": "e5d3" },
            "transferee": { "identity": { "user": { "id": "u2", "tenantId": "t" } }, "participantId": "p2" }
        }))
        .unwrap();
        assert_eq!(
            transfer.transferee.unwrap().participant_id.as_deref(),
            Some("p2")
        );
        let invite: InviteBody = serde_json::from_value(json!({
            "participants": [ { "identity": { "user": { "id": "2784", "displayName": "Alex" } } } ],
            "clientContext": "f2fa"
        }))
        .unwrap();
        assert_eq!(invite.participants.unwrap().len(), 1);
        let dtmf: SendDtmfTonesBody = serde_json::from_value(
            json!({"tones": ["tone1", "Pound"], "delayBetweenTonesMs": 300}),
        )
        .unwrap();
        assert_eq!(dtmf.tones, Some(vec![Tone::Tone1, Tone::Pound]));
    }
}
