//! What every call route shares: the server's call service, the caller's application as a call
//! owner, resolving targets through the directory, meeting lookups for joins, the mapping of call
//! errors to Graph errors, and response helpers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api::error::ApiError;
use crate::auth::extract::AuthenticatedApp;
use crate::calls::call::AppRef;
use crate::calls::endpoints::{EndpointRegistry, Reach};
use crate::calls::registry::CallError;
use crate::calls::runtime::CallService;
use crate::calls::validate::{InvalidField, Target};
use crate::graph::Party;
use crate::meetings::{self, MeetingRef};
use crate::server::state::AppState;
use crate::store::MeetingRecord;

/// The request's application with the server's call service.
pub struct Calls {
    /// The call service.
    pub service: CallService,
    /// The server state.
    pub state: AppState,
    /// The calling application.
    pub app: AuthenticatedApp,
}

impl FromRequestParts<AppState> for Calls {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let app = AuthenticatedApp::from_request_parts(parts, state).await?;
        Ok(Calls {
            service: state.calls.clone(),
            state: state.clone(),
            app,
        })
    }
}

impl Calls {
    /// The calling app as a call owner (display name and webhook from the directory).
    pub async fn owner(&self) -> Result<AppRef, ApiError> {
        let record = self
            .state
            .store
            .get_app(&self.app.app_id)
            .await
            .map_err(store_unavailable)?;
        Ok(match record {
            Some(app) => AppRef {
                app_id: app.id,
                tenant_id: app.tenant_id,
                display_name: Some(app.name),
                calling_webhook: app.calling_webhook,
            },
            None => AppRef {
                app_id: self.app.app_id.clone(),
                tenant_id: self.app.tenant_id.clone(),
                display_name: None,
                calling_webhook: None,
            },
        })
    }

    /// How each target can be reached; unknown directory entries and kinds of party this server
    /// cannot reach are refused, naming the target.
    pub async fn reach_all(&self, field: &str, targets: &[Target]) -> Result<Vec<Reach>, ApiError> {
        let mut reach = Vec::with_capacity(targets.len());
        for (i, target) in targets.iter().enumerate() {
            reach.push(self.reach(&format!("{field}[{i}]"), target).await?);
        }
        Ok(reach)
    }

    /// How one target can be reached.
    pub async fn reach(&self, field: &str, target: &Target) -> Result<Reach, ApiError> {
        let store = &self.state.store;
        let id = target.party.id().to_owned();
        let refuse = |allowed: &str| -> ApiError {
            invalid(InvalidField::new(
                format!("{field}.identity.{}.id", target.party.kind()),
                format!("'{id}'"),
                allowed,
            ))
        };
        match &target.party {
            Party::Application(_) => match store.get_app(&id).await.map_err(store_unavailable)? {
                Some(app) => Ok(Reach::App(AppRef {
                    app_id: app.id,
                    tenant_id: app.tenant_id,
                    display_name: Some(app.name),
                    calling_webhook: app.calling_webhook,
                })),
                None => Err(refuse("the id of an application registered on this server")),
            },
            Party::User(_) => match store.get_user(&id).await.map_err(store_unavailable)? {
                Some(user) if user.tenant_id == self.app.tenant_id => Ok(Reach::User {
                    endpoints: self.state.softphone.endpoints_of(&id),
                    user_id: user.id,
                }),
                _ => Err(refuse(&format!(
                    "the id of a user in tenant '{}'",
                    self.app.tenant_id
                ))),
            },
            Party::Phone(_) => Err(refuse(
                "no phone numbers: this server has no PSTN gateway; call a user or an application",
            )),
            Party::Guest(_) | Party::ApplicationInstance(_) => Err(refuse(
                "a user or an application; guests and application instances cannot be called here",
            )),
        }
    }

    /// The meeting a join names, checked against its passcode.
    pub async fn meeting_for_join(&self, reference: MeetingRef) -> Result<MeetingRecord, ApiError> {
        let store = &self.state.store;
        let tenant = &self.app.tenant_id;
        let (found, field, value) = match &reference {
            MeetingRef::JoinMeetingId { id, .. } => (
                store.find_meeting_by_join_id(id).await,
                "meetingInfo.joinMeetingId",
                id.clone(),
            ),
            MeetingRef::ThreadId(thread) => {
                let id = thread
                    .strip_prefix("19:meeting_")
                    .and_then(|t| t.strip_suffix("@thread.v2"))
                    .unwrap_or("");
                (
                    store.get_meeting(tenant, id).await,
                    "chatInfo.threadId",
                    thread.clone(),
                )
            }
            MeetingRef::MeetingId(id) => (
                store.get_meeting(tenant, id).await,
                "meetingInfo.token",
                id.clone(),
            ),
        };
        let record = found.map_err(store_unavailable)?.ok_or_else(|| {
            invalid(InvalidField::new(
                field,
                format!("'{value}'"),
                "the join details of an existing online meeting",
            ))
        })?;
        let in_progress = self
            .service
            .read(|registry| registry.meeting_in_progress(&record.id));
        meetings::check_not_ended(
            field,
            record.end_date_time.as_deref(),
            in_progress,
            time::OffsetDateTime::now_utc(),
        )
        .map_err(invalid)?;
        if let MeetingRef::JoinMeetingId { passcode, .. } = &reference {
            let meeting: crate::graph::OnlineMeeting =
                serde_json::from_value(record.meeting.clone())
                    .map_err(|e| ApiError::internal(e.to_string()))?;
            meetings::check_passcode(&meeting, passcode.as_deref()).map_err(invalid)?;
        }
        Ok(record)
    }

    /// The absolute URL of a path under `/v1.0`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/v1.0{path}", self.state.public_url)
    }
}

/// A 400 naming the field, the value and what is allowed.
pub fn invalid(field: InvalidField) -> ApiError {
    ApiError::bad_request(field.to_string())
}

/// The directory could not be read: a server fault the client may retry.
pub fn store_unavailable(error: crate::store::StoreError) -> ApiError {
    tracing::error!(%error, "directory lookup failed");
    ApiError::service_unavailable("the directory is not available right now; try again", 1)
}

impl From<CallError> for ApiError {
    fn from(error: CallError) -> ApiError {
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

/// A JSON response with a status, an optional `Location` and `@odata.context`.
pub fn json_response(
    status: StatusCode,
    location: Option<String>,
    context: Option<String>,
    body: impl Serialize,
) -> Response {
    let mut value = match serde_json::to_value(body) {
        Ok(value) => value,
        Err(error) => {
            return ApiError::internal(format!("response failed to serialize: {error}"))
                .into_response();
        }
    };
    if let (Some(context), serde_json::Value::Object(map)) = (context, &mut value) {
        map.insert("@odata.context".into(), context.into());
    }
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
