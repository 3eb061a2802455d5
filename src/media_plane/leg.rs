//! One bot's leg on a worker: its `MediaSession` and its media operations, run one at a time in
//! the order submitted (a barge-in recording first cancels the prompts and recordings ahead of
//! it). Each operation gets exactly one `OperationFinished`, except after `CloseLeg`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use switchboard_media::dtmf::Digit;
use switchboard_media::prompt::PlaybackId;
use switchboard_media::record::{
    ClipBuffer, DigitSet, RecordId, RecordReason, RecordResult, RecordSettings,
};
use switchboard_media::session::{Event, LegConfig, LegId, Output, RecordRejected};
use switchboard_media::{MediaSession, Prompt, SessionConfig};

use super::app_stream::AppStream;
use super::command::{PromptFailure, Resolution};
use super::conversation_audio::{AppHostedAudio, SessionSetupError};
use super::env::WorkerEnv;
use super::stats::WorkerStats;
use crate::calls::ids::{CallId, OperationId};
use crate::calls::media::{Hosting, MediaEvent, OperationOutcome};
use crate::calls::result_codes::ResultCode;
use crate::calls::validate::RecordResponse;

/// What a queued operation does, named after the command that asked for it
/// (`MediaCommand::PlayPrompts`, `Record`, `SendDtmf`), with its audio.
#[derive(Debug)]
pub enum OperationKind {
    /// Play prompts in order (playPrompt).
    PlayPrompts(Resolution),
    /// Record what the leg hears (recordResponse), after its prompt if it has one.
    Record {
        /// Prompt, beep, timers, stop tones, barge-in.
        settings: RecordResponse,
        /// Its prompt ([`Resolution::NONE`] when it has none).
        prompt: Resolution,
    },
    /// Send keys in-band (sendDtmfTones), as one synthesised prompt.
    SendDtmf(Resolution),
}

impl OperationKind {
    fn audio(&self) -> &Resolution {
        match self {
            OperationKind::PlayPrompts(audio) | OperationKind::SendDtmf(audio) => audio,
            OperationKind::Record { prompt, .. } => prompt,
        }
    }

    fn audio_mut(&mut self) -> &mut Resolution {
        match self {
            OperationKind::PlayPrompts(audio) | OperationKind::SendDtmf(audio) => audio,
            OperationKind::Record { prompt, .. } => prompt,
        }
    }
}

#[derive(Debug)]
struct QueuedOp {
    operation: OperationId,
    kind: OperationKind,
}

/// The operation the session is running, by the id the session knows it under.
#[derive(Debug)]
enum Running {
    /// A `PlayPrompts`, or a `SendDtmf` (`send_dtmf`): both play through the session's playback.
    Playback {
        operation: OperationId,
        id: u64,
        send_dtmf: bool,
    },
    /// A `Record`.
    Record { operation: OperationId, id: u64 },
}

/// What a bot's session heard on its link that the conversation reports (attributing it to
/// whoever the link carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// A key press began.
    Key(Digit),
    /// The link's audio started (`true`) or stopped (`false`) being speech.
    Speaking(bool),
}

/// A bot's leg: its session and operations.
pub struct HostedLeg {
    /// The session. Its one leg, the link, carries what the bot hears: the other party of a
    /// two-party conversation, or the conversation's room (everyone else, mixed).
    pub session: MediaSession,
    /// The session leg the bot hears on and is heard from; none while it is alone.
    pub link: Option<LegId>,
    /// Who runs the media; app-hosted legs run no operations (the control plane refuses them).
    pub hosting: Hosting,
    /// Whether key presses are reported.
    pub tones_subscribed: bool,
    /// An app-hosted bot's lane to its media socket, once the engine attached it: its audio in,
    /// what it hears and the notices out.
    pub app: Option<Box<AppHostedAudio>>,
    ops: VecDeque<QueuedOp>,
    running: Option<Running>,
    next_id: u64,
    dropped_seen: u64,
}

impl HostedLeg {
    /// A leg with a new session (no link yet).
    pub fn new(hosting: Hosting) -> Result<HostedLeg, SessionSetupError> {
        Ok(HostedLeg {
            session: new_session()?,
            link: None,
            hosting,
            tones_subscribed: false,
            app: None,
            ops: VecDeque::with_capacity(8),
            running: None,
            next_id: 1,
            dropped_seen: 0,
        })
    }

