//! Opus through libopus (the `opus` crate), with the encoder settings pinned in one place.
//!
//! Every encoder in Switchboard is built by [`new_encoder`] so that prompts, tones and live mixes
//! sound alike and cost the same: leaving signal type or bandwidth on automatic lets libopus switch
//! modes mid-call, which makes quality and CPU cost jump.

use crate::frame::{
    FRAME_SAMPLES, Frame, MAX_PAYLOAD, RTP_CLOCK, RTP_TICKS_PER_FRAME, SAMPLE_RATE,
};
use opus::{Application, Bandwidth, Bitrate, Channels, Signal};

/// Which of libopus' coding modes an encoder is locked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderMode {
    /// `OPUS_APPLICATION_VOIP`: SILK, the best quality per bit for speech, with in-band FEC.
    Voice,
    /// `OPUS_APPLICATION_RESTRICTED_LOWDELAY`: CELT only, about 2.5× cheaper to encode than SILK
    /// at low complexity and 4 ms less algorithmic delay; no FEC.
    LowDelay,
}

/// The pinned settings of an Opus encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderSettings {
    /// SILK for speech with FEC (`Voice`), or CELT only for cheap low-delay encodes (`LowDelay`).
    pub mode: EncoderMode,
    /// libopus complexity, 0 (cheapest) to 10 (best).
    pub complexity: i32,
    /// Target bitrate in bit/s.
    pub bitrate: i32,
}

/// Prompts and tones: encoded once and replayed to every call, so spend the CPU on quality.
///
/// VoIP application, voice signal, wideband, 24 kbit/s constrained VBR, complexity 10, in-band
/// FEC on (tuned for 5 % loss) so a receiver can rebuild a lost prompt packet from the next one.
pub const PROMPT_ENCODER: EncoderSettings = EncoderSettings {
    mode: EncoderMode::Voice,
    complexity: 10,
    bitrate: 24_000,
};

/// Live audio (mixes, generated speech): encoded every 20 ms per distinct mix, so it must be cheap.
///
/// CELT only (restricted low delay), voice signal, wideband, 32 kbit/s, complexity 0. Measured in
/// one run against a libopus decode to 16 kHz: SILK (VoIP) at complexity 0 costs 3.5–3.8× the
/// decode, CELT at complexity 0 1.5×, which is what keeps decode + encode inside the 50 µs
/// live-encode budget. CELT needs the extra 8 kbit/s to match SILK's speech quality at 24. (SILK
/// would not carry FEC here anyway: libopus 1.5 codes LBRR only from complexity 8 up — measured:
/// none at 0–7, 43 of 50 voice frames at 8–10.)
pub const LIVE_ENCODER: EncoderSettings = EncoderSettings {
    mode: EncoderMode::LowDelay,
    complexity: 0,
    bitrate: 32_000,
};

/// The packet loss the encoders plan their in-band FEC for, in percent.
const EXPECTED_LOSS_PERCENT: i32 = 5;

/// An Opus call failed; `what` names the call and its purpose.
#[derive(Debug, thiserror::Error)]
#[error("libopus {what} failed: {source}")]
pub struct CodecError {
    /// What Switchboard was doing.
    pub what: &'static str,
    /// libopus' own error.
    #[source]
    pub source: opus::Error,
}

fn ctx(what: &'static str) -> impl FnOnce(opus::Error) -> CodecError {
    move |source| CodecError { what, source }
}

/// A 16 kHz mono encoder with Switchboard's pinned settings (see [`EncoderSettings`]).
pub fn new_encoder(settings: EncoderSettings) -> Result<opus::Encoder, CodecError> {
    let application = match settings.mode {
        EncoderMode::Voice => Application::Voip,
        EncoderMode::LowDelay => Application::LowDelay,
    };
    let mut enc = opus::Encoder::new(SAMPLE_RATE, Channels::Mono, application)
        .map_err(ctx("encoder create (16 kHz mono)"))?;
    enc.set_signal(Signal::Voice)
        .map_err(ctx("set signal voice"))?;
    enc.set_bandwidth(Bandwidth::Wideband)
        .map_err(ctx("set bandwidth wideband"))?;
    enc.set_max_bandwidth(Bandwidth::Wideband)
        .map_err(ctx("set max bandwidth wideband"))?;
    enc.set_bitrate(Bitrate::Bits(settings.bitrate))
        .map_err(ctx("set bitrate"))?;
    enc.set_complexity(settings.complexity)
        .map_err(ctx("set complexity"))?;
    enc.set_inband_fec(true)
        .map_err(ctx("enable in-band FEC"))?;
    enc.set_packet_loss_perc(EXPECTED_LOSS_PERCENT)
        .map_err(ctx("set expected packet loss"))?;
    enc.set_dtx(false).map_err(ctx("disable DTX"))?;
    Ok(enc)
}

