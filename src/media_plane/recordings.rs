//! Finished recordResponse clips, held in memory for download at `recordingLocation`.
//!
//! A worker never takes this store's lock: it hands a finished clip (and "this call ended")
//! over through a bounded lock-free inbox, and whoever next takes the lock — a download, or the
//! once-a-second sweep — moves the inbox into the table first. A clip is deleted when its TTL
//! runs out or its call ends, and its buffer goes back to the worker's pool through that
//! worker's return queue.
//!
//! Download: `GET /media/recordings/{id}` with `Authorization: Bearer <recordingAccessToken>`
//! (the form Graph documents; tokens are not accepted in the query string, where they would end
//! up in access logs). The answer is the WAV file (16 kHz mono 16-bit) as
//! `application/octet-stream`, like Graph's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use crossbeam_queue::ArrayQueue;
use switchboard_media::record::ClipBuffer;

use crate::api::ApiError;
use crate::calls::ids::{CallId, random_guid};
use crate::calls::media::Recording;
use crate::server::state::AppState;

/// Path of the download route.
pub const RECORDING_PATH: &str = "/media/recordings/{id}";

/// What a worker hands over.
enum Inbound {
    Finished {
        id: String,
        token: String,
        call: CallId,
        worker: usize,
        clip: ClipBuffer,
        at: Instant,
    },
    CallEnded(CallId),
}

struct Stored {
    token: String,
    call: CallId,
    worker: usize,
    clip: ClipBuffer,
    expires: Instant,
}

/// Why a download is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadError {
    /// No such recording (never made, expired, or its call ended).
    NotFound,
    /// The token is missing or wrong.
    Unauthorized,
}

/// The recordings of every worker.
pub struct RecordingStore {
    inbox: ArrayQueue<Inbound>,
    held: Mutex<HashMap<String, Stored>>,
    ttl: Duration,
    location_prefix: String,
    returns: Vec<Arc<ArrayQueue<ClipBuffer>>>,
}

impl std::fmt::Debug for RecordingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingStore")
            .field("ttl", &self.ttl)
            .field("location_prefix", &self.location_prefix)
            .finish_non_exhaustive()
    }
}

impl RecordingStore {
    /// A store whose clips live `ttl`, served under `public_url`, returning buffers to the
    /// workers' `returns` queues (index = worker).
    pub fn new(
        public_url: &str,
        ttl: Duration,
        returns: Vec<Arc<ArrayQueue<ClipBuffer>>>,
    ) -> RecordingStore {
        let buffers: usize = returns.iter().map(|q| q.capacity()).sum();
        RecordingStore {
            // Room for every buffer plus as many call endings again: a full inbox only delays
            // a deletion to the TTL, and a finished clip that does not fit fails its operation.
            inbox: ArrayQueue::new((buffers * 2).max(64)),
            held: Mutex::new(HashMap::new()),
            ttl,
            location_prefix: format!(
                "{}{}",
                public_url.trim_end_matches('/'),
                RECORDING_PATH.trim_end_matches("{id}")
            ),
            returns,
        }
    }

    /// Hands a finished clip over (worker side, lock-free). Returns where it can be downloaded,
    /// or the clip back when the inbox is full.
    pub fn hand_over(
        &self,
        call: &CallId,
        worker: usize,
        clip: ClipBuffer,
        at: Instant,
    ) -> Result<Recording, ClipBuffer> {
        let id = random_guid();
        let token = new_token();
        let recording = Recording {
            location: format!("{}{id}", self.location_prefix),
            access_token: token.clone(),
        };
        let inbound = Inbound::Finished {
            id,
            token,
            call: call.clone(),
            worker,
            clip,
            at,
        };
        match self.inbox.push(inbound) {
            Ok(()) => Ok(recording),
            Err(Inbound::Finished { clip, .. }) => Err(clip),
            Err(Inbound::CallEnded(_)) => unreachable!("pushed a Finished"),
        }
    }

    /// Says that `call` ended, so its clips go (worker side, lock-free). `false` when the inbox
    /// is full; the clips then go at their TTL.
    pub fn call_ended(&self, call: &CallId) -> bool {
        self.inbox.push(Inbound::CallEnded(call.clone())).is_ok()
    }