    /// Attaches an app-hosted bot's lane (replacing one attached before); a leg whose media
    /// Switchboard runs has no lane, and `stream` is handed back.
    pub fn attach(&mut self, stream: Arc<AppStream>) -> Result<(), Arc<AppStream>> {
        match self.hosting {
            Hosting::App(_) => {
                self.app = Some(Box::new(AppHostedAudio::new(stream)));
                Ok(())
            }
            Hosting::Service => Err(stream),
        }
    }

    /// Gives the session its link if it has none: the bot can now hear and be heard.
    pub fn ensure_link(&mut self) -> Result<LegId, SessionSetupError> {
        if let Some(link) = self.link {
            return Ok(link);
        }
        let config = LegConfig {
            initial_sequence: rand::random(),
            initial_timestamp: rand::random(),
            ..LegConfig::default()
        };
        let link = self
            .session
            .add_leg(config)
            .map_err(SessionSetupError::Bot)?;
        self.link = Some(link);
        Ok(link)
    }

    /// Removes the link (the bot is alone): a recording of it ends with callDropped.
    pub fn drop_link(&mut self) {
        if let Some(link) = self.link.take() {
            let _ = self.session.remove_leg(link);
        }
    }

    /// Whether no operation is running (queued ones may wait for their audio).
    pub fn is_idle(&self) -> bool {
        self.running.is_none()
    }

    /// Queues an operation; a barge-in recording first cancels the prompts and recordings that
    /// run or wait, then goes to the head of the queue.
    pub fn enqueue(
        &mut self,
        env: &WorkerEnv,
        call: &CallId,
        operation: OperationId,
        kind: OperationKind,
    ) {
        let barge_in =
            matches!(&kind, OperationKind::Record { settings, .. } if settings.barge_in_allowed);
        if !barge_in {
            self.ops.push_back(QueuedOp { operation, kind });
            return;
        }
        if let Some(
            Running::Playback {
                send_dtmf: false, ..
            }
            | Running::Record { .. },
        ) = &self.running
        {
            self.cancel_running(env, call);
        }
        let mut kept = VecDeque::with_capacity(self.ops.len() + 1);
        for op in self.ops.drain(..) {
            if matches!(op.kind, OperationKind::SendDtmf(_)) {
                kept.push_back(op);
            } else {
                env.emit(finished(
                    call,
                    op.operation,
                    ResultCode::OperationCanceled,
                    None,
                ));
            }
        }
        kept.push_front(QueuedOp { operation, kind });
        self.ops = kept;
    }

    /// The audio of a queued operation is ready (or unusable).
    pub fn resolved(
        &mut self,
        operation: &OperationId,
        prompts: Result<Vec<Arc<Prompt>>, PromptFailure>,
    ) {
        if let Some(op) = self.ops.iter_mut().find(|op| op.operation == *operation) {
            *op.kind.audio_mut() = match prompts {
                Ok(p) => Resolution::Ready(p),
                Err(f) => Resolution::Failed(f),
            };
        }
    }

    /// cancelMediaProcessing: every running and queued operation ends as cancelled.
    pub fn cancel_all(&mut self, env: &WorkerEnv, call: &CallId) {
        self.cancel_running(env, call);
        for op in self.ops.drain(..) {
            env.emit(finished(
                call,
                op.operation,
                ResultCode::OperationCanceled,
                None,
            ));
        }
    }

    fn cancel_running(&mut self, env: &WorkerEnv, call: &CallId) {
        match self.running.take() {
            Some(Running::Playback { operation, .. }) => {
                // Its PromptCancelled event finds nothing running and is ignored.
                self.session.stop_playback();
                env.emit(finished(
                    call,
                    operation,
                    ResultCode::OperationCanceled,
                    None,
                ));
            }
            Some(Running::Record { operation, .. }) => {
                // Its RecordFinished event finds nothing running: the clip goes back to the pool.
                self.session.stop_record();
                env.emit(finished(
                    call,
                    operation,
                    ResultCode::OperationCanceled,
                    None,
                ));
            }
            None => {}
        }
    }

    /// Starts queued operations while nothing runs: failed ones are reported, one whose audio is
    /// still being fetched holds the queue. A recording listens to the link.
    pub fn advance(&mut self, env: &mut WorkerEnv, call: &CallId) {
        let record_leg = self.link;
        while self.running.is_none() {
            let Some(head) = self.ops.front() else { return };
            match head.kind.audio() {
                Resolution::Pending => return,
                Resolution::Failed(_) | Resolution::Ready(_) => {}
            }
            let Some(QueuedOp { operation, kind }) = self.ops.pop_front() else {
                return;
            };
            if let Err(failure) = self.start(env, operation.clone(), kind, record_leg) {
                env.emit(finished(
                    call,
                    operation,
                    failure.result,
                    Some(failure.detail),
                ));
            }
        }
    }

