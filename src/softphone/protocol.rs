//! The softphone's WebSocket protocol: JSON text messages, each an object with a `type`. The
//! README documents it; `parse` turns a bad message into an error message that names what was
//! wrong, so the socket stays open.

use serde::{Deserialize, Serialize};

use crate::calls::result_codes::ResultCode;
use crate::graph::ParticipantInfo;

/// Longest text message the server reads (an SDP offer is a few kilobytes).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Whom a `call` message calls.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum CallTarget {
    /// A directory user, by id.
    User(String),
    /// An application (bot), by app id.
    Application(String),
}

/// A message from the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientMessage {
    /// Bind this socket to a signed-in user (the token from `POST /softphone/login`).
    Register {
        /// The sign-in token.
        token: String,
    },
    /// Call a user or a bot; `sdp` is the page's WebRTC offer.
    Call {
        /// Whom to call.
        target: CallTarget,
        /// The page's WebRTC offer.
        sdp: String,
    },
    /// Join an online meeting by its id (the last segment of its `joinWebUrl`).
    Join {
        /// The meeting's id: the last segment of its `joinWebUrl` (`…/meet/{id}`).
        meeting: String,
        /// The page's WebRTC offer.
        sdp: String,
    },
    /// Answer a ringing call; `sdp` is the page's WebRTC offer.
    Answer {
        /// The call, as `ring` named it.
        call: String,
        /// The page's WebRTC offer.
        sdp: String,
    },
    /// Decline a ringing call.
    Decline {
        /// The call, as `ring` named it.
        call: String,
    },
    /// Unmute yourself after a bot muted you (participant mute).
    Unmute {
        /// The call the user was muted in.
        call: String,
    },
    /// Leave a call (or stop calling).
    Hangup {
        /// The call to leave, as `ring` or `state` named it.
        call: String,
    },
    /// Keep the socket warm; answered with `pong`.
    Ping,
}

/// Who is calling, as shown on the ringing page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    /// `user` or `application`.
    pub kind: String,
    /// Directory id.
    pub id: String,
    /// Display name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A call's state as the softphone page shows it: coarser than Graph's `callState`, and only
/// what a person needs to see (being rung, talking, over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PageCallState {
    /// The callee is being rung.
    Calling,
    /// The other party is in the call.
    Connected,
    /// The call is over for this page.
    Ended,
}

/// A message to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerMessage {
    /// The socket is bound to the user; calls to the user ring here.
    #[serde(rename_all = "camelCase")]
    Registered {
        /// This socket's endpoint id.
        endpoint: String,
        /// The signed-in user the socket is now bound to.
        user: Party,
    },
    /// An incoming call rings.
    Ring {
        /// The call id to answer or decline.
        call: String,
        /// Who is calling.
        caller: Party,
    },
    /// The server's WebRTC answer to the page's offer.
    Sdp {
        /// The call the answer is for.
        call: String,
        /// The answer, as SDP.
        sdp: String,
    },
    /// The call's state changed.
    #[serde(rename_all = "camelCase")]
    State {
        /// The call whose state changed.
        call: String,
        /// Where the call stands for this page: calling, connected or ended.
        state: PageCallState,
        /// The other party, when it changed (connected).
        #[serde(skip_serializing_if = "Option::is_none")]
        peer: Option<Party>,
        /// Graph's result code when it ended (for example 408).
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        /// Graph's result subcode when it ended (for example 10057).
        #[serde(skip_serializing_if = "Option::is_none")]
        subcode: Option<i32>,
        /// Why it ended, in words.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A bot muted this user for everyone in the call; `unmute` undoes it.
    Muted {
        /// The call the user is muted in.
        call: String,
    },
    /// A request was refused; the socket stays open.
    Error {
        /// What was wrong.
        message: String,
        /// The call it was about, when there was one.
        #[serde(skip_serializing_if = "Option::is_none")]
        call: Option<String>,
    },
    /// Reply to `ping`.
    Pong,
}

impl ServerMessage {
    /// An error about a request, naming the call if there was one.
    pub fn error(message: impl Into<String>, call: Option<&str>) -> ServerMessage {
        ServerMessage::Error {
            message: message.into(),
            call: call.map(str::to_owned),
        }
    }

    /// The message as JSON text.
    pub fn to_text(&self) -> String {
        // Every field is a string, number or nested struct of those: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"type":"error"}"#.to_owned())
    }
}

