//! The per-packet paths of RFC 4733 and the tone merger allocate nothing: proven with a global
//! allocator that counts the allocations made on the test's own thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use switchboard_media::dtmf::telephone_event::{
    EventPacket, KeyPressEvent, KeyPressPlan, MAX_EVENTS_PER_PACKET, TelephoneEventReceiver,
};
use switchboard_media::dtmf::{ALL_DIGITS, MediaTime, ToneMerger};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// const-initialised thread-local, which itself never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn receiving_sending_and_merging_presses_allocates_nothing() {
    let rate = 48_000u32;
    let mut receiver = TelephoneEventReceiver::new(rate).unwrap();
    let mut merger = ToneMerger::default();
    let mut events: Vec<KeyPressEvent> = Vec::with_capacity(MAX_EVENTS_PER_PACKET);
    let mut reports = 0usize;
    let before = allocations();
    let mut ts = u32::MAX - 100_000; // wraps during the run
    let mut seq = 0u16;
    for press in 0..400usize {
        let digit = ALL_DIGITS[press % 16];
        let plan = KeyPressPlan {
            digit,
            start_timestamp: ts,
            duration: 4800 + (press as u32 % 7) * 9000,
            packet_interval: 960,
            volume: 10,
        };
        for packet in plan.packets().unwrap() {
            seq = seq.wrapping_add(1);
            let packet = EventPacket {
                timestamp: packet.timestamp,
                sequence: seq,
                marker: packet.marker,
                payload: &packet.payload,
            };
            events.clear();
            receiver.receive(&packet, &mut events).unwrap();
            for event in &events {
                match *event {
                    KeyPressEvent::Pressed { digit, start, .. } => {
                        let at = MediaTime(start);
                        reports += usize::from(merger.telephone_event_pressed(digit, at).is_some());
                        // The in-band detector confirms 3 ms later.
                        let tone = MediaTime(start + 144);
                        reports += usize::from(merger.in_band_started(digit, tone).is_some());
                    }
                    KeyPressEvent::Released {
                        digit,
                        start,
                        duration,
                        ..
                    } => {
                        let end = MediaTime(start + duration);
                        merger.telephone_event_released(digit, MediaTime(start), end);
                        merger.in_band_ended(digit, end);
                    }
                }
            }
        }
        ts = ts.wrapping_add(plan.duration + 4800);
        events.clear();
        receiver.expire(ts, &mut events);
    }
    let allocated = allocations() - before;
    assert_eq!(reports, 400);
    assert_eq!(
        allocated, 0,
        "the per-packet paths allocated {allocated} times"
    );
}
