//! OIDC discovery and the JWKS, so bots can verify the JWT on each notification (and clients can
//! find the token endpoint).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use super::json::GraphJson;
use super::state::AppState;

/// Path of the discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Path of the JWKS.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(State(state): State<AppState>) -> impl IntoResponse {
    let base = state.public_url.trim_end_matches('/');
    let body = json!({
        "issuer": state.tokens.issuer(),
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "token_endpoint": format!("{base}/{{tenant}}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["iss", "aud", "sub", "tid", "iat", "nbf", "exp", "appid", "idtyp"],
        "notification_issuer": state.tokens.notification_issuer(),
    });
    ([(header::CACHE_CONTROL, "max-age=3600")], GraphJson(body))
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "max-age=3600")],
        GraphJson(state.tokens.keys().jwks()),
    )
}
