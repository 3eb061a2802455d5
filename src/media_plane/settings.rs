//! The `[media]` section of the configuration: worker threads, queues, recording memory, prompt
//! fetching limits, and (`[media.webrtc]`) the workers' UDP sockets.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::webrtc_settings::{WebRtcSettings, WebRtcSettingsError};

/// Media-plane settings; every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MediaSettings {
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Commands each worker's queue holds before `submit` refuses more.
    pub command_queue_capacity: usize,
    /// Recording buffers of [`MediaSettings::short_clip_secs`] per worker (used for recordings
    /// whose maximum duration fits).
    pub short_clips_per_worker: usize,
    /// Length of a short recording buffer, in seconds (1–120).
    pub short_clip_secs: u32,
    /// Recording buffers of the full 120 s per worker.
    pub long_clips_per_worker: usize,
    /// How long a finished recording stays downloadable, in seconds (it is also deleted when its
    /// call ends).
    pub recording_ttl_secs: u64,
    /// Prompt sources and fetch limits.
    pub prompts: PromptSettings,
    /// The workers' UDP sockets for people in browsers, and their timeouts.
    pub webrtc: WebRtcSettings,
    /// App-hosted bots' media sockets.
    pub app_hosted: AppHostedSettings,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            workers: 0,
            command_queue_capacity: 4096,
            short_clips_per_worker: 32,
            short_clip_secs: 20,
            long_clips_per_worker: 4,
            recording_ttl_secs: 300,
            prompts: PromptSettings::default(),
            webrtc: WebRtcSettings::default(),
            app_hosted: AppHostedSettings::default(),
        }
    }
}

/// The `[media.app_hosted]` section: dialling app-hosted bots' media sockets, and the bounds on
/// what each socket buffers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AppHostedSettings {
    /// Allow media-socket URLs that are, or resolve to, loopback, private, link-local or other
    /// non-public addresses. Off by default so a bot cannot make the server connect into its own
    /// network; single-machine set-ups and tests turn it on.
    pub allow_private_addresses: bool,
    /// Time allowed for one dial (TCP, TLS and the WebSocket handshake), in milliseconds.
    pub connect_timeout_ms: u64,
    /// How long a dropped socket is redialled (with backoff) before the leg ends with a media
    /// failure, in seconds; the call goes on meanwhile and the bot's side is silence.
    pub reconnect_window_secs: u64,
    /// Largest message a bot may send, in bytes (audio of any length up to this, or JSON).
    pub max_message_bytes: usize,
    /// Bot audio buffered ahead of playout above which the bot is asked to pause
    /// (`flowControl` pause), in milliseconds.
    pub pause_above_ms: u64,
    /// Buffered bot audio below which a paused bot is asked to resume, in milliseconds.
    pub resume_below_ms: u64,
    /// Most bot audio buffered ahead of playout, in milliseconds; more is discarded with a
    /// `warning` (mediaDiscarded).
    pub max_buffered_ms: u64,
    /// Audio toward the bot held for a slow reader, in milliseconds; the oldest is dropped
    /// beyond it (the next frame carries the discontinuity flag, and a `warning` follows).
    pub send_queue_ms: u64,
    /// Speakers' frames sent unmixed per 20 ms at most (the loudest first); 0 means no cap.
    pub max_unmixed_sources: usize,
}

impl Default for AppHostedSettings {
    fn default() -> Self {
        AppHostedSettings {
            allow_private_addresses: false,
            connect_timeout_ms: 5_000,
            reconnect_window_secs: 15,
            max_message_bytes: 1024 * 1024,
            pause_above_ms: 2_000,
            resume_below_ms: 1_000,
            max_buffered_ms: 10_000,
            send_queue_ms: 1_000,
            max_unmixed_sources: 0,
        }
    }
}

/// Where prompts may come from and the limits on fetching them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PromptSettings {
    /// Folder `mediaInfo.resourceId` names are looked up in (`<dir>/<resourceId>` or
    /// `<dir>/<resourceId>.wav`). Empty: resource ids are only cache keys of fetched prompts.
    pub dir: PathBuf,
    /// Largest prompt file accepted, in bytes.
    pub max_bytes: u64,
    /// Time allowed for one fetch (connect, redirects, whole body), in milliseconds.
    pub fetch_timeout_ms: u64,
    /// Time allowed to connect, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Redirects followed per fetch.
    pub max_redirects: usize,
    /// Allow prompt URLs (and redirects) that resolve to loopback, private, link-local or other
    /// non-public addresses. Off by default so a bot cannot make the server fetch from its own
    /// network; tests and single-machine setups turn it on.
    pub allow_private_addresses: bool,
    /// Prompts kept in the shared cache; the oldest is dropped beyond this (calls still playing
    /// it keep their copy).
    pub cache_max_prompts: usize,
}

