//! Turns Graph request bodies into validated domain requests, enforcing the limits of the
//! reference (§6). Every refusal names the field, the value sent and what is allowed.

use std::time::Duration;

use switchboard_media::dtmf::Digit;

use super::media::MediaSocketConfig;
use crate::graph::requests::{
    AnswerBody, CreateCallBody, InviteBody, PlayPromptBody, RecordResponseBody, RedirectBody,
    RejectBody, SendDtmfTonesBody, TransferBody,
};
use crate::graph::{
    CallOptions, ChatInfo, InvitationParticipantInfo, MediaConfig, MediaPrompt, MeetingInfo,
    Modality, ParticipantInfo, Party, RejectReason,
};

/// Most prompts in one playPrompt.
pub const MAX_PROMPTS: usize = 20;
/// Most prompts in one recordResponse.
pub const MAX_RECORD_PROMPTS: usize = 1;
/// Allowed range of each recordResponse timer, in seconds.
pub const RECORD_TIMER_SECONDS: (i32, i32) = (1, 120);
/// Default of each recordResponse timer, in seconds.
pub const DEFAULT_RECORD_TIMER_SECONDS: i32 = 5;
/// Allowed range of the redirect ring timeout, in seconds.
pub const REDIRECT_TIMEOUT_SECONDS: (i32, i32) = (15, 90);
/// Default redirect timeout for one target, in seconds.
pub const DEFAULT_REDIRECT_TIMEOUT_ONE: i32 = 55;
/// Default redirect timeout for several targets (simultaneous ring), in seconds.
pub const DEFAULT_REDIRECT_TIMEOUT_MANY: i32 = 60;
/// Most simultaneous-ring targets of a redirect.
pub const MAX_REDIRECT_TARGETS: usize = 25;
/// Most targets of a group call created by a bot.
pub const MAX_GROUP_TARGETS: usize = 5;
/// Most participants in one invite.
pub const MAX_INVITEES: usize = 5;
/// Longest `clientContext`, in characters.
pub const MAX_CLIENT_CONTEXT_CHARS: usize = 256;
/// Longest `callbackUri`, in characters (Switchboard's limit).
pub const MAX_CALLBACK_URI_CHARS: usize = 2048;
/// Most keys in one sendDtmfTones (Switchboard's limit; Graph documents none).
pub const MAX_DTMF_TONES: usize = 64;
/// Allowed pause between sent keys, in milliseconds (Switchboard's limit; Graph documents none).
pub const DTMF_DELAY_MS: (i32, i32) = (50, 5000);
/// Default pause between sent keys, in milliseconds.
pub const DEFAULT_DTMF_DELAY_MS: i32 = 100;

/// A request field that is missing, malformed or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: got {value}; allowed: {allowed}")]
pub struct InvalidField {
    /// The field's path in the body, for example `prompts[2].mediaInfo.uri`.
    pub field: String,
    /// What was sent, or `nothing` when the field is missing.
    pub value: String,
    /// What would have been accepted.
    pub allowed: String,
}

impl InvalidField {
    /// A refusal of `field` whose value was `value`.
    pub fn new(
        field: impl Into<String>,
        value: impl Into<String>,
        allowed: impl Into<String>,
    ) -> InvalidField {
        InvalidField {
            field: field.into(),
            value: value.into(),
            allowed: allowed.into(),
        }
    }

    /// A refusal of a required field that is missing.
    pub fn missing(field: impl Into<String>, allowed: impl Into<String>) -> InvalidField {
        InvalidField::new(field, "nothing", allowed)
    }
}

/// A party to ring, with the invitation as the bot sent it (echoed back in `targets`).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Who to ring.
    pub party: Party,
    /// The invitation as the bot sent it, echoed back in the call's `targets`.
    pub info: InvitationParticipantInfo,
}

/// An audio file to play: a URL, a cache key, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSource {
    /// Where to fetch the audio (http or https).
    pub uri: Option<String>,
    /// The cache key or the name in the configured prompts folder.
    pub resource_id: Option<String>,
}

