//! The Graph cloud-communications wire model: serde types for every resource, complex type and
//! request body Switchboard reads or writes, following the tolerance rules of the reference
//! (`shared/reference/graph-communications-api.md` §1.5): bodies without `@odata.type` on plain
//! types are accepted, enums are read in any casing and written in lower camelCase, polymorphic
//! values always carry `@odata.type`, and unknown keys of open types are kept and echoed back.

pub mod call;
pub mod enums;
pub mod identity;
pub mod media;
pub mod meeting_info;
pub mod notification;
pub mod odata;
pub mod online_meeting;
pub mod operation;
pub mod participant;
pub mod requests;

pub use call::{Call, CallMediaState, ResultInfo, ToneInfo};
pub use enums::{
    CallDirection, CallState, ChangeType, EndpointType, MediaDirection, MediaState, Modality,
    OperationStatus, RejectReason, SendDtmfCompletionReason, Tone, UnknownEnumValue,
};
pub use identity::{Identity, IdentitySet, Party};
pub use media::{
    AppHostedMediaConfig, MediaConfig, MediaInfo, MediaPrompt, ServiceHostedMediaConfig,
};
pub use meeting_info::{
    CallOptions, ChatInfo, JoinMeetingIdMeetingInfo, MeetingInfo, OrganizerMeetingInfo,
    TokenMeetingInfo,
};
pub use notification::{CommsNotification, CommsNotifications};
pub use online_meeting::{
    JoinMeetingIdSettings, MeetingParticipantInfo, MeetingParticipants, OnlineMeeting,
};
pub use operation::{CommsOperation, OperationKind};
pub use participant::{
    InvitationParticipantInfo, MediaStream, Participant, ParticipantInfo, RemovedState,
};
