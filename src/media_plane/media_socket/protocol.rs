//! The `switchboard.media.v1` wire format, pure (no I/O, no clock): what every message looks
//! like, how the bot's messages are read and what is wrong with a malformed one. Everything here
//! takes untrusted bytes and never panics on them.
//!
//! Binary messages are audio: a 20-byte little-endian header (`struct.unpack_from("<BBHIIQ", m)`
//! in Python) followed by PCM s16le, 16 kHz, mono.
//!
//! | offset | type | field |
//! |---|---|---|
//! | 0 | u8 | `kind`: 1 = audio |
//! | 1 | u8 | `flags`: bit 0 silence, bit 1 unmixed, bit 2 discontinuity |
//! | 2 | u16 | reserved, 0 |
//! | 4 | u32 | `sourceId`: 0 = the mix, else a participant's `sourceId` |
//! | 8 | u32 | `seq`: frames sent for this source before this one |
//! | 12 | u64 | `timestamp`: the media clock, 100 ns units |
//!
//! Text messages are JSON objects with a `type`; [`ServerMessage`] lists what the server sends,
//! [`BotControl`] what a bot may send.

use serde::Serialize;
use serde_json::Value;

use crate::media_plane::app_stream::{FRAME_SAMPLES, Pcm};

/// The WebSocket subprotocol the server asks for and the bot must accept.
pub const SUBPROTOCOL: &str = "switchboard.media.v1";
/// Bytes of an audio message's header.
pub const HEADER_BYTES: usize = 20;
/// `kind` of an audio message.
pub const KIND_AUDIO: u8 = 1;
/// Bytes of one 20 ms frame of PCM (what every server audio message carries).
pub const FRAME_BYTES: usize = FRAME_SAMPLES * 2;
/// Bytes of every audio message the server sends: a header and one 20 ms frame.
pub const SERVER_AUDIO_BYTES: usize = HEADER_BYTES + FRAME_BYTES;
/// Flags a bot may set on its audio (silence and discontinuity are accepted and ignored; the
/// unmixed flag describes the server's audio only).
pub const BOT_FLAGS: u8 = crate::media_plane::app_stream::FLAG_SILENCE
    | crate::media_plane::app_stream::FLAG_DISCONTINUITY;
/// Longest `mark` name, in bytes.
pub const MAX_MARK_NAME_BYTES: usize = 256;

/// What a bot may send as audio, for refusals.
const AUDIO_SHAPE: &str = "a 20-byte header (<BBHIIQ: kind 1, flags 0, reserved 0, sourceId 0, \
     seq, timestamp) followed by PCM s16le 16 kHz mono, an even number of bytes";
/// What a bot may send as text, for refusals.
const CONTROL_SHAPE: &str = "{\"type\": \"mark\", \"name\": \"…\"}, {\"type\": \"clear\"} or \
     {\"type\": \"stop\"}";

/// The header of an audio message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioHeader {
    /// Flag bits (`FLAG_*` of `app_stream`).
    pub flags: u8,
    /// 0 for the mix (and for everything a bot sends), else a participant's source id.
    pub source_id: u32,
    /// Frames sent for this source before this one.
    pub seq: u32,
    /// The media clock at this frame, in 100 ns units.
    pub timestamp: u64,
}

impl AudioHeader {
    /// The 20 header bytes.
    pub fn to_bytes(self) -> [u8; HEADER_BYTES] {
        let mut out = [0; HEADER_BYTES];
        out[0] = KIND_AUDIO;
        out[1] = self.flags;
        // Bytes 2..4 are reserved and stay 0.
        out[4..8].copy_from_slice(&self.source_id.to_le_bytes());
        out[8..12].copy_from_slice(&self.seq.to_le_bytes());
        out[12..20].copy_from_slice(&self.timestamp.to_le_bytes());
        out
    }

