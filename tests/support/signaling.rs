//! A test-only signaling endpoint: `GET /` serves a page; every `POST` (such as `/offer` with an
//! SDP offer) is handed to the test's edge thread, whose reply is the response body. Nothing
//! else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// A POST waiting for the edge thread's reply.
pub struct SignalingRequest {
    /// The path, such as `/offer`.
    pub path: String,
    /// The body, such as an SDP offer.
    pub body: String,
    /// Where the edge thread sends the response body, or why it failed (a 400).
    pub reply: Sender<Result<String, String>>,
}

/// The running endpoint; stopped on drop.
pub struct TestSignaling {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    pub addr: SocketAddr,
}

impl TestSignaling {
    /// Serves `page` and forwards POSTs to `requests`, on 127.0.0.1 at a free port.
    pub fn start(page: String, requests: Sender<SignalingRequest>) -> TestSignaling {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind signaling"));
        let addr = server.server_addr().to_ip().expect("an IP listener");
        let serving = Arc::clone(&server);
        let thread = std::thread::spawn(move || {
            for mut request in serving.incoming_requests() {
                let response = match (request.method(), request.url()) {
                    (tiny_http::Method::Get, "/") => tiny_http::Response::from_string(page.clone())
                        .with_header(header("Content-Type", "text/html; charset=utf-8")),
                    (tiny_http::Method::Post, path) => {
                        let path = path.to_string();
                        let mut body = String::new();
                        let reply = match request.as_reader().read_to_string(&mut body) {
                            Ok(_) => forward(&requests, path, body),
                            Err(e) => Err(format!("reading the request body: {e}")),
                        };
                        match reply {
                            Ok(text) => tiny_http::Response::from_string(text)
                                .with_header(header("Content-Type", "application/sdp")),
                            Err(reason) => {
                                tiny_http::Response::from_string(reason).with_status_code(400)
                            }
                        }
                    }
                    _ => tiny_http::Response::from_string("not found").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
        TestSignaling {
            server,
            thread: Some(thread),
            addr,
        }
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

fn forward(
    requests: &Sender<SignalingRequest>,
    path: String,
    body: String,
) -> Result<String, String> {
    let (reply, response) = channel();
    requests
        .send(SignalingRequest { path, body, reply })
        .map_err(|_| "the edge thread has stopped".to_string())?;
    response
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "the edge thread did not reply within 10 s".to_string())?
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

impl Drop for TestSignaling {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
