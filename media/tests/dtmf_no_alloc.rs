//! The per-frame path allocates nothing: after `ToneDetector::new`, pushing audio of any chunk
//! size, at either rate, with digits found and ended, and finishing, never touches the heap.
//! Counted with a global allocator; this file holds one test so nothing else runs alongside.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use switchboard_media::dtmf::generator::{SignalBuilder, ToneShape};
use switchboard_media::dtmf::{DetectorConfig, Digit, ToneDetector, ToneEdge};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn pushing_and_finishing_allocate_nothing() {
    for rate in [8000, 16000] {
        let mut b = SignalBuilder::new(rate).unwrap();
        let on = b.ms_to_samples(50.0);
        b.digits(
            &Digit::parse_sequence("0123456789*#ABCD").unwrap(),
            &ToneShape::at_level(-10.0),
            on,
            on,
        );
        b.tone(Digit::D5, &ToneShape::default(), on); // still sounding at the end: `finish` ends it
        b.add_white_noise(-40.0, 42);
        let pcm = b.to_pcm();
        let mut detector = ToneDetector::new(DetectorConfig::at_rate(rate)).unwrap();
        let mut starts = [0u32; 16];
        let mut ends = 0u32;

        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for chunk_size in [1, 7, 160, 320, 1000] {
            detector.reset();
            starts = [0; 16];
            ends = 0;
            for chunk in pcm.chunks(chunk_size) {
                detector.push(chunk, |e| match e.edge {
                    ToneEdge::Start => starts[usize::from(e.digit.event_code())] += 1,
                    ToneEdge::End => ends += 1,
                });
            }
            detector.finish(|e| {
                assert_eq!(e.edge, ToneEdge::End);
                ends += 1;
            });
        }
        let allocated = ALLOCATIONS.load(Ordering::Relaxed) - before;

        assert_eq!(
            allocated, 0,
            "rate {rate}: {allocated} allocations on the per-frame path"
        );
        let mut expected = [1u32; 16];
        expected[5] = 2;
        assert_eq!(starts, expected, "rate {rate}: every key once, 5 twice");
        assert_eq!(ends, 17, "rate {rate}");
    }
}
