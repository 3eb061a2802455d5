//! [`MediaSession`]: one call's media, sans-IO.
//!
//! Packets, PCM and `Instant`s go in; packets and events come out. The worker that owns a session
//! calls [`MediaSession::tick`] every 20 ms and then [`MediaSession::poll_output`] until it returns
//! `None`; between ticks it pushes received packets and issues commands. `tick` and the `push_*`
//! methods never allocate, lock, read a clock, log or make a system call: everything is sized when
//! the session is created (see `tests/realtime_contract.rs`).

mod config;
mod event;
mod leg;
mod live;
mod tick;
mod tones;

pub use crate::dtmf::ToneSource;
pub use config::{LegConfig, LegId, RecordRejected, SessionConfig, SessionError};
pub use event::{Event, LegFrame, LegStats, OutgoingPacket, Output};
pub use live::LIVE_CAPACITY;

use crate::codec::opus::encode_frame;
use crate::dtmf::telephone_event::{EventPacket, TelephoneEventReceiver};
use crate::frame::{Frame, MAX_PAYLOAD, SILENT_FRAME};
use crate::mixer::MixBus;
use crate::prompt::playback::Playback;
use crate::prompt::{PlaybackId, Prompt};
use crate::record::{ClipBuffer, RecordClip, RecordId, RecordReason, RecordSettings};
use leg::Leg;
use live::LiveSource;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// The play-list id a session uses for a recording's own prompt and beep; never reported.
const PREAMBLE: PlaybackId = PlaybackId(u64::MAX);

/// A recording and the phase it is in.
enum Recording {
    None,
    /// Waiting for the recording's prompt and beep to finish.
    Preamble {
        clip: RecordClip,
        leg: usize,
    },
    /// Recording the leg.
    Running {
        clip: RecordClip,
        leg: usize,
    },
}

/// One call's real-time media: its legs, the bot's prompts and live audio, the recorder and the
/// mixer. Preallocated at creation; `Send`, so a worker thread can own many.
pub struct MediaSession {
    config: SessionConfig,
    legs: Vec<Leg>,
    playback: Playback,
    recording: Recording,
    live: LiveSource,
    /// The bot's sound this tick, when it must be mixed.
    bot_pcm: Frame,
    /// Mix output scratch.
    mixed: Frame,
    /// The bot's prompt packet this tick.
    bot_packet: [u8; MAX_PAYLOAD],
    mix: MixBus,
    /// Each active leg's route this tick; capacity `max_legs`, reused.
    routes: Vec<(usize, crate::mixer::Route)>,
    /// A 20 ms packet of digital silence, encoded once with the session's own encoder.
    silence: [u8; MAX_PAYLOAD],
    silence_len: usize,
    events: VecDeque<Event>,
    dropped_events: u64,
    epoch: Option<Instant>,
    ticks: u64,
    poll_cursor: usize,
}

impl MediaSession {
    /// Creates a session and preallocates everything it will use: `max_legs` decoders, encoders and
    /// jitter buffers, the event queue, the mixer.
    pub fn new(config: SessionConfig) -> Result<MediaSession, SessionError> {
        config::check_config(&config)?;
        let mut legs = Vec::with_capacity(config.max_legs);
        for _ in 0..config.max_legs {
            legs.push(Leg::new()?);
        }
        let mut silence = [0u8; MAX_PAYLOAD];
        let silence_len = encode_frame(&mut legs[0].encoder, &SILENT_FRAME, &mut silence)?;
        // Leave the encoder as if it had never run, for the first real frame.
        let _ = legs[0].encoder.reset_state();
        Ok(MediaSession {
            config,
            legs,
            playback: Playback::new(),
            recording: Recording::None,
            live: LiveSource::new(),
            bot_pcm: SILENT_FRAME,
            mixed: SILENT_FRAME,
            bot_packet: [0; MAX_PAYLOAD],
            mix: MixBus::new(),
            routes: Vec::with_capacity(config.max_legs),
            silence,
            silence_len,
            events: VecDeque::with_capacity(config.event_capacity),
            dropped_events: 0,
            epoch: None,
            ticks: 0,
            poll_cursor: usize::MAX,
        })
    }

