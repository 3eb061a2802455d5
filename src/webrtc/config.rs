//! Settings of the WebRTC edge and the host candidates it advertises.
//!
//! The edge is ICE-lite: it never probes the peer, it only answers the peer's connectivity checks
//! on the addresses it advertised. So the advertised addresses must be ones the peer can reach:
//! the public address of a VM behind 1:1 NAT, or else the machine's own interface addresses.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::EdgeError;

/// Port a media worker binds when none is configured; workers after the first add their index.
pub const DEFAULT_UDP_PORT: u16 = 40000;

/// Settings of one media worker's WebRTC edge: its UDP socket, what it advertises, and how fast
/// it gives up on a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    /// Address the worker's single UDP socket binds to. Port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Address peers reach this machine at, for a VM behind 1:1 NAT. When set, it is the only
    /// non-loopback host candidate advertised (with the bound port).
    pub public_ip: Option<IpAddr>,
    /// Also advertise the loopback address, for a browser on this machine started with
    /// `--allow-loopback-in-peer-connection`, and for tests. Off by default: browsers do not
    /// pair loopback candidates otherwise (RFC 8445).
    pub advertise_loopback: bool,
    /// How long a negotiated peer may take to complete ICE and DTLS before it is given up.
    pub connect_timeout: Duration,
    /// How long a connected peer may send nothing at all (no RTP, RTCP or STUN) before it is
    /// reported gone. Browsers send audio every 20 ms and consent checks every few seconds.
    pub silence_timeout: Duration,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            bind: SocketAddr::from(([0, 0, 0, 0], DEFAULT_UDP_PORT)),
            public_ip: None,
            advertise_loopback: false,
            connect_timeout: Duration::from_secs(10),
            silence_timeout: Duration::from_secs(5),
        }
    }
}

/// Shortest timeouts accepted: below these a busy machine or a browser's normal pauses (consent
/// checks every few seconds when a call is on hold) would end healthy calls.
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const MIN_SILENCE_TIMEOUT: Duration = Duration::from_secs(1);

impl EdgeConfig {
    /// Checks the settings, naming the bad value and what is allowed.
    pub fn validate(&self) -> Result<(), EdgeError> {
        if self.connect_timeout < MIN_CONNECT_TIMEOUT {
            return Err(EdgeError::InvalidConfig(format!(
                "connect_timeout is {:?}; it must be at least {:?}",
                self.connect_timeout, MIN_CONNECT_TIMEOUT
            )));
        }
        if self.silence_timeout < MIN_SILENCE_TIMEOUT {
            return Err(EdgeError::InvalidConfig(format!(
                "silence_timeout is {:?}; it must be at least {:?}",
                self.silence_timeout, MIN_SILENCE_TIMEOUT
            )));
        }
        if let Some(ip) = self.public_ip {
            if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() {
                return Err(EdgeError::InvalidConfig(format!(
                    "public_ip is {ip}; it must be a unicast address peers can reach \
                     (not unspecified, loopback or multicast)"
                )));
            }
            if ip.is_ipv4() != self.bind.is_ipv4() {
                return Err(EdgeError::InvalidConfig(format!(
                    "public_ip {ip} and bind address {} are of different IP families; \
                     one socket serves one family",
                    self.bind
                )));
            }
        }
        Ok(())
    }

    /// The host candidates to advertise for a socket bound at `bound` (the actual port, after a
    /// bind to port 0), reading the machine's interfaces when no public address is configured.
    pub fn host_candidates(&self, bound: SocketAddr) -> Result<Vec<SocketAddr>, EdgeError> {
        let interfaces = if self.public_ip.is_none() && bound.ip().is_unspecified() {
            if_addrs::get_if_addrs()
                .map_err(|e| {
                    EdgeError::InvalidConfig(format!("cannot list network interfaces: {e}"))
                })?
                .into_iter()
                .map(|interface| interface.ip())
                .collect()
        } else {
            Vec::new()
        };
        self.candidates_from(bound, &interfaces)
    }

