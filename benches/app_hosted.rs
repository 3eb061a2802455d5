//! Criterion: the media worker's cost per app-hosted call-frame (one 20 ms frame of a P2P call
//! between a person and an app-hosted bot, audio both ways), beside a bare libopus decode to
//! 16 kHz measured in the same run.
//!
//! One call-frame is what the worker does for the call each tick: the person's Opus packet goes
//! into the bot's session and is decoded there (what the bot hears), the lane gets the mix and
//! the person's unmixed frame with the speaker notices, the bot's next 20 ms is taken from its
//! playout ring and encoded, and the packet is handed to the person's WebRTC peer. The path is
//! the worker's own (`ConversationAudio`, as `Worker::step` and the edge's audio events drive
//! it); the UDP and SRTP of the person's peer are the edge's, measured by the `webrtc_edge`
//! bench, and left out here (the peer sender only touches the packet). The media socket task's
//! share — topping the bot's playout ring up from the fixture's speech and taking the frames —
//! runs inside the measured path too: it is a few copies, so the cost is if anything overstated.
//!
//! `bare_decode_and_live_encode` is the floor of any call whose bot speaks live audio: one decode
//! and one encode with the session's live encoder.
//!
//! `cargo bench --bench app_hosted -- --warm-up-time 1 --measurement-time 3`
//!
//! Capacity mode, like `benches/capacity.rs`: N app-hosted P2P calls on one thread ticked every
//! 20 ms in real time, printing tick times and late ticks (work not finished by the next tick's
//! deadline): `APP_HOSTED_CAPACITY=1 cargo bench --bench app_hosted` (about 20 s per N with the
//! default 1000 ticks; `CAPACITY_TICKS=500`, `CAPACITY_N=100,300,600` override).

#[path = "support/media_fixture.rs"]
mod media_fixture;
#[path = "support/paired.rs"]
mod paired;

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use crossbeam_queue::ArrayQueue;
use media_fixture::{Fixture, Stream};
use switchboard::calls::ids::{CallId, ConversationId, ParticipantId};
use switchboard::calls::media::{
    AppHosted, Hosting, MediaEvent, MediaEventSink, MediaSocketConfig, StreamDirections,
};
use switchboard::media_plane::WebRtcLegState;
use switchboard::media_plane::app_stream::{AppStream, FRAME_SAMPLES};
use switchboard::media_plane::browser::PeerSender;
use switchboard::media_plane::clips::ClipPools;
use switchboard::media_plane::conversation_audio::ConversationAudio;
use switchboard::media_plane::env::{Shared, WorkerEnv};
use switchboard::media_plane::recordings::RecordingStore;
use switchboard::media_plane::stats::WorkerStats;
use switchboard::webrtc::negotiation::{self, rtc_config};
use switchboard::webrtc::{AudioPacket, EdgeConfig, PeerId, WebRtcEdge};
use switchboard_media::codec::opus::{LIVE_ENCODER, encode_frame, new_encoder};
use switchboard_media::frame::MAX_PAYLOAD;
use switchboard_media::{Prompt, PromptCache};

const GROUP: &str = "app_hosted_per_call_frame";
const TICK: Duration = Duration::from_millis(20);

/// The person's WebRTC peer as the worker's edge would take the bot's packets: only touched.
struct Peer;

impl PeerSender for Peer {
    fn send(&mut self, _peer: PeerId, timestamp: u32, marker: bool, payload: &[u8]) {
        black_box((timestamp, marker, payload));
    }

    fn forward(&mut self, _peer: PeerId, timestamp: u32, marker: bool, payload: &Arc<[u8]>) {
        black_box((timestamp, marker, payload));
    }
}

/// What every call shares: the worker's environment and the person's edge peer id (the calls are
/// separate conversations, so one id serves them all).
struct Worker {
    env: WorkerEnv,
    events: tokio::sync::mpsc::Receiver<MediaEvent>,
    peer: PeerId,
    /// The fixture's packets as the edge hands them over (shared, not copied).
    packets: Vec<Arc<[u8]>>,
}

