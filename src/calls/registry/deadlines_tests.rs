//! Deadlines falling due: the 15-second answer window and the 45-minute keepAlive window.

use std::time::Duration;

use serde_json::json;

use crate::calls::registry::test_support::{Harness, summary};
use crate::calls::registry::{CallError, Effects};
use crate::calls::validate;

#[test]
fn unanswered_incoming_call_times_out_after_15_seconds() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (_, b) = h.a_calls_b(&mut fx);
    let mut fx = Effects::default();
    h.advance(Duration::from_millis(14_999), &mut fx);
    assert!(fx.notifications.is_empty());
    h.advance(Duration::from_millis(1), &mut fx);
    assert_eq!(
        summary(&fx),
        [
            "b Deleted terminated 408/1106",
            "a Deleted terminated 408/10057"
        ]
    );
    let err = h.registry.answer(
        "b",
        b.as_str(),
        validate::answer(serde_json::from_value(json!({"mediaConfig": {}})).unwrap()).unwrap(),
        &mut fx,
    );
    assert!(matches!(err, Err(CallError::NotFound { .. })));
}

#[test]
fn keep_alive_resets_the_45_minute_window() {
    let mut h = Harness::new();
    let (a, _) = h.established_pair();
    let mut fx = Effects::default();
    h.advance(Duration::from_secs(44 * 60), &mut fx);
    h.registry.keep_alive("a", a.as_str(), h.now).unwrap();
    h.advance(Duration::from_secs(2 * 60), &mut fx);
    // B never sent keepAlive: its leg ends, and A's with it (P2P).
    assert_eq!(
        summary(&fx),
        [
            "b Deleted terminated 408/8537",
            "a Deleted terminated 200/4521"
        ]
    );
    assert!(
        h.registry.keep_alive("a", a.as_str(), h.now).is_err(),
        "keepAlive on an ended call is 404"
    );
}
