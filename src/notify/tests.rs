//! Delivery tests with an in-memory receiver and paused time (pure logic: ordering, batching,
//! backoff, overflow, give-up, redirects, drain). The real-HTTP test is in `tests/notifications.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::json;
use tokio::time::Instant;

use super::*;
use crate::auth::keys::SigningKeys;
use crate::graph::ChangeType;

/// What the fake receiver does with a POST to a URI at a moment.
type Behaviour = dyn Fn(&str, Duration) -> (Duration, PostOutcome) + Send + Sync;

/// An in-memory receiver: records every POST and answers per `behaviour(uri, time since start)`
/// with (time taken, outcome).
struct Receiver {
    start: Instant,
    behaviour: Box<Behaviour>,
    posts: Mutex<Vec<Post>>,
}

#[derive(Debug, Clone)]
struct Post {
    uri: String,
    at: Duration,
    headers: HeaderMap,
    body: serde_json::Value,
    accepted: bool,
}

impl Receiver {
    fn new(
        behaviour: impl Fn(&str, Duration) -> (Duration, PostOutcome) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Receiver {
            start: Instant::now(),
            behaviour: Box::new(behaviour),
            posts: Mutex::new(Vec::new()),
        })
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// Sequence numbers of accepted notifications for `call`, in arrival order.
    fn delivered(&self, call: &str) -> Vec<u64> {
        self.posts()
            .iter()
            .filter(|p| p.accepted)
            .flat_map(|p| p.body["value"].as_array().cloned().unwrap_or_default())
            .filter(|n| n["call"] == call)
            .map(|n| n["seq"].as_u64().unwrap())
            .collect()
    }
}

struct ReceiverTransport(Arc<Receiver>);

