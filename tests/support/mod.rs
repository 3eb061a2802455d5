//! Test support for tests that drive the real `switchboard` binary over HTTP.
//!
//! - [`Server`]: starts `switchboard serve` with a temporary data directory and a TOML config on
//!   port 0, reads the bound port from the `listening on http://…` log line, and kills the
//!   process on drop.
//! - [`STANDARD_CONFIG`]: two tenants, three apps, two users (ids in the constants below).
//! - [`Server::token`]: an access token by client credentials; [`Server::mint_token`]: a token
//!   with any claims signed by the server's own key (expired, foreign tenant, user tokens…).
//! - [`Webhook`]: a loopback HTTP receiver that records every POST and answers with a status
//!   the test can change at any time.
//!
//! Use it from a test file with `mod support;`. Submodules: [`audio`] (tones and their
//! measurement), [`browser`] (headless Chromium over the DevTools protocol), [`edge`] (a WebRTC
//! edge on loopback), [`netns`] (a private network namespace per test), [`signaling`] (a
//! test-only offer/answer endpoint).

#![allow(dead_code)]

pub mod audio;
pub mod browser;
pub mod edge;
pub mod netns;
pub mod signaling;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};

/// Tenant A of [`STANDARD_CONFIG`].
pub const TENANT_A: &str = "11111111-aaaa-4aaa-8aaa-000000000001";
/// Tenant B of [`STANDARD_CONFIG`].
pub const TENANT_B: &str = "22222222-bbbb-4bbb-8bbb-000000000002";
/// First app of tenant A.
pub const APP_A1: &str = "a1a1a1a1-0000-4000-8000-0000000000a1";
/// Second app of tenant A.
pub const APP_A2: &str = "a2a2a2a2-0000-4000-8000-0000000000a2";
/// App of tenant B.
pub const APP_B1: &str = "b1b1b1b1-0000-4000-8000-0000000000b1";
/// Secret of every app in [`STANDARD_CONFIG`].
pub const SECRET: &str = "test-secret-that-is-long-enough";
/// A user of tenant A.
pub const USER_A: &str = "ua000000-0000-4000-8000-0000000000ua";
/// A user of tenant B.
pub const USER_B: &str = "ub000000-0000-4000-8000-0000000000ub";

/// Two tenants, three apps (all with [`SECRET`]) and one user per tenant.
pub const STANDARD_CONFIG: &str = r#"
[[tenants]]
id = "11111111-aaaa-4aaa-8aaa-000000000001"
name = "Tenant A"

[[tenants]]
id = "22222222-bbbb-4bbb-8bbb-000000000002"
name = "Tenant B"

[[apps]]
id = "a1a1a1a1-0000-4000-8000-0000000000a1"
name = "Bot A1"
tenant = "11111111-aaaa-4aaa-8aaa-000000000001"
secret = "test-secret-that-is-long-enough"

[[apps]]
id = "a2a2a2a2-0000-4000-8000-0000000000a2"
name = "Bot A2"
tenant = "11111111-aaaa-4aaa-8aaa-000000000001"
secret = "test-secret-that-is-long-enough"

[[apps]]
id = "b1b1b1b1-0000-4000-8000-0000000000b1"
name = "Bot B1"
tenant = "22222222-bbbb-4bbb-8bbb-000000000002"
secret = "test-secret-that-is-long-enough"

[[users]]
id = "ua000000-0000-4000-8000-0000000000ua"
display_name = "User A"
tenant = "11111111-aaaa-4aaa-8aaa-000000000001"

[[users]]
id = "ub000000-0000-4000-8000-0000000000ub"
display_name = "User B"
tenant = "22222222-bbbb-4bbb-8bbb-000000000002"
"#;

/// How long a server may take to print its listening line (debug build, RSA key generation).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// TOML written to `<data_dir>/switchboard.toml` and passed with `--config`; `None`: no
    /// `--config` at all (embedded defaults, demo seeding).
    pub config: Option<String>,
    /// Extra environment variables for the process.
    pub env: Vec<(String, String)>,
    /// Reuse this data directory instead of a fresh temporary one (restart tests).
    pub data_dir: Option<PathBuf>,
}

