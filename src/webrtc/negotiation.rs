//! What Switchboard negotiates with WebRTC peers: one audio m-line, Opus, and RFC 4733
//! telephone-event at 48000 and at 8000.
//!
//! Browsers send telephone-event at the clock rate of the audio codec (48000 with Opus), but
//! gateways and older clients pair Opus with telephone-event/8000; users of other platforms lose
//! digits when only one is offered. str0m answers an offer with the telephone-event rates the
//! peer offered, but its own offers list only the rate matching an audio codec, so
//! [`offer_both_event_rates`] adds the 8000 one to our offers.

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::config::DtlsCert;
use str0m::format::{Codec, FormatParams, PayloadParams};
use str0m::media::{Frequency, MediaKind, Mid, Pt};
use str0m::{Rtc, RtcConfig};

use super::EdgeError;

/// Payload type for Opus; the one browsers use.
pub const OPUS_PT: u8 = 111;
/// Payload type for telephone-event/48000; Chrome's choice.
pub const TELEPHONE_EVENT_48K_PT: u8 = 110;
/// Payload type for telephone-event/8000; Chrome's and most gateways' choice.
pub const TELEPHONE_EVENT_8K_PT: u8 = 126;
/// DTMF events: digits, `*`, `#` and `A`-`D` (RFC 4733 §3.2).
const TELEPHONE_EVENT_RANGE: &str = "0-15";

/// The str0m settings shared by the edge and the test client: Opus and both telephone-event
/// rates, no video, and received audio handed on as it arrives.
pub fn rtc_config(ice_lite: bool, cert: DtlsCert) -> RtcConfig {
    let mut config = Rtc::builder()
        .clear_codecs()
        .set_ice_lite(ice_lite)
        .set_dtls_cert(cert)
        // Hold nothing back: reordering and loss concealment belong to the receiver's jitter
        // buffer, which knows the playout deadline. With 0, str0m hands packets on at once.
        .set_reordering_size_audio(0)
        .set_reordering_timeout_audio(None);
    let codecs = config.codec_config();
    codecs.enable_opus(true, false);
    for (pt, rate) in [
        (TELEPHONE_EVENT_48K_PT, Frequency::FORTY_EIGHT_KHZ),
        (TELEPHONE_EVENT_8K_PT, Frequency::EIGHT_KHZ),
    ] {
        codecs.add_config(
            pt.into(),
            None,
            Codec::Tele,
            rate,
            None,
            FormatParams::parse_line(TELEPHONE_EVENT_RANGE),
        );
    }
    config
}

/// A fresh DTLS certificate. One per edge is enough: the SDP fingerprint binds it to each call,
/// and generating one per call would cost a key generation on the worker thread.
pub fn new_certificate() -> DtlsCert {
    str0m::crypto::from_feature_flags()
        .dtls_provider
        .generate_certificate()
        // The aws-lc-rs provider always generates certificates; `None` is for providers that
        // cannot, which this build does not include.
        .expect("the aws-lc-rs DTLS provider generates certificates")
}

/// Parses an SDP offer, naming what is wrong.
pub fn parse_offer(sdp: &str) -> Result<SdpOffer, EdgeError> {
    SdpOffer::from_sdp_string(sdp).map_err(|e| EdgeError::InvalidSdp {
        kind: "offer",
        reason: e.to_string(),
    })
}

/// Parses an SDP answer, naming what is wrong.
pub fn parse_answer(sdp: &str) -> Result<SdpAnswer, EdgeError> {
    SdpAnswer::from_sdp_string(sdp).map_err(|e| EdgeError::InvalidSdp {
        kind: "answer",
        reason: e.to_string(),
    })
}

/// Adds telephone-event/8000 to the audio m-line of an offer str0m made (see the module doc).
/// The payload type is configured in [`rtc_config`], so an answer that picks it is accepted.
pub fn offer_both_event_rates(offer: SdpOffer) -> Result<SdpOffer, EdgeError> {
    let sdp = offer.to_sdp_string();
    let rtpmap_8k = format!("a=rtpmap:{TELEPHONE_EVENT_8K_PT} telephone-event/8000");
    if sdp.contains(&rtpmap_8k) {
        return Ok(offer);
    }
    let rtpmap_48k = format!("a=rtpmap:{TELEPHONE_EVENT_48K_PT} telephone-event/48000");
    let mut out = String::with_capacity(sdp.len() + 96);
    let mut in_audio = false;
    for line in sdp.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("m=") {
            in_audio = rest.starts_with("audio ");
            if in_audio {
                out.push_str(line);
                out.push(' ');
                out.push_str(&TELEPHONE_EVENT_8K_PT.to_string());
                out.push_str("\r\n");
                continue;
            }
        }
        out.push_str(line);
        out.push_str("\r\n");
        if in_audio && line == rtpmap_48k {
            out.push_str(&rtpmap_8k);
            out.push_str("\r\n");
            out.push_str(&format!(
                "a=fmtp:{TELEPHONE_EVENT_8K_PT} {TELEPHONE_EVENT_RANGE}\r\n"
            ));
        }
    }
    SdpOffer::from_sdp_string(&out).map_err(|e| EdgeError::Negotiation {
        kind: "offer",
        reason: format!("adding telephone-event/8000 made an invalid offer: {e}"),
    })
}

/// The negotiated audio of a peer: its m-line and the Opus payload type to send with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// The audio m-line.
    pub mid: Mid,
    /// Payload type of Opus as negotiated.
    pub opus_pt: Pt,
}

/// Finds the audio m-line and its Opus payload type once negotiation is done.
pub fn negotiated_audio(rtc: &mut Rtc, mid: Option<Mid>) -> Option<NegotiatedAudio> {
    let mid = mid?;
    let writer = rtc.writer(mid)?;
    let opus_pt = writer
        .payload_params()
        .find(|p: &&PayloadParams| p.spec().codec == Codec::Opus)?
        .pt();
    Some(NegotiatedAudio { mid, opus_pt })
}

/// The m-line ids of an offer, in order.
pub fn offer_mids(offer: &SdpOffer) -> Vec<Mid> {
    offer.media_lines.iter().map(|line| line.mid()).collect()
}

/// The first of `mids` that is audio in the session, once the offer has been accepted. (str0m
/// announces remote media with an event only after DTLS, later than the answer needs it.)
pub fn first_audio_mid(rtc: &Rtc, mids: &[Mid]) -> Option<Mid> {
    mids.iter().copied().find(|mid| {
        rtc.media(*mid)
            .is_some_and(|media| media.kind() == MediaKind::Audio)
    })
}
