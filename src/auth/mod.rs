//! Identity: signing keys, access and notification tokens, client secrets, and who a token says
//! is calling. The token endpoint, OIDC discovery and the bearer-token layer that use them are
//! in the HTTP layer (`http::token`, `http::discovery`, `http::auth`).

pub mod keys;
pub mod principal;
pub mod secret;
pub mod tokens;

pub use principal::Principal;