impl Worker {
    fn new(fx: &Fixture) -> Worker {
        let (sink, events) = MediaEventSink::channel(4096);
        let returned = Arc::new(ArrayQueue::new(1));
        let cache = PromptCache::new().unwrap();
        let beep: Arc<Prompt> = cache.beep();
        let env = WorkerEnv::new(
            0,
            Shared {
                events: sink,
                stats: Arc::new(WorkerStats::default()),
                returned_clips: returned.clone(),
                recordings: Arc::new(RecordingStore::new(
                    "http://bench",
                    Duration::from_secs(60),
                    vec![returned],
                )),
                beep,
                departed: Arc::new(ArrayQueue::new(1)),
                max_unmixed_sources: 0,
            },
            ClipPools::new(0, Duration::from_secs(1), 0),
        )
        .unwrap();
        Worker {
            env,
            events,
            peer: person_peer(),
            packets: fx.packets.iter().map(|p| Arc::from(&p[..])).collect(),
        }
    }

    /// Takes the events the calls reported (speaking hints), as the control plane would.
    fn drain_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            black_box(event);
        }
    }
}

/// A peer id from a real edge: a browser-like offer answered by it (ICE never runs: the packets
/// are handed to the conversation directly, as the edge's audio events are).
fn person_peer() -> PeerId {
    let edge_addr: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let mut edge = WebRtcEdge::new(EdgeConfig::default(), vec![edge_addr]).unwrap();
    let now = Instant::now();
    let mut rtc = rtc_config(false, negotiation::new_certificate()).build(now);
    rtc.add_local_candidate(
        str0m::Candidate::host("10.0.1.1:10000".parse().unwrap(), "udp").unwrap(),
    );
    let mut change = rtc.sdp_api();
    change.add_media(
        str0m::media::MediaKind::Audio,
        str0m::media::Direction::SendRecv,
        None,
        None,
        None,
    );
    let (offer, _pending) = change.apply().unwrap();
    edge.accept_offer(now, &offer.to_sdp_string()).unwrap().0
}

/// One P2P call: a person (member 0, talking the fixture's speech) and an app-hosted bot that
/// asked for mixed and unmixed audio both ways, talking the same speech from another point.
struct AppCall {
    conversation: ConversationAudio,
    lane: Arc<AppStream>,
    stream: Stream,
    /// Where the person's speech and the bot's start in the fixture.
    offset: usize,
    bot_frame: usize,
}

impl AppCall {
    fn new(worker: &Worker, k: usize) -> AppCall {
        let socket = MediaSocketConfig {
            url: "ws://bot.bench/media".into(),
            auth_token: None,
            directions: StreamDirections::SendRecv,
            mixed: true,
            unmixed: true,
        };
        let lane = Arc::new(AppStream::new(socket.clone(), 1_000, 8));
        let mut conversation = ConversationAudio::new(ConversationId::from(format!("conv-{k}")));
        let person = CallId::from(format!("person-{k}"));
        let (state, _watch) = tokio::sync::watch::channel(WebRtcLegState::Connecting);
        conversation
            .join_browser(
                person.clone(),
                ParticipantId::from("person"),
                1,
                worker.peer,
                state,
            )
            .unwrap();
        conversation
            .member_mut(&person)
            .and_then(|m| m.browser_mut())
            .unwrap()
            .connected = true;
        let bot = CallId::from(format!("bot-{k}"));
        conversation
            .join_bot(
                bot.clone(),
                ParticipantId::from("bot"),
                2,
                Hosting::App(Box::new(AppHosted {
                    socket,
                    app_id: "app".into(),
                    tenant_id: "tenant".into(),
                    participants: vec![],
                })),
            )
            .unwrap();
        conversation.attach_stream(&bot, lane.clone()).unwrap();
        AppCall {
            conversation,
            lane,
            stream: Stream::new(Instant::now()),
            offset: k * 37,
            bot_frame: k * 53,
        }
    }