    /// Reads the header at the start of `message`, checking what every audio message must have
    /// (kind 1, reserved 0); the caller checks what depends on the sender.
    pub fn parse(message: &[u8]) -> Result<AudioHeader, BadMessage> {
        let Some(header) = message.first_chunk::<HEADER_BYTES>() else {
            return Err(BadMessage::ShortHeader {
                bytes: message.len(),
            });
        };
        if header[0] != KIND_AUDIO {
            return Err(BadMessage::UnknownKind { kind: header[0] });
        }
        let reserved = u16::from_le_bytes([header[2], header[3]]);
        if reserved != 0 {
            return Err(BadMessage::Reserved { value: reserved });
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let mut timestamp = [0; 8];
        timestamp.copy_from_slice(&header[12..20]);
        Ok(AudioHeader {
            flags: header[1],
            source_id: u32_at(4),
            seq: u32_at(8),
            timestamp: u64::from_le_bytes(timestamp),
        })
    }
}

/// One server audio message: `header` and the 20 ms frame `pcm`.
pub fn audio_message(header: AudioHeader, pcm: &Pcm) -> Vec<u8> {
    let mut out = Vec::with_capacity(SERVER_AUDIO_BYTES);
    out.extend_from_slice(&header.to_bytes());
    for sample in pcm {
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// The PCM of a bot's audio message (an even number of bytes, possibly none), checked against
/// the header rules and `max_message_bytes`.
pub fn bot_audio(message: &[u8], max_message_bytes: usize) -> Result<&[u8], BadMessage> {
    if message.len() > max_message_bytes {
        return Err(BadMessage::TooBig {
            bytes: message.len(),
            max: max_message_bytes,
        });
    }
    let header = AudioHeader::parse(message)?;
    if header.source_id != 0 {
        return Err(BadMessage::SourceId {
            source_id: header.source_id,
        });
    }
    if header.flags & !BOT_FLAGS != 0 {
        return Err(BadMessage::Flags {
            flags: header.flags,
        });
    }
    let pcm = &message[HEADER_BYTES..];
    if !pcm.len().is_multiple_of(2) {
        return Err(BadMessage::OddLength { bytes: pcm.len() });
    }
    Ok(pcm)
}

/// A control message from the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotControl {
    /// `{"type": "mark", "name": …}`: tell me when everything I sent before this has played.
    Mark {
        /// The bot's name for the point, echoed in `markPlayed` or `cleared`.
        name: String,
    },
    /// `{"type": "clear"}`: drop everything not played yet (barge-in).
    Clear,
    /// `{"type": "stop"}`: the bot ends its media stream (the call goes on).
    Stop,
}

/// Reads a bot's text message. Unknown fields are ignored, so bots may add their own.
pub fn bot_control(text: &str, max_message_bytes: usize) -> Result<BotControl, BadMessage> {
    if text.len() > max_message_bytes {
        return Err(BadMessage::TooBig {
            bytes: text.len(),
            max: max_message_bytes,
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|e| BadMessage::NotJson {
        error: e.to_string(),
    })?;
    let Value::Object(object) = value else {
        return Err(BadMessage::NotJson {
            error: "not an object".into(),
        });
    };
    let kind = match object.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        _ => return Err(BadMessage::MissingType),
    };
    match kind {
        "mark" => match object.get("name") {
            Some(Value::String(name)) if name.len() <= MAX_MARK_NAME_BYTES => {
                Ok(BotControl::Mark { name: name.clone() })
            }
            Some(Value::String(name)) => Err(BadMessage::MarkName {
                got: format!("{} bytes", name.len()),
            }),
            Some(other) => Err(BadMessage::MarkName {
                got: json_kind(other).into(),
            }),
            None => Err(BadMessage::MarkName {
                got: "nothing".into(),
            }),
        },
        "clear" => Ok(BotControl::Clear),
        "stop" => Ok(BotControl::Stop),
        other => Err(BadMessage::UnknownType {
            kind: excerpt(other),
        }),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most 64 characters of what a bot sent, for a warning.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// What was wrong with a bot's message: answered with a `badMessage` warning naming it and what
/// is allowed; the socket and the call go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadMessage {
    /// A binary message shorter than the header.
    #[error(
        "a binary message of {bytes} bytes is shorter than the 20-byte audio header; allowed: \
         {AUDIO_SHAPE}"
    )]
    ShortHeader {
        /// Its length.
        bytes: usize,
    },
    /// A header whose kind is not audio.
    #[error("the header's kind is {kind}; allowed: 1 (audio)")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// A header whose reserved bytes are not 0.
    #[error("the header's reserved field is {value}; allowed: 0")]
    Reserved {
        /// The reserved u16.
        value: u16,
    },
    /// Bot audio naming a source other than 0.
    #[error("the header's sourceId is {source_id}; allowed: 0 (a bot sends one stream)")]
    SourceId {
        /// The source id it named.
        source_id: u32,
    },
    /// Bot audio with flags a bot may not set.
    #[error(
        "the header's flags are {flags:#04x}; allowed: 0, silence (0x01), discontinuity (0x04)"
    )]
    Flags {
        /// The flags byte.
        flags: u8,
    },
    /// Audio that is not whole 16-bit samples.
    #[error(
        "the audio after the header is {bytes} bytes, an odd number; allowed: whole 16-bit \
         samples (an even number of bytes)"
    )]
    OddLength {
        /// Bytes after the header.
        bytes: usize,
    },
    /// A message over `media.app_hosted.max_message_bytes`.
    #[error(
        "a message of {bytes} bytes; allowed: at most {max} bytes \
         (media.app_hosted.max_message_bytes), so audio of up to {} bytes after the header",
        max.saturating_sub(HEADER_BYTES)
    )]
    TooBig {
        /// Its length.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A text message that is not a JSON object.
    #[error("a text message that is not a JSON object ({error}); allowed: {CONTROL_SHAPE}")]
    NotJson {
        /// What the parser said.
        error: String,
    },
    /// A JSON object without a string `type`.
    #[error("a JSON message without a string \"type\"; allowed: {CONTROL_SHAPE}")]
    MissingType,
    /// A `type` the server does not know.
    #[error("a message of type '{kind}'; allowed: {CONTROL_SHAPE}")]
    UnknownType {
        /// The type (at most 64 characters of it).
        kind: String,
    },
    /// A `mark` whose name is missing, not a string or too long.
    #[error("a mark whose name is {got}; allowed: a string of at most {MAX_MARK_NAME_BYTES} bytes")]
    MarkName {
        /// What it had instead.
        got: String,
    },
    /// A `mark` beyond the number the server keeps pending.
    #[error(
        "a mark while {pending} marks wait to be played; allowed: at most {pending} pending \
         marks (wait for markPlayed)"
    )]
    TooManyMarks {
        /// Marks pending.
        pending: usize,
    },
}

