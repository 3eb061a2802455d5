//! Fixture replay: the speech recording with DTMF bursts, encoded by a real libopus encoder, sent
//! through a seeded lossy, reordering network into a session.

mod common;

use common::*;
use std::sync::Arc;
use std::time::Duration;
use switchboard_media::dtmf::generator::{ToneShape, digit_sequence};
use switchboard_media::dtmf::{Digit, ToneSource};
use switchboard_media::prompt::{PlaybackId, Prompt, PromptCache};
use switchboard_media::record::{ClipBuffer, DigitSet, RecordId, RecordReason, RecordSettings};
use switchboard_media::session::{Event, LegConfig, LegId, MediaSession, SessionConfig};

/// A one-leg call driven tick by tick: the caller's audio goes through `network` into the session.
struct Call {
    session: MediaSession,
    leg: LegId,
    caller: Caller,
    network: Network,
    clock: Clock,
    out: Polled,
}

impl Call {
    fn new(network: Network) -> Call {
        let mut session = MediaSession::new(SessionConfig::default()).unwrap();
        let leg = session
            .add_leg(LegConfig {
                initial_sequence: 40_000,
                initial_timestamp: 7_000,
                ..LegConfig::default()
            })
            .unwrap();
        Call {
            session,
            leg,
            caller: Caller::new(65_500, u32::MAX - 30 * 960),
            network,
            clock: Clock::new(),
            out: Polled::default(),
        }
    }

    /// Sends `pcm` one frame per tick and ticks the session; returns how many ticks ran.
    fn send(&mut self, pcm: &[i16]) -> usize {
        let packets = self.caller.packets(pcm);
        let n = packets.len();
        for p in packets {
            for arrived in self.network.carry(p) {
                self.session
                    .push_rtp(
                        self.leg,
                        arrived.sequence,
                        arrived.timestamp,
                        &arrived.payload,
                        self.clock.now_plus(3),
                    )
                    .unwrap();
            }
            self.clock.ticks += 1;
            self.session.tick(self.clock.now());
            poll_all(&mut self.session, &mut self.out);
        }
        n
    }

    fn tones(&self) -> Vec<(LegId, Digit, ToneSource)> {
        self.out
            .events
            .iter()
            .filter_map(|e| match e {
                Event::ToneStarted { leg, digit, source } => Some((*leg, *digit, *source)),
                _ => None,
            })
            .collect()
    }

    fn record_result(&mut self) -> Option<switchboard_media::record::RecordResult> {
        let i = self
            .out
            .events
            .iter()
            .position(|e| matches!(e, Event::RecordFinished(_)))?;
        match self.out.events.remove(i) {
            Event::RecordFinished(r) => Some(r),
            _ => unreachable!(),
        }
    }
}

fn dtmf(digits: &str, on_ms: f32, off_ms: f32) -> Vec<i16> {
    let digits = Digit::parse_sequence(digits).unwrap();
    digit_sequence(16_000, &digits, &ToneShape::at_level(-10.0), on_ms, off_ms).unwrap()
}

