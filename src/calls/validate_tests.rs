//! Limits of §6 at and just past each boundary, and the wording of refusals.

use super::*;
use serde_json::{Value, json};

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn user(id: &str) -> Value {
    json!({"identity": {"user": {"id": id}}})
}

fn prompt() -> Value {
    json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": "https://x/a.wav"}})
}

const SERVICE: &str = "#microsoft.graph.serviceHostedMediaConfig";

#[test]
fn create_call_picks_p2p_group_or_meeting_by_targets() {
    let p2p = create_call(parse(
        json!({"callbackUri": "https://b/cb", "mediaConfig": {"@odata.type": SERVICE},
                                        "targets": [user("u1")]}),
    ))
    .unwrap();
    assert!(
        matches!(p2p.kind, OutgoingKind::PeerToPeer(ref t) if matches!(t.party, Party::User(_)))
    );
    assert_eq!(p2p.modalities, vec![Modality::Audio]);
    let five: Vec<_> = (0..5).map(|i| user(&format!("u{i}"))).collect();
    let group = create_call(parse(
        json!({"mediaConfig": {"@odata.type": SERVICE}, "targets": five}),
    ))
    .unwrap();
    assert!(matches!(group.kind, OutgoingKind::Group(ref t) if t.len() == 5));
    let meeting = create_call(parse(json!({"mediaConfig": {"@odata.type": SERVICE},
                                            "meetingInfo": {"joinMeetingId": "123", "passcode": "x"}})))
    .unwrap();
    assert!(matches!(
        meeting.kind,
        OutgoingKind::JoinMeeting {
            meeting_info: Some(_),
            ..
        }
    ));
}