    /// One call-frame: the socket task's share (the bot's next frame queued, what it was sent
    /// taken), then the worker's: the person's packet in and the tick.
    fn frame(&mut self, worker: &mut Worker, fx: &Fixture) {
        while self.lane.playout_room() > 0 {
            self.bot_frame = (self.bot_frame + 1) % fx.pcm.len();
            self.lane.queue_playout(fx.pcm[self.bot_frame]);
        }
        while let Some(frame) = self.lane.take_frame() {
            black_box(&frame);
        }
        while let Some(notice) = self.lane.take_notice() {
            black_box(notice);
        }
        let (sequence, rtp_timestamp, i, now) = self.stream.next(fx.packets.len());
        let packet = AudioPacket {
            payload: worker.packets[(i + self.offset) % fx.packets.len()].clone(),
            sequence: u64::from(sequence),
            rtp_timestamp,
            marker: false,
            arrival: now,
        };
        self.conversation
            .browser_audio(&worker.env, 0, &packet, &mut Peer, now);
        self.conversation.tick(&mut worker.env, &mut Peer, now);
    }
}

/// The floor of a call-frame whose bot speaks live audio: one bare decode of the person's packet
/// and one encode of the bot's 20 ms with the session's live encoder (CELT, complexity 0).
struct DecodeEncode {
    decoder: opus::Decoder,
    encoder: opus::Encoder,
    pcm: [i16; FRAME_SAMPLES],
    packet: [u8; MAX_PAYLOAD],
    n: usize,
}

impl DecodeEncode {
    fn new() -> DecodeEncode {
        DecodeEncode {
            decoder: opus::Decoder::new(16_000, opus::Channels::Mono).unwrap(),
            encoder: new_encoder(LIVE_ENCODER).unwrap(),
            pcm: [0; FRAME_SAMPLES],
            packet: [0; MAX_PAYLOAD],
            n: 0,
        }
    }

    fn frame(&mut self, fx: &Fixture) {
        self.n = (self.n + 1) % fx.packets.len();
        black_box(
            self.decoder
                .decode(&fx.packets[self.n], &mut self.pcm, false)
                .unwrap(),
        );
        let frame = &fx.pcm[(self.n + 53) % fx.pcm.len()];
        black_box(encode_frame(&mut self.encoder, frame, &mut self.packet).unwrap());
    }
}

fn benches(c: &mut Criterion) {
    let fx = Fixture::load();
    let mut worker = Worker::new(&fx);
    let mut group = c.benchmark_group(GROUP);
    group.throughput(Throughput::Elements(1));
    group.bench_function("bare_libopus_decode_16k", |b| {
        let mut dec = opus::Decoder::new(16_000, opus::Channels::Mono).unwrap();
        let mut out = [0i16; FRAME_SAMPLES];
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % fx.packets.len();
            black_box(dec.decode(&fx.packets[n], &mut out, false).unwrap());
        })
    });
    group.bench_function("bare_decode_and_live_encode", |b| {
        let mut floor = DecodeEncode::new();
        b.iter(|| floor.frame(&fx))
    });
    group.bench_function("app_hosted_p2p", |b| {
        let mut call = AppCall::new(&worker, 0);
        let mut n = 0u32;
        b.iter(|| {
            call.frame(&mut worker, &fx);
            n += 1;
            if n.is_multiple_of(1024) {
                worker.drain_events();
            }
        })
    });
    group.finish();
}

criterion_group!(app_hosted, benches);

/// This thread's (time on a CPU, time waiting for one) in ns, from Linux's schedstat.
fn schedstat() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut f = s.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((f.next()??, f.next()??))
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

