//! The 20 ms tick: receive, detect, measure, record, then produce one packet per leg.

use super::event::Event;
use super::tones::Press;
use super::{LegId, MediaSession, PREAMBLE, Recording};
use crate::codec::opus::encode_frame;
use crate::level::VoiceChange;
use crate::mixer::{Route, Sources, route};
use crate::record::RecordReason;
use std::time::Instant;

/// Key-press changes collected from one receiver call; a fixed array so collecting never allocates.
#[derive(Default)]
pub(crate) struct PressSink {
    presses: [Option<Press>; 8],
    len: usize,
}

impl PressSink {
    pub(crate) fn push(&mut self, press: Press) {
        if self.len < self.presses.len() {
            self.presses[self.len] = Some(press);
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = Press> + '_ {
        self.presses[..self.len].iter().flatten().copied()
    }
}

impl MediaSession {
    /// Advances the session by one 20 ms frame: plays out and decodes each leg's audio, runs the
    /// tone receivers, level meters and recorder, advances playback, and prepares one packet per leg
    /// for [`MediaSession::poll_output`]. Call it every 20 ms. Allocation-free, lock-free, no clock
    /// reads (`now` is only recorded), no system calls.
    pub fn tick(&mut self, now: Instant) {
        let _ = self.millis(now);
        self.ticks += 1;
        self.poll_cursor = 0;
        let mut sounding = Sources::default();
        let voice_only = self.config.voice_activated_mix;
        for i in 0..self.legs.len() {
            if !self.legs[i].active {
                continue;
            }
            self.receive_leg(i);
            let leg = &self.legs[i];
            let audible = !voice_only || leg.level.is_speech || leg.meter.is_speaking();
            if leg.sounding && !leg.muted && audible {
                sounding.0 |= Sources::leg(i).0;
            }
        }
        self.record_tick();
        self.send_tick(sounding);
        self.report_tick();
    }

    /// Play-out, decode, tones and levels of leg `i`.
    fn receive_leg(&mut self, i: usize) {
        let leg = &mut self.legs[i];
        leg.play_out();
        let mut presses = PressSink::default();
        leg.tones
            .on_audio(&leg.pcm, leg.played_timestamp, &mut |p| presses.push(p));
        leg.tones
            .expire(leg.newest_timestamp, &mut |p| presses.push(p));
        leg.level = leg.meter.update(&leg.pcm);
        let level = leg.level;
        let floor = leg.meter.noise_floor_dbfs();
        self.handle_presses(i, &presses);
        let id = LegId(i as u8);
        match level.change {
            Some(VoiceChange::Started) => self.push_event(Event::SpeechStarted {
                leg: id,
                level_dbfs: level.dbfs,
            }),
            Some(VoiceChange::Ended) => self.push_event(Event::SpeechEnded {
                leg: id,
                noise_floor_dbfs: floor,
            }),
            None => {}
        }
    }

    /// Reports key presses of leg `i` and ends a recording of that leg on a stop tone.
    pub(crate) fn handle_presses(&mut self, i: usize, presses: &PressSink) {
        for press in presses.iter() {
            let leg = LegId(i as u8);
            match press {
                Press::Started { digit, source } => {
                    self.push_event(Event::ToneStarted { leg, digit, source });
                    let stops = match &self.recording {
                        Recording::Preamble { clip, leg } | Recording::Running { clip, leg } => {
                            *leg == i && clip.is_stop_tone(digit)
                        }
                        Recording::None => false,
                    };
                    if stops {
                        self.end_recording(RecordReason::StopToneDetected, Some(digit));
                    }
                }
                Press::Ended { digit, duration } => {
                    self.push_event(Event::ToneEnded {
                        leg,
                        digit,
                        duration,
                    });
                }
            }
        }
    }

    /// Appends the recorded leg's frame and applies the timers.
    fn record_tick(&mut self) {
        let Recording::Running { clip, leg } = &mut self.recording else {
            return;
        };
        let leg = &self.legs[*leg];
        if let Some(reason) = clip.push(&leg.pcm, &leg.level, leg.meter.is_speaking()) {
            self.end_recording(reason, None);
        }
    }

