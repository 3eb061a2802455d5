//! The wire format: headers round-trip byte for byte, every malformed message is named, and no
//! input makes the parsers panic.

use serde_json::json;

use super::*;
use crate::media_plane::app_stream::{FLAG_DISCONTINUITY, FLAG_SILENCE, FLAG_UNMIXED};

const MAX: usize = 1024;

fn bot_message(header: [u8; HEADER_BYTES], pcm: &[u8]) -> Vec<u8> {
    let mut message = header.to_vec();
    message.extend_from_slice(pcm);
    message
}

fn header(flags: u8, source_id: u32) -> [u8; HEADER_BYTES] {
    AudioHeader {
        flags,
        source_id,
        seq: 7,
        timestamp: 9,
    }
    .to_bytes()
}

#[test]
fn a_header_round_trips_and_is_little_endian_bbhiiq() {
    let sent = AudioHeader {
        flags: FLAG_UNMIXED | FLAG_DISCONTINUITY,
        source_id: 0x0102_0304,
        seq: 0x0a0b_0c0d,
        timestamp: 0x1122_3344_5566_7788,
    };
    let bytes = sent.to_bytes();
    assert_eq!(
        bytes,
        [
            1, 6, 0, 0, 0x04, 0x03, 0x02, 0x01, 0x0d, 0x0c, 0x0b, 0x0a, 0x88, 0x77, 0x66, 0x55,
            0x44, 0x33, 0x22, 0x11
        ]
    );
    assert_eq!(AudioHeader::parse(&bytes), Ok(sent));
}

#[test]
fn a_server_frame_is_the_header_and_exactly_640_bytes_of_s16le() {
    let mut pcm = [0i16; FRAME_SAMPLES];
    pcm[0] = -2;
    pcm[319] = 0x1234;
    let header = AudioHeader {
        flags: FLAG_SILENCE,
        source_id: 0,
        seq: 1,
        timestamp: 200_000,
    };
    let message = audio_message(header, &pcm);
    assert_eq!(message.len(), SERVER_AUDIO_BYTES);
    assert_eq!(message.len(), 660);
    assert_eq!(AudioHeader::parse(&message), Ok(header));
    assert_eq!(&message[20..22], &[0xfe, 0xff]);
    assert_eq!(&message[658..660], &[0x34, 0x12]);
}

#[test]
fn bot_audio_of_any_even_length_is_accepted() {
    let pcm = [1u8, 0, 2, 0, 3, 0];
    assert_eq!(
        bot_audio(&bot_message(header(0, 0), &pcm), MAX),
        Ok(&pcm[..])
    );
    assert_eq!(bot_audio(&bot_message(header(0, 0), &[]), MAX), Ok(&[][..]));
    let silence = bot_message(header(FLAG_SILENCE | FLAG_DISCONTINUITY, 0), &pcm);
    assert!(bot_audio(&silence, MAX).is_ok());
    let largest = bot_message(header(0, 0), &vec![0; MAX - HEADER_BYTES]);
    assert!(bot_audio(&largest, MAX).is_ok());
}

#[test]
fn every_malformed_audio_message_is_named_with_what_is_allowed() {
    let cases: Vec<(Vec<u8>, BadMessage, &str)> = vec![
        (
            vec![1, 0, 0],
            BadMessage::ShortHeader { bytes: 3 },
            "shorter than the 20-byte audio header; allowed: a 20-byte header",
        ),
        (
            {
                let mut h = header(0, 0);
                h[0] = 2;
                h.to_vec()
            },
            BadMessage::UnknownKind { kind: 2 },
            "kind is 2; allowed: 1 (audio)",
        ),
        (
            {
                let mut h = header(0, 0);
                h[2] = 1;
                h.to_vec()
            },
            BadMessage::Reserved { value: 1 },
            "reserved field is 1; allowed: 0",
        ),
        (
            bot_message(header(0, 5), &[0, 0]),
            BadMessage::SourceId { source_id: 5 },
            "sourceId is 5; allowed: 0",
        ),
        (
            bot_message(header(FLAG_UNMIXED, 0), &[0, 0]),
            BadMessage::Flags { flags: 2 },
            "flags are 0x02; allowed: 0, silence (0x01), discontinuity (0x04)",
        ),
        (
            bot_message(header(0, 0), &[0, 0, 0]),
            BadMessage::OddLength { bytes: 3 },
            "3 bytes, an odd number; allowed: whole 16-bit samples",
        ),
        (
            bot_message(header(0, 0), &vec![0; MAX]),
            BadMessage::TooBig {
                bytes: MAX + 20,
                max: MAX,
            },
            "1044 bytes; allowed: at most 1024 bytes (media.app_hosted.max_message_bytes), so \
             audio of up to 1004 bytes",
        ),
    ];
    for (message, expected, words) in cases {
        let error = bot_audio(&message, MAX).unwrap_err();
        assert_eq!(error, expected);
        assert!(error.to_string().contains(words), "{error}");
    }
}

