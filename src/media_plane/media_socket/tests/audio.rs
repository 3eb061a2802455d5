//! Audio both ways: frames toward the bot numbered and flagged exactly, losses warned at most
//! once a second; the bot's audio re-framed, played one frame per tick, marked, cleared, paced
//! by flow control and bounded.

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::media_plane::app_stream::{FLAG_DISCONTINUITY, FLAG_SILENCE};
use crate::media_plane::media_socket::protocol::AudioHeader;

#[tokio::test]
async fn frames_toward_the_bot_carry_exact_seqs_timestamps_flags_and_audio() {
    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    rig.send(MIXED_SOURCE, 10, 5);
    rig.send(7, 10, -3);
    rig.stream.send_frame(StreamFrame {
        source_id: MIXED_SOURCE,
        flags: FLAG_SILENCE,
        timestamp: 11 * TIMESTAMP_STEP,
        pcm: [0; FRAME_SAMPLES],
    });
    rig.send(7, 11, 300);
    let expected = [
        (0, MIXED_SOURCE, 0, 10, 5),
        (FLAG_UNMIXED, 7, 0, 10, -3),
        (FLAG_SILENCE, MIXED_SOURCE, 1, 11, 0),
        (FLAG_UNMIXED, 7, 1, 11, 300),
    ];
    for (flags, source_id, seq, tick, fill) in expected {
        let (header, pcm) = bot.frame().await;
        assert_eq!(
            header,
            AudioHeader {
                flags,
                source_id,
                seq,
                timestamp: tick * TIMESTAMP_STEP
            }
        );
        assert_eq!(pcm, vec![fill; FRAME_SAMPLES]);
    }
}

#[tokio::test]
async fn a_slow_bot_loses_the_oldest_frames_flagged_and_warned_at_most_once_a_second() {
    // Room for 5 frames toward the bot (100 ms of the mix alone).
    let rig = Rig::start(|setup| {
        setup.socket.unmixed = false;
        setup.settings.send_queue_ms = 100;
    })
    .await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    rig.send(MIXED_SOURCE, 0, 0);
    assert_eq!(bot.frame().await.0.seq, 0);
    // Eight ticks before the socket task runs again (this runtime has one thread): the lane
    // keeps the newest five.
    for tick in 1..=8 {
        rig.send(MIXED_SOURCE, tick, tick as i16);
    }
    let (header, pcm) = bot.frame().await;
    assert_eq!(
        (header.seq, header.timestamp, header.flags, pcm[0]),
        (1, 4 * TIMESTAMP_STEP, FLAG_DISCONTINUITY, 4)
    );
    for tick in 5..=8 {
        let (header, _) = bot.frame().await;
        assert_eq!((header.seq, header.flags), (tick as u32 - 3, 0));
    }
    let warning = bot.json_of("warning").await;
    let first_warning = Instant::now();
    assert_eq!(warning["code"], "framesDropped");
    assert_eq!(warning["count"], 3);
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("media.app_hosted.send_queue_ms")
    );

    for tick in 9..=16 {
        rig.send(MIXED_SOURCE, tick, 0);
    }
    assert_eq!(bot.frame().await.0.flags, FLAG_DISCONTINUITY);
    let warning = bot.json_of("warning").await;
    assert!(
        first_warning.elapsed() >= Duration::from_millis(900),
        "the second warning waits out the second: {:?}",
        first_warning.elapsed()
    );
    assert_eq!(
        (warning["code"].as_str(), warning["count"].as_u64()),
        (Some("framesDropped"), Some(3))
    );
}

#[tokio::test]
async fn one_big_message_is_cut_into_exact_frames_and_marks_follow_playout() {
    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    let first = ramp(0, 50 * FRAME_SAMPLES + 160);
    bot.send_audio(&first).await;
    bot.send_json(json!({"type": "mark", "name": "a"})).await;
    let second = ramp(20_000, 10 * FRAME_SAMPLES);
    bot.send_audio(&second).await;
    bot.send_json(json!({"type": "mark", "name": "b"})).await;

    let played = rig.play(50).await;
    for (n, frame) in played.iter().enumerate() {
        assert_eq!(
            frame[..],
            first[n * FRAME_SAMPLES..(n + 1) * FRAME_SAMPLES],
            "frame {n}"
        );
    }
    bot.no_json_for(Duration::from_millis(80), &[]).await;
    let half = rig.play(1).await[0];
    assert_eq!(half[..160], first[50 * FRAME_SAMPLES..]);
    assert_eq!(
        half[160..],
        [0; 160],
        "the part-frame before a mark is padded"
    );
    assert_eq!(bot.json().await, json!({"type": "markPlayed", "name": "a"}));
    let rest = rig.play(10).await;
    assert_eq!(rest.concat(), second);
    assert_eq!(bot.json().await, json!({"type": "markPlayed", "name": "b"}));
    assert!(
        !rig.stream.next_playout(&mut [0; FRAME_SAMPLES]),
        "all played"
    );
}

