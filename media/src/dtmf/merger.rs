//! One stream of key presses per call leg, from in-band tones and RFC 4733 events together.
//!
//! A leg can tell a key press two ways: as tones in its decoded audio (found by the in-band
//! detector, some tens of milliseconds after the tone began) and as RFC 4733 telephone events
//! (known from the first packet, with no detector delay). Browsers send only events, PSTN gateways
//! often both, recordings only tones. [`ToneMerger`] reports each press once, the moment the first
//! of the two tells it, and suppresses the other's later confirmation.
//!
//! Both kinds of input are given in one time base, [`MediaTime`], by the leg owner. The rules,
//! with `w` the match window (40 ms by default):
//!
//! * A telephone event is the same press as an in-band tone not yet matched to an event when
//!   their starts are within `w` of each other, or the event starts while the tone is on.
//! * An in-band tone is the same press as a telephone event when it starts no more than `w`
//!   before the event or at any time until the event ends. An event counts presses exactly, so a
//!   tone broken in two by a drop-out inside one event is still one press.
//! * Each input matches at most the nearest candidate (by start), so two presses of one key
//!   (at least 40 ms apart, as the DTMF requirements have it) stay two presses.

use super::telephone_event::KeyPressEvent;
use super::{Digit, MediaTime, ToneEdge, ToneEvent};

/// Recent presses remembered per leg: enough for a burst of fast dialling to be matched while
/// the slower of the two inputs catches up.
const REMEMBERED_PRESSES: usize = 8;

/// Which input told a press first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToneSource {
    /// The in-band detector, from tones in the decoded audio.
    InBand,
    /// RFC 4733 telephone events.
    TelephoneEvent,
}

/// A key press, reported once per press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergedTone {
    /// The key pressed, the same whichever input heard it.
    pub digit: Digit,
    /// When the key went down, as the reporting input measured it.
    pub start: MediaTime,
    /// The input that told it first.
    pub source: ToneSource,
}

/// How the merger decides two reports are one press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToneMergerConfig {
    /// How far apart the two inputs' start times may be for one press (see the module rules).
    pub match_window: MediaTime,
}

impl Default for ToneMergerConfig {
    fn default() -> Self {
        ToneMergerConfig {
            // The shortest pause between two presses of one key is 40 ms: a wider window could
            // join them, a narrower one misses a gateway's late-stamped events.
            match_window: MediaTime::from_millis(40),
        }
    }
}

/// An interval on the media timeline; `end` is `None` while the key is still down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u64,
    end: Option<u64>,
}

impl Span {
    fn open(start: MediaTime) -> Span {
        Span {
            start: start.0,
            end: None,
        }
    }

    fn contains(&self, t: u64) -> bool {
        t >= self.start && self.end.is_none_or(|end| t <= end)
    }
}

/// One press as known from either input or both.
#[derive(Debug, Clone, Copy)]
struct Press {
    digit: Digit,
    in_band: Option<Span>,
    telephone_event: Option<Span>,
}

/// Merges in-band detections and RFC 4733 presses of one call leg into one stream of presses.
///
/// Feed every in-band tone start and end and every telephone-event press and release, each as
/// soon as it is known. A start returns the press to report, or `None` when it confirms a press
/// already reported. Nothing is held back and nothing is allocated.
#[derive(Debug, Clone)]
pub struct ToneMerger {
    window: u64,
    presses: [Option<Press>; REMEMBERED_PRESSES],
    next_slot: usize,
    /// The slot of the press the in-band tone now on belongs to.
    in_band_on: Option<usize>,
}

impl Default for ToneMerger {
    fn default() -> Self {
        ToneMerger::new(ToneMergerConfig::default())
    }
}

impl ToneMerger {
    /// A merger that has heard no key yet; one per leg, as it pairs that leg's two inputs.
    pub fn new(config: ToneMergerConfig) -> ToneMerger {
        ToneMerger {
            window: config.match_window.0,
            presses: [None; REMEMBERED_PRESSES],
            next_slot: 0,
            in_band_on: None,
        }
    }

    /// Takes an event of the leg's [`ToneDetector`](super::ToneDetector); `to_media` maps the
    /// detector's sample indices to media time. Returns the press to report, if it is new.
    pub fn in_band(
        &mut self,
        event: &ToneEvent,
        to_media: impl Fn(u64) -> MediaTime,
    ) -> Option<MergedTone> {
        match event.edge {
            ToneEdge::Start => self.in_band_started(event.digit, to_media(event.at)),
            ToneEdge::End => {
                self.in_band_ended(event.digit, to_media(event.at));
                None
            }
        }
    }