/// What kind of call a create request makes.
#[derive(Debug, Clone, PartialEq)]
pub enum OutgoingKind {
    /// One target.
    PeerToPeer(Box<Target>),
    /// Two to five targets: a new group call.
    Group(Vec<Target>),
    /// No targets: join the meeting named by `meetingInfo` (and `chatInfo`).
    JoinMeeting {
        /// How the bot names the meeting: a join id and passcode, an organizer, or a token.
        meeting_info: Option<MeetingInfo>,
        /// The meeting's chat thread; names the meeting with an `organizerMeetingInfo`.
        chat_info: Option<ChatInfo>,
    },
}

/// A validated `POST /communications/calls`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateCall {
    /// P2P, group or meeting join.
    pub kind: OutgoingKind,
    /// Where notifications go; `None` means the app's calling webhook.
    pub callback_uri: Option<String>,
    /// Who hosts the media.
    pub media_config: MediaConfig,
    /// The media socket an app-hosted bot asks for (its `mediaConfig.blob`).
    pub media_socket: Option<MediaSocketConfig>,
    /// The modalities asked for; always includes audio.
    pub modalities: Vec<Modality>,
    /// The source as sent; Switchboard fills in the app's identity.
    pub source: Option<ParticipantInfo>,
    /// Group-call subject.
    pub subject: Option<String>,
    /// Call options.
    pub call_options: Option<CallOptions>,
    /// Tenant as sent.
    pub tenant_id: Option<String>,
}

/// The body of `POST …/calls/{id}/answer`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// New callback URI, if given.
    pub callback_uri: Option<String>,
    /// Who hosts the media.
    pub media_config: MediaConfig,
    /// The media socket an app-hosted bot asks for (its `mediaConfig.blob`).
    pub media_socket: Option<MediaSocketConfig>,
    /// Modalities accepted; always includes audio.
    pub modalities: Vec<Modality>,
    /// Call options.
    pub call_options: Option<CallOptions>,
}

/// The body of `POST …/calls/{id}/reject`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Why.
    pub reason: RejectReason,
    /// New callback URI, if given.
    pub callback_uri: Option<String>,
}

/// The body of `POST …/calls/{id}/redirect`, checked: 1 to 25 targets and a 15–90 s timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    /// Targets, rung at once.
    pub targets: Vec<Target>,
    /// How long they ring.
    pub timeout: Duration,
    /// New callback URI, if given.
    pub callback_uri: Option<String>,
}

/// The body of `POST …/calls/{id}/transfer`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    /// Who to transfer to.
    pub target: Target,
    /// Who is transferred (required in group calls).
    pub transferee: Option<ParticipantInfo>,
}

/// A validated playPrompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayPrompt {
    /// Prompts in order, 1 to 20.
    pub prompts: Vec<PromptSource>,
    /// Correlation token.
    pub client_context: Option<String>,
}

/// A validated recordResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordResponse {
    /// Prompt played before recording.
    pub prompt: Option<PromptSource>,
    /// Pre-empt queued and running prompt/record operations.
    pub barge_in_allowed: bool,
    /// Longest silence before speech starts.
    pub initial_silence_timeout: Duration,
    /// Longest pause once speaking.
    pub max_silence_timeout: Duration,
    /// Longest recording.
    pub max_record_duration: Duration,
    /// Beep before recording.
    pub play_beep: bool,
    /// Keys that end the recording.
    pub stop_tones: Vec<Digit>,
    /// Correlation token.
    pub client_context: Option<String>,
}

/// A validated sendDtmfTones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendDtmfTones {
    /// Keys in order.
    pub tones: Vec<Digit>,
    /// Pause between keys.
    pub delay_between_tones: Duration,
    /// Correlation token.
    pub client_context: Option<String>,
}

/// The body of `POST …/calls/{id}/participants/invite`, checked: 1 to 5 invitees.
#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    /// Who to invite.
    pub invitees: Vec<Target>,
    /// Correlation token.
    pub client_context: Option<String>,
}

/// Checks a callback URI: absolute http or https with a host.
pub fn callback_uri(field: &str, uri: Option<String>) -> Result<Option<String>, InvalidField> {
    let Some(uri) = uri else { return Ok(None) };
    const ALLOWED: &str =
        "an absolute http:// or https:// URL with a host, at most 2048 characters";
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .ok_or_else(|| InvalidField::new(field, format!("'{uri}'"), ALLOWED))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || uri.chars().count() > MAX_CALLBACK_URI_CHARS
        || uri.chars().any(char::is_whitespace)
    {
        return Err(InvalidField::new(field, format!("'{uri}'"), ALLOWED));
    }
    Ok(Some(uri))
}

