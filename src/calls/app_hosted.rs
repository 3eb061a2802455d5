//! The `appHostedMediaConfig.blob` of a call: where the bot's media socket is and how audio flows
//! on it. Graph treats the blob as opaque (the Windows media SDK makes it); Switchboard defines it
//! as a JSON string, with names that follow Graph's `AudioSocketSettings`:
//!
//! ```json
//! {"url": "wss://bot.example.com/media", "authToken": "…", "streamDirections": "sendrecv",
//!  "supportedAudioFormat": "pcm16k", "receiveUnmixedMeetingAudio": false, "receiveMixedAudio": true}
//! ```
//!
//! Only `url` is required. Unknown keys are refused (a typo would otherwise silently fall back to
//! a default). The URL's address is checked against the address policy by the caller, which can
//! resolve names (`http::call_context`).

use serde::Deserialize;

use super::media::{MediaSocketConfig, StreamDirections};
use super::validate::InvalidField;
use crate::graph::MediaConfig;

/// Longest blob accepted, in bytes.
pub const MAX_BLOB_BYTES: usize = 8 * 1024;
/// Longest `authToken` accepted, in bytes.
pub const MAX_AUTH_TOKEN_BYTES: usize = 4 * 1024;
/// What a blob is, for refusals.
const BLOB_SHAPE: &str = "a JSON string {\"url\": \"ws(s)://…\", \"authToken\": \"…\", \
     \"streamDirections\": \"sendrecv|recvonly|sendonly\", \"supportedAudioFormat\": \"pcm16k\", \
     \"receiveUnmixedMeetingAudio\": true|false, \"receiveMixedAudio\": true|false} (only url is \
     required)";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawBlob {
    /// Protocol version; 1 is the only one.
    #[serde(default)]
    sbms: Option<u32>,
    url: Option<String>,
    #[serde(default)]
    auth_token: Option<String>,
    #[serde(default)]
    stream_directions: Option<String>,
    #[serde(default)]
    supported_audio_format: Option<String>,
    #[serde(default)]
    receive_unmixed_meeting_audio: Option<bool>,
    #[serde(default)]
    receive_mixed_audio: Option<bool>,
}

/// The media socket an app-hosted `config` asks for; `None` for service-hosted media.
pub fn media_socket(config: &MediaConfig) -> Result<Option<MediaSocketConfig>, InvalidField> {
    match config {
        MediaConfig::ServiceHosted(_) => Ok(None),
        MediaConfig::AppHosted(app) => parse_blob(app.blob.as_deref()).map(Some),
    }
}

/// Parses and checks a blob.
pub fn parse_blob(blob: Option<&str>) -> Result<MediaSocketConfig, InvalidField> {
    let field = |name: &str| format!("mediaConfig.blob.{name}");
    let blob = blob.ok_or_else(|| InvalidField::missing("mediaConfig.blob", BLOB_SHAPE))?;
    if blob.len() > MAX_BLOB_BYTES {
        return Err(InvalidField::new(
            "mediaConfig.blob",
            format!("{} bytes", blob.len()),
            format!("at most {MAX_BLOB_BYTES} bytes: {BLOB_SHAPE}"),
        ));
    }
    let raw: RawBlob = serde_json::from_str(blob).map_err(|e| {
        InvalidField::new(
            "mediaConfig.blob",
            format!("{} ({e})", excerpt(blob)),
            BLOB_SHAPE,
        )
    })?;
    if let Some(version) = raw.sbms.filter(|v| *v != 1) {
        return Err(InvalidField::new(
            field("sbms"),
            version.to_string(),
            "1 (or leave it out)",
        ));
    }
    let url = raw
        .url
        .ok_or_else(|| InvalidField::missing(field("url"), "the bot's ws:// or wss:// URL"))?;
    check_url(&url)?;
    if let Some(token) = &raw.auth_token
        && token.len() > MAX_AUTH_TOKEN_BYTES
    {
        return Err(InvalidField::new(
            field("authToken"),
            format!("{} bytes", token.len()),
            format!("a string of at most {MAX_AUTH_TOKEN_BYTES} bytes"),
        ));
    }
    let directions = match raw.stream_directions.as_deref() {
        None => StreamDirections::SendRecv,
        Some(s) if s.eq_ignore_ascii_case("sendrecv") => StreamDirections::SendRecv,
        Some(s) if s.eq_ignore_ascii_case("recvonly") => StreamDirections::RecvOnly,
        Some(s) if s.eq_ignore_ascii_case("sendonly") => StreamDirections::SendOnly,
        Some(other) => {
            return Err(InvalidField::new(
                field("streamDirections"),
                format!("'{other}'"),
                "sendrecv, recvonly or sendonly",
            ));
        }
    };
    if let Some(format) = raw
        .supported_audio_format
        .as_deref()
        .filter(|f| !f.eq_ignore_ascii_case("pcm16k"))
    {
        return Err(InvalidField::new(
            field("supportedAudioFormat"),
            format!("'{format}'"),
            "pcm16k (16-bit little-endian PCM, 16 kHz, mono, 20 ms frames)",
        ));
    }
    let mixed = raw.receive_mixed_audio.unwrap_or(true);
    let unmixed = raw.receive_unmixed_meeting_audio.unwrap_or(false);
    if directions.bot_hears() && !mixed && !unmixed {
        return Err(InvalidField::new(
            field("receiveMixedAudio"),
            "false (and receiveUnmixedMeetingAudio false)",
            "true, or receiveUnmixedMeetingAudio true, or streamDirections sendonly: a bot that \
             receives audio must receive the mix or each speaker",
        ));
    }
    Ok(MediaSocketConfig {
        url,
        auth_token: raw.auth_token,
        directions,
        mixed,
        unmixed,
    })
}

