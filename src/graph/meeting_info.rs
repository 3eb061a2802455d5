//! How a call names the meeting it joins (§2.1, §3.1): `meetingInfo` subtypes and `chatInfo`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::identity::IdentitySet;
use super::odata::{from_rest, is_empty_map, serialize_tagged, split_type, type_is};

/// The meeting a call joins, chosen by `@odata.type`.
#[derive(Debug, Clone, PartialEq)]
pub enum MeetingInfo {
    /// By organizer, together with the call's `chatInfo` (`organizerMeetingInfo`).
    Organizer(Box<OrganizerMeetingInfo>),
    /// By join id and passcode (`joinMeetingIdMeetingInfo`).
    JoinMeetingId(JoinMeetingIdMeetingInfo),
    /// By an opaque token (`tokenMeetingInfo`).
    Token(TokenMeetingInfo),
}

/// `organizerMeetingInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizerMeetingInfo {
    /// The meeting's organizer.
    #[serde(default)]
    pub organizer: Option<IdentitySet>,
    /// Docs-only flag (not in the CSDL), echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_conversation_without_host: Option<bool>,
    /// Keys Switchboard does not interpret, echoed back.
    #[serde(flatten, default, skip_serializing_if = "is_empty_map")]
    pub extra: Map<String, Value>,
}

/// `joinMeetingIdMeetingInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinMeetingIdMeetingInfo {
    /// The numeric join id of the meeting.
    #[serde(default)]
    pub join_meeting_id: Option<String>,
    /// The passcode, when the meeting requires one.
    #[serde(default)]
    pub passcode: Option<String>,
}

/// `tokenMeetingInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenMeetingInfo {
    /// The meeting's token; Switchboard takes it to be the meeting's id.
    #[serde(default)]
    pub token: Option<String>,
}

impl Serialize for MeetingInfo {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MeetingInfo::Organizer(m) => serialize_tagged(serializer, "organizerMeetingInfo", m),
            MeetingInfo::JoinMeetingId(m) => {
                serialize_tagged(serializer, "joinMeetingIdMeetingInfo", m)
            }
            MeetingInfo::Token(m) => serialize_tagged(serializer, "tokenMeetingInfo", m),
        }
    }
}

impl<'de> Deserialize<'de> for MeetingInfo {
    /// Picks the subtype by `@odata.type`, or without one by its keys (`organizer`,
    /// `joinMeetingId`, `token`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        const ALLOWED: &str = "#microsoft.graph.organizerMeetingInfo, \
            #microsoft.graph.joinMeetingIdMeetingInfo, #microsoft.graph.tokenMeetingInfo";
        let (odata_type, rest) =
            split_type::<D::Error>(Value::deserialize(deserializer)?, "meetingInfo")?;
        let kind = match &odata_type {
            Some(t) if type_is(t, "organizerMeetingInfo") => "organizer",
            Some(t) if type_is(t, "joinMeetingIdMeetingInfo") => "joinMeetingId",
            Some(t) if type_is(t, "tokenMeetingInfo") => "token",
            Some(t) => {
                return Err(D::Error::custom(format!(
                    "meetingInfo: @odata.type '{t}' is not supported; allowed: {ALLOWED}"
                )));
            }
            None => ["organizer", "joinMeetingId", "token"]
                .into_iter()
                .find(|key| rest.contains_key(*key))
                .ok_or_else(|| {
                    D::Error::custom(format!(
                        "meetingInfo: no @odata.type and none of organizer, joinMeetingId, token; \
                         allowed types: {ALLOWED}"
                    ))
                })?,
        };
        Ok(match kind {
            "organizer" => {
                MeetingInfo::Organizer(Box::new(from_rest(rest, "organizerMeetingInfo")?))
            }
            "joinMeetingId" => {
                MeetingInfo::JoinMeetingId(from_rest(rest, "joinMeetingIdMeetingInfo")?)
            }
            _ => MeetingInfo::Token(from_rest(rest, "tokenMeetingInfo")?),
        })
    }
}

/// The chat thread of a meeting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatInfo {
    /// `@odata.type` as sent.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// The thread, for example `19:meeting_…@thread.v2`.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// The message id, `"0"` for meetings.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The reply-chain message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_chain_message_id: Option<String>,
}

/// Options of a call, `outgoingCallOptions` or `incomingCallOptions`; both carry the same flags in
/// v1.0, so one type holds either and the subtype is written from the call's direction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOptions {
    /// `@odata.type`; Switchboard writes the one matching the call's direction.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Hide the bot once the call is escalated to a group call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_bot_after_escalation: Option<bool>,
    /// Send content-sharing notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_content_sharing_notification_enabled: Option<bool>,
    /// Send roster changes as deltas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_delta_roster_enabled: Option<bool>,
    /// Send interactive-roster notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_interactive_roster_enabled: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::identity::Party;
    use serde_json::json;

    #[test]
    fn organizer_meeting_info_from_the_docs_round_trips() {
        let input = json!({
            "@odata.type": "#microsoft.graph.organizerMeetingInfo",
            "organizer": {
                "@odata.type": "#microsoft.graph.identitySet",
                "user": { "@odata.type": "#microsoft.graph.identity", "id": "5810", "displayName": "Bob", "tenantId": "aa67" }
            },
            "allowConversationWithoutHost": true
        });
        let info: MeetingInfo = serde_json::from_value(input.clone()).unwrap();
        let MeetingInfo::Organizer(organizer) = &info else {
            panic!("wrong subtype: {info:?}")
        };
        assert_eq!(
            organizer.organizer.as_ref().unwrap().party(),
            Some(Party::User("5810".into()))
        );
        assert_eq!(serde_json::to_value(&info).unwrap(), input);
    }

    #[test]
    fn join_id_and_token_subtypes_parse_with_or_without_type() {
        let typed: MeetingInfo = serde_json::from_value(json!({
            "@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo",
            "joinMeetingId": "1234567890", "passcode": null
        }))
        .unwrap();
        assert_eq!(
            typed,
            MeetingInfo::JoinMeetingId(JoinMeetingIdMeetingInfo {
                join_meeting_id: Some("1234567890".into()),
                passcode: None
            })
        );
        let untyped: MeetingInfo = serde_json::from_value(json!({"token": "t"})).unwrap();
        assert!(matches!(
            untyped,
            MeetingInfo::Token(TokenMeetingInfo { token: Some(_) })
        ));
        let err = serde_json::from_value::<MeetingInfo>(json!({"foo": 1}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("none of organizer, joinMeetingId, token"),
            "{err}"
        );
    }

    #[test]
    fn chat_info_and_call_options_round_trip() {
        let chat = json!({"@odata.type": "#microsoft.graph.chatInfo",
                          "threadId": "19:meeting_Zj@thread.v2", "messageId": "0"});
        let parsed: ChatInfo = serde_json::from_value(chat.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), chat);
        let options = json!({"@odata.type": "#microsoft.graph.outgoingCallOptions",
                             "isContentSharingNotificationEnabled": true});
        let parsed: CallOptions = serde_json::from_value(options.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), options);
    }
}
