//! The socket task against a real WebSocket server on loopback, playing the bot, while the test
//! drives the lane by hand as the worker would (frames and notices in, one playout frame per
//! "tick" out).

mod audio;
mod control;
mod dial;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderMap, HeaderValue};
use tokio_tungstenite::tungstenite::{Message, http};

use super::protocol::{AudioHeader, HEADER_BYTES, SUBPROTOCOL};
use super::{Dialer, MediaSocket, SocketLeg};
use crate::auth::tokens::{TokenService, shared_for_tests};
use crate::calls::ids::{CallId, ParticipantId};
use crate::calls::media::{
    AppHosted, MediaEvent, MediaEventSink, MediaSocketConfig, StreamDirections, StreamParticipant,
};
use crate::media_plane::app_stream::{
    AppStream, FLAG_UNMIXED, FRAME_SAMPLES, MIXED_SOURCE, Pcm, StreamFrame, TIMESTAMP_STEP,
};
use crate::media_plane::settings::AppHostedSettings;

/// Longest wait for anything the test expects.
const PATIENCE: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test after [`PATIENCE`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// One app-hosted leg's socket task, the lane it shares with the (hand-driven) worker, and the
/// listener the bot answers on.
struct Rig {
    listener: TcpListener,
    stream: Arc<AppStream>,
    events: mpsc::Receiver<MediaEvent>,
    socket: Option<MediaSocket>,
    tokens: Arc<TokenService>,
}

/// The app and call every rig uses.
const APP_ID: &str = "app-1";
const TENANT_ID: &str = "tenant-1";
const CALL_ID: &str = "call-1";

fn participant(id: &str, source_id: u32) -> StreamParticipant {
    StreamParticipant {
        id: ParticipantId::from(id),
        source_id,
        identity: None,
    }
}

/// What a rig's leg asks for; each test changes what it is about.
struct Setup {
    socket: MediaSocketConfig,
    settings: AppHostedSettings,
    dialer: Dialer,
    /// `ws` or `wss`.
    scheme: &'static str,
    /// The host in the URL.
    host: &'static str,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            socket: MediaSocketConfig {
                url: String::new(),
                auth_token: Some("bot-secret".into()),
                directions: StreamDirections::SendRecv,
                mixed: true,
                unmixed: true,
            },
            settings: AppHostedSettings {
                allow_private_addresses: true,
                ..AppHostedSettings::default()
            },
            dialer: Dialer::new(),
            scheme: "ws",
            host: "127.0.0.1",
        }
    }
}

impl Rig {
    /// A rig with the default setup, changed by `tweak`; the task starts dialling at once.
    async fn start(tweak: impl FnOnce(&mut Setup)) -> Rig {
        let mut setup = Setup::default();
        tweak(&mut setup);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        setup.socket.url = format!("{}://{}:{port}/media?key=s3cret", setup.scheme, setup.host);
        let stream = Arc::new(AppStream::new(
            setup.socket.clone(),
            setup.settings.send_queue_ms,
            4,
        ));
        let (events, receiver) = MediaEventSink::channel(16);
        let tokens = shared_for_tests();
        let leg = SocketLeg {
            call: CallId::from(CALL_ID),
            app: AppHosted {
                socket: setup.socket,
                app_id: APP_ID.into(),
                tenant_id: TENANT_ID.into(),
                participants: vec![participant("bot", 1), participant("alice", 2)],
            },
            stream: stream.clone(),
            settings: setup.settings,
            tokens: tokens.clone(),
            events,
            dialer: setup.dialer,
            worker: 0,
        };
        let socket = MediaSocket::spawn(&tokio::runtime::Handle::current(), leg);
        Rig {
            listener,
            stream,
            events: receiver,
            socket: Some(socket),
            tokens,
        }
    }

    /// Accepts the next dial as a bot speaking `switchboard.media.v1`.
    async fn accept(&self) -> Bot {
        let (tcp, _) = within("a dial", self.listener.accept()).await.unwrap();
        Bot::handshake(tcp).await
    }

