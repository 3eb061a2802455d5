//! The HTTP layer: every route, extractor and mapping to Graph errors the server has, in one
//! place. Domain modules below it (`calls`, `media_plane`, `notify`, `store`, `bots`, `reminders`,
//! `softphone`, `auth`) never import it; they return their own errors, which [`error`] maps.
//!
//! ```text
//!  request ─▶ request_id (ids, Graph error bodies) ─▶ routes::table() ─▶ auth (bearer, throttle)
//!          ─▶ handler (extractors: Calls, GraphJson) ─▶ domain call ─▶ json / ApiError response
//! ```
//!
//! - [`routes`]: the one route table — every path with its method and who may call it.
//! - [`state`]: [`AppState`], the handles a handler can reach (built by `server`).
//! - [`router`]: the table wrapped in the layers every request passes, and the answers for
//!   unknown paths, wrong methods and panics; [`serve`]: the accept loop (peer addresses,
//!   malformed headers, graceful shutdown).
//! - [`error`], [`json`], [`request_id`]: Graph error bodies (and the mapping of every domain
//!   error to one), the JSON body extractor and responses, request ids.
//! - [`auth`]: the bearer-token layer and the caller extractors; [`token`] and [`discovery`]: the
//!   OAuth2 token endpoint, OIDC discovery and the JWKS.
//! - One file per Graph resource: [`calls`] (with [`call_context`]), [`participants`],
//!   [`operations`], [`meetings`]; and per Switchboard extension: [`reminders`],
//!   [`notification_delivery`], [`calling_webhook`].
//! - [`recordings`], [`metrics`], [`softphone`] (pages and sign-in), [`softphone_socket`] (the
//!   pages' signaling socket) and [`inbox`] (the built-in bots' loopback webhook listener).

pub mod auth;
pub mod call_context;
pub mod callbacks;
pub mod calling_webhook;
pub mod calls;
pub mod discovery;
pub mod error;
pub mod inbox;
pub mod json;
pub mod meetings;
pub mod metrics;
pub mod notification_delivery;
pub mod operations;
pub mod participants;
pub mod recordings;
pub mod reminders;
pub mod request_id;
pub mod router;
pub mod routes;
pub mod serve;
pub mod softphone;
pub mod softphone_socket;
pub mod state;
pub mod token;

pub use error::ApiError;
pub use json::GraphJson;
pub use state::AppState;
