//! A worker driven tick by tick with simulated time: two bots in one conversation exchanging real
//! Opus audio, with prompts, in-band keys, recordings, cancellation and barge-in. No threads, no
//! sleeps, no HTTP: prompts come straight from a `PromptCache`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use switchboard_media::dtmf::Digit;
use switchboard_media::{Prompt, PromptCache};
use tokio::sync::mpsc::Receiver;

use super::clips::ClipPools;
use super::command::{PromptFailure, Resolution, WorkerCommand};
use super::env::{Shared, WorkerEnv};
use super::recordings::RecordingStore;
use super::stats::WorkerStats;
use super::worker::{TICK, Worker};
use crate::calls::ids::{CallId, ConversationId, OperationId, ParticipantId};
use crate::calls::media::{Hosting, MediaCommand, MediaEvent, MediaEventSink, OperationOutcome};
use crate::calls::result_codes::ResultCode;
use crate::calls::validate::RecordResponse;

struct Rig {
    worker: Worker,
    queue: Arc<ArrayQueue<WorkerCommand>>,
    events: Receiver<MediaEvent>,
    recordings: Arc<RecordingStore>,
    stats: Arc<WorkerStats>,
    cache: PromptCache,
    t0: Instant,
    ticks: u32,
    seen: Vec<MediaEvent>,
}

/// An edge no browser talks to (these tests have bots only): it advertises an address nobody
/// listens on.
pub(super) fn unbound_edge() -> crate::webrtc::WebRtcEdge {
    let config = crate::webrtc::EdgeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..crate::webrtc::EdgeConfig::default()
    };
    crate::webrtc::WebRtcEdge::new(config, vec!["127.0.0.1:9".parse().unwrap()]).unwrap()
}

const A: &str = "call-a";
const B: &str = "call-b";

fn call(id: &str) -> CallId {
    CallId::from(id)
}

fn op(id: &str) -> OperationId {
    OperationId::from(id)
}

impl Rig {
    fn new(short_clips: usize) -> Rig {
        Rig::with_unmixed_cap(short_clips, 0)
    }

    /// A rig whose worker sends app-hosted bots at most `max_unmixed_sources` speakers a tick.
    fn with_unmixed_cap(short_clips: usize, max_unmixed_sources: usize) -> Rig {
        let (sink, events) = MediaEventSink::channel(1024);
        let returned = Arc::new(ArrayQueue::new(8));
        let recordings = Arc::new(RecordingStore::new(
            "http://test",
            Duration::from_secs(60),
            vec![returned.clone()],
        ));
        let stats = Arc::new(WorkerStats::default());
        let cache = PromptCache::new().unwrap();
        let env = WorkerEnv::new(
            0,
            Shared {
                events: sink,
                stats: stats.clone(),
                returned_clips: returned,
                recordings: recordings.clone(),
                beep: cache.beep(),
                departed: Arc::new(ArrayQueue::new(16)),
                max_unmixed_sources,
            },
            ClipPools::new(short_clips, Duration::from_secs(20), 0),
        )
        .unwrap();
        let queue = Arc::new(ArrayQueue::new(64));
        Rig {
            worker: Worker::new(env, queue.clone(), unbound_edge()),
            queue,
            events,
            recordings,
            stats,
            cache,
            t0: Instant::now(),
            ticks: 0,
            seen: Vec::new(),
        }
    }

    fn send(&mut self, command: WorkerCommand) {
        self.queue.push(command).unwrap();
    }

    fn now(&self) -> Instant {
        self.t0 + TICK * self.ticks
    }

    fn tick(&mut self) {
        self.worker.step(self.now());
        self.ticks += 1;
        while let Ok(e) = self.events.try_recv() {
            self.seen.push(e);
        }
    }

    /// Ticks until `done` holds for the events so far (at most `limit`); returns the new events.
    fn run_until(
        &mut self,
        limit: Duration,
        done: impl Fn(&[MediaEvent]) -> bool,
    ) -> Vec<MediaEvent> {
        let start = self.seen.len();
        let max = (limit.as_millis() / 20) as u32;
        for _ in 0..max {
            self.tick();
            if done(&self.seen[start..]) {
                break;
            }
        }
        self.seen[start..].to_vec()
    }