impl Transport for ReceiverTransport {
    fn post(
        &self,
        uri: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = PostOutcome> + Send>> {
        let receiver = Arc::clone(&self.0);
        Box::pin(async move {
            let arrived = receiver.start.elapsed();
            let (takes, outcome) = (receiver.behaviour)(&uri, arrived);
            tokio::time::sleep(takes).await;
            receiver.posts.lock().unwrap().push(Post {
                uri,
                at: arrived,
                headers,
                body: serde_json::from_slice(&body).unwrap(),
                accepted: outcome == PostOutcome::Delivered,
            });
            outcome
        })
    }
}

fn settings(capacity: usize) -> DeliverySettings {
    DeliverySettings {
        queue_capacity_per_app: capacity,
        max_batch: 20,
        retry: RetryPolicy {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(4),
            give_up_after: Duration::from_secs(60),
        },
        user_agent: "test".into(),
        jitter_seed: Some(7),
    }
}

fn notifier(receiver: &Arc<Receiver>, settings: DeliverySettings) -> (Notifier, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(SigningKeys::load_or_create(dir.path()).unwrap());
    let tokens = TokenService::new(
        keys,
        "http://sb.test".into(),
        "api".into(),
        3600,
        "http://sb.test".into(),
        300,
    );
    (
        Notifier::new(
            settings,
            tokens,
            Arc::new(ReceiverTransport(Arc::clone(receiver))),
        ),
        dir,
    )
}

fn request(call: &str, seq: u64, uri: &str) -> Outbound {
    let serde_json::Value::Object(extensions) = json!({"call": call, "seq": seq}) else {
        unreachable!("an object literal")
    };
    Outbound {
        app_id: "app-1".into(),
        tenant_id: "tenant-1".into(),
        callback_uri: uri.into(),
        ordering_key: call.into(),
        notification: CommsNotification {
            odata_type: "#microsoft.graph.commsNotification".into(),
            change_type: ChangeType::Updated,
            resource: None,
            resource_url: format!("/communications/calls/{call}"),
            callback_uri: None,
            resource_data: json!({}),
            extensions,
        },
    }
}

fn retry_unavailable() -> PostOutcome {
    PostOutcome::Retry {
        reason: "503".into(),
        retry_after: None,
    }
}

/// Lets every lane run until the queues are empty or `limit` of (paused) time has passed.
async fn settle(notifier: &Notifier, limit: Duration) {
    let deadline = Instant::now() + limit;
    while notifier.pending_total() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn webhook_down_for_ten_seconds_loses_nothing_and_keeps_order() {
    let receiver = Receiver::new(|_, at| {
        if at < Duration::from_secs(10) {
            (Duration::ZERO, retry_unavailable())
        } else {
            (Duration::ZERO, PostOutcome::Delivered)
        }
    });
    let (notifier, _keys) = notifier(&receiver, settings(1000));
    // Two calls, notifications trickling in while the webhook is down.
    for seq in 0..30 {
        notifier
            .enqueue(request("call-a", seq, "http://bot.test/a"))
            .unwrap();
        notifier
            .enqueue(request("call-b", seq, "http://bot.test/b"))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    settle(&notifier, Duration::from_secs(60)).await;

    let expected: Vec<u64> = (0..30).collect();
    assert_eq!(
        receiver.delivered("call-a"),
        expected,
        "every notification once, in order"
    );
    assert_eq!(receiver.delivered("call-b"), expected);
    let status = notifier.status("app-1");
    assert_eq!(
        (status.pending, status.queued, status.delivered),
        (0, 60, 60),
        "{status:?}"
    );
    assert_eq!(status.dropped, stats::DroppedCounts::default());

    // Retries of call-a before recovery follow the backoff: each gap at least half the step.
    let failed: Vec<Duration> = receiver
        .posts()
        .iter()
        .filter(|p| !p.accepted && p.uri.ends_with("/a"))
        .map(|p| p.at)
        .collect();
    let policy = settings(1).retry;
    for (attempt, pair) in failed.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let step = policy.step(attempt as u32);
        assert!(
            gap >= step / 2 && gap <= step,
            "attempt {attempt}: gap {gap:?} outside [{:?}, {step:?}]",
            step / 2
        );
    }
    // Recovery is noticed within one maximum step.
    let first_ok = receiver.posts().iter().find(|p| p.accepted).unwrap().at;
    assert!(
        first_ok <= Duration::from_secs(10) + policy.max,
        "first delivery at {first_ok:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_receiver_does_not_delay_other_calls() {
    let receiver = Receiver::new(|uri, _| {
        if uri.contains("slow") {
            (Duration::from_secs(30), PostOutcome::Delivered)
        } else {
            (Duration::ZERO, PostOutcome::Delivered)
        }
    });
    let (notifier, _keys) = notifier(&receiver, settings(1000));
    notifier
        .enqueue(request("slow-call", 0, "http://slow.test/cb"))
        .unwrap();
    notifier
        .enqueue(request("fast-call", 0, "http://fast.test/cb"))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        receiver.delivered("fast-call"),
        [0],
        "the fast call is delivered while the slow POST hangs"
    );
    assert!(receiver.delivered("slow-call").is_empty());
    settle(&notifier, Duration::from_secs(60)).await;
    assert_eq!(receiver.delivered("slow-call"), [0]);
}

#[tokio::test(start_paused = true)]
async fn notifications_queued_behind_a_post_go_in_one_ordered_batch() {
    let receiver = Receiver::new(|_, _| (Duration::from_secs(1), PostOutcome::Delivered));
    let (notifier, _keys) = notifier(&receiver, settings(1000));
    notifier
        .enqueue(request("call", 0, "http://bot.test/cb"))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    for seq in 1..6 {
        notifier
            .enqueue(request("call", seq, "http://bot.test/cb"))
            .unwrap();
    }
    settle(&notifier, Duration::from_secs(10)).await;
    let posts = receiver.posts();
    let sizes: Vec<usize> = posts
        .iter()
        .map(|p| p.body["value"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        sizes,
        [1, 5],
        "the first POST is in flight when the rest arrive"
    );
    assert_eq!(
        posts[0].body["@odata.type"],
        "#microsoft.graph.commsNotifications"
    );
    assert_eq!(receiver.delivered("call"), [0, 1, 2, 3, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn overflow_is_refused_counted_and_listed() {
    let receiver = Receiver::new(|_, _| (Duration::ZERO, retry_unavailable()));
    let (notifier, _keys) = notifier(&receiver, settings(3));
    for seq in 0..3 {
        notifier
            .enqueue(request("call-1", seq, "http://bot.test/cb"))
            .unwrap();
    }
    let error = notifier
        .enqueue(request("call-2", 0, "http://bot.test/cb"))
        .unwrap_err();
    assert_eq!(
        error,
        EnqueueError::QueueFull {
            app_id: "app-1".into(),
            call_id: "call-2".into(),
            capacity: 3
        }
    );
    let status = notifier.status("app-1");
    assert_eq!(status.dropped.queue_full, 1);
    assert_eq!(status.pending, 3);
    assert_eq!(status.recent_drops.len(), 1);
    assert_eq!(status.recent_drops[0].call_id, "call-2");
    assert_eq!(status.recent_drops[0].reason, DropReason::QueueFull);
}

#[tokio::test(start_paused = true)]
async fn a_receiver_that_never_recovers_is_given_up_and_reported() {
    let receiver = Receiver::new(|_, _| (Duration::ZERO, retry_unavailable()));
    let (notifier, _keys) = notifier(&receiver, settings(100));
    notifier
        .enqueue(request("call", 0, "http://bot.test/cb"))
        .unwrap();
    notifier
        .enqueue(request("call", 1, "http://bot.test/cb"))
        .unwrap();
    settle(&notifier, Duration::from_secs(600)).await;
    let status = notifier.status("app-1");
    assert_eq!(status.pending, 0);
    assert_eq!(status.dropped.gave_up, 2, "{status:?}");
    let last = receiver.posts().last().unwrap().at;
    assert!(
        last >= Duration::from_secs(60) && last < Duration::from_secs(70),
        "gave up at {last:?}"
    );
    assert!(
        status.recent_drops[0].detail.contains("still failing"),
        "{:?}",
        status.recent_drops
    );
}

/// A webhook that hangs (every POST runs into the 10 s request timeout) stalls a call for one
/// give-up period, not one per batch: the call's queued notifications are dropped with the first
/// given-up batch, and later batches to the same receiver get a single attempt until it answers;
/// once it does, full retries come back.
#[tokio::test(start_paused = true)]
async fn a_hung_webhook_stalls_a_call_for_one_give_up_period() {
    let recovers_at = Duration::from_secs(200);
    let receiver = Receiver::new(move |_, at| {
        if at < recovers_at {
            (Duration::from_secs(10), retry_unavailable())
        } else {
            (Duration::ZERO, PostOutcome::Delivered)
        }
    });
    let (notifier, _keys) = notifier(&receiver, settings(1000));
    for seq in 0..60 {
        notifier
            .enqueue(request("call", seq, "http://bot.test/cb"))
            .unwrap();
    }
    settle(&notifier, Duration::from_secs(600)).await;
    let status = notifier.status("app-1");
    assert_eq!(status.dropped.gave_up, 60, "{status:?}");
    let stalled = receiver.posts().last().unwrap().at;
    assert!(
        stalled < Duration::from_secs(75),
        "60 notifications gave up by {stalled:?}, not one give-up period per batch of 20"
    );
    // Another call to the failing receiver: one attempt, dropped after one request timeout.
    let before = receiver.posts().len();
    let enqueued_at = receiver.start.elapsed();
    notifier
        .enqueue(request("call-2", 0, "http://bot.test/cb"))
        .unwrap();
    settle(&notifier, Duration::from_secs(600)).await;
    assert_eq!(receiver.posts().len(), before + 1, "a single attempt");
    assert!(receiver.start.elapsed() - enqueued_at < Duration::from_secs(15));
    assert_eq!(notifier.status("app-1").dropped.gave_up, 61);
    // After it recovers, a delivery clears the mark.
    tokio::time::sleep(recovers_at).await;
    notifier
        .enqueue(request("call-3", 0, "http://bot.test/cb"))
        .unwrap();
    settle(&notifier, Duration::from_secs(60)).await;
    assert_eq!(receiver.delivered("call-3"), vec![0]);
}

#[tokio::test(start_paused = true)]
async fn permanent_refusal_is_not_retried() {
    let receiver = Receiver::new(|_, _| (Duration::ZERO, PostOutcome::Rejected(403)));
    let (notifier, _keys) = notifier(&receiver, settings(100));
    notifier
        .enqueue(request("call", 0, "http://bot.test/cb"))
        .unwrap();
    settle(&notifier, Duration::from_secs(10)).await;
    assert_eq!(receiver.posts().len(), 1);
    assert_eq!(notifier.status("app-1").dropped.rejected, 1);
}

#[tokio::test(start_paused = true)]
async fn redirect_is_followed_and_remembered_for_the_call() {
    let receiver = Receiver::new(|uri, _| {
        if uri == "http://bot.test/cb" {
            (
                Duration::ZERO,
                PostOutcome::Redirect("http://region2.test/cb".into()),
            )
        } else {
            (Duration::ZERO, PostOutcome::Delivered)
        }
    });
    let (notifier, _keys) = notifier(&receiver, settings(100));
    notifier
        .enqueue(request("call", 0, "http://bot.test/cb"))
        .unwrap();
    settle(&notifier, Duration::from_secs(5)).await;
    notifier
        .enqueue(request("call", 1, "http://bot.test/cb"))
        .unwrap();
    settle(&notifier, Duration::from_secs(5)).await;
    let uris: Vec<String> = receiver.posts().iter().map(|p| p.uri.clone()).collect();
    assert_eq!(
        uris,
        [
            "http://bot.test/cb",
            "http://region2.test/cb",
            "http://bot.test/cb",
            "http://region2.test/cb"
        ]
    );
    assert_eq!(receiver.delivered("call"), [0, 1]);
}

#[tokio::test(start_paused = true)]
async fn posts_carry_graph_headers_and_a_jwt_for_the_app() {
    let receiver = Receiver::new(|_, _| (Duration::ZERO, PostOutcome::Delivered));
    let (notifier, key_dir) = notifier(&receiver, settings(100));
    notifier
        .enqueue(request("call-9", 0, "http://bot.test/cb"))
        .unwrap();
    settle(&notifier, Duration::from_secs(5)).await;
    let post = &receiver.posts()[0];
    let header = |name: &str| post.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("accept"), "application/json");
    assert_eq!(header("x-microsoft-skype-chain-id"), "call-9");
    assert_eq!(header("scenario-id"), "call-9");
    assert_eq!(header("x-microsoft-skype-message-id").len(), 36);
    let token = header("authorization")
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned();
    let keys = SigningKeys::load_or_create(key_dir.path()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["app-1"]);
    validation.set_issuer(&["http://sb.test"]);
    let claims = jsonwebtoken::decode::<crate::auth::tokens::NotificationClaims>(
        &token,
        keys.decoding_key(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(
        (
            claims.aud.as_str(),
            claims.tid.as_str(),
            claims.iss.as_str()
        ),
        ("app-1", "tenant-1", "http://sb.test")
    );
    assert_eq!(claims.exp - claims.iat, 300);
}

#[tokio::test(start_paused = true)]
async fn drain_waits_then_abandons_and_reports() {
    let receiver = Receiver::new(|uri, at| {
        if uri.contains("dead") || at < Duration::from_secs(2) {
            (Duration::ZERO, retry_unavailable())
        } else {
            (Duration::ZERO, PostOutcome::Delivered)
        }
    });
    let (notifier, _keys) = notifier(&receiver, settings(100));
    notifier
        .enqueue(request("recovers", 0, "http://bot.test/cb"))
        .unwrap();
    notifier
        .enqueue(request("dead", 0, "http://dead.test/cb"))
        .unwrap();
    notifier
        .enqueue(request("dead", 1, "http://dead.test/cb"))
        .unwrap();
    let report = notifier.drain(Duration::from_secs(10)).await;
    assert_eq!(report, DrainReport { abandoned: 2 });
    assert_eq!(
        receiver.delivered("recovers"),
        [0],
        "the drain lets retries finish"
    );
    let status = notifier.status("app-1");
    assert_eq!((status.pending, status.dropped.shutdown), (0, 2));
    assert!(matches!(
        notifier.enqueue(request("late", 0, "http://bot.test/cb")),
        Err(EnqueueError::ShuttingDown { .. })
    ));
}
