//! The adaptive jitter buffer of one received leg.
//!
//! Written here rather than taken from a crate because it sits on the per-packet hot path: it must
//! be a fixed array (no allocation after construction), pull-driven by the session's 20 ms tick
//! (not by a timer of its own), and aware of Opus in-band FEC (to rebuild a missing frame from the
//! next packet it needs to see both). The jitter-buffer crates we looked at allocate per packet or
//! own a clock.
//!
//! Design: packets are keyed by extended RTP sequence number into a ring of [`SLOTS`] slots. Play-out
//! starts once `target` frames are buffered; `target` follows the arrival jitter (a decaying peak of
//! how late packets arrive compared with the earliest transit seen), between [`MIN_TARGET`] and
//! [`MAX_TARGET`] frames. When the buffer holds more than it needs for a second, one frame is
//! dropped to bring the delay back down; when it runs dry, the frame is concealed without moving on,
//! which adds one frame of delay exactly when the network needed it.

use crate::frame::{MAX_PAYLOAD, RTP_TICKS_PER_FRAME};

/// Slots in the ring: 16 frames, 320 ms.
pub const SLOTS: usize = 16;
/// The least play-out delay in frames.
pub const MIN_TARGET: u8 = 1;
/// The greatest play-out delay in frames (leaves room to keep receiving while late packets wait).
pub const MAX_TARGET: u8 = 12;
/// Play-out delay before any jitter has been measured, in frames.
const INITIAL_TARGET: u8 = 2;
/// Consecutive ticks with more buffered than needed before one frame is dropped (1 s).
const SHRINK_AFTER_TICKS: u16 = 50;
/// Consecutive concealed frames with nothing to play before the stream counts as paused (DTX,
/// hold, or a dead sender): play-out then stops and re-buffers on the next packet.
const IDLE_AFTER_STALLS: u8 = 5;
/// Consecutive late packets after which the sender is taken to have restarted its sequence.
const RESYNC_AFTER_LATE: u8 = 5;
/// How much the earliest transit may rise per packet, in ms, so clock drift does not inflate jitter.
const MIN_TRANSIT_DRIFT_MS: f64 = 0.02;
/// Per-packet decay of the jitter peak (about e⁻¹ over 10 s of packets).
const PEAK_DECAY: f64 = 0.998;
/// A transit change larger than this is a timestamp jump, not jitter: re-anchor the statistics.
const TIMESTAMP_JUMP_MS: f64 = 500.0;

/// Counters of what arrived and what was played.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets accepted into the buffer.
    pub received: u64,
    /// Packets already held (same sequence number), dropped.
    pub duplicate: u64,
    /// Packets that arrived after their play-out time, dropped.
    pub late: u64,
    /// Sequence numbers never played: skipped as missing at play-out time.
    pub lost: u64,
    /// Frames rebuilt from the next packet's in-band FEC (a subset of `lost`).
    pub fec_recovered: u64,
    /// Frames invented by packet-loss concealment (losses without FEC, and underruns).
    pub concealed: u64,
    /// Frames dropped unplayed to cut the delay or because the sender ran too far ahead.
    pub discarded: u64,
    /// Times the buffer restarted because the sequence jumped.
    pub resyncs: u64,
}

/// What the buffer gives the decoder for this tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Decode this packet, whose RTP timestamp is `timestamp`.
    Packet {
        /// The received Opus frame to decode, as it arrived.
        payload: &'a [u8],
        /// Its RTP timestamp (48 kHz clock), as on the wire.
        timestamp: u32,
    },
    /// The frame is missing but the next packet is here: decode its in-band FEC.
    Fec {
        /// The next packet's payload.
        next: &'a [u8],
        /// The RTP timestamp of the missing frame.
        timestamp: u32,
    },
    /// Nothing usable: conceal one frame.
    Conceal,
    /// No stream (not started, paused or ended): play silence without touching the decoder.
    Idle,
}

/// What happened to an inserted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Buffered for play-out.
    Buffered,
    /// Already held.
    Duplicate,
    /// Its play-out time has passed.
    Late,
}

#[derive(Clone, Copy)]
struct Slot {
    seq: u64,
    timestamp: u32,
    len: u16,
    present: bool,
    payload: [u8; MAX_PAYLOAD],
}

const EMPTY_SLOT: Slot = Slot {
    seq: 0,
    timestamp: 0,
    len: 0,
    present: false,
    payload: [0; MAX_PAYLOAD],
};