/// A ws:// or wss:// URL with a host and no credentials or fragment.
fn check_url(url: &str) -> Result<(), InvalidField> {
    let field = "mediaConfig.blob.url";
    let refuse = |allowed: &str| InvalidField::new(field, format!("'{url}'"), allowed);
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| refuse(&format!("an absolute ws:// or wss:// URL ({e})")))?;
    if !matches!(parsed.scheme(), "ws" | "wss") {
        return Err(refuse(&format!(
            "a ws:// or wss:// URL, not {}://",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(refuse("a ws:// or wss:// URL with a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse(
            "a URL without user:password (put the bot's secret in authToken)",
        ));
    }
    if parsed.fragment().is_some() {
        return Err(refuse("a URL without a #fragment"));
    }
    Ok(())
}

/// The start of `text`, short enough to echo in an error.
fn excerpt(text: &str) -> String {
    let cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() {
        format!("'{cut}…'")
    } else {
        format!("'{cut}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(blob: &str) -> Result<MediaSocketConfig, InvalidField> {
        parse_blob(Some(blob))
    }

    #[test]
    fn a_blob_with_only_a_url_takes_the_defaults() {
        let config = parse(r#"{"url": "wss://bot.example.com/media"}"#).unwrap();
        assert_eq!(
            config,
            MediaSocketConfig {
                url: "wss://bot.example.com/media".into(),
                auth_token: None,
                directions: StreamDirections::SendRecv,
                mixed: true,
                unmixed: false,
            }
        );
    }

    #[test]
    fn every_key_is_read_in_any_case_of_its_values() {
        let config = parse(
            r#"{"sbms": 1, "url": "ws://10.0.0.5:9000/m?x=1", "authToken": "t0k",
                "streamDirections": "RecvOnly", "supportedAudioFormat": "Pcm16K",
                "receiveUnmixedMeetingAudio": true, "receiveMixedAudio": false}"#,
        )
        .unwrap();
        assert_eq!(config.auth_token.as_deref(), Some("t0k"));
        assert_eq!(config.directions, StreamDirections::RecvOnly);
        assert!(config.unmixed && !config.mixed);
    }

    #[test]
    fn bad_blobs_name_the_field_and_what_is_allowed() {
        let field = |blob: Option<&str>| parse_blob(blob).unwrap_err().field;
        assert_eq!(field(None), "mediaConfig.blob");
        assert_eq!(field(Some("not json")), "mediaConfig.blob");
        assert_eq!(
            field(Some(r#"{"url": "ws://h/", "colour": 1}"#)),
            "mediaConfig.blob"
        );
        assert_eq!(field(Some(r#"{"authToken": "x"}"#)), "mediaConfig.blob.url");
        assert_eq!(
            field(Some(r#"{"url": "https://h/"}"#)),
            "mediaConfig.blob.url"
        );
        assert_eq!(
            field(Some(r#"{"url": "ws://u:p@h/"}"#)),
            "mediaConfig.blob.url"
        );
        assert_eq!(
            field(Some(r#"{"url": "ws://h/", "streamDirections": "both"}"#)),
            "mediaConfig.blob.streamDirections"
        );
        assert_eq!(
            field(Some(
                r#"{"url": "ws://h/", "supportedAudioFormat": "opus48k"}"#
            )),
            "mediaConfig.blob.supportedAudioFormat"
        );
        assert_eq!(
            field(Some(r#"{"url": "ws://h/", "receiveMixedAudio": false}"#)),
            "mediaConfig.blob.receiveMixedAudio"
        );
        assert_eq!(
            field(Some(r#"{"url": "ws://h/", "sbms": 2}"#)),
            "mediaConfig.blob.sbms"
        );
        let huge = format!(
            r#"{{"url": "ws://h/", "authToken": "{}"}}"#,
            "x".repeat(5000)
        );
        assert_eq!(field(Some(&huge)), "mediaConfig.blob.authToken");
        let error = parse(r#"{"url": "ws://h/", "supportedAudioFormat": "opus48k"}"#).unwrap_err();
        assert!(error.to_string().contains("pcm16k"), "{error}");
    }

    #[test]
    fn a_send_only_bot_needs_no_audio_to_receive() {
        let config = parse(
            r#"{"url": "ws://h/", "streamDirections": "sendonly", "receiveMixedAudio": false}"#,
        )
        .unwrap();
        assert!(!config.directions.bot_hears() && config.directions.bot_speaks());
    }
}
