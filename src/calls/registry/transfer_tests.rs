//! Transfers: completed when the target joins, failed when it rejects or never answers.

use std::time::Duration;

use serde_json::json;

use crate::calls::endpoints::Reach;
use crate::calls::registry::Effects;
use crate::calls::registry::test_support::{Harness, app, incoming_call_id, summary};
use crate::calls::state::CallState;
use crate::calls::validate;

#[test]
fn transfer_reports_transferring_accepted_and_completed() {
    let mut h = Harness::new();
    let (a, b) = h.established_pair();
    let mut fx = Effects::default();
    let request = validate::transfer(
        serde_json::from_value(
            json!({"transferTarget": {"identity": {"application": {"id": "c"}}}}),
        )
        .unwrap(),
    )
    .unwrap();
    h.registry
        .transfer(
            "a",
            a.as_str(),
            request,
            Reach::App(app("c")),
            h.now,
            &mut fx,
        )
        .unwrap();
    assert_eq!(
        summary(&fx),
        ["a Updated transferring", "c Created incoming"]
    );
    assert_eq!(
        fx.notifications[1].notification.resource_data["source"]["identity"]["application"]["id"],
        "b",
        "the transfer target is called by the transferee"
    );
    let c = incoming_call_id(&fx, "c");
    let mut fx = Effects::default();
    h.answer("c", &c, &mut fx);
    h.media_ready(&mut fx);
    assert_eq!(
        summary(&fx),
        [
            "c Updated establishing",
            "a Updated transferAccepted",
            "a Deleted terminated 200/7015",
            "c Updated established"
        ]
    );
    assert_eq!(
        h.registry.calls[&b].state,
        CallState::Established,
        "the transferee stays connected"
    );
    let roster = h.registry.participants("b", b.as_str()).unwrap();
    assert_eq!(roster.len(), 2);
}

#[test]
fn failed_transfer_returns_to_established_with_500_7000() {
    let mut h = Harness::new();
    let (a, _) = h.established_pair();
    let mut fx = Effects::default();
    let request = validate::transfer(
        serde_json::from_value(
            json!({"transferTarget": {"identity": {"application": {"id": "c"}}}}),
        )
        .unwrap(),
    )
    .unwrap();
    h.registry
        .transfer(
            "a",
            a.as_str(),
            request,
            Reach::App(app("c")),
            h.now,
            &mut fx,
        )
        .unwrap();
    let c = incoming_call_id(&fx, "c");
    let mut fx = Effects::default();
    let reject =
        validate::reject(serde_json::from_value(json!({"reason": "busy"})).unwrap()).unwrap();
    h.registry.reject("c", c.as_str(), reject, &mut fx).unwrap();
    assert_eq!(
        summary(&fx),
        [
            "c Deleted terminated 200/7000",
            "a Updated established 500/7000"
        ]
    );
    // A timed-out transfer reports the same way.
    let request = validate::transfer(
        serde_json::from_value(json!({"transferTarget": {"identity": {"user": {"id": "u"}}}}))
            .unwrap(),
    )
    .unwrap();
    let mut fx = Effects::default();
    let reach = Reach::User {
        user_id: "u".into(),
        endpoints: vec!["e".into()],
    };
    h.registry
        .transfer("a", a.as_str(), request, reach, h.now, &mut fx)
        .unwrap();
    h.advance(Duration::from_secs(60), &mut fx);
    assert_eq!(
        summary(&fx),
        ["a Updated transferring", "a Updated established 500/7000"]
    );
}
