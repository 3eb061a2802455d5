//! Media configuration and prompts (§3.5): `mediaConfig`, `mediaInfo`, `mediaPrompt`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::odata::{from_rest, is_empty_map, serialize_tagged, split_type, type_is};

/// Who hosts a call's media, chosen by `@odata.type`.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaConfig {
    /// Switchboard runs the media: prompts, recording, tones (`serviceHostedMediaConfig`).
    ServiceHosted(ServiceHostedMediaConfig),
    /// The bot runs its own media stack (`appHostedMediaConfig`); the blob is opaque here.
    AppHosted(AppHostedMediaConfig),
}

/// `serviceHostedMediaConfig`: media hosted by the service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceHostedMediaConfig {
    /// Prompts to fetch and cache before they are played.
    #[serde(default)]
    pub pre_fetch_media: Vec<MediaInfo>,
    /// Keys Switchboard does not interpret (`removeFromDefaultAudioGroup`…), echoed back.
    #[serde(flatten, default, skip_serializing_if = "is_empty_map")]
    pub extra: Map<String, Value>,
}

/// `appHostedMediaConfig`: media hosted by the bot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppHostedMediaConfig {
    /// The bot's media-session configuration, opaque to Switchboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// Keys Switchboard does not interpret, echoed back.
    #[serde(flatten, default, skip_serializing_if = "is_empty_map")]
    pub extra: Map<String, Value>,
}

impl MediaConfig {
    /// Whether Switchboard hosts this call's media (and so can play, record and detect tones).
    pub fn is_service_hosted(&self) -> bool {
        matches!(self, MediaConfig::ServiceHosted(_))
    }

    /// The prompts to prefetch, empty for app-hosted media.
    pub fn pre_fetch_media(&self) -> &[MediaInfo] {
        match self {
            MediaConfig::ServiceHosted(config) => &config.pre_fetch_media,
            MediaConfig::AppHosted(_) => &[],
        }
    }
}

impl Serialize for MediaConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MediaConfig::ServiceHosted(c) => {
                serialize_tagged(serializer, "serviceHostedMediaConfig", c)
            }
            MediaConfig::AppHosted(c) => serialize_tagged(serializer, "appHostedMediaConfig", c),
        }
    }
}

impl<'de> Deserialize<'de> for MediaConfig {
    /// Picks the subtype by `@odata.type`; without one, a `blob` means app-hosted and anything
    /// else service-hosted, so a bare `{}` from a hand-written client still works.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let (odata_type, rest) =
            split_type::<D::Error>(Value::deserialize(deserializer)?, "mediaConfig")?;
        let app_hosted = match &odata_type {
            Some(t) if type_is(t, "serviceHostedMediaConfig") => false,
            Some(t) if type_is(t, "appHostedMediaConfig") => true,
            Some(t) => {
                return Err(D::Error::custom(format!(
                    "mediaConfig: @odata.type '{t}' is not supported; allowed: \
                     #microsoft.graph.serviceHostedMediaConfig, #microsoft.graph.appHostedMediaConfig"
                )));
            }
            None => rest.contains_key("blob"),
        };
        Ok(if app_hosted {
            MediaConfig::AppHosted(from_rest(rest, "appHostedMediaConfig")?)
        } else {
            MediaConfig::ServiceHosted(from_rest(rest, "serviceHostedMediaConfig")?)
        })
    }
}

/// A media file: where to fetch it and the cache key it is known by.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaInfo {
    /// `@odata.type` as sent.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Where the audio is. Required by Graph unless `resourceId` names a configured prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Cache key; matches `preFetchMedia` entries and prompts in the configured folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}

/// A prompt to play: the only concrete `prompt` type of v1.0, `mediaPrompt`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaPrompt {
    /// Where the audio comes from: a `uri` to fetch, a `resourceId`, or both.
    pub media_info: Option<MediaInfo>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MediaPromptFields {
    #[serde(default)]
    media_info: Option<MediaInfo>,
}

