//! Shared set-up for the softphone's browser tests: a server whose bots have webhooks and whose
//! users can sign in with the dev login, and helpers that drive the real page in headless
//! Chromium through `window.softphone` (the same actions as its buttons).

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::calls_support::Bots;
use crate::support::browser::{Browser, BrowserOptions, Page};
use crate::support::*;

/// A second user of tenant A: the agent calls are redirected and transferred to.
pub const AGENT: &str = "uc000000-0000-4000-8000-0000000000uc";

/// How long a page may take to reach a state (2 busy cores, Chromium, a debug server).
pub const PAGE_WAIT: Duration = Duration::from_secs(20);

/// The user ring window the tests run with.
pub const RING_MS: u64 = 4000;

/// Extra configuration: dev login, the agent, loopback ICE for a browser on this machine,
/// prompts from the loopback prompt server, and a short ring window.
pub fn softphone_config() -> String {
    format!(
        r#"
[softphone]
dev_login = true

[calls]
user_ring_timeout_ms = {RING_MS}

[media.webrtc]
advertise_loopback = true

[media.prompts]
allow_private_addresses = true

[[users]]
id = "{AGENT}"
display_name = "Agent C"
tenant = "{TENANT_A}"
"#
    )
}

/// Starts the bots' server with the softphone configuration.
pub async fn start_bots() -> Bots {
    Bots::start(&softphone_config(), &[]).await
}

/// Headless Chromium with pages on the softphone.
pub struct Phones {
    /// The browser.
    pub browser: Browser,
    base: String,
}

impl Phones {
    /// Launches Chromium (loopback ICE allowed) with an optional fake microphone WAV.
    pub fn launch(server: &Server, microphone: Option<PathBuf>) -> Phones {
        let browser = Browser::launch(&BrowserOptions {
            fake_microphone: microphone,
            allow_loopback: true,
            extra_args: Vec::new(),
        })
        .expect("launch chromium");
        Phones {
            browser,
            base: server.url(""),
        }
    }

    /// Opens the softphone at `path` and signs in as `user`.
    pub fn signed_in(&mut self, path: &str, user: &str) -> Page {
        let page = self
            .browser
            .open(&format!("{}{path}", self.base))
            .expect("open the softphone");
        self.eval(
            &page,
            &format!("softphone.signIn('{user}').then(u => u.id)"),
        );
        assert_eq!(self.state(&page), "idle");
        page
    }

    /// Evaluates JavaScript in the page (awaiting a promise).
    pub fn eval(&mut self, page: &Page, expression: &str) -> Value {
        self.browser
            .eval(page, expression)
            .unwrap_or_else(|e| panic!("{e}\nconsole:\n{}", self.browser.console().join("\n")))
    }

    /// The page's call state.
    pub fn state(&mut self, page: &Page) -> String {
        self.eval(page, "softphone.state")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the page's call state is `state`.
    pub fn wait_state(&mut self, page: &Page, state: &str) {
        self.wait(page, &format!("softphone.state === '{state}'"));
    }

    /// Waits until `expression` is truthy in the page; returns its value.
    pub fn wait(&mut self, page: &Page, expression: &str) -> Value {
        self.browser
            .wait_for(page, expression, PAGE_WAIT)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// How the page's last call ended: (code, subcode).
    pub fn ended_with(&mut self, page: &Page) -> (i64, i64) {
        let ended = self.eval(page, "softphone.lastEnded");
        (
            ended["code"].as_i64().unwrap_or(-1),
            ended["subcode"].as_i64().unwrap_or(-1),
        )
    }

    /// Mean power of the audio the page received over `window` (WebRTC statistics:
    /// `totalAudioEnergy` over `totalSamplesDuration`), in dBFS; `None` before audio arrives.
    pub fn inbound_dbfs(&mut self, page: &Page, window: Duration) -> Option<f64> {
        let first = self.eval(page, "softphone.inboundAudio()");
        std::thread::sleep(window);
        let second = self.eval(page, "softphone.inboundAudio()");
        let energy = second["energy"].as_f64()? - first["energy"].as_f64()?;
        let duration = second["duration"].as_f64()? - first["duration"].as_f64()?;
        if duration <= 0.0 {
            return None;
        }
        Some(10.0 * (energy / duration).max(1e-12).log10())
    }

    /// Waits until the page has received audio packets.
    pub fn wait_for_audio(&mut self, page: &Page) {
        self.wait(
            page,
            "softphone.inboundAudio().then(a => a && a.packets > 10)",
        );
    }
}

/// Waits (without blocking the runtime's other tasks) until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PAGE_WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes a page's microphone into `dir`: a steady 440 Hz tone at -13 dBFS, loud enough to measure
/// on the other side and unlike any prompt the tests play.
pub fn voice_microphone(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("voice.wav");
    switchboard::webrtc::client::write_wav(
        &path,
        &crate::support::audio::tone(440.0, 48_000, 2.0, 0.3),
    )
    .expect("write the microphone WAV");
    path
}
