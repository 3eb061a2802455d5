//! Conversation rules in a group call: every target rung, rosters on each change, and the call
//! ending for the one left (or for the creator when nobody joins).

use serde_json::json;

use crate::calls::endpoints::Reach;
use crate::calls::registry::Effects;
use crate::calls::registry::test_support::{Harness, app, incoming_call_id, summary};
use crate::calls::result_codes::ResultCode;
use crate::calls::validate;
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
