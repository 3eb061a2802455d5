//! Headless Chromium (Debian's `/usr/bin/chromium`, never a downloaded build) driven over the
//! DevTools protocol, for end-to-end tests with real WebRTC.
//!
//! ```ignore
//! let mut browser = Browser::launch(&BrowserOptions {
//!     fake_microphone: Some(wav_path),
//!     ..BrowserOptions::default()
//! })?;
//! let page = browser.open("http://127.0.0.1:8080/")?;
//! browser.eval(&page, "startCall()")?;                       // awaits promises
//! browser.wait_for(&page, "window.callState === 'connected'", Duration::from_secs(10))?;
//! let energy = browser.eval(&page, "inboundAudioEnergy()")?;
//! ```
//!
//! Chromium starts with the flags of `shared/reference/testing-notes.md`, a fresh profile, a
//! fake microphone playing a WAV file, and `--remote-debugging-port=0`; the DevTools port is read
//! from the profile's `DevToolsActivePort` file. Pages are attached as flattened sessions on the
//! one browser WebSocket, so several pages (a caller and an agent) share one browser.

use std::fmt;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Where Debian installs Chromium; `CHROMIUM` overrides it.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// How long Chromium may take to start and open its DevTools port (2 busy cores).
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one DevTools command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start the browser.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// WAV file the fake microphone plays (looped; append `%noloop` to the path to play once).
    pub fake_microphone: Option<PathBuf>,
    /// Let WebRTC pair loopback candidates (`--allow-loopback-in-peer-connection`).
    pub allow_loopback: bool,
    /// More command-line switches.
    pub extra_args: Vec<String>,
}

/// A failure driving the browser, with what was asked.
#[derive(Debug)]
pub struct BrowserError(pub String);

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BrowserError {}

fn err(message: impl Into<String>) -> BrowserError {
    BrowserError(message.into())
}

/// A page (tab) of the browser: a DevTools session.
#[derive(Debug, Clone)]
pub struct Page {
    session: String,
    target: String,
}

