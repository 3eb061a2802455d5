//! Serving the router on a TCP listener: HTTP/1.1 and HTTP/2 (with WebSocket upgrades) through
//! hyper, with three things `axum::serve` does not give:
//!
//! - **Every request knows its peer** (`ConnectInfo<SocketAddr>`), for limits on what
//!   unauthenticated clients may cost per source address.
//! - **A malformed header line is ignored, not answered by hyper.** hyper answers a header value
//!   with control characters (`Content-Type: \x01\x02`) with a bare 400 and no body before any of
//!   our code runs; ignoring the line lets the request reach the routes, whose checks answer with a
//!   Graph error that says what is missing or wrong.
//! - **Graceful shutdown**: when `shutdown` resolves, no new connection is accepted, every open
//!   one finishes its request in flight and closes, and the returned future ends when all have.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// Serves `router` on `listener` until `shutdown` resolves, then until the open connections have
/// finished (the caller bounds that wait).
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) {
    let connections = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a connection reset before accept: keep serving
                    // the others, after a pause so a persistent error does not spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = tower::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            // A router never fails: its errors are responses.
            router.clone().oneshot(request.map(Body::new))
        });
        let mut builder = Builder::new(TokioExecutor::new());
        builder.http1().ignore_invalid_headers(true);
        builder.http2().enable_connect_protocol();
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}

/// The address a request came from (the TCP peer; behind a reverse proxy, the proxy's).
pub fn peer_of(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
}
