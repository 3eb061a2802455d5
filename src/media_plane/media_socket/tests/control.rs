//! Control messages: bad input warned (never a closed socket or call), notices and participant
//! changes as JSON, and the two ways a stream stops (the call ends, the bot stops).

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_media::dtmf::Digit;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::*;
use crate::media_plane::app_stream::{MAX_LISTED_SPEAKERS, StreamNotice};

#[tokio::test]
async fn bad_messages_are_warned_naming_what_is_allowed_and_the_socket_goes_on() {
    let mut rig = Rig::start(|setup| setup.settings.max_message_bytes = 1_000).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    bot.send_binary(vec![1, 0, 0]).await;
    let warning = bot.json().await;
    let first = Instant::now();
    assert_eq!(warning["code"], "badMessage");
    assert_eq!(warning["count"], 1);
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("3 bytes is shorter than the 20-byte audio header"),
        "{warning}"
    );

    let mut odd = AudioHeader {
        flags: 0,
        source_id: 0,
        seq: 0,
        timestamp: 0,
    }
    .to_bytes()
    .to_vec();
    odd.push(1);
    bot.send_binary(odd).await;
    bot.send_binary(vec![1; 1_100]).await;
    bot.send_json(json!({"name": "no type"})).await;
    bot.ws.send(Message::text("{not json")).await.unwrap();
    bot.send_json(json!({"type": "play"})).await;
    let warning = bot.json().await;
    assert!(first.elapsed() >= Duration::from_millis(900));
    assert_eq!(warning["code"], "badMessage");
    assert_eq!(warning["count"], 5, "everything since the last warning");
    assert_eq!(
        warning["message"],
        "a message of type 'play'; allowed: {\"type\": \"mark\", \"name\": \"…\"}, \
         {\"type\": \"clear\"} or {\"type\": \"stop\"}"
    );

    bot.send_json(json!({"type": "mark", "name": "still here"}))
        .await;
    assert_eq!(
        bot.json().await,
        json!({"type": "markPlayed", "name": "still here"})
    );
    assert!(rig.events.try_recv().is_err(), "the call goes on");
}

#[tokio::test]
async fn notices_become_json_messages() {
    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    rig.stream.notify(StreamNotice::Dtmf {
        digit: Digit::Pound,
        source_id: 2,
        timestamp: 5 * TIMESTAMP_STEP,
    });
    let mut source_ids = [0; MAX_LISTED_SPEAKERS];
    source_ids[..2].copy_from_slice(&[2, 3]);
    rig.stream.notify(StreamNotice::ActiveSpeakers {
        count: 2,
        source_ids,
        timestamp: 6 * TIMESTAMP_STEP,
    });
    rig.stream.notify(StreamNotice::DominantSpeaker {
        current: 2,
        previous: 0,
    });
    assert_eq!(
        bot.json().await,
        json!({"type": "dtmf", "digit": "#", "sourceId": 2, "timestamp": 1_000_000})
    );
    assert_eq!(
        bot.json().await,
        json!({"type": "activeSpeakers", "timestamp": 1_200_000, "sourceIds": [2, 3]})
    );
    assert_eq!(
        bot.json().await,
        json!({"type": "dominantSpeakerChanged", "current": 2, "previous": 0})
    );
}

#[tokio::test]
async fn participants_are_told_only_when_the_list_changed() {
    let rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    let socket = rig.socket.as_ref().unwrap();
    socket.set_participants(vec![participant("bot", 1), participant("alice", 2)]);
    bot.no_json_for(Duration::from_millis(100), &[]).await;
    socket.set_participants(vec![participant("bot", 1), participant("bob", 3)]);
    assert_eq!(
        bot.json().await,
        json!({"type": "participantsUpdated", "participants": [
            {"id": "bot", "sourceId": 1, "identity": null},
            {"id": "bob", "sourceId": 3, "identity": null}]})
    );
    // A reconnect's start carries the list as it is now.
    drop(bot);
    let mut bot = rig.accept().await;
    let start = bot.json_of("start").await;
    assert_eq!(start["participants"][1]["id"], "bob");
}

/// Reads until the close frame; returns its code and reason.
async fn close_frame(bot: &mut Bot) -> (CloseCode, String) {
    loop {
        if let Message::Close(frame) = bot.next().await {
            let frame = frame.expect("a close frame with a code");
            return (frame.code, frame.reason.to_string());
        }
    }
}

#[tokio::test]
async fn closing_the_leg_sends_stop_and_closes_with_1000() {
    let mut rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    bot.send_audio(&[1; 50 * FRAME_SAMPLES]).await;
    bot.send_json(json!({"type": "mark", "name": "end"})).await;
    rig.ring_holds(5).await;
    rig.socket
        .take()
        .unwrap()
        .close(super::super::STOP_CALL_ENDED);
    assert_eq!(
        bot.json().await,
        json!({"type": "cleared", "marks": ["end"]})
    );
    assert_eq!(
        bot.json().await,
        json!({"type": "stop", "reason": "callEnded"})
    );
    assert_eq!(
        close_frame(&mut bot).await,
        (CloseCode::Normal, "callEnded".into())
    );
    rig.no_dial_for(Duration::from_millis(400)).await;

    // A handle dropped without closing (the media plane shutting down) stops the same way.
    let mut rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    drop(rig.socket.take());
    assert_eq!(
        bot.json_of("stop").await,
        json!({"type": "stop", "reason": "shutdown"})
    );
}

#[tokio::test]
async fn a_bot_that_stops_is_not_redialled_and_the_call_goes_on() {
    let mut rig = Rig::start(|_| {}).await;
    let mut bot = rig.accept().await;
    bot.json_of("start").await;
    bot.send_audio(&[1; 50 * FRAME_SAMPLES]).await;
    rig.ring_holds(5).await;
    bot.send_json(json!({"type": "stop"})).await;
    assert_eq!(
        bot.json().await,
        json!({"type": "stop", "reason": "botStopped"})
    );
    assert_eq!(
        close_frame(&mut bot).await,
        (CloseCode::Normal, "botStopped".into())
    );
    assert_eq!(rig.stream.playout_queued(), 0, "the bot's side is silent");
    rig.no_dial_for(Duration::from_millis(600)).await;
    assert!(
        rig.events.try_recv().is_err(),
        "no LegFailed: the call goes on"
    );
}