/// N app-hosted P2P calls on this thread, ticked every 20 ms in real time, as a worker would.
fn capacity() {
    let fx = Fixture::load();
    let ticks = env_list("CAPACITY_TICKS", &[1000])[0];
    let sizes = env_list("CAPACITY_N", &[100, 300, 450, 600]);
    println!(
        "app-hosted capacity: {ticks} ticks of 20 ms per N, P2P person ↔ app-hosted bot (mixed + unmixed, both ways), one thread"
    );
    println!(
        "\n| calls | p50 tick | p99 tick | max tick | late ticks | wall µs per call-frame | CPU µs per call-frame | waiting for a CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &n in &sizes {
        let mut worker = Worker::new(&fx);
        let mut calls: Vec<AppCall> = (0..n).map(|k| AppCall::new(&worker, k)).collect();
        let sched_before = schedstat();
        let start = Instant::now();
        let mut times = Vec::with_capacity(ticks);
        let mut late = 0;
        let mut busy = Duration::ZERO;
        for k in 0..ticks {
            let deadline = start + TICK * k as u32;
            if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let began = Instant::now();
            for call in calls.iter_mut() {
                call.frame(&mut worker, &fx);
            }
            let ended = Instant::now();
            worker.drain_events();
            let took = ended - began;
            busy += took;
            times.push(took);
            if ended > deadline + TICK {
                late += 1;
            }
        }
        let elapsed = start.elapsed();
        let (cpu, wait) = match (sched_before, schedstat()) {
            (Some(a), Some(b)) => (Some(b.0 - a.0), Some(b.1 - a.1)),
            _ => (None, None),
        };
        let dropped: u64 = calls.iter().map(|c| c.lane.frames_dropped()).sum();
        assert_eq!(dropped, 0, "every frame toward the bots was taken");
        times.sort();
        let pct = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        let per_call = busy.as_secs_f64() * 1e6 / (ticks * n) as f64;
        let cpu_per_call = cpu.map(|c| c as f64 / 1e3 / (ticks * n) as f64);
        println!(
            "| {n} | {:.2} ms | {:.2} ms | {:.2} ms | {late} ({:.2} %) | {per_call:.2} | {} | {} |",
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3,
            100.0 * late as f64 / ticks as f64,
            cpu_per_call.map_or("n/a".into(), |c| format!("{c:.2}")),
            wait.map_or("n/a".into(), |w| format!(
                "{:.1} % of the run",
                100.0 * w as f64 / elapsed.as_nanos() as f64
            )),
        );
    }
}

fn main() {
    if std::env::var_os("APP_HOSTED_CAPACITY").is_some() {
        capacity();
        return;
    }
    app_hosted();
    Criterion::default().configure_from_args().final_summary();
    let fx = Fixture::load();
    if let Some(base) = paired::median_ns(GROUP, "bare_libopus_decode_16k") {
        println!("\ncriterion medians:");
        println!(
            "| path | per call-frame | × bare decode ({:.2} µs) |",
            base / 1000.0
        );
        println!("|---|---|---|");
        for name in ["bare_decode_and_live_encode", "app_hosted_p2p"] {
            if let Some(m) = paired::median_ns(GROUP, name) {
                println!("| {name} | {:.2} µs | {:.2} |", m / 1000.0, m / base);
            }
        }
    }
    println!(
        "\npaired with a bare libopus decode ({} alternating blocks):",
        paired::BLOCKS
    );
    println!("| path | per call-frame | bare decode, same blocks | ratio |");
    println!("|---|---|---|---|");
    let mut floor = DecodeEncode::new();
    let (ratio, path_us, decode_us) = paired::paired(&fx.packets, 1, || floor.frame(&fx));
    println!("| bare decode + live encode | {path_us:.2} µs | {decode_us:.2} µs | {ratio:.2} |");
    let mut worker = Worker::new(&fx);
    let mut calls: Vec<AppCall> = (0..100).map(|k| AppCall::new(&worker, k)).collect();
    let (ratio, path_us, decode_us) =
        paired::paired(&fx.packets, 1, || calls[0].frame(&mut worker, &fx));
    println!("| app-hosted P2P, one call | {path_us:.2} µs | {decode_us:.2} µs | {ratio:.2} |");
    let mut next = 0;
    let (ratio, path_us, decode_us) = paired::paired(&fx.packets, 1, || {
        // Round-robin over 100 calls, as a worker goes through its conversations: no call's
        // state stays hot in the cache from one call-frame to the next.
        calls[next].frame(&mut worker, &fx);
        next = (next + 1) % calls.len();
        if next == 0 {
            worker.drain_events();
        }
    });
    println!(
        "| app-hosted P2P, 100 calls in turn | {path_us:.2} µs | {decode_us:.2} µs | {ratio:.2} |"
    );
}