    /// The WAV bytes of recording `id` for the holder of `token`.
    pub fn download(&self, id: &str, token: &str, now: Instant) -> Result<Vec<u8>, DownloadError> {
        let mut held = self.lock();
        self.settle(&mut held, now);
        let stored = held.get(id).ok_or(DownloadError::NotFound)?;
        if !constant_time_eq(stored.token.as_bytes(), token.as_bytes()) {
            return Err(DownloadError::Unauthorized);
        }
        Ok(stored.clip.wav_bytes().to_vec())
    }

    /// Moves handed-over clips in and deletes expired ones; returns how many are held.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut held = self.lock();
        self.settle(&mut held, now);
        held.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Stored>> {
        // The table stays consistent across a panic (every change is one insert or remove).
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn settle(&self, held: &mut HashMap<String, Stored>, now: Instant) {
        while let Some(inbound) = self.inbox.pop() {
            match inbound {
                Inbound::Finished {
                    id,
                    token,
                    call,
                    worker,
                    clip,
                    at,
                } => {
                    held.insert(
                        id,
                        Stored {
                            token,
                            call,
                            worker,
                            clip,
                            expires: at + self.ttl,
                        },
                    );
                }
                Inbound::CallEnded(call) => {
                    let ids: Vec<String> = held
                        .iter()
                        .filter(|(_, s)| s.call == call)
                        .map(|(id, _)| id.clone())
                        .collect();
                    for id in ids {
                        self.delete(held, &id);
                    }
                }
            }
        }
        let expired: Vec<String> = held
            .iter()
            .filter(|(_, s)| s.expires <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.delete(held, &id);
        }
    }

    fn delete(&self, held: &mut HashMap<String, Stored>, id: &str) {
        if let Some(stored) = held.remove(id)
            && let Some(queue) = self.returns.get(stored.worker)
        {
            // The queue has room for every buffer of its worker, so this cannot fail; if it
            // did, the buffer would simply be freed and the pool stay one short.
            let _ = queue.push(stored.clip);
        }
    }
}

/// 32 random bytes, base64url: an opaque bearer token.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The download route (public: the recording's own token is its authorization).
pub fn routes() -> Router<AppState> {
    Router::new().route(RECORDING_PATH, get(download))
}

async fn download(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn store(ttl: Duration) -> (RecordingStore, Arc<ArrayQueue<ClipBuffer>>) {
        let returns = Arc::new(ArrayQueue::new(4));
        let store = RecordingStore::new("http://h:1/", ttl, vec![returns.clone()]);
        (store, returns)
    }

    #[test]
    fn a_clip_is_served_only_with_its_token_and_goes_back_to_its_pool_at_the_ttl() {
        let (store, returns) = store(Duration::from_secs(10));
        let t0 = Instant::now();
        let call = CallId::from("c");
        let rec = store
            .hand_over(
                &call,
                0,
                ClipBuffer::with_capacity(Duration::from_secs(1)),
                t0,
            )
            .unwrap();
        assert!(
            rec.location.starts_with("http://h:1/media/recordings/"),
            "{rec:?}"
        );
        let id = rec.location.rsplit('/').next().unwrap();
        let wav = store.download(id, &rec.access_token, t0).unwrap();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(
            store.download(id, "wrong", t0),
            Err(DownloadError::Unauthorized)
        );
        assert_eq!(store.download(id, "", t0), Err(DownloadError::Unauthorized));
        assert!(returns.is_empty());
        assert_eq!(store.sweep(t0 + Duration::from_secs(9)), 1);
        assert_eq!(store.sweep(t0 + Duration::from_secs(10)), 0, "expired");
        assert_eq!(returns.len(), 1, "the buffer went back to its worker");
        assert_eq!(
            store.download(id, &rec.access_token, t0),
            Err(DownloadError::NotFound)
        );
    }

    #[test]
    fn a_call_ending_deletes_its_clips_and_only_its_own() {
        let (store, returns) = store(Duration::from_secs(60));
        let t0 = Instant::now();
        let clip = || ClipBuffer::with_capacity(Duration::from_secs(1));
        let a = store.hand_over(&CallId::from("a"), 0, clip(), t0).unwrap();
        let b = store.hand_over(&CallId::from("b"), 0, clip(), t0).unwrap();
        assert!(store.call_ended(&CallId::from("a")));
        let id = |r: &Recording| r.location.rsplit('/').next().unwrap().to_owned();
        assert_eq!(
            store.download(&id(&a), &a.access_token, t0),
            Err(DownloadError::NotFound)
        );
        assert!(store.download(&id(&b), &b.access_token, t0).is_ok());
        assert_eq!(returns.len(), 1);
        assert_ne!(a.access_token, b.access_token);
    }
}
