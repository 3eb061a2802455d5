//! Synthesised tone prompts: the record beep and DTMF digit sequences (sendDtmfTones).

use crate::dtmf::Digit;
use crate::dtmf::generator::{ToneShape, digit_sequence};
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

/// Tone length of a sendDtmfTones key press, in ms: a keypad pressed briskly, well above the
/// 40 ms receivers need.
pub const DTMF_ON_MS: f32 = 100.0;
/// Pause after each key press, in ms.
pub const DTMF_OFF_MS: f32 = 100.0;
/// Level of each of the two tones, in dBm0: the usual send level of a telephone.
pub const DTMF_LEVEL_DBM0: f32 = -8.0;

/// DTMF tones for `digits` as 16 kHz PCM, from the shared DTMF generator.
pub fn dtmf_sequence(digits: &[Digit]) -> Vec<i16> {
    let shape = ToneShape::at_level(DTMF_LEVEL_DBM0);
    // 16 kHz is inside the generator's 4–384 kHz range, so this cannot fail.
    digit_sequence(SAMPLE_RATE, digits, &shape, DTMF_ON_MS, DTMF_OFF_MS).unwrap_or_default()
}
