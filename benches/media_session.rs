//! Criterion: `MediaSession::tick` cost per call-frame (one 20 ms frame of one call: push the
//! caller's packet, tick, drain the output), beside a bare libopus decode to 16 kHz measured in the
//! same run. After the run, prints each path's median and its ratio to the bare decode.
//!
//! `cargo bench --bench media_session` (add `-- --warm-up-time 1 --measurement-time 3` for a quick
//! look).

#[path = "support/media_fixture.rs"]
mod media_fixture;
#[path = "support/paired.rs"]
mod paired;

use criterion::{BatchSize, Criterion, criterion_group};
use media_fixture::{Fixture, Stream};
use std::hint::black_box;
use std::time::{Duration, Instant};
use switchboard_media::codec::opus::{
    EncoderMode, EncoderSettings, LIVE_ENCODER, encode_frame, new_encoder,
};
use switchboard_media::frame::{FRAME_SAMPLES, MAX_PAYLOAD};
use switchboard_media::prompt::PlaybackId;
use switchboard_media::record::{ClipBuffer, RecordId, RecordSettings};
use switchboard_media::session::{LegConfig, LegId, MediaSession, Output, SessionConfig};

const GROUP: &str = "tick_per_call_frame";

/// Drains the output as a transport would, touching each payload.
fn drain(session: &mut MediaSession) {
    while let Some(out) = session.poll_output() {
        if let Output::Packet(p) = out {
            black_box(p.payload);
        }
    }
}

/// A one-leg session receiving the fixture, with `setup` applied (prompt, recording…).
struct OneLeg {
    session: MediaSession,
    leg: LegId,
    stream: Stream,
}

impl OneLeg {
    fn new(setup: impl FnOnce(&mut MediaSession, LegId)) -> OneLeg {
        let mut session = MediaSession::new(SessionConfig::default()).unwrap();
        let leg = session.add_leg(LegConfig::default()).unwrap();
        setup(&mut session, leg);
        OneLeg {
            session,
            leg,
            stream: Stream::new(Instant::now()),
        }
    }

    fn frame(&mut self, fx: &Fixture) {
        let (seq, ts, i, now) = self.stream.next(fx.packets.len());
        self.session
            .push_rtp(self.leg, seq, ts, &fx.packets[i], now)
            .unwrap();
        self.session.tick(now);
        drain(&mut self.session);
    }
}

/// A recording that never ends on its own within a bench run: every timer at Graph's 120 s.
fn long_record(session: &mut MediaSession, leg: LegId) {
    let settings = RecordSettings {
        initial_silence_timeout_secs: 120,
        max_silence_timeout_secs: 120,
        max_record_duration_secs: 120,
        ..RecordSettings::default()
    };
    session
        .start_record(
            leg,
            RecordId(1),
            settings,
            &[],
            ClipBuffer::with_capacity(Duration::from_secs(120)),
        )
        .unwrap();
}

