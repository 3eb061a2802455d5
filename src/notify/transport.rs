//! One notification POST over HTTP(S), classified into what the delivery lane does next.
//!
//! Callback URIs are chosen by applications, so the address policy applies to every POST (and so
//! to every redirect the lane follows): a callback at a loopback, private or link-local address,
//! or at a name resolving to one, is refused unless `notify.allow_private_addresses` is on —
//! except the origins the operator configured ([`CallbackPolicy::trusted`]: the `[[apps]]`
//! calling webhooks, and the built-in bots' own loopback listener), which are trusted by
//! construction.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::address_policy::{AddressRefused, Purpose, check_addresses, check_literal};

/// What happened to one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// 2xx: the receiver has it.
    Delivered,
    /// 301/302/303/307/308 with `Location`: POST again there (Teams region affinity, §1.3).
    Redirect(String),
    /// Connection failure, timeout, 408, 425, 429 or 5xx: try again later, after at least
    /// `retry_after` when the receiver said so.
    Retry {
        /// What failed, for logs.
        reason: String,
        /// The receiver's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Any other 4xx: the receiver refuses this content; retrying would not help.
    Rejected(u16),
    /// The address policy refuses the callback's address; retrying would not help.
    Refused(AddressRefused),
}

/// Where callbacks may go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackPolicy {
    /// Allow callbacks at non-public addresses (`notify.allow_private_addresses`).
    pub allow_private: bool,
    /// Origins (`scheme://host:port`) callbacks may reach whatever their address: the ones the
    /// operator configured.
    pub trusted: Vec<String>,
}

impl CallbackPolicy {
    /// Whether `url`'s origin is one the operator configured.
    pub fn trusts(&self, url: &reqwest::Url) -> bool {
        let origin = url.origin().ascii_serialization();
        self.trusted.contains(&origin)
    }

    /// The origin of `uri` as [`CallbackPolicy::trusted`] holds it, if `uri` parses.
    pub fn origin_of(uri: &str) -> Option<String> {
        reqwest::Url::parse(uri)
            .ok()
            .map(|url| url.origin().ascii_serialization())
    }

    /// Refuses `uri` if it is an address literal the policy does not allow (names are checked
    /// when they resolve).
    pub fn check_literal(&self, uri: &str) -> Result<(), AddressRefused> {
        let Ok(url) = reqwest::Url::parse(uri) else {
            return Ok(());
        };
        if self.allow_private || self.trusts(&url) {
            return Ok(());
        }
        match url.host_str() {
            Some(host) => check_literal(host, false, Purpose::Callback),
            None => Ok(()),
        }
    }
}

/// The checked client's resolver: the system's, then the address policy.
struct CheckedResolver;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            check_addresses(&host, &addrs, false, Purpose::Callback)
                .map_err(|refused| Box::new(refused) as Box<dyn StdError + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Sends one POST. The real one is [`HttpTransport`]; pure-logic tests use an in-memory receiver.
pub trait Transport: Send + Sync + 'static {
    /// POSTs `body` with `headers` to `uri`.
    fn post(
        &self,
        uri: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = PostOutcome> + Send>>;
}

/// The reqwest-based transport: no automatic redirects (the lane follows them), bounded timeouts,
/// and the callback address policy.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    /// For trusted origins, and for everything when private addresses are allowed.
    open: reqwest::Client,
    /// For the rest: names resolving to non-public addresses are refused.
    checked: reqwest::Client,
    policy: Arc<CallbackPolicy>,
}

impl HttpTransport {
    /// A transport with these connect and whole-request timeouts, under `policy`.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        policy: CallbackPolicy,
    ) -> Result<Self, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(connect_timeout)
                .timeout(request_timeout)
        };
        Ok(HttpTransport {
            open: builder().build()?,
            checked: builder().dns_resolver(Arc::new(CheckedResolver)).build()?,
            policy: Arc::new(policy),
        })
    }
}

impl Transport for HttpTransport {
    fn post(
        &self,
        uri: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = PostOutcome> + Send>> {
        if let Err(refused) = self.policy.check_literal(&uri) {
            return Box::pin(async move { PostOutcome::Refused(refused) });
        }
        let open = self.policy.allow_private
            || reqwest::Url::parse(&uri).is_ok_and(|url| self.policy.trusts(&url));
        let client = if open { &self.open } else { &self.checked };
        let request = client.post(&uri).headers(headers).body(body);
        Box::pin(async move {
            match request.send().await {
                Ok(response) => classify(&uri, response.status(), response.headers()),
                Err(error) => {
                    if let Some(refused) = refused_by_policy(&error) {
                        return PostOutcome::Refused(refused.clone());
                    }
                    let kind = if error.is_timeout() {
                        "timed out"
                    } else if error.is_connect() {
                        "connection failed"
                    } else {
                        "request failed"
                    };
                    // The URL is left out: a callback URI may carry a token in its path or query.
                    PostOutcome::Retry {
                        reason: format!("{kind}: {}", error.without_url()),
                        retry_after: None,
                    }
                }
            }
        })
    }
}

/// The address refusal inside a failed request, if that is why it failed.
fn refused_by_policy(error: &reqwest::Error) -> Option<&AddressRefused> {
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<AddressRefused>() {
            return Some(refused);
        }
        source = e.source();
    }
    None
}

