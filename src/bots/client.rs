//! The bot side of the public contract: a Graph client for one application. It signs in by
//! client credentials at the server's token endpoint and calls `/v1.0` over HTTP, exactly as an
//! external bot does; built-in bots hold no handle on the call registry.

use std::time::{Duration, Instant};

use std::sync::Arc;

use serde_json::Value;

use crate::auth::principal::Principal;
use crate::auth::tokens::TokenService;

/// Why a request of a built-in bot failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request did not complete (connection refused, timeout).
    #[error("{method} {path}: {source}")]
    Http {
        /// HTTP method.
        method: &'static str,
        /// Path or URL.
        path: String,
        /// Why the request did not complete (connect, timeout, or reading the body).
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("{method} {path} answered {status}: {body}")]
    Status {
        /// HTTP method.
        method: &'static str,
        /// Path or URL.
        path: String,
        /// The HTTP status the server answered with (not 2xx).
        status: u16,
        /// The response body (a Graph error).
        body: String,
    },
    /// The server could not issue a token in-process.
    #[error("issuing a token: {0}")]
    Token(String),
}

/// A signed-in application talking to one Switchboard server.
#[derive(Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    base_url: String,
    tenant_id: String,
    app_id: String,
    credentials: Credentials,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

/// How a client gets its access tokens.
pub enum Credentials {
    /// Client credentials at the server's token endpoint, as an external bot does.
    Secret(String),
    /// Tokens the server issues in-process for an application that asked the server to act for
    /// it later (a reminder call), when its secret is not known.
    Issued(Arc<TokenService>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Secret(_) => f.write_str("Secret(***)"),
            Credentials::Issued(_) => f.write_str("Issued"),
        }
    }
}

impl GraphClient {
    /// A client for app `app_id` of `tenant_id` at `base_url` (`http://host:port`, no `/v1.0`).
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        tenant_id: &str,
        app_id: &str,
        credentials: Credentials,
    ) -> GraphClient {
        GraphClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            tenant_id: tenant_id.to_owned(),
            app_id: app_id.to_owned(),
            credentials,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// The id of the application this client signs in as.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// An access token, fetched again a minute before the current one expires.
    async fn token(&self) -> Result<String, ClientError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let secret = match &self.credentials {
            Credentials::Secret(secret) => secret.as_str(),
            Credentials::Issued(tokens) => {
                let principal = Principal::App {
                    app_id: self.app_id.clone(),
                    tenant_id: self.tenant_id.clone(),
                };
                let issued = tokens
                    .issue(&principal)
                    .map_err(|e| ClientError::Token(e.to_string()))?;
                let until = Instant::now()
                    + Duration::from_secs(issued.expires_in.saturating_sub(60).max(30));
                *cached = Some((issued.access_token.clone(), until));
                return Ok(issued.access_token);
            }
        };
        let path = format!("{}/{}/oauth2/v2.0/token", self.base_url, self.tenant_id);
        let response = self
            .http
            .post(&path)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.app_id.as_str()),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .map_err(|source| ClientError::Http {
                method: "POST",
                path: path.clone(),
                source,
            })?;
        let body = checked("POST", &path, response).await?;
        let token = body["access_token"].as_str().unwrap_or_default().to_owned();
        let lifetime = body["expires_in"].as_u64().unwrap_or(600);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(30));
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    /// POSTs `body` to `/v1.0{path}`; returns the JSON answer (`null` for 202 and 204).
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let url = format!("{}/v1.0{path}", self.base_url);
        let token = self.token().await?;
        let response = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|source| ClientError::Http {
                method: "POST",
                path: path.to_owned(),
                source,
            })?;
        checked("POST", path, response).await
    }

    /// GETs `/v1.0{path}`.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        let url = format!("{}/v1.0{path}", self.base_url);
        let token = self.token().await?;
        let response = self
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|source| ClientError::Http {
                method: "GET",
                path: path.to_owned(),
                source,
            })?;
        checked("GET", path, response).await
    }

    /// DELETEs `/v1.0{path}`.
    pub async fn delete(&self, path: &str) -> Result<(), ClientError> {
        let url = format!("{}/v1.0{path}", self.base_url);
        let token = self.token().await?;
        let response = self
            .http
            .delete(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|source| ClientError::Http {
                method: "DELETE",
                path: path.to_owned(),
                source,
            })?;
        checked("DELETE", path, response).await.map(|_| ())
    }

    /// Downloads a recording from its `recordingLocation` with its `recordingAccessToken`.
    pub async fn download(&self, location: &str, token: &str) -> Result<Vec<u8>, ClientError> {
        let response = self
            .http
            .get(location)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|source| ClientError::Http {
                method: "GET",
                path: location.to_owned(),
                source,
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|source| ClientError::Http {
            method: "GET",
            path: location.to_owned(),
            source,
        })?;
        if !status.is_success() {
            return Err(ClientError::Status {
                method: "GET",
                path: location.to_owned(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Ok(bytes.to_vec())
    }
}

async fn checked(
    method: &'static str,
    path: &str,
    response: reqwest::Response,
) -> Result<Value, ClientError> {
    let status = response.status();
    let text = response.text().await.map_err(|source| ClientError::Http {
        method,
        path: path.to_owned(),
        source,
    })?;
    if !status.is_success() {
        return Err(ClientError::Status {
            method,
            path: path.to_owned(),
            status: status.as_u16(),
            body: text,
        });
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