    /// The settings it was created with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Adds a leg in a free slot.
    pub fn add_leg(&mut self, config: LegConfig) -> Result<LegId, SessionError> {
        TelephoneEventReceiver::new(config.telephone_event_clock)?;
        let Some(index) = self.legs.iter().position(|l| !l.active) else {
            return Err(SessionError::LegsFull {
                max: self.config.max_legs,
            });
        };
        self.legs[index].open(config);
        Ok(LegId(index as u8))
    }

    /// Removes a leg at once: a recording of it ends (callDropped) and its final stats are reported.
    pub fn remove_leg(&mut self, leg: LegId) -> Result<(), SessionError> {
        let index = self.leg_index(leg)?;
        if let Recording::Preamble { leg: l, .. } | Recording::Running { leg: l, .. } =
            self.recording
            && l == index
        {
            self.end_recording(RecordReason::CallDropped, None);
        }
        let stats = self.legs[index].stats();
        self.push_event(Event::PacketStats { leg, stats });
        self.legs[index].active = false;
        self.legs[index].sender.pending = false;
        Ok(())
    }

    /// Ends the call's media: playback is cancelled, a recording ends with callDropped, every leg
    /// is removed.
    pub fn hangup(&mut self) {
        if let Some(id) = self.playback.stop()
            && id != PREAMBLE
        {
            self.push_event(Event::PromptCancelled(id));
        }
        self.end_recording(RecordReason::CallDropped, None);
        for i in 0..self.legs.len() {
            if self.legs[i].active {
                let _ = self.remove_leg(LegId(i as u8));
            }
        }
        self.live.clear();
    }

