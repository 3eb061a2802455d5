//! One leg's key-press receivers: the in-band [`ToneDetector`] on decoded audio and the RFC 4733
//! [`TelephoneEventReceiver`], merged by [`ToneMerger`] into one press stream.
//!
//! Both inputs are put on the leg's [`MediaTime`] line, whose origin is the first decoded sample:
//! a detector sample index converts directly; an RTP timestamp converts through the timestamp of
//! the last frame played out (telephone events share the audio stream's RTP timestamps in WebRTC).

use crate::dtmf::telephone_event::{
    ClockRateError, EventPacket, KeyPressEvent, MAX_EVENTS_PER_PACKET, TelephoneEventReceiver,
};
use crate::dtmf::{
    DetectorConfig, Digit, MediaTime, ToneDetector, ToneEdge, ToneEvent, ToneMerger, ToneSource,
};
use crate::frame::{Frame, RTP_CLOCK, SAMPLE_RATE};
use std::time::Duration;

/// A change in a leg's key-press stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Press {
    Started { digit: Digit, source: ToneSource },
    Ended { digit: Digit, duration: Duration },
}

/// The press reported as down, and who will tell its end.
#[derive(Clone, Copy)]
struct Down {
    digit: Digit,
    start: MediaTime,
    source: ToneSource,
}

/// The receivers of one leg.
pub(crate) struct LegTones {
    detector: ToneDetector,
    receiver: TelephoneEventReceiver,
    merger: ToneMerger,
    /// Output of the telephone-event receiver; its capacity is reserved once so it never grows.
    key_events: Vec<KeyPressEvent>,
    /// (RTP timestamp, media time) of the start of the last frame played from a packet.
    anchor: Option<(u32, MediaTime)>,
    down: Option<Down>,
}

impl LegTones {
    pub(crate) fn new() -> Result<LegTones, super::SessionError> {
        Ok(LegTones {
            detector: ToneDetector::new(DetectorConfig::at_rate(SAMPLE_RATE))?,
            receiver: TelephoneEventReceiver::new(RTP_CLOCK)?,
            merger: ToneMerger::default(),
            key_events: Vec::with_capacity(MAX_EVENTS_PER_PACKET),
            anchor: None,
            down: None,
        })
    }

    /// Forgets the previous leg. `clock` was validated by the session.
    pub(crate) fn reset(&mut self, clock: u32) {
        self.detector.reset();
        if let Ok(receiver) = TelephoneEventReceiver::new(clock) {
            self.receiver = receiver;
        }
        self.merger = ToneMerger::default();
        self.key_events.clear();
        self.anchor = None;
        self.down = None;
    }

    /// Follows the clock rate of the telephone-event packets arriving now: a new rate starts a
    /// new receiver (presses in flight at the old rate end there). Allocation-free.
    pub(crate) fn use_clock(&mut self, clock: u32) -> Result<(), ClockRateError> {
        if clock != self.receiver.clock_rate() {
            self.receiver = TelephoneEventReceiver::new(clock)?;
        }
        Ok(())
    }

    fn now(&self) -> MediaTime {
        MediaTime::from_samples(self.detector.samples_pushed(), SAMPLE_RATE)
    }

    /// Media time of an extended RTP timestamp of a telephone event. Events share the audio
    /// stream's RTP timestamps (one SSRC, Opus's 48 kHz clock, whatever the event payload type's
    /// rate: browsers send 8000 Hz events that way), so positions are counted at the audio clock;
    /// only durations are in the event clock's units.
    fn media_time(&mut self, extended: u64) -> MediaTime {
        let (ref_ts, ref_time) = *self.anchor.get_or_insert((extended as u32, self.now()));
        // Shortest way round the 32-bit circle: events are never far from what is playing.
        let delta = i64::from((extended as u32).wrapping_sub(ref_ts) as i32);
        let ticks = MediaTime::from_samples(delta.unsigned_abs(), RTP_CLOCK);
        if delta >= 0 {
            ref_time.saturating_add(ticks)
        } else {
            ref_time.saturating_sub(ticks)
        }
    }