    fn start(
        &mut self,
        env: &mut WorkerEnv,
        operation: OperationId,
        kind: OperationKind,
        record_leg: Option<LegId>,
    ) -> Result<(), PromptFailure> {
        let id = self.next_id;
        self.next_id += 1;
        let media_failure = |detail: String| PromptFailure {
            result: ResultCode::OperationMediaFailure,
            detail,
        };
        let (resolution, send_dtmf) = match kind {
            OperationKind::PlayPrompts(resolution) => (resolution, false),
            OperationKind::SendDtmf(resolution) => (resolution, true),
            OperationKind::Record { settings, prompt } => {
                return self.start_record(env, operation, id, &settings, prompt, record_leg);
            }
        };
        let prompts = ready(resolution)?;
        self.session
            .play(PlaybackId(id), &prompts, false)
            .map_err(|e| media_failure(e.to_string()))?;
        self.running = Some(Running::Playback {
            operation,
            id,
            send_dtmf,
        });
        Ok(())
    }

    fn start_record(
        &mut self,
        env: &mut WorkerEnv,
        operation: OperationId,
        id: u64,
        settings: &RecordResponse,
        prompt: Resolution,
        record_leg: Option<LegId>,
    ) -> Result<(), PromptFailure> {
        let media_failure = |detail: String| PromptFailure {
            result: ResultCode::OperationMediaFailure,
            detail,
        };
        let mut preamble = ready(prompt)?;
        let leg = record_leg.ok_or_else(|| {
            media_failure(
                "nobody else's audio reaches this call yet, so there is nothing to record".into(),
            )
        })?;
        if settings.play_beep {
            preamble.push(env.beep.clone());
        }
        let Some(clip) = env.clips.take(settings.max_record_duration) else {
            WorkerStats::add(&env.stats.clip_pool_exhausted, 1);
            let (short, long) = env.clips.available();
            return Err(media_failure(format!(
                "every recording buffer of this media worker that holds {} s is in use ({short} \
                 short and {long} long free; see media.short_clips_per_worker and \
                 media.long_clips_per_worker); try again shortly",
                settings.max_record_duration.as_secs()
            )));
        };
        let secs = |d: std::time::Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
        let record = RecordSettings {
            initial_silence_timeout_secs: secs(settings.initial_silence_timeout),
            max_silence_timeout_secs: secs(settings.max_silence_timeout),
            max_record_duration_secs: secs(settings.max_record_duration),
            stop_tones: DigitSet::of(&settings.stop_tones),
        };
        match self
            .session
            .start_record(leg, RecordId(id), record, &preamble, clip)
        {
            Ok(()) => {
                self.running = Some(Running::Record { operation, id });
                Ok(())
            }
            Err(rejected) => {
                let detail = rejected.to_string();
                if let Some(clip) = rejected_clip(rejected) {
                    env.clips.give_back(clip);
                }
                Err(media_failure(detail))
            }
        }
    }

    /// Handles one session event: finishes the running operation it ends, and returns what the
    /// link heard (a key, a change of speaking) for the conversation to report.
    pub fn on_event(
        &mut self,
        env: &mut WorkerEnv,
        call: &CallId,
        event: Event,
        now: Instant,
    ) -> Option<Heard> {
        match event {
            Event::ToneStarted { leg, digit, .. } if Some(leg) == self.link => {
                return Some(Heard::Key(digit));
            }
            Event::SpeechStarted { leg, .. } if Some(leg) == self.link => {
                return Some(Heard::Speaking(true));
            }
            Event::SpeechEnded { leg, .. } if Some(leg) == self.link => {
                return Some(Heard::Speaking(false));
            }
            Event::PromptFinished(PlaybackId(n)) | Event::PromptCancelled(PlaybackId(n)) => {
                let cancelled = matches!(event, Event::PromptCancelled(_));
                if let Some(Running::Playback { id, .. }) = &self.running
                    && *id == n
                    && let Some(Running::Playback { operation, .. }) = self.running.take()
                {
                    let result = if cancelled {
                        ResultCode::OperationCanceled
                    } else {
                        ResultCode::OperationCompleted
                    };
                    env.emit(finished(call, operation, result, None));
                }
            }
            Event::RecordFinished(result) => self.record_finished(env, call, result, now),
            _ => {}
        }
        None
    }