    /// Takes an event of the leg's
    /// [`TelephoneEventReceiver`](super::telephone_event::TelephoneEventReceiver); `to_media`
    /// maps extended RTP timestamps to media time. Returns the press to report, if it is new.
    pub fn telephone_event(
        &mut self,
        event: &KeyPressEvent,
        to_media: impl Fn(u64) -> MediaTime,
    ) -> Option<MergedTone> {
        match *event {
            KeyPressEvent::Pressed { digit, start, .. } => {
                self.telephone_event_pressed(digit, to_media(start))
            }
            KeyPressEvent::Released {
                digit,
                start,
                duration,
                ..
            } => {
                let end = to_media(start.saturating_add(duration));
                self.telephone_event_released(digit, to_media(start), end);
                None
            }
        }
    }

    /// The in-band detector found `digit` starting at `start`.
    pub fn in_band_started(&mut self, digit: Digit, start: MediaTime) -> Option<MergedTone> {
        let t = start.0;
        let window = self.window;
        let matched = self.nearest(digit, t, |press| {
            press.telephone_event.is_some_and(|event| {
                t + window >= event.start && event.end.is_none_or(|end| t <= end)
            })
        });
        if let Some(slot) = matched {
            self.in_band_on = Some(slot);
            if let Some(press) = self.presses[slot].as_mut() {
                // A second piece of a broken tone keeps the first piece's start.
                press.in_band = Some(match press.in_band {
                    Some(piece) => Span {
                        start: piece.start.min(t),
                        end: None,
                    },
                    None => Span::open(start),
                });
            }
            return None;
        }
        let slot = self.remember(Press {
            digit,
            in_band: Some(Span::open(start)),
            telephone_event: None,
        });
        self.in_band_on = Some(slot);
        Some(MergedTone {
            digit,
            start,
            source: ToneSource::InBand,
        })
    }

    /// The in-band tone of `digit` that started last ended at `end`.
    pub fn in_band_ended(&mut self, digit: Digit, end: MediaTime) {
        if let Some(slot) = self.in_band_on.take()
            && let Some(press) = self.presses[slot].as_mut()
            && press.digit == digit
            && let Some(span) = press.in_band.as_mut()
        {
            span.end = Some(span.end.map_or(end.0, |e| e.max(end.0)).max(span.start));
        }
    }

    /// A telephone event told that `digit` went down at `start`.
    pub fn telephone_event_pressed(
        &mut self,
        digit: Digit,
        start: MediaTime,
    ) -> Option<MergedTone> {
        let t = start.0;
        let window = self.window;
        let matched = self.nearest(digit, t, |press| {
            press.telephone_event.is_none()
                && press
                    .in_band
                    .is_some_and(|tone| tone.start.abs_diff(t) <= window || tone.contains(t))
        });
        if let Some(slot) = matched {
            if let Some(press) = self.presses[slot].as_mut() {
                press.telephone_event = Some(Span::open(start));
            }
            return None;
        }
        self.remember(Press {
            digit,
            in_band: None,
            telephone_event: Some(Span::open(start)),
        });
        Some(MergedTone {
            digit,
            start,
            source: ToneSource::TelephoneEvent,
        })
    }

    /// The telephone event of `digit` that went down at `start` was released at `end`.
    pub fn telephone_event_released(&mut self, digit: Digit, start: MediaTime, end: MediaTime) {
        for press in self.presses.iter_mut().flatten() {
            if press.digit == digit
                && let Some(event) = press.telephone_event.as_mut()
                && event.start == start.0
            {
                event.end = Some(end.0.max(event.start));
                return;
            }
        }
    }

    /// The remembered press of `digit` that `fits` and whose start is nearest to `t`.
    fn nearest(&self, digit: Digit, t: u64, fits: impl Fn(&Press) -> bool) -> Option<usize> {
        self.presses
            .iter()
            .enumerate()
            .filter_map(|(slot, press)| press.map(|press| (slot, press)))
            .filter(|(_, press)| press.digit == digit && fits(press))
            .min_by_key(|(_, press)| {
                let start = match (press.in_band, press.telephone_event) {
                    (_, Some(event)) => event.start,
                    (Some(tone), None) => tone.start,
                    (None, None) => u64::MAX,
                };
                start.abs_diff(t)
            })
            .map(|(slot, _)| slot)
    }

    fn remember(&mut self, press: Press) -> usize {
        let slot = self.next_slot;
        self.presses[slot] = Some(press);
        self.next_slot = (slot + 1) % REMEMBERED_PRESSES;
        if self.in_band_on == Some(slot) {
            // The press whose tone was on has been forgotten; its end has nowhere to go.
            self.in_band_on = None;
        }
        slot
    }
}