/// Checks a `clientContext`.
pub fn client_context(context: Option<String>) -> Result<Option<String>, InvalidField> {
    match context {
        Some(c) if c.chars().count() > MAX_CLIENT_CONTEXT_CHARS => Err(InvalidField::new(
            "clientContext",
            format!("{} characters", c.chars().count()),
            format!("at most {MAX_CLIENT_CONTEXT_CHARS} characters"),
        )),
        other => Ok(other),
    }
}

fn modalities(field: &str, given: Option<Vec<Modality>>) -> Result<Vec<Modality>, InvalidField> {
    let list = given.unwrap_or_else(|| vec![Modality::Audio]);
    if !list.contains(&Modality::Audio) {
        let names: Vec<_> = list.iter().map(|m| m.as_str()).collect();
        return Err(InvalidField::new(
            field,
            format!("{names:?}"),
            "a list that includes \"audio\" (Switchboard carries audio only)",
        ));
    }
    Ok(list)
}

fn media_config(config: Option<MediaConfig>) -> Result<MediaConfig, InvalidField> {
    let config = config.ok_or_else(|| {
        InvalidField::missing(
            "mediaConfig",
            "a #microsoft.graph.serviceHostedMediaConfig or #microsoft.graph.appHostedMediaConfig",
        )
    })?;
    for (i, info) in config.pre_fetch_media().iter().enumerate() {
        prompt_source(
            &format!("mediaConfig.preFetchMedia[{i}]"),
            Some(info.clone()),
        )?;
    }
    Ok(config)
}

/// Checks one target's identity and says which party it names.
pub fn target(field: &str, info: InvitationParticipantInfo) -> Result<Target, InvalidField> {
    const ALLOWED: &str = "an identity set with one of user, application, applicationInstance, phone, guest \
                           carrying a non-empty id";
    let identity = info
        .identity
        .as_ref()
        .ok_or_else(|| InvalidField::missing(format!("{field}.identity"), ALLOWED))?;
    let party = identity.party().ok_or_else(|| {
        InvalidField::new(
            format!("{field}.identity"),
            serde_json::to_string(identity).unwrap_or_default(),
            ALLOWED,
        )
    })?;
    Ok(Target { party, info })
}

fn targets(field: &str, list: Vec<InvitationParticipantInfo>) -> Result<Vec<Target>, InvalidField> {
    list.into_iter()
        .enumerate()
        .map(|(i, info)| target(&format!("{field}[{i}]"), info))
        .collect()
}

fn count_in(
    field: &str,
    len: usize,
    min: usize,
    max: usize,
    what: &str,
) -> Result<(), InvalidField> {
    if len < min || len > max {
        let allowed = if min == max {
            format!("exactly {min} {what}")
        } else {
            format!("{min} to {max} {what}")
        };
        return Err(InvalidField::new(field, format!("{len} {what}"), allowed));
    }
    Ok(())
}

fn seconds_in(
    field: &str,
    value: Option<i32>,
    (min, max): (i32, i32),
    default: i32,
) -> Result<Duration, InvalidField> {
    let value = value.unwrap_or(default);
    if !(min..=max).contains(&value) {
        return Err(InvalidField::new(
            field,
            value.to_string(),
            format!("{min} to {max} seconds"),
        ));
    }
    Ok(Duration::from_secs(value.unsigned_abs().into()))
}

fn prompt_source(
    field: &str,
    info: Option<crate::graph::MediaInfo>,
) -> Result<PromptSource, InvalidField> {
    const ALLOWED: &str = "a mediaInfo with an http(s) uri, a resourceId, or both";
    let info = info.ok_or_else(|| InvalidField::missing(field, ALLOWED))?;
    if info.uri.is_none() && info.resource_id.is_none() {
        return Err(InvalidField::missing(format!("{field}.uri"), ALLOWED));
    }
    if let Some(uri) = &info.uri {
        let lower = uri.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || uri.len() <= "http://".len()
        {
            return Err(InvalidField::new(
                format!("{field}.uri"),
                format!("'{uri}'"),
                "an http:// or https:// URL",
            ));
        }
    }
    Ok(PromptSource {
        uri: info.uri,
        resource_id: info.resource_id,
    })
}