    /// The legs in the session.
    pub fn legs(&self) -> impl Iterator<Item = LegId> + '_ {
        self.legs
            .iter()
            .enumerate()
            .filter(|(_, l)| l.active)
            .map(|(i, _)| LegId(i as u8))
    }

    /// Server-side mute: a muted leg is left out of everyone's mix (it still hears the others, and
    /// its key presses and levels are still reported).
    pub fn mute(&mut self, leg: LegId, muted: bool) -> Result<(), SessionError> {
        let index = self.leg_index(leg)?;
        self.legs[index].muted = muted;
        Ok(())
    }

    /// Whether a leg is muted.
    pub fn is_muted(&self, leg: LegId) -> Result<bool, SessionError> {
        Ok(self.legs[self.leg_index(leg)?].muted)
    }

    /// Counters of a leg's received media.
    pub fn stats(&self, leg: LegId) -> Result<LegStats, SessionError> {
        Ok(self.legs[self.leg_index(leg)?].stats())
    }

    /// Events dropped because the queue was full between polls.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Plays `prompts` in order to every leg (looping if asked), starting on the very next tick.
    /// Whatever was playing is cut short and reported cancelled. Allocation-free.
    pub fn play(
        &mut self,
        id: PlaybackId,
        prompts: &[Arc<Prompt>],
        looped: bool,
    ) -> Result<(), SessionError> {
        if let Some(old) = self.playback.start(id, prompts, looped)? {
            if old == PREAMBLE {
                // A play request pre-empts a recording's prompt: record right away.
                self.begin_recording();
            } else {
                self.push_event(Event::PromptCancelled(old));
            }
        }
        Ok(())
    }

    /// Stops playback now; returns the play list that was cut short (also reported as cancelled).
    pub fn stop_playback(&mut self) -> Option<PlaybackId> {
        let id = self.playback.stop()?;
        if id == PREAMBLE {
            self.begin_recording();
            return None;
        }
        self.push_event(Event::PromptCancelled(id));
        Some(id)
    }

    /// Whether a play list is running (a recording's own prompt and beep excluded).
    pub fn is_playing(&self) -> bool {
        self.playback.current().is_some_and(|id| id != PREAMBLE)
    }

    /// Appends the bot's live audio (16 kHz mono), encoded frame by frame when no prompt plays.
    /// Returns how many samples fit (the ring holds [`LIVE_CAPACITY`]).
    pub fn push_bot_pcm(&mut self, pcm: &[i16]) -> usize {
        self.live.push(pcm)
    }

    /// Starts recording `leg` (Graph recordResponse): `preamble` (the prompt, then the beep, or
    /// nothing) plays first and the timers start when it ends. Whatever was playing is cancelled.
    /// The clip buffer comes from the caller (for example a [`crate::record::ClipPool`]) and comes
    /// back in [`Event::RecordFinished`], or at once if the request is refused.
    pub fn start_record(
        &mut self,
        leg: LegId,
        id: RecordId,
        settings: RecordSettings,
        preamble: &[Arc<Prompt>],
        clip: ClipBuffer,
    ) -> Result<(), RecordRejected> {
        let Ok(index) = self.leg_index(leg) else {
            return Err(RecordRejected::UnknownLeg { leg, clip });
        };
        if !matches!(self.recording, Recording::None) {
            return Err(RecordRejected::Busy { clip });
        }
        let clip = RecordClip::start(id, settings, clip)
            .map_err(|(error, clip)| RecordRejected::Invalid { error, clip })?;
        if let Some(old) = self.playback.stop() {
            self.push_event(Event::PromptCancelled(old));
        }
        if preamble.is_empty() {
            self.recording = Recording::Running { clip, leg: index };
        } else {
            self.recording = Recording::Preamble { clip, leg: index };
            // A preamble longer than a play list is refused by `start`; fall back to recording.
            if self.playback.start(PREAMBLE, preamble, false).is_err() {
                self.begin_recording();
            }
        }
        Ok(())
    }

    /// Stops a recording now (operationCanceled); its clip is reported as usual.
    pub fn stop_record(&mut self) {
        if self.playback.current() == Some(PREAMBLE) {
            self.playback.stop();
        }
        self.end_recording(RecordReason::OperationCanceled, None);
    }

    /// Whether a recording (or its preamble) is running.
    pub fn is_recording(&self) -> bool {
        !matches!(self.recording, Recording::None)
    }

    /// What the bot hears now: the sum of every unmuted leg's last frame (the single remote in a
    /// one-leg call). For application-hosted processing such as speech recognition.
    pub fn bot_hearing(&mut self) -> &Frame {
        self.mix.clear();
        for leg in self
            .legs
            .iter()
            .filter(|l| l.active && !l.muted && l.sounding)
        {
            self.mix.add(&leg.pcm);
        }
        self.mix.write_without(None, &mut self.mixed);
        &self.mixed
    }

    /// What `leg` received on the last tick: its decoded frame, level and speech state. For
    /// application-hosted processing that hears each participant on its own. Allocation-free.
    pub fn leg_frame(&self, leg: LegId) -> Result<LegFrame<'_>, SessionError> {
        let l = &self.legs[self.leg_index(leg)?];
        Ok(LegFrame {
            pcm: &l.pcm,
            sounding: l.sounding,
            speech: l.level.is_speech,
            speaking: l.meter.is_speaking(),
            level_dbfs: l.level.dbfs,
            muted: l.muted,
        })
    }

    /// Pushes one received Opus RTP packet of `leg`. Garbage is counted and dropped. Allocation-free.
    pub fn push_rtp(
        &mut self,
        leg: LegId,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
        now: Instant,
    ) -> Result<(), SessionError> {
        let index = self.leg_index(leg)?;
        let arrival_ms = self.millis(now);
        self.legs[index].receive(sequence, timestamp, payload, arrival_ms);
        Ok(())
    }

    /// Pushes one received RFC 4733 telephone-event payload of `leg`, sent on the RTP clock
    /// `clock_rate` of its payload type (48000 or 8000 from browsers: a peer may switch, and the
    /// durations are counted in that clock's units). Allocation-free. Invalid payloads are counted
    /// as garbage; an unusable clock rate is refused.
    #[allow(clippy::too_many_arguments)]
    pub fn push_telephone_event(
        &mut self,
        leg: LegId,
        clock_rate: u32,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
        _now: Instant,
    ) -> Result<(), SessionError> {
        let index = self.leg_index(leg)?;
        let leg_state = &mut self.legs[index];
        leg_state.tones.use_clock(clock_rate)?;
        leg_state.telephone_events += 1;
        let mut presses = tick::PressSink::default();
        let packet = EventPacket {
            timestamp,
            sequence,
            marker,
            payload,
        };
        if !leg_state
            .tones
            .on_telephone_event(&packet, &mut |p| presses.push(p))
        {
            leg_state.garbage += 1;
        }
        self.handle_presses(index, &presses);
        Ok(())
    }

    /// A key press on what `leg` carries, detected outside this session: by a conference that
    /// hears each participant before mixing them into `leg`. Ends a recording of `leg` that
    /// stops on `digit` (as its own detection would) and returns whether it did; reports nothing
    /// else, since the detecting side reports the press. Allocation-free.
    pub fn key_pressed_elsewhere(
        &mut self,
        leg: LegId,
        digit: crate::dtmf::Digit,
    ) -> Result<bool, SessionError> {
        let index = self.leg_index(leg)?;
        let stops = match &self.recording {
            Recording::Preamble { clip, leg } | Recording::Running { clip, leg } => {
                *leg == index && clip.is_stop_tone(digit)
            }
            Recording::None => false,
        };
        if stops {
            self.end_recording(RecordReason::StopToneDetected, Some(digit));
        }
        Ok(stops)
    }

    /// The next packet or event, until `None`. Events first, then one packet per leg.
    pub fn poll_output(&mut self) -> Option<Output<'_>> {
        if let Some(event) = self.events.pop_front() {
            return Some(Output::Event(event));
        }
        let start = if self.poll_cursor == usize::MAX {
            0
        } else {
            self.poll_cursor
        };
        let index = (start..self.legs.len()).find(|&i| self.legs[i].sender.pending)?;
        self.poll_cursor = index + 1;
        let s = &mut self.legs[index].sender;
        s.pending = false;
        Some(Output::Packet(OutgoingPacket {
            leg: LegId(index as u8),
            sequence: s.packet_sequence,
            timestamp: s.packet_timestamp,
            marker: s.marker,
            payload: &s.payload[..s.len],
        }))
    }

    fn leg_index(&self, leg: LegId) -> Result<usize, SessionError> {
        match self.legs.get(leg.index()) {
            Some(l) if l.active => Ok(leg.index()),
            _ => Err(SessionError::UnknownLeg(leg)),
        }
    }

    fn millis(&mut self, now: Instant) -> f64 {
        let epoch = *self.epoch.get_or_insert(now);
        now.saturating_duration_since(epoch).as_secs_f64() * 1000.0
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() < self.config.event_capacity {
            self.events.push_back(event);
        } else {
            self.dropped_events += 1;
        }
    }

    /// The preamble ended: start the timers.
    fn begin_recording(&mut self) {
        if let Recording::Preamble { .. } = self.recording
            && let Recording::Preamble { clip, leg } =
                std::mem::replace(&mut self.recording, Recording::None)
        {
            self.recording = Recording::Running { clip, leg };
        }
    }

    fn end_recording(&mut self, reason: RecordReason, stop_tone: Option<crate::dtmf::Digit>) {
        match std::mem::replace(&mut self.recording, Recording::None) {
            Recording::None => {}
            Recording::Preamble { clip, .. } | Recording::Running { clip, .. } => {
                if self.playback.current() == Some(PREAMBLE) {
                    self.playback.stop();
                }
                self.push_event(Event::RecordFinished(clip.finish(reason, stop_tone)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_can_move_to_a_worker_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<MediaSession>();
    }

    #[test]
    fn bad_settings_and_unknown_legs_are_refused_with_the_reason() {
        let e = MediaSession::new(SessionConfig {
            max_legs: 128,
            ..SessionConfig::default()
        })
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "session setting max_legs is 128; allowed: 1 to 127"
        );
        let mut s = MediaSession::new(SessionConfig::default()).unwrap();
        let leg = s.add_leg(LegConfig::default()).unwrap();
        assert!(matches!(
            s.add_leg(LegConfig::default()),
            Err(SessionError::LegsFull { max: 1 })
        ));
        s.remove_leg(leg).unwrap();
        assert!(matches!(
            s.mute(leg, true),
            Err(SessionError::UnknownLeg(LegId(0)))
        ));
    }
}
