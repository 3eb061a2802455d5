//! App-hosted bots on a stepped worker: what they hear reaches their lane (the mix, each speaker
//! unmixed, on an exact media clock), what they queue is heard by the others, keys and speakers
//! become notices, and a bot that never reads costs the worker nothing but dropped frames. Bots
//! playing tone prompts stand in for the people they talk to; their audio crosses real Opus.

use std::sync::Arc;
use std::time::Duration;

use switchboard_media::Prompt;
use switchboard_media::dtmf::Digit;

use super::{Rig, call, op, outcome_of, play, record, record_op, send_dtmf};
use crate::calls::ids::{ConversationId, ParticipantId};
use crate::calls::media::{
    AppHosted, Hosting, MediaCommand, MediaEvent, MediaSocketConfig, StreamDirections,
};
use crate::calls::result_codes::ResultCode;
use crate::media_plane::app_stream::{
    AppStream, FLAG_SILENCE, FLAG_UNMIXED, FRAME_SAMPLES, MAX_LISTED_SPEAKERS, MIXED_SOURCE,
    StreamFrame, StreamNotice, TIMESTAMP_STEP,
};
use crate::media_plane::command::{Resolution, WorkerCommand};
use crate::media_plane::worker::TICK;

/// The app-hosted bot's call, participant and source id.
const BOT: (&str, &str, u32) = ("call-bot", "part-bot", 22);
/// The people it talks to (bots playing tones), with their source ids and pitches.
const PEOPLE: [(&str, &str, u32, f32); 3] = [
    ("call-a", "part-a", 11, 500.0),
    ("call-c", "part-c", 33, 900.0),
    ("call-d", "part-d", 44, 1400.0),
];

fn socket(directions: StreamDirections, mixed: bool, unmixed: bool) -> MediaSocketConfig {
    MediaSocketConfig {
        url: "ws://bot.test/media".into(),
        auth_token: None,
        directions,
        mixed,
        unmixed,
    }
}

