//! G.711 µ-law and A-law (ITU-T G.711), sample by sample.
//!
//! Both laws are a sign bit, a 3-bit segment (exponent) and a 4-bit step within the segment,
//! computed here with integer arithmetic instead of 64 KiB lookup tables: a few shifts per
//! sample, nothing to keep warm in cache. µ-law works on 14-bit magnitudes with a bias of 33
//! (132 on the 16-bit scale) so every segment starts on a power of two; A-law on 13-bit
//! magnitudes with a linear first two segments. Bytes are inverted (µ-law) or XORed with 0x55
//! (A-law) as transmitted on the wire.

/// µ-law bias on the 16-bit scale.
const MU_BIAS: i32 = 0x84;
/// Largest µ-law magnitude on the 16-bit scale before the bias is added.
const MU_CLIP: i32 = 32_635;

/// Encodes one 16-bit sample as a µ-law byte.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let value = i32::from(sample);
    let sign: u8 = if value < 0 { 0x80 } else { 0 };
    let magnitude = value.unsigned_abs().min(MU_CLIP as u32) as i32 + MU_BIAS;
    // The segment is the position of the highest set bit above bit 7: 0 for 0x84..0xFF, 7 for
    // 0x4000 and up.
    let exponent = (31 - magnitude.leading_zeros() as i32 - 7).clamp(0, 7);
    let mantissa = ((magnitude >> (exponent + 3)) & 0x0F) as u8;
    !(sign | ((exponent as u8) << 4) | mantissa)
}

/// Decodes one µ-law byte to a 16-bit sample.
pub fn ulaw_to_linear(byte: u8) -> i16 {
    let code = !byte;
    let exponent = i32::from((code >> 4) & 0x07);
    let mantissa = i32::from(code & 0x0F);
    let magnitude = (((mantissa << 3) + MU_BIAS) << exponent) - MU_BIAS;
    let value = if code & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    };
    value as i16
}

/// Upper ends of the eight A-law segments for 13-bit magnitudes.
const A_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// Encodes one 16-bit sample as an A-law byte.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let value = i32::from(sample) >> 3;
    // Positive values carry the sign bit; negative ones are mirrored so −1 maps like 0.
    let (mask, magnitude) = if value >= 0 {
        (0xD5u8, value)
    } else {
        (0x55u8, -value - 1)
    };
    let Some(segment) = A_SEGMENT_END.iter().position(|&end| magnitude <= end) else {
        return 0x7F ^ mask;
    };
    let shift = if segment < 2 { 1 } else { segment };
    let code = ((segment as u8) << 4) | ((magnitude >> shift) & 0x0F) as u8;
    code ^ mask
}

/// Decodes one A-law byte to a 16-bit sample.
pub fn alaw_to_linear(byte: u8) -> i16 {
    let code = byte ^ 0x55;
    let segment = u32::from((code & 0x70) >> 4);
    // The middle of the step, on the 16-bit scale.
    let mut magnitude = i32::from(code & 0x0F) << 4;
    magnitude += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        magnitude <<= segment - 1;
    }
    let value = if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    };
    value as i16
}

/// Encodes and decodes `pcm` through µ-law: the audio a G.711 µ-law call leg delivers.
pub fn ulaw_round_trip(pcm: &[i16]) -> Vec<i16> {
    pcm.iter()
        .map(|&s| ulaw_to_linear(linear_to_ulaw(s)))
        .collect()
}

/// Encodes and decodes `pcm` through A-law: the audio a G.711 A-law call leg delivers.
pub fn alaw_round_trip(pcm: &[i16]) -> Vec<i16> {
    pcm.iter()
        .map(|&s| alaw_to_linear(linear_to_alaw(s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_full_scale_have_their_standard_codes() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw_to_linear(0x80), 32_124);
        assert_eq!(ulaw_to_linear(0x00), -32_124);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-8), 0x55);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(alaw_to_linear(0xAA), 32_256);
        assert_eq!(alaw_to_linear(0x2A), -32_256);
    }

    #[test]
    fn every_code_decodes_and_re_encodes_to_itself() {
        for byte in 0..=255u8 {
            assert_eq!(
                linear_to_alaw(alaw_to_linear(byte)),
                byte,
                "A-law {byte:#04x}"
            );
            let mu = ulaw_to_linear(byte);
            // µ-law has two zeros (0x7F and 0xFF); both decode to 0, which encodes as 0xFF.
            if mu != 0 {
                assert_eq!(linear_to_ulaw(mu), byte, "µ-law {byte:#04x}");
            }
        }
    }

    #[test]
    fn quantisation_error_stays_within_half_a_step() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let v = i32::from(s);
            let mu_err = (i32::from(ulaw_to_linear(linear_to_ulaw(s))) - v).abs();
            let a_err = (i32::from(alaw_to_linear(linear_to_alaw(s))) - v).abs();
            // Relative error of a log law: about 1/32 of the value, at least the first step.
            assert!(mu_err <= (v.abs() / 16).max(8) + 4, "µ-law {s}: {mu_err}");
            assert!(a_err <= (v.abs() / 16).max(16) + 4, "A-law {s}: {a_err}");
        }
    }
}