impl Default for PromptSettings {
    fn default() -> Self {
        PromptSettings {
            dir: PathBuf::new(),
            max_bytes: 10 * 1024 * 1024,
            fetch_timeout_ms: 10_000,
            connect_timeout_ms: 3_000,
            max_redirects: 3,
            allow_private_addresses: false,
            cache_max_prompts: 512,
        }
    }
}

impl MediaSettings {
    /// The number of worker threads to start.
    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.workers
        }
    }

    /// How long recordings stay downloadable.
    pub fn recording_ttl(&self) -> Duration {
        Duration::from_secs(self.recording_ttl_secs)
    }

    /// Checks the values; the error names the key, the value and what is allowed.
    pub fn validate(&self) -> Result<(), MediaSettingsError> {
        let check = |ok: bool, key: &'static str, value: u64, allowed: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(MediaSettingsError::OutOfRange {
                    key,
                    value,
                    allowed,
                })
            }
        };
        // usize → u64 never truncates on the platforms Switchboard builds for.
        let count = |n: usize| n as u64;
        check(
            self.workers <= 256,
            "workers",
            count(self.workers),
            "0 (one per core) to 256",
        )?;
        check(
            (16..=1 << 20).contains(&self.command_queue_capacity),
            "command_queue_capacity",
            count(self.command_queue_capacity),
            "16 to 1048576",
        )?;
        check(
            (1..=120).contains(&self.short_clip_secs),
            "short_clip_secs",
            u64::from(self.short_clip_secs),
            "1 to 120",
        )?;
        check(
            self.short_clips_per_worker + self.long_clips_per_worker <= 4096,
            "short_clips_per_worker + long_clips_per_worker",
            count(self.short_clips_per_worker + self.long_clips_per_worker),
            "at most 4096",
        )?;
        check(
            self.recording_ttl_secs >= 1,
            "recording_ttl_secs",
            self.recording_ttl_secs,
            "1 or more seconds",
        )?;
        self.webrtc.edge_config(0, self.worker_count())?;
        let p = &self.prompts;
        check(
            p.max_bytes >= 44,
            "prompts.max_bytes",
            p.max_bytes,
            "44 (a WAV header) or more",
        )?;
        check(
            p.fetch_timeout_ms >= 1,
            "prompts.fetch_timeout_ms",
            p.fetch_timeout_ms,
            "1 or more",
        )?;
        check(
            p.connect_timeout_ms >= 1,
            "prompts.connect_timeout_ms",
            p.connect_timeout_ms,
            "1 or more",
        )?;
        check(
            p.max_redirects <= 10,
            "prompts.max_redirects",
            count(p.max_redirects),
            "0 to 10",
        )?;
        check(
            p.cache_max_prompts >= 1,
            "prompts.cache_max_prompts",
            count(p.cache_max_prompts),
            "1 or more",
        )?;
        self.app_hosted.validate()
    }
}

impl AppHostedSettings {
    /// Checks the values: non-zero windows, room for one frame a message, and
    /// `resume_below_ms` < `pause_above_ms` < `max_buffered_ms` (else flow control could never
    /// resume, or would pause only after audio was discarded).
    pub fn validate(&self) -> Result<(), MediaSettingsError> {
        let check = |ok: bool, key: &'static str, value: u64, allowed: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(MediaSettingsError::OutOfRange {
                    key,
                    value,
                    allowed,
                })
            }
        };
        let below = |key: &'static str, value: u64, limit_key: &'static str, limit: u64| {
            if value < limit {
                Ok(())
            } else {
                Err(MediaSettingsError::NotBelow {
                    key,
                    value,
                    limit_key,
                    limit,
                })
            }
        };
        check(
            (1..=60_000).contains(&self.connect_timeout_ms),
            "app_hosted.connect_timeout_ms",
            self.connect_timeout_ms,
            "1 to 60000",
        )?;
        check(
            (1..=3_600).contains(&self.reconnect_window_secs),
            "app_hosted.reconnect_window_secs",
            self.reconnect_window_secs,
            "1 to 3600",
        )?;
        // usize → u64 never truncates on the platforms Switchboard builds for.
        check(
            (660..=64 << 20).contains(&self.max_message_bytes),
            "app_hosted.max_message_bytes",
            self.max_message_bytes as u64,
            "660 (a header and one 20 ms frame) to 67108864",
        )?;
        check(
            (20..=60_000).contains(&self.send_queue_ms),
            "app_hosted.send_queue_ms",
            self.send_queue_ms,
            "20 (one frame) to 60000",
        )?;
        check(
            self.resume_below_ms >= 20,
            "app_hosted.resume_below_ms",
            self.resume_below_ms,
            "20 (one frame) or more",
        )?;
        check(
            self.max_buffered_ms <= 600_000,
            "app_hosted.max_buffered_ms",
            self.max_buffered_ms,
            "at most 600000 (ten minutes)",
        )?;
        check(
            self.max_unmixed_sources <= 256,
            "app_hosted.max_unmixed_sources",
            self.max_unmixed_sources as u64,
            "0 (no cap) to 256",
        )?;
        below(
            "app_hosted.resume_below_ms",
            self.resume_below_ms,
            "app_hosted.pause_above_ms",
            self.pause_above_ms,
        )?;
        below(
            "app_hosted.pause_above_ms",
            self.pause_above_ms,
            "app_hosted.max_buffered_ms",
            self.max_buffered_ms,
        )
    }
}

