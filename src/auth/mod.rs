//! Identity: signing keys, access and notification tokens, client secrets, the OAuth2 token
//! endpoint, OIDC discovery, and the bearer-token layer and extractors for `/v1.0`.

pub mod extract;
pub mod keys;
pub mod oauth;
pub mod oidc;
pub mod principal;
pub mod secret;
pub mod tokens;

pub use extract::{AuthenticatedApp, AuthenticatedPrincipal, AuthenticatedUser};
pub use principal::Principal;
