//! What the registry's tests share: apps and users to call with, a harness that drives the
//! registry through call flows without sockets (its clock moved by hand), and a one-line summary
//! per notification to assert whole flows at once.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{CallRegistry, Effects};
use crate::calls::call::{AppRef, CallTimers};
use crate::calls::endpoints::Reach;
use crate::calls::ids::CallId;
use crate::calls::media::{MediaCommand, MediaEvent};
use crate::calls::state::CallState;
use crate::calls::validate;
use crate::graph::{ChangeType, IdentitySet, ParticipantInfo};

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

/// A signed-in user as a participant, with a display name.
pub(super) fn user(id: &str) -> ParticipantInfo {
    ParticipantInfo::new(IdentitySet::user(id, Some(format!("User {id}"))))
}
