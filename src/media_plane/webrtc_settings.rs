//! The `[media.webrtc]` section: the UDP socket each media worker owns for people in browsers,
//! what it advertises to them, and how soon a peer that does not connect or goes quiet is given
//! up on. Turned into one [`EdgeConfig`] per worker.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::webrtc::{DEFAULT_UDP_PORT, EdgeConfig, EdgeError};

/// WebRTC settings of the media workers; every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebRtcSettings {
    /// Address every worker's UDP socket binds to (`0.0.0.0`: every interface).
    pub bind: IpAddr,
    /// UDP port of worker 0; worker *n* uses `port + n`. 0 lets each worker pick a free port
    /// (tests).
    pub port: u16,
    /// The address browsers reach this machine at, for a VM behind 1:1 NAT: then the only
    /// non-loopback address advertised.
    pub public_ip: Option<IpAddr>,
    /// Also advertise 127.0.0.1, for a browser on this machine started with
    /// `--allow-loopback-in-peer-connection` (tests, single-machine demos).
    pub advertise_loopback: bool,
    /// How long ICE and DTLS may take after the offer is answered, in milliseconds.
    pub connect_timeout_ms: u64,
    /// How long a connected browser may send nothing at all before its leg ends, in milliseconds.
    pub silence_timeout_ms: u64,
}

impl Default for WebRtcSettings {
    fn default() -> Self {
        let edge = EdgeConfig::default();
        WebRtcSettings {
            bind: edge.bind.ip(),
            port: DEFAULT_UDP_PORT,
            public_ip: None,
            advertise_loopback: false,
            connect_timeout_ms: edge.connect_timeout.as_millis() as u64,
            silence_timeout_ms: edge.silence_timeout.as_millis() as u64,
        }
    }
}

/// Why the `[media.webrtc]` settings cannot make a worker's edge: the key, the value and what is
/// allowed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebRtcSettingsError {
    /// One port per worker from `port` on runs past 65535.
    #[error(
        "media.webrtc.port is {port}; with {workers} workers the ports {port}..={last} do not fit \
         below 65536; allowed: 0 (any free port) or 1 to {highest}"
    )]
    PortsDoNotFit {
        /// The configured `media.webrtc.port` (worker 0's).
        port: u16,
        /// How many workers need a port each.
        workers: usize,
        /// The last worker's port, past 65535.
        last: u32,
        /// The highest first port that fits `workers` ports.
        highest: u32,
    },
    /// The edge refused the settings (timeouts, addresses).
    #[error("media.webrtc: {0} (keys connect_timeout_ms, silence_timeout_ms, public_ip, bind)")]
    Edge(#[source] EdgeError),
}

impl WebRtcSettings {
    /// The edge settings of worker `index` of `workers`; the error names the key and the value.
    pub fn edge_config(
        &self,
        index: usize,
        workers: usize,
    ) -> Result<EdgeConfig, WebRtcSettingsError> {
        let port = if self.port == 0 {
            0
        } else {
            let last = u32::from(self.port) + workers.saturating_sub(1) as u32;
            if last > u32::from(u16::MAX) {
                return Err(WebRtcSettingsError::PortsDoNotFit {
                    port: self.port,
                    workers,
                    last,
                    highest: u32::from(u16::MAX) + 1 - workers as u32,
                });
            }
            self.port + index as u16
        };
        let config = EdgeConfig {
            bind: SocketAddr::new(self.bind, port),
            public_ip: self.public_ip,
            advertise_loopback: self.advertise_loopback,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            silence_timeout: Duration::from_millis(self.silence_timeout_ms),
        };
        config.validate().map_err(WebRtcSettingsError::Edge)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_get_consecutive_ports_and_bad_values_are_named() {
        let settings = WebRtcSettings::default();
        let second = settings.edge_config(1, 2).unwrap();
        assert_eq!(second.bind, "0.0.0.0:40001".parse().unwrap());
        assert_eq!(second.connect_timeout, Duration::from_secs(10));
        let any = WebRtcSettings {
            port: 0,
            ..WebRtcSettings::default()
        };
        assert_eq!(any.edge_config(3, 4).unwrap().bind.port(), 0);
        let high = WebRtcSettings {
            port: 65535,
            ..WebRtcSettings::default()
        };
        let error = high.edge_config(0, 2).unwrap_err();
        assert!(
            matches!(
                error,
                WebRtcSettingsError::PortsDoNotFit {
                    port: 65535,
                    workers: 2,
                    last: 65536,
                    highest: 65534
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("media.webrtc.port is 65535"), "{message}");
        let short = WebRtcSettings {
            silence_timeout_ms: 100,
            ..WebRtcSettings::default()
        };
        let error = short.edge_config(0, 1).unwrap_err();
        assert!(matches!(error, WebRtcSettingsError::Edge(_)), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("silence_timeout"), "{message}");
    }
}
