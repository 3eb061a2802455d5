//! Meeting creation, filters and join references.

use super::*;
use rand::SeedableRng;
use serde_json::json;

fn organizer() -> Organizer {
    Organizer {
        user_id: "550f".into(),
        display_name: Some("Heidi".into()),
        upn: Some("heidi@contoso.com".into()),
        tenant_id: "t1".into(),
    }
}

fn now() -> Timestamp {
    "2024-07-11T02:17:17Z".parse().unwrap()
}

#[test]
fn created_meeting_has_server_fields_and_utc_dates() {
    let seed = 7;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let request: OnlineMeeting = serde_json::from_value(json!({
        "@odata.type": "#microsoft.graph.onlineMeeting",
        "startDateTime": "2024-07-12T14:30:00-07:00", "endDateTime": "2024-07-12T15:00:00-07:00",
        "subject": "Support escalation",
        "joinMeetingIdSettings": {"isPasscodeRequired": true},
        "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": false},
        "participants": {"attendees": [{"upn": "alex@contoso.com", "role": "attendee", "identity": {"user": {"id": "dc17"}}}]}
    }))
    .unwrap();
    let meeting = create(
        request,
        &organizer(),
        "http://sb.example:8080",
        now(),
        &mut rng,
    )
    .unwrap();
    let json = serde_json::to_value(&meeting).unwrap();
    let id = json["id"].as_str().unwrap();
    assert_eq!(
        json["joinWebUrl"],
        format!("http://sb.example:8080/meet/{id}"),
        "seed {seed}"
    );
    assert_eq!(json["startDateTime"], "2024-07-12T21:30:00Z");
    assert_eq!(json["endDateTime"], "2024-07-12T22:00:00Z");
    assert_eq!(json["creationDateTime"], "2024-07-11T02:17:17Z");
    let settings = &json["joinMeetingIdSettings"];
    assert_eq!(settings["isPasscodeRequired"], true);
    assert_eq!(settings["joinMeetingId"].as_str().unwrap().len(), 12);
    assert!(
        settings["joinMeetingId"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );
    assert_eq!(settings["passcode"].as_str().unwrap().len(), 6);
    assert_eq!(
        json["chatInfo"]["threadId"],
        format!("19:meeting_{id}@thread.v2")
    );
    assert_eq!(
        json["participants"]["organizer"]["identity"]["user"]["id"],
        "550f"
    );
    assert_eq!(
        json["participants"]["attendees"][0]["upn"],
        "alex@contoso.com"
    );
    assert_eq!(json["lobbyBypassSettings"]["scope"], "organization");
    assert_eq!(json["subject"], "Support escalation");
}

#[test]
fn defaults_and_bad_dates() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let meeting = create(
        OnlineMeeting::default(),
        &organizer(),
        "http://h",
        now(),
        &mut rng,
    )
    .unwrap();
    assert_eq!(
        meeting.start_date_time.as_deref(),
        Some("2024-07-11T02:17:17Z")
    );
    assert_eq!(
        meeting.end_date_time.as_deref(),
        Some("2024-07-11T03:17:17Z")
    );
    assert_eq!(
        meeting
            .join_meeting_id_settings
            .unwrap()
            .is_passcode_required,
        Some(false)
    );
    let bad = OnlineMeeting {
        start_date_time: Some("tomorrow".into()),
        ..OnlineMeeting::default()
    };
    let err = create(bad, &organizer(), "http://h", now(), &mut rng).unwrap_err();
    assert_eq!(err.field, "startDateTime");
    let backwards = OnlineMeeting {
        start_date_time: Some("2024-07-12T15:00:00Z".into()),
        end_date_time: Some("2024-07-12T14:00:00Z".into()),
        ..OnlineMeeting::default()
    };
    assert_eq!(
        create(backwards, &organizer(), "http://h", now(), &mut rng)
            .unwrap_err()
            .field,
        "endDateTime"
    );
}

