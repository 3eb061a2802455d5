//! `GET /metrics`: the Prometheus text format of every metric `crate::metrics` names. It names
//! applications and shows the server's load, so it is served to loopback only, or — with
//! `metrics.token` set — to whoever presents that token (from anywhere, loopback included).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;

use super::error::ApiError;
use super::state::AppState;

/// `GET /metrics`: the Prometheus text format.
pub async fn render(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    match &state.config.metrics.token {
        Some(token) => {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.expose().as_bytes()))
            {
                return Err(ApiError::unauthenticated(
                    "/metrics needs Authorization: Bearer <metrics.token>",
                ));
            }
        }
        None if !peer.ip().is_loopback() => {
            return Err(ApiError::forbidden(format!(
                "/metrics is served to this machine only; {} is not loopback (set metrics.token \
                 to let a scraper elsewhere read it with that token)",
                peer.ip()
            )));
        }
        None => {}
    }
    let body = state
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
