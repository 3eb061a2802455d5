//! Online meetings (§2.14, §2.15): create and read under `/users/{id}/onlineMeetings` and
//! `/me/onlineMeetings`, and look up by `$filter` there and at `/communications/onlineMeetings`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::AuthenticatedPrincipal;
use super::error::ApiError;
use super::error::{invalid, store_unavailable};
use super::json::GraphJson;
use super::json::json_response;
use super::state::AppState;
use crate::auth::principal::Principal;
use crate::calls::validate::InvalidField;
use crate::graph::OnlineMeeting;
use crate::meetings::{self, MeetingFilter, Organizer};
use crate::store::MeetingRecord;
use crate::store::StoreError;

/// How many times creation retries when a generated join id or URL collides.
const CREATE_ATTEMPTS: usize = 5;

type QueryPairs = Query<Vec<(String, String)>>;

/// The user a request acts for: `/users/{id}` (an app of the tenant, or that user) or `/me`.
async fn organizer(
    state: &AppState,
    principal: &Principal,
    user_id: Option<&str>,
) -> Result<Organizer, ApiError> {
    let user_id = match (principal, user_id) {
        (Principal::User { user_id, .. }, None) => user_id.clone(),
        (Principal::App { .. }, None) => {
            return Err(ApiError::bad_request(
                "/me needs a signed-in user's token; an application uses /users/{id}/onlineMeetings",
            ));
        }
        (Principal::User { user_id: me, .. }, Some(other)) if me != other => {
            return Err(ApiError::forbidden(format!(
                "user '{me}' may only use its own meetings, not those of user '{other}'"
            )));
        }
        (_, Some(id)) => id.to_owned(),
    };
    let user = state
        .store
        .get_user(&user_id)
        .await
        .map_err(store_unavailable)?;
    match user {
        Some(user) if user.tenant_id == principal.tenant_id() => Ok(Organizer {
            user_id: user.id,
            display_name: Some(user.display_name),
            upn: None,
            tenant_id: user.tenant_id,
        }),
        _ => Err(ApiError::not_found(format!(
            "user '{user_id}' was not found in tenant '{}'",
            principal.tenant_id()
        ))),
    }
}

fn entity_context(state: &AppState, user_id: &str) -> String {
    format!(
        "{}/v1.0/$metadata#users('{user_id}')/onlineMeetings/$entity",
        state.public_url
    )
}

async fn create(
    state: AppState,
    principal: Principal,
    user_id: Option<String>,
    body: OnlineMeeting,
) -> Result<Response, ApiError> {
    let organizer = organizer(&state, &principal, user_id.as_deref()).await?;
    for _ in 0..CREATE_ATTEMPTS {
        let meeting = meetings::create(
            body.clone(),
            &organizer,
            &state.public_url,
            jiff::Timestamp::now(),
            &mut rand::rng(),
        )
        .map_err(invalid)?;
        let record = record_of(&meeting, &organizer)?;
        match state.store.insert_meeting(record).await {
            Ok(()) => {
                let location = format!(
                    "{}/v1.0/users/{}/onlineMeetings/{}",
                    state.public_url,
                    organizer.user_id,
                    meeting.id.as_deref().unwrap_or_default()
                );
                let context = entity_context(&state, &organizer.user_id);
                return Ok(json_response(
                    StatusCode::CREATED,
                    Some(location),
                    Some(context),
                    meeting,
                ));
            }
            // A generated join id or URL collided with another meeting's: generate again.
            Err(StoreError::Duplicate { .. }) => continue,
            Err(error) => return Err(store_unavailable(error)),
        }
    }
    Err(ApiError::service_unavailable(
        "could not generate a unique meeting join id; try again",
        1,
    ))
}

fn record_of(meeting: &OnlineMeeting, organizer: &Organizer) -> Result<MeetingRecord, ApiError> {
    let settings = meeting.join_meeting_id_settings.clone().unwrap_or_default();
    Ok(MeetingRecord {
        id: meeting.id.clone().unwrap_or_default(),
        tenant_id: organizer.tenant_id.clone(),
        organizer_id: organizer.user_id.clone(),
        subject: meeting.subject.clone(),
        start_date_time: meeting.start_date_time.clone(),
        end_date_time: meeting.end_date_time.clone(),
        join_meeting_id: settings.join_meeting_id.unwrap_or_default(),
        passcode: settings.passcode,
        join_web_url: meeting.join_web_url.clone().unwrap_or_default(),
        video_teleconference_id: meeting.video_teleconference_id.clone(),
        meeting: serde_json::to_value(meeting).map_err(|e| ApiError::internal(e.to_string()))?,
        created_at: meeting.creation_date_time.clone().unwrap_or_default(),
    })
}

/// `POST /users/{id}/onlineMeetings`.
pub async fn create_for_user(
    State(state): State<AppState>,
    AuthenticatedPrincipal(principal): AuthenticatedPrincipal,
    Path(user_id): Path<String>,
    GraphJson(body): GraphJson<OnlineMeeting>,
) -> Result<Response, ApiError> {
    create(state, principal, Some(user_id), body).await
}

