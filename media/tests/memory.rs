//! Memory per session, excluding clip buffers: Rust heap allocated by `MediaSession::new` (counted
//! by a global allocator), plus the session value itself, plus libopus' codec states (allocated by
//! C `malloc`, sized with `opus_{en,de}coder_get_size`). One test in this binary, so nothing else
//! allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use switchboard_media::codec::opus::{decoder_state_bytes, encoder_state_bytes};
use switchboard_media::session::{MediaSession, SessionConfig};

struct Live;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only keeps a byte count.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

/// Bytes one session of `config` holds.
fn footprint(config: SessionConfig) -> (usize, usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    let session = MediaSession::new(config).unwrap();
    let heap = (LIVE.load(Ordering::Relaxed) - before) as usize;
    let inline = std::mem::size_of_val(&session);
    let codec = config.max_legs * (decoder_state_bytes() + encoder_state_bytes());
    drop(session);
    (heap + inline, codec, heap + inline + codec)
}

#[test]
fn a_one_leg_session_fits_in_96_kib() {
    // Warm up: shared read-only tables (DTMF detector) are built once per process, not per session.
    drop(MediaSession::new(SessionConfig::default()).unwrap());
    println!("| max legs | Rust (heap + inline) | libopus states | total |");
    let mut one_leg = 0;
    for legs in [1usize, 2, 3, 8] {
        let (rust, codec, total) = footprint(SessionConfig {
            max_legs: legs,
            ..SessionConfig::default()
        });
        println!(
            "| {legs} | {:.1} KiB | {:.1} KiB | {:.1} KiB |",
            rust as f64 / 1024.0,
            codec as f64 / 1024.0,
            total as f64 / 1024.0
        );
        if legs == 1 {
            one_leg = total;
        }
    }
    println!(
        "libopus decoder {} B, encoder {} B",
        decoder_state_bytes(),
        encoder_state_bytes()
    );
    assert!(
        one_leg <= 96 * 1024,
        "one-leg session holds {one_leg} bytes"
    );
}
