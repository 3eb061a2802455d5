//! Online meetings (§2.14, §2.15): creating one with its join link, join id and passcode, the
//! `$filter` expressions Graph accepts for looking meetings up, and how a call's `meetingInfo`
//! names the meeting it joins. Storage is the directory's job; this is the pure logic.

use jiff::{SignedDuration, Timestamp};
use rand::{Rng, RngExt as _};

use crate::calls::ids::random_guid;
use crate::calls::validate::InvalidField;
use crate::graph::odata::type_name;
use crate::graph::{
    ChatInfo, IdentitySet, JoinMeetingIdSettings, MeetingInfo, MeetingParticipantInfo,
    MeetingParticipants, OnlineMeeting,
};

/// How long a meeting lasts when the request gives no end (Graph's default).
pub const DEFAULT_DURATION: SignedDuration = SignedDuration::from_hours(1);

/// The user a meeting is created for (the organizer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organizer {
    /// The user's object id.
    pub user_id: String,
    /// The user's display name.
    pub display_name: Option<String>,
    /// The user's principal name.
    pub upn: Option<String>,
    /// The user's tenant id, written on the organizer's identity.
    pub tenant_id: String,
}

/// Builds a new meeting from a create request: server-set fields (id, join link, join id,
/// passcode, chat thread, VTC id, creation time, organizer) are generated; dates are returned
/// in UTC; every other setting is kept as given. `public_base_url` is this server's public URL,
/// without a trailing slash.
pub fn create(
    request: OnlineMeeting,
    organizer: &Organizer,
    public_base_url: &str,
    now: Timestamp,
    rng: &mut impl Rng,
) -> Result<OnlineMeeting, InvalidField> {
    let start = match &request.start_date_time {
        Some(s) => parse_date("startDateTime", s)?,
        None => now,
    };
    let end = match &request.end_date_time {
        Some(s) => parse_date("endDateTime", s)?,
        None => start + DEFAULT_DURATION,
    };
    if end < start {
        return Err(InvalidField::new(
            "endDateTime",
            format_date(end),
            format!("a time at or after startDateTime ({})", format_date(start)),
        ));
    }
    let id = random_guid().replace('-', "");
    let passcode_required = request
        .join_meeting_id_settings
        .as_ref()
        .and_then(|s| s.is_passcode_required);
    let mut organizer_identity =
        IdentitySet::user(organizer.user_id.clone(), organizer.display_name.clone());
    if let Some(user) = organizer_identity.user.as_mut() {
        user.tenant_id = Some(organizer.tenant_id.clone());
    }
    let attendees = request.participants.and_then(|p| p.attendees);
    Ok(OnlineMeeting {
        odata_context: None,
        odata_type: Some(type_name("onlineMeeting")),
        join_web_url: Some(format!("{public_base_url}/meet/{id}")),
        creation_date_time: Some(format_date(now)),
        start_date_time: Some(format_date(start)),
        end_date_time: Some(format_date(end)),
        join_meeting_id_settings: Some(JoinMeetingIdSettings {
            is_passcode_required: Some(passcode_required.unwrap_or(false)),
            join_meeting_id: Some(digits(rng, 12)),
            passcode: Some(passcode(rng)),
        }),
        chat_info: Some(ChatInfo {
            odata_type: None,
            thread_id: Some(format!("19:meeting_{id}@thread.v2")),
            message_id: Some("0".into()),
            reply_chain_message_id: None,
        }),
        video_teleconference_id: Some(digits(rng, 10)),
        participants: Some(MeetingParticipants {
            organizer: Some(MeetingParticipantInfo {
                identity: Some(organizer_identity),
                upn: organizer.upn.clone(),
                role: Some("presenter".into()),
            }),
            attendees: Some(attendees.unwrap_or_default()),
        }),
        id: Some(id),
        subject: request.subject,
        external_id: request.external_id,
        extra: request.extra,
    })
}

fn parse_date(field: &str, value: &str) -> Result<Timestamp, InvalidField> {
    value.parse::<Timestamp>().map_err(|_| {
        InvalidField::new(
            field,
            format!("'{value}'"),
            "an ISO 8601 date and time with offset, e.g. 2024-07-12T14:30:00-07:00",
        )
    })
}

/// Formats a time in UTC as Graph returns it, for example `2024-07-12T21:30:00Z`.
pub fn format_date(at: Timestamp) -> String {
    at.to_string()
}

fn digits(rng: &mut impl Rng, count: usize) -> String {
    // No leading zero, so the id keeps its length when read as a number.
    let mut out = rng.random_range(1..=9u8).to_string();
    for _ in 1..count {
        out.push(char::from(b'0' + rng.random_range(0..=9u8)));
    }
    out
}

fn passcode(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..6)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// A lookup by one of the `$filter` forms Graph documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeetingFilter {
    /// `JoinWebUrl eq '…'`.
    JoinWebUrl(String),
    /// `joinMeetingIdSettings/joinMeetingId eq '…'`.
    JoinMeetingId(String),
    /// `VideoTeleconferenceId eq '…'`.
    VideoTeleconferenceId(String),
}

