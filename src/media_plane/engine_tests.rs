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
    let engine = MediaEngine::start(&settings, "http://test", sink).unwrap();
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
