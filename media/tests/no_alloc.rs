//! Proof that the media path allocates nothing: a counting global allocator, armed only around the
//! session calls of a long run that plays prompts, records, mixes, detects DTMF (in-band and RFC
//! 4733) and swallows garbage. Commands issued inside the run (play, stop, record, mute) are
//! counted too.

mod common;

use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use switchboard_media::dtmf::Digit;
use switchboard_media::dtmf::generator::{ToneShape, digit_sequence};
use switchboard_media::dtmf::telephone_event::KeyPressPlan;
use switchboard_media::prompt::{PlaybackId, PromptCache};
use switchboard_media::record::{ClipBuffer, DigitSet, RecordId, RecordSettings};
use switchboard_media::session::{Event, LegConfig, MediaSession, Output, SessionConfig};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if ARMED.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with the counter armed on this thread.
fn armed<T>(f: impl FnOnce() -> T) -> T {
    ARMED.with(|a| a.set(true));
    let out = f();
    ARMED.with(|a| a.set(false));
    out
}

/// A telephone-event packet: sequence, timestamp, marker, payload.
type EventPacket = (u16, u32, bool, [u8; 4]);

#[derive(Default)]
struct Seen {
    packets: u64,
    tones: u64,
    prompts_finished: u64,
    records: u64,
    speech: u64,
}

/// Drains a session's output without allocating: finished clips go into `clips`, which has room.
fn drain(session: &mut MediaSession, seen: &mut Seen, clips: &mut Vec<ClipBuffer>) {
    while let Some(out) = session.poll_output() {
        match out {
            Output::Packet(p) => {
                seen.packets += 1;
                std::hint::black_box(p.payload);
            }
            Output::Event(Event::ToneStarted { .. }) => seen.tones += 1,
            Output::Event(Event::PromptFinished(_)) => seen.prompts_finished += 1,
            Output::Event(Event::SpeechStarted { .. }) => seen.speech += 1,
            Output::Event(Event::RecordFinished(r)) => {
                seen.records += 1;
                clips.push(r.clip);
            }
            Output::Event(_) => {}
        }
    }
}

