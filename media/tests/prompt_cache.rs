//! PromptCache over every allowed rate, channel count and sample format, and the precise refusal
//! of files it cannot play.

use std::io::Cursor;
use switchboard_media::codec::opus::{PayloadCheck, check_payload};
use switchboard_media::prompt::wav::ALLOWED_RATES;
use switchboard_media::prompt::{PromptCache, PromptError};

const TONE_HZ: f32 = 1000.0;
const SECONDS: f32 = 0.5;

fn wav(rate: u32, channels: u16, bits: u16, float: bool) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut bytes = Vec::new();
    let mut w = hound::WavWriter::new(Cursor::new(&mut bytes), spec).unwrap();
    let n = (rate as f32 * SECONDS) as usize;
    for i in 0..n {
        let v = 0.5 * (2.0 * std::f32::consts::PI * TONE_HZ * i as f32 / rate as f32).sin();
        for ch in 0..channels {
            // Stereo files carry the tone on the left only: the mono mix must still hold it.
            let v = if ch == 0 { v } else { 0.0 };
            if float {
                w.write_sample(v).unwrap();
            } else {
                let full = ((1i64 << (bits - 1)) - 1) as f32;
                w.write_sample((v * full) as i32).unwrap();
            }
        }
    }
    w.finalize().unwrap();
    bytes
}

/// Share of the signal's power at `hz` (Goertzel), skipping the first and last 40 ms.
fn share(pcm: &[i16], hz: f32) -> f32 {
    let pcm = &pcm[640..pcm.len() - 640];
    let w = 2.0 * std::f32::consts::PI * hz / 16_000.0;
    let (mut s1, mut s2, mut total) = (0.0f64, 0.0f64, 0.0f64);
    for &x in pcm {
        let x = f64::from(x);
        total += x * x;
        let s = x + 2.0 * f64::from(w.cos()) * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * f64::from(w.cos()) * s1 * s2;
    (2.0 * power / (pcm.len() as f64 * total.max(1.0))) as f32
}

#[test]
fn every_rate_channel_count_and_format_becomes_16k_opus() {
    let mut cache = PromptCache::new().unwrap();
    let formats = [
        (8, false),
        (16, false),
        (24, false),
        (32, false),
        (32, true),
    ];
    for rate in ALLOWED_RATES {
        for channels in [1u16, 2] {
            for (bits, float) in formats {
                let case = format!(
                    "{rate} Hz, {channels} ch, {bits}-bit {}",
                    if float { "float" } else { "int" }
                );
                let prompt = cache
                    .load_wav(&case, &wav(rate, channels, bits, float))
                    .unwrap();
                assert_eq!(prompt.frames(), 25, "{case}: 0.5 s is 25 frames");
                for i in 0..prompt.frames() {
                    assert_eq!(
                        check_payload(prompt.packet(i)),
                        PayloadCheck::Frame,
                        "{case} packet {i}"
                    );
                }
                let pcm: Vec<i16> = (0..prompt.frames()).flat_map(|i| *prompt.pcm(i)).collect();
                let s = share(&pcm, TONE_HZ);
                assert!(s > 0.9, "{case}: 1 kHz share {s:.3}");
                let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap();
                let want = if channels == 2 { 8192 } else { 16384 };
                assert!(
                    peak.abs_diff(want) < want / 10,
                    "{case}: peak {peak}, want about {want}"
                );
            }
        }
    }
}

#[test]
fn a_cached_name_is_not_decoded_again_and_is_shared() {
    let mut cache = PromptCache::new().unwrap();
    let a = cache.load_wav("menu", &wav(16_000, 1, 16, false)).unwrap();
    let b = cache.load_wav("menu", b"not even a wav").unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    assert!(std::sync::Arc::ptr_eq(&cache.get("menu").unwrap(), &a));
}

fn error(bytes: &[u8]) -> String {
    let mut cache = PromptCache::new().unwrap();
    match cache.load_wav("bad", bytes) {
        Err(e @ PromptError::Wav { .. }) => e.to_string(),
        other => panic!("expected a WAV error, got {other:?}"),
    }
}

/// A 16 kHz mono 16-bit file with one header field patched.
fn patched(offset: usize, value: &[u8]) -> Vec<u8> {
    let mut b = wav(16_000, 1, 16, false);
    b[offset..offset + value.len()].copy_from_slice(value);
    b
}

#[test]
fn bad_files_are_refused_with_field_value_and_what_is_allowed() {
    assert_eq!(
        error(&patched(20, &7u16.to_le_bytes())),
        "prompt \"bad\": WAV fmt audio format is 0x0007; allowed: 0x0001 (integer PCM), 0x0003 (IEEE float) or 0xfffe (extensible PCM/float)"
    );
    assert_eq!(
        error(&patched(22, &3u16.to_le_bytes())),
        "prompt \"bad\": WAV fmt channels is 3; allowed: 1 (mono) or 2 (stereo)"
    );
    assert_eq!(
        error(&patched(24, &7000u32.to_le_bytes())),
        "prompt \"bad\": WAV fmt sample rate is 7000 Hz; allowed: 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or 48000 Hz"
    );
    assert_eq!(
        error(&patched(34, &12u16.to_le_bytes())),
        "prompt \"bad\": WAV fmt bits per sample is 12 (integer); allowed: 8, 16, 24 or 32-bit integer, or 32-bit float"
    );
    assert_eq!(
        error(&wav(16_000, 1, 16, false)[..40]),
        "prompt \"bad\": not a usable WAV file: no data chunk before the end of the file"
    );
    assert_eq!(
        error(&wav(16_000, 1, 16, false)[..1000]),
        "prompt \"bad\": not a usable WAV file: the data chunk declares 16000 bytes but only 956 follow (truncated file)"
    );
    assert_eq!(
        error(b"RIFF\0\0\0\0AVI LIST"),
        "prompt \"bad\": not a usable WAV file: the file does not start with a RIFF header of form type WAVE"
    );
    let empty = {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = Vec::new();
        hound::WavWriter::new(Cursor::new(&mut bytes), spec)
            .unwrap()
            .finalize()
            .unwrap();
        bytes
    };
    assert_eq!(
        error(&empty),
        "prompt \"bad\": WAV data chunk holds no samples; a prompt needs at least one"
    );
}

#[test]
fn dtmf_prompts_are_cached_per_digit_string() {
    use switchboard_media::dtmf::Digit;
    let mut cache = PromptCache::new().unwrap();
    let digits = Digit::parse_sequence("12#").unwrap();
    let p = cache.dtmf(&digits).unwrap();
    assert_eq!(p.name(), "dtmf:12#");
    assert_eq!(p.frames(), 30, "three 100 ms tones with 100 ms pauses");
    assert!(std::sync::Arc::ptr_eq(&p, &cache.dtmf(&digits).unwrap()));
    assert!(matches!(cache.dtmf(&[]), Err(PromptError::NoDigits)));
}
