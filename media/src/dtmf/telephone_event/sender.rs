//! The sending side of RFC 4733: the packets that tell a peer one key was pressed.

use super::payload::{EVENT_BLOCK_LEN, EventBlock};
use crate::dtmf::Digit;

/// How often the final packet is sent: RFC 4733 §2.5.1.4 asks for three, so one loss is survived.
pub const END_PACKET_REPEATS: usize = 3;

/// The longest segment of a long event, in clock units (RFC 4733 §2.5.1.3).
const SEGMENT_SPAN: u32 = 0xffff;

/// How to send one key press as telephone events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPressPlan {
    /// The key to send; its RFC 4733 event code (0–15) goes in every packet.
    pub digit: Digit,
    /// The RTP timestamp at which the press starts (the caller's media timeline).
    pub start_timestamp: u32,
    /// How long the key is held, in clock units (for example 100 ms at 48 kHz is 4800).
    pub duration: u32,
    /// The time between packets, in clock units (for example 20 ms at 48 kHz is 960).
    pub packet_interval: u32,
    /// The level to state, as a positive number of dB below 0 dBm0 (0–63); 10 is usual.
    pub volume: u8,
}

/// A plan that cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyPressPlanError {
    /// The press has no duration.
    #[error("a key press must last at least one clock unit; got a duration of 0")]
    ZeroDuration,
    /// The packet interval is zero or longer than one segment.
    #[error("packet interval {interval} clock units is not allowed; allowed are 1 to 65535")]
    BadInterval {
        /// The interval asked for, in clock units (0, or over 65535).
        interval: u32,
    },
    /// The volume is outside the field's range.
    #[error("volume {volume} is not allowed; allowed are 0 to 63 (dB below 0 dBm0)")]
    BadVolume {
        /// The volume asked for, in dB below 0 dBm0 (over 63).
        volume: u8,
    },
}

/// One telephone-event packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingEventPacket {
    /// When to send it, in clock units after the press start.
    pub send_offset: u32,
    /// The RTP timestamp to put in the header (the start of the event segment).
    pub timestamp: u32,
    /// The RTP marker bit (set on the first packet of the press only).
    pub marker: bool,
    /// The 4-byte payload.
    pub payload: [u8; EVENT_BLOCK_LEN],
}

impl KeyPressPlan {
    /// The packets for this press, in sending order, computed as they are taken (no allocation).
    ///
    /// One packet per interval, each stating the duration so far, the first one interval after the
    /// start; then the final duration with the E bit, [`END_PACKET_REPEATS`] times. A press longer
    /// than 0xFFFF units is split into segments, each with its own timestamp.
    pub fn packets(&self) -> Result<KeyPressPackets, KeyPressPlanError> {
        if self.duration == 0 {
            return Err(KeyPressPlanError::ZeroDuration);
        }
        if self.packet_interval == 0 || self.packet_interval > SEGMENT_SPAN {
            return Err(KeyPressPlanError::BadInterval {
                interval: self.packet_interval,
            });
        }
        if self.volume > 63 {
            return Err(KeyPressPlanError::BadVolume {
                volume: self.volume,
            });
        }
        Ok(KeyPressPackets {
            plan: *self,
            elapsed: 0,
            ends_sent: 0,
        })
    }
}

/// The packets of one key press, in sending order; see [`KeyPressPlan::packets`].
#[derive(Debug, Clone)]
pub struct KeyPressPackets {
    plan: KeyPressPlan,
    /// The duration already reported, in clock units from the press start.
    elapsed: u32,
    ends_sent: usize,
}

impl KeyPressPackets {
    fn packet(&self, reported: u32, end: bool, marker: bool) -> OutgoingEventPacket {
        // A press reported up to `reported` lies in segment (reported - 1) / SPAN; a report on a
        // segment boundary still belongs to the segment it completes.
        let segment = reported.saturating_sub(1) / SEGMENT_SPAN;
        let segment_offset = segment * SEGMENT_SPAN;
        let block = EventBlock {
            digit: self.plan.digit,
            end,
            volume: self.plan.volume,
            // At most SEGMENT_SPAN by the segment arithmetic above.
            duration: (reported - segment_offset) as u16,
        };
        OutgoingEventPacket {
            send_offset: reported,
            timestamp: self.plan.start_timestamp.wrapping_add(segment_offset),
            marker,
            payload: block.encode(),
        }
    }
}

impl Iterator for KeyPressPackets {
    type Item = OutgoingEventPacket;

