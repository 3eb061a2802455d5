//! `/communications/reminders`: a Switchboard extension to schedule reminder calls (see
//! `crate::reminders`). POST creates (201 + `Location`), GET reads one or lists the app's own,
//! DELETE cancels one that has not finished (204).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::AuthenticatedApp;
use super::error::ApiError;
use super::json::GraphJson;
use super::json::json_response;
use super::state::AppState;
use crate::reminders::{Reminder, ReminderRequest};
use crate::store::ReminderRow;

fn context(state: &AppState) -> String {
    format!(
        "{}/v1.0/$metadata#communications/reminders/$entity",
        state.public_url
    )
}

fn reminder_of(row: &ReminderRow) -> Result<Reminder, ApiError> {
    let mut reminder: Reminder = serde_json::from_value(row.document.clone())
        .map_err(|e| ApiError::internal(format!("stored reminder is corrupt: {e}")))?;
    reminder.status = row.status.clone();
    Ok(reminder)
}

pub async fn create(
    State(state): State<AppState>,
    app: AuthenticatedApp,
    GraphJson(request): GraphJson<ReminderRequest>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = jiff::Timestamp::now();
    let reminder = request.validate(id, now).map_err(ApiError::bad_request)?;
    super::callbacks::check_optional(&state, "callbackUri", reminder.callback_uri.as_deref())
        .await?;
    let due: jiff::Timestamp = reminder
        .due_date_time
        .parse()
        .map_err(|e| ApiError::internal(format!("due time did not round-trip: {e}")))?;
    state
        .store
        .put_reminder(ReminderRow {
            id: reminder.id.clone(),
            app_id: app.app_id,
            tenant_id: app.tenant_id,
            status: reminder.status.clone(),
            next_attempt_at: due.as_millisecond(),
            document: serde_json::to_value(&reminder)
                .map_err(|e| ApiError::internal(e.to_string()))?,
        })
        .await?;
    let location = format!("{}/v1.0{}", state.public_url, reminder.path());
    Ok(json_response(
        StatusCode::CREATED,
        Some(location),
        Some(context(&state)),
        reminder.view(),
    ))
}

/// The reminder, if it exists and belongs to the calling app (another app's is "not found").
async fn owned(
    state: &AppState,
    app: &AuthenticatedApp,
    id: &str,
) -> Result<ReminderRow, ApiError> {
    match state.store.get_reminder(id).await? {
        Some(row) if row.app_id == app.app_id => Ok(row),
        _ => Err(ApiError::not_found(format!(
            "reminder '{id}' does not exist for application {}",
            app.app_id
        ))),
    }
}

pub async fn read(
    State(state): State<AppState>,
    app: AuthenticatedApp,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = owned(&state, &app, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        None,
        Some(context(&state)),
        reminder_of(&row)?.view(),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    app: AuthenticatedApp,
) -> Result<Response, ApiError> {
    let rows = state.store.list_reminders(&app.app_id).await?;
    let value = rows
        .iter()
        .map(|row| reminder_of(row).map(|r| r.view()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json_response(
        StatusCode::OK,
        None,
        Some(format!(
            "{}/v1.0/$metadata#communications/reminders",
            state.public_url
        )),
        json!({ "value": value }),
    ))
}

pub async fn cancel(
    State(state): State<AppState>,
    app: AuthenticatedApp,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = owned(&state, &app, &id).await?;
    if row.status != "scheduled" {
        return Err(ApiError::bad_request(format!(
            "reminder '{id}' is {}; only a scheduled reminder can be cancelled",
            row.status
        )));
    }
    let mut reminder = reminder_of(&row)?;
    reminder.status = "cancelled".into();
    reminder.next_attempt_date_time = None;
    state
        .store
        .put_reminder(ReminderRow {
            status: reminder.status.clone(),
            next_attempt_at: 0,
            document: serde_json::to_value(&reminder)
                .map_err(|e| ApiError::internal(e.to_string()))?,
            ..row
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