#[test]
fn digits_between_speech_survive_loss_reordering_and_the_codec() {
    let seed = 0x5eed_0001;
    let mut cache = PromptCache::new().unwrap();
    let (_, speech) = speech_16k(&mut cache);
    let mut call = Call::new(Network::new(seed, 0.04, 0.05, 0.02));
    call.send(&speech[..16_000 * 2]);
    call.send(&dtmf("159#", 100.0, 100.0));
    call.send(&speech[16_000 * 2..]);
    call.send(&dtmf("*0", 100.0, 100.0));
    call.send(&silence(400));

    let digits: Vec<Digit> = call.tones().iter().map(|t| t.1).collect();
    assert_eq!(
        digits,
        Digit::parse_sequence("159#*0").unwrap(),
        "seed {seed:#x}: events {:?}",
        call.tones()
    );
    assert!(
        call.tones()
            .iter()
            .all(|t| t.0 == call.leg && t.2 == ToneSource::InBand)
    );
    let ends = call
        .out
        .events
        .iter()
        .filter(|e| matches!(e, Event::ToneEnded { .. }))
        .count();
    assert_eq!(ends, 6, "every press ends");

    let stats = call.session.stats(call.leg).unwrap();
    let sent = call.caller.sequence.wrapping_sub(65_500) as u64;
    eprintln!(
        "seed {seed:#x}: sent {sent}, network dropped {}, {stats:?}",
        call.network.dropped
    );
    assert!(call.network.dropped > 0, "seed {seed:#x} drops packets");
    assert_eq!(stats.garbage, 0);
    assert!(
        stats.jitter.duplicate > 0,
        "seed {seed:#x}: duplicates seen"
    );
    assert!(
        stats.jitter.lost >= call.network.dropped,
        "seed {seed:#x}: every dropped packet is lost ({stats:?})"
    );
    assert!(
        stats.jitter.fec_recovered > 0,
        "seed {seed:#x}: FEC rebuilt some ({stats:?})"
    );
    assert!(
        stats.jitter.concealed > 0,
        "seed {seed:#x}: PLC concealed some ({stats:?})"
    );
    assert_eq!(
        stats.jitter.received + call.network.dropped,
        sent,
        "seed {seed:#x}: sequence wrap loses nothing ({stats:?})"
    );
}

#[test]
fn speech_alone_never_looks_like_a_digit() {
    let mut cache = PromptCache::new().unwrap();
    let (_, speech) = speech_16k(&mut cache);
    let mut call = Call::new(Network::new(7, 0.0, 0.0, 0.0));
    call.send(&speech);
    call.send(&speech);
    assert_eq!(call.tones(), vec![]);
    let started = call
        .out
        .events
        .iter()
        .filter(|e| matches!(e, Event::SpeechStarted { .. }))
        .count();
    assert!(started >= 1, "the caller's speech is reported");
}

#[test]
fn a_recording_after_the_beep_ends_on_max_silence_with_the_speech_in_the_clip() {
    let mut cache = PromptCache::new().unwrap();
    let (speech_prompt, speech) = speech_16k(&mut cache);
    let beep = cache.beep();
    let mut call = Call::new(Network::new(11, 0.02, 0.02, 0.0));
    call.send(&silence(200));
    let settings = RecordSettings {
        initial_silence_timeout_secs: 5,
        max_silence_timeout_secs: 2,
        max_record_duration_secs: 30,
        stop_tones: DigitSet::EMPTY,
    };
    let before = call.out.packets.len();
    call.session
        .start_record(
            call.leg,
            RecordId(9),
            settings,
            std::slice::from_ref(&beep),
            ClipBuffer::with_capacity(Duration::from_secs(30)),
        )
        .unwrap();
    // The caller hears the beep, then speaks, then stays quiet.
    let beep_ticks = call.send(&silence(beep.frames() * 20));
    call.send(&speech);
    call.send(&silence(4000));
    let result = call.record_result().expect("the recording ends");
    assert_eq!(result.id, RecordId(9));
    assert_eq!(result.reason, RecordReason::MaxSilenceTimeout);
    let speech_s = speech_prompt.duration().as_secs_f64();
    let clip_s = result.clip.duration().as_secs_f64();
    // The clip holds the speech (which itself ends in ~0.4 s of quiet) plus the 2 s of silence,
    // shifted by the jitter-buffer delay; trailing quiet of the fixture counts toward the 2 s.
    assert!(
        (speech_s + 1.3..=speech_s + 2.3).contains(&clip_s),
        "clip {clip_s:.2} s for {speech_s:.2} s of speech"
    );
    // The clip is a WAV file hound can read, 16 kHz mono 16-bit, with audible speech.
    let reader = hound::WavReader::new(std::io::Cursor::new(result.clip.wav_bytes())).unwrap();
    assert_eq!(reader.spec().sample_rate, 16_000);
    let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
    assert_eq!(samples.len(), result.clip.samples());
    assert!(samples.iter().any(|s| s.abs() > 3000));

    // The beep went out as the cached packets, byte for byte, from the very next tick.
    let sent: Vec<_> = call.out.packets[before..].iter().collect();
    assert_eq!(beep_ticks, beep.frames());
    for (i, p) in sent.iter().take(beep.frames()).enumerate() {
        assert_eq!(p.4, beep.packet(i), "beep packet {i}");
    }
    // Sequence numbers and timestamps run on without a break across silence and beep.
    for w in call.out.packets.windows(2) {
        assert_eq!(w[1].1, w[0].1.wrapping_add(1));
        assert_eq!(w[1].2, w[0].2.wrapping_add(960));
    }
    assert!(call.out.packets[0].3, "marker on the first packet only");
    assert!(call.out.packets[1..].iter().all(|p| !p.3));
    assert!(
        !call
            .out
            .events
            .iter()
            .any(|e| matches!(e, Event::PromptFinished(_))),
        "the recording's own beep is not reported as a prompt"
    );
}

