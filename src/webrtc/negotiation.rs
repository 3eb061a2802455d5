//! What Switchboard negotiates with WebRTC peers: one audio m-line, Opus, and RFC 4733
//! telephone-event at 48000 and at 8000.
//!
//! Which telephone-event rate to use with Opus matters, because peers get it wrong:
//!
//! - Chromium, given both rates in an answer, sends its digits at telephone-event/8000 while
//!   counting durations on the 48 kHz audio clock: each key arrives as three end reports only,
//!   with a wrong duration (seen with Chromium 156, `tests/webrtc_browser.rs`). So when an offer
//!   has both, [`prefer_event_rate_of_opus`] keeps 48000 only, and browsers send proper reports.
//! - Gateways and older clients pair Opus with telephone-event/8000 only; that is answered as is.
//! - Our own offers list both rates ([`offer_both_event_rates`]): str0m alone would list only
//!   the rate of an audio codec, and a peer that only knows 8000 (Firefox offers only 8000)
//!   would then send no digits at all. The price: Chromium, answering with both, sends at 8000
//!   as above. Its digits still arrive once each (its reports of one key share a timestamp),
//!   only their durations are wrong, so keys work with every browser.

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

/// Removes the other telephone-event rates from an offer's audio m-lines that carry Opus and
/// telephone-event/48000 (see the module documentation); other offers are returned unchanged.
pub fn prefer_event_rate_of_opus(offer_sdp: &str) -> std::borrow::Cow<'_, str> {
    let lines: Vec<&str> = offer_sdp.lines().collect();
    let mut drop_pts: Vec<(usize, String)> = Vec::new();
    // Each m-line section runs to the next "m=" line.
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("m="))
        .collect();
    for (n, &start) in starts.iter().enumerate() {
        if !lines[start].starts_with("m=audio ") {
            continue;
        }
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let section = &lines[start..end];
        let rtpmap = |pt_and_codec: &str| {
            section.iter().find_map(|l| {
                let rest = l.strip_prefix("a=rtpmap:")?;
                let (pt, codec) = rest.split_once(' ')?;
                codec
                    .to_ascii_lowercase()
                    .starts_with(pt_and_codec)
                    .then(|| pt.to_string())
            })
        };
        if rtpmap("opus/48000").is_none() || rtpmap("telephone-event/48000").is_none() {
            continue;
        }
        for l in section {
            if let Some((pt, codec)) = l.strip_prefix("a=rtpmap:").and_then(|r| r.split_once(' ')) {
                let codec = codec.to_ascii_lowercase();
                if codec.starts_with("telephone-event/")
                    && !codec.starts_with("telephone-event/48000")
                {
                    drop_pts.push((start, pt.to_string()));
                }
            }
        }
    }
    if drop_pts.is_empty() {
        return std::borrow::Cow::Borrowed(offer_sdp);
    }
    let mut out = String::with_capacity(offer_sdp.len());
    let mut section_start = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("m=") {
            section_start = i;
        }
        let dropped = |pt: &str| drop_pts.iter().any(|(s, p)| *s == section_start && p == pt);
        if i == section_start && line.starts_with("m=audio ") {
            let kept: Vec<&str> = line
                .split(' ')
                .enumerate()
                .filter(|(k, part)| *k < 3 || !dropped(part))
                .map(|(_, part)| part)
                .collect();
            out.push_str(&kept.join(" "));
            out.push_str("\r\n");
            continue;
        }
        let attribute_pt = ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"]
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix))
            .and_then(|rest| rest.split([' ', ':']).next());
        if attribute_pt.is_some_and(dropped) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111 0 110 126\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
        a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n\
        a=fmtp:126 0-15\r\n";

    #[test]
    fn an_opus_offer_with_both_event_rates_keeps_48000() {
        let out = prefer_event_rate_of_opus(BOTH);
        assert!(
            out.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111 0 110\r\n"),
            "{out}"
        );
        assert!(out.contains("a=rtpmap:110 telephone-event/48000"), "{out}");
        assert!(!out.contains("126"), "{out}");
        assert!(
            out.contains("a=rtpmap:0 PCMU/8000"),
            "other codecs stay: {out}"
        );
    }

    #[test]
    fn offers_with_one_event_rate_are_left_alone() {
        let only_8k = BOTH
            .replace(" 110 126", " 126")
            .replace("a=rtpmap:110 telephone-event/48000\r\n", "");
        assert!(matches!(
            prefer_event_rate_of_opus(&only_8k),
            std::borrow::Cow::Borrowed(_)
        ));
        let no_opus = BOTH.replace("opus/48000/2", "G722/8000");
        assert!(matches!(
            prefer_event_rate_of_opus(&no_opus),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