    fn open_two(&mut self) {
        for (c, p) in [(A, "part-a"), (B, "part-b")] {
            self.send(WorkerCommand::media(MediaCommand::OpenLeg {
                call: call(c),
                conversation: ConversationId::from("conv"),
                participant: ParticipantId::from(p),
                source_id: 1,
                hosting: Hosting::Service,
                prefetch: vec![],
            }));
        }
        let events = self.run_until(Duration::from_millis(40), |e| e.len() >= 2);
        assert_eq!(
            events,
            vec![
                MediaEvent::LegReady { call: call(A) },
                MediaEvent::LegReady { call: call(B) }
            ]
        );
    }

    fn speech(&mut self) -> Arc<Prompt> {
        let wav = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/speech-vm-intro-8k.wav"
        ))
        .unwrap();
        self.cache.load_wav("speech", &wav).unwrap()
    }

    fn tone_prompt(&mut self, digits: &str) -> Arc<Prompt> {
        self.cache
            .dtmf(&Digit::parse_sequence(digits).unwrap())
            .unwrap()
    }
}

fn record(stop: &str, max_secs: u64, barge_in: bool) -> RecordResponse {
    RecordResponse {
        prompt: None,
        barge_in_allowed: barge_in,
        initial_silence_timeout: Duration::from_secs(5),
        max_silence_timeout: Duration::from_secs(5),
        max_record_duration: Duration::from_secs(max_secs),
        play_beep: false,
        stop_tones: Digit::parse_sequence(stop).unwrap(),
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

/// A sendDtmfTones as the engine queues it: the keys already synthesised into `audio`.
fn send_dtmf(call: CallId, operation: OperationId, audio: Resolution) -> WorkerCommand {
    let command = MediaCommand::SendDtmf {
        call,
        operation,
        tones: vec![],
        delay_between: Duration::ZERO,
    };
    WorkerCommand::Media { command, audio }
}

fn outcome_of<'a>(events: &'a [MediaEvent], operation: &str) -> Option<&'a OperationOutcome> {
    events.iter().find_map(|e| match e {
        MediaEvent::OperationFinished {
            operation: o,
            outcome,
            ..
        } if o.as_str() == operation => Some(outcome),
        _ => None,
    })
}

fn finished_count(events: &[MediaEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, MediaEvent::OperationFinished { .. }))
        .count()
}

/// 20 ms frame levels (dB) of 16 kHz samples.
fn envelope(samples: &[i16]) -> Vec<f64> {
    samples
        .chunks(320)
        .map(|f| {
            let energy: f64 = f.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            10.0 * (energy / f.len() as f64 + 1.0).log10()
        })
        .collect()
}

/// The best normalised correlation of `probe`'s envelope inside `haystack`'s.
fn best_correlation(haystack: &[f64], probe: &[f64]) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut best = f64::MIN;
    for lag in 0..haystack.len().saturating_sub(probe.len()) + 1 {
        let h = &haystack[lag..lag + probe.len().min(haystack.len() - lag)];
        let p = &probe[..h.len()];
        let (mh, mp) = (mean(h), mean(p));
        let (mut num, mut dh, mut dp) = (0.0, 0.0, 0.0);
        for (x, y) in h.iter().zip(p) {
            num += (x - mh) * (y - mp);
            dh += (x - mh) * (x - mh);
            dp += (y - mp) * (y - mp);
        }
        if dh > 0.0 && dp > 0.0 {
            best = best.max(num / (dh * dp).sqrt());
        }
    }
    best
}

fn prompt_samples(prompt: &Prompt) -> Vec<i16> {
    (0..prompt.frames())
        .flat_map(|i| prompt.pcm(i).iter().copied())
        .collect()
}

#[path = "worker_app_hosted_tests.rs"]
mod app_hosted;

