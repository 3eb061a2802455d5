//! Recordings: the clip of a finished recordResponse, downloaded from its `recordingLocation`.
//! Public as a route: the recording's own access token is its authorization (the form Graph
//! documents; never in the query string, where it would end up in access logs).

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;
use crate::media_plane::recordings::DownloadError;

/// Path of the download route; `media_plane::recordings` builds locations under it.
pub const PATH: &str = crate::media_plane::recordings::RECORDING_PATH;

/// `GET /media/recordings/{id}` with `Authorization: Bearer <recordingAccessToken>`.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let media = &state.media;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return Err(ApiError::unauthenticated(
            "a recording is downloaded with its recordingAccessToken as 'Authorization: Bearer <token>'",
        ));
    };
    match media.recordings().download(&id, token, Instant::now()) {
        Ok(bytes) => Ok((
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            bytes,
        )
            .into_response()),
        Err(DownloadError::Unauthorized) => Err(ApiError::unauthenticated(
            "the bearer token is not this recording's recordingAccessToken",
        )),
        Err(DownloadError::NotFound) => Err(ApiError::not_found(format!(
            "no recording '{id}': recordings are kept for {} s and deleted when their call ends",
            media.settings().recording_ttl_secs
        ))),
    }
}