impl Serialize for MediaPrompt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = MediaPromptFields {
            media_info: self.media_info.clone(),
        };
        serialize_tagged(serializer, "mediaPrompt", &fields)
    }
}

impl<'de> Deserialize<'de> for MediaPrompt {
    /// Accepts `mediaPrompt` or no `@odata.type`; any other prompt type is refused by name.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let (odata_type, rest) =
            split_type::<D::Error>(Value::deserialize(deserializer)?, "prompt")?;
        if let Some(t) = odata_type.filter(|t| !type_is(t, "mediaPrompt")) {
            return Err(D::Error::custom(format!(
                "prompt: @odata.type '{t}' is not supported; allowed: #microsoft.graph.mediaPrompt"
            )));
        }
        let fields: MediaPromptFields = from_rest(rest, "mediaPrompt")?;
        Ok(MediaPrompt {
            media_info: fields.media_info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_hosted_config_from_the_docs_round_trips() {
        let input = json!({
            "@odata.type": "#microsoft.graph.serviceHostedMediaConfig",
            "preFetchMedia": [ { "uri": "https://cdn.example.com/welcome.wav", "resourceId": "0b1f" } ]
        });
        let config: MediaConfig = serde_json::from_value(input.clone()).unwrap();
        assert!(config.is_service_hosted());
        assert_eq!(
            config.pre_fetch_media()[0].resource_id.as_deref(),
            Some("0b1f")
        );
        assert_eq!(serde_json::to_value(&config).unwrap(), input);
    }

    #[test]
    fn sdk_service_hosted_config_has_only_the_type() {
        let config: MediaConfig = serde_json::from_value(
            json!({"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}),
        )
        .unwrap();
        assert_eq!(
            config,
            MediaConfig::ServiceHosted(ServiceHostedMediaConfig::default())
        );
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            json!({"@odata.type": "#microsoft.graph.serviceHostedMediaConfig", "preFetchMedia": []})
        );
    }

    #[test]
    fn app_hosted_config_keeps_blob_and_extra_keys() {
        let input = json!({
            "@odata.type": "#microsoft.graph.appHostedMediaConfig",
            "blob": "<media session configuration>",
            "removeFromDefaultAudioGroup": false
        });
        let config: MediaConfig = serde_json::from_value(input.clone()).unwrap();
        assert!(!config.is_service_hosted());
        assert_eq!(serde_json::to_value(&config).unwrap(), input);
        let untyped: MediaConfig = serde_json::from_value(json!({"blob": "x"})).unwrap();
        assert!(!untyped.is_service_hosted());
    }

    #[test]
    fn unknown_media_config_types_are_named() {
        let err =
            serde_json::from_value::<MediaConfig>(json!({"@odata.type": "#microsoft.graph.foo"}))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("'#microsoft.graph.foo' is not supported"),
            "{err}"
        );
        assert!(err.contains("serviceHostedMediaConfig"), "{err}");
    }

    #[test]
    fn prompts_from_the_sdk_and_the_docs_parse_and_re_emit_their_type() {
        let sdk = json!({"@odata.type": "#microsoft.graph.mediaPrompt",
                         "mediaInfo": {"resourceId": "r1", "uri": "https://x/a.wav"}});
        let prompt: MediaPrompt = serde_json::from_value(sdk.clone()).unwrap();
        assert_eq!(
            prompt.media_info.as_ref().unwrap().uri.as_deref(),
            Some("https://x/a.wav")
        );
        assert_eq!(serde_json::to_value(&prompt).unwrap(), sdk);
        let untyped: MediaPrompt =
            serde_json::from_value(json!({"mediaInfo": {"uri": "u"}})).unwrap();
        assert_eq!(untyped.media_info.unwrap().uri.as_deref(), Some("u"));
        let err = serde_json::from_value::<MediaPrompt>(
            json!({"@odata.type": "#microsoft.graph.textPrompt"}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("textPrompt") && err.contains("mediaPrompt"),
            "{err}"
        );
    }
}