#[tokio::test]
async fn clear_empties_the_ring_and_names_the_marks_never_played() {
    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    bot.send_json(json!({"type": "mark", "name": "zero"})).await;
    assert_eq!(
        bot.json().await,
        json!({"type": "markPlayed", "name": "zero"}),
        "nothing was queued before it"
    );
    bot.send_audio(&ramp(0, 100 * FRAME_SAMPLES)).await;
    bot.send_json(json!({"type": "mark", "name": "x"})).await;
    bot.send_audio(&ramp(0, 10 * FRAME_SAMPLES)).await;
    bot.send_json(json!({"type": "mark", "name": "y"})).await;
    rig.ring_holds(5).await;
    rig.play(2).await;
    bot.send_json(json!({"type": "clear"})).await;
    // 2.2 s were buffered: the bot was asked to pause, and may resume once they are gone.
    assert_eq!(bot.json_of("flowControl").await["state"], "pause");
    assert_eq!(
        bot.json().await,
        json!({"type": "cleared", "marks": ["x", "y"]})
    );
    assert_eq!(rig.stream.playout_queued(), 0, "the ring was emptied");
    assert!(!rig.stream.next_playout(&mut [0; FRAME_SAMPLES]));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(rig.stream.playout_queued(), 0, "and nothing refilled it");

    assert_eq!(
        bot.json().await,
        json!({"type": "flowControl", "state": "resume", "bufferedMs": 0})
    );
    bot.send_audio(&[9; FRAME_SAMPLES]).await;
    bot.send_json(json!({"type": "mark", "name": "after"}))
        .await;
    assert_eq!(rig.play(1).await[0], [9; FRAME_SAMPLES]);
    assert_eq!(
        bot.json().await,
        json!({"type": "markPlayed", "name": "after"})
    );
}

#[tokio::test]
async fn flow_control_pauses_above_two_seconds_and_resumes_below_one() {
    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    bot.send_audio(&[1; 100 * FRAME_SAMPLES]).await;
    bot.no_json_for(Duration::from_millis(100), &[]).await;
    bot.send_audio(&[1; FRAME_SAMPLES]).await;
    assert_eq!(
        bot.json().await,
        json!({"type": "flowControl", "state": "pause", "bufferedMs": 2020})
    );
    rig.play(51).await;
    bot.no_json_for(Duration::from_millis(100), &[]).await;
    rig.play(1).await;
    assert_eq!(
        bot.json().await,
        json!({"type": "flowControl", "state": "resume", "bufferedMs": 980})
    );
}

#[tokio::test]
async fn audio_past_the_buffer_limit_is_discarded_with_a_warning() {
    let rig = Rig::start(|setup| setup.settings.max_buffered_ms = 3_000).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    bot.send_audio(&[1; 3_500 * 16]).await;
    let warning = bot.json_of("warning").await;
    assert_eq!(warning["code"], "mediaDiscarded");
    assert_eq!(warning["count"], 500);
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("media.app_hosted.max_buffered_ms (3000 ms)"),
        "{warning}"
    );
    assert_eq!(
        bot.json_of("flowControl").await,
        json!({"type": "flowControl", "state": "pause", "bufferedMs": 3000})
    );
    assert_eq!(rig.play(150).await.len(), 150, "three seconds were kept");
}

#[tokio::test]
async fn a_recvonly_bot_is_not_played_and_told_once() {
    let rig = Rig::start(|setup| setup.socket.directions = StreamDirections::RecvOnly).await;
    let mut bot = rig.accept().await;
    assert_eq!(bot.json_of("start").await["directions"], "recvonly");
    bot.send_audio(&[1; 2 * FRAME_SAMPLES]).await;
    let warning = bot.json().await;
    assert_eq!(warning["code"], "mediaDiscarded");
    assert_eq!(warning["count"], 40);
    assert!(warning["message"].as_str().unwrap().contains("recvonly"));
    bot.send_audio(&[1; FRAME_SAMPLES]).await;
    bot.no_json_for(Duration::from_millis(150), &[]).await;
    assert_eq!(rig.stream.playout_queued(), 0);
    rig.send(MIXED_SOURCE, 1, 1);
    assert_eq!(
        bot.frame().await.0.seq,
        0,
        "a recvonly bot still hears the call"
    );
}

#[tokio::test]
async fn a_sendonly_bot_is_sent_no_frames() {
    let rig = Rig::start(|setup| {
        setup.socket.directions = StreamDirections::SendOnly;
        setup.socket.mixed = false;
        setup.socket.unmixed = false;
    })
    .await;
    let mut bot = rig.accept().await;
    assert_eq!(bot.json_of("start").await["directions"], "sendonly");
    for tick in 0..5 {
        rig.send(MIXED_SOURCE, tick, 1);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(150);
    while let Ok(next) = tokio::time::timeout_at(deadline, bot.ws.next()).await {
        assert!(
            !matches!(next, Some(Ok(Message::Binary(_)))),
            "a sendonly bot hears nothing"
        );
    }
    bot.send_audio(&[4; FRAME_SAMPLES]).await;
    assert_eq!(rig.play(1).await[0], [4; FRAME_SAMPLES], "but it speaks");
}