/// Encodes one frame into `out`, returning the payload length. Allocation-free.
pub fn encode_frame(
    enc: &mut opus::Encoder,
    pcm: &Frame,
    out: &mut [u8; MAX_PAYLOAD],
) -> Result<usize, CodecError> {
    enc.encode(pcm, out).map_err(ctx("encode 20 ms frame"))
}

/// What a received payload looks like before it is buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadCheck {
    /// A well-formed 20 ms Opus packet.
    Frame,
    /// Not a valid Opus packet (bad TOC byte or frame lengths), empty, or too large.
    Garbage,
    /// A valid Opus packet of another duration than 20 ms (we negotiate ptime 20).
    WrongDuration,
}

/// Checks a payload's framing without decoding it: libopus parses only the TOC byte and frame
/// lengths, so this is cheap enough to run on every arriving packet.
pub fn check_payload(payload: &[u8]) -> PayloadCheck {
    if payload.is_empty() || payload.len() > MAX_PAYLOAD {
        return PayloadCheck::Garbage;
    }
    match opus::packet::get_nb_samples(payload, RTP_CLOCK) {
        Ok(n) if n == RTP_TICKS_PER_FRAME as usize => match opus::packet::get_nb_frames(payload) {
            Ok(_) => PayloadCheck::Frame,
            Err(_) => PayloadCheck::Garbage,
        },
        Ok(_) => PayloadCheck::WrongDuration,
        Err(_) => PayloadCheck::Garbage,
    }
}

/// Whether a packet carries in-band FEC (LBRR) data for the packet before it.
pub fn has_fec(payload: &[u8]) -> bool {
    let Ok(len) = i32::try_from(payload.len()) else {
        return false;
    };
    // SAFETY: the pointer and length describe a live, initialised slice; libopus only reads
    // `len` bytes from it and keeps no reference after returning.
    unsafe { opusic_sys::opus_packet_has_lbrr(payload.as_ptr(), len) == 1 }
}

/// Bytes libopus allocates (with C `malloc`, outside Rust's allocator) for one mono decoder.
pub fn decoder_state_bytes() -> usize {
    // SAFETY: a pure size query with a valid channel count.
    usize::try_from(unsafe { opusic_sys::opus_decoder_get_size(1) }).unwrap_or(0)
}

/// Bytes libopus allocates (with C `malloc`, outside Rust's allocator) for one mono encoder.
pub fn encoder_state_bytes() -> usize {
    // SAFETY: a pure size query with a valid channel count.
    usize::try_from(unsafe { opusic_sys::opus_encoder_get_size(1) }).unwrap_or(0)
}

/// How a frame was produced by [`FrameDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Decoded from its own packet.
    Packet,
    /// Rebuilt from the next packet's in-band FEC.
    Fec,
    /// Invented by packet-loss concealment.
    Concealed,
}

/// A decoder that turns Opus payloads straight into 16 kHz frames, never resampling.
pub struct FrameDecoder {
    decoder: opus::Decoder,
}

impl FrameDecoder {
    /// A fresh mono decoder running at 16 kHz.
    pub fn new() -> Result<FrameDecoder, CodecError> {
        let decoder = opus::Decoder::new(SAMPLE_RATE, Channels::Mono)
            .map_err(ctx("decoder create (16 kHz mono)"))?;
        Ok(FrameDecoder { decoder })
    }

