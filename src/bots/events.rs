//! What a `commsNotification` means to a bot: the call it is about and what it says about it.
//! Read from the JSON alone, as an external bot reads it.

use serde_json::Value;

/// A `resultInfo`, as far as a flow needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The status-like `code` (200, 408, 480…).
    pub code: i64,
    /// The `subcode` within `code` (5001, 10057…).
    pub subcode: i64,
    /// The `message`, in words; empty when absent.
    pub message: String,
}

impl Outcome {
    fn of(info: &Value) -> Option<Outcome> {
        if info.is_null() {
            return None;
        }
        Some(Outcome {
            code: info["code"].as_i64().unwrap_or_default(),
            subcode: info["subcode"].as_i64().unwrap_or_default(),
            message: info["message"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

/// What one notification says about a call, classified for a built-in bot (not the state
/// machine's input, which is `calls::state::CallEvent`).
#[derive(Debug, Clone, PartialEq)]
pub enum CallNotice {
    /// A new incoming call (`created`), with the whole call resource.
    Incoming(Value),
    /// The call's state changed (`updated`), or it ended (`deleted`, state `terminated`).
    State {
        /// The new state (`established`, `terminated`, `transferring`…).
        state: String,
        /// The reason, when the notification carries one.
        outcome: Option<Outcome>,
    },
    /// A key the caller pressed (from `toneInfo.tone`: `0`–`9`, `*`, `#`, `A`–`D`).
    Tone(char),
    /// An operation finished (`deleted` on `/operations/{id}`).
    OperationDone {
        /// The operation's id, from the notification's `…/operations/{id}`.
        id: String,
        /// `completed` or `failed`.
        status: String,
        /// Its `resultInfo`, when the notification carries one.
        outcome: Option<Outcome>,
        /// `recordingLocation` and `recordingAccessToken` of a record operation.
        recording: Option<(String, String)>,
    },
    /// Anything a flow does not use (roster updates, content sharing).
    Other,
}

/// The call id a notification is about and what it says; `None` when it is not about a call.
pub fn classify(notification: &Value) -> Option<(String, CallNotice)> {
    let url = notification["resourceUrl"].as_str()?;
    let rest = url.strip_prefix("/communications/calls/")?;
    let (call_id, tail) = match rest.split_once('/') {
        Some((id, tail)) => (id, Some(tail)),
        None => (rest, None),
    };
    let change = notification["changeType"].as_str().unwrap_or_default();
    let data = &notification["resourceData"];
    let event = match tail {
        None if change == "created" => CallNotice::Incoming(data.clone()),
        None => {
            if let Some(tone) = data["toneInfo"]["tone"].as_str() {
                match key_of_tone(tone) {
                    Some(key) => CallNotice::Tone(key),
                    None => CallNotice::Other,
                }
            } else if let Some(state) = data["state"].as_str() {
                CallNotice::State {
                    state: state.to_owned(),
                    outcome: Outcome::of(&data["resultInfo"]),
                }
            } else {
                CallNotice::Other
            }
        }
        Some(operation) if change == "deleted" => {
            let id = operation.strip_prefix("operations/")?.to_owned();
            let recording = match (
                data["recordingLocation"].as_str(),
                data["recordingAccessToken"].as_str(),
            ) {
                (Some(location), Some(token)) => Some((location.to_owned(), token.to_owned())),
                _ => None,
            };
            CallNotice::OperationDone {
                id,
                status: data["status"].as_str().unwrap_or_default().to_lowercase(),
                outcome: Outcome::of(&data["resultInfo"]),
                recording,
            }
        }
        Some(_) => CallNotice::Other,
    };
    Some((call_id.to_owned(), event))
}

/// The key of a Graph `tone` name (`tone1` → `'1'`, `pound` → `'#'`).
pub fn key_of_tone(tone: &str) -> Option<char> {
    let lower = tone.to_ascii_lowercase();
    if let Some(digit) = lower.strip_prefix("tone") {
        let mut chars = digit.chars();
        return match (chars.next(), chars.next()) {
            (Some(d), None) if d.is_ascii_digit() => Some(d),
            _ => None,
        };
    }
    match lower.as_str() {
        "star" => Some('*'),
        "pound" => Some('#'),
        "a" => Some('A'),
        "b" => Some('B'),
        "c" => Some('C'),
        "d" => Some('D'),
        _ => None,
    }
}

/// The Graph `tone` name of a key (`'1'` → `tone1`).
pub fn tone_of_key(key: char) -> Option<String> {
    match key {
        '0'..='9' => Some(format!("tone{key}")),
        '*' => Some("star".into()),
        '#' => Some("pound".into()),
        'A'..='D' => Some(key.to_ascii_lowercase().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notifications_become_call_events() {
        let tone = json!({"changeType": "updated", "resourceUrl": "/communications/calls/c1",
            "resourceData": {"state": "established", "toneInfo": {"tone": "pound", "sequenceId": 1}}});
        assert_eq!(classify(&tone), Some(("c1".into(), CallNotice::Tone('#'))));
        let ended = json!({"changeType": "deleted", "resourceUrl": "/communications/calls/c1",
            "resourceData": {"state": "terminated", "resultInfo": {"code": 480, "subcode": 10076, "message": "declined"}}});
        let Some((_, CallNotice::State { state, outcome })) = classify(&ended) else {
            panic!("not a state event")
        };
        assert_eq!(state, "terminated");
        assert_eq!(outcome.map(|o| (o.code, o.subcode)), Some((480, 10076)));
        let op = json!({"changeType": "deleted", "resourceUrl": "/communications/calls/c1/operations/o9",
            "resourceData": {"status": "Completed", "recordingLocation": "http://h/r", "recordingAccessToken": "t"}});
        let Some((
            call,
            CallNotice::OperationDone {
                id,
                status,
                recording,
                ..
            },
        )) = classify(&op)
        else {
            panic!("not an operation event")
        };
        assert_eq!(
            (call.as_str(), id.as_str(), status.as_str()),
            ("c1", "o9", "completed")
        );
        assert_eq!(recording, Some(("http://h/r".into(), "t".into())));
        let roster = json!({"changeType": "updated", "resourceUrl": "/communications/calls/c1/participants",
            "resourceData": []});
        assert_eq!(classify(&roster), Some(("c1".into(), CallNotice::Other)));
        assert_eq!(
            classify(&json!({"resourceUrl": "/communications/reminders/r1"})),
            None
        );
    }

    #[test]
    fn tone_names_and_keys_round_trip() {
        for key in "0123456789*#ABCD".chars() {
            let tone = tone_of_key(key).unwrap();
            assert_eq!(key_of_tone(&tone), Some(key), "{tone}");
        }
        assert_eq!(key_of_tone("Tone7"), Some('7'));
        assert_eq!(key_of_tone("flash"), None);
        assert_eq!(key_of_tone("tone12"), None);
        assert_eq!(tone_of_key('x'), None);
    }
}