/// A running headless Chromium. Killed on drop.
pub struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    next_id: u64,
    /// Console output and uncaught exceptions of every page, for failure messages.
    console: Vec<String>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium and connects to its DevTools endpoint.
    pub fn launch(options: &BrowserOptions) -> Result<Browser, BrowserError> {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| DEFAULT_CHROMIUM.into());
        if !Path::new(&binary).exists() {
            return Err(err(format!(
                "{binary} not found: install Debian's chromium (scripts/setup test does)"
            )));
        }
        let profile = tempfile::tempdir().map_err(|e| err(format!("profile dir: {e}")))?;
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            // Host candidates as addresses, not mDNS names: no multicast leaves the test.
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            "--remote-debugging-port=0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if let Some(wav) = &options.fake_microphone {
            args.push(format!(
                "--use-file-for-fake-audio-capture={}",
                wav.display()
            ));
        }
        if options.allow_loopback {
            args.push("--allow-loopback-in-peer-connection".into());
        }
        args.extend(options.extra_args.iter().cloned());
        args.push("about:blank".into());

        let child = Command::new(&binary)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("cannot start {binary}: {e}")))?;
        let mut child = KillOnError(Some(child));

        let port_file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + LAUNCH_TIMEOUT;
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.trim().to_string(), path.trim().to_string());
                }
            }
            if let Some(status) = child.0.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                return Err(err(format!("{binary} exited at start: {status}")));
            }
            if Instant::now() > deadline {
                return Err(err(format!(
                    "{binary} did not open its DevTools port within {LAUNCH_TIMEOUT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let address = format!("127.0.0.1:{port}");
        let stream =
            TcpStream::connect(&address).map_err(|e| err(format!("DevTools at {address}: {e}")))?;
        let url = format!("ws://{address}{path}");
        let (socket, _) = tungstenite::client(url.as_str(), stream)
            .map_err(|e| err(format!("DevTools WebSocket {url}: {e}")))?;
        Ok(Browser {
            child: child.0.take().expect("the child is still owned"),
            socket,
            next_id: 1,
            console: Vec::new(),
            _profile: profile,
        })
    }

    /// Opens `url` in a new tab and waits for it to load.
    pub fn open(&mut self, url: &str) -> Result<Page, BrowserError> {
        let created = self.command(None, "Target.createTarget", json!({ "url": "about:blank" }))?;
        let target = created["targetId"]
            .as_str()
            .ok_or_else(|| err(format!("no targetId in {created}")))?
            .to_string();
        let attached = self.command(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| err(format!("no sessionId in {attached}")))?
            .to_string();
        let page = Page { session, target };
        self.command(Some(&page), "Runtime.enable", json!({}))?;
        self.command(Some(&page), "Page.enable", json!({}))?;
        self.command(Some(&page), "Page.navigate", json!({ "url": url }))?;
        self.wait_for(&page, "document.readyState === 'complete'", COMMAND_TIMEOUT)?;
        Ok(page)
    }

    /// Evaluates `expression` in the page, awaiting a returned promise; returns its JSON value.
    /// A thrown exception is an error carrying its message.
    pub fn eval(&mut self, page: &Page, expression: &str) -> Result<Value, BrowserError> {
        let result = self.command(
            Some(page),
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        )?;
        if let Some(exception) = result.get("exceptionDetails") {
            let text = exception["exception"]["description"]
                .as_str()
                .or_else(|| exception["text"].as_str())
                .unwrap_or("exception");
            return Err(err(format!("`{expression}` threw: {text}")));
        }
        Ok(result["result"]["value"].clone())
    }

    /// Evaluates `expression` every 50 ms until it is truthy; returns that value.
    pub fn wait_for(
        &mut self,
        page: &Page,
        expression: &str,
        timeout: Duration,
    ) -> Result<Value, BrowserError> {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.eval(page, expression)?;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if Instant::now() > deadline {
                return Err(err(format!(
                    "`{expression}` still false after {timeout:?}; console:\n{}",
                    self.console.join("\n")
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Closes a page.
    pub fn close(&mut self, page: Page) -> Result<(), BrowserError> {
        self.command(
            None,
            "Target.closeTarget",
            json!({ "targetId": page.target }),
        )?;
        Ok(())
    }

    /// Console messages and exceptions seen so far.
    pub fn console(&self) -> &[String] {
        &self.console
    }

    /// Sends one DevTools command and waits for its reply, keeping console events meanwhile.
    fn command(
        &mut self,
        page: Option<&Page>,
        method: &str,
        params: Value,
    ) -> Result<Value, BrowserError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(page) = page {
            message["sessionId"] = json!(page.session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .map_err(|e| err(format!("{method}: send: {e}")))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(err(format!(
                    "{method}: no reply within {COMMAND_TIMEOUT:?}"
                )));
            }
            self.socket
                .get_mut()
                .set_read_timeout(Some(remaining))
                .map_err(|e| err(format!("{method}: {e}")))?;
            let reply = match self.socket.read() {
                Ok(Message::Text(text)) => text,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(e) => return Err(err(format!("{method}: DevTools connection: {e}"))),
            };
            let value: Value = serde_json::from_str(reply.as_str())
                .map_err(|e| err(format!("{method}: bad DevTools JSON: {e}")))?;
            if value["id"].as_u64() == Some(id) {
                if let Some(error) = value.get("error") {
                    return Err(err(format!("{method} failed: {error}")));
                }
                return Ok(value["result"].clone());
            }
            self.keep_console(&value);
        }
    }

    fn keep_console(&mut self, event: &Value) {
        match event["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let args: Vec<String> = event["params"]["args"]
                    .as_array()
                    .map(|args| args.iter().map(|a| a["value"].to_string()).collect())
                    .unwrap_or_default();
                self.console.push(format!("console: {}", args.join(" ")));
            }
            Some("Runtime.exceptionThrown") => {
                let details = &event["params"]["exceptionDetails"];
                self.console.push(format!(
                    "exception: {}",
                    details["exception"]["description"]
                        .as_str()
                        .unwrap_or_else(|| details["text"].as_str().unwrap_or("?"))
                ));
            }
            _ => {}
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills the browser if launching fails half-way.
struct KillOnError(Option<Child>);

impl Drop for KillOnError {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
