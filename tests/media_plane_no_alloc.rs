//! The media worker's per-tick path allocates nothing: two bots in one conversation, one playing a
//! speech prompt into the other, which records it; a conference of three bots (the room mix),
//! one playing, one recording, one listening for keys; and app-hosted bots with their lanes
//! attached (their audio queued, mixed and unmixed frames and notices out), talking to one bot
//! and in a room. Each is ticked for 3.6 s of media with a counting global allocator watching
//! the ticking thread. Only a tick that reports an event (a speaking hint here; events carry
//! ids) may allocate, and only for that event. What an app-hosted bot's media socket task does
//! (taking frames, queuing the bot's audio) runs between ticks, unwatched: it is another thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use switchboard::calls::ids::{CallId, ConversationId, OperationId, ParticipantId};
use switchboard::calls::media::{
    AppHosted, Hosting, MediaCommand, MediaEvent, MediaEventSink, MediaSocketConfig,
    StreamDirections,
};
use switchboard::calls::validate::RecordResponse;
use switchboard::media_plane::app_stream::{
    AppStream, FLAG_UNMIXED, FRAME_SAMPLES, MIXED_SOURCE, StreamNotice,
};
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
    /// Key presses "1234#", for notices.
    keys: Arc<switchboard_media::Prompt>,
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
        let keys = cache
            .dtmf(&switchboard_media::dtmf::Digit::parse_sequence("1234#").unwrap())
            .unwrap();
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
            keys,
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

    /// Opens an app-hosted bot's leg (mixed and unmixed audio, both ways) and attaches its lane,
    /// as the engine does; returns the lane.
    fn open_app(&self, call: &str, participant: &str, source_id: u32) -> Arc<AppStream> {
        let socket = MediaSocketConfig {
            url: "ws://bot.test/media".into(),
            auth_token: None,
            directions: StreamDirections::SendRecv,
            mixed: true,
            unmixed: true,
        };
        let stream = Arc::new(AppStream::new(socket.clone(), 1_000, 8));
        self.queue
            .push(WorkerCommand::media(MediaCommand::OpenLeg {
                call: CallId::from(call),
                conversation: ConversationId::from("conversation"),
                participant: ParticipantId::from(participant),
                source_id,
                hosting: Hosting::App(Box::new(AppHosted {
                    socket,
                    app_id: "app".into(),
                    tenant_id: "tenant".into(),
                    participants: vec![],
                })),
                prefetch: vec![],
            }))
            .unwrap();
        self.queue
            .push(WorkerCommand::AttachStream {
                call: CallId::from(call),
                stream: stream.clone(),
            })
            .unwrap();
        stream
    }

    fn step(&mut self) {
        self.worker.step(self.t0 + TICK * self.tick);
        self.tick += 1;
    }

    /// Runs `ticks` ticks with the allocator watching each one: a tick that allocated must be one
    /// that reported an event (events carry ids), and then only a few allocations per event.
    /// Returns the events and how many ticks reported nothing.
    fn measure(&mut self, ticks: u32) -> (Vec<MediaEvent>, u32) {
        self.measure_with(ticks, || {})
    }

    /// [`Rig::measure`], running `between` after each tick, unwatched (a media socket task's
    /// share of the work, on its own thread in the server).
    fn measure_with(&mut self, ticks: u32, mut between: impl FnMut()) -> (Vec<MediaEvent>, u32) {
        let mut quiet_ticks = 0;
        let mut during = Vec::new();
        for _ in 0..ticks {
            let before = allocations();
            WATCHING.with(|w| w.set(true));
            self.step();
            WATCHING.with(|w| w.set(false));
            between();
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

/// What an app-hosted bot's socket task saw of its lane.
#[derive(Default, Debug)]
struct LaneSeen {
    mixed: u32,
    unmixed: u32,
    keys: u32,
    speaker_changes: u32,
}

/// The socket task's side of a lane between two ticks: takes every frame and notice, and keeps
/// the bot's playout ring topped up with a 440 Hz tone (the bot talks all along).
fn serve(lane: &AppStream, seen: &mut LaneSeen, phase: &mut usize) {
    while let Some(frame) = lane.take_frame() {
        if frame.source_id == MIXED_SOURCE {
            seen.mixed += 1;
        } else {
            assert_eq!(frame.flags & FLAG_UNMIXED, FLAG_UNMIXED);
            seen.unmixed += 1;
        }
    }
    while let Some(notice) = lane.take_notice() {
        match notice {
            StreamNotice::Dtmf { .. } => seen.keys += 1,
            StreamNotice::ActiveSpeakers { .. } | StreamNotice::DominantSpeaker { .. } => {
                seen.speaker_changes += 1
            }
        }
    }
    while lane.playout_room() > 0 {
        let mut pcm = [0i16; FRAME_SAMPLES];
        for s in pcm.iter_mut() {
            *phase += 1;
            let t = *phase as f32 / 16_000.0;
            *s = (8000.0 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()) as i16;
        }
        lane.queue_playout(pcm);
    }
}

#[test]
fn ticking_an_app_hosted_bot_talking_to_a_bot_allocates_nothing() {
    let mut rig = Rig::new();
    rig.open(&[("a", "pa")]);
    let lane = rig.open_app("b", "pb", 22);
    // A presses its keys, then speaks: each press becomes a notice for B, some of them while
    // measuring.
    rig.queue
        .push(WorkerCommand::Media {
            command: MediaCommand::SendDtmf {
                call: CallId::from("a"),
                operation: OperationId::from("keys"),
                tones: vec![],
                delay_between: Duration::ZERO,
            },
            audio: Resolution::Ready(vec![rig.keys.clone()]),
        })
        .unwrap();
    rig.queue
        .push(play(
            CallId::from("a"),
            OperationId::from("play"),
            Resolution::Ready(vec![rig.speech.clone()]),
        ))
        .unwrap();
    let mut warm_up = LaneSeen::default();
    let mut phase = 0;
    for _ in 0..10 {
        rig.step();
        serve(&lane, &mut warm_up, &mut phase);
    }
    let before = rig.drain();
    assert_eq!(before.len(), 2, "both legs ready: {before:?}");

    let mut seen = LaneSeen::default();
    let (during, quiet_ticks) = rig.measure_with(180, || serve(&lane, &mut seen, &mut phase));
    assert!(
        during.iter().all(|e| matches!(
            e,
            MediaEvent::SpeakingChanged { .. } | MediaEvent::OperationFinished { .. }
        )),
        "nothing but speaking hints and the keys' end while measuring: {during:?}"
    );
    assert!(
        quiet_ticks >= 170,
        "only {quiet_ticks} of 180 ticks reported nothing: {during:?}"
    );
    assert_eq!(seen.mixed, 180, "a mix every tick: {seen:?}");
    assert!(seen.unmixed > 60, "A was heard speaking: {seen:?}");
    assert!(
        warm_up.speaker_changes > 0,
        "A's speaking was told (it never stops while measured): {warm_up:?}"
    );
    assert!(seen.keys >= 1, "a key pressed while measuring: {seen:?}");
    assert_eq!(
        warm_up.keys + seen.keys,
        5,
        "each of A's keys once: {seen:?}"
    );
    assert_eq!(
        lane.played(),
        189,
        "the bot spoke every tick from the second (its audio was queued after the first)"
    );
    assert_eq!(lane.frames_dropped(), 0);
}

#[test]
fn ticking_a_room_with_an_app_hosted_bot_allocates_nothing() {
    let mut rig = Rig::new();
    rig.open(&[("a", "pa"), ("c", "pc")]);
    let lane = rig.open_app("b", "pb", 22);
    rig.queue
        .push(play(
            CallId::from("a"),
            OperationId::from("play"),
            Resolution::Ready(vec![rig.speech.clone()]),
        ))
        .unwrap();
    rig.queue
        .push(WorkerCommand::Media {
            command: MediaCommand::SendDtmf {
                call: CallId::from("c"),
                operation: OperationId::from("keys"),
                tones: vec![],
                delay_between: Duration::ZERO,
            },
            audio: Resolution::Ready(vec![rig.keys.clone()]),
        })
        .unwrap();
    let mut warm_up = LaneSeen::default();
    let mut phase = 0;
    for _ in 0..10 {
        rig.step();
        serve(&lane, &mut warm_up, &mut phase);
    }
    let before = rig.drain();
    let ready = before
        .iter()
        .filter(|e| matches!(e, MediaEvent::LegReady { .. }))
        .count();
    assert_eq!(ready, 3, "every leg ready: {before:?}");

    let mut seen = LaneSeen::default();
    let (during, quiet_ticks) = rig.measure_with(180, || serve(&lane, &mut seen, &mut phase));
    assert!(
        during.iter().all(|e| matches!(
            e,
            MediaEvent::SpeakingChanged { .. } | MediaEvent::OperationFinished { .. }
        )),
        "nothing but speaking hints and the keys' end while measuring: {during:?}"
    );
    assert!(
        quiet_ticks >= 170,
        "only {quiet_ticks} of 180 ticks reported nothing: {during:?}"
    );
    assert_eq!(seen.mixed, 180, "a mix every tick: {seen:?}");
    assert!(seen.unmixed > 100, "A and C were heard speaking: {seen:?}");
    assert!(seen.keys >= 1, "a key pressed while measuring: {seen:?}");
    assert_eq!(
        warm_up.keys + seen.keys,
        5,
        "each of C's keys once: {seen:?}"
    );
    assert!(seen.speaker_changes > 0, "{seen:?}");
    assert_eq!(lane.frames_dropped(), 0);
}
