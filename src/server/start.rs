//! Building the server's services, once, in order: each one is made from the ones before it, and
//! the channels between them are made before either end — so nothing is connected late.
//!
//! ```text
//!  data dir ─▶ store ─▶ signing keys ─▶ tokens ─▶ notifier
//!  media events channel, tokens ─▶ media plane (workers)      ┐
//!  user signals channel ───────────────────────────────────── ├─▶ call service ─▶ softphone
//!                                                             ┘     (+ shutdown hook: end every call)
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;

use super::shutdown::Shutdown;
use crate::auth::keys::{KeyError, SigningKeys};
use crate::auth::tokens::TokenService;
use crate::calls::media::MediaEventSink;
use crate::calls::runtime::{CallService, MEDIA_EVENT_QUEUE};
use crate::config::Config;
use crate::http::AppState;
use crate::media_plane::{MediaEngine, MediaStartError};
use crate::notify::{CallbackPolicy, HttpTransport, Notifier};
use crate::softphone::Softphone;
use crate::store::{Store, StoreError};
use crate::throttle::{CallAdmission, RateLimiter, SignInGuard};

/// Why the services could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The data directory (`data_dir`) that could not be created.
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
    #[error("notification HTTP client: {reason}")]
    HttpClient {
        /// What the HTTP library reported.
        reason: String,
    },
}

/// Opens the store and keys in `config.data_dir` and builds every service; `shutdown` gets the
/// hook that ends every call. Call it inside a tokio runtime: the call service, the media plane
/// and the softphone start their tasks on it.
///
/// `public_url` is the resolved base URL (the bound port is known only after binding).
pub fn services(
    config: Config,
    public_url: &str,
    metrics: Option<PrometheusHandle>,
    shutdown: &Shutdown,
    inbox: SocketAddr,
) -> Result<AppState, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let public_url: Arc<str> = Arc::from(public_url.trim_end_matches('/'));
    let store = Store::open(&config.data_dir)?;
    let keys = Arc::new(SigningKeys::load_or_create(&config.data_dir.join("keys"))?);
    let tokens = Arc::new(token_service(&config, keys, &public_url));
    let transport = HttpTransport::new(
        Duration::from_millis(config.notify.connect_timeout_ms),
        Duration::from_millis(config.notify.request_timeout_ms),
        callback_policy(&config, inbox),
    )
    .map_err(|e| StartError::HttpClient {
        reason: e.to_string(),
    })?;
    let notifier = Notifier::new(
        config.notify.delivery(),
        TokenService::clone(&tokens),
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
    // The channels come first: the media plane reports into its event channel from its first
    // leg on, the call service rings users into the softphone's, and each reads its own.
    let (media_sink, media_events) = MediaEventSink::channel(MEDIA_EVENT_QUEUE);
    let (user_signals, user_signal_receiver) = crate::softphone::signals();
    let media = MediaEngine::start(&config.media, &public_url, media_sink, tokens.clone())?;
    let timers = config.calls.timers();
    let ring_window = timers.user_ring_window;
    let calls = CallService::start(
        timers,
        media.clone(),
        media_events,
        Arc::new(notifier.clone()),
        Arc::new(user_signals),
        super::journal::start(store.clone()),
    );
    let ending = calls.clone();
    shutdown.on_shutdown("end every call", move || async move {
        ending.with(|registry, _, fx| registry.end_all(fx));
    });
    let softphone = Softphone::start(
        ring_window,
        media.clone(),
        calls.clone(),
        user_signal_receiver,
    );
    let sign_ins = Arc::new(SignInGuard::new(
        config.auth.failed_sign_ins_per_source,
        config.auth.failed_sign_ins_per_client,
        config.auth.concurrent_slow_checks,
    ));
    Ok(AppState {
        config: Arc::new(config),
        public_url,
        store,
        tokens,
        notifier,
        throttle: Arc::new(throttle),
        sign_ins,
        admission,
        metrics,
        media,
        calls,
        softphone,
    })
}

/// Where notifications may go: public addresses (or any, when allowed), plus what the operator
/// configured — the `[[apps]]` calling webhooks and the built-in bots' loopback listener.
fn callback_policy(config: &Config, inbox: SocketAddr) -> CallbackPolicy {
    let mut trusted: Vec<String> = config
        .apps
        .iter()
        .filter_map(|app| app.calling_webhook.as_deref())
        .filter_map(CallbackPolicy::origin_of)
        .collect();
    trusted.push(format!("http://{inbox}"));
    CallbackPolicy {
        allow_private: config.notify.allow_private_addresses,
        trusted,
    }
}

/// Access tokens and notification tokens, with the configured issuers (the public URL when none).
fn token_service(config: &Config, keys: Arc<SigningKeys>, public_url: &str) -> TokenService {
    let issuer = if config.auth.issuer.is_empty() {
        public_url.to_owned()
    } else {
        config.auth.issuer.clone()
    };
    let notification_issuer = if config.notify.token_issuer.is_empty() {
        issuer.clone()
    } else {
        config.notify.token_issuer.clone()
    };
    TokenService::new(
        keys,
        issuer,
        config.auth.api_audience.clone(),
        config.auth.access_token_lifetime_secs,
        notification_issuer,
        config.notify.token_lifetime_secs,
    )
}
