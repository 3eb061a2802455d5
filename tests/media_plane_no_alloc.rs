//! The media worker's per-tick path allocates nothing: two bots in one conversation, one playing a
//! speech prompt into the other, which records it, ticked for 3.6 s of media with a counting
//! global allocator watching the ticking thread. Only a tick that reports an event (a speaking
//! hint here; events carry ids) may allocate, and only for that event.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use switchboard::calls::ids::{CallId, ConversationId, OperationId, ParticipantId};
use switchboard::calls::media::{Hosting, MediaEvent, MediaEventSink};
use switchboard::calls::validate::RecordResponse;
use switchboard::media_plane::clips::ClipPools;
use switchboard::media_plane::command::{Resolution, WorkerCommand};
use switchboard::media_plane::env::{Shared, WorkerEnv};
use switchboard::media_plane::recordings::RecordingStore;
use switchboard::media_plane::stats::WorkerStats;
use switchboard::media_plane::worker::{TICK, Worker};
use switchboard::webrtc::{EdgeConfig, WebRtcEdge};
use switchboard_media::PromptCache;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only an
// atomic and a const-initialised thread-local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn ticking_two_bots_playing_and_recording_allocates_nothing() {
    let (sink, mut events) = MediaEventSink::channel(256);
    let lock = Arc::new(OnceLock::new());
    lock.set(sink).unwrap();
    let returned = Arc::new(ArrayQueue::new(4));
    let recordings = Arc::new(RecordingStore::new(
        "http://test",
        Duration::from_secs(60),
        vec![returned.clone()],
    ));
    let mut cache = PromptCache::new().unwrap();
    let wav = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/speech-vm-intro-8k.wav"
    ))
    .unwrap();
    let speech = cache.load_wav("speech", &wav).unwrap();
    let env = WorkerEnv::new(
        0,
        Shared {
            events: lock,
            stats: Arc::new(WorkerStats::default()),
            returned_clips: returned,
            recordings,
            beep: cache.beep(),
            departed: Arc::new(ArrayQueue::new(4)),
        },
        ClipPools::new(1, Duration::from_secs(20), 0),
    )
    .unwrap();
    let queue = Arc::new(ArrayQueue::new(16));
    let edge = WebRtcEdge::new(
        EdgeConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..EdgeConfig::default()
        },
        vec!["127.0.0.1:9".parse().unwrap()],
    )
    .unwrap();
    let mut worker = Worker::new(env, queue.clone(), edge);
    for (call, participant) in [("a", "pa"), ("b", "pb")] {
        queue
            .push(WorkerCommand::Open {
                call: CallId::from(call),
                conversation: ConversationId::from("conversation"),
                participant: ParticipantId::from(participant),
                hosting: Hosting::Service,
            })
            .unwrap();
    }
    queue
        .push(WorkerCommand::Record {
            call: CallId::from("b"),
            operation: OperationId::from("record"),
            settings: Box::new(RecordResponse {
                prompt: None,
                barge_in_allowed: false,
                initial_silence_timeout: Duration::from_secs(10),
                max_silence_timeout: Duration::from_secs(10),
                max_record_duration: Duration::from_secs(20),
                play_beep: true,
                stop_tones: vec![],
                client_context: None,
            }),
            prompt: Resolution::Ready(vec![]),
        })
        .unwrap();
    queue
        .push(WorkerCommand::Play {
            call: CallId::from("a"),
            operation: OperationId::from("play"),
            prompts: Resolution::Ready(vec![speech]),
        })
        .unwrap();

    let t0 = Instant::now();
    let mut tick = 0u32;
    let mut step = |worker: &mut Worker| {
        worker.step(t0 + TICK * tick);
        tick += 1;
    };
    // Commands, leg set-up and the first reports happen here, outside the measurement.
    for _ in 0..10 {
        step(&mut worker);
    }
    let mut before = Vec::new();
    while let Ok(e) = events.try_recv() {
        before.push(e);
    }
    assert_eq!(before.len(), 2, "both legs ready: {before:?}");

    // Reporting an event clones its ids (that allocates, and is allowed: events are rare);
    // everything else on the tick path allocates nothing. So each tick is measured on its own,
    // and a tick that allocated must be one that reported something.
    let mut quiet_ticks = 0;
    let mut during = Vec::new();
    for _ in 0..180 {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        WATCHING.with(|w| w.set(true));
        step(&mut worker);
        WATCHING.with(|w| w.set(false));
        let counted = ALLOCATIONS.load(Ordering::Relaxed) - before;
        let reported: Vec<MediaEvent> = std::iter::from_fn(|| events.try_recv().ok()).collect();
        assert!(
            reported
                .iter()
                .all(|e| matches!(e, MediaEvent::SpeakingChanged { .. })),
            "nothing but speaking hints while measuring: {reported:?}"
        );
        if reported.is_empty() {
            assert_eq!(
                counted, 0,
                "allocations (and frees) on tick {tick} of two sessions, which reported nothing"
            );
            quiet_ticks += 1;
        } else {
            assert!(
                counted <= 4 * reported.len() as u64,
                "{counted} allocations for {} events on tick {tick}: more than their ids",
                reported.len()
            );
        }
        during.extend(reported);
    }
    assert!(
        quiet_ticks >= 170,
        "only {quiet_ticks} of 180 ticks reported nothing: {during:?}"
    );
    // The prompt was playing all along: it finishes (5.65 s) after the measured window.
    for _ in 0..150 {
        step(&mut worker);
    }
    let after: Vec<MediaEvent> = std::iter::from_fn(|| events.try_recv().ok()).collect();
    assert!(
        after.iter().any(
            |e| matches!(e, MediaEvent::OperationFinished { operation, .. }
            if operation.as_str() == "play")
        ),
        "{after:?}"
    );
}
