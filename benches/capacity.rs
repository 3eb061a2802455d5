//! Capacity: N listen-with-cached-prompt sessions on one thread, ticked every 20 ms in real time,
//! as a media worker would. For each N prints p50/p99 tick time (all N sessions), late ticks (work
//! not finished by the next tick's deadline) and cost per call-frame.
//!
//! `cargo bench --bench capacity` — about 20 s per N with the default 1000 ticks. Override with
//! `CAPACITY_TICKS=500` and `CAPACITY_N=10,100,300`.

#[path = "support/media_fixture.rs"]
mod media_fixture;

use media_fixture::{Fixture, Stream};
use std::hint::black_box;
use std::time::{Duration, Instant};
use switchboard_media::prompt::PlaybackId;
use switchboard_media::session::{LegConfig, LegId, MediaSession, Output, SessionConfig};

const TICK: Duration = Duration::from_millis(20);

struct Call {
    session: MediaSession,
    leg: LegId,
}

/// This thread's (time on a CPU, time waiting for one) in ns, from Linux's schedstat: the CPU time
/// is the cost of the work whatever else the machine runs; the wait is how long other processes
/// kept the worker off a core (what makes ticks late on a shared machine).
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

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let fx = Fixture::load();
    let ticks = env_list("CAPACITY_TICKS", &[1000])[0];
    let sizes = env_list("CAPACITY_N", &[10, 100, 300, 600, 1000]);
    println!("capacity: {ticks} ticks of 20 ms per N, listen + cached prompt, one thread");
    println!(
        "\n| sessions | p50 tick | p99 tick | max tick | late ticks | wall µs per call-frame | CPU µs per call-frame | waiting for a CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut first_cost = None;
    for &n in &sizes {
        let mut calls: Vec<Call> = (0..n)
            .map(|k| {
                let mut session = MediaSession::new(SessionConfig::default()).unwrap();
                let leg = session.add_leg(LegConfig::default()).unwrap();
                session
                    .play(PlaybackId(k as u64), std::slice::from_ref(&fx.prompt), true)
                    .unwrap();
                Call { session, leg }
            })
            .collect();
        let sched_before = schedstat();
        let start = Instant::now();
        let mut stream = Stream::new(start);
        let mut times = Vec::with_capacity(ticks);
        let mut late = 0;
        let mut busy = Duration::ZERO;
        for k in 0..ticks {
            let deadline = start + TICK * k as u32;
            if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let began = Instant::now();
            let (seq, ts, i, now) = stream.next(fx.packets.len());
            for (c, call) in calls.iter_mut().enumerate() {
                // Stagger the callers through the fixture so sessions are not in lockstep.
                let p = &fx.packets[(i + c * 37) % fx.packets.len()];
                call.session.push_rtp(call.leg, seq, ts, p, now).unwrap();
                call.session.tick(now);
                while let Some(out) = call.session.poll_output() {
                    if let Output::Packet(p) = out {
                        black_box(p.payload);
                    }
                }
            }
            let ended = Instant::now();
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
        times.sort();
        let pct = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        let per_call = busy.as_secs_f64() * 1e6 / (ticks * n) as f64;
        let cpu_per_call = cpu.map(|c| c as f64 / 1e3 / (ticks * n) as f64);
        first_cost.get_or_insert(cpu_per_call.unwrap_or(per_call));
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
        drop(calls);
        if n == *sizes.last().unwrap()
            && let Some(first) = first_cost
        {
            println!(
                "\nCPU cost per call-frame at {n} sessions / at {} sessions: {:.2}×",
                sizes[0],
                cpu_per_call.unwrap_or(per_call) / first
            );
        }
    }
}
