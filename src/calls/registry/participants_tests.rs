//! Participant requests: inviting into a call, and removing a participant (then shutdown).

use serde_json::json;

use crate::calls::endpoints::Reach;
use crate::calls::registry::Effects;
use crate::calls::registry::test_support::{Harness, app, incoming_call_id, summary};
use crate::calls::validate;
use crate::graph::OperationStatus;

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
fn removing_a_participant_and_shutdown() {
    let mut h = Harness::new();
    let (a, b) = h.established_pair();
    let mut fx = Effects::default();
    let b_participant = h.registry.calls[&b].participant.to_string();
    h.registry
        .remove_participant("a", a.as_str(), &b_participant, &mut fx)
        .unwrap();
    assert_eq!(
        summary(&fx),
        [
            "b Deleted terminated 200/5000",
            "a Deleted terminated 200/4521"
        ]
    );
    let (c, _) = h.established_pair();
    let mut fx = Effects::default();
    h.registry.end_all(&mut fx);
    assert_eq!(summary(&fx).len(), 2);
    assert!(summary(&fx).iter().all(|l| l.ends_with("200/5003")));
    assert!(h.registry.call("a", c.as_str()).is_err());
}
