//! A call leg dialled both ways at once: tones in 16 kHz audio through the real detector, and
//! RFC 4733 packets at 48 kHz through the real receiver, merged on one media timeline as a
//! MediaSession would, 20 ms frame by 20 ms frame.

use switchboard_media::dtmf::generator::{SignalBuilder, ToneShape};
use switchboard_media::dtmf::telephone_event::{
    EventPacket, KeyPressPlan, OutgoingEventPacket, TelephoneEventReceiver,
};
use switchboard_media::dtmf::{
    DetectorConfig, Digit, MediaTime, MergedTone, ToneDetector, ToneMerger, ToneSource,
};

const AUDIO_RATE: u32 = 16_000;
const EVENT_CLOCK: u32 = 48_000;
/// The RTP timestamp of the leg's first audio sample: events share the audio's timeline.
const RTP_BASE: u32 = 4_294_000_000; // wraps a few seconds in

struct Press {
    digit: Digit,
    onset_ms: u64,
    on_ms: u64,
    /// Whether the RFC 4733 packets of this press reach us.
    events_arrive: bool,
}

/// A reported press with the media time at which it was reported.
struct Report {
    tone: MergedTone,
    at: MediaTime,
}

fn run(presses: &[Press], in_band: bool) -> Vec<Report> {
    let shape = ToneShape::at_level(-10.0);
    let mut audio = SignalBuilder::new(AUDIO_RATE).unwrap();
    let mut packets: Vec<(u64, OutgoingEventPacket)> = Vec::new();
    for p in presses {
        let now_ms = (audio.len() as u64) * 1000 / u64::from(AUDIO_RATE);
        audio.silence_ms((p.onset_ms - now_ms) as f32);
        if in_band {
            audio.tone_ms(p.digit, &shape, p.on_ms as f32);
        } else {
            audio.silence_ms(p.on_ms as f32);
        }
        if p.events_arrive {
            let start = p.onset_ms * u64::from(EVENT_CLOCK) / 1000;
            let plan = KeyPressPlan {
                digit: p.digit,
                start_timestamp: RTP_BASE.wrapping_add(start as u32),
                duration: (p.on_ms * u64::from(EVENT_CLOCK) / 1000) as u32,
                packet_interval: EVENT_CLOCK / 50,
                volume: 10,
            };
            for packet in plan.packets().unwrap() {
                // Sent when the duration it reports has elapsed; 5 ms on the network.
                let arrival = start + u64::from(packet.send_offset) + 240;
                packets.push((arrival, packet));
            }
        }
    }
    audio.silence_ms(300.0);
    let pcm = audio.to_pcm();

    let mut detector = ToneDetector::new(DetectorConfig::at_rate(AUDIO_RATE)).unwrap();
    let mut receiver = TelephoneEventReceiver::new(EVENT_CLOCK).unwrap();
    let mut merger = ToneMerger::default();
    let mut key_events = Vec::with_capacity(32);
    let mut tone_events = Vec::with_capacity(8);
    let mut reports = Vec::new();
    // The first extended timestamp the receiver hands out is 2^32 + RTP_BASE (see its docs).
    let rtp_origin = (1u64 << 32) + u64::from(RTP_BASE);
    let rtp_to_media = |ext: u64| MediaTime::from_samples(ext - rtp_origin, EVENT_CLOCK);
    let samples_to_media = |n: u64| MediaTime::from_samples(n, AUDIO_RATE);
    let frame = (AUDIO_RATE / 50) as usize;
    let mut next_packet = 0;
    for (i, chunk) in pcm.chunks(frame).enumerate() {
        let frame_end = MediaTime::from_samples(((i + 1) * frame) as u64, AUDIO_RATE);
        while next_packet < packets.len() && packets[next_packet].0 <= frame_end.0 {
            let p = packets[next_packet].1;
            let packet = EventPacket {
                timestamp: p.timestamp,
                sequence: next_packet as u16,
                marker: p.marker,
                payload: &p.payload,
            };
            receiver.receive(&packet, &mut key_events).unwrap();
            for e in key_events.drain(..) {
                if let Some(tone) = merger.telephone_event(&e, rtp_to_media) {
                    reports.push(Report {
                        tone,
                        at: MediaTime(packets[next_packet].0),
                    });
                }
            }
            next_packet += 1;
        }
        detector.push(chunk, |e| tone_events.push(e));
        for e in tone_events.drain(..) {
            if let Some(tone) = merger.in_band(&e, samples_to_media) {
                reports.push(Report {
                    tone,
                    at: samples_to_media(e.reported_at),
                });
            }
        }
    }
    reports
}

fn dialling(events_arrive: impl Fn(usize) -> bool) -> Vec<Press> {
    // Repeats of one key at the fastest rate (50 ms on, 43 ms off), then slower, then a long hold.
    let keys = [
        Digit::D1,
        Digit::D1,
        Digit::D1,
        Digit::D2,
        Digit::Pound,
        Digit::Pound,
        Digit::D0,
    ];
    let mut t = 100;
    keys.iter()
        .enumerate()
        .map(|(i, &digit)| {
            let on_ms = if i == keys.len() - 1 { 1600 } else { 50 };
            let press = Press {
                digit,
                onset_ms: t,
                on_ms,
                events_arrive: events_arrive(i),
            };
            t += on_ms + if i < 3 { 43 } else { 120 };
            press
        })
        .collect()
}

fn digits(reports: &[Report]) -> Vec<Digit> {
    reports.iter().map(|r| r.tone.digit).collect()
}

#[test]
fn presses_told_both_ways_are_reported_once_and_first_by_their_events() {
    let presses = dialling(|_| true);
    let reports = run(&presses, true);
    let expected: Vec<Digit> = presses.iter().map(|p| p.digit).collect();
    assert_eq!(digits(&reports), expected);
    for (report, press) in reports.iter().zip(&presses) {
        assert_eq!(report.tone.source, ToneSource::TelephoneEvent);
        // The first packet leaves one interval after the onset and takes 5 ms: 25 ms, plus
        // waiting for the frame in which it arrives.
        let delay_ms = report.at.as_millis_f64() - press.onset_ms as f64;
        assert!(
            delay_ms <= 45.0,
            "{:?} reported {delay_ms} ms late",
            press.digit
        );
    }
}

#[test]
fn presses_whose_events_are_lost_are_reported_from_the_tones() {
    let presses = dialling(|i| i % 2 == 0);
    let reports = run(&presses, true);
    let expected: Vec<Digit> = presses.iter().map(|p| p.digit).collect();
    assert_eq!(digits(&reports), expected);
    for (report, press) in reports.iter().zip(&presses) {
        let expected_source = if press.events_arrive {
            ToneSource::TelephoneEvent
        } else {
            ToneSource::InBand
        };
        assert_eq!(report.tone.source, expected_source, "{:?}", press.digit);
    }
}

#[test]
fn events_alone_and_tones_alone_each_give_every_press() {
    let presses = dialling(|_| true);
    let expected: Vec<Digit> = presses.iter().map(|p| p.digit).collect();
    assert_eq!(digits(&run(&presses, false)), expected);
    let tones_only = dialling(|_| false);
    let reports = run(&tones_only, true);
    assert_eq!(digits(&reports), expected);
    assert!(reports.iter().all(|r| r.tone.source == ToneSource::InBand));
}