    fn next(&mut self) -> Option<OutgoingEventPacket> {
        let total = self.plan.duration;
        if self.elapsed < total {
            let first = self.elapsed == 0;
            let segment_end = (self.elapsed / SEGMENT_SPAN + 1) * SEGMENT_SPAN;
            // Step one interval, but land exactly on a segment end so each segment's last report
            // is its full 0xFFFF and the next segment starts exactly there.
            let next = (self.elapsed + self.plan.packet_interval)
                .min(segment_end)
                .min(total);
            self.elapsed = next;
            if next < total {
                return Some(self.packet(next, false, first));
            }
            // The last report carries the E bit; it is the first of the repeated end packets.
            self.ends_sent = 1;
            return Some(self.packet(total, true, first));
        }
        if self.ends_sent < END_PACKET_REPEATS {
            self.ends_sent += 1;
            return Some(self.packet(total, true, false));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::telephone_event::TelephoneEventReceiver;
    use crate::dtmf::telephone_event::{EventBlocks, EventPacket, KeyPressEvent, ReleaseReason};

    fn plan(duration: u32, interval: u32) -> KeyPressPlan {
        KeyPressPlan {
            digit: Digit::D7,
            start_timestamp: 1000,
            duration,
            packet_interval: interval,
            volume: 10,
        }
    }

    fn decode(packet: &OutgoingEventPacket) -> EventBlock {
        EventBlocks::decode(&packet.payload).unwrap().last()
    }

    #[test]
    fn a_short_press_is_updates_then_three_end_packets() {
        // 100 ms at 8 kHz in 20 ms packets.
        let packets: Vec<_> = plan(800, 160).packets().unwrap().collect();
        let durations: Vec<u16> = packets.iter().map(|p| decode(p).duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = packets.iter().map(|p| decode(p).end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);
        assert!(packets[0].marker);
        assert!(packets[1..].iter().all(|p| !p.marker));
        assert!(packets.iter().all(|p| p.timestamp == 1000));
        assert_eq!(packets[0].send_offset, 160);
        assert_eq!(packets[6].send_offset, 800);
        assert_eq!(decode(&packets[0]).digit, Digit::D7);
        assert_eq!(decode(&packets[0]).volume, 10);
    }

    #[test]
    fn a_press_shorter_than_one_interval_is_one_marked_end_packet_repeated() {
        let packets: Vec<_> = plan(100, 160).packets().unwrap().collect();
        assert_eq!(packets.len(), END_PACKET_REPEATS);
        assert!(packets[0].marker && decode(&packets[0]).end);
        assert!(packets.iter().all(|p| decode(p).duration == 100));
    }

    #[test]
    fn a_long_press_is_split_into_segments_of_0xffff() {
        // 3 s at 48 kHz = 144000 units: segments of 65535, 65535 and 12930.
        let packets: Vec<_> = plan(144_000, 960).packets().unwrap().collect();
        let starts: Vec<u32> = packets.iter().map(|p| p.timestamp).collect();
        let boundary = packets.iter().position(|p| p.timestamp != 1000).unwrap();
        assert_eq!(decode(&packets[boundary - 1]).duration, 0xffff);
        assert_eq!(starts[boundary], 1000 + 0xffff);
        assert!(starts.contains(&(1000 + 2 * 0xffff)));
        let last = packets.last().unwrap();
        assert_eq!(decode(last).duration as u32, 144_000 - 2 * 0xffff);
        assert!(decode(last).end);
        // Durations never exceed the field and only the first packet is marked.
        assert_eq!(packets.iter().filter(|p| p.marker).count(), 1);
    }

    #[test]
    fn bad_plans_are_errors() {
        assert_eq!(
            plan(0, 160).packets().unwrap_err(),
            KeyPressPlanError::ZeroDuration
        );
        assert_eq!(
            plan(800, 0).packets().unwrap_err().to_string(),
            "packet interval 0 clock units is not allowed; allowed are 1 to 65535"
        );
        let mut loud = plan(800, 160);
        loud.volume = 64;
        assert_eq!(
            loud.packets().unwrap_err(),
            KeyPressPlanError::BadVolume { volume: 64 }
        );
    }

    #[test]
    fn the_receiver_reads_back_what_the_sender_sends_at_every_rate() {
        for (rate, duration) in [(8000u32, 800u32), (48_000, 4800), (48_000, 200_000)] {
            let mut rx = TelephoneEventReceiver::new(rate).unwrap();
            let mut events = Vec::new();
            let mut sent = plan(duration, rate / 50);
            sent.start_timestamp = u32::MAX - 500; // wraps during the press
            for (seq, p) in sent.packets().unwrap().enumerate() {
                let packet = EventPacket {
                    timestamp: p.timestamp,
                    sequence: seq as u16,
                    marker: p.marker,
                    payload: &p.payload,
                };
                rx.receive(&packet, &mut events).unwrap();
            }
            assert_eq!(
                events.len(),
                2,
                "rate {rate} duration {duration}: {events:?}"
            );
            assert!(
                matches!(events[0], KeyPressEvent::Pressed { digit: Digit::D7, start, .. }
                if start as u32 == u32::MAX - 500)
            );
            assert!(matches!(events[1], KeyPressEvent::Released {
                digit: Digit::D7, duration: d, reason: ReleaseReason::EndBit, ..
            } if d == u64::from(duration)));
        }
    }
}