/// A running `switchboard serve` process; killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The bound port.
    pub port: u16,
    /// The data directory.
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    output: Arc<Mutex<Vec<String>>>,
    /// HTTP client for the test.
    pub http: reqwest::Client,
}

impl Server {
    /// Starts a server with [`STANDARD_CONFIG`].
    pub fn start_standard() -> Server {
        Server::start(ServerOptions {
            config: Some(STANDARD_CONFIG.to_owned()),
            ..Default::default()
        })
    }

    /// Starts a server with `config` (appended after the listen/data settings).
    pub fn start_with_config(config: &str) -> Server {
        Server::start(ServerOptions {
            config: Some(config.to_owned()),
            ..Default::default()
        })
    }

    /// Starts a server and waits for its listening line.
    pub fn start(options: ServerOptions) -> Server {
        let (temp, data_dir) = match options.data_dir {
            Some(dir) => (None, dir),
            None => {
                let temp = tempfile::tempdir().expect("temporary data directory");
                let dir = temp.path().to_owned();
                (Some(temp), dir)
            }
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command.arg("serve");
        // Listen address and data dir come from the environment so a test's TOML can stay short;
        // a test that wants them in TOML sets them there and these still win (env overrides).
        command.env("SWITCHBOARD_HTTP__LISTEN", "127.0.0.1:0");
        // Media workers' UDP sockets on free loopback ports, so tests can run side by side.
        command.env("SWITCHBOARD_MEDIA__WEBRTC__BIND", "127.0.0.1");
        command.env("SWITCHBOARD_MEDIA__WEBRTC__PORT", "0");
        command.env("SWITCHBOARD_DATA_DIR", &data_dir);
        command.env("SWITCHBOARD_LOG__FORMAT", "text");
        // Every peer of a test is on loopback: callbacks and media sockets may be there. Tests of
        // the address policy set these back to false in their options.
        command.env("SWITCHBOARD_NOTIFY__ALLOW_PRIVATE_ADDRESSES", "true");
        command.env(
            "SWITCHBOARD_MEDIA__APP_HOSTED__ALLOW_PRIVATE_ADDRESSES",
            "true",
        );
        command.env_remove("RUST_LOG");
        if let Some(config) = &options.config {
            let path = data_dir.join("switchboard.toml");
            std::fs::write(&path, config).expect("write config");
            command.arg("--config").arg(&path);
        }
        for (key, value) in &options.env {
            command.env(key, value);
        }
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn switchboard");

        let output = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let output = Arc::clone(&output);
            let port_tx = port_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(port) = parse_listening_port(&line) {
                        let _ = port_tx.send(port);
                    }
                    output.lock().unwrap().push(line);
                }
            });
        }
        let port = match port_rx.recv_timeout(START_TIMEOUT) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "switchboard did not print its listening line; output:\n{}",
                    output.lock().unwrap().join("\n")
                );
            }
        };
        Server {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            port,
            data_dir,
            _temp: temp,
            output,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Everything the process printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Waits until the output contains `needle`.
    pub fn wait_for_output(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Requests an access token; panics unless the token endpoint answers 200.
    pub async fn token(&self, tenant: &str, app_id: &str, secret: &str) -> String {
        let response = self.token_response(tenant, app_id, secret).await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("token JSON");
        assert_eq!(status, StatusCode::OK, "token request failed: {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// The raw token endpoint response for client credentials.
    pub async fn token_response(
        &self,
        tenant: &str,
        app_id: &str,
        secret: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/{tenant}/oauth2/v2.0/token")))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", app_id),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("token request")
    }

    /// The server's private signing key (PKCS#8 PEM).
    pub fn signing_key_pem(&self) -> Vec<u8> {
        std::fs::read(self.data_dir.join("keys").join("signing-key.pem")).expect("signing key")
    }

    /// Signs `claims` with the server's key and its `kid` (taken from the JWKS).
    pub async fn mint_token(&self, claims: &serde_json::Value) -> String {
        let jwks: serde_json::Value = self
            .http
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = jwks["keys"][0]["kid"].as_str().map(str::to_owned);
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&self.signing_key_pem()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    /// Access-token claims as this server issues them, for `mint_token` variations.
    pub fn access_claims(&self, idtyp: &str, subject: &str, tenant: &str) -> serde_json::Value {
        let now = unix_now();
        serde_json::json!({
            "iss": self.base_url, "aud": "https://graph.microsoft.com", "sub": subject, "tid": tenant,
            "iat": now, "nbf": now, "exp": now + 3600, "jti": "test", "idtyp": idtyp,
        })
    }

    /// Sends SIGTERM and waits (up to `timeout`) for the process to exit.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in a `listening on http://HOST:PORT` line, if this is that line.
pub fn parse_listening_port(line: &str) -> Option<u16> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let address = rest.split_whitespace().next()?;
    address
        .rsplit_once(':')?
        .1
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Asserts `response` is a Graph error with `status` and `code`, and returns its body.
pub async fn expect_graph_error(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    let actual = response.status().as_u16();
    let request_id = response
        .headers()
        .get("request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = response.json().await.expect("error body is JSON");
    assert_eq!(actual, status, "status; body {body}");
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(body["error"]["code"], code, "code; body {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message; body {body}"
    );
    let inner = &body["error"]["innerError"];
    assert_eq!(
        inner["request-id"].as_str(),
        request_id.as_deref(),
        "request-id header matches body"
    );
    assert!(
        inner["client-request-id"].is_string() && inner["date"].is_string(),
        "innerError {inner}"
    );
    body
}

/// One POST the webhook received.
#[derive(Debug, Clone)]
pub struct ReceivedPost {
    /// Request path.
    pub path: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Parsed JSON body.
    pub body: serde_json::Value,
    /// The status the webhook answered.
    pub answered: u16,
    /// When it arrived, since the webhook started.
    pub at: Duration,
}

/// A loopback HTTP receiver for notifications.
pub struct Webhook {
    /// `http://127.0.0.1:PORT/callback`.
    pub url: String,
    posts: Arc<Mutex<Vec<ReceivedPost>>>,
    status: Arc<Mutex<u16>>,
    task: tokio::task::JoinHandle<()>,
}

impl Webhook {
    /// Starts a receiver answering 202 to every POST.
    pub async fn start() -> Webhook {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(202u16));
        let started = Instant::now();
        let app = {
            let posts = Arc::clone(&posts);
            let status = Arc::clone(&status);
            axum::Router::new().fallback(
                move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
                    let posts = Arc::clone(&posts);
                    let status = Arc::clone(&status);
                    async move {
                        let answered = *status.lock().unwrap();
                        posts.lock().unwrap().push(ReceivedPost {
                            path: uri.path().to_owned(),
                            headers,
                            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                            answered,
                            at: started.elapsed(),
                        });
                        StatusCode::from_u16(answered).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                    }
                },
            )
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Webhook {
            url: format!("http://127.0.0.1:{port}/callback"),
            posts,
            status,
            task,
        }
    }

    /// Sets the status answered from now on (e.g. 503 to simulate an outage).
    pub fn answer_with(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }

    /// Every POST so far.
    pub fn posts(&self) -> Vec<ReceivedPost> {
        self.posts.lock().unwrap().clone()
    }

    /// The POSTs it accepted (2xx).
    pub fn accepted(&self) -> Vec<ReceivedPost> {
        self.posts()
            .into_iter()
            .filter(|p| (200..300).contains(&p.answered))
            .collect()
    }

    /// The notifications (entries of `value`) in accepted POSTs, in arrival order.
    pub fn notifications(&self) -> Vec<serde_json::Value> {
        self.accepted()
            .iter()
            .flat_map(|p| p.body["value"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Waits until `count` notifications were accepted, or `timeout`.
    pub async fn wait_for_notifications(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let notifications = self.notifications();
            if notifications.len() >= count || Instant::now() >= deadline {
                return notifications;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Path helper so tests can name files in a server's data directory.
pub fn data_file(server: &Server, name: &str) -> PathBuf {
    Path::new(&server.data_dir).join(name)
}
