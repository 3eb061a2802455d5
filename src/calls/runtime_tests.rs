//! The call service with paused tokio time: deadlines fire on time, media events flow back,
//! refused media commands fail cleanly, admission tokens are released when calls end.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::*;
use crate::calls::call::AppRef;
use crate::calls::endpoints::Reach;
use crate::calls::media::signalling_only::SignallingOnlyMedia;
use crate::calls::media::{MediaEventSink, MediaPlaneBusy};
use crate::calls::validate;

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

impl Recorder {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn app(id: &str) -> AppRef {
    AppRef {
        app_id: id.into(),
        tenant_id: "t".into(),
        display_name: None,
        calling_webhook: Some(format!("http://hooks/{id}")),
    }
}

fn start(recorder: &Arc<Recorder>, timers: CallTimers) -> CallService {
    let (media, events) = SignallingOnlyMedia::plane();
    CallService::start(
        timers,
        media,
        events,
        recorder.clone(),
        Arc::new(NoRinger),
        Arc::new(crate::calls::journal::NoJournal),
    )
}

fn call_b(service: &CallService) -> (CallId, CallId) {
    let body = json!({"mediaConfig": {}, "targets": [{"identity": {"application": {"id": "b"}}}]});
    let request = validate::create_call(serde_json::from_value(body).unwrap()).unwrap();
    let a = service
        .with(|registry, now, fx| {
            registry.create_call(app("a"), request, vec![Reach::App(app("b"))], None, now, fx)
        })
        .unwrap();
    let b = service.read(|registry| registry.calls_of("b")[0].id.clone());
    (a, b)
}

/// Lets the service's tasks run.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_answer_window_closes_after_15_seconds_of_virtual_time() {
    let recorder = Arc::new(Recorder::default());
    let service = start(&recorder, CallTimers::default());
    call_b(&service);
    assert_eq!(
        recorder.take(),
        ["a Updated establishing", "b Created incoming"]
    );
    tokio::time::sleep(Duration::from_millis(14_900)).await;
    settle().await;
    assert!(recorder.take().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    settle().await;
    assert_eq!(
        recorder.take(),
        [
            "b Deleted terminated 408/1106",
            "a Deleted terminated 408/10057"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn shortened_keep_alive_window_ends_established_calls() {
    let recorder = Arc::new(Recorder::default());
    let timers = CallTimers {
        keep_alive_window: Duration::from_secs(2),
        ..CallTimers::default()
    };
    let service = start(&recorder, timers);
    let (a, b) = call_b(&service);
    let answer =
        validate::answer(serde_json::from_value(json!({"mediaConfig": {}})).unwrap()).unwrap();
    service
        .with(|registry, _, fx| registry.answer("b", b.as_str(), answer, fx))
        .unwrap();
    settle().await;
    recorder.take();
    tokio::time::sleep(Duration::from_secs(1)).await;
    service
        .with(|registry, now, _| registry.keep_alive("a", a.as_str(), now))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    settle().await;
    // B's window (from the start) ran out; A's was renewed but the P2P call ends with B.
    assert_eq!(
        recorder.take(),
        [
            "b Deleted terminated 408/8537",
            "a Deleted terminated 200/4521"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn signalling_only_media_establishes_both_legs() {
    let recorder = Arc::new(Recorder::default());
    let service = start(&recorder, CallTimers::default());
    let (_, b) = call_b(&service);
    recorder.take();
    let answer =
        validate::answer(serde_json::from_value(json!({"mediaConfig": {}})).unwrap()).unwrap();
    service
        .with(|registry, _, fx| registry.answer("b", b.as_str(), answer, fx))
        .unwrap();
    settle().await;
    assert_eq!(
        recorder.take(),
        [
            "b Updated establishing",
            "b Updated established",
            "a Updated established"
        ]
    );
}

struct Refusing(AtomicUsize);

impl MediaPlane for Refusing {
    fn submit(&self, _command: MediaCommand) -> Result<(), MediaPlaneBusy> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Err(MediaPlaneBusy)
    }
}

#[tokio::test(start_paused = true)]
async fn a_full_media_queue_fails_the_leg_with_a_clear_reason() {
    let recorder = Arc::new(Recorder::default());
    let refusing = Arc::new(Refusing(AtomicUsize::new(0)));
    // Nothing is ever reported: the plane refuses every command.
    let (_, events) = MediaEventSink::channel(MEDIA_EVENT_QUEUE);
    let service = CallService::start(
        CallTimers::default(),
        refusing.clone(),
        events,
        recorder.clone(),
        Arc::new(NoRinger),
        Arc::new(crate::calls::journal::NoJournal),
    );
    let (_, b) = call_b(&service);
    recorder.take();
    let answer =
        validate::answer(serde_json::from_value(json!({"mediaConfig": {}})).unwrap()).unwrap();
    service
        .with(|registry, _, fx| registry.answer("b", b.as_str(), answer, fx))
        .unwrap();
    assert_eq!(
        recorder.take(),
        [
            "b Updated establishing",
            "b Deleted terminated 410/301005",
            "a Deleted terminated 200/4521"
        ]
    );
    assert!(refusing.0.load(Ordering::Relaxed) >= 2);
    assert!(service.read(CallRegistry::is_empty));
}

#[tokio::test(start_paused = true)]
async fn tokens_are_released_when_their_call_ends() {
    let recorder = Arc::new(Recorder::default());
    let service = start(&recorder, CallTimers::default());
    let (a, _) = call_b(&service);
    let released = Arc::new(AtomicUsize::new(0));
    struct Token(Arc<AtomicUsize>);
    impl Drop for Token {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    service.hold_until_ended(&a, Box::new(Token(released.clone())));
    assert_eq!(released.load(Ordering::Relaxed), 0);
    service
        .with(|registry, _, fx| registry.hang_up("a", a.as_str(), fx))
        .unwrap();
    assert_eq!(released.load(Ordering::Relaxed), 1);
    service.hold_until_ended(&a, Box::new(Token(released.clone())));
    assert_eq!(
        released.load(Ordering::Relaxed),
        2,
        "a token for an ended call is dropped at once"
    );
}
