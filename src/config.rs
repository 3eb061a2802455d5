//! Server configuration: embedded defaults, then a TOML file, then `SWITCHBOARD_…` environment
//! variables, each layer overriding the one before.
//!
//! Nested keys map to environment variables with `__` between levels, for example
//! `http.listen` ↔ `SWITCHBOARD_HTTP__LISTEN` and `notify.queue_capacity_per_app` ↔
//! `SWITCHBOARD_NOTIFY__QUEUE_CAPACITY_PER_APP`. The README's "Configuration" section lists every
//! key; keep it in step with this file.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything `switchboard serve` can be told; every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite store, signing keys and demo credentials live.
    pub data_dir: PathBuf,
    /// HTTP listener and public address.
    pub http: HttpConfig,
    /// Structured logging.
    pub log: LogConfig,
    /// Access tokens and the issuer published in OIDC discovery.
    pub auth: AuthConfig,
    /// Notification delivery to bots' callback URIs.
    pub notify: NotifyConfig,
    /// Request rate limits and concurrent-call caps.
    pub limits: LimitsConfig,
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
    /// The media plane: workers, recordings, prompt fetching.
    pub media: crate::media_plane::MediaSettings,
    /// Seed a demo tenant, two agents and a demo app when no application is configured.
    pub demo: bool,
    /// Tenants to upsert at start.
    pub tenants: Vec<TenantConfig>,
    /// Applications (bots) to upsert at start.
    pub apps: Vec<AppConfig>,
    /// Users to upsert at start.
    pub users: Vec<UserConfig>,
    /// Built-in bots (`[[bots]]`). `crate::bots::flow` reads and checks them from the same file,
    /// with file and line in every error; they are listed here only so the file is accepted.
    #[serde(skip_serializing)]
    pub bots: Vec<figment::value::Value>,
    /// Speech-analysis services of built-in bots (`[[analysis]]`), read like `bots`.
    #[serde(skip_serializing)]
    pub analysis: Vec<figment::value::Value>,
    /// The checked flows of the built-in bots, filled in by `switchboard serve` before start.
    #[serde(skip)]
    pub flows: Option<std::sync::Arc<crate::bots::flow::FlowConfig>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./switchboard-data"),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            notify: NotifyConfig::default(),
            limits: LimitsConfig::default(),
            shutdown: ShutdownConfig::default(),
            media: crate::media_plane::MediaSettings::default(),
            demo: true,
            tenants: Vec::new(),
            apps: Vec::new(),
            users: Vec::new(),
            bots: Vec::new(),
            analysis: Vec::new(),
            flows: None,
        }
    }
}

/// HTTP listener settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to bind; port 0 picks a free port (logged at start).
    pub listen: SocketAddr,
    /// Base URL clients use to reach this server (`Location` headers, join links, default issuer).
    /// Empty: `http://localhost:PORT` (or the bound IP when it is not a wildcard).
    pub public_url: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            public_url: String::new(),
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Log output settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `switchboard=debug,tower_http=info`. `RUST_LOG` wins.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Token issuing settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `iss` of access tokens and of the OIDC discovery document. Empty: the public URL.
    pub issuer: String,
    /// `aud` of access tokens (what `scope=…/.default` asks for).
    pub api_audience: String,
    /// Lifetime of access tokens, in seconds.
    pub access_token_lifetime_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: String::new(),
            api_audience: "https://graph.microsoft.com".to_owned(),
            access_token_lifetime_secs: 3600,
        }
    }
}