/// A `[media]` setting that cannot be used: the key, the value and what is allowed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaSettingsError {
    /// A number outside its range.
    #[error("media.{key} is {value}; allowed: {allowed}")]
    OutOfRange {
        /// The key under `[media]`, such as `workers` or `prompts.max_bytes`.
        key: &'static str,
        /// The value the configuration file or environment set.
        value: u64,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A value that must be below another setting is not.
    #[error("media.{key} is {value}; allowed: less than media.{limit_key} ({limit})")]
    NotBelow {
        /// The key under `[media]`, such as `app_hosted.resume_below_ms`.
        key: &'static str,
        /// Its value.
        value: u64,
        /// The setting it must stay below.
        limit_key: &'static str,
        /// That setting's value.
        limit: u64,
    },
    /// The `[media.webrtc]` section cannot make the workers' edges.
    #[error(transparent)]
    WebRtc(#[from] WebRtcSettingsError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        MediaSettings::default().validate().unwrap();
        let bad = MediaSettings {
            short_clip_secs: 0,
            ..MediaSettings::default()
        };
        let error = bad.validate().unwrap_err();
        assert!(
            matches!(
                error,
                MediaSettingsError::OutOfRange {
                    key: "short_clip_secs",
                    value: 0,
                    allowed: "1 to 120"
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "media.short_clip_secs is 0; allowed: 1 to 120"
        );
        let bad = MediaSettings {
            workers: 2,
            webrtc: WebRtcSettings {
                port: 65535,
                ..WebRtcSettings::default()
            },
            ..MediaSettings::default()
        };
        let error = bad.validate().unwrap_err();
        assert!(
            matches!(
                error,
                MediaSettingsError::WebRtc(WebRtcSettingsError::PortsDoNotFit { port: 65535, .. })
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("media.webrtc.port is 65535"));
    }

    #[test]
    fn app_hosted_thresholds_must_be_ordered_and_windows_non_zero() {
        let with = |app_hosted: AppHostedSettings| MediaSettings {
            app_hosted,
            ..MediaSettings::default()
        };
        let error = with(AppHostedSettings {
            resume_below_ms: 2_000,
            ..AppHostedSettings::default()
        })
        .validate()
        .unwrap_err();
        assert!(
            matches!(
                error,
                MediaSettingsError::NotBelow {
                    key: "app_hosted.resume_below_ms",
                    value: 2_000,
                    limit_key: "app_hosted.pause_above_ms",
                    limit: 2_000
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "media.app_hosted.resume_below_ms is 2000; allowed: less than \
             media.app_hosted.pause_above_ms (2000)"
        );
        let error = with(AppHostedSettings {
            max_buffered_ms: 1_500,
            ..AppHostedSettings::default()
        })
        .validate()
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("media.app_hosted.pause_above_ms is 2000; allowed: less than"),
            "{error}"
        );
        for (settings, key) in [
            (
                AppHostedSettings {
                    reconnect_window_secs: 0,
                    ..AppHostedSettings::default()
                },
                "app_hosted.reconnect_window_secs",
            ),
            (
                AppHostedSettings {
                    connect_timeout_ms: 0,
                    ..AppHostedSettings::default()
                },
                "app_hosted.connect_timeout_ms",
            ),
            (
                AppHostedSettings {
                    send_queue_ms: 0,
                    ..AppHostedSettings::default()
                },
                "app_hosted.send_queue_ms",
            ),
            (
                AppHostedSettings {
                    max_message_bytes: 100,
                    ..AppHostedSettings::default()
                },
                "app_hosted.max_message_bytes",
            ),
        ] {
            let error = with(settings).validate().unwrap_err();
            assert!(
                matches!(error, MediaSettingsError::OutOfRange { key: k, .. } if k == key),
                "{error:?}"
            );
        }
    }
}