#[test]
fn create_call_refusals_name_field_value_and_limit() {
    let six: Vec<_> = (0..6).map(|i| user(&format!("u{i}"))).collect();
    let err = create_call(parse(
        json!({"mediaConfig": {"@odata.type": SERVICE}, "targets": six}),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "targets: got 6 targets; allowed: 1 to 5 targets"
    );
    let err = create_call(parse(json!({"targets": [user("u")]}))).unwrap_err();
    assert_eq!(err.field, "mediaConfig");
    assert_eq!(err.value, "nothing");
    let err = create_call(parse(json!({"mediaConfig": {}}))).unwrap_err();
    assert_eq!(err.field, "targets");
    let err = create_call(parse(
        json!({"mediaConfig": {}, "targets": [{"identity": {"user": {"displayName": "x"}}}]}),
    ))
    .unwrap_err();
    assert_eq!(err.field, "targets[0].identity");
    let err = create_call(parse(json!({"mediaConfig": {}, "targets": [{}]}))).unwrap_err();
    assert_eq!(err.field, "targets[0].identity");
    let err = create_call(parse(
        json!({"mediaConfig": {}, "targets": [user("u")], "requestedModalities": ["video"]}),
    ))
    .unwrap_err();
    assert_eq!(err.field, "requestedModalities");
    let err = create_call(parse(
        json!({"mediaConfig": {}, "targets": [user("u")], "callbackUri": "ftp://x"}),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "callbackUri: got 'ftp://x'; allowed: an absolute http:// or https:// URL with a host, at most 2048 characters"
    );
    let err = create_call(parse(
        json!({"mediaConfig": {"preFetchMedia": [{"uri": "file:///etc/passwd"}]},
                                        "targets": [user("u")]}),
    ))
    .unwrap_err();
    assert_eq!(err.field, "mediaConfig.preFetchMedia[0].uri");
}

#[test]
fn callback_uris_need_a_scheme_and_a_host() {
    assert_eq!(
        callback_uri("f", Some("http://127.0.0.1:9/x".into()))
            .unwrap()
            .as_deref(),
        Some("http://127.0.0.1:9/x")
    );
    assert!(callback_uri("f", Some("https:///path".into())).is_err());
    assert!(callback_uri("f", Some("https://a b".into())).is_err());
    assert!(callback_uri("f", Some(format!("https://h/{}", "a".repeat(2048)))).is_err());
    assert_eq!(callback_uri("f", None).unwrap(), None);
}

#[test]
fn prompts_are_limited_to_twenty() {
    let twenty: Vec<_> = (0..20).map(|_| prompt()).collect();
    assert_eq!(
        play_prompt(parse(json!({"prompts": twenty})))
            .unwrap()
            .prompts
            .len(),
        20
    );
    let many: Vec<_> = (0..21).map(|_| prompt()).collect();
    assert_eq!(
        play_prompt(parse(json!({"prompts": many})))
            .unwrap_err()
            .to_string(),
        "prompts: got 21 prompts; allowed: 1 to 20 prompts"
    );
    assert_eq!(
        play_prompt(parse(json!({"prompts": []})))
            .unwrap_err()
            .value,
        "0 prompts"
    );
    assert_eq!(play_prompt(parse(json!({}))).unwrap_err().field, "prompts");
    let err = play_prompt(parse(json!({"prompts": [{"mediaInfo": {}}]}))).unwrap_err();
    assert_eq!(err.field, "prompts[0].mediaInfo.uri");
    let by_id = play_prompt(parse(
        json!({"prompts": [{"mediaInfo": {"resourceId": "welcome"}}]}),
    ))
    .unwrap();
    assert_eq!(by_id.prompts[0].resource_id.as_deref(), Some("welcome"));
}

#[test]
fn client_context_is_limited_to_256_characters() {
    let ok = "é".repeat(256);
    assert_eq!(client_context(Some(ok.clone())).unwrap(), Some(ok));
    let err = client_context(Some("x".repeat(257))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "clientContext: got 257 characters; allowed: at most 256 characters"
    );
    let err = play_prompt(parse(
        json!({"prompts": [prompt()], "clientContext": "y".repeat(300)}),
    ))
    .unwrap_err();
    assert_eq!(err.field, "clientContext");
}

#[test]
fn record_response_defaults_and_limits() {
    let record = record_response(parse(json!({}))).unwrap();
    assert_eq!(record.initial_silence_timeout, Duration::from_secs(5));
    assert_eq!(record.max_silence_timeout, Duration::from_secs(5));
    assert_eq!(record.max_record_duration, Duration::from_secs(5));
    assert!(record.play_beep, "the service default for playBeep is true");
    assert!(!record.barge_in_allowed);
    // The SDK's explicit false is honoured.
    assert!(
        !record_response(parse(json!({"playBeep": false})))
            .unwrap()
            .play_beep
    );
    for (field, ok_low, ok_high) in [
        ("initialSilenceTimeoutInSeconds", 1, 120),
        ("maxSilenceTimeoutInSeconds", 1, 120),
        ("maxRecordDurationInSeconds", 1, 120),
    ] {
        assert!(record_response(parse(json!({field: ok_low}))).is_ok());
        assert!(record_response(parse(json!({field: ok_high}))).is_ok());
        for bad in [0, 121, -5] {
            let err = record_response(parse(json!({field: bad}))).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{field}: got {bad}; allowed: 1 to 120 seconds")
            );
        }
    }
    let err = record_response(parse(json!({"prompts": [prompt(), prompt()]}))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "prompts: got 2 prompts; allowed: 0 to 1 prompts"
    );
    let keys = record_response(parse(json!({"stopTones": ["#", "1", "*", "d"]})))
        .unwrap()
        .stop_tones;
    assert_eq!(keys, vec![Digit::Pound, Digit::D1, Digit::Star, Digit::D]);
    let err = record_response(parse(json!({"stopTones": ["#", "12"]}))).unwrap_err();
    assert_eq!(err.field, "stopTones[1]");
    assert_eq!(err.value, "'12'");
}

#[test]
fn redirect_limits_and_defaults() {
    let one = redirect(parse(json!({"targets": [user("a")]}))).unwrap();
    assert_eq!(one.timeout, Duration::from_secs(55));
    let two = redirect(parse(json!({"targets": [user("a"), user("b")]}))).unwrap();
    assert_eq!(two.timeout, Duration::from_secs(60));
    assert_eq!(
        redirect(parse(json!({"targets": [user("a")], "timeout": 15})))
            .unwrap()
            .timeout,
        Duration::from_secs(15)
    );
    assert_eq!(
        redirect(parse(json!({"targets": [user("a")], "timeout": 90})))
            .unwrap()
            .timeout,
        Duration::from_secs(90)
    );
    for bad in [14, 91] {
        let err = redirect(parse(json!({"targets": [user("a")], "timeout": bad}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("timeout: got {bad}; allowed: 15 to 90 seconds")
        );
    }
    let many: Vec<_> = (0..25).map(|i| user(&i.to_string())).collect();
    assert!(redirect(parse(json!({"targets": many}))).is_ok());
    let too_many: Vec<_> = (0..26).map(|i| user(&i.to_string())).collect();
    assert_eq!(
        redirect(parse(json!({"targets": too_many})))
            .unwrap_err()
            .value,
        "26 targets"
    );
    assert_eq!(redirect(parse(json!({}))).unwrap_err().field, "targets");
}

#[test]
fn invite_limits_and_replaces_call_id() {
    let five: Vec<_> = (0..5).map(|i| user(&i.to_string())).collect();
    assert_eq!(
        invite(parse(json!({"participants": five})))
            .unwrap()
            .invitees
            .len(),
        5
    );
    let six: Vec<_> = (0..6).map(|i| user(&i.to_string())).collect();
    assert_eq!(
        invite(parse(json!({"participants": six})))
            .unwrap_err()
            .to_string(),
        "participants: got 6 participants; allowed: 1 to 5 participants"
    );
    let replacing = invite(parse(json!({"participants": [
        {"identity": {"user": {"id": "a"}}, "replacesCallId": "c1"}, user("b")
    ]})))
    .unwrap();
    assert_eq!(
        replacing.invitees.len(),
        1,
        "only the first invitee counts with replacesCallId"
    );
}

#[test]
fn transfer_and_reject_and_answer() {
    assert_eq!(
        transfer(parse(json!({}))).unwrap_err().field,
        "transferTarget"
    );
    let t = transfer(parse(
        json!({"transferTarget": {"identity": {"application": {"id": "app-c"}}}}),
    ))
    .unwrap();
    assert_eq!(t.target.party, Party::Application("app-c".into()));
    assert_eq!(reject(parse(json!({}))).unwrap().reason, RejectReason::None);
    assert_eq!(
        answer(parse(json!({"acceptedModalities": ["audio"]})))
            .unwrap_err()
            .field,
        "mediaConfig"
    );
    assert!(answer(parse(json!({"mediaConfig": {"@odata.type": SERVICE}}))).is_ok());
}

#[test]
fn dtmf_limits() {
    let ok = send_dtmf_tones(parse(
        json!({"tones": ["tone1", "tone2", "tone3", "pound"]}),
    ))
    .unwrap();
    assert_eq!(
        ok.tones,
        vec![Digit::D1, Digit::D2, Digit::D3, Digit::Pound]
    );
    assert_eq!(ok.delay_between_tones, Duration::from_millis(100));
    let err = send_dtmf_tones(parse(json!({"tones": ["tone1", "flash"]}))).unwrap_err();
    assert_eq!(err.field, "tones[1]");
    assert_eq!(
        send_dtmf_tones(parse(json!({"tones": []})))
            .unwrap_err()
            .value,
        "0 tones"
    );
    let err =
        send_dtmf_tones(parse(json!({"tones": ["a"], "delayBetweenTonesMs": 10}))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "delayBetweenTonesMs: got 10; allowed: 50 to 5000 milliseconds"
    );
}