fn prompts(field: &str, list: Vec<MediaPrompt>) -> Result<Vec<PromptSource>, InvalidField> {
    list.into_iter()
        .enumerate()
        .map(|(i, p)| prompt_source(&format!("{field}[{i}].mediaInfo"), p.media_info))
        .collect()
}

/// Validates `POST /communications/calls`.
pub fn create_call(body: CreateCallBody) -> Result<CreateCall, InvalidField> {
    let callback_uri = callback_uri("callbackUri", body.callback_uri)?;
    let media_config = media_config(body.media_config)?;
    let media_socket = super::app_hosted::media_socket(&media_config)?;
    let modalities = modalities("requestedModalities", body.requested_modalities)?;
    let list = body.targets.unwrap_or_default();
    let kind = match list.len() {
        0 => {
            if body.meeting_info.is_none() && body.chat_info.is_none() {
                return Err(InvalidField::missing(
                    "targets",
                    "1 target (peer-to-peer), 2 to 5 targets (group call), or none with meetingInfo/chatInfo \
                     to join a meeting",
                ));
            }
            OutgoingKind::JoinMeeting {
                meeting_info: body.meeting_info,
                chat_info: body.chat_info,
            }
        }
        1 => OutgoingKind::PeerToPeer(Box::new(targets("targets", list)?.remove(0))),
        n => {
            count_in("targets", n, 1, MAX_GROUP_TARGETS, "targets")?;
            OutgoingKind::Group(targets("targets", list)?)
        }
    };
    Ok(CreateCall {
        kind,
        callback_uri,
        media_config,
        media_socket,
        modalities,
        source: body.source,
        subject: body.subject,
        call_options: body.call_options,
        tenant_id: body.tenant_id,
    })
}

/// Validates an answer.
pub fn answer(body: AnswerBody) -> Result<Answer, InvalidField> {
    let media_config = media_config(body.media_config)?;
    Ok(Answer {
        callback_uri: callback_uri("callbackUri", body.callback_uri)?,
        media_socket: super::app_hosted::media_socket(&media_config)?,
        media_config,
        modalities: modalities("acceptedModalities", body.accepted_modalities)?,
        call_options: body.call_options,
    })
}

/// Validates a reject.
pub fn reject(body: RejectBody) -> Result<Reject, InvalidField> {
    Ok(Reject {
        reason: body.reason.unwrap_or(RejectReason::None),
        callback_uri: callback_uri("callbackUri", body.callback_uri)?,
    })
}

/// Validates a redirect: 1 to 25 targets, timeout 15–90 s (default 55 s, or 60 s for several).
pub fn redirect(body: RedirectBody) -> Result<Redirect, InvalidField> {
    let list = body.targets.ok_or_else(|| {
        InvalidField::missing("targets", format!("1 to {MAX_REDIRECT_TARGETS} targets"))
    })?;
    count_in("targets", list.len(), 1, MAX_REDIRECT_TARGETS, "targets")?;
    let default = if list.len() == 1 {
        DEFAULT_REDIRECT_TIMEOUT_ONE
    } else {
        DEFAULT_REDIRECT_TIMEOUT_MANY
    };
    Ok(Redirect {
        timeout: seconds_in("timeout", body.timeout, REDIRECT_TIMEOUT_SECONDS, default)?,
        targets: targets("targets", list)?,
        callback_uri: callback_uri("callbackUri", body.callback_uri)?,
    })
}

/// Validates a transfer.
pub fn transfer(body: TransferBody) -> Result<Transfer, InvalidField> {
    let info = body.transfer_target.ok_or_else(|| {
        InvalidField::missing(
            "transferTarget",
            "an invitationParticipantInfo naming who to transfer to",
        )
    })?;
    Ok(Transfer {
        target: target("transferTarget", info)?,
        transferee: body.transferee,
    })
}

