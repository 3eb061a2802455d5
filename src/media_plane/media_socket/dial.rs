//! One dial of a bot's media socket: the host resolved and every address checked against the
//! address policy at dial time, TCP to a checked address (never a second lookup, so a DNS answer
//! cannot change in between), TLS for `wss://`, and the WebSocket handshake with the
//! `switchboard.media.v1` subprotocol, a fresh JWT and the bot's own token.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::protocol::SUBPROTOCOL;
use crate::address_policy::{self, Purpose, ResolveError};

/// The header carrying the blob's `authToken`.
pub const AUTH_TOKEN_HEADER: &str = "X-Switchboard-Auth-Token";

/// A byte stream a WebSocket runs over: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connected media socket.
pub type Socket = WebSocketStream<Box<dyn Io>>;

/// What one dial needs; owned, so the dial can run as its own future.
#[derive(Debug, Clone)]
pub struct DialRequest {
    /// The blob's `url` (`ws://` or `wss://`).
    pub url: String,
    /// The JWT for `Authorization: Bearer`, minted for this dial.
    pub bearer: String,
    /// The blob's `authToken`, echoed in [`AUTH_TOKEN_HEADER`].
    pub auth_token: Option<String>,
    /// `media.app_hosted.allow_private_addresses`.
    pub allow_private: bool,
    /// Time allowed for the whole dial.
    pub connect_timeout: Duration,
    /// The largest message the WebSocket layer reads before it gives up on the connection.
    pub max_frame_bytes: usize,
}

/// Dials media sockets; holds the TLS settings every `wss://` dial shares, made at the first
/// such dial (loading the platform's roots costs time, and a server whose bots use `ws://` or no
/// app-hosted media at all never needs them).
#[derive(Clone, Default)]
pub struct Dialer {
    extra_roots: Arc<Vec<CertificateDer<'static>>>,
    tls: Arc<OnceLock<Result<Arc<ClientConfig>, String>>>,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("extra_roots", &self.extra_roots.len())
            .finish_non_exhaustive()
    }
}

impl Dialer {
    /// A dialer trusting the platform's root certificates (as webhooks do).
    pub fn new() -> Dialer {
        Dialer::default()
    }

    /// A dialer trusting the platform's roots and `roots` (a private CA, or a test's).
    pub fn with_extra_roots(roots: Vec<CertificateDer<'static>>) -> Dialer {
        Dialer {
            extra_roots: Arc::new(roots),
            tls: Arc::default(),
        }
    }

    /// The TLS settings, made on first use: the aws-lc-rs provider and the platform's verifier.
    fn tls(&self) -> Result<Arc<ClientConfig>, DialError> {
        let made = self.tls.get_or_init(|| {
            let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
            let roots = self.extra_roots.as_ref().clone();
            let verifier =
                rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
                    .map_err(|e| e.to_string())?;
            let tls = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            Ok(Arc::new(tls))
        });
        made.clone()
            .map_err(|reason| DialError::TlsSettings { reason })
    }

    /// Dials once, within `request.connect_timeout`.
    pub async fn dial(&self, request: DialRequest) -> Result<Socket, DialError> {
        let limit = request.connect_timeout;
        match tokio::time::timeout(limit, self.dial_unbounded(request)).await {
            Ok(result) => result,
            Err(_) => Err(DialError::Timeout {
                ms: limit.as_millis() as u64,
            }),
        }
    }

