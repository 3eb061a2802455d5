//! Registry flows with more than two parties and with media: group calls, invites, meetings,
//! media operations and tones.

use serde_json::json;
use switchboard_media::dtmf::Digit;

use super::endpoints::Reach;
use super::ids::CallId;
use super::media::{MediaCommand, MediaEvent, OperationOutcome, Recording};
use super::registry::*;
use super::registry_tests::{Harness, app, incoming_call_id, summary};
use super::result_codes::ResultCode;
use super::validate;
use crate::graph::OperationStatus;

#[test]
fn group_call_rings_every_target_and_sends_rosters() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = json!({"mediaConfig": {}, "targets": [
        {"identity": {"application": {"id": "b"}}}, {"identity": {"application": {"id": "c"}}}]});
    let a = h.create(
        "a",
        body,
        vec![Reach::App(app("b")), Reach::App(app("c"))],
        &mut fx,
    );
    h.media_ready(&mut fx);
    assert_eq!(
        summary(&fx),
        [
            "a Updated establishing",
            "a Updated/participants",
            "b Created incoming",
            "c Created incoming",
            "a Updated established"
        ]
    );
    let b = incoming_call_id(&fx, "b");
    let c = incoming_call_id(&fx, "c");
    let mut fx = Effects::default();
    h.answer("b", &b, &mut fx);
    assert!(summary(&fx).contains(&"a Updated/participants".to_owned()));
    let reject = validate::reject(serde_json::from_value(json!({})).unwrap()).unwrap();
    h.registry.reject("c", c.as_str(), reject, &mut fx).unwrap();
    assert_eq!(h.registry.participants("a", a.as_str()).unwrap().len(), 2);
    // Server mute of B: roster update to both apps with B muted.
    let mut fx = Effects::default();
    let b_participant = h.registry.calls[&b].participant.to_string();
    let op = h
        .registry
        .mute_participant("a", a.as_str(), &b_participant, None, &mut fx)
        .unwrap();
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(
        summary(&fx),
        ["a Updated/participants", "b Updated/participants"]
    );
    let muted = h
        .registry
        .participant("b", b.as_str(), &b_participant)
        .unwrap();
    assert!(muted.is_muted && muted.media_streams[0].server_muted);
    // The creator leaves; B is alone in the group call and it ends.
    let mut fx = Effects::default();
    h.registry.hang_up("a", a.as_str(), &mut fx).unwrap();
    assert_eq!(
        summary(&fx),
        [
            "a Updated terminating",
            "a Deleted terminated 200/5001",
            "b Updated/participants",
            "b Deleted terminated 200/5002"
        ]
    );
}

#[test]
fn group_call_nobody_joins() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = json!({"mediaConfig": {}, "targets": [
        {"identity": {"user": {"id": "u1"}}}, {"identity": {"phone": {"id": "+1555"}}}]});
    let unreachable = Reach::Unreachable {
        code: ResultCode::CannotRoute,
        detail: "no PSTN".into(),
    };
    h.create(
        "a",
        body,
        vec![
            Reach::User {
                user_id: "u1".into(),
                endpoints: vec![],
            },
            unreachable,
        ],
        &mut fx,
    );
    assert_eq!(
        summary(&fx).last().unwrap(),
        "a Deleted terminated 200/5013"
    );
}

#[test]
fn invite_completes_when_the_invitee_joins() {
    let mut h = Harness::new();
    let (a, _) = h.established_pair();
    let mut fx = Effects::default();
    let request = validate::invite(
        serde_json::from_value(json!({"participants": [{"identity": {"application": {"id": "c"}}}], "clientContext": "x"}))
            .unwrap(),
    )
    .unwrap();
    let op = h
        .registry
        .invite(
            "a",
            a.as_str(),
            request,
            vec![Reach::App(app("c"))],
            h.now,
            &mut fx,
        )
        .unwrap();
    assert_eq!(op.status, OperationStatus::Running);
    assert_eq!(op.participants.as_ref().unwrap().len(), 1);
    let c = incoming_call_id(&fx, "c");
    let mut fx = Effects::default();
    h.answer("c", &c, &mut fx);
    let lines = summary(&fx);
    assert!(
        lines.contains(&"a Deleted/operations 200/0 completed".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"a Updated/participants".to_owned()),
        "{lines:?}"
    );
    let stored = h
        .registry
        .operation("a", a.as_str(), op.id.as_deref().unwrap())
        .unwrap();
    assert_eq!(stored.status, OperationStatus::Completed);
    assert_eq!(stored.client_context.as_deref(), Some("x"));
    assert_eq!(h.registry.participants("a", a.as_str()).unwrap().len(), 3);
}