#[test]
fn a_stop_tone_ends_the_recording_and_names_the_digit() {
    let mut cache = PromptCache::new().unwrap();
    let (_, speech) = speech_16k(&mut cache);
    let mut call = Call::new(Network::new(12, 0.0, 0.0, 0.0));
    let settings = RecordSettings {
        stop_tones: DigitSet::of(&[Digit::Pound, Digit::Star]),
        max_record_duration_secs: 20,
        ..RecordSettings::default()
    };
    call.session
        .start_record(
            call.leg,
            RecordId(1),
            settings,
            &[],
            ClipBuffer::with_capacity(Duration::from_secs(20)),
        )
        .unwrap();
    call.send(&speech[..16_000 * 2]);
    call.send(&dtmf("1", 100.0, 100.0));
    assert!(call.record_result().is_none(), "1 is not a stop tone");
    call.send(&dtmf("#", 100.0, 300.0));
    let result = call.record_result().expect("# stops it");
    assert_eq!(result.reason, RecordReason::StopToneDetected);
    assert_eq!(result.stop_tone, Some(Digit::Pound));
    let clip_s = result.clip.duration().as_secs_f64();
    assert!(
        (2.2..2.6).contains(&clip_s),
        "clip {clip_s:.2} s ends at the tone"
    );
}

#[test]
fn silence_from_the_start_times_out_and_a_long_talker_hits_the_cap() {
    let mut cache = PromptCache::new().unwrap();
    let (_, speech) = speech_16k(&mut cache);
    let mut call = Call::new(Network::new(13, 0.0, 0.0, 0.0));
    let quick = RecordSettings {
        initial_silence_timeout_secs: 1,
        ..RecordSettings::default()
    };
    call.session
        .start_record(
            call.leg,
            RecordId(2),
            quick,
            &[],
            ClipBuffer::with_capacity(Duration::from_secs(5)),
        )
        .unwrap();
    call.send(&silence(1500));
    let result = call.record_result().unwrap();
    assert_eq!(result.reason, RecordReason::InitialSilenceTimeout);
    assert_eq!(result.clip.duration(), Duration::from_secs(1));

    let capped = RecordSettings {
        max_record_duration_secs: 3,
        max_silence_timeout_secs: 3,
        ..RecordSettings::default()
    };
    call.session
        .start_record(call.leg, RecordId(3), capped, &[], result.clip)
        .unwrap();
    call.send(&speech);
    let result = call.record_result().unwrap();
    assert_eq!(result.reason, RecordReason::MaxRecordDurationReached);
    assert_eq!(result.clip.duration(), Duration::from_secs(3));
}

