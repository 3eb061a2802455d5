//! Test 9: tests 1, 2, 5 and 7 after the codecs production audio arrives through.
//!
//! Opus: libopus through the `opus` crate, `Application::Voip`, 20 ms frames, signal pinned to
//! voice and bandwidth to wideband (so the encoder cannot switch modes between runs), encoded
//! from and decoded to 16 kHz: the media path decodes straight to 16 kHz, so the receiver sees
//! exactly this. G.711 µ-law and A-law at 8 kHz.

use super::super::super::codec::g711;
use super::tone_tests::Received;
use super::train::{Resolution, Train};
use super::{Options, ReceiverUnderTest, Row, timing_tests, tone_tests};

/// A path the test signal takes to the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Linear PCM at 8 kHz: the signal as generated.
    Linear8k,
    /// Linear PCM at 16 kHz: the signal as generated.
    Linear16k,
    /// Opus round trip at this many kbit/s, 16 kHz in and out.
    Opus {
        /// Bitrate in kbit/s.
        kbps: u32,
    },
    /// G.711 µ-law round trip at 8 kHz.
    MuLaw,
    /// G.711 A-law round trip at 8 kHz.
    ALaw,
}

impl Channel {
    /// Every channel of test 9.
    pub const ALL: [Channel; 6] = [
        Channel::Linear16k,
        Channel::Opus { kbps: 16 },
        Channel::Opus { kbps: 24 },
        Channel::Opus { kbps: 32 },
        Channel::MuLaw,
        Channel::ALaw,
    ];

    /// The sample rate the receiver gets.
    pub fn rate(self) -> u32 {
        match self {
            Channel::Linear8k | Channel::MuLaw | Channel::ALaw => 8000,
            Channel::Linear16k | Channel::Opus { .. } => 16000,
        }
    }

    /// A short label for table rows.
    pub fn label(self) -> String {
        match self {
            Channel::Linear8k => "8 kHz".into(),
            Channel::Linear16k => "16 kHz".into(),
            Channel::Opus { kbps } => format!("Opus {kbps} kbit/s"),
            Channel::MuLaw => "G.711 µ-law".into(),
            Channel::ALaw => "G.711 A-law".into(),
        }
    }

    /// The label as a suffix for an item, empty for the plain 8 kHz signal.
    pub(crate) fn suffix(self) -> String {
        match self {
            Channel::Linear8k => String::new(),
            other => format!(" ({})", other.label()),
        }
    }

    /// Sends `pcm` (at [`Channel::rate`]) through the channel.
    pub fn apply(self, pcm: &[i16]) -> Result<Vec<i16>, String> {
        match self {
            Channel::Linear8k | Channel::Linear16k => Ok(pcm.to_vec()),
            Channel::MuLaw => Ok(g711::ulaw_round_trip(pcm)),
            Channel::ALaw => Ok(g711::alaw_round_trip(pcm)),
            Channel::Opus { kbps } => {
                opus_round_trip(pcm, kbps).map_err(|e| format!("libopus: {e}"))
            }
        }
    }

    /// `train` after the channel; slot positions are unchanged (the codec delay is a few ms,
    /// well inside a slot).
    pub(crate) fn transmit(self, train: &Train) -> Result<Train, String> {
        debug_assert_eq!(train.rate, self.rate());
        Ok(Train {
            pcm: self.apply(&train.pcm)?,
            rate: train.rate,
            slots: train.slots.clone(),
        })
    }
}

