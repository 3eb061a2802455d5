//! How a worker carries out its commands: the control plane's [`MediaCommand`]s as submitted
//! (with the audio the engine resolved for them), browsers' offers, and finished prompt fetches.
//! Each command keeps the contract in `calls::media`: `OpenLeg` gets one `LegReady` or
//! `LegFailed`, every operation one `OperationFinished`, `CloseLeg` and the rest nothing.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{oneshot, watch};

use super::Worker;
use crate::calls::ids::{CallId, ConversationId, OperationId, ParticipantId};
use crate::calls::media::{Hosting, MediaCommand, MediaEvent};
use crate::calls::result_codes::ResultCode;
use crate::media_plane::app_stream::AppStream;
use crate::media_plane::command::{Resolution, WorkerCommand};
use crate::media_plane::conversation_audio::{ConversationAudio, MemberAudio};
use crate::media_plane::leg::{OperationKind, finished};
use crate::media_plane::webrtc_legs::{WebRtcAnswer, WebRtcLeg, WebRtcLegState, WebRtcOfferError};
use crate::webrtc::EdgeError;

impl Worker {
    /// Applies every queued command.
    pub fn apply_commands(&mut self, now: Instant) {
        while let Some(command) = self.queue.pop() {
            self.apply(command, now);
        }
    }

    fn apply(&mut self, command: WorkerCommand, now: Instant) {
        match command {
            WorkerCommand::Media { command, audio } => self.apply_media(command, audio, now),
            WorkerCommand::AcceptOffer { leg, offer, reply } => {
                self.accept_offer(leg, &offer, reply, now);
            }
            WorkerCommand::Resolved {
                call,
                operation,
                prompts,
            } => {
                if let Some(bot) = self.member(&call).and_then(|m| m.bot_mut()) {
                    bot.resolved(&operation, prompts);
                }
            }
            WorkerCommand::AttachStream { call, stream } => self.attach_stream(&call, stream),
        }
    }

    /// Gives an app-hosted bot's leg its lane. The engine sends it right after the leg's
    /// `OpenLeg`; a leg that already ended (or failed to open) has nothing to attach it to, and
    /// the worker's end of the lane is dropped.
    fn attach_stream(&mut self, call: &CallId, stream: Arc<AppStream>) {
        let attached = match self
            .calls
            .get(call)
            .and_then(|id| self.conversations.get_mut(id))
        {
            Some(conversation) => conversation.attach_stream(call, stream).is_ok(),
            None => false,
        };
        if !attached {
            tracing::debug!(%call, "app-hosted media lane not attached: no such app-hosted leg here");
        }
    }

    /// A control-plane command: `audio` is what it plays ([`Resolution::NONE`] for the commands
    /// that play nothing).
    fn apply_media(&mut self, command: MediaCommand, audio: Resolution, now: Instant) {
        match command {
            // The prefetch was started by the engine; the worker has nothing to do with it.
            MediaCommand::OpenLeg {
                call,
                conversation,
                participant,
                source_id,
                hosting,
                prefetch: _,
            } => self.open_leg(call, conversation, participant, source_id, hosting),
            MediaCommand::CloseLeg { call } => self.close(&call, now),
            // The prompt sources were resolved by the engine into `audio`.
            MediaCommand::PlayPrompts {
                call,
                operation,
                prompts: _,
            } => self.enqueue(call, operation, OperationKind::PlayPrompts(audio)),
            MediaCommand::Record {
                call,
                operation,
                settings,
            } => {
                let kind = OperationKind::Record {
                    settings,
                    prompt: audio,
                };
                self.enqueue(call, operation, kind);
            }
            // The keys were synthesised by the engine into `audio`.
            MediaCommand::SendDtmf {
                call, operation, ..
            } => self.enqueue(call, operation, OperationKind::SendDtmf(audio)),
            MediaCommand::SubscribeTones { call } => {
                if let Some(bot) = self.member(&call).and_then(|m| m.bot_mut()) {
                    bot.tones_subscribed = true;
                }
            }
            MediaCommand::CancelMediaProcessing { call } => {
                let Self {
                    env,
                    conversations,
                    calls,
                    ..
                } = self;
                if let Some(bot) = calls
                    .get(&call)
                    .and_then(|id| conversations.get_mut(id))
                    .and_then(|c| c.member_mut(&call))
                    .and_then(|m| m.bot_mut())
                {
                    bot.cancel_all(env, &call);
                }
            }
            MediaCommand::SetSelfMuted { call, muted } => {
                if let Some(conversation) = self
                    .calls
                    .get(&call)
                    .and_then(|id| self.conversations.get_mut(id))
                {
                    conversation.self_mute(&call, muted);
                }
            }
            MediaCommand::SetServerMuted {
                conversation,
                participant,
                muted,
            } => {
                if let Some(conversation) = self.conversations.get_mut(&conversation) {
                    conversation.server_mute(&participant, muted);
                }
            }
            // The participants go to the leg's media socket, not to the worker.
            MediaCommand::SetParticipants { .. } => {}
        }
    }

