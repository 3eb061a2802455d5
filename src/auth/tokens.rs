//! Access tokens (issued by the token endpoint, checked on every `/v1.0` request) and the
//! notification tokens that sign each callback POST. Both are RS256 JWTs from [`SigningKeys`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::keys::SigningKeys;
use crate::auth::principal::Principal;

/// Seconds of clock difference tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// Issuer: `auth.issuer`.
    pub iss: String,
    /// Audience: `auth.api_audience`.
    pub aud: String,
    /// Subject: the app id or user id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not before (Unix seconds).
    pub nbf: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// Unique token id.
    pub jti: String,
    /// `app` or `user` (as in Entra tokens).
    pub idtyp: String,
    /// Application id, on app tokens (as in Entra tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
}

/// Claims of a notification token (reference §1.4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotificationClaims {
    /// Issuer: `notify.token_issuer`.
    pub iss: String,
    /// Audience: the bot's application id.
    pub aud: String,
    /// Tenant id.
    pub tid: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not before (Unix seconds).
    pub nbf: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
}

/// Claims of the JWT on every dial of an app-hosted bot's media socket: signed with the same key
/// as notifications (published in the JWKS), for the bot's application, naming the call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MediaSocketClaims {
    /// Issuer: `notify.token_issuer` (as on notifications).
    pub iss: String,
    /// Audience: the bot's application id.
    pub aud: String,
    /// Tenant id.
    pub tid: String,
    /// The call whose media the socket carries.
    pub call_id: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not before (Unix seconds).
    pub nbf: u64,
    /// Expiry (Unix seconds): at most [`MEDIA_SOCKET_TOKEN_SECS`] after issue.
    pub exp: u64,
    /// Unique token id: a fresh token for every dial.
    pub jti: String,
}

/// Lifetime of a media-socket dial's JWT: the dial uses it at once; a reconnect mints a new one.
pub const MEDIA_SOCKET_TOKEN_SECS: u64 = 60;

/// A freshly issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The signed JWT in compact form, sent as `Authorization: Bearer …`.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Why a bearer token was refused. Messages are safe to return to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Its `exp` has passed (beyond the clock-skew leeway).
    #[error("the access token has expired; get a new one from the token endpoint")]
    Expired,
    /// Not yet valid.
    #[error("the access token is not valid yet (nbf is in the future)")]
    NotYetValid,
    /// Signature, algorithm, issuer or audience do not match this server.
    #[error("the access token was not issued by this server for this API: {0}")]
    Foreign(String),
    /// Not a JWT at all.
    #[error("the access token is malformed: {0}")]
    Malformed(String),
    /// Signing failed (server fault).
    #[error("token signing failed: {0}")]
    Signing(String),
}

/// Issues and verifies the server's JWTs.
#[derive(Debug, Clone)]
pub struct TokenService {
    keys: Arc<SigningKeys>,
    issuer: String,
    audience: String,
    access_lifetime_secs: u64,
    notification_issuer: String,
    notification_lifetime_secs: u64,
}

impl TokenService {
    /// A token service signing with `keys`.
    pub fn new(
        keys: Arc<SigningKeys>,
        issuer: String,
        audience: String,
        access_lifetime_secs: u64,
        notification_issuer: String,
        notification_lifetime_secs: u64,
    ) -> Self {
        TokenService {
            keys,
            issuer,
            audience,
            access_lifetime_secs,
            notification_issuer,
            notification_lifetime_secs,
        }
    }

    /// The `iss` of access tokens and of the OIDC document.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `iss` of notification tokens.
    pub fn notification_issuer(&self) -> &str {
        &self.notification_issuer
    }

