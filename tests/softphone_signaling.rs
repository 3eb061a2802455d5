//! The softphone's sign-in and WebSocket protocol over real HTTP, without a browser: passwords,
//! the dev login, and bad messages answered with `error` messages on a socket that stays open.

mod support;

use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

const PASSWORD: &str = "correct horse battery";

/// The standard directory; user A has a password, and the dev login is off.
fn password_config() -> String {
    let hash = switchboard::auth::secret::hash_secret(PASSWORD);
    STANDARD_CONFIG.replacen(
        "display_name = \"User A\"\n",
        &format!("display_name = \"User A\"\npassword_hash = \"{hash}\"\n"),
        1,
    )
}

async fn login(server: &Server, body: Value) -> reqwest::Response {
    server
        .http
        .post(server.url("/softphone/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A signaling socket to the server.
struct Socket(WebSocket<MaybeTlsStream<TcpStream>>);

impl Socket {
    fn open(server: &Server) -> Socket {
        let url = server.url("/softphone/ws").replacen("http://", "ws://", 1);
        let (socket, _) = tungstenite::connect(url.as_str()).expect("open the signaling socket");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
        }
        Socket(socket)
    }

    /// Sends text and returns the next message from the server.
    fn ask(&mut self, text: &str) -> Value {
        self.0.send(Message::text(text)).expect("send");
        loop {
            match self.0.read().expect("a reply") {
                Message::Text(reply) => return serde_json::from_str(reply.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn error_text(reply: &Value) -> &str {
    assert_eq!(reply["type"], "error", "{reply}");
    reply["message"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_needs_the_password_unless_the_dev_login_is_on() {
    let server = Server::start_with_config(&password_config());
    let users: Value = server
        .http
        .get(server.url("/softphone/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users, json!({"devLogin": false, "users": []}));

    for body in [
        json!({"user": USER_A, "password": "wrong password"}),
        json!({"user": USER_A}),
        json!({"user": USER_B, "password": PASSWORD}),
        json!({"user": "nobody", "password": PASSWORD}),
    ] {
        let refused = login(&server, body.clone()).await;
        let error = expect_graph_error(refused, 401, "InvalidAuthenticationToken").await;
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("unknown user or wrong password"),
            "{body}: {error}"
        );
    }
    let bad = login(&server, json!({"name": USER_A})).await;
    assert_eq!(bad.status(), 400);

    let ok = login(&server, json!({"user": USER_A, "password": PASSWORD})).await;
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["user"]["id"], USER_A);
    assert_eq!(body["user"]["displayName"], "User A");
    assert_eq!(body["expiresIn"], 12 * 3600);

    // Guessing is slow: three attempts so far, seven more, and the eleventh within a minute is
    // refused before any check, even with the right password.
    for _ in 0..7 {
        let guess = login(&server, json!({"user": USER_A, "password": "guess"})).await;
        assert_eq!(guess.status(), 401);
    }
    let refused = login(&server, json!({"user": USER_A, "password": PASSWORD})).await;
    let error = expect_graph_error(refused, 429, "activityLimitReached").await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "sign-in as {USER_A} exceeded 10 requests per 60 s"
            )),
        "{error}"
    );

    let dev = Server::start_with_config(&format!(
        "{STANDARD_CONFIG}\n[softphone]\ndev_login = true\n"
    ));
    let users: Value = dev
        .http
        .get(dev.url("/softphone/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["devLogin"], true);
    let ids: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER_A, USER_B]);
    assert_eq!(login(&dev, json!({"user": USER_B})).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_get_an_error_and_the_socket_stays_open() {
    let server = Server::start_with_config(&password_config());
    let token = login(&server, json!({"user": USER_A, "password": PASSWORD}))
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut socket = Socket::open(&server);
    let cases = [
        ("not json", "not JSON"),
        (r#"{"call":"x"}"#, "no \"type\" string"),
        (
            r#"{"type":"dial"}"#,
            "unknown message type \"dial\"; allowed types: register, call",
        ),
        (
            r#"{"type":"answer","call":"x","sdp":"v=0"}"#,
            "send register",
        ),
        (
            r#"{"type":"register","token":"forged"}"#,
            "unknown or expired sign-in token",
        ),
        (
            r#"{"type":"register"}"#,
            "bad \"register\" message: missing field `token`",
        ),
    ];
    for (text, expected) in cases {
        let reply = socket.ask(text);
        assert!(error_text(&reply).contains(expected), "{text}: {reply}");
    }
    assert_eq!(socket.ask(r#"{"type":"ping"}"#), json!({"type": "pong"}));

    let registered = socket.ask(&json!({"type": "register", "token": token}).to_string());
    assert_eq!(registered["type"], "registered", "{registered}");
    assert_eq!(registered["user"]["id"], USER_A);
    let again = socket.ask(&json!({"type": "register", "token": token}).to_string());
    assert!(error_text(&again).contains("registered already"));

    let answer = socket.ask(r#"{"type":"answer","call":"c-1","sdp":"v=0"}"#);
    assert!(error_text(&answer).contains("call \"c-1\" is not ringing on this page"));
    assert_eq!(answer["call"], "c-1");
    let hangup = socket.ask(r#"{"type":"hangup","call":"c-2"}"#);
    assert!(error_text(&hangup).contains("call \"c-2\" is not on this page"));
    let stranger =
        socket.ask(&json!({"type": "call", "target": {"user": USER_B}, "sdp": "v=0"}).to_string());
    assert!(
        error_text(&stranger).contains("is not a user of tenant"),
        "another tenant's user cannot be called: {stranger}"
    );
    let nobody_home = socket
        .ask(&json!({"type": "call", "target": {"application": APP_A1}, "sdp": "v=0"}).to_string());
    assert!(
        error_text(&nobody_home).contains("(480/10037)"),
        "an app without a calling webhook cannot be rung: {nobody_home}"
    );
    assert_eq!(socket.ask(r#"{"type":"ping"}"#), json!({"type": "pong"}));
}
