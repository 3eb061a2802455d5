//! DTMF costs per 20 ms frame per channel: our in-band detector beside spandsp's, one channel and
//! many channels round-robin on one core (their state falls out of L1, as in production), at
//! 8 kHz and 16 kHz, over real speech with key presses mixed in. Also the per-packet cost of the
//! RFC 4733 receiver and the tone merger.
//!
//! `cargo bench --bench dtmf` (add `-- --warm-up-time 1 --measurement-time 3` for a quick run).
//! The figure that matters is the ratio between the two receivers measured in the same run.
//!
//! Times are the bench thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: on a shared
//! machine the thread is often descheduled, and that waiting is not the receivers' cost. Cache
//! and core sharing with other processes still show.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group};
use dtmf_compare::SpandspDtmfRx;
use dtmf_compare::decimate::Decimator;
use dtmf_compare::workload::{read_speech_8k, speech_with_digits, upsample_to_16k};
use switchboard_media::dtmf::telephone_event::{
    EventPacket, KeyPressEvent, KeyPressPlan, MAX_EVENTS_PER_PACKET, TelephoneEventReceiver,
};
use switchboard_media::dtmf::{ALL_DIGITS, DetectorConfig, MediaTime, ToneDetector, ToneMerger};

/// The speech the workload is built from (see fixtures/README.md).
const SPEECH: &str = "fixtures/talkoff/speech-allison-8k.wav";

/// Channel counts measured: one (state stays in L1) and many (it does not).
const CHANNELS: [usize; 2] = [1, 1000];

/// One channel's audio: the shared workload, entered at its own offset so channels differ.
struct Channel {
    offset: usize,
}

fn workload(rate: u32) -> Vec<i16> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEECH);
    let speech = read_speech_8k(&path).unwrap_or_else(|e| panic!("bench speech: {e}"));
    let speech = if rate == 16_000 {
        upsample_to_16k(&speech)
    } else {
        speech
    };
    speech_with_digits(&speech, rate)
}

/// CPU time this thread has used so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a Linux constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Times `iters` frames (thread CPU time), channel after channel round-robin; `step` processes
/// one frame.
fn round_robin<S>(
    iters: u64,
    states: &mut [S],
    channels: &[Channel],
    audio: &[i16],
    frame: usize,
    cursor: &mut usize,
    mut step: impl FnMut(&mut S, &[i16]) -> usize,
) -> Duration {
    let frames_in_audio = audio.len() / frame - 1;
    let mut found = 0usize;
    let start = thread_cpu_time();
    for i in 0..iters as usize {
        let ch = i % states.len();
        let index = (channels[ch].offset + *cursor) % frames_in_audio;
        found += step(&mut states[ch], &audio[index * frame..(index + 1) * frame]);
        if ch + 1 == states.len() {
            *cursor += 1;
        }
    }
    let elapsed = thread_cpu_time() - start;
    black_box(found);
    elapsed
}

fn detector_per_frame(c: &mut Criterion) {
    let spandsp_ok = SpandspDtmfRx::new().is_ok();
    if !spandsp_ok {
        eprintln!("dtmf bench: spandsp is not installed (libspandsp-dev); measuring ours only");
    }
    for rate in [8000u32, 16_000] {
        let audio = workload(rate);
        let frame = (rate / 50) as usize;
        // spandsp works at 8 kHz only: at 16 kHz it is fed the same audio decimated beforehand,
        // and the decimation is not counted, which flatters spandsp.
        let audio_8k = if rate == 8000 {
            audio.clone()
        } else {
            let mut d = Decimator::new();
            let mut out = Vec::new();
            d.push(&audio, &mut out);
            d.finish(&mut out);
            out
        };
        let mut group = c.benchmark_group(format!("dtmf_frame_{}k", rate / 1000));
        for n in CHANNELS {
            let channels: Vec<Channel> = (0..n)
                .map(|i| Channel {
                    offset: (i * 7919) % (audio.len() / frame),
                })
                .collect();
            let mut ours: Vec<ToneDetector> = (0..n)
                .map(|_| ToneDetector::new(DetectorConfig::at_rate(rate)).unwrap())
                .collect();
            let mut cursor = 0;
            group.bench_function(BenchmarkId::new("ours", n), |b| {
                b.iter_custom(|iters| {
                    round_robin(
                        iters,
                        &mut ours,
                        &channels,
                        &audio,
                        frame,
                        &mut cursor,
                        |d, pcm| {
                            let mut events = 0;
                            d.push(pcm, |_| events += 1);
                            events
                        },
                    )
                })
            });
            if spandsp_ok {
                let mut theirs: Vec<SpandspDtmfRx> =
                    (0..n).map(|_| SpandspDtmfRx::new().unwrap()).collect();
                let mut cursor = 0;
                group.bench_function(BenchmarkId::new("spandsp", n), |b| {
                    b.iter_custom(|iters| {
                        round_robin(
                            iters,
                            &mut theirs,
                            &channels,
                            &audio_8k,
                            160,
                            &mut cursor,
                            |s, pcm| s.process(pcm).count(),
                        )
                    })
                });
            }
        }
        group.finish();
    }
}