/// `seconds` of a sine at `hz`, 16 kHz, with `amplitude`.
fn sine(hz: f32, amplitude: f32, seconds: f32) -> Vec<i16> {
    (0..(seconds * 16_000.0) as usize)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            (amplitude * (2.0 * std::f32::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

/// Power of `hz` in `pcm` relative to the whole, by a Goertzel filter (1.0: a pure tone).
fn share(pcm: &[i16], hz: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * hz / 16_000.0;
    let (mut s1, mut s2, mut total) = (0.0f32, 0.0f32, 0.0f32);
    for &x in pcm {
        let x = f32::from(x);
        total += x * x;
        let s = x + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    2.0 * power / (pcm.len() as f32 * total.max(1.0))
}

fn drain_frames(stream: &AppStream) -> Vec<StreamFrame> {
    std::iter::from_fn(|| stream.take_frame()).collect()
}

fn drain_notices(stream: &AppStream) -> Vec<StreamNotice> {
    std::iter::from_fn(|| stream.take_notice()).collect()
}

impl Rig {
    /// Opens a service-hosted bot's leg in the conversation.
    fn open_person(&mut self, (id, participant, source_id, _): (&str, &str, u32, f32)) {
        self.send(WorkerCommand::media(MediaCommand::OpenLeg {
            call: call(id),
            conversation: ConversationId::from("conv"),
            participant: ParticipantId::from(participant),
            source_id,
            hosting: Hosting::Service,
            prefetch: vec![],
        }));
    }

    /// Opens the app-hosted bot's leg and attaches its lane, as the engine does; returns the
    /// lane (the socket task's side).
    fn open_app_bot(&mut self, config: MediaSocketConfig, send_queue_ms: u64) -> Arc<AppStream> {
        let stream = Arc::new(AppStream::new(config.clone(), send_queue_ms, 8));
        let (id, participant, source_id) = BOT;
        self.send(WorkerCommand::media(MediaCommand::OpenLeg {
            call: call(id),
            conversation: ConversationId::from("conv"),
            participant: ParticipantId::from(participant),
            source_id,
            hosting: Hosting::App(Box::new(AppHosted {
                socket: config,
                app_id: "app".into(),
                tenant_id: "tenant".into(),
                participants: vec![],
            })),
            prefetch: vec![],
        }));
        self.send(WorkerCommand::AttachStream {
            call: call(id),
            stream: stream.clone(),
        });
        stream
    }

    /// A tone prompt of `seconds` at `hz`.
    fn tone(&mut self, hz: f32, amplitude: f32, seconds: f32) -> Arc<Prompt> {
        self.cache
            .insert_pcm(
                &format!("tone-{hz}-{amplitude}"),
                &sine(hz, amplitude, seconds),
            )
            .unwrap()
    }

    /// Ticks once per frame of `pcm`, queuing the bot's audio as the socket task does (topping
    /// the playout ring up between ticks).
    fn run_speaking(&mut self, lane: &AppStream, pcm: &[i16]) {
        let mut frames = pcm.chunks_exact(FRAME_SAMPLES);
        for _ in 0..pcm.len() / FRAME_SAMPLES {
            while lane.playout_room() > 0 {
                let Some(frame) = frames.next() else { break };
                assert!(lane.queue_playout(frame.try_into().unwrap()));
            }
            self.tick();
        }
    }

    /// Person `who` plays a tone of its pitch for 10 s (longer than any test).
    fn plays_its_tone(&mut self, who: (&str, &str, u32, f32), amplitude: f32) {
        let tone = self.tone(who.3, amplitude, 10.0);
        self.send(play(
            call(who.0),
            op(&format!("tone-{}", who.0)),
            Resolution::Ready(vec![tone]),
        ));
    }
}

/// The frames of each tick, grouped by their shared timestamp (frames come in tick order).
fn by_tick(frames: &[StreamFrame]) -> Vec<Vec<StreamFrame>> {
    let mut ticks: Vec<Vec<StreamFrame>> = Vec::new();
    for frame in frames {
        match ticks.last_mut() {
            Some(tick) if tick[0].timestamp == frame.timestamp => tick.push(*frame),
            _ => ticks.push(vec![*frame]),
        }
    }
    ticks
}

#[test]
fn the_bot_hears_the_other_member_mixed_one_frame_per_tick_on_an_exact_clock() {
    let mut rig = Rig::new(1);
    rig.open_person(PEOPLE[0]);
    let lane = rig.open_app_bot(socket(StreamDirections::SendRecv, true, false), 2_000);
    rig.plays_its_tone(PEOPLE[0], 8000.0);
    let mut frames = Vec::new();
    for tick in 0..80u32 {
        // Some ticks run late (the worker was busy): the media clock counts ticks, not time.
        let late = if tick % 7 == 3 {
            Duration::from_millis(17)
        } else {
            Duration::ZERO
        };
        rig.worker.step(rig.now() + late);
        rig.ticks += 1;
        let got = drain_frames(&lane);
        assert_eq!(got.len(), 1, "one frame on tick {tick}: {got:?}");
        frames.extend(got);
    }
    for (k, frame) in frames.iter().enumerate() {
        assert_eq!(frame.source_id, MIXED_SOURCE);
        assert_eq!(frame.timestamp, k as u64 * TIMESTAMP_STEP, "frame {k}");
        assert_eq!(frame.flags & FLAG_UNMIXED, 0);
    }
    let heard: Vec<i16> = frames[20..].iter().flat_map(|f| f.pcm).collect();
    let tone = share(&heard, PEOPLE[0].3);
    assert!(
        tone > 0.8,
        "the mix holds the other member's tone ({tone:.3})"
    );
    assert!(
        frames[20..].iter().all(|f| f.flags & FLAG_SILENCE == 0),
        "someone is audible"
    );
    assert!(
        frames[0].flags & FLAG_SILENCE != 0,
        "nobody was heard on the very first tick"
    );
    assert_eq!(lane.frames_dropped(), 0);
    let notices = drain_notices(&lane);
    let mut expected = [0; MAX_LISTED_SPEAKERS];
    expected[0] = PEOPLE[0].2;
    assert!(
        notices.iter().any(|n| matches!(n, StreamNotice::ActiveSpeakers { count: 1, source_ids, .. } if *source_ids == expected)),
        "{notices:?}"
    );
    assert!(
        notices.contains(&StreamNotice::DominantSpeaker {
            current: PEOPLE[0].2,
            previous: 0
        }),
        "{notices:?}"
    );
}

#[test]
fn the_bots_queued_audio_is_heard_by_the_other_member() {
    let mut rig = Rig::new(1);
    rig.open_person(PEOPLE[0]);
    let lane = rig.open_app_bot(socket(StreamDirections::SendRecv, true, false), 2_000);
    rig.send(record_op(
        call(PEOPLE[0].0),
        op("rec"),
        record("", 2, false),
        Resolution::Ready(vec![]),
    ));
    let start = rig.seen.len();
    rig.run_speaking(&lane, &sine(1100.0, 8000.0, 2.5));
    let events = &rig.seen[start..];
    let rec = outcome_of(events, "rec").expect("the recording ended");
    assert_eq!(rec.result, ResultCode::RecordMaxDuration, "{rec:?}");
    assert_eq!(lane.played(), 125, "a frame a tick");
    let recording = rec.recording.clone().unwrap();
    let id = recording.location.rsplit('/').next().unwrap();
    let wav = rig
        .recordings
        .download(id, &recording.access_token, rig.now())
        .unwrap();
    let samples: Vec<i16> = wav[44..]
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(samples.len() >= 16_000, "{} samples", samples.len());
    // Past the first frames (the codec settling), the recording is the bot's tone.
    let tone = share(&samples[3200..], 1100.0);
    assert!(
        tone > 0.8,
        "the other member heard the bot's tone ({tone:.3})"
    );
}

#[test]
fn in_a_room_each_speaker_is_sent_alone_with_its_source_id_and_the_mix_holds_all() {
    let mut rig = Rig::new(1);
    for person in PEOPLE {
        rig.open_person(person);
    }
    let lane = rig.open_app_bot(socket(StreamDirections::SendRecv, true, true), 2_000);
    for (person, amplitude) in PEOPLE.into_iter().zip([9000.0, 6000.0, 3000.0]) {
        rig.plays_its_tone(person, amplitude);
    }
    // The bot talks too, loudest of all: it is in the room, yet never sent to itself.
    let own = sine(1700.0, 12_000.0, 1.2);
    rig.run_speaking(&lane, &own);
    let ticks = by_tick(&drain_frames(&lane));
    assert_eq!(ticks.len(), 60, "one tick's frames per tick");
    for (k, pair) in ticks.windows(2).enumerate() {
        assert_eq!(
            pair[1][0].timestamp - pair[0][0].timestamp,
            TIMESTAMP_STEP,
            "tick {k}"
        );
    }
    let settled = &ticks[20..];
    let mut mix = Vec::new();
    let mut alone: [Vec<i16>; 3] = Default::default();
    for tick in settled {
        let ids: Vec<u32> = tick.iter().map(|f| f.source_id).collect();
        // The mix first, then the speakers loudest first; never the bot itself.
        assert_eq!(ids, [MIXED_SOURCE, 11, 33, 44], "{tick:?}");
        assert_eq!(tick[0].flags, 0);
        mix.extend(tick[0].pcm);
        for (k, frame) in tick[1..].iter().enumerate() {
            assert_eq!(frame.flags, FLAG_UNMIXED);
            alone[k].extend(frame.pcm);
        }
    }
    for (k, person) in PEOPLE.iter().enumerate() {
        for (j, other) in PEOPLE.iter().enumerate() {
            let s = share(&alone[k], other.3);
            if j == k {
                assert!(s > 0.9, "{}'s frames hold its tone ({s:.3})", person.0);
            } else {
                assert!(
                    s < 0.02,
                    "{}'s frames hold {}'s tone ({s:.3})",
                    person.0,
                    other.0
                );
            }
        }
        let s = share(&mix, person.3);
        assert!(s > 0.04, "the mix holds {}'s tone ({s:.3})", person.0);
    }
    let own = share(&mix, 1700.0);
    assert!(own < 0.01, "the bot does not hear itself ({own:.3})");
    assert_eq!(lane.played(), 60);
    let notices = drain_notices(&lane);
    let mut all = [0; MAX_LISTED_SPEAKERS];
    all[..3].copy_from_slice(&[11, 33, 44]);
    assert!(
        notices.iter().any(|n| matches!(n, StreamNotice::ActiveSpeakers { count: 3, source_ids, .. } if *source_ids == all)),
        "the three speakers, loudest first: {notices:?}"
    );
    let dominant: Vec<&StreamNotice> = notices
        .iter()
        .filter(|n| matches!(n, StreamNotice::DominantSpeaker { .. }))
        .collect();
    assert_eq!(
        dominant,
        [&StreamNotice::DominantSpeaker {
            current: 11,
            previous: 0
        }],
        "the loudest dominates, once"
    );
}

#[test]
fn the_unmixed_cap_keeps_the_loudest_speakers() {
    let mut rig = Rig::with_unmixed_cap(1, 2);
    for person in PEOPLE {
        rig.open_person(person);
    }
    let lane = rig.open_app_bot(socket(StreamDirections::SendRecv, false, true), 2_000);
    for (person, amplitude) in PEOPLE.into_iter().zip([3000.0, 9000.0, 6000.0]) {
        rig.plays_its_tone(person, amplitude);
    }
    rig.run_until(Duration::from_millis(800), |_| false);
    let ticks = by_tick(&drain_frames(&lane));
    for tick in &ticks[20..] {
        let ids: Vec<u32> = tick.iter().map(|f| f.source_id).collect();
        assert_eq!(ids, [33, 44], "no mix asked for; the two loudest");
    }
}

#[test]
fn a_server_muted_member_is_neither_sent_unmixed_nor_mixed() {
    let mut rig = Rig::new(1);
    for person in PEOPLE {
        rig.open_person(person);
    }
    let lane = rig.open_app_bot(socket(StreamDirections::SendRecv, true, true), 2_000);
    for person in PEOPLE {
        rig.plays_its_tone(person, 6000.0);
    }
    rig.send(WorkerCommand::media(MediaCommand::SetServerMuted {
        conversation: ConversationId::from("conv"),
        participant: ParticipantId::from(PEOPLE[1].1),
        muted: true,
    }));
    rig.run_until(Duration::from_millis(800), |_| false);
    let ticks = by_tick(&drain_frames(&lane));
    let mut mix = Vec::new();
    for tick in &ticks[20..] {
        assert!(
            tick.iter().all(|f| f.source_id != PEOPLE[1].2),
            "the muted member is not sent: {tick:?}"
        );
        assert_eq!(tick.len(), 3, "the mix and two speakers: {tick:?}");
        mix.extend(tick[0].pcm);
    }
    let muted = share(&mix, PEOPLE[1].3);
    assert!(
        muted < 0.01,
        "the mix leaves the muted member out ({muted:.3})"
    );
    assert!(share(&mix, PEOPLE[0].3) > 0.2 && share(&mix, PEOPLE[2].3) > 0.2);
}

#[test]
fn each_key_press_is_one_dtmf_notice_naming_the_presser_directly_and_in_a_room() {
    let mut rig = Rig::new(1);
    rig.open_person(PEOPLE[0]);
    let lane = rig.open_app_bot(socket(StreamDirections::SendRecv, true, false), 2_000);
    rig.run_until(Duration::from_millis(40), |_| false);
    let five = rig.cache.dtmf(&[Digit::D5]).unwrap();
    rig.send(send_dtmf(
        call(PEOPLE[0].0),
        op("k5"),
        Resolution::Ready(vec![five]),
    ));
    let events = rig.run_until(Duration::from_secs(1), |_| false);
    let keys = |notices: Vec<StreamNotice>| -> Vec<(char, u32)> {
        notices
            .into_iter()
            .filter_map(|n| match n {
                StreamNotice::Dtmf {
                    digit, source_id, ..
                } => Some((digit.as_char(), source_id)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(keys(drain_notices(&lane)), [('5', PEOPLE[0].2)]);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, MediaEvent::ToneDetected { .. })),
        "nobody subscribed to tones: {events:?}"
    );

    // A third member: the room hears the keys, and subscribing changes nothing for the lane.
    rig.open_person(PEOPLE[1]);
    rig.send(WorkerCommand::media(MediaCommand::SubscribeTones {
        call: call(BOT.0),
    }));
    rig.run_until(Duration::from_millis(60), |_| false);
    let seven = rig.cache.dtmf(&[Digit::D7]).unwrap();
    rig.send(send_dtmf(
        call(PEOPLE[1].0),
        op("k7"),
        Resolution::Ready(vec![seven]),
    ));
    let events = rig.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(keys(drain_notices(&lane)), [('7', PEOPLE[1].2)]);
    let tones: Vec<&MediaEvent> = events
        .iter()
        .filter(|e| matches!(e, MediaEvent::ToneDetected { .. }))
        .collect();
    assert_eq!(
        tones,
        [&MediaEvent::ToneDetected {
            call: call(BOT.0),
            tone: Digit::D7,
            participant: Some(ParticipantId::from(PEOPLE[1].1)),
        }]
    );
}

#[test]
fn a_bot_that_never_reads_loses_the_oldest_frames_and_the_worker_goes_on() {
    let mut rig = Rig::new(1);
    for person in PEOPLE {
        rig.open_person(person);
    }
    // 100 ms of frames toward the bot: five ticks of the mix and up to eight speakers.
    let lane = rig.open_app_bot(socket(StreamDirections::SendRecv, true, true), 100);
    for person in PEOPLE {
        rig.plays_its_tone(person, 6000.0);
    }
    rig.run_until(Duration::from_secs(2), |_| false);
    let dropped = lane.frames_dropped();
    assert!(dropped > 250, "{dropped} frames dropped");
    let kept = drain_frames(&lane);
    assert_eq!(kept.len(), 5 * 9, "the ring is full of the newest frames");
    assert_eq!(
        kept.last().unwrap().timestamp,
        99 * TIMESTAMP_STEP,
        "the newest frame is the last tick's"
    );
    // The worker went on ticking all along: the lane fills again at once.
    rig.run_until(TICK, |_| false);
    assert_eq!(drain_frames(&lane).len(), 4, "the mix and three speakers");
}

#[test]
fn directions_decide_what_flows_and_a_service_bot_gets_no_lane() {
    let mut rig = Rig::new(1);
    rig.open_person(PEOPLE[0]);
    let lane = rig.open_app_bot(socket(StreamDirections::SendOnly, true, true), 2_000);
    rig.plays_its_tone(PEOPLE[0], 6000.0);
    assert!(lane.queue_playout([1000; FRAME_SAMPLES]));
    rig.run_until(Duration::from_millis(400), |_| false);
    assert!(
        drain_frames(&lane).is_empty(),
        "a send-only bot hears nothing"
    );
    assert_eq!(lane.played(), 1, "but it speaks");

    rig.send(WorkerCommand::media(MediaCommand::CloseLeg {
        call: call(BOT.0),
    }));
    let lane = rig.open_app_bot(socket(StreamDirections::RecvOnly, true, false), 2_000);
    assert!(lane.queue_playout([1000; FRAME_SAMPLES]));
    rig.run_until(Duration::from_millis(100), |_| false);
    assert_eq!(lane.played(), 0, "a receive-only bot is not played");
    assert_eq!(drain_frames(&lane).len(), 5, "but it hears");

    let stray = Arc::new(AppStream::new(
        socket(StreamDirections::SendRecv, true, false),
        2_000,
        0,
    ));
    for leg in [PEOPLE[0].0, "no-such-call"] {
        rig.send(WorkerCommand::AttachStream {
            call: call(leg),
            stream: stray.clone(),
        });
    }
    rig.run_until(TICK, |_| false);
    assert_eq!(
        Arc::strong_count(&stray),
        1,
        "neither a service-hosted leg nor an unknown call keeps a lane"
    );
}