    async fn dial_unbounded(&self, request: DialRequest) -> Result<Socket, DialError> {
        let url = reqwest::Url::parse(&request.url).map_err(|e| DialError::Url {
            reason: e.to_string(),
        })?;
        let secure = match url.scheme() {
            "ws" => false,
            "wss" => true,
            other => {
                return Err(DialError::Url {
                    reason: format!("scheme {other}; allowed: ws, wss"),
                });
            }
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(DialError::Url {
                reason: "no host".into(),
            });
        };
        let addresses = address_policy::resolve_checked(
            host,
            port,
            request.allow_private,
            Purpose::MediaSocket,
        )
        .await?;
        let tcp = connect_any(&addresses).await?;
        // Audio frames are small and due every 20 ms: send them at once.
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> = if secure {
            let name =
                ServerName::try_from(host.trim_matches(['[', ']']).to_owned()).map_err(|e| {
                    DialError::Url {
                        reason: format!("host is not a TLS server name: {e}"),
                    }
                })?;
            let tls = TlsConnector::from(self.tls()?)
                .connect(name, tcp)
                .await
                .map_err(|source| DialError::Tls { source })?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let mut handshake =
            request
                .url
                .as_str()
                .into_client_request()
                .map_err(|e| DialError::Url {
                    reason: e.to_string(),
                })?;
        let headers = handshake.headers_mut();
        headers.insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
        let bearer =
            HeaderValue::from_str(&format!("Bearer {}", request.bearer)).map_err(|_| {
                DialError::Header {
                    name: "Authorization",
                }
            })?;
        headers.insert("Authorization", bearer);
        if let Some(token) = &request.auth_token {
            let token = HeaderValue::from_str(token).map_err(|_| DialError::Header {
                name: AUTH_TOKEN_HEADER,
            })?;
            headers.insert(AUTH_TOKEN_HEADER, token);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(request.max_frame_bytes))
            .max_frame_size(Some(request.max_frame_bytes));
        match tokio_tungstenite::client_async_with_config(handshake, stream, Some(config)).await {
            Ok((socket, _response)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                if matches!(status, 401 | 403) {
                    Err(DialError::Refused { status })
                } else {
                    Err(DialError::Status { status })
                }
            }
            Err(error) => Err(DialError::Handshake {
                reason: error.to_string(),
            }),
        }
    }
}

/// Connects to the first of `addresses` that answers.
async fn connect_any(addresses: &[SocketAddr]) -> Result<TcpStream, DialError> {
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(tcp) => return Ok(tcp),
            Err(source) => {
                last = Some(DialError::Connect {
                    address: *address,
                    source,
                })
            }
        }
    }
    Err(last.unwrap_or(DialError::NoAddress))
}

/// Why a dial failed. None of these carry the URL's path or query, or a token: they are logged
/// and end up in a call's result info.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    /// The URL cannot be dialled (the blob was checked, so this is rare).
    #[error("the URL cannot be dialled: {reason}")]
    Url {
        /// What is wrong with it.
        reason: String,
    },
    /// The dial's JWT cannot be signed (a server fault that a redial would not mend).
    #[error("the dial's token cannot be signed: {reason}")]
    Token {
        /// What the signer said.
        reason: String,
    },
    /// The host does not resolve, or resolves to an address the policy refuses.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The host resolved to no address at all.
    #[error("the host resolves to no address")]
    NoAddress,
    /// No TCP connection.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The checked address tried last.
        address: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The TLS settings cannot be made (no root certificates on this machine).
    #[error("TLS settings for media sockets cannot be made: {reason}")]
    TlsSettings {
        /// What rustls said.
        reason: String,
    },
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS failed: {source}")]
    Tls {
        /// What rustls said.
        source: std::io::Error,
    },
    /// A header value cannot be sent (a token with characters HTTP does not allow).
    #[error("the {name} header cannot carry the token (characters HTTP headers do not allow)")]
    Header {
        /// The header.
        name: &'static str,
    },
    /// The bot refused the dial: 401 or 403.
    #[error("the bot refused the dial with HTTP {status}")]
    Refused {
        /// The status.
        status: u16,
    },
    /// The bot answered the upgrade with another status.
    #[error("the bot answered the upgrade with HTTP {status}")]
    Status {
        /// The status.
        status: u16,
    },
    /// The WebSocket handshake failed (for example the bot did not accept
    /// `switchboard.media.v1`).
    #[error("WebSocket handshake failed: {reason}")]
    Handshake {
        /// What the WebSocket library said.
        reason: String,
    },
    /// The dial took longer than `media.app_hosted.connect_timeout_ms`.
    #[error("no connection within {ms} ms (media.app_hosted.connect_timeout_ms)")]
    Timeout {
        /// The limit.
        ms: u64,
    },
}

impl DialError {
    /// Whether dialling again cannot help: the bot refused us (401/403), the address is one the
    /// policy refuses, or the request itself cannot be made. The leg ends at once.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            DialError::Refused { .. }
                | DialError::Resolve(ResolveError::Refused(_))
                | DialError::Url { .. }
                | DialError::Token { .. }
                | DialError::Header { .. }
                | DialError::TlsSettings { .. }
        )
    }
}
