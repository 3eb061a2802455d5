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

pub use crate::logging::{LogConfig, LogFormat};
use crate::notify::{DeliverySettings, RetryPolicy};

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
    /// Call timers: answer window, keepAlive window, transfer and user ring timeouts.
    pub calls: CallsConfig,
    /// The softphone page: sign-in options.
    pub softphone: SoftphoneConfig,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// Seed a demo tenant, two agents and a demo app when no application is configured.
    pub demo: bool,
    /// Tenants to upsert at start.
    pub tenants: Vec<TenantConfig>,
    /// Applications (bots) to upsert at start.
    pub apps: Vec<AppConfig>,
    /// Users to upsert at start.
    pub users: Vec<UserConfig>,
    /// Built-in bots (`[[bots]]`). The flow reader (`bots::setup::prepare`) reads and checks them
    /// from the same file, with file and line in every error; they are listed here only so the
    /// file is accepted.
    #[serde(skip_serializing)]
    pub bots: Vec<figment::value::Value>,
    /// Speech-analysis services of built-in bots (`[[analysis]]`), read like `bots`.
    #[serde(skip_serializing)]
    pub analysis: Vec<figment::value::Value>,
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
            calls: CallsConfig::default(),
            softphone: SoftphoneConfig::default(),
            metrics: MetricsConfig::default(),
            demo: true,
            tenants: Vec::new(),
            apps: Vec::new(),
            users: Vec::new(),
            bots: Vec::new(),
            analysis: Vec::new(),
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
    /// Failed sign-ins (token requests and softphone logins) allowed per source address a minute;
    /// past it, that source is refused with 429 and `Retry-After` until the minute has passed.
    pub failed_sign_ins_per_source: u32,
    /// Failed sign-ins allowed per client (or user) id a minute before slow (key-stretched)
    /// checks for it are refused with 429; fast checks of generated secrets go on.
    pub failed_sign_ins_per_client: u32,
    /// Key-stretching checks (passwords, and client secrets hashed by earlier versions) running
    /// at once.
    pub concurrent_slow_checks: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: String::new(),
            api_audience: "https://graph.microsoft.com".to_owned(),
            access_token_lifetime_secs: 3600,
            failed_sign_ins_per_source: 30,
            failed_sign_ins_per_client: 10,
            concurrent_slow_checks: 2,
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
    /// Allow callback URIs (and their redirects) at loopback, private, link-local or other
    /// non-public addresses. Off by default so an app cannot make the server POST into its own
    /// network; the calling webhooks of `[[apps]]` are trusted whatever their address. The demo
    /// directory turns it on unless it is given.
    pub allow_private_addresses: bool,
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
            allow_private_addresses: false,
        }
    }
}

impl NotifyConfig {
    /// The notifier's delivery settings from this section.
    pub fn delivery(&self) -> DeliverySettings {
        DeliverySettings {
            queue_capacity_per_app: self.queue_capacity_per_app,
            max_batch: self.max_batch,
            retry: RetryPolicy {
                initial: std::time::Duration::from_millis(self.initial_backoff_ms),
                max: std::time::Duration::from_millis(self.max_backoff_ms),
                give_up_after: std::time::Duration::from_secs(self.give_up_after_secs),
            },
            user_agent: self.user_agent.clone(),
            jitter_seed: None,
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

/// Call timers, in milliseconds. The defaults are Graph's; tests shorten them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// Time an app has to answer, reject or redirect an incoming call (Graph: 15 s).
    pub answer_timeout_ms: u64,
    /// Longest time a call may go without a keepAlive (Graph: 45 minutes).
    pub keep_alive_timeout_ms: u64,
    /// Longest a transfer waits for its target before it is reported failed.
    pub transfer_timeout_ms: u64,
    /// How long a user's softphone rings before the call attempt ends with 408/10057.
    pub user_ring_timeout_ms: u64,
    /// Whether an application may call (redirect, transfer to, invite) an application of another
    /// tenant. On by default, as between federated tenants; off keeps each tenant to itself.
    pub allow_cross_tenant_app_calls: bool,
}

impl Default for CallsConfig {
    fn default() -> Self {
        let timers = crate::calls::call::CallTimers::default();
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        CallsConfig {
            answer_timeout_ms: ms(timers.answer_window),
            keep_alive_timeout_ms: ms(timers.keep_alive_window),
            transfer_timeout_ms: ms(timers.transfer_timeout),
            user_ring_timeout_ms: ms(timers.user_ring_window),
            allow_cross_tenant_app_calls: true,
        }
    }
}

impl CallsConfig {
    /// The timers the call registry runs with.
    pub fn timers(&self) -> crate::calls::call::CallTimers {
        use std::time::Duration;
        crate::calls::call::CallTimers {
            answer_window: Duration::from_millis(self.answer_timeout_ms),
            keep_alive_window: Duration::from_millis(self.keep_alive_timeout_ms),
            transfer_timeout: Duration::from_millis(self.transfer_timeout_ms),
            user_ring_window: Duration::from_millis(self.user_ring_timeout_ms),
        }
    }

    fn validate(&self) -> Result<(), String> {
        // A day bounds every timer: longer is a typo, and keeps `Instant` arithmetic far from overflow.
        const DAY_MS: u64 = 24 * 3600 * 1000;
        for (key, value) in [
            ("answer_timeout_ms", self.answer_timeout_ms),
            ("keep_alive_timeout_ms", self.keep_alive_timeout_ms),
            ("transfer_timeout_ms", self.transfer_timeout_ms),
            ("user_ring_timeout_ms", self.user_ring_timeout_ms),
        ] {
            if !(100..=DAY_MS).contains(&value) {
                return Err(format!(
                    "calls.{key} is {value}; allowed: 100 to {DAY_MS} milliseconds"
                ));
            }
        }
        Ok(())
    }
}

/// The softphone page's sign-in options.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SoftphoneConfig {
    /// Let anyone sign in as any directory user by picking it from a list, with no password
    /// (for demos and development). Unset: on exactly when the demo directory is seeded.
    pub dev_login: Option<bool>,
}

/// Who may read `/metrics`: it names applications and shows the server's load, so by default
/// only this machine (loopback) may; a scraper elsewhere presents the token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// With it, `/metrics` answers any address that sends `Authorization: Bearer <token>` (and
    /// refuses loopback requests without it); without it, loopback only.
    pub token: Option<Secret>,
}

