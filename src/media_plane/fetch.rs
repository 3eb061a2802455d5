//! Fetching prompt files over http(s) with limits: one overall deadline, a connect deadline, a
//! size cap (checked against `Content-Length` and again while reading), a redirect cap, and — unless
//! configured otherwise — only public addresses, checked for every name the client resolves (so
//! redirects and DNS answers that point inside the network are refused too) and for address
//! literals in the URL and in every redirect.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

use super::settings::PromptSettings;
use crate::address_policy::{
    AddressRefused, Purpose, check_addresses, check_literal, non_public_kind,
};

/// A fetch that was refused or failed: the URL and why, naming the value and the limit.
#[derive(Debug, thiserror::Error)]
#[error("fetching '{uri}': {reason}")]
pub struct FetchError {
    /// The prompt's URL as given.
    pub uri: String,
    /// What went wrong.
    #[source]
    pub reason: FetchFailure,
}

/// Why a prompt could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchFailure {
    /// The `mediaInfo.uri` is not a URL at all.
    #[error("not a URL ({0})")]
    NotAUrl(#[source] Box<dyn StdError + Send + Sync>),
    /// The URL's scheme is neither http nor https.
    #[error("only http and https URLs are fetched")]
    NotHttp,
    /// The URL names, or its host resolves to, an address prompts may not come from.
    #[error(transparent)]
    Address(AddressRefused),
    /// The whole fetch took longer than `media.prompts.fetch_timeout_ms`.
    #[error("no complete response within {timeout_ms} ms (media.prompts.fetch_timeout_ms)")]
    Timeout {
        /// The limit, in milliseconds.
        timeout_ms: u64,
    },
    /// The server answered with an error status.
    #[error("the server answered HTTP {0}")]
    Status(reqwest::StatusCode),
    /// The response's `Content-Length` is over `media.prompts.max_bytes`.
    #[error(
        "the file is {length} bytes; prompts may be at most {max} bytes (media.prompts.max_bytes)"
    )]
    DeclaredTooLarge {
        /// The size the server declared in `Content-Length`, in bytes.
        length: u64,
        /// The most bytes a prompt may have (`media.prompts.max_bytes`).
        max: u64,
    },
    /// The body grew past `media.prompts.max_bytes` while being read.
    #[error(
        "the file is larger than {max} bytes, the most a prompt may be (media.prompts.max_bytes)"
    )]
    TooLarge {
        /// The most bytes a prompt may have (`media.prompts.max_bytes`).
        max: u64,
    },
    /// The connection could not be made.
    #[error("could not connect: {}", chain(.0))]
    Connect(#[source] reqwest::Error),
    /// The request failed otherwise (a refused redirect, a broken response…).
    #[error("{}", chain(.0))]
    Request(#[source] reqwest::Error),
}

/// A redirect the fetcher does not follow. No error source: the words already say it all, and an
/// [`AddressRefused`] inside would make the fetch report the address without the redirect.
#[derive(Debug)]
enum RedirectRefused {
    TooMany {
        max: usize,
    },
    NotHttp {
        url: reqwest::Url,
    },
    Address {
        url: reqwest::Url,
        refused: AddressRefused,
    },
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedirectRefused::TooMany { max } => {
                write!(f, "more than {max} redirects (media.prompts.max_redirects)")
            }
            RedirectRefused::NotHttp { url } => {
                write!(f, "a redirect to '{url}', which is not http or https")
            }
            RedirectRefused::Address { url, refused } => {
                write!(f, "a redirect to {url}: {refused}")
            }
        }
    }
}

impl StdError for RedirectRefused {}