    /// The signing keys (for the JWKS route).
    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// Issues an access token for `principal`.
    pub fn issue(&self, principal: &Principal) -> Result<IssuedToken, TokenError> {
        let now = unix_now();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: principal.subject().to_owned(),
            tid: principal.tenant_id().to_owned(),
            iat: now,
            nbf: now,
            exp: now + self.access_lifetime_secs,
            jti: uuid::Uuid::new_v4().to_string(),
            idtyp: principal.kind().to_owned(),
            appid: match principal {
                Principal::App { app_id, .. } => Some(app_id.clone()),
                Principal::User { .. } => None,
            },
        };
        let access_token = self.sign(&claims)?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.access_lifetime_secs,
        })
    }

    /// Checks signature, algorithm, issuer, audience and times, and returns the caller.
    ///
    /// Whether the tenant, app or user still exists is checked by the caller against the store.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Foreign(format!(
                "algorithm {:?}; allowed: RS256",
                header.alg
            )));
        }
        if header.kid.as_deref() != Some(self.keys.kid.as_str()) {
            return Err(TokenError::Foreign(format!(
                "unknown key id {:?}",
                header.kid
            )));
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<AccessClaims>(token, self.keys.decoding_key(), &validation)
                .map_err(classify)?;
        let claims = data.claims;
        match claims.idtyp.as_str() {
            "app" => Ok(Principal::App {
                app_id: claims.sub,
                tenant_id: claims.tid,
            }),
            "user" => Ok(Principal::User {
                user_id: claims.sub,
                tenant_id: claims.tid,
            }),
            other => Err(TokenError::Foreign(format!(
                "idtyp {other:?}; allowed: app, user"
            ))),
        }
    }

    /// Signs the bearer token for a notification POST to `app_id`'s callback.
    pub fn notification_token(&self, app_id: &str, tenant_id: &str) -> Result<String, TokenError> {
        let now = unix_now();
        let claims = NotificationClaims {
            iss: self.notification_issuer.clone(),
            aud: app_id.to_owned(),
            tid: tenant_id.to_owned(),
            iat: now,
            nbf: now,
            exp: now + self.notification_lifetime_secs,
        };
        self.sign(&claims)
    }

    /// A fresh JWT for one dial of call `call_id`'s media socket, for app `app_id`.
    pub fn media_socket_token(
        &self,
        app_id: &str,
        tenant_id: &str,
        call_id: &str,
    ) -> Result<String, TokenError> {
        let now = unix_now();
        let claims = MediaSocketClaims {
            iss: self.notification_issuer.clone(),
            aud: app_id.to_owned(),
            tid: tenant_id.to_owned(),
            call_id: call_id.to_owned(),
            iat: now,
            nbf: now,
            exp: now + MEDIA_SOCKET_TOKEN_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        self.sign(&claims)
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.keys.kid.clone());
        jsonwebtoken::encode(&header, claims, self.keys.encoding_key())
            .map_err(|e| TokenError::Signing(e.to_string()))
    }
}

fn classify(error: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidSignature => TokenError::Foreign("bad signature".into()),
        ErrorKind::InvalidIssuer => TokenError::Foreign("wrong issuer".into()),
        ErrorKind::InvalidAudience => TokenError::Foreign("wrong audience".into()),
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenError::Malformed(format!("missing claim {claim}"))
        }
        _ => TokenError::Malformed(error.to_string()),
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One token service for every test in the process: generating an RSA key per test would cost
/// more than the tests themselves. Its issuers are `http://sb.test`.
#[cfg(test)]
pub(crate) fn shared_for_tests() -> Arc<TokenService> {
    static SHARED: std::sync::OnceLock<Arc<TokenService>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temporary directory for the test key");
            // The key is read into memory; the directory goes when `dir` does.
            let keys = SigningKeys::load_or_create(dir.path()).expect("a test signing key");
            Arc::new(TokenService::new(
                Arc::new(keys),
                "http://sb.test".into(),
                "https://graph.microsoft.com".into(),
                3600,
                "http://sb.test".into(),
                300,
            ))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(dir: &std::path::Path, issuer: &str) -> TokenService {
        let keys = Arc::new(SigningKeys::load_or_create(dir).unwrap());
        TokenService::new(
            keys,
            issuer.into(),
            "https://graph.microsoft.com".into(),
            3600,
            issuer.into(),
            300,
        )
    }

    #[test]
    fn issued_app_token_verifies_to_the_same_principal() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = service(dir.path(), "http://sb.test");
        let app = Principal::App {
            app_id: "a1".into(),
            tenant_id: "t1".into(),
        };
        let issued = tokens.issue(&app).unwrap();
        assert_eq!(tokens.verify(&issued.access_token).unwrap(), app);
        let user = Principal::User {
            user_id: "u1".into(),
            tenant_id: "t1".into(),
        };
        let issued = tokens.issue(&user).unwrap();
        assert_eq!(tokens.verify(&issued.access_token).unwrap(), user);
    }

    #[test]
    fn expired_and_foreign_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = service(dir.path(), "http://sb.test");
        let now = unix_now();
        let expired = AccessClaims {
            iss: "http://sb.test".into(),
            aud: "https://graph.microsoft.com".into(),
            sub: "a1".into(),
            tid: "t1".into(),
            iat: now - 7200,
            nbf: now - 7200,
            exp: now - 60,
            jti: "j".into(),
            idtyp: "app".into(),
            appid: Some("a1".into()),
        };
        assert_eq!(
            tokens.verify(&tokens.sign(&expired).unwrap()),
            Err(TokenError::Expired)
        );

        let other_dir = tempfile::tempdir().unwrap();
        let other = service(other_dir.path(), "http://sb.test");
        let app = Principal::App {
            app_id: "a1".into(),
            tenant_id: "t1".into(),
        };
        let foreign = other.issue(&app).unwrap().access_token;
        assert!(matches!(
            tokens.verify(&foreign),
            Err(TokenError::Foreign(_))
        ));

        let wrong_issuer = service(dir.path(), "http://elsewhere.test")
            .issue(&app)
            .unwrap()
            .access_token;
        assert!(matches!(
            tokens.verify(&wrong_issuer),
            Err(TokenError::Foreign(_))
        ));
        assert!(matches!(
            tokens.verify("not.a.jwt"),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn notification_token_is_not_an_access_token() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = service(dir.path(), "http://sb.test");
        let notification = tokens.notification_token("a1", "t1").unwrap();
        assert!(
            tokens.verify(&notification).is_err(),
            "an aud of an app id is not the API audience"
        );
    }
}
