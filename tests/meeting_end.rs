//! A meeting's call ends when its last person leaves, over real HTTP and real WebRTC: a bot joins
//! a meeting by meetingInfo and stays while alone; a person joins on the softphone's signaling
//! socket with a str0m WebRTC client (media connected) and hangs up; the bot gets `terminating`,
//! then `terminated` with 200/5002, and the meeting is joined again in a new conversation. The
//! rule's other cases (another person still there, a person still being rung, a person who never
//! joined) are unit tests in src/calls/registry/meetings_tests.rs.

mod calls_support;
mod meeting_support;
mod softphone_support;
mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use calls_support::*;
use meeting_support::*;
use serde_json::{Value, json};
use softphone_support::*;
use support::*;
use switchboard::webrtc::client::WebRtcClient;
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// The next JSON message on the signaling socket (pings skipped).
fn next_message(socket: &mut Socket) -> Value {
    loop {
        match socket.read().expect("a message from the server") {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::text(message.to_string())).unwrap();
}

/// A bot's join of the meeting with this join id.
async fn bot_joins(bots: &Bots, join_id: &Value) -> String {
    let body = json!({"callbackUri": bots.a1.hook.url,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "meetingInfo": {"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo",
                        "joinMeetingId": join_id},
        "tenantId": TENANT_A});
    let response = bots.post(&bots.a1, "/communications/calls", body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let call: Value = response.json().await.unwrap();
    let id = call["id"].as_str().unwrap().to_owned();
    wait_for(&bots.a1.hook, |n| is_state(n, &id, "established")).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_call_ends_when_the_last_person_leaves_the_meeting() {
    let bots = start_bots().await;
    let response = bots
        .post(
            &bots.a1,
            &format!("/users/{USER_A}/onlineMeetings"),
            json!({"subject": "Stand-up"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let meeting: Value = response.json().await.unwrap();
    let meeting_id = meeting["id"].as_str().unwrap().to_owned();
    let join_id = meeting["joinMeetingIdSettings"]["joinMeetingId"].clone();

    // The bot joins first and is alone: its call stays.
    let call = bot_joins(&bots, &join_id).await;
    let got: Value = bots
        .get(&bots.a1, &format!("/communications/calls/{call}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["state"], "established", "{got}");
    let chain = got["callChainId"].clone();

    // A person signs in, joins with a WebRTC offer, connects media, shows in the bot's roster,
    // then hangs up.
    let login: Value = bots
        .server
        .http
        .post(bots.server.url("/softphone/login"))
        .json(&json!({"user": AGENT}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let url = bots
        .server
        .url("/softphone/ws")
        .replacen("http://", "ws://", 1);
    let ended = tokio::task::block_in_place(|| {
        let (mut socket, _) = tungstenite::connect(url.as_str()).expect("the signaling socket");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
        }
        send(&mut socket, json!({"type": "register", "token": token}));
        let registered = next_message(&mut socket);
        assert_eq!(registered["type"], "registered", "{registered}");
        let now = Instant::now();
        let mut client =
            WebRtcClient::new(now, "127.0.0.1:0".parse().unwrap(), vec![0; 960], true).unwrap();
        let offer = client.create_offer(now).unwrap();
        send(
            &mut socket,
            json!({"type": "join", "meeting": meeting_id, "sdp": offer}),
        );
        let answer = loop {
            let message = next_message(&mut socket);
            assert_ne!(message["type"], "error", "{message}");
            if message["type"] == "sdp" {
                break message;
            }
        };
        client
            .accept_answer(Instant::now(), answer["sdp"].as_str().unwrap())
            .unwrap();
        let deadline = Instant::now() + PAGE_WAIT;
        let in_roster = || {
            roster(&bots.a1, &call)
                .iter()
                .any(|p| user_of(p) == Some(AGENT))
        };
        while client.connected_at().is_none() || !in_roster() {
            assert!(
                Instant::now() < deadline,
                "the person did not connect ({:?}) and show in the roster ({:?})",
                client.connected_at(),
                roster(&bots.a1, &call)
            );
            client.drive(Instant::now()).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let call_of_page = answer["call"].as_str().unwrap();
        send(&mut socket, json!({"type": "hangup", "call": call_of_page}));
        loop {
            let message = next_message(&mut socket);
            if message["type"] == "state" && message["state"] == "ended" {
                break message;
            }
        }
    });
    println!("the page's call ended: {ended}");

    // The last person left: the bot hangs up, terminating then terminated 200/5002.
    expect_log(
        &bots.a1.hook,
        &call,
        &[
            "updated establishing",
            "updated established",
            "updated terminating",
            "deleted terminated 200/5002",
        ],
    )
    .await;
    let terminated = wait_for(&bots.a1.hook, |n| is_state(n, &call, "terminated")).await;
    let message = terminated["resourceData"]["resultInfo"]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("the last person left meeting"),
        "{message}"
    );
    assert_eq!(
        bots.get(&bots.a1, &format!("/communications/calls/{call}"))
            .await
            .status(),
        404
    );

    // The meeting is still joinable: a new conversation.
    let again = bot_joins(&bots, &join_id).await;
    let got: Value = bots
        .get(&bots.a1, &format!("/communications/calls/{again}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["state"], "established");
    assert_ne!(got["callChainId"], chain, "a new conversation");
}
