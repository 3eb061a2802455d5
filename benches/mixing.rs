//! Criterion: the conference mix of a conversation, per participant-frame (one 20 ms frame of one
//! participant: its packet pushed, its share of the tick, its packet out), beside a bare libopus
//! decode to 16 kHz measured in the same run.
//!
//! - `mix_10_all_speaking`: ten people all talking at once (staggered speech): every one of them
//!   hears a different mix, so ten decodes and ten encodes per tick — the worst case of a call.
//! - `meeting_50_3_speaking`: fifty people, three talking and forty-seven listening (their
//!   microphones send quiet room noise): fifty decodes, one encode shared by every listener and
//!   one per speaker.
//!
//! `bare_decode_and_live_encode` is the floor of a participant who needs a mix of their own: one
//! decode and one encode with the session's live encoder.
//!
//! The session is configured as a conversation's room is (`media_plane::conversation_audio::room`):
//! voice-activated mix, no periodic reports. After criterion's run, the same paths are measured
//! again in alternating blocks with the bare decode (the machine is shared) and a table of cost
//! per participant-frame is printed.
//!
//! `cargo bench --bench mixing -- --warm-up-time 1 --measurement-time 3`

#[path = "support/media_fixture.rs"]
mod media_fixture;
#[path = "support/paired.rs"]
mod paired;

use criterion::{Criterion, Throughput, criterion_group};
use media_fixture::{Fixture, Stream};
use std::hint::black_box;
use std::time::Instant;
use switchboard_media::codec::opus::{
    EncoderMode, EncoderSettings, LIVE_ENCODER, encode_frame, new_encoder,
};
use switchboard_media::frame::{FRAME_SAMPLES, MAX_PAYLOAD};
use switchboard_media::session::{LegConfig, LegId, MediaSession, Output, SessionConfig};

const GROUP: &str = "mix_per_tick";

/// A room of `legs` people: which of them talk, and the packets each sends.
struct Room {
    session: MediaSession,
    legs: Vec<LegId>,
    /// Per leg: an offset into the speech fixture, or `None` for a listener (room noise).
    speech_offset: Vec<Option<usize>>,
    stream: Stream,
}

impl Room {
    /// `legs` people of whom the first `speaking` talk, each from a different point of the
    /// speech (a fifth of a second apart, so pauses do not line up).
    fn new(legs: usize, speaking: usize) -> Room {
        let mut session = MediaSession::new(SessionConfig {
            max_legs: legs.next_power_of_two(),
            voice_activated_mix: true,
            level_report_ticks: 0,
            stats_report_ticks: 0,
            event_capacity: 4 * legs.next_power_of_two() + 64,
        })
        .unwrap();
        let legs_ids = (0..legs)
            .map(|_| session.add_leg(LegConfig::default()).unwrap())
            .collect();
        Room {
            session,
            legs: legs_ids,
            speech_offset: (0..legs)
                .map(|k| (k < speaking).then_some(k * 37))
                .collect(),
            stream: Stream::new(Instant::now()),
        }
    }

    /// One tick: every participant's packet in, the tick, every packet out.
    fn tick(&mut self, fx: &Fixture, noise: &[Vec<u8>]) {
        let (seq, ts, i, now) = self.stream.next(fx.packets.len());
        for (k, &leg) in self.legs.iter().enumerate() {
            let packet = match self.speech_offset[k] {
                Some(offset) => &fx.packets[(i + offset) % fx.packets.len()],
                None => &noise[(i + k) % noise.len()],
            };
            self.session.push_rtp(leg, seq, ts, packet, now).unwrap();
        }
        self.session.tick(now);
        while let Some(out) = self.session.poll_output() {
            if let Output::Packet(p) = out {
                black_box(p.payload);
            }
        }
    }
}

/// A listener's microphone: quiet room noise near -70 dBFS, encoded as the caller's speech is
/// (fixed seed).
fn room_noise() -> Vec<Vec<u8>> {
    let mut encoder = new_encoder(EncoderSettings {
        mode: EncoderMode::Voice,
        complexity: 10,
        bitrate: 24_000,
    })
    .unwrap();
    let mut state: u32 = 0x2545_f491;
    let mut buf = [0u8; MAX_PAYLOAD];
    (0..250)
        .map(|_| {
            let mut frame = [0i16; FRAME_SAMPLES];
            for s in frame.iter_mut() {
                // xorshift32: a fixed, dependency-free noise source.
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *s = (state >> 16) as i16 / 256;
            }
            let len = encode_frame(&mut encoder, &frame, &mut buf).unwrap();
            buf[..len].to_vec()
        })
        .collect()
}

/// The floor of a participant-frame that needs its own mix: one bare decode of its packet and
/// one encode of a 20 ms frame with the session's live encoder (CELT, complexity 0).
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
        // The speech itself, not what was just decoded, so the encoder sees real audio.
        let frame = &fx.pcm[self.n % fx.pcm.len()];
        black_box(encode_frame(&mut self.encoder, frame, &mut self.packet).unwrap());
    }
}

/// The two rooms measured: (bench name, people, of whom talking).
const ROOMS: [(&str, usize, usize); 2] = [
    ("mix_10_all_speaking", 10, 10),
    ("meeting_50_3_speaking", 50, 3),
];

fn benches(c: &mut Criterion) {
    let fx = Fixture::load();
    let noise = room_noise();
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
    for (name, people, speaking) in ROOMS {
        // One iteration is one tick of the whole room: `people` participant-frames.
        group.throughput(Throughput::Elements(people as u64));
        group.bench_function(name, |b| {
            let mut room = Room::new(people, speaking);
            b.iter(|| room.tick(&fx, &noise))
        });
    }
    group.finish();
}

criterion_group!(mixing, benches);

fn main() {
    mixing();
    Criterion::default().configure_from_args().final_summary();
    let fx = Fixture::load();
    let noise = room_noise();
    let Some(base) = paired::median_ns(GROUP, "bare_libopus_decode_16k") else {
        return;
    };
    println!("\ncriterion medians (per participant-frame = per tick / people):");
    println!(
        "| room | per tick | per participant-frame | × bare decode ({:.2} µs) |",
        base / 1000.0
    );
    println!("|---|---|---|---|");
    if let Some(m) = paired::median_ns(GROUP, "bare_decode_and_live_encode") {
        println!(
            "| bare decode + live encode | {:.1} µs | {:.2} µs | {:.2} |",
            m / 1000.0,
            m / 1000.0,
            m / base
        );
    }
    for (name, people, _) in ROOMS {
        if let Some(m) = paired::median_ns(GROUP, name) {
            let per = m / people as f64;
            println!(
                "| {name} | {:.1} µs | {:.2} µs | {:.2} |",
                m / 1000.0,
                per / 1000.0,
                per / base
            );
        }
    }
    println!(
        "\npaired with a bare libopus decode ({} alternating blocks):",
        paired::BLOCKS
    );
    println!("| room | per participant-frame | bare decode, same blocks | ratio |");
    println!("|---|---|---|---|");
    let mut floor = DecodeEncode::new();
    let (ratio, path_us, decode_us) = paired::paired(&fx.packets, 1, || floor.frame(&fx));
    println!("| bare decode + live encode | {path_us:.2} µs | {decode_us:.2} µs | {ratio:.2} |");
    for (name, people, speaking) in ROOMS {
        let mut room = Room::new(people, speaking);
        let (ratio, path_us, decode_us) =
            paired::paired(&fx.packets, people, || room.tick(&fx, &noise));
        println!("| {name} | {path_us:.2} µs | {decode_us:.2} µs | {ratio:.2} |");
    }
}