impl Config {
    /// Whether the demo directory is seeded at start (`demo` on and no `[[apps]]`).
    pub fn seeds_demo(&self) -> bool {
        self.demo && self.apps.is_empty()
    }

    /// Whether the softphone's password-less dev login is on.
    pub fn dev_login(&self) -> bool {
        self.softphone
            .dev_login
            .unwrap_or_else(|| self.seeds_demo())
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

/// A `[[users]]` entry: a person of the directory, seeded into the store at start-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// User id (a GUID in Graph).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Tenant the user belongs to.
    pub tenant: String,
    /// Hash of the user's softphone password (`switchboard hash-password` prints one). Without
    /// it the user can sign in to the softphone only through the dev login.
    #[serde(default)]
    pub password_hash: Option<String>,
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
        /// The path given with `--config`.
        path: PathBuf,
    },
    /// A key has the wrong type, an unknown name, or the TOML does not parse.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The settings the demo turns on unless they are given.
const DEMO_PRIVATE_SOCKETS_KEY: &str = "media.app_hosted.allow_private_addresses";
const DEMO_PRIVATE_CALLBACKS_KEY: &str = "notify.allow_private_addresses";

impl Config {
    /// Loads defaults, then `file` (if any), then `SWITCHBOARD_…` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut given = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Missing {
                    path: path.to_owned(),
                });
            }
            given = given.merge(Toml::file_exact(path));
        }
        given = given.merge(Env::prefixed("SWITCHBOARD_").split("__"));
        let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(given.clone())
            .extract()
            .map_err(|e| ConfigError::Invalid(join_figment_error(e)))?;
        // The demo runs on one machine: its bots' webhooks and media sockets are on this
        // machine or its network, so they may be reached there unless the setting was given.
        if config.seeds_demo() {
            if given.find_value(DEMO_PRIVATE_SOCKETS_KEY).is_err() {
                config.media.app_hosted.allow_private_addresses = true;
            }
            if given.find_value(DEMO_PRIVATE_CALLBACKS_KEY).is_err() {
                config.notify.allow_private_addresses = true;
            }
        }
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
        self.media
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.calls.validate().map_err(ConfigError::Invalid)?;
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
            if let Some(hash) = &user.password_hash
                && !crate::auth::secret::is_secret_hash(hash)
            {
                return bad(format!(
                    "users entry {:?}: password_hash is not a pbkdf2-sha256 hash; allowed: the \
                     line `switchboard hash-password` prints",
                    user.id
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(Some(&path))
    }

    #[test]
    fn call_timers_come_from_the_calls_section() {
        let config =
            load("[calls]\nanswer_timeout_ms = 1500\nuser_ring_timeout_ms = 4000\n").unwrap();
        let timers = config.calls.timers();
        assert_eq!(timers.answer_window, std::time::Duration::from_millis(1500));
        assert_eq!(timers.user_ring_window, std::time::Duration::from_secs(4));
        assert_eq!(
            timers.keep_alive_window,
            crate::calls::call::CallTimers::default().keep_alive_window
        );
    }

    #[test]
    fn a_timer_out_of_range_is_refused_with_its_key() {
        let error = load("[calls]\ntransfer_timeout_ms = 5\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("calls.transfer_timeout_ms is 5; allowed: 100 to"),
            "{error}"
        );
    }

    #[test]
    fn the_demo_dials_private_media_sockets_unless_told_otherwise() {
        assert!(load("").unwrap().media.app_hosted.allow_private_addresses);
        assert!(load("").unwrap().notify.allow_private_addresses);
        let told = load("[media.app_hosted]\nallow_private_addresses = false\n").unwrap();
        assert!(!told.media.app_hosted.allow_private_addresses);
        let configured =
            load("[[tenants]]\nid = \"t\"\n[[apps]]\nid = \"a\"\ntenant = \"t\"\n").unwrap();
        assert!(!configured.media.app_hosted.allow_private_addresses);
        assert!(!configured.notify.allow_private_addresses);
    }

    #[test]
    fn dev_login_defaults_on_only_with_the_demo_directory() {
        let demo = load("").unwrap();
        assert!(demo.seeds_demo() && demo.dev_login());
        let configured =
            load("[[tenants]]\nid = \"t\"\n[[apps]]\nid = \"a\"\ntenant = \"t\"\n").unwrap();
        assert!(!configured.dev_login());
        let forced = load(
            "[softphone]\ndev_login = true\n[[tenants]]\nid = \"t\"\n[[apps]]\nid = \"a\"\ntenant = \"t\"\n",
        )
        .unwrap();
        assert!(forced.dev_login());
    }

    #[test]
    fn a_malformed_password_hash_is_refused() {
        let error = load(
            "[[tenants]]\nid = \"t\"\n[[users]]\nid = \"u\"\ndisplay_name = \"U\"\ntenant = \"t\"\npassword_hash = \"secret\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("password_hash is not a pbkdf2-sha256 hash"),
            "{error}"
        );
    }
}