#[test]
fn a_long_run_of_play_record_mix_and_detect_allocates_nothing() {
    const TICKS: usize = 3000; // one minute of media
    let mut cache = PromptCache::new().unwrap();
    let (speech_prompt, speech) = speech_16k(&mut cache);
    let beep = cache.beep();
    let tones = cache.dtmf(&Digit::parse_sequence("42").unwrap()).unwrap();
    let dtmf = digit_sequence(
        16_000,
        &Digit::parse_sequence("1#").unwrap(),
        &ToneShape::at_level(-10.0),
        100.0,
        200.0,
    )
    .unwrap();

    // The IVR caller: speech, then key presses, over and over; a seeded lossy network.
    let mut pcm = Vec::new();
    while pcm.len() < TICKS * 320 {
        pcm.extend_from_slice(&speech);
        pcm.extend_from_slice(&dtmf);
        pcm.extend(silence(1500));
    }
    let mut net = Network::new(0xa110c, 0.03, 0.03, 0.01);
    let mut caller = Caller::new(60_000, 0);
    let arrivals: Vec<Vec<RtpPacket>> = caller
        .packets(&pcm[..TICKS * 320])
        .into_iter()
        .map(|p| net.carry(p))
        .collect();
    // Telephone events for key 9 every 10 s, on the audio clock.
    let mut events: Vec<Vec<EventPacket>> = vec![Vec::new(); TICKS];
    for start in (250..TICKS - 20).step_by(500) {
        let plan = KeyPressPlan {
            digit: Digit::D9,
            start_timestamp: start as u32 * 960,
            duration: 4800,
            packet_interval: 960,
            volume: 10,
        };
        for (i, p) in plan.packets().unwrap().enumerate() {
            events[start + (p.send_offset / 960) as usize].push((
                i as u16,
                p.timestamp,
                p.marker,
                p.payload,
            ));
        }
    }
    // A three-party group call in a second session: two talkers and a listener.
    let mut group_callers: Vec<Caller> = (0..3).map(|i| Caller::new(i * 7, 0)).collect();
    let group_packets: Vec<Vec<RtpPacket>> = (0..3)
        .map(|i| {
            let src = if i == 2 {
                vec![0; TICKS * 320]
            } else {
                pcm[i * 8000..i * 8000 + TICKS * 320].to_vec()
            };
            group_callers[i].packets(&src)
        })
        .collect();
    // Garbage, mixed in every 7th tick.
    let garbage: Vec<u8> = (0..97u8).map(|b| b.wrapping_mul(31)).collect();

    let mut ivr = MediaSession::new(SessionConfig::default()).unwrap();
    let leg = ivr.add_leg(LegConfig::default()).unwrap();
    let mut group = MediaSession::new(SessionConfig {
        max_legs: 3,
        ..SessionConfig::default()
    })
    .unwrap();
    let glegs: Vec<_> = (0..3)
        .map(|_| group.add_leg(LegConfig::default()).unwrap())
        .collect();
    let mut clips: Vec<ClipBuffer> = Vec::with_capacity(64);
    for _ in 0..8 {
        clips.push(ClipBuffer::with_capacity(Duration::from_secs(10)));
    }
    let prompts = [speech_prompt.clone(), tones.clone()];
    let preamble = [beep.clone()];
    let settings = RecordSettings {
        initial_silence_timeout_secs: 3,
        max_silence_timeout_secs: 1,
        max_record_duration_secs: 10,
        stop_tones: DigitSet::of(&[Digit::Pound]),
    };
    let mut seen = Seen::default();
    let mut gseen = Seen::default();
    let mut clock = Clock::new();
    let mut record_id = 0;
    ALLOCATIONS.store(0, Ordering::Relaxed);

    for tick in 0..TICKS {
        let now = clock.now();
        armed(|| {
            for p in &arrivals[tick] {
                ivr.push_rtp(leg, p.sequence, p.timestamp, &p.payload, now)
                    .unwrap();
            }
            for e in &events[tick] {
                ivr.push_telephone_event(leg, e.0, e.1, e.2, &e.3, now)
                    .unwrap();
            }
            if tick % 7 == 0 {
                ivr.push_rtp(leg, tick as u16, 0, &garbage, now).unwrap();
                ivr.push_telephone_event(leg, 0, 0, false, &garbage[..3], now)
                    .unwrap();
            }
            for (i, &g) in glegs.iter().enumerate() {
                let p = &group_packets[i][tick];
                group
                    .push_rtp(g, p.sequence, p.timestamp, &p.payload, now)
                    .unwrap();
            }
            match tick % 600 {
                10 => ivr.play(PlaybackId(tick as u64), &prompts, false).unwrap(),
                340 => {
                    if !ivr.is_recording()
                        && let Some(clip) = clips.pop()
                    {
                        record_id += 1;
                        ivr.start_record(leg, RecordId(record_id), settings, &preamble, clip)
                            .unwrap();
                    }
                }
                100 => group
                    .play(PlaybackId(tick as u64), &prompts[1..], false)
                    .unwrap(),
                400 => group.mute(glegs[1], true).unwrap(),
                500 => group.mute(glegs[1], false).unwrap(),
                550 => {
                    group.play(PlaybackId(1), &prompts, true).unwrap();
                    group.stop_playback();
                }
                _ => {}
            }
            clock.ticks += 1;
            ivr.tick(clock.now());
            group.tick(clock.now());
            drain(&mut ivr, &mut seen, &mut clips);
            drain(&mut group, &mut gseen, &mut clips);
        });
    }

    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        0,
        "allocations on the media path"
    );
    // The run did what it claims.
    assert_eq!(seen.packets, TICKS as u64);
    assert_eq!(gseen.packets, 3 * TICKS as u64);
    assert!(seen.tones >= 10, "digits detected: {}", seen.tones);
    assert!(seen.records >= 4, "recordings finished: {}", seen.records);
    assert!(
        seen.prompts_finished >= 3,
        "prompts finished: {}",
        seen.prompts_finished
    );
    assert!(seen.speech >= 5 && gseen.speech >= 5, "speech reported");
    assert!(ivr.stats(leg).unwrap().garbage > 0);
    assert!(ivr.stats(leg).unwrap().jitter.fec_recovered > 0);
}
