//! What every call route shares: the server's call service, the caller's application as a call
//! owner, resolving targets through the directory, and meeting lookups for joins.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::auth::AuthenticatedApp;
use super::error::{ApiError, invalid, store_unavailable};
use super::state::AppState;
use crate::address_policy::{self, Purpose};
use crate::calls::call::AppRef;
use crate::calls::endpoints::{EndpointRegistry, Reach};
use crate::calls::media::MediaSocketConfig;
use crate::calls::runtime::CallService;
use crate::calls::validate::{InvalidField, Target};
use crate::graph::Party;
use crate::meetings::{self, MeetingRef};
use crate::store::MeetingRecord;

/// The request's application with the server's call service.
pub struct Calls {
    /// Every live call, which the route reads or changes on behalf of `app`.
    pub service: CallService,
    /// The rest of the server: the directory for targets and meetings, the softphone's endpoints.
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
                Some(app)
                    if app.tenant_id != self.app.tenant_id
                        && !self.state.config.calls.allow_cross_tenant_app_calls =>
                {
                    Err(refuse(&format!(
                        "the id of an application of tenant '{}' (calls.allow_cross_tenant_app_calls \
                         is off on this server)",
                        self.app.tenant_id
                    )))
                }
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
            jiff::Timestamp::now(),
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

    /// Refuses an app-hosted bot's media-socket URL the server may not dial: an address (or a
    /// name resolving to one) outside the address policy, or a name that does not resolve. The
    /// media plane checks again when it dials.
    pub async fn check_media_socket(
        &self,
        socket: Option<&MediaSocketConfig>,
    ) -> Result<(), ApiError> {
        let Some(socket) = socket else {
            return Ok(());
        };
        let refuse = |allowed: String| {
            invalid(InvalidField::new(
                "mediaConfig.blob.url",
                format!("'{}'", socket.url),
                allowed,
            ))
        };
        let url = reqwest::Url::parse(&socket.url)
            .map_err(|e| refuse(format!("an absolute ws:// or wss:// URL ({e})")))?;
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(80);
        let allow_private = self
            .state
            .media
            .settings()
            .app_hosted
            .allow_private_addresses;
        address_policy::resolve_checked(host, port, allow_private, Purpose::MediaSocket)
            .await
            .map(|_| ())
            .map_err(|error| refuse(format!("a URL the server may dial: {error}")))
    }

    /// The absolute URL of a path under `/v1.0`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/v1.0{path}", self.state.public_url)
    }
}