/// The client's resolver: the system's, then the public-address check.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Err(refused) = check_addresses(&host, &addrs, allow_private, Purpose::Prompt) {
                return Err(Box::new(refused) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Fetches prompt files under the configured limits.
#[derive(Debug, Clone)]
pub struct PromptFetcher {
    client: reqwest::Client,
    settings: PromptSettings,
}

impl PromptFetcher {
    /// A fetcher with `settings`' limits.
    pub fn new(settings: &PromptSettings) -> Result<PromptFetcher, reqwest::Error> {
        let allow_private = settings.allow_private_addresses;
        let max_redirects = settings.max_redirects;
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(RedirectRefused::TooMany { max: max_redirects });
            }
            let url = attempt.url().clone();
            if !matches!(url.scheme(), "http" | "https") {
                return attempt.error(RedirectRefused::NotHttp { url });
            }
            // Names are checked by the resolver; address literals never reach it.
            if !allow_private
                && let Some(host) = url.host_str()
                && let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>()
                && let Some(kind) = non_public_kind(ip)
            {
                let refused = AddressRefused {
                    host: host.to_owned(),
                    ip,
                    kind,
                    purpose: Purpose::Prompt,
                };
                return attempt.error(RedirectRefused::Address { url, refused });
            }
            attempt.follow()
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(policy)
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .timeout(Duration::from_millis(settings.fetch_timeout_ms))
            .dns_resolver(Arc::new(CheckedResolver { allow_private }))
            .user_agent(concat!(
                "Switchboard/",
                env!("CARGO_PKG_VERSION"),
                " (prompts)"
            ))
            .build()?;
        Ok(PromptFetcher {
            client,
            settings: settings.clone(),
        })
    }

    /// The file at `uri`, or why it cannot be had.
    pub async fn fetch(&self, uri: &str) -> Result<Vec<u8>, FetchError> {
        let fail = |reason: FetchFailure| FetchError {
            uri: uri.to_owned(),
            reason,
        };
        let url = reqwest::Url::parse(uri).map_err(|e| fail(FetchFailure::NotAUrl(Box::new(e))))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(fail(FetchFailure::NotHttp));
        }
        if let Some(host) = url.host_str()
            && let Err(refused) =
                check_literal(host, self.settings.allow_private_addresses, Purpose::Prompt)
        {
            return Err(fail(FetchFailure::Address(refused)));
        }
        let deadline = Duration::from_millis(self.settings.fetch_timeout_ms);
        match tokio::time::timeout(deadline, self.fetch_body(url)).await {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(fail(FetchFailure::Timeout {
                timeout_ms: self.settings.fetch_timeout_ms,
            })),
        }
    }

    async fn fetch_body(&self, url: reqwest::Url) -> Result<Vec<u8>, FetchFailure> {
        let max = self.settings.max_bytes;
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| self.describe(e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchFailure::Status(status));
        }
        if let Some(length) = response.content_length()
            && length > max
        {
            return Err(FetchFailure::DeclaredTooLarge { length, max });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(e))? {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(FetchFailure::TooLarge { max });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Says why the client failed, preferring our own address refusal found in its sources.
    fn describe(&self, error: reqwest::Error) -> FetchFailure {
        let mut source: Option<&(dyn StdError + 'static)> = error.source();
        while let Some(e) = source {
            if let Some(refused) = e.downcast_ref::<AddressRefused>() {
                return FetchFailure::Address(refused.clone());
            }
            source = e.source();
        }
        if error.is_timeout() {
            return FetchFailure::Timeout {
                timeout_ms: self.settings.fetch_timeout_ms,
            };
        }
        if error.is_connect() && !error.is_redirect() {
            return FetchFailure::Connect(error);
        }
        FetchFailure::Request(error)
    }
}

/// An error and its sources, joined by ": ".
fn chain(error: &dyn StdError) -> String {
    let mut words = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        words.push_str(": ");
        words.push_str(&e.to_string());
        source = e.source();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_classified() {
        let kind = |s: &str| non_public_kind(s.parse().unwrap());
        assert_eq!(kind("127.0.0.1"), Some("loopback"));
        assert_eq!(kind("10.1.2.3"), Some("private"));
        assert_eq!(kind("172.20.0.1"), Some("private"));
        assert_eq!(kind("192.168.1.1"), Some("private"));
        assert_eq!(kind("169.254.169.254"), Some("link-local"));
        assert_eq!(kind("100.64.0.1"), Some("shared (carrier-grade NAT)"));
        assert_eq!(kind("0.0.0.0"), Some("unspecified"));
        assert_eq!(kind("::1"), Some("loopback"));
        assert_eq!(kind("fd00::1"), Some("unique-local (private)"));
        assert_eq!(kind("fe80::1"), Some("link-local"));
        assert_eq!(kind("::ffff:10.0.0.1"), Some("private"));
        assert_eq!(kind("8.8.8.8"), None);
        assert_eq!(kind("2001:4860:4860::8888"), None);
        assert_eq!(kind("100.128.0.1"), None);
    }
}