/// The audio format of every frame, in `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFormat {
    /// Always `pcm_s16le`.
    pub encoding: &'static str,
    /// Always 16000.
    pub sample_rate: u32,
    /// Always 1.
    pub channels: u8,
    /// Always 20.
    pub frame_ms: u8,
}

/// The one format `switchboard.media.v1` carries.
pub const MEDIA_FORMAT: MediaFormat = MediaFormat {
    encoding: "pcm_s16le",
    sample_rate: 16_000,
    channels: 1,
    frame_ms: 20,
};

/// A participant as the socket lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireParticipant {
    /// The participant id, as in the roster.
    pub id: String,
    /// The number its unmixed frames carry.
    pub source_id: u32,
    /// Who it is, as the roster shows it; `null` when unknown.
    pub identity: Option<crate::graph::IdentitySet>,
}

/// Whether the bot should send more audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FlowState {
    /// Buffered audio passed `pause_above_ms`: hold back.
    Pause,
    /// Buffered audio fell below `resume_below_ms`: send again.
    Resume,
}

/// What a `warning` is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WarningCode {
    /// Frames toward the bot were dropped because it did not read them in time (`count`:
    /// frames).
    FramesDropped,
    /// Audio from the bot was not played (`count`: milliseconds): beyond `max_buffered_ms`, or
    /// sent on a `recvonly` stream.
    MediaDiscarded,
    /// A message from the bot was malformed (`count`: messages).
    BadMessage,
}

/// A message from the server to the bot, as JSON text with its `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ServerMessage {
    /// The first message on every connection.
    Start {
        /// The call whose media this is (`/communications/calls/{id}`).
        call_id: String,
        /// The leg's media stream: the same on every reconnect of one call.
        stream_id: String,
        /// The audio format, both ways.
        media_format: MediaFormat,
        /// `sendrecv`, `recvonly` or `sendonly`.
        directions: &'static str,
        /// Whether frames of source 0 (the mix) are sent.
        receive_mixed_audio: bool,
        /// Whether each speaker's frames are sent with its source id.
        receive_unmixed_meeting_audio: bool,
        /// The conversation's participants now.
        participants: Vec<WireParticipant>,
        /// True on a reconnect: timestamps and seqs continue from the last connection.
        resumed: bool,
    },
    /// The participant list changed.
    ParticipantsUpdated {
        /// Everyone now.
        participants: Vec<WireParticipant>,
    },
    /// Who is speaking, the loudest first.
    ActiveSpeakers {
        /// The media clock at the change.
        timestamp: u64,
        /// The speakers' source ids.
        source_ids: Vec<u32>,
    },
    /// The dominant speaker changed (0: nobody).
    DominantSpeakerChanged {
        /// The new one.
        current: u32,
        /// The one before.
        previous: u32,
    },
    /// A key was pressed.
    Dtmf {
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: String,
        /// Who pressed it.
        source_id: u32,
        /// The media clock when it started.
        timestamp: u64,
    },
    /// Everything the bot sent before its `mark` has been played.
    MarkPlayed {
        /// The mark's name.
        name: String,
    },
    /// The answer to `clear`: the marks that will never be played, in order.
    Cleared {
        /// Their names.
        marks: Vec<String>,
    },
    /// Pause or resume sending audio.
    FlowControl {
        /// What to do.
        state: FlowState,
        /// Bot audio buffered ahead of playout now, in milliseconds.
        buffered_ms: u64,
    },
    /// Something went wrong that the bot should know; the stream goes on.
    Warning {
        /// What kind of problem.
        code: WarningCode,
        /// How many (frames, milliseconds or messages; see [`WarningCode`]).
        #[serde(skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        /// What happened, and what is allowed.
        message: String,
    },
    /// The server ends the stream; a close (1000) follows.
    Stop {
        /// `callEnded`, `botStopped` or `shutdown`.
        reason: String,
    },
}

impl ServerMessage {
    /// The JSON text of the message.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail (no maps with non-string keys, no
        // fallible Serialize impls), so the empty-object fallback is never sent.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
