//! The receiving side of RFC 4733: telephone-event packets from one source in, key presses out.

use super::payload::{EventBlock, EventBlocks, MAX_BLOCKS_PER_PACKET, TelephoneEventError};
use crate::dtmf::Digit;

/// The most [`KeyPressEvent`]s one call to [`TelephoneEventReceiver::receive`] can produce: per
/// block, the release of a superseded press, a press and its release. Reserve this much in the
/// output vector once and the receiver never allocates.
pub const MAX_EVENTS_PER_PACKET: usize = 3 * MAX_BLOCKS_PER_PACKET;

/// Recently finished presses remembered to drop their repeated end packets and late duplicates.
const HISTORY_LEN: usize = 16;

/// A long event is sent in segments of at most this many clock units (RFC 4733 §2.5.1.3): the next
/// segment's timestamp is the previous one's plus this.
const SEGMENT_SPAN: i64 = 0xffff;

/// One telephone-event packet as the RTP layer hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket<'a> {
    /// The RTP timestamp: the start of the (first) event in the payload.
    pub timestamp: u32,
    /// The RTP sequence number: tells a wrapped duration field from a late packet.
    pub sequence: u16,
    /// The RTP marker bit: set on the first packet of an event (senders do not always set it).
    pub marker: bool,
    /// The RTP payload: one or more 4-byte event blocks.
    pub payload: &'a [u8],
}

/// What happened to a key, as told by the telephone-event stream.
///
/// Every `Pressed` is followed by exactly one `Released` for the same `start` (at the latest when
/// [`TelephoneEventReceiver::finish`] is called), and each press is reported once however many
/// packets repeat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPressEvent {
    /// A key went down. Reported on the first packet seen for the press, without waiting.
    Pressed {
        /// The key the sender's event code names.
        digit: Digit,
        /// Extended RTP timestamp of the press start (see [`TelephoneEventReceiver`]).
        start: u64,
        /// The level the sender stated, in dBm0 (0 to −63).
        level_dbm0: i8,
    },
    /// The key went up, or its press can no longer be followed.
    Released {
        /// The key released, as in the matching `Pressed`.
        digit: Digit,
        /// Extended RTP timestamp of the press start, as in the matching `Pressed`.
        start: u64,
        /// How long the key was down, in RTP clock units (the longest duration reported).
        duration: u64,
        /// How the end was learnt.
        reason: ReleaseReason,
    },
}

/// How the end of a press was learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseReason {
    /// A packet with the E bit: the duration is the sender's final one.
    EndBit,
    /// Another press started before any end packet arrived; the duration is the last one seen.
    Superseded,
    /// No update arrived within the end timeout; the duration is the last one seen.
    TimedOut,
    /// The stream ended (see [`TelephoneEventReceiver::finish`]) while the key was down.
    StreamEnded,
}

/// A clock rate this receiver cannot work with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("telephone-event clock rate {rate} Hz is not supported; allowed are 8000 to 192000 Hz")]
pub struct ClockRateError {
    /// The rate asked for, in Hz (outside 8000 to 192000).
    pub rate: u32,
}

/// The press currently being reported by the sender.
#[derive(Debug, Clone, Copy)]
struct ActivePress {
    digit: Digit,
    /// Extended timestamp of the press start (its first segment).
    start: i64,
    /// Extended timestamp of the segment now being reported (equals `start` until 0xFFFF units).
    segment_start: i64,
    /// The largest duration field seen in this segment.
    segment_duration: u16,
    /// How often the duration field wrapped within this segment (senders that ignore §2.5.1.3).
    segment_wraps: u32,
    /// The newest RTP sequence number seen for this press.
    sequence: u16,
}

impl ActivePress {
    fn segment_length(&self) -> i64 {
        i64::from(self.segment_wraps) * 0x1_0000 + i64::from(self.segment_duration)
    }

    fn duration(&self) -> u64 {
        // segment_start >= start and segment_length >= 0, so the sum is never negative.
        (self.segment_start - self.start + self.segment_length()) as u64
    }

    /// Takes a duration report for the current segment, counting field wraps.
    fn update(&mut self, duration: u16, sequence: u16) {
        // A smaller duration in a packet sent later has wrapped past 0xFFFF; in a packet sent
        // earlier it is just late. Sequence numbers say which (serial arithmetic, RFC 1982).
        let sent_later = sequence.wrapping_sub(self.sequence) as i16 > 0;
        if sent_later {
            self.sequence = sequence;
        }
        let ahead = duration.wrapping_sub(self.segment_duration) as i16 > 0;
        if ahead && duration > self.segment_duration {
            self.segment_duration = duration;
        } else if ahead && sent_later {
            self.segment_wraps += 1;
            self.segment_duration = duration;
        }
    }