    /// Decodes a packet; a packet libopus rejects is concealed instead and reported as `Err`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Frame) -> Result<Decoded, Decoded> {
        match self.decoder.decode(payload, out, false) {
            Ok(n) if n == FRAME_SAMPLES => Ok(Decoded::Packet),
            _ => Err(self.conceal(out)),
        }
    }

    /// Rebuilds the frame before `next` from `next`'s FEC data; conceals if there is none.
    pub fn recover(&mut self, next: &[u8], out: &mut Frame) -> Decoded {
        if !has_fec(next) {
            return self.conceal(out);
        }
        match self.decoder.decode(next, out, true) {
            Ok(n) if n == FRAME_SAMPLES => Decoded::Fec,
            _ => self.conceal(out),
        }
    }

    /// Fills one frame by packet-loss concealment (libopus fades towards silence over a few frames).
    pub fn conceal(&mut self, out: &mut Frame) -> Decoded {
        if !matches!(self.decoder.decode(&[], out, false), Ok(n) if n == FRAME_SAMPLES) {
            out.fill(0);
        }
        Decoded::Concealed
    }

    /// Forgets the stream, for a new source on the same leg.
    pub fn reset(&mut self) {
        // A reset cannot fail on a valid decoder; if it did, the old state only colours one frame.
        let _ = self.decoder.reset_state();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voiced-sounding frame: a 150 Hz fundamental under amplitude-modulated noise. SILK only
    /// codes FEC for frames its voice-activity detector calls speech.
    fn tone_frame(n: usize) -> Frame {
        let mut f = [0i16; FRAME_SAMPLES];
        let mut seed = 0x9e37_79b9u32 ^ n as u32;
        for (i, s) in f.iter_mut().enumerate() {
            let t = (n * FRAME_SAMPLES + i) as f32 / SAMPLE_RATE as f32;
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed % 2000) as f32 - 1000.0;
            let w = 2.0 * std::f32::consts::PI * t;
            *s = (3.0 * noise * (1.0 + (4.0 * w).sin()) + 4000.0 * (150.0 * w).sin()) as i16;
        }
        f
    }

    #[test]
    fn pinned_encoder_produces_20ms_wideband_packets_that_decode_to_320_samples() {
        let mut enc = new_encoder(PROMPT_ENCODER).unwrap();
        let mut dec = FrameDecoder::new().unwrap();
        let mut buf = [0u8; MAX_PAYLOAD];
        let mut out = [0i16; FRAME_SAMPLES];
        for n in 0..10 {
            let len = encode_frame(&mut enc, &tone_frame(n), &mut buf).unwrap();
            assert_eq!(check_payload(&buf[..len]), PayloadCheck::Frame);
            assert_eq!(
                opus::packet::get_bandwidth(&buf[..len]).unwrap(),
                Bandwidth::Wideband
            );
            assert_eq!(dec.decode(&buf[..len], &mut out), Ok(Decoded::Packet));
        }
        assert!(
            out.iter().any(|&s| s.abs() > 1000),
            "the tone survives the codec"
        );
    }

    #[test]
    fn garbage_and_wrong_durations_are_told_apart() {
        assert_eq!(check_payload(&[]), PayloadCheck::Garbage);
        assert_eq!(
            check_payload(&[0u8; MAX_PAYLOAD + 1]),
            PayloadCheck::Garbage
        );
        // TOC code 3 (arbitrary frame count) with a missing count byte is malformed.
        assert_eq!(check_payload(&[0x03]), PayloadCheck::Garbage);
        // Config 1 = SILK NB 20 ms, code 0: one 20 ms frame.
        assert_eq!(check_payload(&[1 << 3, 0, 0]), PayloadCheck::Frame);
        // Config 0 = SILK NB 10 ms.
        assert_eq!(check_payload(&[0, 0, 0]), PayloadCheck::WrongDuration);
    }

    #[test]
    fn fec_rebuilds_a_lost_frame_when_the_next_packet_carries_it() {
        let mut enc = new_encoder(PROMPT_ENCODER).unwrap();
        let mut buf = [0u8; MAX_PAYLOAD];
        let mut packets = Vec::new();
        for n in 0..20 {
            let len = encode_frame(&mut enc, &tone_frame(n), &mut buf).unwrap();
            packets.push(buf[..len].to_vec());
        }
        assert!(
            has_fec(&packets[10]),
            "voice at 24 kbit/s, 5 % loss, complexity 10 carries LBRR"
        );
        let mut dec = FrameDecoder::new().unwrap();
        let mut out = [0i16; FRAME_SAMPLES];
        for p in &packets[..9] {
            dec.decode(p, &mut out).unwrap();
        }
        assert_eq!(dec.recover(&packets[10], &mut out), Decoded::Fec);
        assert!(!has_fec(&[1 << 3, 0, 0]));
    }
}