/// `POST /me/onlineMeetings`.
pub async fn create_for_me(
    State(state): State<AppState>,
    AuthenticatedPrincipal(principal): AuthenticatedPrincipal,
    GraphJson(body): GraphJson<OnlineMeeting>,
) -> Result<Response, ApiError> {
    create(state, principal, None, body).await
}

async fn read(
    state: AppState,
    principal: Principal,
    user_id: Option<String>,
    meeting_id: String,
) -> Result<Response, ApiError> {
    let organizer = organizer(&state, &principal, user_id.as_deref()).await?;
    let record = state
        .store
        .get_meeting(&organizer.tenant_id, &meeting_id)
        .await
        .map_err(store_unavailable)?;
    let record = record.ok_or_else(|| {
        ApiError::not_found(format!("online meeting '{meeting_id}' was not found"))
    })?;
    Ok(json_response(
        StatusCode::OK,
        None,
        Some(entity_context(&state, &organizer.user_id)),
        record.meeting,
    ))
}

/// `GET /users/{id}/onlineMeetings/{meetingId}`.
pub async fn read_for_user(
    State(state): State<AppState>,
    AuthenticatedPrincipal(principal): AuthenticatedPrincipal,
    Path((user_id, meeting_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    read(state, principal, Some(user_id), meeting_id).await
}

/// `GET /me/onlineMeetings/{meetingId}`.
pub async fn read_for_me(
    State(state): State<AppState>,
    AuthenticatedPrincipal(principal): AuthenticatedPrincipal,
    Path(meeting_id): Path<String>,
) -> Result<Response, ApiError> {
    read(state, principal, None, meeting_id).await
}

fn filter_of(query: &[(String, String)]) -> Result<Option<MeetingFilter>, ApiError> {
    query
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("$filter"))
        .map(|(_, value)| meetings::parse_filter(value).map_err(invalid))
        .transpose()
}

/// The tenant's meetings matching a filter.
async fn find(
    state: &AppState,
    tenant_id: &str,
    filter: &MeetingFilter,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let store = &state.store;
    let records = match filter {
        MeetingFilter::JoinWebUrl(url) => store
            .find_meeting_by_join_web_url(url)
            .await
            .map(|r| r.into_iter().collect()),
        MeetingFilter::JoinMeetingId(id) => store
            .find_meeting_by_join_id(id)
            .await
            .map(|r| r.into_iter().collect()),
        MeetingFilter::VideoTeleconferenceId(id) => {
            store
                .find_meetings_by_video_teleconference_id(tenant_id, id)
                .await
        }
    }
    .map_err(store_unavailable)?;
    Ok(records
        .into_iter()
        .filter(|r: &MeetingRecord| r.tenant_id == tenant_id)
        .map(|r| r.meeting)
        .collect())
}

async fn list(
    state: AppState,
    principal: Principal,
    user_id: Option<String>,
    query: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let organizer = organizer(&state, &principal, user_id.as_deref()).await?;
    let value = match filter_of(&query)? {
        Some(filter) => find(&state, &organizer.tenant_id, &filter).await?,
        None => state
            .store
            .list_meetings_by_organizer(&organizer.tenant_id, &organizer.user_id)
            .await
            .map_err(store_unavailable)?
            .into_iter()
            .map(|r| r.meeting)
            .collect(),
    };
    let context = format!(
        "{}/v1.0/$metadata#users('{}')/onlineMeetings",
        state.public_url, organizer.user_id
    );
    Ok(json_response(
        StatusCode::OK,
        None,
        Some(context),
        serde_json::json!({ "value": value }),
    ))
}

/// `GET /users/{id}/onlineMeetings[?$filter=…]`.
pub async fn list_for_user(
    State(state): State<AppState>,
    AuthenticatedPrincipal(principal): AuthenticatedPrincipal,
    Path(user_id): Path<String>,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    list(state, principal, Some(user_id), query).await
}

/// `GET /me/onlineMeetings[?$filter=…]`.
pub async fn list_for_me(
    State(state): State<AppState>,
    AuthenticatedPrincipal(principal): AuthenticatedPrincipal,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    list(state, principal, None, query).await
}

/// `GET /communications/onlineMeetings?$filter=…` (the filter is required here).
pub async fn search(
    State(state): State<AppState>,
    AuthenticatedPrincipal(principal): AuthenticatedPrincipal,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    let filter = filter_of(&query)?.ok_or_else(|| {
        invalid(InvalidField::missing(
            "$filter",
            "VideoTeleconferenceId eq '<id>', JoinWebUrl eq '<url>' or joinMeetingIdSettings/joinMeetingId eq '<id>'",
        ))
    })?;
    let value = find(&state, principal.tenant_id(), &filter).await?;
    let context = format!(
        "{}/v1.0/$metadata#communications/onlineMeetings",
        state.public_url
    );
    Ok(json_response(
        StatusCode::OK,
        None,
        Some(context),
        serde_json::json!({ "value": value }),
    ))
}
