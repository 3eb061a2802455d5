//! Identifiers of calls, operations, participants and conversations.
//!
//! All are random GUID-shaped strings, opaque to bots as Graph's are. A newtype per kind keeps a
//! participant id from being passed where a call id is expected.

use std::fmt;

/// Declares an opaque string identifier.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A new random identifier.
            pub fn random() -> $name {
                $name(random_guid())
            }

            /// The identifier as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> $name {
                $name(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> $name {
                $name(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A call: one app's (or one endpoint's) leg of a conversation.
    CallId
);
string_id!(
    /// An asynchronous operation of a call.
    OperationId
);
string_id!(
    /// A participant in a conversation's roster; the same id in every leg's view.
    ParticipantId
);
string_id!(
    /// A conversation: the legs that hear each other. Exposed to bots as `callChainId`.
    ConversationId
);

/// A random version-4 GUID in the usual 8-4-4-4-12 form.
pub fn random_guid() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        (bytes[8] & 0x3) | 0x8,
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_have_the_usual_shape_and_differ() {
        let a = random_guid();
        let b = random_guid();
        assert_ne!(a, b);
        let groups: Vec<_> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