/// Notification delivery settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// `iss` of the JWT on each notification POST. Empty: the auth issuer. Set it to what an
    /// existing bot validates, e.g. `https://api.botframework.com`.
    pub token_issuer: String,
    /// Lifetime of a notification JWT, in seconds.
    pub token_lifetime_secs: u64,
    /// Notifications waiting or in flight per application before new ones are refused.
    pub queue_capacity_per_app: usize,
    /// Most notifications for one call packed into one POST.
    pub max_batch: usize,
    /// Time allowed to connect to a callback URI, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Time allowed for a whole POST (connect, send, response), in milliseconds.
    pub request_timeout_ms: u64,
    /// First retry delay, in milliseconds; doubles per attempt.
    pub initial_backoff_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub max_backoff_ms: u64,
    /// Time after which a batch that still fails is given up and reported, in seconds.
    pub give_up_after_secs: u64,
    /// `User-Agent` of notification POSTs.
    pub user_agent: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            token_issuer: String::new(),
            token_lifetime_secs: 300,
            queue_capacity_per_app: 10_000,
            max_batch: 20,
            connect_timeout_ms: 2_000,
            request_timeout_ms: 10_000,
            initial_backoff_ms: 250,
            max_backoff_ms: 15_000,
            give_up_after_secs: 600,
            user_agent: concat!("Switchboard/", env!("CARGO_PKG_VERSION"), " (Calling/1.0)")
                .to_owned(),
        }
    }
}

/// Rate limits and caps. Defaults are the Graph values (reference §6).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests one application may make per window.
    pub requests_per_window: u32,
    /// Length of the rate window, in seconds.
    pub window_secs: u32,
    /// Concurrent calls one application may hold.
    pub max_concurrent_calls_per_app: u32,
    /// Concurrent calls on the whole server.
    pub max_concurrent_calls: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            requests_per_window: 50_000,
            window_secs: 15,
            max_concurrent_calls_per_app: 100,
            max_concurrent_calls: 1_000,
        }
    }
}

/// Graceful shutdown settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Time given to in-flight requests and to ending calls, in seconds.
    pub grace_secs: u64,
    /// Time given to the notification queues to drain after that, in seconds.
    pub notify_drain_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig {
            grace_secs: 10,
            notify_drain_secs: 10,
        }
    }
}

/// A tenant (directory) entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Tenant id used in token URLs and the `tid` claim (a GUID in Graph).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// An application (bot) entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Application (client) id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Tenant the application is registered in.
    pub tenant: String,
    /// Client secret in clear; hashed before it is stored. Never logged.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Where incoming-call notifications go.
    #[serde(default)]
    pub calling_webhook: Option<String>,
}

/// A user entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// User id (a GUID in Graph).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Tenant the user belongs to.
    pub tenant: String,
}

/// A secret string: its `Debug` and `Display` never show the value.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret in clear, for hashing or comparison only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` does not exist.
    #[error("config file {path} does not exist")]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// A key has the wrong type, an unknown name, or the TOML does not parse.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` (if any), then `SWITCHBOARD_…` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Missing {
                    path: path.to_owned(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("SWITCHBOARD_").split("__"));
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(join_figment_error(e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what: String| Err(ConfigError::Invalid(what));
        if self.limits.window_secs == 0 {
            return bad("limits.window_secs is 0; allowed: 1 or more seconds".into());
        }
        if self.limits.requests_per_window == 0 {
            return bad("limits.requests_per_window is 0; allowed: 1 or more".into());
        }
        if self.notify.max_batch == 0 {
            return bad("notify.max_batch is 0; allowed: 1 or more".into());
        }
        if self.notify.queue_capacity_per_app == 0 {
            return bad("notify.queue_capacity_per_app is 0; allowed: 1 or more".into());
        }
        if self.notify.initial_backoff_ms == 0
            || self.notify.max_backoff_ms < self.notify.initial_backoff_ms
        {
            return bad(format!(
                "notify backoff {}..{} ms is invalid; allowed: 0 < initial_backoff_ms <= max_backoff_ms",
                self.notify.initial_backoff_ms, self.notify.max_backoff_ms
            ));
        }
        self.media.validate().map_err(ConfigError::Invalid)?;
        for app in &self.apps {
            if !self.tenants.iter().any(|t| t.id == app.tenant) {
                return bad(format!(
                    "apps entry {:?} names tenant {:?}, which is not in [[tenants]]",
                    app.id, app.tenant
                ));
            }
        }
        for user in &self.users {
            if !self.tenants.iter().any(|t| t.id == user.tenant) {
                return bad(format!(
                    "users entry {:?} names tenant {:?}, which is not in [[tenants]]",
                    user.id, user.tenant
                ));
            }
        }
        Ok(())
    }
}

fn join_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