    /// Joins a bot's leg to its conversation's audio; reports `LegReady` (also for a leg already
    /// open) or `LegFailed`.
    fn open_leg(
        &mut self,
        call: CallId,
        conversation: ConversationId,
        participant: ParticipantId,
        source_id: u32,
        hosting: Hosting,
    ) {
        if self.calls.contains_key(&call) {
            self.env.emit(MediaEvent::LegReady { call });
            return;
        }
        let entry = self
            .conversations
            .entry(conversation.clone())
            .or_insert_with(|| ConversationAudio::new(conversation.clone()));
        match entry.join_bot(call.clone(), participant, source_id, hosting) {
            Ok(()) => {
                self.calls.insert(call.clone(), conversation);
                self.env.emit(MediaEvent::LegReady { call });
            }
            Err(refused) => {
                if entry.is_empty() {
                    self.conversations.remove(&conversation);
                }
                self.env.emit(MediaEvent::LegFailed {
                    call,
                    detail: refused.to_string(),
                });
            }
        }
        self.count();
    }

    fn accept_offer(
        &mut self,
        leg: WebRtcLeg,
        offer: &str,
        reply: oneshot::Sender<Result<WebRtcAnswer, WebRtcOfferError>>,
        now: Instant,
    ) {
        let WebRtcLeg {
            call,
            conversation,
            participant,
            source_id,
        } = leg;
        if self.calls.contains_key(&call) {
            let _ = reply.send(Err(WebRtcOfferError::AlreadyOpen(call)));
            return;
        }
        let (peer, answer) = match self.edge.accept_offer(now, offer) {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::info!(%call, %error, "browser offer refused");
                let refusal = match error {
                    EdgeError::InvalidSdp { .. }
                    | EdgeError::Negotiation { .. }
                    | EdgeError::NoUsableAudio { .. } => WebRtcOfferError::Offer(error),
                    other => WebRtcOfferError::EdgeRefused(other),
                };
                let _ = reply.send(Err(refusal));
                return;
            }
        };
        let (state, watch) = watch::channel(WebRtcLegState::Connecting);
        let entry = self
            .conversations
            .entry(conversation.clone())
            .or_insert_with(|| ConversationAudio::new(conversation.clone()));
        if let Err(refused) = entry.join_browser(call.clone(), participant, source_id, peer, state)
        {
            if entry.is_empty() {
                self.conversations.remove(&conversation);
            }
            let _ = self.edge.close_peer(now, peer);
            let _ = reply.send(Err(WebRtcOfferError::JoinRefused(refused)));
            return;
        }
        self.calls.insert(call.clone(), conversation.clone());
        self.peers.insert(peer, (call.clone(), conversation));
        self.count();
        tracing::info!(%call, %peer, "browser leg negotiated");
        let answered = reply.send(Ok(WebRtcAnswer {
            sdp: answer,
            state: watch,
        }));
        if answered.is_err() {
            // Nobody waits for the answer any more (the signaling side went away): undo.
            self.close(&call, now);
        }
    }

    /// Ends a leg from our side: a bot's session ends quietly, a browser's peer is closed.
    pub(super) fn close(&mut self, call: &CallId, now: Instant) {
        if let Some(browser) = self.remove_leg(call) {
            self.peers.remove(&browser.peer);
            let _ = self.edge.close_peer(now, browser.peer);
            browser.set_state(WebRtcLegState::Closed);
        }
        // Recordings of the call go with it, as Graph deletes them after the call.
        self.env.recordings.call_ended(call);
        self.count();
    }

    fn member(&mut self, call: &CallId) -> Option<&mut MemberAudio> {
        let id = self.calls.get(call)?;
        self.conversations.get_mut(id)?.member_mut(call)
    }

    /// Queues an operation on a bot's leg; one on a leg that is not open here fails at once.
    fn enqueue(&mut self, call: CallId, operation: OperationId, kind: OperationKind) {
        let Self {
            env,
            conversations,
            calls,
            ..
        } = self;
        match calls
            .get(&call)
            .and_then(|id| conversations.get_mut(id))
            .and_then(|c| c.member_mut(&call))
            .and_then(|m| m.bot_mut())
        {
            Some(bot) => bot.enqueue(env, &call, operation, kind),
            None => env.emit(finished(
                &call,
                operation,
                ResultCode::OperationMediaFailure,
                Some("the call's media is not open (it ended or never connected)".into()),
            )),
        }
    }
}
