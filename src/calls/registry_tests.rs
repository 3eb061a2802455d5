//! The registry driven through whole call flows without sockets: two apps calling each other,
//! rejects, timeouts, redirects, transfers, group calls, meetings and media events.

use std::time::{Duration, Instant};

use serde_json::json;

use super::call::{AppRef, CallTimers};
use super::ids::CallId;
use super::media::MediaCommand;
use super::registry::*;
use super::state::CallState;
use crate::calls::endpoints::Reach;
use crate::calls::media::MediaEvent;
use crate::calls::validate;
use crate::graph::ChangeType;

pub(super) fn app(id: &str) -> AppRef {
    AppRef {
        app_id: id.into(),
        tenant_id: "tenant".into(),
        display_name: Some(format!("Bot {id}")),
        calling_webhook: Some(format!("http://hooks/{id}")),
    }
}

/// One line per notification: app, change type, path after the call id, state, code/subcode.
pub(super) fn summary(fx: &Effects) -> Vec<String> {
    fx.notifications
        .iter()
        .map(|n| {
            let data = &n.notification.resource_data;
            let after_call = n
                .notification
                .resource_url
                .splitn(5, '/')
                .nth(4)
                .unwrap_or("");
            let suffix = after_call
                .split('/')
                .next()
                .filter(|s| !s.is_empty())
                .map(|s| format!("/{s}"))
                .unwrap_or_default();
            let mut line = format!("{} {:?}{}", n.app_id, n.notification.change_type, suffix);
            if let Some(state) = data.get("state").and_then(|s| s.as_str()) {
                line.push_str(&format!(" {state}"));
            }
            if let Some(result) = data.get("resultInfo") {
                line.push_str(&format!(" {}/{}", result["code"], result["subcode"]));
            }
            if let Some(status) = data.get("status").and_then(|s| s.as_str()) {
                line.push_str(&format!(" {status}"));
            }
            line
        })
        .collect()
}

pub(super) struct Harness {
    pub(super) registry: CallRegistry,
    pub(super) now: Instant,
}

impl Harness {
    pub(super) fn new() -> Harness {
        Harness {
            registry: CallRegistry::new(CallTimers::default()),
            now: Instant::now(),
        }
    }

    pub(super) fn create(
        &mut self,
        owner: &str,
        body: serde_json::Value,
        reach: Vec<Reach>,
        fx: &mut Effects,
    ) -> CallId {
        let request = validate::create_call(serde_json::from_value(body).unwrap()).unwrap();
        self.registry
            .create_call(app(owner), request, reach, None, self.now, fx)
            .unwrap()
    }

    /// A calls B; returns (A's call, B's call) with B's call still incoming.
    pub(super) fn a_calls_b(&mut self, fx: &mut Effects) -> (CallId, CallId) {
        let a = self.create("a", p2p_body("b"), vec![Reach::App(app("b"))], fx);
        let b = incoming_call_id(fx, "b");
        (a, b)
    }

    pub(super) fn answer(&mut self, owner: &str, call: &CallId, fx: &mut Effects) {
        let request =
            validate::answer(serde_json::from_value(json!({"mediaConfig": {}})).unwrap()).unwrap();
        self.registry
            .answer(owner, call.as_str(), request, fx)
            .unwrap();
    }

    /// Delivers the media plane's `LegReady` for every `OpenLeg` in `fx`.
    pub(super) fn media_ready(&mut self, fx: &mut Effects) {
        let opened: Vec<_> = fx
            .media
            .iter()
            .filter_map(|c| match c {
                MediaCommand::OpenLeg { call, .. } => Some(call.clone()),
                _ => None,
            })
            .collect();
        for call in opened {
            self.registry
                .on_media_event(MediaEvent::LegReady { call }, fx);
        }
    }

    pub(super) fn advance(&mut self, by: Duration, fx: &mut Effects) {
        self.now += by;
        self.registry.fire_due(self.now, fx);
    }

    pub(super) fn established_pair(&mut self) -> (CallId, CallId) {
        let mut fx = Effects::default();
        let (a, b) = self.a_calls_b(&mut fx);
        self.answer("b", &b, &mut fx);
        self.media_ready(&mut fx);
        assert_eq!(self.registry.calls[&a].state, CallState::Established);
        assert_eq!(self.registry.calls[&b].state, CallState::Established);
        (a, b)
    }
}

pub(super) fn p2p_body(target_app: &str) -> serde_json::Value {
    json!({"mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
           "targets": [{"identity": {"application": {"id": target_app}}}]})
}

pub(super) fn incoming_call_id(fx: &Effects, app_id: &str) -> CallId {
    let n = fx
        .notifications
        .iter()
        .rev()
        .find(|n| n.app_id == app_id && n.notification.change_type == ChangeType::Created)
        .expect("an incoming call notification");
    CallId::from(n.notification.resource_data["id"].as_str().unwrap())
}

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

#[test]
fn signed_in_user_is_rung_and_joins_on_answer() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = json!({"mediaConfig": {}, "targets": [{"identity": {"user": {"id": "u1"}}}]});
    let a = h.create(
        "a",
        body,
        vec![Reach::User {
            user_id: "u1".into(),
            endpoints: vec!["phone-1".into()],
        }],
        &mut fx,
    );
    assert_eq!(fx.rings.len(), 1);
    let ring = fx.rings[0].clone();
    assert_eq!(
        ring.caller
            .identity
            .as_ref()
            .unwrap()
            .application
            .as_ref()
            .unwrap()
            .id
            .as_deref(),
        Some("a")
    );
    let mut fx = Effects::default();
    h.registry
        .user_answered(&ring.conversation, &ring.participant, &mut fx);
    h.media_ready(&mut fx);
    assert_eq!(summary(&fx), ["a Updated established"]);
    let mut fx = Effects::default();
    h.registry
        .user_hung_up(&ring.conversation, &ring.participant, &mut fx);
    assert_eq!(summary(&fx), ["a Deleted terminated 200/4521"]);
    assert!(h.registry.call("a", a.as_str()).is_err());
}

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
