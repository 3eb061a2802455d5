//! The app's answer to an incoming call (reject, redirect and its timeout), refusals in the
//! wrong state, and hanging up a call that was never answered.

use std::time::Duration;

use serde_json::json;

use crate::calls::endpoints::Reach;
use crate::calls::registry::test_support::{Harness, app, incoming_call_id, summary};
use crate::calls::registry::{CallError, Effects};
use crate::calls::validate;

#[test]
fn reject_ends_both_legs_with_documented_codes() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (_, b) = h.a_calls_b(&mut fx);
    let mut fx = Effects::default();
    let request =
        validate::reject(serde_json::from_value(json!({"reason": "busy"})).unwrap()).unwrap();
    h.registry
        .reject("b", b.as_str(), request, &mut fx)
        .unwrap();
    assert_eq!(
        summary(&fx),
        [
            "b Deleted terminated 200/7000",
            "a Deleted terminated 480/10076"
        ]
    );
    let message = fx.notifications[1].notification.resource_data["resultInfo"]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("reason busy"), "{message}");
    assert!(h.registry.is_empty());
}

#[test]
fn illegal_requests_are_refused_with_the_state() {
    let mut h = Harness::new();
    let (a, b) = h.established_pair();
    let mut fx = Effects::default();
    let answer =
        validate::answer(serde_json::from_value(json!({"mediaConfig": {}})).unwrap()).unwrap();
    let err = h
        .registry
        .answer("b", b.as_str(), answer, &mut fx)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "answer is not allowed while the call is established; allowed while the call is incoming"
    );
    let reject = validate::reject(serde_json::from_value(json!({})).unwrap()).unwrap();
    assert!(matches!(
        h.registry.reject("a", a.as_str(), reject, &mut fx),
        Err(CallError::Illegal(_))
    ));
    assert!(fx.notifications.is_empty());
}

#[test]
fn redirect_rings_the_new_target_and_ends_the_redirecting_leg() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (a, b) = h.a_calls_b(&mut fx);
    let mut fx = Effects::default();
    let request = validate::redirect(
        serde_json::from_value(
            json!({"targets": [{"identity": {"application": {"id": "c"}}}], "timeout": 20}),
        )
        .unwrap(),
    )
    .unwrap();
    h.registry
        .redirect(
            "b",
            b.as_str(),
            request,
            vec![Reach::App(app("c"))],
            h.now,
            &mut fx,
        )
        .unwrap();
    assert_eq!(
        summary(&fx),
        [
            "b Updated redirecting",
            "c Created incoming",
            "b Deleted terminated 200/7000"
        ]
    );
    let c = incoming_call_id(&fx, "c");
    assert_eq!(
        fx.notifications[1].notification.resource_data["source"]["identity"]["application"]["id"],
        "a"
    );
    let mut fx = Effects::default();
    h.answer("c", &c, &mut fx);
    h.media_ready(&mut fx);
    assert_eq!(
        summary(&fx),
        [
            "c Updated establishing",
            "c Updated established",
            "a Updated established"
        ]
    );
    assert_eq!(h.registry.calls[&a].deadlines.ring, None);
}

#[test]
fn redirect_timeout_ends_the_caller_when_nobody_answers() {
    let mut h = Harness::new();
    h.registry.timers.answer_window = Duration::from_secs(60);
    let mut fx = Effects::default();
    let (_, b) = h.a_calls_b(&mut fx);
    let request = validate::redirect(
        serde_json::from_value(
            json!({"targets": [{"identity": {"application": {"id": "c"}}}], "timeout": 15}),
        )
        .unwrap(),
    )
    .unwrap();
    h.registry
        .redirect(
            "b",
            b.as_str(),
            request,
            vec![Reach::App(app("c"))],
            h.now,
            &mut fx,
        )
        .unwrap();
    let mut fx = Effects::default();
    h.advance(Duration::from_secs(15), &mut fx);
    assert_eq!(
        summary(&fx),
        [
            "a Deleted terminated 408/10057",
            "c Deleted terminated 200/4521"
        ]
    );
}

#[test]
fn hanging_up_an_unanswered_incoming_call_declines_it() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (_, b) = h.a_calls_b(&mut fx);
    let mut fx = Effects::default();
    h.registry.hang_up("b", b.as_str(), &mut fx).unwrap();
    assert_eq!(
        summary(&fx),
        [
            "b Updated terminating",
            "b Deleted terminated 200/5001",
            "a Deleted terminated 480/10076"
        ]
    );
}