/// Validates a playPrompt: 1 to 20 prompts.
pub fn play_prompt(body: PlayPromptBody) -> Result<PlayPrompt, InvalidField> {
    let list = body.prompts.ok_or_else(|| {
        InvalidField::missing("prompts", format!("1 to {MAX_PROMPTS} mediaPrompts"))
    })?;
    count_in("prompts", list.len(), 1, MAX_PROMPTS, "prompts")?;
    Ok(PlayPrompt {
        prompts: prompts("prompts", list)?,
        client_context: client_context(body.client_context)?,
    })
}

/// Validates a recordResponse: at most 1 prompt, timers 1–120 s (default 5), stop tones are keys.
pub fn record_response(body: RecordResponseBody) -> Result<RecordResponse, InvalidField> {
    let list = body.prompts.unwrap_or_default();
    count_in("prompts", list.len(), 0, MAX_RECORD_PROMPTS, "prompts")?;
    let stop_tones = body
        .stop_tones
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, key)| {
            let mut chars = key.chars();
            match (chars.next().and_then(Digit::from_char), chars.next()) {
                (Some(digit), None) => Ok(digit),
                _ => Err(InvalidField::new(
                    format!("stopTones[{i}]"),
                    format!("'{key}'"),
                    "one key: \"0\"-\"9\", \"*\", \"#\", \"A\"-\"D\"",
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let timer = |field, value| {
        seconds_in(
            field,
            value,
            RECORD_TIMER_SECONDS,
            DEFAULT_RECORD_TIMER_SECONDS,
        )
    };
    Ok(RecordResponse {
        prompt: prompts("prompts", list)?.into_iter().next(),
        barge_in_allowed: body.barge_in_allowed.unwrap_or(false),
        initial_silence_timeout: timer(
            "initialSilenceTimeoutInSeconds",
            body.initial_silence_timeout_in_seconds,
        )?,
        max_silence_timeout: timer(
            "maxSilenceTimeoutInSeconds",
            body.max_silence_timeout_in_seconds,
        )?,
        max_record_duration: timer(
            "maxRecordDurationInSeconds",
            body.max_record_duration_in_seconds,
        )?,
        play_beep: body.play_beep.unwrap_or(true),
        stop_tones,
        client_context: client_context(body.client_context)?,
    })
}

/// Validates a sendDtmfTones: 1 to 64 keys (no `flash`), delay 50–5000 ms (default 100).
pub fn send_dtmf_tones(body: SendDtmfTonesBody) -> Result<SendDtmfTones, InvalidField> {
    let list = body
        .tones
        .ok_or_else(|| InvalidField::missing("tones", format!("1 to {MAX_DTMF_TONES} tones")))?;
    count_in("tones", list.len(), 1, MAX_DTMF_TONES, "tones")?;
    let tones = list
        .iter()
        .enumerate()
        .map(|(i, tone)| {
            tone.digit().ok_or_else(|| {
                InvalidField::new(
                    format!("tones[{i}]"),
                    tone.as_str(),
                    "tone0-tone9, star, pound, a-d (flash has no DTMF tone)",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let delay = body.delay_between_tones_ms.unwrap_or(DEFAULT_DTMF_DELAY_MS);
    if !(DTMF_DELAY_MS.0..=DTMF_DELAY_MS.1).contains(&delay) {
        return Err(InvalidField::new(
            "delayBetweenTonesMs",
            delay.to_string(),
            format!("{} to {} milliseconds", DTMF_DELAY_MS.0, DTMF_DELAY_MS.1),
        ));
    }
    Ok(SendDtmfTones {
        tones,
        delay_between_tones: Duration::from_millis(delay.unsigned_abs().into()),
        client_context: client_context(body.client_context)?,
    })
}

/// Validates an invite: 1 to 5 participants; with `replacesCallId` only the first counts.
pub fn invite(body: InviteBody) -> Result<Invite, InvalidField> {
    let list = body.participants.ok_or_else(|| {
        InvalidField::missing(
            "participants",
            format!("1 to {MAX_INVITEES} invitationParticipantInfo"),
        )
    })?;
    count_in("participants", list.len(), 1, MAX_INVITEES, "participants")?;
    let mut invitees = targets("participants", list)?;
    if invitees[0].info.replaces_call_id.is_some() {
        invitees.truncate(1);
    }
    Ok(Invite {
        invitees,
        client_context: client_context(body.client_context)?,
    })
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
