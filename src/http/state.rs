//! `AppState`: the handles a request handler can reach. The server builds it once at start-up,
//! in order (`server::start`); the HTTP layer only reads it.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::tokens::TokenService;
use crate::calls::runtime::CallService;
use crate::config::Config;
use crate::media_plane::MediaEngine;
use crate::notify::Notifier;
use crate::softphone::Softphone;
use crate::store::Store;
use crate::throttle::{CallAdmission, RateLimiter, SignInGuard};

/// Shared state of the server; cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct AppState {
    /// The loaded configuration.
    pub config: Arc<Config>,
    /// Base URL clients reach this server at, without a trailing slash (e.g. `http://localhost:8080`).
    /// Use it for `Location` headers, `joinWebUrl`, `recordingLocation`.
    pub public_url: Arc<str>,
    /// Directory, meetings and reminders (SQLite).
    pub store: Store,
    /// Access-token and notification-token signing and verification.
    pub tokens: Arc<TokenService>,
    /// Notification delivery to callback URIs.
    pub notifier: Notifier,
    /// Per-caller request rate limit (applied by the `/v1.0` auth layer).
    pub throttle: Arc<RateLimiter>,
    /// Bounds on failed sign-ins per source and per client, and on slow checks at once.
    pub sign_ins: Arc<SignInGuard>,
    /// Concurrent-call caps; the call routes take a slot per call.
    pub admission: CallAdmission,
    /// Prometheus handle for `/metrics` (`None` when another server in this process owns it).
    pub metrics: Option<PrometheusHandle>,
    /// The real-time media plane (worker threads, prompts, recordings).
    pub media: Arc<MediaEngine>,
    /// The call service: every live call, its timers and media events.
    pub calls: CallService,
    /// The softphone: sign-ins, signed-in pages (the endpoints users are rung on), users' calls.
    pub softphone: Softphone,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}