    /// Accepts the next dial and answers the upgrade with `status`.
    async fn refuse(&self, status: u16) {
        let (tcp, _) = within("a dial", self.listener.accept()).await.unwrap();
        // The callback's type is the WebSocket library's, large error response and all.
        #[allow(clippy::result_large_err)]
        let refuse = move |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
            Err(http::Response::builder().status(status).body(None).unwrap())
        };
        assert!(
            tokio_tungstenite::accept_hdr_async(tcp, refuse)
                .await
                .is_err()
        );
    }

    /// The next event the task sent the control plane.
    async fn event(&mut self) -> MediaEvent {
        within("a media event", self.events.recv()).await.unwrap()
    }

    /// Asserts no dial arrives for `quiet`.
    async fn no_dial_for(&self, quiet: Duration) {
        if let Ok(accepted) = tokio::time::timeout(quiet, self.listener.accept()).await {
            panic!("unexpected dial: {accepted:?}");
        }
    }

    /// The worker's side: one frame toward the bot.
    fn send(&self, source_id: u32, tick: u64, fill: i16) {
        let flags = if source_id == MIXED_SOURCE {
            0
        } else {
            FLAG_UNMIXED
        };
        self.stream.send_frame(StreamFrame {
            source_id,
            flags,
            timestamp: tick * TIMESTAMP_STEP,
            pcm: [fill; FRAME_SAMPLES],
        });
    }

    /// The worker's side: plays `count` frames of the bot's audio, one "tick" each as soon as
    /// the socket task has put one in the ring.
    async fn play(&self, count: usize) -> Vec<Pcm> {
        let mut played = Vec::with_capacity(count);
        let mut out = [0; FRAME_SAMPLES];
        within("bot audio to play", async {
            while played.len() < count {
                if self.stream.next_playout(&mut out) {
                    played.push(out);
                } else {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        })
        .await;
        played
    }

    /// Waits until the socket task has filled the ring `frames` deep.
    async fn ring_holds(&self, frames: usize) {
        within("the playout ring to fill", async {
            while self.stream.playout_queued() < frames {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await;
    }
}

/// The bot's end of one connection.
struct Bot {
    ws: WebSocketStream<TcpStream>,
    /// The dial's request headers.
    headers: HeaderMap,
    /// Text messages read past while waiting for a frame.
    texts: std::collections::VecDeque<Value>,
}

impl Bot {
    async fn handshake(tcp: TcpStream) -> Bot {
        let (sender, receiver) = std::sync::mpsc::channel();
        // The callback's type is the WebSocket library's, large error response and all.
        #[allow(clippy::result_large_err)]
        let accept = move |request: &Request, mut response: Response| {
            let _ = sender.send(request.headers().clone());
            response.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static(SUBPROTOCOL),
            );
            Ok(response)
        };
        let ws = within(
            "the handshake",
            tokio_tungstenite::accept_hdr_async(tcp, accept),
        )
        .await
        .unwrap();
        Bot {
            ws,
            headers: receiver.recv().unwrap(),
            texts: Default::default(),
        }
    }

    /// The next message of any kind.
    async fn next(&mut self) -> Message {
        within("a message from the server", self.ws.next())
            .await
            .expect("the socket is open")
            .expect("no socket error")
    }

    /// The next JSON message, skipping audio frames.
    async fn json(&mut self) -> Value {
        if let Some(value) = self.texts.pop_front() {
            return value;
        }
        loop {
            match self.next().await {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Binary(_) | Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected JSON, got {other:?}"),
            }
        }
    }

    /// The next JSON message of `kind`, skipping others and audio frames.
    async fn json_of(&mut self, kind: &str) -> Value {
        loop {
            let value = self.json().await;
            if value["type"] == kind {
                return value;
            }
        }
    }

    /// The next audio frame: its header and samples (JSON read past is kept for [`Bot::json`]).
    async fn frame(&mut self) -> (AudioHeader, Vec<i16>) {
        loop {
            match self.next().await {
                Message::Binary(bytes) => {
                    assert_eq!(
                        bytes.len(),
                        HEADER_BYTES + 640,
                        "server frames are 660 bytes"
                    );
                    let header = AudioHeader::parse(&bytes).unwrap();
                    let pcm = bytes[HEADER_BYTES..]
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]]))
                        .collect();
                    return (header, pcm);
                }
                Message::Text(text) => self
                    .texts
                    .push_back(serde_json::from_str(text.as_str()).unwrap()),
                other => panic!("expected audio, got {other:?}"),
            }
        }
    }

    /// Asserts no JSON message (other than `allowed` types) arrives for `quiet`.
    async fn no_json_for(&mut self, quiet: Duration, allowed: &[&str]) {
        let deadline = tokio::time::Instant::now() + quiet;
        while let Ok(next) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            if let Some(Ok(Message::Text(text))) = next {
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                let kind = value["type"].as_str().unwrap_or_default();
                assert!(allowed.contains(&kind), "unexpected {value}");
            }
        }
    }

    async fn send_json(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .unwrap();
    }

    /// Sends `samples` as one audio message with a valid header.
    async fn send_audio(&mut self, samples: &[i16]) {
        let mut message = AudioHeader {
            flags: 0,
            source_id: 0,
            seq: 0,
            timestamp: 0,
        }
        .to_bytes()
        .to_vec();
        for sample in samples {
            message.extend_from_slice(&sample.to_le_bytes());
        }
        self.ws.send(Message::binary(message)).await.unwrap();
    }

    async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).await.unwrap();
    }
}

/// `n` samples counting up from `from` (wrapping), so every frame's content is known.
fn ramp(from: usize, n: usize) -> Vec<i16> {
    (from..from + n).map(|i| i as i16).collect()
}