#[test]
fn control_messages_are_read_and_unknown_fields_ignored() {
    assert_eq!(
        bot_control(r#"{"type":"mark","name":"greeting","extra":1}"#, MAX),
        Ok(BotControl::Mark {
            name: "greeting".into()
        })
    );
    assert_eq!(
        bot_control(r#"{"type":"clear"}"#, MAX),
        Ok(BotControl::Clear)
    );
    assert_eq!(bot_control(r#"{"type":"stop"}"#, MAX), Ok(BotControl::Stop));
}

#[test]
fn every_malformed_control_message_is_named_with_what_is_allowed() {
    let long_name = format!(r#"{{"type":"mark","name":"{}"}}"#, "n".repeat(300));
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "not a JSON object (expected"),
        ("[1,2]".into(), "not a JSON object (not an object)"),
        (r#"{"name":"x"}"#.into(), "without a string \"type\""),
        (r#"{"type":3}"#.into(), "without a string \"type\""),
        (
            r#"{"type":"play"}"#.into(),
            "type 'play'; allowed: {\"type\": \"mark\"",
        ),
        (
            r#"{"type":"mark"}"#.into(),
            "name is nothing; allowed: a string",
        ),
        (r#"{"type":"mark","name":5}"#.into(), "name is a number"),
        (
            long_name,
            "name is 300 bytes; allowed: a string of at most 256",
        ),
        (
            format!(r#"{{"type":"clear","pad":"{}"}}"#, "x".repeat(MAX)),
            "allowed: at most 1024 bytes",
        ),
    ];
    for (text, words) in cases {
        let error = bot_control(&text, MAX).unwrap_err();
        assert!(error.to_string().contains(words), "{text}: {error}");
    }
    let long_type = format!(r#"{{"type":"{}"}}"#, "t".repeat(100));
    let error = bot_control(&long_type, MAX).unwrap_err();
    assert!(
        matches!(&error, BadMessage::UnknownType { kind } if kind.chars().count() == 65),
        "{error:?}"
    );
}

#[test]
fn server_messages_have_their_documented_json() {
    let participant = WireParticipant {
        id: "p1".into(),
        source_id: 3,
        identity: None,
    };
    let start = ServerMessage::Start {
        call_id: "c1".into(),
        stream_id: "s1".into(),
        media_format: MEDIA_FORMAT,
        directions: "sendrecv",
        receive_mixed_audio: true,
        receive_unmixed_meeting_audio: false,
        participants: vec![participant.clone()],
        resumed: false,
    };
    let value: serde_json::Value = serde_json::from_str(&start.to_json()).unwrap();
    assert_eq!(
        value,
        json!({"type": "start", "callId": "c1", "streamId": "s1",
            "mediaFormat": {"encoding": "pcm_s16le", "sampleRate": 16000, "channels": 1, "frameMs": 20},
            "directions": "sendrecv", "receiveMixedAudio": true, "receiveUnmixedMeetingAudio": false,
            "participants": [{"id": "p1", "sourceId": 3, "identity": null}], "resumed": false})
    );
    let cases = [
        (
            ServerMessage::ParticipantsUpdated {
                participants: vec![participant],
            },
            json!({"type": "participantsUpdated", "participants": [{"id": "p1", "sourceId": 3, "identity": null}]}),
        ),
        (
            ServerMessage::ActiveSpeakers {
                timestamp: 400_000,
                source_ids: vec![3, 4],
            },
            json!({"type": "activeSpeakers", "timestamp": 400000, "sourceIds": [3, 4]}),
        ),
        (
            ServerMessage::DominantSpeakerChanged {
                current: 4,
                previous: 0,
            },
            json!({"type": "dominantSpeakerChanged", "current": 4, "previous": 0}),
        ),
        (
            ServerMessage::Dtmf {
                digit: "#".into(),
                source_id: 3,
                timestamp: 1,
            },
            json!({"type": "dtmf", "digit": "#", "sourceId": 3, "timestamp": 1}),
        ),
        (
            ServerMessage::MarkPlayed { name: "m".into() },
            json!({"type": "markPlayed", "name": "m"}),
        ),
        (
            ServerMessage::Cleared {
                marks: vec!["a".into()],
            },
            json!({"type": "cleared", "marks": ["a"]}),
        ),
        (
            ServerMessage::FlowControl {
                state: FlowState::Pause,
                buffered_ms: 2020,
            },
            json!({"type": "flowControl", "state": "pause", "bufferedMs": 2020}),
        ),
        (
            ServerMessage::Warning {
                code: WarningCode::FramesDropped,
                count: Some(3),
                message: "m".into(),
            },
            json!({"type": "warning", "code": "framesDropped", "count": 3, "message": "m"}),
        ),
        (
            ServerMessage::Warning {
                code: WarningCode::BadMessage,
                count: None,
                message: "m".into(),
            },
            json!({"type": "warning", "code": "badMessage", "message": "m"}),
        ),
        (
            ServerMessage::Stop {
                reason: "callEnded".into(),
            },
            json!({"type": "stop", "reason": "callEnded"}),
        ),
    ];
    for (message, expected) in cases {
        let value: serde_json::Value = serde_json::from_str(&message.to_json()).unwrap();
        assert_eq!(value, expected);
    }
}

/// A small deterministic generator (xorshift), so the fuzz loop needs no extra crate.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn no_input_makes_the_parsers_panic() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let words: [&[u8]; 8] = [
        b"{",
        b"}",
        b"\"type\"",
        b":",
        b"\"mark\"",
        b"\"name\"",
        b",",
        b"\xff",
    ];
    for _ in 0..20_000 {
        let len = (noise.next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| noise.next() as u8).collect();
        if noise.next().is_multiple_of(2) {
            bytes[..len.min(2)].copy_from_slice(&[1, 0][..len.min(2)]);
        }
        let _ = bot_audio(&bytes, 48);
        let mut text = Vec::new();
        for _ in 0..(noise.next() % 12) {
            text.extend_from_slice(words[(noise.next() % 8) as usize]);
        }
        let _ = bot_control(&String::from_utf8_lossy(&text), 48);
        let _ = bot_control(&String::from_utf8_lossy(&bytes), 48);
    }
}
