//! Cost of a media path beside a bare libopus decode, measured in alternating blocks so that both
//! see the same load (the bench machines are shared: criterion's medians of two benches run
//! minutes apart can disagree by more than the difference being measured), and criterion's saved
//! medians.
#![allow(dead_code)] // each bench uses part of it

use std::hint::black_box;
use std::time::Instant;
use switchboard_media::frame::FRAME_SAMPLES;

/// Participant-frames per timed block.
pub const BLOCK: usize = 200;
/// Blocks per path (each block times the bare decode and the path back to back).
pub const BLOCKS: usize = 150;

/// The cost of `path` per participant-frame beside a bare decode of `packets` to 16 kHz, where
/// one call of `path` handles `frames_per_call` participant-frames. Returns (median ratio, median
/// µs per participant-frame of the path, median µs of one decode).
pub fn paired(
    packets: &[Vec<u8>],
    frames_per_call: usize,
    mut path: impl FnMut(),
) -> (f64, f64, f64) {
    let calls = (BLOCK / frames_per_call).max(1);
    let frames = calls * frames_per_call;
    let mut dec = opus::Decoder::new(16_000, opus::Channels::Mono).unwrap();
    let mut out = [0i16; FRAME_SAMPLES];
    let mut n = 0;
    let mut decode_block = || {
        let t = Instant::now();
        for _ in 0..frames {
            n = (n + 1) % packets.len();
            black_box(dec.decode(&packets[n], &mut out, false).unwrap());
        }
        t.elapsed().as_secs_f64() / frames as f64
    };
    let mut path_block = || {
        let t = Instant::now();
        for _ in 0..calls {
            path();
        }
        t.elapsed().as_secs_f64() / frames as f64
    };
    let (mut ratios, mut paths, mut decodes) = (Vec::new(), Vec::new(), Vec::new());
    for b in 0..BLOCKS {
        let (d, p) = if b % 2 == 0 {
            let d = decode_block();
            (d, path_block())
        } else {
            let p = path_block();
            (decode_block(), p)
        };
        ratios.push(p / d);
        paths.push(p * 1e6);
        decodes.push(d * 1e6);
    }
    (
        median(&mut ratios),
        median(&mut paths),
        median(&mut decodes),
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median of a finished criterion bench `group/bench`, in ns, from criterion's saved estimates.
pub fn median_ns(group: &str, bench: &str) -> Option<f64> {
    let path = format!(
        "{}/criterion/{group}/{bench}/new/estimates.json",
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target"
        )
        .into())
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}
