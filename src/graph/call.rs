//! The `call` resource (§3.1) with `resultInfo` and `toneInfo`.
//!
//! One struct serves the full resource (GET, create response) and the partial calls inside
//! notifications: every property is optional and absent ones are not written.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::enums::{CallDirection, CallState, MediaState, Modality, Tone};
use super::media::MediaConfig;
use super::meeting_info::{CallOptions, ChatInfo, MeetingInfo};
use super::odata::{is_empty_map, type_name};
use super::participant::{InvitationParticipantInfo, ParticipantInfo};

/// The outcome of a call or an operation: a status-like `code`, a `subcode` and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultInfo {
    /// `#microsoft.graph.resultInfo` on output.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// 2xx success, 4xx client error, 5xx server error. Input may be a numeric string (a doc typo).
    #[serde(deserialize_with = "int32_lenient")]
    pub code: i32,
    /// Detail within `code`. Input may spell it `subCode` (a doc typo).
    #[serde(alias = "subCode", deserialize_with = "int32_lenient", default)]
    pub subcode: i32,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ResultInfo {
    /// A result info typed for output.
    pub fn new(code: i32, subcode: i32, message: impl Into<String>) -> ResultInfo {
        ResultInfo {
            odata_type: Some(type_name("resultInfo")),
            code,
            subcode,
            message: Some(message.into()),
        }
    }
}

/// Accepts an Int32 given as a JSON number or as a numeric string.
fn int32_lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| D::Error::custom(format!("{n} is not an Int32"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("'{s}' is not an Int32"))),
        other => Err(D::Error::custom(format!("expected an Int32, got {other}"))),
    }
}

/// One DTMF key press reported by a tone notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToneInfo {
    /// `#microsoft.graph.toneInfo` on output.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Increasing per call; orders key presses.
    pub sequence_id: i64,
    /// The key pressed, as Graph names it (`tone1`, `star`, `pound`…).
    pub tone: Tone,
    /// Switchboard extension: the roster id of the participant who pressed the key (Graph has no
    /// way to tell who pressed a key in a multi-party call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
}

/// `callMediaState`: whether audio flows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallMediaState {
    /// `active` while audio flows, else `inactive`.
    pub audio: MediaState,
}

/// The `call` resource, whole or partial.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// `@odata.context` of a top-level response.
    #[serde(
        rename = "@odata.context",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_context: Option<String>,
    /// `#microsoft.graph.call`.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// `@odata.id`, the call's path.
    #[serde(rename = "@odata.id", default, skip_serializing_if = "Option::is_none")]
    pub odata_id: Option<String>,
    /// The id the app names the call by in every later request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where the call stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CallState>,
    /// Incoming or outgoing, from the owning app's point of view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<CallDirection>,
    /// Where this call's notifications go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_uri: Option<String>,
    /// Who placed the call (an app or a user), with its roster participant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ParticipantInfo>,
    /// The parties the caller invited, as sent (for an incoming call, the app that was rung).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<InvitationParticipantInfo>>,
    /// The modalities asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_modalities: Option<Vec<Modality>>,
    /// Who hosts the media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_config: Option<MediaConfig>,
    /// Whether audio flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_state: Option<CallMediaState>,
    /// The meeting chat, for meeting calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_info: Option<ChatInfo>,
    /// The meeting, for meeting calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_info: Option<MeetingInfo>,
    /// The owning app's tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The owning app's own participant id in the roster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub my_participant_id: Option<String>,
    /// Why the call ended, or why a transfer failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
    /// One id shared by every leg of a conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_chain_id: Option<String>,
    /// The app's roster and notification options (`outgoingCallOptions`/`incomingCallOptions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_options: Option<CallOptions>,
    /// Group-call subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The key press a tone notification reports; absent from every other view of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone_info: Option<ToneInfo>,
    /// Keys outside the v1.0 schema that Graph also emits (`terminationReason`…).
    #[serde(flatten, default, skip_serializing_if = "is_empty_map")]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn result_info_accepts_doc_typos_and_emits_int32_subcode() {
        let typo: ResultInfo =
            serde_json::from_value(json!({"code": "500", "subCode": 7000, "message": "m"}))
                .unwrap();
        assert_eq!((typo.code, typo.subcode), (500, 7000));
        let emitted =
            serde_json::to_value(ResultInfo::new(200, 5001, "The conversation has ended."))
                .unwrap();
        assert_eq!(
            emitted,
            json!({"@odata.type": "#microsoft.graph.resultInfo", "code": 200, "subcode": 5001,
                   "message": "The conversation has ended."})
        );
        let err = serde_json::from_value::<ResultInfo>(json!({"code": 1e12}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Int32"), "{err}");
    }

    #[test]
    fn docs_get_call_response_parses() {
        let body = json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#communications/calls/$entity",
            "@odata.type": "#microsoft.graph.call",
            "id": "2e1a0b00", "state": "established", "direction": "outgoing",
            "callbackUri": "https://bot.example.com/api/calls",
            "callChainId": "d821", "myParticipantId": "499f", "tenantId": "aa67",
            "requestedModalities": ["audio"],
            "mediaConfig": { "@odata.type": "#microsoft.graph.serviceHostedMediaConfig", "preFetchMedia": [] },
            "source": { "@odata.type": "#microsoft.graph.participantInfo",
                        "identity": { "@odata.type": "#microsoft.graph.identitySet",
                                      "application": { "@odata.type": "#microsoft.graph.identity", "id": "2891", "displayName": "Calling Bot" } } },
            "targets": [ { "@odata.type": "#microsoft.graph.invitationParticipantInfo",
                           "identity": { "@odata.type": "#microsoft.graph.identitySet",
                                         "user": { "@odata.type": "#microsoft.graph.identity", "id": "112f", "displayName": "John" } } } ],
            "chatInfo": null, "meetingInfo": null, "resultInfo": null, "toneInfo": null, "mediaState": null, "subject": null
        });
        let call: Call = serde_json::from_value(body).unwrap();
        assert_eq!(call.state, Some(CallState::Established));
        assert_eq!(call.targets.as_ref().unwrap().len(), 1);
        assert!(call.meeting_info.is_none());
    }

    #[test]
    fn partial_tone_call_has_only_the_changed_fields() {
        let call = Call {
            odata_type: Some(type_name("call")),
            state: Some(CallState::Established),
            tone_info: Some(ToneInfo {
                odata_type: Some(type_name("toneInfo")),
                sequence_id: 3,
                tone: Tone::Pound,
                participant_id: Some("p-1".into()),
            }),
            ..Call::default()
        };
        assert_eq!(
            serde_json::to_value(&call).unwrap(),
            json!({"@odata.type": "#microsoft.graph.call", "state": "established",
                   "toneInfo": {"@odata.type": "#microsoft.graph.toneInfo", "sequenceId": 3,
                                "tone": "pound", "participantId": "p-1"}})
        );
    }
}
