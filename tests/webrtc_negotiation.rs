//! What the edge negotiates, without sockets: answers to real and hand-made offers, its own
//! offers, and precise errors for SDP it cannot use.

use std::time::Instant;

use switchboard::webrtc::client::WebRtcClient;
use switchboard::webrtc::{EdgeConfig, EdgeError, WebRtcEdge};

/// An offer captured from Debian's Chromium 156 (audio only, no candidates: gathering was not
/// awaited, which an ICE-lite server does not need).
const CHROMIUM_OFFER: &str = include_str!("../fixtures/sdp/chromium-156-audio-offer.sdp");

fn edge() -> WebRtcEdge {
    let candidates = vec!["192.0.2.10:40000".parse().unwrap()];
    WebRtcEdge::new(EdgeConfig::default(), candidates).unwrap()
}

fn rtpmaps(sdp: &str) -> Vec<&str> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .collect()
}

#[test]
fn answers_chromium_with_opus_and_telephone_event_48000() {
    let mut edge = edge();
    let (_, answer) = edge.accept_offer(Instant::now(), CHROMIUM_OFFER).unwrap();
    let maps = rtpmaps(&answer);
    assert!(maps.contains(&"111 opus/48000/2"), "{maps:?}");
    assert!(maps.contains(&"110 telephone-event/48000"), "{maps:?}");
    // Offered both rates, the edge keeps Opus's: Chromium sends broken reports at 8000.
    assert!(
        !maps.iter().any(|m| m.contains("telephone-event/8000")),
        "{maps:?}"
    );
    assert!(
        !maps
            .iter()
            .any(|m| m.contains("PCMU") || m.contains("G722") || m.contains("red"))
    );
    assert!(answer.contains("a=ice-lite"));
    assert!(answer.contains("a=candidate:") && answer.contains("192.0.2.10 40000 typ host"));
    assert!(
        answer.contains("a=setup:passive"),
        "the browser (actpass) becomes DTLS client"
    );
}

/// The Chromium offer with the payload types of the m-line replaced by `pts` and the rtpmap
/// lines of the others removed.
fn offer_with(pts: &[&str]) -> String {
    CHROMIUM_OFFER
        .lines()
        .filter_map(|line| {
            if line.starts_with("m=audio ") {
                return Some(format!("m=audio 9 UDP/TLS/RTP/SAVPF {}", pts.join(" ")));
            }
            for prefix in ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"] {
                if let Some(rest) = line.strip_prefix(prefix) {
                    let pt = rest.split([' ', ':']).next().unwrap();
                    if !pts.contains(&pt) {
                        return None;
                    }
                }
            }
            Some(line.to_string())
        })
        .map(|line| line + "\r\n")
        .collect()
}

#[test]
fn a_peer_offering_only_telephone_event_8000_gets_it() {
    let mut edge = edge();
    let (_, answer) = edge
        .accept_offer(Instant::now(), &offer_with(&["111", "126"]))
        .unwrap();
    let maps = rtpmaps(&answer);
    assert!(maps.contains(&"126 telephone-event/8000"), "{maps:?}");
    assert!(
        !maps.iter().any(|m| m.contains("telephone-event/48000")),
        "{maps:?}"
    );
}

#[test]
fn offers_without_opus_or_with_bad_sdp_are_refused_precisely() {
    let mut edge = edge();
    let now = Instant::now();
    let err = edge
        .accept_offer(now, &offer_with(&["0", "8", "126"]))
        .unwrap_err();
    assert!(
        matches!(err, EdgeError::NoUsableAudio { kind: "offer" }),
        "{err:?}"
    );
    assert!(err.to_string().contains("opus/48000/2"), "{err}");

    let err = edge
        .accept_offer(now, "v=0\r\nthis is not sdp")
        .unwrap_err();
    assert!(
        matches!(err, EdgeError::InvalidSdp { kind: "offer", .. }),
        "{err:?}"
    );

    let lite = CHROMIUM_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n");
    let err = edge.accept_offer(now, &lite).unwrap_err();
    assert!(err.to_string().contains("ICE-Lite"), "{err}");

    // Refused offers leave nothing behind, and the next call works.
    assert_eq!(edge.peer_count(), 0);
    let (peer, _) = edge.accept_offer(now, CHROMIUM_OFFER).unwrap();
    assert_eq!(edge.peer_count(), 1);
    assert!(!edge.is_connected(peer));
}

#[test]
fn our_offer_lists_both_telephone_event_rates_and_takes_an_8000_only_answer() {
    let mut edge = edge();
    let now = Instant::now();
    let (peer, offer) = edge.create_offer(now).unwrap();
    let maps = rtpmaps(&offer);
    assert!(maps.contains(&"111 opus/48000/2"), "{maps:?}");
    assert!(maps.contains(&"110 telephone-event/48000"), "{maps:?}");
    assert!(maps.contains(&"126 telephone-event/8000"), "{maps:?}");
    let m_line = offer.lines().find(|l| l.starts_with("m=audio")).unwrap();
    assert!(m_line.ends_with(" 111 110 126"), "{m_line}");
    assert!(offer.contains("a=fmtp:126 0-15"), "{offer}");

    // A gateway-like answer that keeps only telephone-event/8000.
    let mut client =
        WebRtcClient::new(now, "127.0.0.1:0".parse().unwrap(), vec![0; 960], false).unwrap();
    let answer = client.accept_offer(now, &offer).unwrap();
    assert!(
        rtpmaps(&answer).contains(&"126 telephone-event/8000"),
        "{answer}"
    );
    let answer_8k: String = answer
        .lines()
        .map(|l| {
            if l.starts_with("m=audio") {
                l.replace(" 110", "")
            } else {
                l.to_string()
            }
        })
        .filter(|l| !l.starts_with("a=rtpmap:110") && !l.starts_with("a=fmtp:110"))
        .map(|l| l + "\r\n")
        .collect();
    edge.accept_answer(now, peer, &answer_8k).unwrap();
}

#[test]
fn answers_go_to_known_peers_with_a_pending_offer() {
    let mut edge = edge();
    let now = Instant::now();
    let (incoming, answer) = edge.accept_offer(now, CHROMIUM_OFFER).unwrap();
    let err = edge.accept_answer(now, incoming, &answer).unwrap_err();
    assert!(
        matches!(err, EdgeError::NoPendingOffer(p) if p == incoming),
        "{err:?}"
    );

    let (outgoing, _) = edge.create_offer(now).unwrap();
    let err = edge.accept_answer(now, outgoing, "garbage").unwrap_err();
    assert!(
        matches!(err, EdgeError::InvalidSdp { kind: "answer", .. }),
        "{err:?}"
    );
    assert_eq!(
        edge.peer_count(),
        2,
        "a garbled answer keeps the offer waiting"
    );

    edge.close_peer(now, outgoing).unwrap();
    let err = edge.accept_answer(now, outgoing, &answer).unwrap_err();
    assert!(
        matches!(err, EdgeError::UnknownPeer(p) if p == outgoing),
        "{err:?}"
    );
    assert!(err.to_string().contains("not a peer of this edge"), "{err}");
    // Slots are reused but ids are not.
    let (reused, _) = edge.create_offer(now).unwrap();
    assert_ne!(reused, outgoing);
    assert!(
        edge.write_audio(now, outgoing, 0, false, &[1u8, 2, 3][..])
            .is_err()
    );
    let err = edge
        .write_audio(now, reused, 0, false, &[1u8, 2, 3][..])
        .unwrap_err();
    assert!(matches!(err, EdgeError::NotNegotiated(_)), "{err:?}");
}
