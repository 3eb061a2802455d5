//! Joins that cannot work get clear errors, for bots (Graph errors naming the field, the value and
//! what is allowed) and for people on the softphone's signaling socket: an unknown meeting, and a
//! meeting that is over (its end has passed and nobody is in it). The rule's other cases (a
//! meeting in progress past its end stays open) are unit tests in src/meetings_tests.rs; wrong
//! passcodes are in tests/calls_media_groups_meetings.rs and tests/meeting_sdk_browser.rs.

mod calls_support;
mod support;

use std::net::TcpStream;
use std::time::Duration;

use calls_support::*;
use serde_json::{Value, json};
use support::*;
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

fn join_body(hook: &str, meeting_info: Value) -> Value {
    json!({"callbackUri": hook,
           "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
           "meetingInfo": meeting_info, "tenantId": TENANT_A})
}

async fn create_meeting(bots: &Bots, start: &str, end: &str) -> Value {
    let response = bots
        .post(
            &bots.a1,
            &format!("/users/{USER_A}/onlineMeetings"),
            json!({"subject": "Retro", "startDateTime": start, "endDateTime": end}),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Signs `user` in with the dev login on a signaling socket and asks to join `meeting`;
/// returns the server's reply.
async fn page_joins(server: &Server, user: &str, meeting: &str) -> Value {
    let login: Value = server
        .http
        .post(server.url("/softphone/login"))
        .json(&json!({"user": user}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let url = server.url("/softphone/ws").replacen("http://", "ws://", 1);
    let meeting = meeting.to_owned();
    tokio::task::spawn_blocking(move || {
        let (mut socket, _) = tungstenite::connect(url.as_str()).expect("the signaling socket");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
        }
        let registered = ask(&mut socket, json!({"type": "register", "token": token}));
        assert_eq!(registered["type"], "registered", "{registered}");
        ask(
            &mut socket,
            json!({"type": "join", "meeting": meeting, "sdp": "v=0\r\n"}),
        )
    })
    .await
    .unwrap()
}

fn ask(socket: &mut WebSocket<MaybeTlsStream<TcpStream>>, message: Value) -> Value {
    socket.send(Message::text(message.to_string())).unwrap();
    loop {
        match socket.read().expect("a reply") {
            Message::Text(reply) => return serde_json::from_str(reply.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn refused_with(response: reqwest::Response, needle: &str) {
    let error = expect_graph_error(response, 400, "invalidRequest").await;
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains(needle), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_ended_meetings_are_refused_with_clear_errors() {
    let bots = Bots::start("[softphone]\ndev_login = true\n", &[]).await;

    // Unknown meetings, by token and by join id; on the page's socket, an unknown id.
    let by_token = json!({"@odata.type": "#microsoft.graph.tokenMeetingInfo", "token": "nope"});
    refused_with(
        bots.post(
            &bots.a1,
            "/communications/calls",
            join_body(&bots.a1.hook.url, by_token),
        )
        .await,
        "meetingInfo.token: got 'nope'",
    )
    .await;
    let reply = page_joins(&bots.server, USER_A, "nope").await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert!(
        reply["message"].as_str().unwrap().contains("\"nope\""),
        "{reply}"
    );

    // A meeting that ended in 2024 and that nobody is in: refused for bots and people alike.
    let past = create_meeting(
        &bots,
        "2024-07-12T14:30:00-07:00",
        "2024-07-12T15:00:00-07:00",
    )
    .await;
    let id = past["id"].as_str().unwrap();
    let join_id = past["joinMeetingIdSettings"]["joinMeetingId"].clone();
    let by_join_id = json!({"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo",
                            "joinMeetingId": join_id});
    refused_with(
        bots.post(
            &bots.a1,
            "/communications/calls",
            join_body(&bots.a1.hook.url, by_join_id),
        )
        .await,
        "meetingInfo.joinMeetingId: got a meeting that ended at 2024-07-12T22:00:00Z",
    )
    .await;
    let reply = page_joins(&bots.server, USER_A, id).await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("meeting: got a meeting that ended at 2024-07-12T22:00:00Z"),
        "{reply}"
    );

    // A meeting of the future is joined as usual.
    let future = create_meeting(
        &bots,
        "2030-07-12T14:30:00-07:00",
        "2030-07-12T15:00:00-07:00",
    )
    .await;
    let by_join_id = json!({"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo",
                            "joinMeetingId": future["joinMeetingIdSettings"]["joinMeetingId"]});
    let joined = bots
        .post(
            &bots.a1,
            "/communications/calls",
            join_body(&bots.a1.hook.url, by_join_id),
        )
        .await;
    assert_eq!(joined.status(), 201);
}
