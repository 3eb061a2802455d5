//! The media worker's per-tick path allocates nothing: two bots in one conversation, one playing a
//! speech prompt into the other, which records it; and a conference of three bots (the room mix),
//! one playing, one recording, one listening for keys. Each is ticked for 3.6 s of media with a
//! counting global allocator watching the ticking thread. Only a tick that reports an event (a
//! speaking hint here; events carry ids) may allocate, and only for that event.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use switchboard::calls::ids::{CallId, ConversationId, OperationId, ParticipantId};
use switchboard::calls::media::{Hosting, MediaCommand, MediaEvent, MediaEventSink};
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

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    // Per thread: the tests run in parallel, each watching its own ticking thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only
// const-initialised thread-locals, which do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A worker (not started: the test steps it) with its command queue, event stream and the speech
/// prompt.
struct Rig {
    worker: Worker,
    queue: Arc<ArrayQueue<WorkerCommand>>,
    events: tokio::sync::mpsc::Receiver<MediaEvent>,
    speech: Arc<switchboard_media::Prompt>,
    t0: Instant,
    tick: u32,
}

impl Rig {
    fn new() -> Rig {
        let (sink, events) = MediaEventSink::channel(256);
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
                events: sink,
                stats: Arc::new(WorkerStats::default()),
                returned_clips: returned,
                recordings,
                beep: cache.beep(),
                departed: Arc::new(ArrayQueue::new(4)),
                max_unmixed_sources: 0,
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
        let worker = Worker::new(env, queue.clone(), edge);
        Rig {
            worker,
            queue,
            events,
            speech,
            t0: Instant::now(),
            tick: 0,
        }
    }

    fn open(&self, members: &[(&str, &str)]) {
        for (call, participant) in members {
            self.queue
                .push(WorkerCommand::media(MediaCommand::OpenLeg {
                    call: CallId::from(*call),
                    conversation: ConversationId::from("conversation"),
                    participant: ParticipantId::from(*participant),
                    source_id: 1,
                    hosting: Hosting::Service,
                    prefetch: vec![],
                }))
                .unwrap();
        }
    }

    fn step(&mut self) {
        self.worker.step(self.t0 + TICK * self.tick);
        self.tick += 1;
    }

    /// Runs `ticks` ticks with the allocator watching each one: a tick that allocated must be one
    /// that reported an event (events carry ids), and then only a few allocations per event.
    /// Returns the events and how many ticks reported nothing.
    fn measure(&mut self, ticks: u32) -> (Vec<MediaEvent>, u32) {
        let mut quiet_ticks = 0;
        let mut during = Vec::new();
        for _ in 0..ticks {
            let before = allocations();
            WATCHING.with(|w| w.set(true));
            self.step();
            WATCHING.with(|w| w.set(false));
            let counted = allocations() - before;
            let reported: Vec<MediaEvent> =
                std::iter::from_fn(|| self.events.try_recv().ok()).collect();
            let tick = self.tick;
            if reported.is_empty() {
                assert_eq!(
                    counted, 0,
                    "allocations (and frees) on tick {tick}, which reported nothing"
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
        (during, quiet_ticks)
    }

    fn drain(&mut self) -> Vec<MediaEvent> {
        std::iter::from_fn(|| self.events.try_recv().ok()).collect()
    }
}

fn record_for(secs: u64) -> RecordResponse {
    RecordResponse {
        prompt: None,
        barge_in_allowed: false,
        initial_silence_timeout: Duration::from_secs(10),
        max_silence_timeout: Duration::from_secs(10),
        max_record_duration: Duration::from_secs(secs),
        play_beep: true,
        stop_tones: vec![],
        client_context: None,
    }
}

/// A playPrompt as the engine queues it: the worker plays `audio` (the sources were the engine's
/// to resolve).
fn play(call: CallId, operation: OperationId, audio: Resolution) -> WorkerCommand {
    let command = MediaCommand::PlayPrompts {
        call,
        operation,
        prompts: vec![],
    };
    WorkerCommand::Media { command, audio }
}

/// A recordResponse as the engine queues it, with its prompt's audio.
fn record_op(
    call: CallId,
    operation: OperationId,
    settings: RecordResponse,
    prompt: Resolution,
) -> WorkerCommand {
    let command = MediaCommand::Record {
        call,
        operation,
        settings,
    };
    WorkerCommand::Media {
        command,
        audio: prompt,
    }
}

#[test]
fn ticking_two_bots_playing_and_recording_allocates_nothing() {
    let mut rig = Rig::new();
    rig.open(&[("a", "pa"), ("b", "pb")]);
    rig.queue
        .push(record_op(
            CallId::from("b"),
            OperationId::from("record"),
            record_for(20),
            Resolution::Ready(vec![]),
        ))
        .unwrap();
    rig.queue
        .push(play(
            CallId::from("a"),
            OperationId::from("play"),
            Resolution::Ready(vec![rig.speech.clone()]),
        ))
        .unwrap();
    // Commands, leg set-up and the first reports happen here, outside the measurement.
    for _ in 0..10 {
        rig.step();
    }
    let before = rig.drain();
    assert_eq!(before.len(), 2, "both legs ready: {before:?}");

    let (during, quiet_ticks) = rig.measure(180);
    assert!(
        during
            .iter()
            .all(|e| matches!(e, MediaEvent::SpeakingChanged { .. })),
        "nothing but speaking hints while measuring: {during:?}"
    );
    assert!(
        quiet_ticks >= 170,
        "only {quiet_ticks} of 180 ticks reported nothing: {during:?}"
    );
    // The prompt was playing all along: it finishes (5.65 s) after the measured window.
    for _ in 0..150 {
        rig.step();
    }
    let after = rig.drain();
    assert!(
        after.iter().any(
            |e| matches!(e, MediaEvent::OperationFinished { operation, .. }
            if operation.as_str() == "play")
        ),
        "{after:?}"
    );
}

#[test]
fn ticking_a_conference_of_three_bots_allocates_nothing() {
    let mut rig = Rig::new();
    // Three members: the conversation's audio goes through the room (the conference mix).
    rig.open(&[("a", "pa"), ("b", "pb"), ("c", "pc")]);
    rig.queue
        .push(play(
            CallId::from("a"),
            OperationId::from("play"),
            Resolution::Ready(vec![rig.speech.clone()]),
        ))
        .unwrap();
    rig.queue
        .push(record_op(
            CallId::from("b"),
            OperationId::from("record"),
            record_for(20),
            Resolution::Ready(vec![]),
        ))
        .unwrap();
    rig.queue
        .push(WorkerCommand::media(MediaCommand::SubscribeTones {
            call: CallId::from("c"),
        }))
        .unwrap();
    for _ in 0..10 {
        rig.step();
    }
    let before = rig.drain();
    let ready = before
        .iter()
        .filter(|e| matches!(e, MediaEvent::LegReady { .. }))
        .count();
    assert_eq!(ready, 3, "every leg ready: {before:?}");

    let (during, quiet_ticks) = rig.measure(180);
    assert!(
        during
            .iter()
            .all(|e| matches!(e, MediaEvent::SpeakingChanged { .. })),
        "nothing but speaking hints while measuring: {during:?}"
    );
    assert!(
        during.iter().any(|e| matches!(e, MediaEvent::SpeakingChanged { participant, speaking: true, .. } if participant.as_str() == "pa")),
        "the room heard A speak: {during:?}"
    );
    assert!(
        quiet_ticks >= 170,
        "only {quiet_ticks} of 180 ticks reported nothing: {during:?}"
    );
}