    /// Chooses and prepares each leg's packet.
    fn send_tick(&mut self, mut sounding: Sources) {
        let bot_prompt = self.playback.is_active();
        let bot_live = !bot_prompt && self.live.has_frame();
        if bot_prompt || bot_live {
            sounding.0 |= Sources::BOT.0;
        }
        // Reused every tick: its capacity is `max_legs`, so pushing never allocates.
        let mut routes = std::mem::take(&mut self.routes);
        routes.clear();
        let mut needs_mix = false;
        for i in 0..self.legs.len() {
            if self.legs[i].active {
                let r = route(i, sounding, bot_prompt, &routes);
                // The bot alone is encoded straight from its frame, without the mix bus.
                needs_mix |= matches!(r, Route::Encode { mix, .. } if mix != Sources::BOT);
                routes.push((i, r));
            }
        }

        // The bot's frame for this tick: a prompt packet (copied straight to legs that hear only the
        // bot) and, when some leg needs a mix, its PCM.
        let mut bot_packet_len = 0;
        if bot_prompt {
            if let Some(frame) = self.playback.next_frame() {
                let packet = frame.prompt.packet(frame.index);
                bot_packet_len = packet.len();
                self.bot_packet[..packet.len()].copy_from_slice(packet);
                if needs_mix {
                    self.bot_pcm = *frame.prompt.pcm(frame.index);
                }
                if let Some(id) = frame.finished {
                    self.playback_finished(id);
                }
            }
        } else if bot_live {
            self.live.pop_frame(&mut self.bot_pcm);
        }

        if needs_mix {
            self.mix.clear();
            for i in 0..self.legs.len() {
                if sounding.has_leg(i) {
                    self.mix.add(&self.legs[i].pcm);
                }
            }
            if sounding.has_bot() {
                self.mix.add(&self.bot_pcm);
            }
        }

        for &(i, r) in &routes {
            match r {
                Route::Silence => {
                    let len = self.silence_len;
                    self.legs[i].sender.send(&self.silence[..len]);
                }
                Route::BotPacket => {
                    self.legs[i].sender.send(&self.bot_packet[..bot_packet_len]);
                }
                Route::Forward { from } => {
                    let len = self.legs[from].forward_len;
                    if len == 0 {
                        self.legs[i].sender.skip();
                    } else {
                        let (src, dst) = two_legs(&mut self.legs, from, i);
                        dst.sender.send(&src.forward[..len]);
                    }
                }
                Route::Encode { owner, mix } if owner == i => {
                    let pcm = if mix == Sources::BOT {
                        &self.bot_pcm
                    } else {
                        // The mix is the call total minus the listener's own voice.
                        debug_assert!(!mix.has_leg(i));
                        let own = sounding.has_leg(i).then_some(&self.legs[i].pcm);
                        self.mix.write_without(own, &mut self.mixed);
                        &self.mixed
                    };
                    let leg = &mut self.legs[i];
                    match encode_frame(&mut leg.encoder, pcm, &mut leg.sender.payload) {
                        Ok(len) => leg.sender.commit(len),
                        Err(_) => {
                            let len = self.silence_len;
                            leg.sender.send(&self.silence[..len]);
                        }
                    }
                }
                Route::Encode { owner, .. } => {
                    let (src, dst) = two_legs(&mut self.legs, owner, i);
                    dst.sender.send(&src.sender.payload[..src.sender.len]);
                }
            }
        }
        self.routes = routes;
    }

    fn playback_finished(&mut self, id: crate::prompt::PlaybackId) {
        if id == PREAMBLE {
            self.begin_recording();
        } else {
            self.push_event(Event::PromptFinished(id));
        }
    }

    /// Periodic level and packet-stats reports.
    fn report_tick(&mut self) {
        let levels = self.config.level_report_ticks;
        let stats = self.config.stats_report_ticks;
        let due = |every: u32| every != 0 && self.ticks.is_multiple_of(u64::from(every));
        let (levels_due, stats_due) = (due(levels), due(stats));
        if !levels_due && !stats_due {
            return;
        }
        for i in 0..self.legs.len() {
            let leg = &self.legs[i];
            if !leg.active {
                continue;
            }
            let id = LegId(i as u8);
            let level = Event::Level {
                leg: id,
                level_dbfs: leg.level.dbfs,
                noise_floor_dbfs: leg.meter.noise_floor_dbfs(),
                speaking: leg.meter.is_speaking(),
            };
            let stats = Event::PacketStats {
                leg: id,
                stats: leg.stats(),
            };
            if levels_due {
                self.push_event(level);
            }
            if stats_due {
                self.push_event(stats);
            }
        }
    }
}

/// Borrows two different legs, one shared and one mutable.
fn two_legs(
    legs: &mut [super::leg::Leg],
    src: usize,
    dst: usize,
) -> (&super::leg::Leg, &mut super::leg::Leg) {
    debug_assert_ne!(src, dst, "a leg never hears itself");
    if src < dst {
        let (a, b) = legs.split_at_mut(dst);
        (&a[src], &mut b[0])
    } else {
        let (a, b) = legs.split_at_mut(src);
        (&b[0], &mut a[dst])
    }
}