fn benches(c: &mut Criterion) {
    let fx = Fixture::load();
    let mut group = c.benchmark_group(GROUP);

    group.bench_function("bare_libopus_decode_16k", |b| {
        let mut dec = opus::Decoder::new(16_000, opus::Channels::Mono).unwrap();
        let mut out = [0i16; FRAME_SAMPLES];
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % fx.packets.len();
            black_box(dec.decode(&fx.packets[n], &mut out, false).unwrap());
        })
    });

    // The live encoder (CELT, complexity 0) beside SILK at the same complexity, for the record.
    let silk = EncoderSettings {
        mode: EncoderMode::Voice,
        complexity: 0,
        bitrate: 24_000,
    };
    for (name, settings) in [("silk_c0", silk), ("live_celt_c0", LIVE_ENCODER)] {
        group.bench_function(format!("bare_libopus_encode_16k_{name}"), |b| {
            let mut enc = new_encoder(settings).unwrap();
            let mut out = [0u8; MAX_PAYLOAD];
            let mut n = 0;
            b.iter(|| {
                n = (n + 1) % fx.pcm.len();
                black_box(encode_frame(&mut enc, &fx.pcm[n], &mut out).unwrap());
            })
        });
    }

    group.bench_function("listen", |b| {
        let mut call = OneLeg::new(|_, _| {});
        b.iter(|| call.frame(&fx))
    });

    group.bench_function("listen_record", |b| {
        let mut call = OneLeg::new(long_record);
        b.iter(|| {
            if !call.session.is_recording() {
                // 120 s elapsed inside the bench: hand the clip back and start again.
                call.session.hangup();
                call = OneLeg::new(long_record);
            }
            call.frame(&fx)
        })
    });

    group.bench_function("listen_cached_prompt", |b| {
        let prompt = fx.prompt.clone();
        let mut call = OneLeg::new(|s, _| s.play(PlaybackId(1), &[prompt], true).unwrap());
        b.iter(|| call.frame(&fx))
    });

    group.bench_function("listen_record_cached_prompt", |b| {
        let prompt = fx.prompt.clone();
        let setup = move |s: &mut MediaSession, leg| {
            long_record(s, leg);
            s.play(PlaybackId(1), std::slice::from_ref(&prompt), true)
                .unwrap();
        };
        let mut call = OneLeg::new(setup.clone());
        b.iter(|| {
            if !call.session.is_recording() {
                call = OneLeg::new(setup.clone());
            }
            call.frame(&fx)
        })
    });

    group.bench_function("listen_live_encode", |b| {
        let mut call = OneLeg::new(|_, _| {});
        let mut n = 0;
        b.iter(|| {
            n = (n + 1) % fx.pcm.len();
            call.session.push_bot_pcm(&fx.pcm[n]);
            call.frame(&fx)
        })
    });

    group.bench_function("mix_3_legs", |b| {
        let mut session = MediaSession::new(SessionConfig {
            max_legs: 3,
            ..SessionConfig::default()
        })
        .unwrap();
        let legs: Vec<LegId> = (0..3)
            .map(|_| session.add_leg(LegConfig::default()).unwrap())
            .collect();
        let mut stream = Stream::new(Instant::now());
        b.iter_batched_ref(
            || (),
            |_| {
                let (seq, ts, i, now) = stream.next(fx.packets.len());
                for (k, &leg) in legs.iter().enumerate() {
                    let p = &fx.packets[(i + 50 * k) % fx.packets.len()];
                    session.push_rtp(leg, seq, ts, p, now).unwrap();
                }
                session.tick(now);
                drain(&mut session);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(media, benches);

/// One call-frame of a session path.
type FramePath<'a> = Box<dyn FnMut() + 'a>;

/// The paired ratios of every session path.
fn paired_table(fx: &Fixture) {
    println!(
        "\npaired with a bare libopus decode ({} alternating blocks of {} frames):",
        paired::BLOCKS,
        paired::BLOCK
    );
    println!("| path (per call-frame) | median | bare decode, same blocks | ratio |");
    println!("|---|---|---|---|");
    let prompt = fx.prompt.clone();
    let mut rows: Vec<(&str, FramePath<'_>)> = Vec::new();
    let mut listen = OneLeg::new(|_, _| {});
    rows.push(("listen", Box::new(move || listen.frame(fx))));
    let mut rec = OneLeg::new(long_record);
    rows.push(("listen_record", Box::new(move || rec.frame(fx))));
    let p1 = prompt.clone();
    let mut cached = OneLeg::new(move |s, _| s.play(PlaybackId(1), &[p1], true).unwrap());
    rows.push(("listen_cached_prompt", Box::new(move || cached.frame(fx))));
    let p2 = prompt.clone();
    let mut ivr = OneLeg::new(move |s, leg| {
        long_record(s, leg);
        s.play(PlaybackId(1), &[p2], true).unwrap();
    });
    rows.push((
        "listen_record_cached_prompt",
        Box::new(move || ivr.frame(fx)),
    ));
    let mut live = OneLeg::new(|_, _| {});
    let mut k = 0;
    rows.push((
        "listen_live_encode",
        Box::new(move || {
            k = (k + 1) % fx.pcm.len();
            live.session.push_bot_pcm(&fx.pcm[k]);
            live.frame(fx)
        }),
    ));
    for (name, mut f) in rows {
        let (ratio, path_us, decode_us) = paired::paired(&fx.packets, 1, &mut f);
        println!("| {name} | {path_us:.2} µs | {decode_us:.2} µs | {ratio:.2} |");
    }
}

fn main() {
    media();
    Criterion::default().configure_from_args().final_summary();
    paired_table(&Fixture::load());
    let Some(base) = paired::median_ns(GROUP, "bare_libopus_decode_16k") else {
        return;
    };
    println!("\n| path (per call-frame) | median | × bare decode |");
    println!("|---|---|---|");
    for bench in [
        "bare_libopus_decode_16k",
        "bare_libopus_encode_16k_silk_c0",
        "bare_libopus_encode_16k_live_celt_c0",
        "listen",
        "listen_record",
        "listen_cached_prompt",
        "listen_record_cached_prompt",
        "listen_live_encode",
        "mix_3_legs",
    ] {
        if let Some(m) = paired::median_ns(GROUP, bench) {
            println!("| {bench} | {:.2} µs | {:.2} |", m / 1000.0, m / base);
        }
    }
}