/// Maps a response status to the next step.
pub fn classify(uri: &str, status: StatusCode, headers: &HeaderMap) -> PostOutcome {
    if status.is_success() {
        return PostOutcome::Delivered;
    }
    if status.is_redirection() {
        let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
        return match location.and_then(|l| resolve(uri, l)) {
            Some(target) => PostOutcome::Redirect(target),
            None => PostOutcome::Retry {
                reason: format!("{status} without a usable Location"),
                retry_after: None,
            },
        };
    }
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status.as_u16() {
        408 | 425 | 429 | 500..=599 => PostOutcome::Retry {
            reason: format!("receiver answered {status}"),
            retry_after,
        },
        code => PostOutcome::Rejected(code),
    }
}

fn resolve(base: &str, location: &str) -> Option<String> {
    let base = reqwest::Url::parse(base).ok()?;
    let target = base.join(location).ok()?;
    matches!(target.scheme(), "http" | "https").then(|| target.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn statuses_map_to_next_steps() {
        let none = HeaderMap::new();
        assert_eq!(
            classify("http://a/x", StatusCode::ACCEPTED, &none),
            PostOutcome::Delivered
        );
        assert!(matches!(
            classify("http://a/x", StatusCode::SERVICE_UNAVAILABLE, &none),
            PostOutcome::Retry { .. }
        ));
        assert_eq!(
            classify("http://a/x", StatusCode::FORBIDDEN, &none),
            PostOutcome::Rejected(403)
        );
        let mut throttled = HeaderMap::new();
        throttled.insert(header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            classify("http://a/x", StatusCode::TOO_MANY_REQUESTS, &throttled),
            PostOutcome::Retry {
                reason: "receiver answered 429 Too Many Requests".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn redirects_resolve_relative_locations() {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, HeaderValue::from_static("/other/calls"));
        assert_eq!(
            classify(
                "http://bot.test:8080/api/calls",
                StatusCode::FOUND,
                &headers
            ),
            PostOutcome::Redirect("http://bot.test:8080/other/calls".into())
        );
        headers.insert(header::LOCATION, HeaderValue::from_static("ftp://x/y"));
        assert!(matches!(
            classify("http://bot.test/", StatusCode::FOUND, &headers),
            PostOutcome::Retry { .. }
        ));
    }
}

/// A callback URI as logs show it: scheme, host and port only, since the path or query of a
/// webhook often carries a token (`https://bot.example.com/…`). Unparsable text shows as `…`.
pub fn redacted(uri: &str) -> String {
    match reqwest::Url::parse(uri) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("");
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if url.path() == "/" && url.query().is_none() {
                "/"
            } else {
                "/…"
            };
            format!("{}://{host}{port}{rest}", url.scheme())
        }
        Err(_) => "…".to_owned(),
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    fn transport(policy: CallbackPolicy) -> HttpTransport {
        HttpTransport::new(
            Duration::from_millis(200),
            Duration::from_millis(500),
            policy,
        )
        .unwrap()
    }

    async fn post(transport: &HttpTransport, uri: &str) -> PostOutcome {
        transport
            .post(uri.into(), HeaderMap::new(), Bytes::from_static(b"{}"))
            .await
    }

    #[tokio::test]
    async fn callbacks_at_non_public_addresses_are_refused_unless_trusted_or_allowed() {
        let strict = transport(CallbackPolicy::default());
        let literal = post(&strict, "http://127.0.0.1:9/hook").await;
        assert!(
            matches!(literal, PostOutcome::Refused(ref r) if r.kind == "loopback"),
            "{literal:?}"
        );
        // A name is checked when it resolves (so a DNS answer that changed is caught too).
        let name = post(&strict, "http://localhost:9/hook").await;
        assert!(
            matches!(name, PostOutcome::Refused(ref r) if r.host == "localhost"),
            "{name:?}"
        );
        // A configured origin, or private addresses allowed: the POST is tried (nothing listens).
        let trusted = transport(CallbackPolicy {
            allow_private: false,
            trusted: vec!["http://127.0.0.1:9".into()],
        });
        assert!(matches!(
            post(&trusted, "http://127.0.0.1:9/hook").await,
            PostOutcome::Retry { .. }
        ));
        let open = transport(CallbackPolicy {
            allow_private: true,
            trusted: vec![],
        });
        assert!(matches!(
            post(&open, "http://localhost:9/hook").await,
            PostOutcome::Retry { .. }
        ));
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::redacted;

    #[test]
    fn logged_callback_uris_keep_only_scheme_host_and_port() {
        assert_eq!(
            redacted("https://bot.example.com:8443/api/calls?token=s3cret"),
            "https://bot.example.com:8443/…"
        );
        assert_eq!(redacted("http://10.0.0.5/"), "http://10.0.0.5/");
        assert_eq!(redacted("not a url"), "…");
    }
}
