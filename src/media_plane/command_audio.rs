//! The audio a command plays, resolved while the engine routes it: the prompts of
//! `PlayPrompts`, the prompt of `Record`, the keys of `SendDtmf` as one synthesised prompt. A
//! cached prompt is ready at once, so it starts on the worker's next tick; anything else is
//! fetched or encoded by a task whose result follows on the same worker's queue
//! ([`WorkerCommand::Resolved`]), and the operation waits at the head of its leg's queue.

use std::time::Duration;

use switchboard_media::dtmf::Digit;

use super::MediaEngine;
use super::command::{PromptFailure, Resolution, WorkerCommand};
use crate::calls::ids::{CallId, OperationId};
use crate::calls::media::MediaCommand;
use crate::calls::result_codes::ResultCode;
use crate::calls::validate::PromptSource;

impl MediaEngine {
    /// What `command`, bound for `worker`, plays; [`Resolution::NONE`] for the commands that
    /// play nothing.
    pub(super) fn audio_for(&self, worker: usize, command: &MediaCommand) -> Resolution {
        match command {
            MediaCommand::PlayPrompts {
                call,
                operation,
                prompts,
            } => self.prompts_for(worker, call, operation, "prompts", prompts),
            MediaCommand::Record {
                call,
                operation,
                settings,
            } => {
                let prompt = settings.prompt.as_slice();
                self.prompts_for(worker, call, operation, "prompts[0]", prompt)
            }
            MediaCommand::SendDtmf {
                call,
                operation,
                tones,
                delay_between,
            } => self.dtmf_for(worker, call, operation, tones, *delay_between),
            MediaCommand::OpenLeg { .. }
            | MediaCommand::CloseLeg { .. }
            | MediaCommand::SubscribeTones { .. }
            | MediaCommand::CancelMediaProcessing { .. }
            | MediaCommand::SetSelfMuted { .. }
            | MediaCommand::SetServerMuted { .. }
            | MediaCommand::SetParticipants { .. } => Resolution::NONE,
        }
    }

    /// Fetches and caches a new leg's `preFetchMedia` in the background; a failure is logged,
    /// and the prompt is fetched again when it is played.
    pub(super) fn prefetch(&self, sources: Vec<PromptSource>) {
        let Some(runtime) = &self.runtime else { return };
        if sources.is_empty() {
            return;
        }
        let library = self.prompts.clone();
        runtime.spawn(async move {
            if let Err(failure) = library.resolve("mediaConfig.preFetchMedia", &sources).await {
                tracing::warn!(detail = %failure.detail, "prefetching a prompt failed");
            }
        });
    }

    /// Resolves `sources` now if cached, else in a background task whose result follows on the
    /// worker's queue.
    fn prompts_for(
        &self,
        worker: usize,
        call: &CallId,
        operation: &OperationId,
        field: &'static str,
        sources: &[PromptSource],
    ) -> Resolution {
        if sources.is_empty() {
            return Resolution::NONE;
        }
        if let Some(prompts) = self.prompts.cached(sources) {
            return Resolution::Ready(prompts);
        }
        let Some(runtime) = &self.runtime else {
            return Resolution::Failed(PromptFailure {
                result: ResultCode::OperationMediaFailure,
                detail: "prompts cannot be fetched: the media plane runs without an async runtime"
                    .into(),
            });
        };
        let library = self.prompts.clone();
        let (call, operation, sources) = (call.clone(), operation.clone(), sources.to_vec());
        let engine_push = self.pusher(worker);
        runtime.spawn(async move {
            let prompts = library.resolve(field, &sources).await;
            engine_push(WorkerCommand::Resolved {
                call,
                operation,
                prompts,
            });
        });
        Resolution::Pending
    }

    /// The keys `tones`, `delay` apart, as one prompt: now if cached, else synthesised in a
    /// background task whose result follows on the worker's queue.
    fn dtmf_for(
        &self,
        worker: usize,
        call: &CallId,
        operation: &OperationId,
        tones: &[Digit],
        delay: Duration,
    ) -> Resolution {
        if let Some(prompt) = self.prompts.cached_dtmf(tones, delay) {
            return Resolution::Ready(vec![prompt]);
        }
        let Some(runtime) = &self.runtime else {
            return Resolution::Failed(PromptFailure {
                result: ResultCode::OperationMediaFailure,
                detail: "tones cannot be encoded: the media plane runs without an async runtime"
                    .into(),
            });
        };
        let library = self.prompts.clone();
        let (call, operation, tones) = (call.clone(), operation.clone(), tones.to_vec());
        let engine_push = self.pusher(worker);
        runtime.spawn(async move {
            let prompts = library.dtmf(&tones, delay).await.map(|p| vec![p]);
            engine_push(WorkerCommand::Resolved {
                call,
                operation,
                prompts,
            });
        });
        Resolution::Pending
    }
}