#[test]
fn media_operations_finish_by_notification_and_tones_name_the_presser() {
    let mut h = Harness::new();
    let (a, b) = h.established_pair();
    let mut fx = Effects::default();
    let prompt = validate::play_prompt(
        serde_json::from_value(
            json!({"prompts": [{"mediaInfo": {"uri": "http://p/a.wav"}}], "clientContext": "c1"}),
        )
        .unwrap(),
    )
    .unwrap();
    let op = h
        .registry
        .play_prompt("a", a.as_str(), prompt, &mut fx)
        .unwrap();
    assert_eq!(op.status, OperationStatus::Running);
    assert!(
        matches!(fx.media.last(), Some(MediaCommand::PlayPrompts { prompts, .. }) if prompts.len() == 1)
    );
    let record = validate::record_response(
        serde_json::from_value(json!({"maxRecordDurationInSeconds": 10})).unwrap(),
    )
    .unwrap();
    let rec = h
        .registry
        .record_response("b", b.as_str(), record, &mut fx)
        .unwrap();
    let sub = h
        .registry
        .subscribe_to_tone("b", b.as_str(), Some("t".into()), &mut fx)
        .unwrap();
    assert_eq!(sub.status, OperationStatus::Completed);

    let mut fx = Effects::default();
    let a_participant = h.registry.calls[&a].participant.clone();
    h.registry.on_media_event(
        MediaEvent::ToneDetected {
            call: b.clone(),
            tone: Digit::Pound,
            participant: Some(a_participant.clone()),
        },
        &mut fx,
    );
    h.registry.on_media_event(
        MediaEvent::OperationFinished {
            call: b.clone(),
            operation: rec.id.as_deref().unwrap().into(),
            outcome: OperationOutcome {
                result: ResultCode::RecordMaxDuration,
                detail: None,
                recording: Some(Recording {
                    location: "http://h/rec/1".into(),
                    access_token: "tok".into(),
                }),
            },
        },
        &mut fx,
    );
    h.registry.on_media_event(
        MediaEvent::OperationFinished {
            call: a.clone(),
            operation: op.id.as_deref().unwrap().into(),
            outcome: OperationOutcome {
                result: ResultCode::OperationCompleted,
                detail: None,
                recording: None,
            },
        },
        &mut fx,
    );
    assert_eq!(
        summary(&fx),
        [
            "b Updated established",
            "b Deleted/operations 200/8515 completed",
            "a Deleted/operations 200/0 completed"
        ]
    );
    let tone = &fx.notifications[0].notification.resource_data["toneInfo"];
    assert_eq!(tone["tone"], "pound");
    assert_eq!(tone["sequenceId"], 1);
    assert_eq!(tone["participantId"], a_participant.as_str());
    assert_eq!(
        fx.notifications[1].notification.resource_data["recordingAccessToken"],
        "tok"
    );
    // A late duplicate result changes nothing.
    let mut fx = Effects::default();
    h.registry.on_media_event(
        MediaEvent::OperationFinished {
            call: a.clone(),
            operation: op.id.as_deref().unwrap().into(),
            outcome: OperationOutcome {
                result: ResultCode::OperationCanceled,
                detail: None,
                recording: None,
            },
        },
        &mut fx,
    );
    assert!(fx.notifications.is_empty());
}

