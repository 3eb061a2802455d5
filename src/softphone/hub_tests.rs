//! The softphone hub with the call service and a stand-in media plane, in paused tokio time: a
//! bot rings a signed-in page that never answers, and a page whose media vanishes mid-call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::media::{BoxFuture, BrowserAnswer, BrowserMedia};
use super::protocol::{PageCallState, ServerMessage};
use super::sign_in::SignedInUser;
use super::*;
use crate::calls::call::{AppRef, CallTimers};
use crate::calls::endpoints::{EndpointRegistry, Reach};
use crate::calls::ids::CallId;
use crate::calls::media::signalling_only::SignallingOnlyMedia;
use crate::calls::notify::Outbound;
use crate::calls::runtime::{CallService, NotificationSink};
use crate::calls::validate;
use crate::media_plane::{WebRtcLeg, WebRtcOfferError};
use crate::webrtc::EdgeError;

const RING: Duration = Duration::from_secs(3);

/// Notifications as `app changeType state code/subcode` lines.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl NotificationSink for Recorder {
    fn deliver(&self, outbound: Outbound) {
        let data = &outbound.notification.resource_data;
        let mut line = format!(
            "{} {:?}",
            outbound.app_id, outbound.notification.change_type
        );
        if let Some(state) = data.get("state").and_then(|s| s.as_str()) {
            line.push_str(&format!(" {state}"));
        }
        if let Some(result) = data.get("resultInfo") {
            line.push_str(&format!(" {}/{}", result["code"], result["subcode"]));
        }
        self.0.lock().unwrap().push(line);
    }
}

/// Answers every offer with `answer`, and lets the test end the page's media.
#[derive(Default)]
struct StandInMedia {
    vanish: Mutex<Vec<oneshot::Sender<String>>>,
    closed: Mutex<Vec<CallId>>,
}

impl BrowserMedia for StandInMedia {
    fn accept_offer(
        &self,
        _leg: WebRtcLeg,
        offer_sdp: String,
    ) -> BoxFuture<'_, Result<BrowserAnswer, WebRtcOfferError>> {
        let (vanish, vanished) = oneshot::channel();
        self.vanish.lock().unwrap().push(vanish);
        Box::pin(async move {
            if offer_sdp != "offer" {
                return Err(WebRtcOfferError::Offer(EdgeError::InvalidSdp {
                    kind: "offer",
                    reason: format!("not an offer: {offer_sdp}"),
                }));
            }
            Ok(BrowserAnswer {
                sdp: "answer".into(),
                gone: Box::pin(async move { vanished.await.ok() }),
            })
        })
    }

    fn close(&self, call: &CallId) {
        self.closed.lock().unwrap().push(call.clone());
    }
}

struct Setup {
    softphone: Softphone,
    calls: CallService,
    media: Arc<StandInMedia>,
    recorder: Arc<Recorder>,
    endpoint: String,
    page: mpsc::Receiver<ServerMessage>,
}

fn setup() -> Setup {
    let media = Arc::new(StandInMedia::default());
    let recorder = Arc::new(Recorder::default());
    let timers = CallTimers {
        user_ring_window: RING,
        ..CallTimers::default()
    };
    let (signals, signal_receiver) = super::signals();
    let (plane, events) = SignallingOnlyMedia::plane();
    let calls = CallService::start(
        timers,
        plane,
        events,
        recorder.clone(),
        Arc::new(signals),
        Arc::new(crate::calls::journal::NoJournal),
    );
    let softphone = Softphone::start(RING, media.clone(), calls.clone(), signal_receiver);
    let (endpoint, page) = softphone.register(&SignedInUser {
        id: "u".into(),
        display_name: "U".into(),
        tenant_id: "t".into(),
    });
    Setup {
        softphone,
        calls,
        media,
        recorder,
        endpoint,
        page,
    }
}

/// Bot `b` calls user `u`; returns the ring's call id as the page got it.
async fn bot_calls_user(s: &mut Setup) -> String {
    let body = json!({"mediaConfig": {}, "targets": [{"identity": {"user": {"id": "u"}}}]});
    let request = validate::create_call(serde_json::from_value(body).unwrap()).unwrap();
    let reach = Reach::User {
        user_id: "u".into(),
        endpoints: s.softphone.endpoints_of("u"),
    };
    let bot = AppRef {
        app_id: "b".into(),
        tenant_id: "t".into(),
        display_name: Some("Bot".into()),
        calling_webhook: Some("http://hooks/b".into()),
    };
    s.calls
        .with(|registry, now, fx| registry.create_call(bot, request, vec![reach], None, now, fx))
        .unwrap();
    match s.page.recv().await {
        Some(ServerMessage::Ring { call, caller }) => {
            assert_eq!(caller.id, "b");
            call
        }
        other => panic!("expected a ring, got {other:?}"),
    }
}

fn ended(message: Option<ServerMessage>) -> (Option<i32>, Option<i32>) {
    match message {
        Some(ServerMessage::State {
            state: PageCallState::Ended,
            code,
            subcode,
            ..
        }) => (code, subcode),
        other => panic!("expected the call to end, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_ring_ends_both_sides_with_408_10057_after_the_ring_window() {
    let mut s = setup();
    let call = bot_calls_user(&mut s).await;
    tokio::time::sleep(RING - Duration::from_millis(10)).await;
    assert!(s.page.try_recv().is_err(), "still ringing");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(ended(s.page.recv().await), (Some(408), Some(10057)));
    assert_eq!(
        s.recorder.0.lock().unwrap().last().unwrap(),
        "b Deleted terminated 408/10057"
    );
    let late = s.softphone.answer(&s.endpoint, &call, "offer".into()).await;
    assert!(matches!(
        late.unwrap_err(),
        Refusal::NotRingingHere { call: late_call } if late_call == call
    ));
}

#[tokio::test(start_paused = true)]
async fn a_page_whose_media_vanishes_leaves_the_call_with_410_301005() {
    let mut s = setup();
    let call = bot_calls_user(&mut s).await;
    s.softphone
        .answer(&s.endpoint, &call, "offer".into())
        .await
        .unwrap();
    assert_eq!(
        s.page.recv().await,
        Some(ServerMessage::Sdp {
            call: call.clone(),
            sdp: "answer".into()
        })
    );
    assert!(matches!(
        s.page.recv().await,
        Some(ServerMessage::State {
            state: PageCallState::Connected,
            ..
        })
    ));
    // The ring window passing after the answer changes nothing.
    tokio::time::sleep(RING * 2).await;
    assert!(s.page.try_recv().is_err());

    let vanish = s.media.vanish.lock().unwrap().pop().unwrap();
    vanish.send("no packets for 5 s".into()).unwrap();
    assert_eq!(ended(s.page.recv().await), (Some(410), Some(301005)));
    tokio::task::yield_now().await;
    assert_eq!(
        s.recorder.0.lock().unwrap().last().unwrap(),
        "b Deleted terminated 200/4521"
    );
    assert_eq!(s.media.closed.lock().unwrap().len(), 1, "the leg is closed");
}

#[tokio::test(start_paused = true)]
async fn a_refused_offer_is_an_error_and_the_caller_is_not_left_ringing() {
    let mut s = setup();
    let call = bot_calls_user(&mut s).await;
    let refused = s
        .softphone
        .answer(&s.endpoint, &call, "garbage".into())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("not an offer: garbage"),
        "{refused}"
    );
    assert!(matches!(
        ended(s.page.recv().await),
        (Some(410), Some(301005))
    ));
    assert!(
        s.recorder
            .0
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .starts_with("b Deleted terminated"),
        "the bot's call ended"
    );
}
