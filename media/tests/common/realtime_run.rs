//! One minute of a busy call's media, prepared up front and then stepped tick by tick: an IVR leg
//! that hears speech, key presses (in-band and RFC 4733) and garbage through a seeded lossy
//! network while prompts play and clips record, beside a three-party group call that mixes, mutes
//! and plays. The realtime-contract tests run [`RealtimeRun::step`] under their instruments
//! (allocation counter, clock interposer, seccomp); everything that may allocate happens in
//! [`RealtimeRun::new`].

use std::sync::Arc;
use std::time::Duration;

use switchboard_media::dtmf::Digit;
use switchboard_media::dtmf::generator::{ToneShape, digit_sequence};
use switchboard_media::dtmf::telephone_event::KeyPressPlan;
use switchboard_media::prompt::{PlaybackId, Prompt, PromptCache};
use switchboard_media::record::{ClipBuffer, DigitSet, RecordId, RecordSettings};
use switchboard_media::session::{Event, LegConfig, LegId, MediaSession, Output, SessionConfig};

use super::{Caller, Clock, Network, RtpPacket, silence, speech_16k};

/// Ticks in a run: one minute of media.
pub const TICKS: usize = 3000;

/// A telephone-event packet: sequence, timestamp, marker, payload.
type EventPacket = (u16, u32, bool, [u8; 4]);

/// What a session's output contained.
#[derive(Default, Debug)]
pub struct Seen {
    pub packets: u64,
    pub tones: u64,
    pub prompts_finished: u64,
    pub records: u64,
    pub speech: u64,
    /// Frames read back with `leg_frame` (as an app-hosted bot's unmixed audio is) while their
    /// leg was speaking.
    pub speaking_frames: u64,
}

/// The prepared run; see the module docs.
pub struct RealtimeRun {
    arrivals: Vec<Vec<RtpPacket>>,
    events: Vec<Vec<EventPacket>>,
    group_packets: Vec<Vec<RtpPacket>>,
    garbage: Vec<u8>,
    ivr: MediaSession,
    leg: LegId,
    group: MediaSession,
    group_legs: Vec<LegId>,
    clips: Vec<ClipBuffer>,
    prompts: [Arc<Prompt>; 2],
    preamble: [Arc<Prompt>; 1],
    settings: RecordSettings,
    record_id: u64,
    clock: Clock,
    tick: usize,
    /// The IVR session's output so far.
    pub seen: Seen,
    /// The group session's output so far.
    pub group_seen: Seen,
}