/// Encodes `pcm` (16 kHz) with libopus in 20 ms frames and decodes it again at 16 kHz.
fn opus_round_trip(pcm: &[i16], kbps: u32) -> Result<Vec<i16>, opus::Error> {
    const RATE: u32 = 16_000;
    const FRAME: usize = RATE as usize / 50;
    let mut encoder = opus::Encoder::new(RATE, opus::Channels::Mono, opus::Application::Voip)?;
    encoder.set_bitrate(opus::Bitrate::Bits((kbps * 1000) as i32))?;
    encoder.set_signal(opus::Signal::Voice)?;
    encoder.set_bandwidth(opus::Bandwidth::Wideband)?;
    let mut decoder = opus::Decoder::new(RATE, opus::Channels::Mono)?;
    let mut out = Vec::with_capacity(pcm.len() + FRAME);
    let mut frame = [0i16; FRAME];
    let mut packet = [0u8; 1500];
    let mut decoded = [0i16; FRAME];
    for chunk in pcm.chunks(FRAME) {
        frame[..chunk.len()].copy_from_slice(chunk);
        frame[chunk.len()..].fill(0);
        let len = encoder.encode(&frame, &mut packet)?;
        let n = decoder.decode(&packet[..len], &mut decoded, false)?;
        out.extend_from_slice(&decoded[..n]);
    }
    out.truncate(pcm.len());
    Ok(out)
}

/// Every train of tests 1, 2, 5 and 7 as one channel delivers it.
struct ReceivedTrains {
    decode: Received,
    bandwidth: [Received; 2],
    guard: Received,
    pause: [Received; 3],
}

impl ReceivedTrains {
    /// Builds and transmits the trains. Through Opus every 20 ms costs an encode, so the time
    /// sweeps there use 0.5 ms steps instead of 0.125 ms.
    fn new(channel: Channel) -> ReceivedTrains {
        let rate = channel.rate();
        let resolution = match channel {
            Channel::Opus { .. } => Resolution::Coarse,
            _ => Resolution::Fine,
        };
        let send = |train: Train| channel.transmit(&train);
        ReceivedTrains {
            decode: send(tone_tests::decode_train(rate)),
            bandwidth: [0, 1].map(|group| send(tone_tests::bandwidth_train(rate, group))),
            guard: send(timing_tests::guard_train(rate, resolution)),
            pause: [
                send(timing_tests::pause_train(rate, resolution)),
                send(timing_tests::dropout_train(rate, resolution)),
                send(timing_tests::speed_train(rate)),
            ],
        }
    }
}

/// Test 9: tests 1, 2, 5 and 7 through every channel of `options.codec_channels`. The channels'
/// trains are encoded on one thread each (the encodes dominate), then played to the receiver.
pub(crate) fn through_codecs(rx: &mut dyn ReceiverUnderTest, options: &Options) -> Vec<Row> {
    let received: Vec<ReceivedTrains> = std::thread::scope(|scope| {
        let workers: Vec<_> = options
            .codec_channels
            .iter()
            .map(|&channel| scope.spawn(move || ReceivedTrains::new(channel)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .expect("building and encoding test trains does not panic")
            })
            .collect()
    });
    let mut rows = Vec::new();
    for (&channel, trains) in options.codec_channels.iter().zip(received) {
        let mut part = tone_tests::decode_rows(rx, options, channel, trains.decode).rows;
        let [low, high] = trains.bandwidth;
        part.push(tone_tests::bandwidth_rows(rx, options, channel, 0, low));
        part.push(tone_tests::bandwidth_rows(rx, options, channel, 1, high));
        part.push(timing_tests::guard_rows(rx, options, channel, trains.guard));
        part.extend(timing_tests::pause_rows(rx, options, channel, trains.pause));
        rows.extend(part.into_iter().map(|r| Row { test: 9, ..r }));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_keeps_a_tone_and_the_length() {
        let pcm: Vec<i16> = (0..16_000)
            .map(|n| (8000.0 * (std::f32::consts::TAU * 1000.0 * n as f32 / 16_000.0).sin()) as i16)
            .collect();
        let out = Channel::Opus { kbps: 24 }.apply(&pcm).unwrap();
        assert_eq!(out.len(), pcm.len());
        let rms = |s: &[i16]| {
            (s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
        };
        let ratio = rms(&out[4000..]) / rms(&pcm[4000..]);
        assert!((0.7..1.3).contains(&ratio), "level ratio {ratio}");
    }
}
