//! The Graph error body (reference §5) and the one error type every route returns.
//!
//! Every error response of the server — from a handler, an extractor, the router's fallbacks, the
//! body limit or the panic catcher — leaves as
//! `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::request_id::RequestIds;

/// A Graph error: HTTP status, `error.code` and a developer-facing `error.message`.
///
/// Messages say what was wrong, with which value, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`: a Graph generic code (`itemNotFound`, …) or a numeric-looking calling code.
    pub code: Cow<'static, str>,
    /// `error.message`.
    pub message: String,
    /// Seconds for the `Retry-After` header (429, 503).
    pub retry_after_secs: Option<u64>,
    /// Value of the `WWW-Authenticate` header (401).
    pub www_authenticate: Option<String>,
}

/// Marker put in the extensions of a response that already carries a Graph error body, so the
/// error layer leaves it alone.
#[derive(Debug, Clone)]
pub(crate) struct GraphErrorRendered;

impl ApiError {
    /// An error with any status and code.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            retry_after_secs: None,
            www_authenticate: None,
        }
    }

    /// 400 `invalidRequest`: the body, a query or a path value is malformed or out of range.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalidRequest", message)
    }

    /// 401 `InvalidAuthenticationToken` with `WWW-Authenticate: Bearer …` (what Graph returns).
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message.clone(),
        );
        let description = message.replace(['"', '\\'], "'");
        error.www_authenticate = Some(format!(
            "Bearer realm=\"switchboard\", error=\"invalid_token\", error_description=\"{description}\""
        ));
        error
    }

    /// 403 `accessDenied`: the caller is authenticated but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "accessDenied", message)
    }

    /// 404 `itemNotFound`: unknown id (including ids that belong to another application).
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "itemNotFound", message)
    }

    /// 405 `notSupported`: the path exists but not with this method.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "notSupported", message)
    }

    /// 409 with a code: the request conflicts with the resource's state (e.g. a call's state).
    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 413 `invalidRequest`: the body is larger than `http.max_body_bytes`.
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalidRequest",
            format!("request body is larger than the allowed {limit_bytes} bytes"),
        )
    }

    /// 415 `invalidRequest`: a body with a content type other than JSON.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalidRequest",
            format!("content type {content_type:?} is not supported; allowed: application/json"),
        )
    }

    /// 429 `activityLimitReached` with `Retry-After`.
    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "activityLimitReached",
            message,
        );
        error.retry_after_secs = Some(retry_after_secs.max(1));
        error
    }

    /// 500 `generalException`: a fault of the server, never of the input. The message is logged
    /// by the caller; the client sees only `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            message,
        )
    }

    /// 503 `serviceNotAvailable` with `Retry-After` (e.g. shutting down).
    pub fn service_unavailable(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            message,
        );
        error.retry_after_secs = Some(retry_after_secs.max(1));
        error
    }

    /// The JSON body for this error, with the request's ids.
    pub fn body(&self, ids: &RequestIds) -> serde_json::Value {
        serde_json::to_value(GraphErrorBody {
            error: GraphErrorObject {
                code: &self.code,
                message: &self.message,
                inner_error: InnerError {
                    date: graph_date_now(),
                    request_id: &ids.request_id,
                    client_request_id: &ids.client_request_id,
                },
            },
        })
        .unwrap_or_else(|_| serde_json::json!({"error": {"code": "generalException"}}))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ids = RequestIds::current();
        let body = self.body(&ids).to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(value) = self.www_authenticate.as_deref()
            && let Ok(value) = HeaderValue::from_str(value)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response.extensions_mut().insert(GraphErrorRendered);
        response
    }
}

#[derive(Serialize)]
struct GraphErrorBody<'a> {
    error: GraphErrorObject<'a>,
}

#[derive(Serialize)]
struct GraphErrorObject<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(rename = "innerError")]
    inner_error: InnerError<'a>,
}

#[derive(Serialize)]
struct InnerError<'a> {
    date: String,
    #[serde(rename = "request-id")]
    request_id: &'a str,
    #[serde(rename = "client-request-id")]
    client_request_id: &'a str,
}

