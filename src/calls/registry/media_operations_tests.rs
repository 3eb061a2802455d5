//! Media operations: started by the app, finished by the media plane's report (once), tones
//! naming who pressed them; refused until the call is answered with service-hosted media.

use serde_json::json;
use switchboard_media::dtmf::Digit;

use crate::calls::ids::CallId;
use crate::calls::media::{MediaCommand, MediaEvent, OperationOutcome, Recording};
use crate::calls::registry::Effects;
use crate::calls::registry::test_support::{Harness, summary};
use crate::calls::result_codes::ResultCode;
use crate::calls::validate;
use crate::graph::OperationStatus;

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
    let request = validate::answer(
        serde_json::from_value(json!({"mediaConfig": {"blob": r#"{"url": "ws://bot.test/m"}"#}}))
            .unwrap(),
    )
    .unwrap();
    h.registry
        .answer("b", b.as_str(), request, &mut fx)
        .unwrap();
    let play = validate::play_prompt(
        serde_json::from_value(json!({"prompts": [{"mediaInfo": {"uri": "https://x/a.wav"}}]}))
            .unwrap(),
    )
    .unwrap();
    let refused = h
        .registry
        .play_prompt("b", b.as_str(), play, &mut Effects::default())
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("needs a call with serviceHostedMediaConfig"),
        "{refused}"
    );
    // Keys are Switchboard's to detect whoever hosts the media.
    assert!(
        h.registry
            .subscribe_to_tone("b", b.as_str(), None, &mut Effects::default())
            .is_ok()
    );
}