#[test]
fn bot_a_prompt_and_keys_reach_bot_b_through_the_codec_and_b_records_the_prompt() {
    let mut rig = Rig::new(2);
    rig.open_two();
    let speech = rig.speech();
    let keys = rig.tone_prompt("123#");
    rig.send(WorkerCommand::media(MediaCommand::SubscribeTones {
        call: call(B),
    }));
    rig.send(record_op(
        call(B),
        op("rec"),
        record("#", 20, false),
        Resolution::Ready(vec![]),
    ));
    rig.send(play(
        call(A),
        op("play"),
        Resolution::Ready(vec![speech.clone()]),
    ));
    rig.send(send_dtmf(
        call(A),
        op("keys"),
        Resolution::Ready(vec![keys]),
    ));
    let events = rig.run_until(Duration::from_secs(12), |e| finished_count(e) >= 3);

    let tones: Vec<(char, Option<&str>)> = events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::ToneDetected {
                call: c,
                tone,
                participant,
            } => {
                assert_eq!(c, &call(B), "only B subscribed");
                Some((tone.as_char(), participant.as_ref().map(|p| p.as_str())))
            }
            _ => None,
        })
        .collect();
    let from_a = Some("part-a");
    assert_eq!(
        tones,
        vec![('1', from_a), ('2', from_a), ('3', from_a), ('#', from_a)]
    );
    let order: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::OperationFinished { operation, .. } => Some(operation.as_str()),
            _ => None,
        })
        .collect();
    // The recording ends on '#' itself, before the key operation's trailing pause is over.
    assert_eq!(order, ["play", "rec", "keys"]);
    assert_eq!(
        outcome_of(&events, "play").unwrap().result,
        ResultCode::OperationCompleted
    );
    assert_eq!(
        outcome_of(&events, "keys").unwrap().result,
        ResultCode::OperationCompleted
    );
    let rec = outcome_of(&events, "rec").unwrap();
    assert_eq!(rec.result, ResultCode::RecordStopTone, "{rec:?}");
    let recording = rec.recording.clone().expect("a recording location");
    let id = recording.location.rsplit('/').next().unwrap();
    let wav = rig
        .recordings
        .download(id, &recording.access_token, rig.now())
        .unwrap();
    let samples: Vec<i16> = wav[44..]
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(
        samples.len() as f64 / 16_000.0 > speech.duration().as_secs_f64(),
        "the recording holds at least the prompt: {} samples",
        samples.len()
    );
    let r = best_correlation(&envelope(&samples), &envelope(&prompt_samples(&speech)));
    assert!(
        r > 0.85,
        "B's recording follows A's prompt (envelope correlation {r:.3})"
    );
}

#[test]
fn cancel_media_processing_cancels_the_running_and_queued_operations_once_each() {
    let mut rig = Rig::new(1);
    rig.open_two();
    let speech = rig.speech();
    let keys = rig.tone_prompt("9");
    for (name, prompts) in [("p1", vec![speech.clone()]), ("p2", vec![speech])] {
        rig.send(play(call(A), op(name), Resolution::Ready(prompts)));
    }
    rig.send(send_dtmf(call(A), op("k"), Resolution::Pending));
    rig.send(record_op(
        call(A),
        op("r"),
        record("", 5, false),
        Resolution::Ready(vec![]),
    ));
    rig.run_until(Duration::from_millis(200), |_| false);
    rig.send(WorkerCommand::media(MediaCommand::CancelMediaProcessing {
        call: call(A),
    }));
    let events = rig.run_until(Duration::from_millis(100), |_| false);
    assert_eq!(finished_count(&events), 4, "{events:?}");
    for name in ["p1", "p2", "k", "r"] {
        assert_eq!(
            outcome_of(&events, name).unwrap().result,
            ResultCode::OperationCanceled,
            "{name}"
        );
    }
    // A late resolution of the cancelled key operation changes nothing.
    rig.send(WorkerCommand::Resolved {
        call: call(A),
        operation: op("k"),
        prompts: Ok(vec![keys]),
    });
    let later = rig.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(finished_count(&later), 0, "{later:?}");
}

