//! Request ids and the outermost API layer: every response gets `request-id` and
//! `client-request-id` headers, and every error response gets a Graph error body.

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, GraphErrorRendered, code_for_status};

/// `request-id` header name.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
/// `client-request-id` header name (echoed when the client sends one).
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The ids of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    /// Server-assigned id (a UUID).
    pub request_id: String,
    /// The client's id if it sent a usable one, otherwise the server's.
    pub client_request_id: String,
}

tokio::task_local! {
    static CURRENT: RequestIds;
}

impl RequestIds {
    /// The ids of the request this task is serving; fresh ids outside a request.
    pub fn current() -> RequestIds {
        CURRENT
            .try_with(Clone::clone)
            .unwrap_or_else(|_| RequestIds::fresh(None))
    }

    fn fresh(client: Option<&HeaderValue>) -> RequestIds {
        let request_id = uuid::Uuid::new_v4().to_string();
        // Echo only short printable ids, so a hostile header cannot bloat bodies or logs.
        let client_request_id = client
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map_or_else(|| request_id.clone(), str::to_owned);
        RequestIds {
            request_id,
            client_request_id,
        }
    }
}

/// Largest error body of an inner layer that is read back to become a Graph message.
const MAX_PLAIN_ERROR_BYTES: usize = 16 * 1024;

/// Middleware: assigns request ids, makes them current for the request's task, turns error
/// responses produced without a Graph body (axum rejections, fallbacks, body limits) into Graph
/// errors, and sets the id headers on every response.
pub async fn request_context(request: Request, next: Next) -> Response {
    let ids = RequestIds::fresh(request.headers().get(&CLIENT_REQUEST_ID));
    let response = CURRENT.scope(ids.clone(), next.run(request)).await;
    let mut response = if response.status().as_u16() >= 400
        && response.extensions().get::<GraphErrorRendered>().is_none()
    {
        CURRENT
            .scope(ids.clone(), graph_error_from_plain(response))
            .await
    } else {
        response
    };
    metrics::counter!(crate::metrics::HTTP_RESPONSES, "status" => response.status().as_str().to_owned()).increment(1);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&ids.request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Ok(value) = HeaderValue::from_str(&ids.client_request_id) {
        headers.insert(CLIENT_REQUEST_ID, value);
    }
    response
}

/// Rebuilds a plain error response as a Graph error, keeping its status and useful headers.
async fn graph_error_from_plain(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_PLAIN_ERROR_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("error")
            .to_owned()
    } else {
        text
    };
    let error = ApiError::new(parts.status, code_for_status(parts.status), message);
    let mut rebuilt = error.into_response();
    // Keep headers the inner layer set on purpose (Allow on 405, Retry-After, WWW-Authenticate).
    for name in ["allow", "retry-after", "www-authenticate"] {
        if let Some(value) = parts.headers.get(name) {
            rebuilt
                .headers_mut()
                .insert(HeaderName::from_static(name), value.clone());
        }
    }
    rebuilt
}