impl RealtimeRun {
    /// Encodes every packet of the run and builds both sessions (this allocates; `step` doesn't).
    pub fn new() -> RealtimeRun {
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
        let group_packets: Vec<Vec<RtpPacket>> = (0..3)
            .map(|i| {
                let src = if i == 2 {
                    vec![0; TICKS * 320]
                } else {
                    pcm[i * 8000..i * 8000 + TICKS * 320].to_vec()
                };
                Caller::new(i as u16 * 7, 0).packets(&src)
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
        let group_legs: Vec<LegId> = (0..3)
            .map(|_| group.add_leg(LegConfig::default()).unwrap())
            .collect();
        // Room for every clip the run can finish, so draining never grows the vector.
        let mut clips: Vec<ClipBuffer> = Vec::with_capacity(64);
        for _ in 0..8 {
            clips.push(ClipBuffer::with_capacity(Duration::from_secs(10)));
        }
        RealtimeRun {
            arrivals,
            events,
            group_packets,
            garbage,
            ivr,
            leg,
            group,
            group_legs,
            clips,
            prompts: [speech_prompt, tones],
            preamble: [beep],
            settings: RecordSettings {
                initial_silence_timeout_secs: 3,
                max_silence_timeout_secs: 1,
                max_record_duration_secs: 10,
                stop_tones: DigitSet::of(&[Digit::Pound]),
            },
            record_id: 0,
            clock: Clock::new(),
            tick: 0,
            seen: Seen::default(),
            group_seen: Seen::default(),
        }
    }

    /// Runs the next tick's pushes, commands, ticks and drains; `false` once the run is over.
    ///
    /// Everything here is what a media worker does per frame, so the contract tests instrument
    /// exactly this. Errors are reported as `false` plus a poisoned tick count rather than a panic,
    /// because a panic would make system calls of its own under seccomp.
    pub fn step(&mut self) -> bool {
        let tick = self.tick;
        if tick >= TICKS {
            return false;
        }
        let now = self.clock.now();
        let mut ok = true;
        for p in &self.arrivals[tick] {
            ok &= self
                .ivr
                .push_rtp(self.leg, p.sequence, p.timestamp, &p.payload, now)
                .is_ok();
        }
        for e in &self.events[tick] {
            ok &= self
                .ivr
                .push_telephone_event(self.leg, 48_000, e.0, e.1, e.2, &e.3, now)
                .is_ok();
        }
        if tick.is_multiple_of(7) {
            ok &= self
                .ivr
                .push_rtp(self.leg, tick as u16, 0, &self.garbage, now)
                .is_ok();
            ok &= self
                .ivr
                .push_telephone_event(self.leg, 48_000, 0, 0, false, &self.garbage[..3], now)
                .is_ok();
        }
        for (i, &g) in self.group_legs.iter().enumerate() {
            let p = &self.group_packets[i][tick];
            ok &= self
                .group
                .push_rtp(g, p.sequence, p.timestamp, &p.payload, now)
                .is_ok();
        }
        match tick % 600 {
            10 => {
                ok &= self
                    .ivr
                    .play(PlaybackId(tick as u64), &self.prompts, false)
                    .is_ok()
            }
            340 => {
                if !self.ivr.is_recording()
                    && let Some(clip) = self.clips.pop()
                {
                    self.record_id += 1;
                    ok &= self
                        .ivr
                        .start_record(
                            self.leg,
                            RecordId(self.record_id),
                            self.settings,
                            &self.preamble,
                            clip,
                        )
                        .is_ok();
                }
            }
            100 => {
                ok &= self
                    .group
                    .play(PlaybackId(tick as u64), &self.prompts[1..], false)
                    .is_ok()
            }
            400 => ok &= self.group.mute(self.group_legs[1], true).is_ok(),
            500 => ok &= self.group.mute(self.group_legs[1], false).is_ok(),
            550 => {
                ok &= self.group.play(PlaybackId(1), &self.prompts, true).is_ok();
                self.group.stop_playback();
            }
            _ => {}
        }
        self.clock.ticks += 1;
        self.ivr.tick(self.clock.now());
        self.group.tick(self.clock.now());
        drain(&mut self.ivr, &mut self.seen, &mut self.clips);
        drain(&mut self.group, &mut self.group_seen, &mut self.clips);
        // What an app-hosted bot is sent per speaker: each leg's own decoded frame.
        for &g in &self.group_legs {
            match self.group.leg_frame(g) {
                Ok(frame) => {
                    std::hint::black_box(frame.pcm);
                    self.group_seen.speaking_frames += u64::from(frame.speaking);
                }
                Err(_) => ok = false,
            }
        }
        self.tick = if ok { tick + 1 } else { usize::MAX };
        ok
    }

    /// Whether every step succeeded and the run did what it claims: packets out every tick,
    /// digits detected, clips and prompts finished, speech reported, garbage and FEC seen.
    /// Returns the first shortfall in words.
    pub fn shortfall(&self) -> Option<String> {
        let ivr = match self.ivr.stats(self.leg) {
            Ok(stats) => stats,
            Err(e) => return Some(format!("IVR leg stats: {e}")),
        };
        let checks = [
            (self.tick == TICKS, format!("stopped at tick {}", self.tick)),
            (
                self.seen.packets == TICKS as u64,
                format!("IVR packets sent: {}", self.seen.packets),
            ),
            (
                self.group_seen.packets == 3 * TICKS as u64,
                format!("group packets sent: {}", self.group_seen.packets),
            ),
            (
                self.seen.tones >= 10,
                format!("digits detected: {}", self.seen.tones),
            ),
            (
                self.seen.records >= 4,
                format!("recordings finished: {}", self.seen.records),
            ),
            (
                self.seen.prompts_finished >= 3,
                format!("prompts finished: {}", self.seen.prompts_finished),
            ),
            (
                self.seen.speech >= 5 && self.group_seen.speech >= 5,
                format!(
                    "speech reported: {} / {}",
                    self.seen.speech, self.group_seen.speech
                ),
            ),
            (
                self.group_seen.speaking_frames > 100,
                format!(
                    "frames read while speaking: {}",
                    self.group_seen.speaking_frames
                ),
            ),
            (ivr.garbage > 0, "no garbage counted".to_string()),
            (
                ivr.jitter.fec_recovered > 0,
                "no packet recovered by FEC".to_string(),
            ),
        ];
        checks
            .into_iter()
            .find(|(passed, _)| !passed)
            .map(|(_, why)| why)
    }
}

/// Drains a session's output without allocating: finished clips go back into `clips`, which has
/// room for them.
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
                if clips.len() < clips.capacity() {
                    clips.push(r.clip);
                }
            }
            Output::Event(_) => {}
        }
    }
}