/// Parses a `$filter` value (already or still percent-encoded): a property name in any case,
/// `eq`, and a single-quoted string in which `''` is a quote.
pub fn parse_filter(raw: &str) -> Result<MeetingFilter, InvalidField> {
    const ALLOWED: &str = "JoinWebUrl eq '<url>', joinMeetingIdSettings/joinMeetingId eq '<id>' or \
                           VideoTeleconferenceId eq '<id>'";
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let text = decoded.trim();
    let refuse = || InvalidField::new("$filter", format!("\"{text}\""), ALLOWED);
    let (property, rest) = text.split_once(char::is_whitespace).ok_or_else(refuse)?;
    let rest = rest.trim_start();
    let value = rest
        .get(..2)
        .filter(|op| op.eq_ignore_ascii_case("eq"))
        .and_then(|_| rest[2..].trim().strip_prefix('\''))
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(refuse)?
        .replace("''", "'");
    match property.to_ascii_lowercase().as_str() {
        "joinweburl" => Ok(MeetingFilter::JoinWebUrl(value)),
        "joinmeetingidsettings/joinmeetingid" => Ok(MeetingFilter::JoinMeetingId(value)),
        "videoteleconferenceid" => Ok(MeetingFilter::VideoTeleconferenceId(value)),
        _ => Err(refuse()),
    }
}

/// Whether a meeting matches a filter (join URLs compare without a trailing slash).
pub fn matches(meeting: &OnlineMeeting, filter: &MeetingFilter) -> bool {
    match filter {
        MeetingFilter::JoinWebUrl(url) => {
            meeting
                .join_web_url
                .as_deref()
                .map(|u| u.trim_end_matches('/'))
                == Some(url.trim_end_matches('/'))
        }
        MeetingFilter::JoinMeetingId(id) => {
            meeting
                .join_meeting_id_settings
                .as_ref()
                .and_then(|s| s.join_meeting_id.as_deref())
                == Some(id.as_str())
        }
        MeetingFilter::VideoTeleconferenceId(id) => {
            meeting.video_teleconference_id.as_deref() == Some(id.as_str())
        }
    }
}

/// How a call's `meetingInfo`/`chatInfo` names the meeting to join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeetingRef {
    /// By join id, with the passcode if given.
    JoinMeetingId {
        /// The meeting's `joinMeetingId` (the number people type to join).
        id: String,
        /// The passcode the join request sent, checked if the meeting requires one.
        passcode: Option<String>,
    },
    /// By the meeting's chat thread (organizer meeting info plus chatInfo).
    ThreadId(String),
    /// By a token: Switchboard takes the meeting id as the token.
    MeetingId(String),
}

/// Works out which meeting a join request names.
pub fn meeting_ref(
    meeting_info: Option<&MeetingInfo>,
    chat_info: Option<&ChatInfo>,
) -> Result<MeetingRef, InvalidField> {
    let thread = chat_info
        .and_then(|c| c.thread_id.clone())
        .filter(|t| !t.is_empty());
    match meeting_info {
        Some(MeetingInfo::JoinMeetingId(info)) => info
            .join_meeting_id
            .clone()
            .filter(|id| !id.is_empty())
            .map(|id| MeetingRef::JoinMeetingId { id, passcode: info.passcode.clone() })
            .ok_or_else(|| InvalidField::missing("meetingInfo.joinMeetingId", "the meeting's join id")),
        Some(MeetingInfo::Token(info)) => info
            .token
            .clone()
            .map(MeetingRef::MeetingId)
            .ok_or_else(|| InvalidField::missing("meetingInfo.token", "the meeting's id")),
        Some(MeetingInfo::Organizer(_)) | None => thread.map(MeetingRef::ThreadId).ok_or_else(|| {
            InvalidField::missing(
                "chatInfo.threadId",
                "the meeting's chat thread id (required with organizerMeetingInfo), or a joinMeetingIdMeetingInfo",
            )
        }),
    }
}

/// Checks the passcode of a join by id against the meeting.
pub fn check_passcode(meeting: &OnlineMeeting, given: Option<&str>) -> Result<(), InvalidField> {
    let Some(settings) = &meeting.join_meeting_id_settings else {
        return Ok(());
    };
    if settings.is_passcode_required != Some(true) {
        return Ok(());
    }
    if given == settings.passcode.as_deref() {
        return Ok(());
    }
    Err(InvalidField::new(
        "meetingInfo.passcode",
        if given.is_some() {
            "a wrong passcode"
        } else {
            "nothing"
        },
        "the meeting's passcode (this meeting requires one)",
    ))
}

/// Refuses a join of a meeting that is over: its `endDateTime` has passed and nobody is in it
/// any more. A meeting that runs late stays open to joins until it empties. `field` names the
/// part of the request that named the meeting.
pub fn check_not_ended(
    field: &str,
    end_date_time: Option<&str>,
    in_progress: bool,
    now: Timestamp,
) -> Result<(), InvalidField> {
    let end = end_date_time.and_then(|s| s.parse::<Timestamp>().ok());
    match end {
        Some(end) if end < now && !in_progress => Err(InvalidField::new(
            field,
            format!("a meeting that ended at {}", format_date(end)),
            format!(
                "a meeting that has not ended (now is {}) or is still in progress",
                format_date(now)
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "meetings_tests.rs"]
mod tests;