#[test]
fn a_barge_in_recording_cancels_prompts_and_records_but_keeps_queued_keys() {
    let mut rig = Rig::new(1);
    rig.open_two();
    let speech = rig.speech();
    let keys = rig.tone_prompt("5");
    rig.send(play(
        call(A),
        op("p1"),
        Resolution::Ready(vec![speech.clone()]),
    ));
    rig.send(play(call(A), op("p2"), Resolution::Ready(vec![speech])));
    rig.send(send_dtmf(call(A), op("k"), Resolution::Ready(vec![keys])));
    rig.run_until(Duration::from_millis(100), |_| false);
    rig.send(record_op(
        call(A),
        op("r"),
        record("", 1, true),
        Resolution::Ready(vec![]),
    ));
    let events = rig.run_until(Duration::from_secs(5), |e| finished_count(e) >= 4);
    let order: Vec<(&str, ResultCode)> = events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::OperationFinished {
                operation, outcome, ..
            } => Some((operation.as_str(), outcome.result)),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        [
            ("p1", ResultCode::OperationCanceled),
            ("p2", ResultCode::OperationCanceled),
            // B says nothing: the recording ends at its 1 s maximum, then the keys play.
            ("r", ResultCode::RecordMaxDuration),
            ("k", ResultCode::OperationCompleted),
        ],
        "{events:?}"
    );
}

#[test]
fn unusable_audio_fails_in_order_and_a_hang_up_ends_the_other_side_recording_at_once() {
    let mut rig = Rig::new(1);
    rig.open_two();
    rig.send(record_op(
        call(B),
        op("rec"),
        record("", 20, false),
        Resolution::Ready(vec![]),
    ));
    rig.send(play(call(A), op("bad"), Resolution::Pending));
    rig.run_until(Duration::from_millis(60), |_| false);
    let failure = PromptFailure {
        result: ResultCode::MediaUnusable,
        detail: "prompts[0]: WAV fmt sample rate is 7000 Hz".into(),
    };
    rig.send(WorkerCommand::Resolved {
        call: call(A),
        operation: op("bad"),
        prompts: Err(failure.clone()),
    });
    let events = rig.run_until(Duration::from_millis(60), |e| finished_count(e) >= 1);
    let bad = outcome_of(&events, "bad").unwrap();
    assert_eq!(bad.result, ResultCode::MediaUnusable);
    assert_eq!(bad.detail.as_deref(), Some(failure.detail.as_str()));

    // A hangs up: B's recording of A ends on the next tick, not at its 20 s maximum.
    rig.send(WorkerCommand::media(MediaCommand::CloseLeg {
        call: call(A),
    }));
    let events = rig.run_until(Duration::from_millis(100), |e| finished_count(e) >= 1);
    let rec = outcome_of(&events, "rec").expect("B's recording ended");
    assert_eq!(rec.result, ResultCode::OperationCompleted);
    assert_eq!(
        rec.detail.as_deref(),
        Some("the recorded participant left the call")
    );
    assert!(rec.recording.is_some());

    // B hangs up too: its recordings go with its call, and the clip buffer returns to the pool.
    rig.send(WorkerCommand::media(MediaCommand::CloseLeg {
        call: call(B),
    }));
    rig.run_until(Duration::from_millis(40), |_| false);
    assert!(rig.worker.is_idle());
    assert_eq!(rig.recordings.sweep(rig.now()), 0);
    rig.run_until(Duration::from_millis(40), |_| false);
    rig.send(WorkerCommand::media(MediaCommand::OpenLeg {
        call: call("c"),
        conversation: ConversationId::from("c2"),
        participant: ParticipantId::from("pc"),
        source_id: 1,
        hosting: Hosting::Service,
        prefetch: vec![],
    }));
    rig.send(WorkerCommand::media(MediaCommand::OpenLeg {
        call: call("d"),
        conversation: ConversationId::from("c2"),
        participant: ParticipantId::from("pd"),
        source_id: 1,
        hosting: Hosting::Service,
        prefetch: vec![],
    }));
    rig.send(record_op(
        call("c"),
        op("again"),
        record("", 1, false),
        Resolution::Ready(vec![]),
    ));
    let events = rig.run_until(Duration::from_secs(2), |e| finished_count(e) >= 1);
    assert_eq!(
        outcome_of(&events, "again").unwrap().result,
        ResultCode::RecordMaxDuration,
        "the single clip buffer was returned and could be used again; {events:?}"
    );
}

