//! `POST /{tenant}/oauth2/v2.0/token`: OAuth2 client credentials, answered in the OAuth2 error
//! format (RFC 6749 §5.2) as Entra does, so token libraries understand the failures.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use super::error::GraphErrorRendered;
use super::request_id::RequestIds;
use super::state::AppState;
use crate::auth::principal::Principal;
use crate::auth::secret::{CheckCost, check_cost, generate_secret, hash_secret, verify_secret};
use crate::throttle::Throttled;

/// A hash no secret matches, checked for unknown clients so they take as long as known ones
/// with generated secrets (a fast hash: see `auth::secret`).
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| hash_secret(&generate_secret()));

/// An OAuth2 error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    retry_after_secs: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            retry_after_secs: None,
        }
    }

    /// 429 with `Retry-After`: too many failed sign-ins (`temporarily_unavailable`, as RFC 6749
    /// names a server that cannot take the request now).
    fn throttled(throttled: Throttled) -> Self {
        OAuthError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: "temporarily_unavailable",
            description: throttled.to_string(),
            retry_after_secs: Some(throttled.retry_after_secs),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let ids = RequestIds::current();
        let body = json!({
            "error": self.error,
            "error_description": self.description,
            "timestamp": jiff::Timestamp::now().to_string(),
            "trace_id": ids.request_id,
            "correlation_id": ids.client_request_id,
        });
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"switchboard\""),
            );
        }
        response.extensions_mut().insert(GraphErrorRendered);
        response
    }
}

/// Path of the token endpoint.
pub const PATH: &str = "/{tenant}/oauth2/v2.0/token";

/// `POST /{tenant}/oauth2/v2.0/token`: an access token for an application's client credentials.
pub async fn issue(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let now = Instant::now();
    let source = peer.ip();
    state
        .sign_ins
        .admit_source(source, now)
        .map_err(OAuthError::throttled)?;
    let bad_request =
        |error, description: String| OAuthError::new(StatusCode::BAD_REQUEST, error, description);
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let essence = content_type
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(bad_request(
                "invalid_request",
                format!(
                    "content type {essence:?} is not supported; allowed: application/x-www-form-urlencoded"
                ),
            ));
        }
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|e| {
        bad_request(
            "invalid_request",
            format!("the form body does not parse: {e}"),
        )
    })?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    let grant_type = field("grant_type").ok_or_else(|| {
        bad_request(
            "invalid_request",
            "the request body must contain grant_type".into(),
        )
    })?;
    if grant_type != "client_credentials" {
        return Err(bad_request(
            "unsupported_grant_type",
            format!("grant_type {grant_type:?} is not supported; allowed: client_credentials"),
        ));
    }
    let (client_id, client_secret) =
        client_credentials(&headers, field("client_id"), field("client_secret"))?;
    let scope = field("scope").ok_or_else(|| {
        bad_request(
            "invalid_request",
            "the request body must contain scope, e.g. https://graph.microsoft.com/.default".into(),
        )
    })?;
    if !scope.split(' ').any(|s| s.ends_with("/.default")) {
        return Err(bad_request(
            "invalid_scope",
            format!(
                "scope {scope:?} is not valid for client credentials; allowed: <resource>/.default, e.g. https://graph.microsoft.com/.default"
            ),
        ));
    }

    let store_failure = |_| {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the directory store failed; see the server log",
        )
    };
    if state
        .store
        .get_tenant(&tenant)
        .await
        .map_err(store_failure)?
        .is_none()
    {
        return Err(bad_request(
            "invalid_request",
            format!("tenant {tenant:?} was not found on this server"),
        ));
    }
    let app = state
        .store
        .get_app(&client_id)
        .await
        .map_err(store_failure)?;
    let stored_hash = app
        .as_ref()
        .filter(|app| app.tenant_id == tenant)
        .and_then(|app| app.secret_hash.clone());
    let hash = stored_hash.clone().unwrap_or_else(|| DECOY_HASH.clone());
    let secret_matches = match check_cost(&hash) {
        CheckCost::Cheap => verify_secret(&client_secret, &hash),
        CheckCost::Stretched => {
            // A hash of an earlier version: tens of milliseconds of key stretching, bounded per
            // client and in number at once.
            state
                .sign_ins
                .admit_slow_check(&client_id, now)
                .map_err(OAuthError::throttled)?;
            state
                .sign_ins
                .slow_check(move || verify_secret(&client_secret, &hash))
                .await
        }
    };
    if stored_hash.is_none() || !secret_matches {
        state.sign_ins.failed(source, &client_id, now);
        tracing::info!(tenant = %tenant, client_id = %client_id, "token request refused: invalid client credentials");
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            format!(
                "client {client_id:?} is not registered in tenant {tenant:?} or its secret is wrong"
            ),
        ));
    }

    let principal = Principal::App {
        app_id: client_id,
        tenant_id: tenant,
    };
    let issued = state.tokens.issue(&principal).map_err(|e| {
        tracing::error!(error = %e, "access token signing failed");
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "token signing failed",
        )
    })?;
    let body = json!({
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "ext_expires_in": issued.expires_in,
        "access_token": issued.access_token,
    });
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Client id and secret from the form (`client_secret_post`) or HTTP Basic (`client_secret_basic`).
fn client_credentials(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<(String, String), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            Some((id.to_owned(), secret.to_owned()))
        });
    match (form_id, form_secret, basic) {
        (Some(id), Some(secret), _) => Ok((id.to_owned(), secret.to_owned())),
        (_, None, Some(pair)) => Ok(pair),
        (None, _, _) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request body must contain client_id",
        )),
        (Some(id), None, None) => Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            format!("client {id:?} sent no client_secret (form field or HTTP Basic)"),
        )),
    }
}
