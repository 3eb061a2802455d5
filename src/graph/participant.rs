//! `participantInfo`, `invitationParticipantInfo` (§3.4) and the `participant` resource (§3.2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::enums::{EndpointType, MediaDirection, Modality};
use super::identity::IdentitySet;
use super::odata::{is_empty_map, type_name};

/// Who a party of a call is: identity plus where and how it is connected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantInfo {
    /// `@odata.type` as sent; server-built values carry `#microsoft.graph.participantInfo`.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Who the party is. Required by Graph; a missing one is reported by validation.
    #[serde(default)]
    pub identity: Option<IdentitySet>,
    /// ISO 3166-1 alpha-2 country at call start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// The kind of client (`voicemail`, a Skype for Business phone…); echoed, never set here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<EndpointType>,
    /// Language, for example `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_id: Option<String>,
    /// Home region, for example `amer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The participant id in the call's roster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    /// Keys Switchboard does not interpret, echoed back.
    #[serde(flatten, default, skip_serializing_if = "is_empty_map")]
    pub extra: Map<String, Value>,
}

impl ParticipantInfo {
    /// A participant info for an identity, typed for output.
    pub fn new(identity: IdentitySet) -> ParticipantInfo {
        ParticipantInfo {
            odata_type: Some(type_name("participantInfo")),
            identity: Some(identity),
            ..ParticipantInfo::default()
        }
    }
}

/// A party being invited: a call target, a redirect or transfer target, an invitee.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationParticipantInfo {
    /// `@odata.type` as sent; the Python SDK sends none.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Who is invited. Required; a missing one is reported by validation.
    #[serde(default)]
    pub identity: Option<IdentitySet>,
    /// The call the invitee is in now, dropped once it has joined this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces_call_id: Option<String>,
    /// The participant id, when one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    /// Whether the invitee is hidden from the roster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// Whether to leave the default audio routing group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_from_default_audio_routing_group: Option<bool>,
    /// The kind of endpoint to ring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type: Option<EndpointType>,
    /// Language of a PSTN invitee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_id: Option<String>,
    /// Region of a PSTN invitee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Keys Switchboard does not interpret, echoed back.
    #[serde(flatten, default, skip_serializing_if = "is_empty_map")]
    pub extra: Map<String, Value>,
}

/// One media stream of a participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaStream {
    /// `#microsoft.graph.mediaStream` on output.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// What the stream carries; always `audio` in the rosters Switchboard writes.
    pub media_type: Modality,
    /// The stream's source id in the conversation.
    pub source_id: String,
    /// Which way media flows.
    pub direction: MediaDirection,
    /// Whether the server drops this stream's media (a server mute).
    pub server_muted: bool,
    /// A label such as `main-audio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl MediaStream {
    /// The main audio stream of a participant.
    pub fn main_audio(source_id: impl Into<String>, server_muted: bool) -> MediaStream {
        MediaStream {
            odata_type: Some(type_name("mediaStream")),
            media_type: Modality::Audio,
            source_id: source_id.into(),
            direction: MediaDirection::SendReceive,
            server_muted,
            label: Some("main-audio".into()),
        }
    }
}

/// Why a participant left the roster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovedState {
    /// The reason, in words.
    pub reason: String,
}

/// A participant in a call's roster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// `#microsoft.graph.participant`.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// The participant's roster id, the same in every leg's view (`…/participants/{id}`).
    pub id: Option<String>,
    /// Who the participant is.
    pub info: ParticipantInfo,
    /// The participant's media streams.
    #[serde(default)]
    pub media_streams: Vec<MediaStream>,
    /// Muted by the participant or by the server.
    pub is_muted: bool,
    /// Waiting in a meeting lobby.
    pub is_in_lobby: bool,
    /// A blob the participant supplied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// The roster sequence in which this participant last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roster_sequence_number: Option<i64>,
    /// Set when the participant has left, in the roster update that reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_state: Option<RemovedState>,
    /// Switchboard extension: whether the participant is speaking, as the media plane last
    /// heard it (rate-limited); absent while its audio has not been measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_speaking: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::identity::Party;
    use serde_json::json;

    #[test]
    fn docs_roster_participant_round_trips() {
        let input = json!({
            "@odata.type": "#microsoft.graph.participant",
            "id": "0d7664b6",
            "info": { "@odata.type": "#microsoft.graph.participantInfo",
                      "identity": { "@odata.type": "#microsoft.graph.identitySet",
                                    "user": { "@odata.type": "#microsoft.graph.identity", "id": "112f", "displayName": "John" } },
                      "languageId": "en-US" },
            "mediaStreams": [
                { "@odata.type": "#microsoft.graph.mediaStream", "mediaType": "audio", "sourceId": "1", "direction": "sendReceive", "serverMuted": false }
            ],
            "isMuted": true,
            "isInLobby": false
        });
        let participant: Participant = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(
            participant.info.identity.as_ref().unwrap().party(),
            Some(Party::User("112f".into()))
        );
        assert_eq!(serde_json::to_value(&participant).unwrap(), input);
    }

    #[test]
    fn invitation_with_replaces_call_id_and_extra_keys_round_trips() {
        let input = json!({
            "@odata.type": "#microsoft.graph.invitationParticipantInfo",
            "endpointType": "default",
            "identity": { "user": { "id": "550f", "displayName": "Heidi Steen" } },
            "replacesCallId": "e5d3",
            "someFutureKey": 1
        });
        let target: InvitationParticipantInfo = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(target.replaces_call_id.as_deref(), Some("e5d3"));
        assert_eq!(serde_json::to_value(&target).unwrap(), input);
    }
}