#[test]
fn a_recording_without_a_free_buffer_fails_and_is_counted() {
    let mut rig = Rig::new(0);
    rig.open_two();
    rig.send(record_op(
        call(B),
        op("rec"),
        record("", 5, false),
        Resolution::Ready(vec![]),
    ));
    let events = rig.run_until(Duration::from_millis(40), |e| finished_count(e) >= 1);
    let outcome = outcome_of(&events, "rec").unwrap();
    assert_eq!(outcome.result, ResultCode::OperationMediaFailure);
    assert!(
        outcome
            .detail
            .as_deref()
            .unwrap()
            .contains("recording buffer"),
        "{outcome:?}"
    );
    assert_eq!(WorkerStats::get(&rig.stats.clip_pool_exhausted), 1);
}

#[test]
fn a_muted_bot_is_heard_as_silence() {
    let mut rig = Rig::new(1);
    rig.open_two();
    let keys = rig.tone_prompt("7");
    rig.send(WorkerCommand::media(MediaCommand::SubscribeTones {
        call: call(B),
    }));
    rig.send(WorkerCommand::media(MediaCommand::SetSelfMuted {
        call: call(A),
        muted: true,
    }));
    rig.send(send_dtmf(
        call(A),
        op("k1"),
        Resolution::Ready(vec![keys.clone()]),
    ));
    let events = rig.run_until(Duration::from_secs(1), |e| finished_count(e) >= 1);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, MediaEvent::ToneDetected { .. })),
        "{events:?}"
    );
    rig.send(WorkerCommand::media(MediaCommand::SetServerMuted {
        conversation: ConversationId::from("conv"),
        participant: ParticipantId::from("part-a"),
        muted: false,
    }));
    rig.send(WorkerCommand::media(MediaCommand::SetSelfMuted {
        call: call(A),
        muted: false,
    }));
    rig.send(send_dtmf(call(A), op("k2"), Resolution::Ready(vec![keys])));
    let events = rig.run_until(Duration::from_secs(1), |e| finished_count(e) >= 1);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, MediaEvent::ToneDetected { tone, .. } if tone.as_char() == '7')),
        "{events:?}"
    );
}

#[test]
fn a_third_member_is_linked_and_every_key_names_its_presser() {
    let mut rig = Rig::new(1);
    rig.open_two();
    rig.send(WorkerCommand::media(MediaCommand::OpenLeg {
        call: call("call-c"),
        conversation: ConversationId::from("conv"),
        participant: ParticipantId::from("part-c"),
        source_id: 1,
        hosting: Hosting::Service,
        prefetch: vec![],
    }));
    rig.run_until(Duration::from_millis(60), |_| false);
    let four = rig.tone_prompt("4");
    let six = rig.tone_prompt("6");
    rig.send(WorkerCommand::media(MediaCommand::SubscribeTones {
        call: call(B),
    }));
    rig.send(send_dtmf(call(A), op("a4"), Resolution::Ready(vec![four])));
    rig.send(send_dtmf(
        call("call-c"),
        op("c6"),
        Resolution::Ready(vec![six]),
    ));
    let events = rig.run_until(Duration::from_secs(1), |e| finished_count(e) >= 2);
    let mut tones: Vec<(char, String)> = events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::ToneDetected {
                tone, participant, ..
            } => Some((tone.as_char(), participant.clone().unwrap().to_string())),
            _ => None,
        })
        .collect();
    tones.sort();
    assert_eq!(
        tones,
        vec![('4', "part-a".to_owned()), ('6', "part-c".to_owned())]
    );
}
