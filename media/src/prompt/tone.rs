//! Synthesised tone prompts: the record beep and DTMF digit sequences (sendDtmfTones).

use crate::dtmf::Digit;
use crate::frame::SAMPLE_RATE;

/// Cache name of the beep.
pub const BEEP_NAME: &str = "beep";
/// Beep pitch in Hz.
const BEEP_HZ: f32 = 1000.0;
/// Beep length in ms.
const BEEP_MS: u32 = 400;
/// Beep amplitude (-12 dBFS peak): clearly audible without clipping after the codec.
const BEEP_AMPLITUDE: f32 = 0.25;
/// Fade in and out in ms, so the beep does not click.
const RAMP_MS: u32 = 5;

/// The record beep as 16 kHz PCM.
pub fn beep() -> Vec<i16> {
    let n = (SAMPLE_RATE * BEEP_MS / 1000) as usize;
    let ramp = (SAMPLE_RATE * RAMP_MS / 1000) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / SAMPLE_RATE as f32;
            let edge = i.min(n - 1 - i);
            let gain = if edge < ramp {
                edge as f32 / ramp as f32
            } else {
                1.0
            };
            (32767.0 * BEEP_AMPLITUDE * gain * (2.0 * std::f32::consts::PI * BEEP_HZ * t).sin())
                as i16
        })
        .collect()
}

/// DTMF tones for `digits` as 16 kHz PCM, from the shared DTMF generator.
pub fn dtmf_sequence(digits: &[Digit]) -> Vec<i16> {
    // Tone and pause lengths of a keypad pressed briskly; both well above the 40 ms receivers need.
    const TONE_MS: u32 = 100;
    const GAP_MS: u32 = 100;
    let tone = (SAMPLE_RATE * TONE_MS / 1000) as usize;
    let gap = (SAMPLE_RATE * GAP_MS / 1000) as usize;
    let mut out = Vec::with_capacity(digits.len() * (tone + gap));
    for &d in digits {
        let (low, high) = d.frequencies();
        for i in 0..tone {
            let t = i as f32 / SAMPLE_RATE as f32;
            let w = 2.0 * std::f32::consts::PI * t;
            out.push((6000.0 * ((w * low).sin() + (w * high).sin())) as i16);
        }
        out.resize(out.len() + gap, 0);
    }
    out
}