/// One leg's adaptive jitter buffer. See the module docs for the design.
pub struct JitterBuffer {
    slots: [Slot; SLOTS],
    /// Extended sequence number to play next; `None` before the first packet.
    next: Option<u64>,
    /// Highest extended sequence number buffered.
    highest: u64,
    playing: bool,
    stalls: u8,
    late_run: u8,
    target: u8,
    excess_ticks: u16,
    // Timing statistics, in ms.
    last_ts: Option<u32>,
    ts_ext: u64,
    min_transit: f64,
    last_transit: f64,
    peak_spread: f64,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        JitterBuffer::new()
    }
}

impl JitterBuffer {
    /// A buffer that has seen no packet yet, at the initial play-out delay.
    pub fn new() -> JitterBuffer {
        JitterBuffer {
            slots: [EMPTY_SLOT; SLOTS],
            next: None,
            highest: 0,
            playing: false,
            stalls: 0,
            late_run: 0,
            target: INITIAL_TARGET,
            excess_ticks: 0,
            last_ts: None,
            ts_ext: 0,
            min_transit: 0.0,
            last_transit: 0.0,
            peak_spread: 0.0,
            stats: JitterStats::default(),
        }
    }

    /// Totals so far: received, duplicate, late, lost, FEC-recovered, concealed, discarded.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The current play-out delay target in frames.
    pub fn target(&self) -> u8 {
        self.target
    }

    /// Frames buffered from the next one to play up to the newest.
    pub fn depth(&self) -> u64 {
        match self.next {
            Some(n) if self.highest >= n => self.highest - n + 1,
            _ => 0,
        }
    }

    /// Forgets every packet and the timing, keeping the counters.
    pub fn reset(&mut self) {
        for slot in &mut self.slots {
            slot.present = false;
        }
        self.next = None;
        self.playing = false;
        self.stalls = 0;
        self.late_run = 0;
        self.excess_ticks = 0;
        self.last_ts = None;
        self.target = INITIAL_TARGET;
        self.peak_spread = 0.0;
    }

    /// Extends a 16-bit sequence number to the value nearest the newest one seen.
    fn extend_seq(&self, seq: u16) -> u64 {
        match self.next {
            None => (1u64 << 32) + u64::from(seq),
            Some(_) => {
                let delta = i64::from(seq.wrapping_sub(self.highest as u16) as i16);
                (self.highest as i64 + delta) as u64
            }
        }
    }

    /// Buffers a packet that passed the payload check. `arrival_ms` is the arrival time on any
    /// monotonic millisecond scale; `timestamp` is the RTP timestamp (48 kHz).
    pub fn insert(&mut self, seq: u16, timestamp: u32, payload: &[u8], arrival_ms: f64) -> Insert {
        let ext = self.extend_seq(seq);
        if let Some(next) = self.next {
            if ext < next {
                if !self.playing && next - ext < SLOTS as u64 && self.highest - ext < SLOTS as u64 {
                    // Reordered before play-out began: start earlier instead of dropping it.
                    self.next = Some(ext);
                } else {
                    self.late_run += 1;
                    if self.late_run < RESYNC_AFTER_LATE {
                        self.stats.late += 1;
                        return Insert::Late;
                    }
                    // The sender restarted its sequence: follow it.
                    self.restart(ext);
                }
            } else if ext >= next + SLOTS as u64 {
                if ext - self.highest > 4 * SLOTS as u64 {
                    self.restart(ext);
                } else {
                    // The sender ran ahead of the ring: give up the oldest frames to make room.
                    let new_next = ext + 1 - SLOTS as u64;
                    for s in next..new_next {
                        let slot = &mut self.slots[(s % SLOTS as u64) as usize];
                        if slot.present && slot.seq == s {
                            slot.present = false;
                        }
                        self.stats.discarded += 1;
                    }
                    self.next = Some(new_next);
                }
            }
        } else {
            self.next = Some(ext);
            self.highest = ext;
        }
        self.late_run = 0;
        let slot = &mut self.slots[(ext % SLOTS as u64) as usize];
        if slot.present && slot.seq == ext {
            self.stats.duplicate += 1;
            return Insert::Duplicate;
        }
        slot.seq = ext;
        slot.timestamp = timestamp;
        slot.present = true;
        slot.len = payload.len() as u16;
        slot.payload[..payload.len()].copy_from_slice(payload);
        if ext > self.highest {
            self.highest = ext;
        }
        self.stats.received += 1;
        self.measure(timestamp, arrival_ms);
        Insert::Buffered
    }

    fn restart(&mut self, ext: u64) {
        for slot in &mut self.slots {
            slot.present = false;
        }
        self.stats.resyncs += 1;
        self.next = Some(ext);
        self.highest = ext;
        self.playing = false;
        self.stalls = 0;
        self.late_run = 0;
        self.last_ts = None;
    }