    /// Runs the in-band detector over one decoded frame; `timestamp` is the frame's RTP timestamp
    /// when it was played from a packet.
    pub(crate) fn on_audio(
        &mut self,
        frame: &Frame,
        timestamp: Option<u32>,
        emit: &mut impl FnMut(Press),
    ) {
        if let Some(ts) = timestamp {
            self.anchor = Some((ts, self.now()));
        }
        let mut found: [Option<ToneEvent>; 4] = [None; 4];
        let mut n = 0;
        self.detector.push(frame, |e| {
            if n < found.len() {
                found[n] = Some(e);
                n += 1;
            }
        });
        for event in found.into_iter().flatten() {
            match event.edge {
                ToneEdge::Start => {
                    let start = MediaTime::from_samples(event.at, SAMPLE_RATE);
                    if let Some(tone) = self.merger.in_band_started(event.digit, start) {
                        self.press(tone.digit, tone.start, tone.source, emit);
                    }
                }
                ToneEdge::End => {
                    let end = MediaTime::from_samples(event.at, SAMPLE_RATE);
                    self.merger.in_band_ended(event.digit, end);
                    self.release(event.digit, None, end, ToneSource::InBand, emit);
                }
            }
        }
    }

    /// Feeds one RFC 4733 payload; returns whether it was a valid DTMF telephone-event payload.
    pub(crate) fn on_telephone_event(
        &mut self,
        packet: &EventPacket<'_>,
        emit: &mut impl FnMut(Press),
    ) -> bool {
        self.key_events.clear();
        let mut events = std::mem::take(&mut self.key_events);
        let ok = self.receiver.receive(packet, &mut events).is_ok();
        self.handle_key_events(&events, emit);
        events.clear();
        self.key_events = events;
        ok
    }

    /// Ends a telephone-event press whose updates stopped; `newest` is the newest audio RTP
    /// timestamp of the leg (only meaningful when events share the audio clock).
    pub(crate) fn expire(&mut self, newest: Option<u32>, emit: &mut impl FnMut(Press)) {
        let Some(now) = newest else { return };
        if self.receiver.clock_rate() != RTP_CLOCK || self.down.is_none() {
            return;
        }
        let mut events = std::mem::take(&mut self.key_events);
        events.clear();
        self.receiver.expire(now, &mut events);
        self.handle_key_events(&events, emit);
        events.clear();
        self.key_events = events;
    }

    fn handle_key_events(&mut self, events: &[KeyPressEvent], emit: &mut impl FnMut(Press)) {
        for &event in events {
            match event {
                KeyPressEvent::Pressed { digit, start, .. } => {
                    let start = self.media_time(start);
                    if let Some(tone) = self.merger.telephone_event_pressed(digit, start) {
                        self.press(tone.digit, tone.start, tone.source, emit);
                    }
                }
                KeyPressEvent::Released {
                    digit,
                    start,
                    duration,
                    ..
                } => {
                    let start = self.media_time(start);
                    let end = start.saturating_add(MediaTime::from_samples(
                        duration,
                        self.receiver.clock_rate(),
                    ));
                    self.merger.telephone_event_released(digit, start, end);
                    self.release(digit, Some(start), end, ToneSource::TelephoneEvent, emit);
                }
            }
        }
    }

    fn press(
        &mut self,
        digit: Digit,
        start: MediaTime,
        source: ToneSource,
        emit: &mut impl FnMut(Press),
    ) {
        // A new press ends one still down (a receiver that missed the end).
        if let Some(down) = self.down.take() {
            emit(Press::Ended {
                digit: down.digit,
                duration: duration(start.saturating_sub(down.start)),
            });
        }
        self.down = Some(Down {
            digit,
            start,
            source,
        });
        emit(Press::Started { digit, source });
    }

    /// Ends the press that is down if `source` reported it (the other input's end is a duplicate).
    fn release(
        &mut self,
        digit: Digit,
        start: Option<MediaTime>,
        end: MediaTime,
        source: ToneSource,
        emit: &mut impl FnMut(Press),
    ) {
        let Some(down) = self.down else { return };
        if down.digit != digit || down.source != source || start.is_some_and(|s| s != down.start) {
            return;
        }
        self.down = None;
        emit(Press::Ended {
            digit,
            duration: duration(end.saturating_sub(down.start)),
        });
    }
}

fn duration(t: MediaTime) -> Duration {
    Duration::from_micros(t.0 * 1_000_000 / MediaTime::TICKS_PER_SECOND)
}
