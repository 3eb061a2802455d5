//! `AppState`: everything a request handler can reach, built once at start-up.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::keys::{KeyError, SigningKeys};
use crate::auth::tokens::TokenService;
use crate::calls::media::MediaEventSink;
use crate::calls::runtime::{CallService, MEDIA_EVENT_QUEUE};
use crate::config::Config;
use crate::media_plane::{MediaEngine, MediaStartError};
use crate::notify::{DeliverySettings, HttpTransport, Notifier};
use crate::server::shutdown::Shutdown;
use crate::softphone::Softphone;
use crate::store::{Store, StoreError};
use crate::throttle::{CallAdmission, RateLimiter};

/// Shared state of the server; cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct AppState {
    /// The loaded configuration.
    pub config: Arc<Config>,
    /// Base URL clients reach this server at, without a trailing slash (e.g. `http://localhost:8080`).
    /// Use it for `Location` headers, `joinWebUrl`, `recordingLocation`.
    pub public_url: Arc<str>,
    /// Directory and meetings (SQLite).
    pub store: Store,
    /// Access-token and notification-token signing and verification.
    pub tokens: Arc<TokenService>,
    /// Notification delivery to callback URIs.
    pub notifier: Notifier,
    /// Per-caller request rate limit (applied by the `/v1.0` auth layer).
    pub throttle: Arc<RateLimiter>,
    /// Concurrent-call caps; the call code takes a slot per call.
    pub admission: CallAdmission,
    /// Shutdown signal and hooks (the call code registers "end every call" here).
    pub shutdown: Shutdown,
    /// Prometheus handle for `/metrics` (`None` when another server in this process owns it).
    pub metrics: Option<PrometheusHandle>,
    /// The real-time media plane (worker threads, prompts, recordings).
    pub media: Arc<MediaEngine>,
    /// The call service: every live call, its timers and media events. Ends every call on
    /// shutdown.
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

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store failed to open.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing key failed to load.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The media plane failed to start.
    #[error("media plane: {0}")]
    Media(#[from] MediaStartError),
    /// The HTTP client for notifications failed to build.
    #[error("notification HTTP client: {0}")]
    HttpClient(String),
}

impl AppState {
    /// Opens the store and keys in `config.data_dir` and builds every service. Call it inside a
    /// tokio runtime: the call service and media plane start their tasks on it.
    ///
    /// `public_url` is the resolved base URL (the bound port is known only after binding).
    pub fn build(
        config: Config,
        public_url: &str,
        metrics: Option<PrometheusHandle>,
    ) -> Result<AppState, StateError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StateError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let public_url: Arc<str> = Arc::from(public_url.trim_end_matches('/'));
        let store = Store::open(&config.data_dir)?;
        let keys = Arc::new(SigningKeys::load_or_create(&config.data_dir.join("keys"))?);
        let issuer = if config.auth.issuer.is_empty() {
            public_url.to_string()
        } else {
            config.auth.issuer.clone()
        };
        let notification_issuer = if config.notify.token_issuer.is_empty() {
            issuer.clone()
        } else {
            config.notify.token_issuer.clone()
        };
        let tokens = TokenService::new(
            keys,
            issuer,
            config.auth.api_audience.clone(),
            config.auth.access_token_lifetime_secs,
            notification_issuer,
            config.notify.token_lifetime_secs,
        );
        let transport = HttpTransport::new(
            Duration::from_millis(config.notify.connect_timeout_ms),
            Duration::from_millis(config.notify.request_timeout_ms),
        )
        .map_err(|e| StateError::HttpClient(e.to_string()))?;
        let notifier = Notifier::new(
            DeliverySettings::from_config(&config.notify),
            tokens.clone(),
            Arc::new(transport),
        );
        let throttle = RateLimiter::new(
            config.limits.requests_per_window,
            Duration::from_secs(u64::from(config.limits.window_secs)),
        );
        let admission = CallAdmission::new(
            config.limits.max_concurrent_calls_per_app,
            config.limits.max_concurrent_calls,
        );
        // The event channel comes first: the media plane reports into it from its first leg on,
        // and the call service reads it.
        let (media_sink, media_events) = MediaEventSink::channel(MEDIA_EVENT_QUEUE);
        let media = MediaEngine::start(&config.media, &public_url, media_sink)?;
        let shutdown = Shutdown::new();
        let timers = config.calls.timers();
        let softphone = Softphone::new(timers.user_ring_window, media.clone());
        let calls = super::calls::start_call_service(
            timers,
            media.clone(),
            media_events,
            &notifier,
            Arc::new(softphone.clone()),
            &shutdown,
        );
        softphone.attach(calls.clone());
        Ok(AppState {
            config: Arc::new(config),
            public_url,
            store,
            tokens: Arc::new(tokens),
            notifier,
            throttle: Arc::new(throttle),
            admission,
            shutdown,
            metrics,
            media,
            calls,
            softphone,
        })
    }
}