    /// Whether a block starting at `start` is the next segment of this long press.
    fn continues_at(&self, start: i64) -> bool {
        let offset = start - self.segment_start;
        offset == SEGMENT_SPAN
            || (offset >= 0x8000 && offset == self.segment_length() && offset <= SEGMENT_SPAN + 1)
    }
}

/// A finished press, kept to recognise its late and repeated packets.
#[derive(Debug, Clone, Copy)]
struct FinishedPress {
    digit: Digit,
    start: i64,
    last_segment_start: i64,
}

impl FinishedPress {
    fn covers(&self, digit: Digit, start: i64) -> bool {
        digit == self.digit && (self.start..=self.last_segment_start).contains(&start)
    }
}

/// Turns the telephone-event packets of one RTP source into key presses.
///
/// One receiver per source (SSRC): create a new one when the source changes. It copes with what
/// real senders and networks do: a missing marker bit, lost first packets (the press still starts
/// at the packet's timestamp), the end packet repeated (three times, usually), packets reordered
/// or late, long presses split into 0xFFFF-unit segments or with a wrapping duration field, RTP
/// timestamp wrap, and any clock rate (8000 and 48000 Hz are usual). Nothing is allocated per
/// packet.
///
/// Times are *extended RTP timestamps*: the low 32 bits are the wire timestamp and the high bits
/// count wraps, starting at 1 so that a packet slightly older than the first one still has a
/// valid, smaller value. Durations are in RTP clock units.
#[derive(Debug, Clone)]
pub struct TelephoneEventReceiver {
    clock_rate: u32,
    end_timeout: i64,
    timeline_jump: i64,
    /// The newest extended timestamp seen; the reference for extending the next one.
    newest: Option<i64>,
    active: Option<ActivePress>,
    history: [Option<FinishedPress>; HISTORY_LEN],
    /// Where the next finished press goes in `history`.
    history_next: usize,
}

impl TelephoneEventReceiver {
    /// A receiver for a source whose telephone-event clock runs at `clock_rate` Hz. A press whose
    /// updates stop is ended by [`expire`](Self::expire) after 250 ms.
    pub fn new(clock_rate: u32) -> Result<TelephoneEventReceiver, ClockRateError> {
        if !(8000..=192_000).contains(&clock_rate) {
            return Err(ClockRateError { rate: clock_rate });
        }
        let rate = i64::from(clock_rate);
        Ok(TelephoneEventReceiver {
            clock_rate,
            end_timeout: rate / 4,
            // A packet this far behind the newest one cannot be late: the sender restarted its
            // timeline (no network holds a packet for ten seconds).
            timeline_jump: 10 * rate,
            newest: None,
            active: None,
            history: [None; HISTORY_LEN],
            history_next: 0,
        })
    }

    /// The clock rate of the timestamps and durations this receiver reports, in Hz.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Takes one telephone-event packet and appends what it tells to `out`: at most
    /// [`MAX_EVENTS_PER_PACKET`] events. A payload that is not a valid DTMF telephone-event
    /// payload changes nothing and is an error.
    pub fn receive(
        &mut self,
        packet: &EventPacket<'_>,
        out: &mut Vec<KeyPressEvent>,
    ) -> Result<(), TelephoneEventError> {
        let blocks = EventBlocks::decode(packet.payload)?;
        let mut start = self.extend(packet.timestamp);
        let count = blocks.len();
        for (index, block) in blocks.iter().enumerate() {
            // The marker announces the packet's newest event, which is the last block.
            let marker = packet.marker && index + 1 == count;
            self.take_block(start, block, (marker, packet.sequence), out);
            start += i64::from(block.duration);
        }
        Ok(())
    }

    /// Tells the receiver that the source's stream has reached RTP timestamp `now` (for example
    /// from its audio packets). A press with no update for 250 ms is released as timed out.
    pub fn expire(&mut self, now: u32, out: &mut Vec<KeyPressEvent>) {
        let now = self.extend(now);
        if let Some(active) = self.active {
            let last_heard = active.start + active.duration() as i64;
            if now - last_heard > self.end_timeout {
                self.release(ReleaseReason::TimedOut, out);
            }
        }
    }

    /// Ends the stream: a key still down is released with the last duration seen.
    pub fn finish(&mut self, out: &mut Vec<KeyPressEvent>) {
        self.release(ReleaseReason::StreamEnded, out);
    }

