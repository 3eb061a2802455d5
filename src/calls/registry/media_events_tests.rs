//! Media-plane reports without an app request: speaking changes reaching a group roster.

use serde_json::json;

use crate::calls::endpoints::Reach;
use crate::calls::media::MediaEvent;
use crate::calls::registry::Effects;
use crate::calls::registry::test_support::{Harness, app, incoming_call_id, summary};

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