    /// Updates the jitter estimate from one arrival and derives the play-out target.
    fn measure(&mut self, timestamp: u32, arrival_ms: f64) {
        let Some(last) = self.last_ts else {
            self.last_ts = Some(timestamp);
            self.ts_ext = 1u64 << 32;
            let transit = arrival_ms - self.ts_ext as f64 / 48.0;
            self.min_transit = transit;
            self.last_transit = transit;
            return;
        };
        // Extend the 32-bit timestamp around the last one seen, like the sequence number.
        self.last_ts = Some(timestamp);
        let delta = i64::from(timestamp.wrapping_sub(last) as i32);
        self.ts_ext = (self.ts_ext as i64 + delta) as u64;
        let transit = arrival_ms - self.ts_ext as f64 / 48.0;
        if (transit - self.last_transit).abs() > TIMESTAMP_JUMP_MS {
            // The sender's clock jumped (new source, wrap mishandled upstream): start measuring anew
            // but keep the target we learnt.
            self.min_transit = transit;
        }
        self.last_transit = transit;
        self.min_transit = (self.min_transit + MIN_TRANSIT_DRIFT_MS).min(transit);
        let spread = transit - self.min_transit;
        self.peak_spread = (self.peak_spread * PEAK_DECAY).max(spread);
        let frame_ms = f64::from(RTP_TICKS_PER_FRAME) / 48.0;
        let frames = 1.0 + (self.peak_spread / frame_ms).ceil();
        self.target = (frames as u8).clamp(MIN_TARGET, MAX_TARGET);
    }

    /// Takes what the decoder should produce for this tick. Call exactly once per tick.
    pub fn pop(&mut self) -> Playout<'_> {
        let Some(mut next) = self.next else {
            return Playout::Idle;
        };
        if !self.playing {
            if self.depth() < u64::from(self.target) {
                return Playout::Idle;
            }
            // Start at the oldest packet held; anything missing before it is lost.
            let Some(first) = (next..=self.highest).find(|&s| self.slot_holds(s)) else {
                return Playout::Idle;
            };
            self.stats.lost += first - next;
            next = first;
            self.next = Some(next);
            self.playing = true;
            self.stalls = 0;
            self.excess_ticks = 0;
        }
        // Cut the delay back when the buffer has held more than it needs for a while.
        if self.depth() > u64::from(self.target) + 1 {
            self.excess_ticks += 1;
            if self.excess_ticks >= SHRINK_AFTER_TICKS {
                self.excess_ticks = 0;
                self.take(next);
                self.stats.discarded += 1;
                return self.pop_at(next + 1);
            }
        } else {
            self.excess_ticks = 0;
        }
        self.pop_at(next)
    }

    fn pop_at(&mut self, next: u64) -> Playout<'_> {
        self.next = Some(next);
        if self.slot_holds(next) {
            self.stalls = 0;
            self.next = Some(next + 1);
            let slot = &mut self.slots[(next % SLOTS as u64) as usize];
            slot.present = false;
            return Playout::Packet {
                payload: &slot.payload[..usize::from(slot.len)],
                timestamp: slot.timestamp,
            };
        }
        if self.highest > next {
            // A hole with newer packets behind it: the frame is lost.
            self.stalls = 0;
            self.next = Some(next + 1);
            self.stats.lost += 1;
            if self.slot_holds(next + 1) {
                let slot = &self.slots[((next + 1) % SLOTS as u64) as usize];
                let payload = &slot.payload[..usize::from(slot.len)];
                if crate::codec::opus::has_fec(payload) {
                    self.stats.fec_recovered += 1;
                    return Playout::Fec {
                        next: payload,
                        timestamp: slot.timestamp.wrapping_sub(RTP_TICKS_PER_FRAME),
                    };
                }
            }
            self.stats.concealed += 1;
            return Playout::Conceal;
        }
        // Underrun: nothing newer has arrived. Conceal without moving on.
        self.stalls += 1;
        if self.stalls > IDLE_AFTER_STALLS {
            self.playing = false;
            return Playout::Idle;
        }
        self.stats.concealed += 1;
        Playout::Conceal
    }

    fn slot_holds(&self, seq: u64) -> bool {
        let slot = &self.slots[(seq % SLOTS as u64) as usize];
        slot.present && slot.seq == seq
    }

    fn take(&mut self, seq: u64) {
        let slot = &mut self.slots[(seq % SLOTS as u64) as usize];
        if slot.seq == seq {
            slot.present = false;
        }
    }
}
