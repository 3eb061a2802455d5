//! One notification POST over HTTP(S), classified into what the delivery lane does next.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;

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

/// The reqwest-based transport: no automatic redirects (the lane follows them), bounded timeouts.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A transport with these connect and whole-request timeouts.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .build()?;
        Ok(HttpTransport { client })
    }
}

impl Transport for HttpTransport {
    fn post(
        &self,
        uri: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = PostOutcome> + Send>> {
        let request = self.client.post(&uri).headers(headers).body(body);
        Box::pin(async move {
            match request.send().await {
                Ok(response) => classify(&uri, response.status(), response.headers()),
                Err(error) => {
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
