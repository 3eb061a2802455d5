//! The engine's `submit` path: a full worker queue and calls without media.

use std::time::{Duration, Instant};

use super::*;
use crate::calls::ids::{ConversationId, OperationId, ParticipantId};
use crate::calls::media::{Hosting, MediaCommand, MediaEvent, MediaPlane, MediaPlaneBusy};
use crate::calls::result_codes::ResultCode;

#[test]
fn a_full_worker_queue_refuses_at_once_and_counts_every_refusal() {
    let settings = MediaSettings {
        workers: 1,
        command_queue_capacity: 16,
        short_clips_per_worker: 0,
        long_clips_per_worker: 0,
        webrtc: WebRtcSettings {
            bind: "127.0.0.1".parse().unwrap(),
            port: 0,
            ..WebRtcSettings::default()
        },
        ..MediaSettings::default()
    };
    let (sink, mut events) = MediaEventSink::channel(64);
    let tokens = crate::auth::tokens::shared_for_tests();
    let engine = MediaEngine::start(&settings, "http://test", sink, tokens).unwrap();
    let plane: Arc<dyn MediaPlane> = engine.clone();
    let call = CallId::from("c");
    plane
        .submit(MediaCommand::OpenLeg {
            call: call.clone(),
            conversation: ConversationId::from("v"),
            participant: ParticipantId::from("p"),
            source_id: 1,
            hosting: Hosting::Service,
            prefetch: vec![],
        })
        .unwrap();
    let mut refused = 0u64;
    for _ in 0..10_000 {
        let command = MediaCommand::SubscribeTones { call: call.clone() };
        if plane.submit(command) == Err(MediaPlaneBusy) {
            refused += 1;
        }
    }
    // Ten thousand submits outrun the worker's 20 ms tick, so many find the queue full; each
    // refusal is an immediate `Err`, not a wait for room.
    assert!(refused > 0, "the queue never filled");
    let counted = WorkerStats::get(&engine.worker_stats()[0].command_queue_full);
    assert_eq!(counted, refused);
    // An operation on a call the plane does not know is answered at once, not queued.
    plane
        .submit(MediaCommand::PlayPrompts {
            call: CallId::from("unknown"),
            operation: OperationId::from("o"),
            prompts: vec![],
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while Instant::now() < deadline && seen.len() < 2 {
        while let Ok(event) = events.try_recv() {
            seen.push(event);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(seen.contains(&MediaEvent::LegReady { call }), "{seen:?}");
    assert!(
        seen.iter().any(
            |e| matches!(e, MediaEvent::OperationFinished { outcome, .. }
            if outcome.result == ResultCode::OperationMediaFailure)
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn an_app_hosted_leg_dials_its_socket_hears_participants_and_close_sends_stop() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::http::HeaderValue;

    use crate::calls::media::{AppHosted, MediaSocketConfig, StreamDirections, StreamParticipant};
    use crate::media_plane::media_socket::protocol::SUBPROTOCOL;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = MediaSettings {
        workers: 1,
        short_clips_per_worker: 0,
        long_clips_per_worker: 0,
        webrtc: WebRtcSettings {
            bind: "127.0.0.1".parse().unwrap(),
            port: 0,
            ..WebRtcSettings::default()
        },
        ..MediaSettings::default()
    };
    settings.app_hosted.allow_private_addresses = true;
    let (sink, _events) = MediaEventSink::channel(64);
    let tokens = crate::auth::tokens::shared_for_tests();
    let engine = MediaEngine::start(&settings, "http://test", sink, tokens).unwrap();
    let plane: Arc<dyn MediaPlane> = engine.clone();
    let call = CallId::from("app-call");
    let bot = |id: &str, source_id| StreamParticipant {
        id: ParticipantId::from(id),
        source_id,
        identity: None,
    };
    plane
        .submit(MediaCommand::OpenLeg {
            call: call.clone(),
            conversation: ConversationId::from("v"),
            participant: ParticipantId::from("bot"),
            source_id: 1,
            hosting: Hosting::App(Box::new(AppHosted {
                socket: MediaSocketConfig {
                    url: format!("ws://127.0.0.1:{port}/media"),
                    auth_token: None,
                    directions: StreamDirections::SendRecv,
                    mixed: true,
                    unmixed: false,
                },
                app_id: "app".into(),
                tenant_id: "tenant".into(),
                participants: vec![bot("bot", 1)],
            })),
            prefetch: vec![],
        })
        .unwrap();

    let patience = Duration::from_secs(5);
    let (tcp, _) = tokio::time::timeout(patience, listener.accept())
        .await
        .unwrap()
        .unwrap();
    // The callback's type is the WebSocket library's, large error response and all.
    #[allow(clippy::result_large_err)]
    let accept = |_: &Request, mut response: Response| {
        let protocol = HeaderValue::from_static(SUBPROTOCOL);
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol);
        Ok(response)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(tcp, accept)
        .await
        .unwrap();
    let mut next_json = async || loop {
        let message = tokio::time::timeout(patience, ws.next()).await.unwrap();
        match message.unwrap().unwrap() {
            Message::Text(text) => {
                return serde_json::from_str::<serde_json::Value>(text.as_str()).unwrap();
            }
            Message::Close(frame) => {
                return serde_json::json!({"closed": frame.unwrap().code.to_string()});
            }
            _ => {}
        }
    };
    let start = next_json().await;
    assert_eq!(start["type"], "start");
    assert_eq!(start["callId"], "app-call");

    plane
        .submit(MediaCommand::SetParticipants {
            call: call.clone(),
            participants: vec![bot("bot", 1), bot("alice", 2)],
        })
        .unwrap();
    let updated = next_json().await;
    assert_eq!(updated["type"], "participantsUpdated");
    assert_eq!(updated["participants"][1]["sourceId"], 2);

    plane
        .submit(MediaCommand::CloseLeg { call: call.clone() })
        .unwrap();
    assert_eq!(
        next_json().await,
        serde_json::json!({"type": "stop", "reason": "callEnded"})
    );
    assert_eq!(next_json().await, serde_json::json!({"closed": "1000"}));
}