fn telephone_events_per_packet(c: &mut Criterion) {
    // One minute of dialling at 48 kHz, as packets, received and merged packet by packet.
    let mut packets = Vec::new();
    let mut ts = 1000u32;
    for i in 0..600 {
        let plan = KeyPressPlan {
            digit: ALL_DIGITS[i % 16],
            start_timestamp: ts,
            duration: 4800,
            packet_interval: 960,
            volume: 10,
        };
        packets.extend(plan.packets().unwrap());
        ts = ts.wrapping_add(9600);
    }
    let mut receiver = TelephoneEventReceiver::new(48_000).unwrap();
    let mut merger = ToneMerger::default();
    let mut events: Vec<KeyPressEvent> = Vec::with_capacity(MAX_EVENTS_PER_PACKET);
    let mut next = 0usize;
    c.bench_function("telephone_event_packet_received_and_merged", |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                let p = &packets[next % packets.len()];
                next += 1;
                if next.is_multiple_of(packets.len()) {
                    // A new stream, so the timeline does not jump back.
                    receiver = TelephoneEventReceiver::new(48_000).unwrap();
                    merger = ToneMerger::default();
                }
                let packet = EventPacket {
                    timestamp: p.timestamp,
                    sequence: next as u16,
                    marker: p.marker,
                    payload: &p.payload,
                };
                events.clear();
                receiver.receive(black_box(&packet), &mut events).unwrap();
                for e in &events {
                    black_box(merger.telephone_event(e, MediaTime));
                }
            }
            thread_cpu_time() - start
        })
    });
}

/// Ours and spandsp measured in alternating short batches over the same channels, so that load
/// from other processes on a shared machine hits both alike; prints the medians and the ratio.
fn paired_ratio() {
    if SpandspDtmfRx::new().is_err() {
        println!("paired ratio: skipped, spandsp is not installed (libspandsp-dev)");
        return;
    }
    let n = 1000;
    let rounds = 41;
    let frames_per_batch = 10 * n as u64;
    for rate in [8000u32, 16_000] {
        let audio = workload(rate);
        let frame = (rate / 50) as usize;
        let audio_8k = if rate == 8000 {
            audio.clone()
        } else {
            let mut d = Decimator::new();
            let mut out = Vec::new();
            d.push(&audio, &mut out);
            d.finish(&mut out);
            out
        };
        let channels: Vec<Channel> = (0..n)
            .map(|i| Channel {
                offset: (i * 7919) % (audio.len() / frame),
            })
            .collect();
        let mut ours: Vec<ToneDetector> = (0..n)
            .map(|_| ToneDetector::new(DetectorConfig::at_rate(rate)).unwrap())
            .collect();
        let mut theirs: Vec<SpandspDtmfRx> =
            (0..n).map(|_| SpandspDtmfRx::new().unwrap()).collect();
        let (mut cursor_ours, mut cursor_theirs) = (0, 0);
        let mut ns_ours = Vec::new();
        let mut ns_theirs = Vec::new();
        for _ in 0..rounds {
            let t = round_robin(
                frames_per_batch,
                &mut ours,
                &channels,
                &audio,
                frame,
                &mut cursor_ours,
                |d, pcm| {
                    let mut events = 0;
                    d.push(pcm, |_| events += 1);
                    events
                },
            );
            ns_ours.push(t.as_nanos() as f64 / frames_per_batch as f64);
            let t = round_robin(
                frames_per_batch,
                &mut theirs,
                &channels,
                &audio_8k,
                160,
                &mut cursor_theirs,
                |s, pcm| s.process(pcm).count(),
            );
            ns_theirs.push(t.as_nanos() as f64 / frames_per_batch as f64);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (ours_ns, theirs_ns) = (median(&mut ns_ours), median(&mut ns_theirs));
        println!(
            "paired ratio, {} kHz, {n} channels round-robin: ours {ours_ns:.0} ns/frame, spandsp {theirs_ns:.0} ns/frame, spandsp/ours = {:.2}x",
            rate / 1000,
            theirs_ns / ours_ns
        );
    }
}

criterion_group!(benches, detector_per_frame, telephone_events_per_packet);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    paired_ratio();
}
