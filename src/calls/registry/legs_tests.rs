//! A leg's life through the registry: placed, answered and hung up; unknown to other apps; a
//! create refused without any callback; a target that cannot be rung.

use serde_json::json;

use crate::calls::endpoints::Reach;
use crate::calls::registry::test_support::{Harness, app, p2p_body, summary};
use crate::calls::registry::{CallError, Effects};
use crate::calls::validate;

#[test]
fn app_a_calls_app_b_which_answers_and_a_hangs_up() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (a, b) = h.a_calls_b(&mut fx);
    assert_eq!(
        summary(&fx),
        ["a Updated establishing", "b Created incoming"]
    );
    let incoming = &fx.notifications[1].notification.resource_data;
    assert_eq!(incoming["source"]["identity"]["application"]["id"], "a");
    assert_eq!(incoming["direction"], "incoming");
    assert_eq!(incoming["targets"][0]["identity"]["application"]["id"], "b");
    assert_ne!(a, b, "each app has its own call id");

    let mut fx = Effects::default();
    h.answer("b", &b, &mut fx);
    h.media_ready(&mut fx);
    assert_eq!(
        summary(&fx),
        [
            "b Updated establishing",
            "b Updated established",
            "a Updated established"
        ]
    );
    let a_view = h.registry.call("a", a.as_str()).unwrap().view();
    let b_view = h.registry.call("b", b.as_str()).unwrap().view();
    assert_eq!(
        a_view.call_chain_id, b_view.call_chain_id,
        "both legs share one conversation"
    );
    assert_eq!(h.registry.participants("a", a.as_str()).unwrap().len(), 2);

    let mut fx = Effects::default();
    h.registry.hang_up("a", a.as_str(), &mut fx).unwrap();
    assert_eq!(
        summary(&fx),
        [
            "a Updated terminating",
            "a Deleted terminated 200/5001",
            "b Deleted terminated 200/4521"
        ]
    );
    assert!(h.registry.is_empty());
    assert!(h.registry.conversations.is_empty());
    assert!(matches!(
        h.registry.call("a", a.as_str()),
        Err(CallError::NotFound { .. })
    ));
}

#[test]
fn other_apps_calls_are_not_found() {
    let mut h = Harness::new();
    let (a, _) = h.established_pair();
    let err = h.registry.call("b", a.as_str()).unwrap_err();
    assert_eq!(err.to_string(), format!("call '{a}' was not found"));
    assert!(
        h.registry
            .hang_up("b", a.as_str(), &mut Effects::default())
            .is_err()
    );
    assert_eq!(h.registry.calls_of("a").len(), 1);
}

#[test]
fn create_without_any_callback_is_refused() {
    let mut h = Harness::new();
    let mut owner = app("a");
    owner.calling_webhook = None;
    let request = validate::create_call(serde_json::from_value(p2p_body("b")).unwrap()).unwrap();
    let err = h.registry.create_call(
        owner,
        request,
        vec![Reach::App(app("b"))],
        None,
        h.now,
        &mut Effects::default(),
    );
    assert!(matches!(err, Err(CallError::Invalid(ref f)) if f.field == "callbackUri"));
}

#[test]
fn user_without_endpoints_ends_with_no_callee_endpoints() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = json!({"mediaConfig": {}, "targets": [{"identity": {"user": {"id": "u1"}}}]});
    h.create(
        "a",
        body,
        vec![Reach::User {
            user_id: "u1".into(),
            endpoints: vec![],
        }],
        &mut fx,
    );
    assert_eq!(
        summary(&fx),
        ["a Updated establishing", "a Deleted terminated 480/10037"]
    );
    let message = fx.notifications[1].notification.resource_data["resultInfo"]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("user 'u1' has no signed-in endpoint"),
        "{message}"
    );
}