#[test]
fn hangup_and_leg_removal_end_a_recording_at_once() {
    let mut call = Call::new(Network::new(14, 0.0, 0.0, 0.0));
    let clip = ClipBuffer::with_capacity(Duration::from_secs(5));
    call.session
        .start_record(call.leg, RecordId(4), RecordSettings::default(), &[], clip)
        .unwrap();
    call.send(&silence(300));
    call.session.remove_leg(call.leg).unwrap();
    poll_all(&mut call.session, &mut call.out);
    let result = call.record_result().expect("ended without another tick");
    assert_eq!(result.reason, RecordReason::CallDropped);
    assert!(
        call.out
            .events
            .iter()
            .any(|e| matches!(e, Event::PacketStats { .. }))
    );

    let mut call = Call::new(Network::new(15, 0.0, 0.0, 0.0));
    call.session
        .start_record(
            call.leg,
            RecordId(5),
            RecordSettings::default(),
            &[],
            result.clip,
        )
        .unwrap();
    call.session.hangup();
    poll_all(&mut call.session, &mut call.out);
    assert_eq!(
        call.record_result().unwrap().reason,
        RecordReason::CallDropped
    );
    assert_eq!(call.session.legs().count(), 0);
}

#[test]
fn bad_record_requests_are_refused_and_the_buffer_comes_back() {
    let mut call = Call::new(Network::new(16, 0.0, 0.0, 0.0));
    let bad = RecordSettings {
        max_silence_timeout_secs: 121,
        ..RecordSettings::default()
    };
    let err = call
        .session
        .start_record(
            call.leg,
            RecordId(6),
            bad,
            &[],
            ClipBuffer::with_capacity(Duration::from_secs(5)),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "maxSilenceTimeoutInSeconds is 121 s; allowed: 1 to 120 s"
    );
    let small = ClipBuffer::with_capacity(Duration::from_secs(2));
    let err = call
        .session
        .start_record(call.leg, RecordId(7), RecordSettings::default(), &[], small)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the clip buffer holds 2000 ms but maxRecordDurationInSeconds is 5 s; give a buffer of at least that length"
    );
}

#[test]
fn prompts_play_in_order_from_the_next_tick_loop_and_stop() {
    let mut cache = PromptCache::new().unwrap();
    let (speech, _) = speech_16k(&mut cache);
    let beep = cache.beep();
    let tones = cache.dtmf(&Digit::parse_sequence("12").unwrap()).unwrap();
    let mut call = Call::new(Network::new(17, 0.0, 0.0, 0.0));
    call.send(&silence(100));
    let list: Vec<Arc<Prompt>> = vec![beep.clone(), tones.clone()];
    call.session.play(PlaybackId(1), &list, false).unwrap();
    let start = call.out.packets.len();
    call.send(&silence(20 * (beep.frames() + tones.frames() + 3)));
    let sent = &call.out.packets[start..];
    let expected: Vec<&[u8]> = (0..beep.frames())
        .map(|i| beep.packet(i))
        .chain((0..tones.frames()).map(|i| tones.packet(i)))
        .collect();
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(&sent[i].4[..], *want, "packet {i} of the play list");
    }
    assert_eq!(
        sent[expected.len()].4.len(),
        sent[expected.len() + 1].4.len(),
        "comfort silence after"
    );
    let finished: Vec<_> = call
        .out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PromptFinished(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(finished, vec![PlaybackId(1)]);

    // Looping goes round until stopped; replacing it reports the old one cancelled.
    call.session
        .play(PlaybackId(2), std::slice::from_ref(&beep), true)
        .unwrap();
    call.send(&silence(20 * beep.frames() * 3));
    call.session
        .play(PlaybackId(3), std::slice::from_ref(&speech), false)
        .unwrap();
    call.send(&silence(100));
    assert_eq!(call.session.stop_playback(), Some(PlaybackId(3)));
    poll_all(&mut call.session, &mut call.out);
    let cancelled: Vec<_> = call
        .out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PromptCancelled(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, vec![PlaybackId(2), PlaybackId(3)]);
    assert!(!call.session.is_playing());
}
