//! Graph enumerations and the lenient wire rules they share.
//!
//! Graph is inconsistent about enum casing (`running` in the docs, `Running` in the CSDL and in some
//! examples), so every enum here accepts any casing on input and emits the lower camelCase the
//! resource pages document (§1.5 of the reference).

/// Declares a Graph enum: lower camelCase on the wire, any casing accepted on input, and an input
/// error that lists the allowed values.
macro_rules! graph_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($label:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value as spelled on the wire, in declaration order.
            pub const WIRE_VALUES: &'static [&'static str] = &[$($wire),+];
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lower camelCase spelling emitted on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire ),+ }
            }

            /// Parses a wire value in any casing (`running`, `Running`, `RUNNING`).
            pub fn from_wire(value: &str) -> Option<$name> {
                $( if value.eq_ignore_ascii_case($wire) { return Some($name::$variant); } )+
                None
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::graph::enums::UnknownEnumValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                $name::from_wire(value).ok_or_else(|| $crate::graph::enums::UnknownEnumValue {
                    enum_name: $label,
                    value: value.to_owned(),
                    allowed: $name::WIRE_VALUES,
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                value.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A string that is not a member of a Graph enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {enum_name}; allowed: {}", allowed.join(", "))]
pub struct UnknownEnumValue {
    /// The Graph name of the enum, for example `callState`.
    pub enum_name: &'static str,
    /// The value that was sent.
    pub value: String,
    /// The values that are allowed, as spelled on the wire.
    pub allowed: &'static [&'static str],
}

graph_enum! {
    /// Which way a call was placed, from the point of view of the app that owns it.
    pub enum CallDirection ("callDirection") {
        /// Someone called the app.
        Incoming = "incoming",
        /// The app placed the call.
        Outgoing = "outgoing",
    }
}

graph_enum! {
    /// Where a call stands. `ringing` is documented but absent from the v1.0 schema (the Python
    /// SDK reads it as `None`), so Switchboard never emits it. Which events move a call between
    /// these states is the state machine's business: the transition table is in
    /// src/calls/state.rs.
    pub enum CallState ("callState") {
        /// Ringing at the app, not yet answered, rejected or redirected.
        Incoming = "incoming",
        /// Answered or placed; media is being set up.
        Establishing = "establishing",
        /// Connected with media.
        Established = "established",
        /// Put on hold by the far end.
        Hold = "hold",
        /// A transfer was requested and is in progress.
        Transferring = "transferring",
        /// The transfer target accepted.
        TransferAccepted = "transferAccepted",
        /// The app redirected the incoming call; this leg ends once it is handed over.
        Redirecting = "redirecting",
        /// The app hung up; the call is being torn down.
        Terminating = "terminating",
        /// Ended. Terminated calls are reported with `changeType: deleted` and a `resultInfo`.
        Terminated = "terminated",
    }
}

graph_enum! {
    /// A kind of media a call carries.
    pub enum Modality ("modality") {
        /// Audio; the only modality Switchboard carries media for.
        Audio = "audio",
        /// Video.
        Video = "video",
        /// Screen sharing sent as video.
        VideoBasedScreenSharing = "videoBasedScreenSharing",
        /// Data.
        Data = "data",
        /// The docs' `unknown`.
        Unknown = "unknown",
        /// Placeholder for values added later.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// Where an asynchronous operation stands.
    pub enum OperationStatus ("operationStatus") {
        /// Accepted but not started yet.
        NotStarted = "notStarted",
        /// Running; its outcome will arrive as a notification.
        Running = "running",
        /// Finished successfully.
        Completed = "completed",
        /// Finished with an error in `resultInfo`.
        Failed = "failed",
    }
}

graph_enum! {
    /// A DTMF key as Graph names it.
    pub enum Tone ("tone") {
        /// Key 0.
        Tone0 = "tone0",
        /// Key 1.
        Tone1 = "tone1",
        /// Key 2.
        Tone2 = "tone2",
        /// Key 3.
        Tone3 = "tone3",
        /// Key 4.
        Tone4 = "tone4",
        /// Key 5.
        Tone5 = "tone5",
        /// Key 6.
        Tone6 = "tone6",
        /// Key 7.
        Tone7 = "tone7",
        /// Key 8.
        Tone8 = "tone8",
        /// Key 9.
        Tone9 = "tone9",
        /// Key `*`.
        Star = "star",
        /// Key `#`.
        Pound = "pound",
        /// Key A.
        A = "a",
        /// Key B.
        B = "b",
        /// Key C.
        C = "c",
        /// Key D.
        D = "d",
        /// Hook flash; it has no DTMF tone pair, so it can be neither detected nor sent in-band.
        Flash = "flash",
    }
}

impl Tone {
    /// The DTMF key of this tone, or `None` for `flash`, which has no key.
    pub fn digit(self) -> Option<switchboard_media::dtmf::Digit> {
        use switchboard_media::dtmf::Digit;
        // The first sixteen members are in RFC 4733 event-code order, like `Digit`.
        let index = Tone::ALL.iter().position(|t| *t == self)?;
        Digit::from_event_code(u8::try_from(index).ok()?)
    }

    /// The Graph tone for a DTMF key.
    pub fn from_digit(digit: switchboard_media::dtmf::Digit) -> Tone {
        Tone::ALL[usize::from(digit.event_code())]
    }
}

graph_enum! {
    /// Why a bot rejects an incoming call.
    pub enum RejectReason ("rejectReason") {
        /// No reason given.
        None = "none",
        /// The bot is busy.
        Busy = "busy",
        /// The caller is not allowed to call.
        Forbidden = "forbidden",
        /// Placeholder for values added later.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// What happened to the resource a notification is about.
    pub enum ChangeType ("changeType") {
        /// A new incoming call.
        Created = "created",
        /// A state, roster or tone change.
        Updated = "updated",
        /// The call ended or an operation finished.
        Deleted = "deleted",
    }
}

graph_enum! {
    /// The kind of client endpoint of a participant.
    pub enum EndpointType ("endpointType") {
        /// An ordinary client such as a softphone page or a bot (Graph's default).
        Default = "default",
        /// Voicemail.
        Voicemail = "voicemail",
        /// A Skype for Business client.
        SkypeForBusiness = "skypeForBusiness",
        /// A Skype for Business VoIP phone.
        SkypeForBusinessVoipPhone = "skypeForBusinessVoipPhone",
        /// Placeholder for values added later.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// Which way a participant's media stream flows.
    pub enum MediaDirection ("mediaDirection") {
        /// No media flows.
        Inactive = "inactive",
        /// The participant only sends.
        SendOnly = "sendOnly",
        /// The participant only receives.
        ReceiveOnly = "receiveOnly",
        /// Both ways.
        SendReceive = "sendReceive",
    }
}

graph_enum! {
    /// Whether a call's audio is flowing.
    pub enum MediaState ("mediaState") {
        /// Audio flows.
        Active = "active",
        /// Audio is stopped (hold, transfer in progress).
        Inactive = "inactive",
        /// Placeholder for values added later.
        UnknownFutureValue = "unknownFutureValue",
    }
}

graph_enum! {
    /// Why sending DTMF tones ended.
    pub enum SendDtmfCompletionReason ("sendDtmfCompletionReason") {
        /// Unknown.
        Unknown = "unknown",
        /// Every tone was sent.
        CompletedSuccessfully = "completedSuccessfully",
        /// Cancelled by cancelMediaProcessing or by the call ending.
        MediaOperationCanceled = "mediaOperationCanceled",
        /// Placeholder for values added later.
        UnknownFutureValue = "unknownFutureValue",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_media::dtmf::Digit;

    #[test]
    fn enums_accept_any_casing_and_emit_lower_camel_case() {
        for input in ["running", "Running", "RUNNING"] {
            let status: OperationStatus = serde_json::from_str(&format!("\"{input}\"")).unwrap();
            assert_eq!(status, OperationStatus::Running);
        }
        assert_eq!(
            serde_json::to_string(&OperationStatus::NotStarted).unwrap(),
            "\"notStarted\""
        );
        assert_eq!(serde_json::to_string(&Tone::Pound).unwrap(), "\"pound\"");
        let reason: RejectReason = serde_json::from_str("\"Busy\"").unwrap();
        assert_eq!(reason, RejectReason::Busy);
    }

    #[test]
    fn unknown_enum_values_name_the_value_and_the_allowed_ones() {
        let err = serde_json::from_str::<RejectReason>("\"maybe\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'maybe' is not a valid rejectReason; allowed: none, busy, forbidden"),
            "{err}"
        );
    }

    #[test]
    fn every_wire_value_round_trips() {
        for tone in Tone::ALL {
            let json = serde_json::to_string(tone).unwrap();
            assert_eq!(serde_json::from_str::<Tone>(&json).unwrap(), *tone);
        }
        for modality in Modality::ALL {
            assert_eq!(modality.as_str().parse::<Modality>().unwrap(), *modality);
        }
    }

    #[test]
    fn tones_map_to_every_dtmf_key_and_flash_has_none() {
        for digit in (0..16).map(|code| Digit::from_event_code(code).unwrap()) {
            assert_eq!(Tone::from_digit(digit).digit(), Some(digit));
        }
        assert_eq!(Tone::from_digit(Digit::Pound), Tone::Pound);
        assert_eq!(Tone::Flash.digit(), None);
    }
}