    /// Extends a wire timestamp to 64 bits around the newest one seen, and remembers the newest.
    fn extend(&mut self, timestamp: u32) -> i64 {
        let extended = match self.newest {
            None => (1i64 << 32) + i64::from(timestamp),
            // The wrapping difference, read as signed, is the shortest way round the circle.
            Some(newest) => newest + i64::from(timestamp.wrapping_sub(newest as u32) as i32),
        };
        if self.newest.is_none_or(|newest| extended > newest) {
            self.newest = Some(extended);
        }
        extended
    }

    fn take_block(
        &mut self,
        start: i64,
        block: EventBlock,
        (marker, sequence): (bool, u16),
        out: &mut Vec<KeyPressEvent>,
    ) {
        if let Some(mut active) = self.active
            && active.digit == block.digit
        {
            if start == active.segment_start {
                active.update(block.duration, sequence);
                self.active = Some(active);
                if block.end {
                    self.release(ReleaseReason::EndBit, out);
                }
                return;
            }
            if (active.start..active.segment_start).contains(&start) {
                // A late packet from an earlier segment of this press: nothing new.
                return;
            }
            if !marker && active.continues_at(start) {
                active.segment_start = start;
                active.segment_duration = block.duration;
                active.segment_wraps = 0;
                active.sequence = sequence;
                self.active = Some(active);
                if block.end {
                    self.release(ReleaseReason::EndBit, out);
                }
                return;
            }
        }
        if self
            .history
            .iter()
            .flatten()
            .any(|p| p.covers(block.digit, start))
        {
            // A repeated end packet, or a late packet of a press already reported.
            return;
        }
        let newest_start = self.newest_press_start();
        match newest_start {
            Some(newest) if start < newest && newest - start <= self.timeline_jump => {
                self.take_late_press(start, block, out);
            }
            Some(newest) if start < newest => {
                // The sender restarted its timeline: what came before says nothing about this.
                self.release(ReleaseReason::Superseded, out);
                self.history = [None; HISTORY_LEN];
                self.newest = Some(start);
                self.start_press(start, block, sequence, out);
            }
            _ => {
                self.release(ReleaseReason::Superseded, out);
                self.start_press(start, block, sequence, out);
            }
        }
    }

    /// A press older than the newest one, never seen before: its first packets were delayed or
    /// lost. It is reported (late is better than never) and closed at once, since a newer press
    /// has started since.
    fn take_late_press(&mut self, start: i64, block: EventBlock, out: &mut Vec<KeyPressEvent>) {
        let history_full = self.history.iter().all(Option::is_some);
        let oldest = self.history.iter().flatten().map(|p| p.start).min();
        if history_full && oldest.is_some_and(|oldest| start < oldest) {
            // Older than everything remembered: it may have been reported already. Dropping it
            // is the only way to be sure not to report a press twice.
            return;
        }
        out.push(KeyPressEvent::Pressed {
            digit: block.digit,
            start: start as u64,
            level_dbm0: block.level_dbm0(),
        });
        out.push(KeyPressEvent::Released {
            digit: block.digit,
            start: start as u64,
            duration: u64::from(block.duration),
            reason: if block.end {
                ReleaseReason::EndBit
            } else {
                ReleaseReason::Superseded
            },
        });
        self.remember(FinishedPress {
            digit: block.digit,
            start,
            last_segment_start: start,
        });
    }

    fn start_press(
        &mut self,
        start: i64,
        block: EventBlock,
        sequence: u16,
        out: &mut Vec<KeyPressEvent>,
    ) {
        out.push(KeyPressEvent::Pressed {
            digit: block.digit,
            start: start as u64,
            level_dbm0: block.level_dbm0(),
        });
        self.active = Some(ActivePress {
            digit: block.digit,
            start,
            segment_start: start,
            segment_duration: block.duration,
            segment_wraps: 0,
            sequence,
        });
        if block.end {
            self.release(ReleaseReason::EndBit, out);
        }
    }

    /// Releases the active press, if any, and remembers it.
    fn release(&mut self, reason: ReleaseReason, out: &mut Vec<KeyPressEvent>) {
        if let Some(active) = self.active.take() {
            out.push(KeyPressEvent::Released {
                digit: active.digit,
                start: active.start as u64,
                duration: active.duration(),
                reason,
            });
            self.remember(FinishedPress {
                digit: active.digit,
                start: active.start,
                last_segment_start: active.segment_start,
            });
        }
    }

    fn remember(&mut self, press: FinishedPress) {
        self.history[self.history_next] = Some(press);
        self.history_next = (self.history_next + 1) % HISTORY_LEN;
    }

    /// The start of the newest press known, active or finished.
    fn newest_press_start(&self) -> Option<i64> {
        let finished = self.history.iter().flatten().map(|p| p.start).max();
        let active = self.active.map(|a| a.start);
        finished.max(active)
    }
}