/// Graph's `innerError.date` format: UTC, seconds, no zone suffix.
fn graph_date_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The code a bare status maps to when a layer produced an error without a Graph body.
pub(crate) fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNSUPPORTED_MEDIA_TYPE
        | StatusCode::UNPROCESSABLE_ENTITY => "invalidRequest",
        StatusCode::UNAUTHORIZED => "InvalidAuthenticationToken",
        StatusCode::FORBIDDEN => "accessDenied",
        StatusCode::NOT_FOUND => "itemNotFound",
        StatusCode::METHOD_NOT_ALLOWED => "notSupported",
        StatusCode::CONFLICT => "notAllowed",
        StatusCode::TOO_MANY_REQUESTS => "activityLimitReached",
        StatusCode::SERVICE_UNAVAILABLE => "serviceNotAvailable",
        _ if status.is_client_error() => "invalidRequest",
        _ => "generalException",
    }
}

// How each domain module's errors leave as Graph errors. Domain code returns its own errors; this
// is the one place that decides their status and code.

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        match error {
            crate::store::StoreError::Duplicate { what, value } => ApiError::conflict(
                "nameAlreadyExists",
                format!("{what} {value:?} already exists"),
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal("the directory store failed; see the server log")
            }
        }
    }
}

/// The directory could not be read: a server fault the client may retry (503).
pub fn store_unavailable(error: crate::store::StoreError) -> ApiError {
    tracing::error!(%error, "directory lookup failed");
    ApiError::service_unavailable("the directory is not available right now; try again", 1)
}

/// A 400 naming the field, the value and what is allowed.
pub fn invalid(field: crate::calls::validate::InvalidField) -> ApiError {
    ApiError::bad_request(field.to_string())
}

impl From<crate::calls::registry::CallError> for ApiError {
    fn from(error: crate::calls::registry::CallError) -> ApiError {
        use crate::calls::registry::CallError;
        match &error {
            CallError::NotFound { .. } => ApiError::not_found(error.to_string()),
            CallError::Illegal(refusal) if refusal.call_has_ended() => {
                ApiError::not_found(error.to_string())
            }
            CallError::Illegal(_) | CallError::MediaNotConnected { .. } => {
                ApiError::conflict("notAllowed", error.to_string())
            }
            CallError::Invalid(field) => invalid(field.clone()),
            CallError::NotServiceHosted { .. } => ApiError::bad_request(error.to_string()),
        }
    }
}

impl From<crate::throttle::Throttled> for ApiError {
    fn from(error: crate::throttle::Throttled) -> Self {
        ApiError::too_many_requests(error.to_string(), error.retry_after_secs)
    }
}

impl From<crate::throttle::AdmissionError> for ApiError {
    fn from(error: crate::throttle::AdmissionError) -> Self {
        // 429 so clients back off and retry (the Graph SDK honours Retry-After on 429).
        ApiError::too_many_requests(error.to_string(), 5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_graph_shape_with_request_ids() {
        let ids = RequestIds {
            request_id: "r-1".into(),
            client_request_id: "c-1".into(),
        };
        let body = ApiError::not_found("Call 42 not found.").body(&ids);
        assert_eq!(body["error"]["code"], "itemNotFound");
        assert_eq!(body["error"]["message"], "Call 42 not found.");
        assert_eq!(body["error"]["innerError"]["request-id"], "r-1");
        assert_eq!(body["error"]["innerError"]["client-request-id"], "c-1");
        let date = body["error"]["innerError"]["date"].as_str().unwrap();
        assert_eq!(date.len(), "2024-07-19T20:11:22".len(), "date {date}");
    }

    #[test]
    fn throttling_error_carries_retry_after() {
        let response = ApiError::too_many_requests("slow down", 3).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }

    #[test]
    fn unauthenticated_sets_bearer_challenge() {
        let response = ApiError::unauthenticated("token \"x\" expired").into_response();
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(challenge.contains("invalid_token"), "{challenge}");
    }

    #[test]
    fn a_throttled_request_is_a_429_with_whole_second_retry_after() {
        let limiter = crate::throttle::RateLimiter::new(1, std::time::Duration::from_secs(15));
        let now = std::time::Instant::now();
        limiter.check_request("app", now).unwrap();
        let error: ApiError = limiter.check_request("app", now).unwrap_err().into();
        assert_eq!(error.status.as_u16(), 429);
        assert_eq!(error.retry_after_secs, Some(15));
    }

    #[test]
    fn a_refused_admission_is_a_429_naming_the_limit() {
        let admission = crate::throttle::CallAdmission::new(2, 1);
        let _held = admission.try_admit("a").unwrap();
        let error: ApiError = admission.try_admit("c").unwrap_err().into();
        assert_eq!(error.status.as_u16(), 429);
        assert!(
            error.message.contains("max_concurrent_calls"),
            "{}",
            error.message
        );
    }
}
