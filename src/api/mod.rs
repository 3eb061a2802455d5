//! The HTTP API surface shared by every resource: the Graph error type, the JSON body extractor,
//! request ids, and the `/v1.0` route table that resource modules add their routers to.

pub mod call_context;
pub mod calls;
pub mod error;
pub mod json;
pub mod meetings;
pub mod operations;
pub mod participants;
pub mod reminders;
pub mod request_id;
pub mod routes;

pub use error::ApiError;
pub use json::GraphJson;