/// A `state` message for a call that is not ending.
pub fn state_message(call: &str, state: PageCallState, peer: Option<Party>) -> ServerMessage {
    ServerMessage::State {
        call: call.to_owned(),
        state,
        peer,
        code: None,
        subcode: None,
        reason: None,
    }
}

/// A `state: ended` message.
pub fn ended_message(
    call: &str,
    code: Option<ResultCode>,
    detail: Option<String>,
) -> ServerMessage {
    let parts = code.map(ResultCode::parts);
    ServerMessage::State {
        call: call.to_owned(),
        state: PageCallState::Ended,
        peer: None,
        code: parts.map(|p| p.0),
        subcode: parts.map(|p| p.1),
        reason: detail.or_else(|| parts.map(|p| p.2.to_owned())),
    }
}

/// A participant as the page shows it.
pub fn party_of(info: &ParticipantInfo) -> Party {
    let identity = info.identity.clone().unwrap_or_default();
    let (kind, who) = match (&identity.application, &identity.user) {
        (Some(app), _) => ("application", Some(app)),
        (None, Some(user)) => ("user", Some(user)),
        (None, None) => ("unknown", None),
    };
    Party {
        kind: kind.to_owned(),
        id: who.and_then(|w| w.id.clone()).unwrap_or_default(),
        display_name: who.and_then(|w| w.display_name.clone()),
    }
}

/// The message types a page may send.
const CLIENT_TYPES: [&str; 8] = [
    "register", "call", "join", "answer", "decline", "unmute", "hangup", "ping",
];

/// Parses one text message from the page. The error text names what was wrong and what is
/// allowed.
pub fn parse(text: &str) -> Result<ClientMessage, String> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "message of {} bytes; allowed: at most {MAX_MESSAGE_BYTES}",
            text.len()
        ));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e}); send a JSON object"))?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err(format!(
            "no \"type\" string in the message; allowed types: {}",
            CLIENT_TYPES.join(", ")
        ));
    };
    if !CLIENT_TYPES.contains(&kind) {
        return Err(format!(
            "unknown message type {kind:?}; allowed types: {}",
            CLIENT_TYPES.join(", ")
        ));
    }
    let kind = kind.to_owned();
    serde_json::from_value(value).map_err(|e| format!("bad {kind:?} message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_type_parses() {
        assert_eq!(
            parse(r#"{"type":"register","token":"t"}"#),
            Ok(ClientMessage::Register { token: "t".into() })
        );
        assert_eq!(
            parse(r#"{"type":"call","target":{"application":"a"},"sdp":"v=0"}"#),
            Ok(ClientMessage::Call {
                target: CallTarget::Application("a".into()),
                sdp: "v=0".into()
            })
        );
        assert_eq!(
            parse(r#"{"type":"answer","call":"c","sdp":"v=0"}"#),
            Ok(ClientMessage::Answer {
                call: "c".into(),
                sdp: "v=0".into()
            })
        );
        assert_eq!(parse(r#"{"type":"ping"}"#), Ok(ClientMessage::Ping));
    }

    #[test]
    fn bad_messages_say_what_was_wrong() {
        let cases = [
            ("nonsense", "not JSON"),
            (r#"{"call":"c"}"#, "no \"type\" string"),
            (
                r#"{"type":"dial","call":"c"}"#,
                "unknown message type \"dial\"; allowed types: register",
            ),
            (r#"{"type":"answer","call":"c"}"#, "missing field `sdp`"),
            (
                r#"{"type":"call","target":{"phone":"1"},"sdp":"x"}"#,
                "bad \"call\" message: unknown variant `phone`",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let long = format!(
            r#"{{"type":"ping","x":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert!(parse(&long).unwrap_err().contains("allowed: at most 65536"));
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        let ended = ServerMessage::State {
            call: "c".into(),
            state: PageCallState::Ended,
            peer: None,
            code: Some(408),
            subcode: Some(10057),
            reason: Some("no answer".into()),
        };
        assert_eq!(
            ended.to_text(),
            r#"{"type":"state","call":"c","state":"ended","code":408,"subcode":10057,"reason":"no answer"}"#
        );
        assert_eq!(ServerMessage::Pong.to_text(), r#"{"type":"pong"}"#);
    }
}