    /// The host candidate rule, apart from reading interfaces so that it can be tested.
    pub(crate) fn candidates_from(
        &self,
        bound: SocketAddr,
        interfaces: &[IpAddr],
    ) -> Result<Vec<SocketAddr>, EdgeError> {
        let port = bound.port();
        let same_family = |ip: &IpAddr| ip.is_ipv4() == bound.is_ipv4();
        let mut ips: Vec<IpAddr> = Vec::new();
        if let Some(public) = self.public_ip {
            ips.push(public);
        } else if !bound.ip().is_unspecified() {
            ips.push(bound.ip());
        } else {
            ips.extend(
                interfaces
                    .iter()
                    .filter(|ip| same_family(ip) && is_routable_host(ip))
                    .copied(),
            );
        }
        // Loopback is only reachable when the socket listens on it too.
        let loopback_reachable = bound.ip().is_unspecified() || bound.ip().is_loopback();
        if self.advertise_loopback && loopback_reachable {
            let loopback = if bound.is_ipv4() {
                IpAddr::from([127, 0, 0, 1])
            } else {
                IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
            };
            ips.push(loopback);
        }
        ips.dedup();
        if ips.is_empty() {
            return Err(EdgeError::InvalidConfig(format!(
                "no address to advertise for the socket at {bound}: this machine has no \
                 non-loopback {} address; set public_ip, bind to a specific address, or \
                 enable advertise_loopback",
                if bound.is_ipv4() { "IPv4" } else { "IPv6" }
            )));
        }
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }
}

/// An interface address a peer elsewhere could send to: not loopback, unspecified, or an IPv6
/// link-local address (which needs a scope id that SDP cannot carry).
fn is_routable_host(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified() && !v4.is_link_local(),
        IpAddr::V6(v6) => !v6.is_loopback() && !v6.is_unspecified() && !v6.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_ip_is_the_only_non_loopback_candidate() {
        let config = EdgeConfig {
            public_ip: Some(ip("203.0.113.7")),
            ..EdgeConfig::default()
        };
        let bound: SocketAddr = "0.0.0.0:40000".parse().unwrap();
        let candidates = config
            .candidates_from(bound, &[ip("10.0.0.5"), ip("127.0.0.1")])
            .unwrap();
        assert_eq!(candidates, vec!["203.0.113.7:40000".parse().unwrap()]);
    }

    #[test]
    fn interfaces_are_advertised_without_loopback_unless_asked() {
        let bound: SocketAddr = "0.0.0.0:41000".parse().unwrap();
        let interfaces = [
            ip("127.0.0.1"),
            ip("10.0.0.5"),
            ip("169.254.1.1"),
            ip("fd00::2"),
            ip("192.0.2.2"),
        ];
        let config = EdgeConfig::default();
        assert_eq!(
            config.candidates_from(bound, &interfaces).unwrap(),
            vec![
                "10.0.0.5:41000".parse::<SocketAddr>().unwrap(),
                "192.0.2.2:41000".parse().unwrap()
            ]
        );
        let with_loopback = EdgeConfig {
            advertise_loopback: true,
            ..config
        };
        let candidates = with_loopback.candidates_from(bound, &interfaces).unwrap();
        assert_eq!(candidates.last(), Some(&"127.0.0.1:41000".parse().unwrap()));
        assert_eq!(candidates.len(), 3);
    }

    #[test]
    fn a_specific_bind_address_is_advertised_as_is() {
        let config = EdgeConfig {
            advertise_loopback: true,
            ..EdgeConfig::default()
        };
        let bound: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(
            config.candidates_from(bound, &[]).unwrap(),
            vec![bound],
            "loopback bind with loopback asked is advertised once"
        );
    }

    #[test]
    fn nothing_to_advertise_is_a_precise_error() {
        let bound: SocketAddr = "0.0.0.0:40000".parse().unwrap();
        let err = EdgeConfig::default()
            .candidates_from(bound, &[ip("127.0.0.1")])
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("no non-loopback IPv4 address"),
            "{message}"
        );
        assert!(message.contains("public_ip"), "{message}");
    }

    #[test]
    fn bad_settings_name_the_value_and_the_rule() {
        let short = EdgeConfig {
            silence_timeout: Duration::from_millis(200),
            ..EdgeConfig::default()
        };
        let message = short.validate().unwrap_err().to_string();
        assert!(
            message.contains("200ms") && message.contains("at least 1s"),
            "{message}"
        );

        let loopback_public = EdgeConfig {
            public_ip: Some(ip("127.0.0.1")),
            ..EdgeConfig::default()
        };
        let message = loopback_public.validate().unwrap_err().to_string();
        assert!(message.contains("public_ip is 127.0.0.1"), "{message}");

        let mixed = EdgeConfig {
            public_ip: Some(ip("2001:db8::1")),
            ..EdgeConfig::default()
        };
        assert!(
            mixed
                .validate()
                .unwrap_err()
                .to_string()
                .contains("IP families")
        );
        assert!(EdgeConfig::default().validate().is_ok());
    }
}
