//! Which addresses the server may connect to on someone else's behalf. Prompt URLs, app-hosted
//! media sockets and callback URIs name hosts chosen by an application; without a check, any app could make the
//! server reach services inside its network. By default only public addresses are allowed; each
//! use has its own setting to allow private ones (single-machine set-ups and tests).
//!
//! Names are checked after resolution (every address they resolve to), and again when the server
//! actually connects, so a DNS answer that changes in between cannot slip past.

use std::net::{IpAddr, SocketAddr};

/// What the server connects to, for the words of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// Fetching a prompt file (`media.prompts.allow_private_addresses`).
    Prompt,
    /// Dialling an app-hosted bot's media socket (`media.app_hosted.allow_private_addresses`).
    MediaSocket,
    /// POSTing notifications to a callback URI (`notify.allow_private_addresses`).
    Callback,
}

impl Purpose {
    /// The setting that allows private addresses for this use.
    pub fn setting(self) -> &'static str {
        match self {
            Purpose::Prompt => "media.prompts.allow_private_addresses",
            Purpose::MediaSocket => "media.app_hosted.allow_private_addresses",
            Purpose::Callback => "notify.allow_private_addresses",
        }
    }

    /// What may only be at public addresses, as a sentence's subject.
    fn subject(self) -> &'static str {
        match self {
            Purpose::Prompt => "prompts may only come from public addresses",
            Purpose::MediaSocket => "media sockets may only be at public addresses",
            Purpose::Callback => "callbacks may only go to public addresses",
        }
    }
}

/// An address the server may not connect to for `purpose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRefused {
    /// The host as named (a name, or an address literal).
    pub host: String,
    /// The address it is, or resolves to.
    pub ip: IpAddr,
    /// What kind of non-public address it is (see [`non_public_kind`]).
    pub kind: &'static str,
    /// What the connection was for.
    pub purpose: Purpose,
}

impl std::fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let AddressRefused {
            host,
            ip,
            kind,
            purpose,
        } = self;
        if host.trim_matches(['[', ']']) == ip.to_string() {
            write!(f, "{ip} is a {kind} address")?;
        } else {
            write!(f, "{host} resolves to {ip}, a {kind} address")?;
        }
        write!(
            f,
            "; {} (set {} to allow it)",
            purpose.subject(),
            purpose.setting()
        )
    }
}

impl std::error::Error for AddressRefused {}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || o[0] == 0 {
                Some("unspecified")
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                Some("shared (carrier-grade NAT)")
            } else if v4.is_multicast() || v4.is_broadcast() || o[0] >= 240 {
                Some("multicast or reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_kind(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if (first & 0xfe00) == 0xfc00 {
                Some("unique-local (private)")
            } else if (first & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

/// The first of `addresses` that `host` may not be, unless private addresses are allowed.
pub fn check_addresses(
    host: &str,
    addresses: &[SocketAddr],
    allow_private: bool,
    purpose: Purpose,
) -> Result<(), AddressRefused> {
    if allow_private {
        return Ok(());
    }
    match addresses
        .iter()
        .find_map(|a| non_public_kind(a.ip()).map(|k| (a.ip(), k)))
    {
        Some((ip, kind)) => Err(AddressRefused {
            host: host.to_owned(),
            ip,
            kind,
            purpose,
        }),
        None => Ok(()),
    }
}

/// An address literal `host` (`10.0.0.1`, `[::1]`) that is not public, unless allowed. Names are
/// left to [`resolve_checked`].
pub fn check_literal(
    host: &str,
    allow_private: bool,
    purpose: Purpose,
) -> Result<(), AddressRefused> {
    match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => check_addresses(host, &[SocketAddr::new(ip, 0)], allow_private, purpose),
        Err(_) => Ok(()),
    }
}

/// Why a host could not be connected to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The name does not resolve.
    #[error("{host} does not resolve: {source}")]
    Lookup {
        /// The name.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// It resolves to an address the policy refuses.
    #[error(transparent)]
    Refused(#[from] AddressRefused),
}

/// Resolves `host:port` and checks every address it resolves to.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    allow_private: bool,
    purpose: Purpose,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let bare = host.trim_matches(['[', ']']);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|source| ResolveError::Lookup {
            host: host.to_owned(),
            source,
        })?
        .collect();
    check_addresses(host, &addresses, allow_private, purpose)?;
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_private_and_link_local_are_named_and_public_passes() {
        let kind = |s: &str| non_public_kind(s.parse().unwrap());
        assert_eq!(kind("127.0.0.1"), Some("loopback"));
        assert_eq!(kind("10.1.2.3"), Some("private"));
        assert_eq!(kind("169.254.1.1"), Some("link-local"));
        assert_eq!(kind("::1"), Some("loopback"));
        assert_eq!(kind("fd00::1"), Some("unique-local (private)"));
        assert_eq!(kind("::ffff:192.168.0.1"), Some("private"));
        assert_eq!(kind("93.184.215.14"), None);
    }

    #[test]
    fn a_refusal_names_the_address_and_the_setting_that_allows_it() {
        let refused = check_literal("[::1]", false, Purpose::MediaSocket).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "::1 is a loopback address; media sockets may only be at public addresses \
             (set media.app_hosted.allow_private_addresses to allow it)"
        );
        assert!(check_literal("[::1]", true, Purpose::MediaSocket).is_ok());
        assert!(check_literal("bot.example.com", false, Purpose::MediaSocket).is_ok());
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        let refused = resolve_checked("localhost", 80, false, Purpose::Prompt)
            .await
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("localhost resolves to 127.0.0.1, a loopback address")
                || refused.to_string().contains("localhost resolves to ::1"),
            "{refused}"
        );
        assert!(
            resolve_checked("localhost", 80, true, Purpose::Prompt)
                .await
                .is_ok()
        );
    }
}