#[test]
fn filters_parse_encoded_and_in_any_case() {
    assert_eq!(
        parse_filter("VideoTeleconferenceId%20eq%20%27123%27").unwrap(),
        MeetingFilter::VideoTeleconferenceId("123".into())
    );
    assert_eq!(
        parse_filter("joinweburl eq 'http://h/meet/abc'").unwrap(),
        MeetingFilter::JoinWebUrl("http://h/meet/abc".into())
    );
    assert_eq!(
        parse_filter("JoinWebUrl eq 'http%3A%2F%2Fh%2Fmeet%2Fabc'").unwrap(),
        MeetingFilter::JoinWebUrl("http://h/meet/abc".into())
    );
    assert_eq!(
        parse_filter("joinMeetingIdSettings/joinMeetingId eq '1234567890'").unwrap(),
        MeetingFilter::JoinMeetingId("1234567890".into())
    );
    assert_eq!(
        parse_filter("subject eq 'it''s'").unwrap_err().field,
        "$filter"
    );
    assert_eq!(
        parse_filter("VideoTeleconferenceId ne '1'")
            .unwrap_err()
            .to_string(),
        "$filter: got \"VideoTeleconferenceId ne '1'\"; allowed: JoinWebUrl eq '<url>', \
         joinMeetingIdSettings/joinMeetingId eq '<id>' or VideoTeleconferenceId eq '<id>'"
    );
    assert!(parse_filter("JoinWebUrl eq 'unterminated").is_err());
}

#[test]
fn filters_match_their_property() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let meeting = create(
        OnlineMeeting::default(),
        &organizer(),
        "http://h",
        now(),
        &mut rng,
    )
    .unwrap();
    let url = meeting.join_web_url.clone().unwrap();
    let join_id = meeting
        .join_meeting_id_settings
        .clone()
        .unwrap()
        .join_meeting_id
        .unwrap();
    assert!(matches(
        &meeting,
        &MeetingFilter::JoinWebUrl(format!("{url}/"))
    ));
    assert!(matches(&meeting, &MeetingFilter::JoinMeetingId(join_id)));
    assert!(matches(
        &meeting,
        &MeetingFilter::VideoTeleconferenceId(meeting.video_teleconference_id.clone().unwrap())
    ));
    assert!(!matches(
        &meeting,
        &MeetingFilter::VideoTeleconferenceId("0".into())
    ));
}

#[test]
fn join_references_and_passcodes() {
    let by_id: MeetingInfo =
        serde_json::from_value(json!({"joinMeetingId": "1234", "passcode": "x"})).unwrap();
    assert_eq!(
        meeting_ref(Some(&by_id), None).unwrap(),
        MeetingRef::JoinMeetingId {
            id: "1234".into(),
            passcode: Some("x".into())
        }
    );
    let organizer_info: MeetingInfo =
        serde_json::from_value(json!({"organizer": {"user": {"id": "u"}}})).unwrap();
    let chat = ChatInfo {
        thread_id: Some("19:meeting_x@thread.v2".into()),
        ..ChatInfo::default()
    };
    assert_eq!(
        meeting_ref(Some(&organizer_info), Some(&chat)).unwrap(),
        MeetingRef::ThreadId("19:meeting_x@thread.v2".into())
    );
    assert_eq!(
        meeting_ref(Some(&organizer_info), None).unwrap_err().field,
        "chatInfo.threadId"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let request = OnlineMeeting {
        join_meeting_id_settings: Some(JoinMeetingIdSettings {
            is_passcode_required: Some(true),
            ..Default::default()
        }),
        ..OnlineMeeting::default()
    };
    let meeting = create(request, &organizer(), "http://h", now(), &mut rng).unwrap();
    let passcode = meeting
        .join_meeting_id_settings
        .clone()
        .unwrap()
        .passcode
        .unwrap();
    assert!(check_passcode(&meeting, Some(&passcode)).is_ok());
    assert_eq!(
        check_passcode(&meeting, Some("nope")).unwrap_err().value,
        "a wrong passcode"
    );
    assert_eq!(check_passcode(&meeting, None).unwrap_err().value, "nothing");
}

#[test]
fn a_meeting_is_over_once_its_end_has_passed_and_nobody_is_in_it() {
    let end = "2030-07-12T15:00:00-07:00";
    let before: Timestamp = "2030-07-12T21:59:59Z".parse().unwrap();
    let after: Timestamp = "2030-07-12T22:00:01Z".parse().unwrap();
    assert!(check_not_ended("meetingInfo", Some(end), false, before).is_ok());
    assert!(check_not_ended("meetingInfo", Some(end), true, after).is_ok());
    assert!(check_not_ended("meetingInfo", None, false, after).is_ok());
    let refused = check_not_ended("meetingInfo", Some(end), false, after).unwrap_err();
    assert_eq!(refused.field, "meetingInfo");
    assert_eq!(
        refused.value,
        "a meeting that ended at 2030-07-12T22:00:00Z"
    );
    assert!(
        refused.to_string().contains("now is 2030-07-12T22:00:01Z"),
        "{refused}"
    );
}