    fn record_finished(
        &mut self,
        env: &mut WorkerEnv,
        call: &CallId,
        result: RecordResult,
        now: Instant,
    ) {
        let ours = matches!(&self.running, Some(Running::Record { id, .. }) if *id == result.id.0);
        if !ours {
            env.clips.give_back(result.clip);
            return;
        }
        let Some(Running::Record { operation, .. }) = self.running.take() else {
            return;
        };
        let (code, detail) = match result.reason {
            RecordReason::StopToneDetected => (
                ResultCode::RecordStopTone,
                result
                    .stop_tone
                    .map(|d| format!("stop tone '{}'", d.as_char())),
            ),
            RecordReason::MaxSilenceTimeout => (ResultCode::RecordMaxSilence, None),
            RecordReason::MaxRecordDurationReached => (ResultCode::RecordMaxDuration, None),
            RecordReason::InitialSilenceTimeout => (ResultCode::RecordInitialSilence, None),
            RecordReason::CallDropped => (
                ResultCode::OperationCompleted,
                Some("the recorded participant left the call".to_owned()),
            ),
            RecordReason::OperationCanceled => (ResultCode::OperationCanceled, None),
        };
        if code.is_failure() || code == ResultCode::OperationCanceled {
            env.clips.give_back(result.clip);
            env.emit(finished(call, operation, code, detail));
            return;
        }
        match env.recordings.hand_over(call, env.index, result.clip, now) {
            Ok(recording) => env.emit(MediaEvent::OperationFinished {
                call: call.clone(),
                operation,
                outcome: OperationOutcome {
                    result: code,
                    detail,
                    recording: Some(recording),
                },
            }),
            Err(clip) => {
                env.clips.give_back(clip);
                env.emit(finished(
                    call,
                    operation,
                    ResultCode::OperationMediaFailure,
                    Some("the recording store is full; the clip could not be kept".into()),
                ));
            }
        }
    }

    /// Counts session events lost since the last look.
    pub fn count_dropped_events(&mut self, env: &WorkerEnv) {
        let dropped = self.session.dropped_events();
        if dropped != self.dropped_seen {
            WorkerStats::add(
                &env.stats.session_events_dropped,
                dropped - self.dropped_seen,
            );
            self.dropped_seen = dropped;
        }
    }

    /// Ends the leg (CloseLeg): nothing is reported; a recording's buffer goes back to the pool.
    pub fn close(mut self, env: &mut WorkerEnv) {
        self.running = None;
        self.ops.clear();
        self.session.hangup();
        while let Some(output) = self.session.poll_output() {
            if let Output::Event(Event::RecordFinished(result)) = output {
                env.clips.give_back(result.clip);
            }
        }
    }
}

fn new_session() -> Result<MediaSession, SessionSetupError> {
    MediaSession::new(SessionConfig {
        max_legs: 1,
        // Periodic level reports are not used; speech changes and tones always are.
        level_report_ticks: 0,
        stats_report_ticks: 0,
        ..SessionConfig::default()
    })
    .map_err(SessionSetupError::Bot)
}

fn ready(resolution: Resolution) -> Result<Vec<Arc<Prompt>>, PromptFailure> {
    match resolution {
        Resolution::Ready(prompts) => Ok(prompts),
        Resolution::Failed(failure) => Err(failure),
        Resolution::Pending => Err(PromptFailure {
            result: ResultCode::OperationMediaFailure,
            detail: "the prompt was not ready".into(),
        }),
    }
}

/// The buffer a refused recording hands back (every refusal known today does).
fn rejected_clip(rejected: RecordRejected) -> Option<ClipBuffer> {
    match rejected {
        RecordRejected::Invalid { clip, .. }
        | RecordRejected::Busy { clip }
        | RecordRejected::UnknownLeg { clip, .. } => Some(clip),
        _ => None,
    }
}

/// An `OperationFinished` without a recording.
pub fn finished(
    call: &CallId,
    operation: OperationId,
    result: ResultCode,
    detail: Option<String>,
) -> MediaEvent {
    MediaEvent::OperationFinished {
        call: call.clone(),
        operation,
        outcome: OperationOutcome {
            result,
            detail,
            recording: None,
        },
    }
}
