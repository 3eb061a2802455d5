//! What the legs of one worker share: the way up to the control plane, the clip pools, the
//! recording store, the beep and a silent packet, the counters.

use std::sync::Arc;

use crossbeam_queue::ArrayQueue;
use switchboard_media::Prompt;
use switchboard_media::codec::opus::{PROMPT_ENCODER, encode_frame, new_encoder};
use switchboard_media::frame::{MAX_PAYLOAD, SILENT_FRAME};
use switchboard_media::record::ClipBuffer;

use super::clips::ClipPools;
use super::recordings::RecordingStore;
use super::start::WorkerStartError;
use super::stats::WorkerStats;
use crate::calls::ids::CallId;
use crate::calls::media::{MediaEvent, MediaEventSink};

/// What the engine hands each worker.
pub struct Shared {
    /// Where events go: the control plane's event channel.
    pub events: MediaEventSink,
    /// The worker's counters and gauges, exported at `/metrics`.
    pub stats: Arc<WorkerStats>,
    /// Buffers coming back from the recording store.
    pub returned_clips: Arc<ArrayQueue<ClipBuffer>>,
    /// Finished recordings go here.
    pub recordings: Arc<RecordingStore>,
    /// The beep played before a recording with `playBeep`, encoded once for every worker.
    pub beep: Arc<Prompt>,
    /// Browser legs that ended on their own go here, for the engine's placement table.
    pub departed: Arc<ArrayQueue<CallId>>,
    /// Speakers' frames sent unmixed to an app-hosted bot per tick at most, the loudest first
    /// (`media.app_hosted.max_unmixed_sources`; 0: every speaker).
    pub max_unmixed_sources: usize,
}

/// One worker's shared state, owned by the worker thread.
pub struct WorkerEnv {
    /// The worker's index (names its clips' return queue and its metrics).
    pub index: usize,
    /// Where events go: the control plane's event channel.
    pub events: MediaEventSink,
    /// The worker's counters and gauges, exported at `/metrics`.
    pub stats: Arc<WorkerStats>,
    /// Recording buffers.
    pub clips: ClipPools,
    /// Buffers coming back from the recording store.
    pub returned_clips: Arc<ArrayQueue<ClipBuffer>>,
    /// Finished recordings go here.
    pub recordings: Arc<RecordingStore>,
    /// The beep played before a recording with `playBeep`, encoded once for every worker.
    pub beep: Arc<Prompt>,
    silence: [u8; MAX_PAYLOAD],
    silence_len: usize,
    /// The same silence, shared: passed to the edge in place of a muted browser's packet.
    silence_shared: Arc<[u8]>,
    /// Browser legs that ended on their own (the engine forgets where they were placed).
    pub departed: Arc<ArrayQueue<CallId>>,
    /// Speakers' frames sent unmixed to an app-hosted bot per tick at most (0: every speaker).
    pub max_unmixed_sources: usize,
}

impl WorkerEnv {
    /// The environment of worker `index`.
    pub fn new(
        index: usize,
        shared: Shared,
        clips: ClipPools,
    ) -> Result<WorkerEnv, WorkerStartError> {
        let mut encoder = new_encoder(PROMPT_ENCODER).map_err(WorkerStartError::SilenceEncoder)?;
        let mut silence = [0u8; MAX_PAYLOAD];
        let silence_len = encode_frame(&mut encoder, &SILENT_FRAME, &mut silence)
            .map_err(WorkerStartError::SilenceEncoder)?;
        Ok(WorkerEnv {
            index,
            events: shared.events,
            stats: shared.stats,
            clips,
            returned_clips: shared.returned_clips,
            recordings: shared.recordings,
            beep: shared.beep,
            silence_shared: Arc::from(&silence[..silence_len]),
            silence,
            silence_len,
            departed: shared.departed,
            max_unmixed_sources: shared.max_unmixed_sources,
        })
    }

    /// 20 ms of silence as an Opus payload: what a muted participant sends instead of audio,
    /// so the receivers' packet streams stay continuous.
    pub fn silence(&self) -> &[u8] {
        &self.silence[..self.silence_len]
    }

    /// [`Self::silence`], shared without copying.
    pub fn silence_shared(&self) -> &Arc<[u8]> {
        &self.silence_shared
    }

    /// Sends an event up without waiting; a full queue is counted.
    pub fn emit(&self, event: MediaEvent) {
        if self.events.push(event).is_err() {
            WorkerStats::add(&self.stats.event_queue_full, 1);
        }
    }

    /// Puts buffers the recording store released back into the pools.
    pub fn take_back_clips(&mut self) {
        while let Some(clip) = self.returned_clips.pop() {
            self.clips.give_back(clip);
        }
    }
}