#[test]
fn media_requests_need_an_answered_service_hosted_call() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (a, b) = h.a_calls_b(&mut fx);
    let sub = |h: &mut Harness, app: &str, call: &CallId| {
        h.registry
            .subscribe_to_tone(app, call.as_str(), None, &mut Effects::default())
            .unwrap_err()
            .to_string()
    };
    assert!(
        sub(&mut h, "b", &b)
            .starts_with("subscribeToTone is not allowed while the call is incoming")
    );
    assert!(sub(&mut h, "a", &a).contains("until the call's media is connected"));
    let request =
        validate::answer(serde_json::from_value(json!({"mediaConfig": {"blob": "x"}})).unwrap())
            .unwrap();
    h.registry
        .answer("b", b.as_str(), request, &mut fx)
        .unwrap();
    assert!(sub(&mut h, "b", &b).contains("needs a call with serviceHostedMediaConfig"));
}

#[test]
fn meeting_joins_share_one_conversation() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = || {
        validate::create_call(
            serde_json::from_value(
                json!({"mediaConfig": {}, "meetingInfo": {"joinMeetingId": "123"}}),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let a = h
        .registry
        .create_call(app("a"), body(), vec![], Some("m1".into()), h.now, &mut fx)
        .unwrap();
    let b = h
        .registry
        .create_call(app("b"), body(), vec![], Some("m1".into()), h.now, &mut fx)
        .unwrap();
    h.media_ready(&mut fx);
    assert_eq!(
        h.registry.calls[&a].conversation,
        h.registry.calls[&b].conversation
    );
    assert_eq!(h.registry.participants("a", a.as_str()).unwrap().len(), 2);
    let mut fx = Effects::default();
    h.registry.hang_up("a", a.as_str(), &mut fx).unwrap();
    assert_eq!(
        summary(&fx),
        [
            "a Updated terminating",
            "a Deleted terminated 200/5001",
            "b Updated/participants"
        ]
    );
    h.registry.hang_up("b", b.as_str(), &mut fx).unwrap();
    assert!(h.registry.meetings.is_empty() && h.registry.conversations.is_empty());
    let err = h
        .registry
        .create_call(app("a"), body(), vec![], None, h.now, &mut fx)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "meetingInfo: got nothing; allowed: the joinMeetingId, organizer or chatInfo of an existing meeting"
    );
}

#[test]
fn speaking_changes_reach_the_group_roster_once_each() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = json!({"mediaConfig": {}, "targets": [
        {"identity": {"application": {"id": "b"}}}, {"identity": {"application": {"id": "c"}}}]});
    let a = h.create(
        "a",
        body,
        vec![Reach::App(app("b")), Reach::App(app("c"))],
        &mut fx,
    );
    h.media_ready(&mut fx);
    let b = incoming_call_id(&fx, "b");
    h.answer("b", &b, &mut fx);
    let conversation = h.registry.calls[&b].conversation.clone();
    let b_participant = h.registry.calls[&b].participant.clone();
    let read = |h: &Harness| {
        h.registry
            .participant("a", a.as_str(), b_participant.as_str())
            .unwrap()
            .is_speaking
    };
    assert_eq!(read(&h), None, "not measured yet");
    let speaking = |speaking| MediaEvent::SpeakingChanged {
        conversation: conversation.clone(),
        participant: b_participant.clone(),
        speaking,
    };
    let mut fx = Effects::default();
    h.registry.on_media_event(speaking(true), &mut fx);
    assert_eq!(
        summary(&fx),
        ["a Updated/participants", "b Updated/participants"]
    );
    assert_eq!(read(&h), Some(true));
    // The same state again is no change; the other state is.
    let mut fx = Effects::default();
    h.registry.on_media_event(speaking(true), &mut fx);
    assert!(summary(&fx).is_empty(), "{:?}", summary(&fx));
    h.registry.on_media_event(speaking(false), &mut fx);
    assert_eq!(
        summary(&fx),
        ["a Updated/participants", "b Updated/participants"]
    );
    assert_eq!(read(&h), Some(false));
    // A participant not in the roster changes nothing.
    let mut fx = Effects::default();
    h.registry.on_media_event(
        MediaEvent::SpeakingChanged {
            conversation: conversation.clone(),
            participant: "nobody".into(),
            speaking: true,
        },
        &mut fx,
    );
    assert!(summary(&fx).is_empty());
}
