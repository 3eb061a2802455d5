//! A media worker: one OS thread that owns a set of conversations and ticks their sessions every
//! 20 ms at explicit deadlines.
//!
//! Each tick first takes the commands queued since the last one (so a cached prompt requested
//! between ticks starts on the next tick), then ticks every conversation with the deadline as
//! `now`. Between ticks the thread sleeps until the next deadline — its only system call per
//! tick. A tick whose work ends after the next deadline is counted late; a worker more than
//! [`MAX_BEHIND`] ticks behind skips ahead (and counts the skipped ticks) rather than running a
//! burst. A worker with no conversation parks until a command wakes it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use super::command::WorkerCommand;
use super::conversation::Conversation;
use super::env::WorkerEnv;
use super::leg::{OpKind, finished};
use super::stats::WorkerStats;
use crate::calls::ids::{CallId, ConversationId};
use crate::calls::media::MediaEvent;
use crate::calls::result_codes::ResultCode;

/// The tick period.
pub const TICK: Duration = Duration::from_millis(20);
/// Ticks a worker may fall behind before it skips ahead.
pub const MAX_BEHIND: u32 = 5;
/// How long an idle worker parks before it looks at its stop flag again.
const IDLE_PARK: Duration = Duration::from_millis(250);

/// A worker's state; [`Worker::step`] is one tick, so tests drive it without a thread.
pub struct Worker {
    env: WorkerEnv,
    queue: Arc<ArrayQueue<WorkerCommand>>,
    conversations: HashMap<ConversationId, Conversation>,
    calls: HashMap<CallId, ConversationId>,
    /// Some session waits to grow: look again each tick.
    room_wanted: bool,
}

impl Worker {
    /// A worker reading `queue`.
    pub fn new(env: WorkerEnv, queue: Arc<ArrayQueue<WorkerCommand>>) -> Worker {
        Worker {
            env,
            queue,
            conversations: HashMap::new(),
            calls: HashMap::new(),
            room_wanted: false,
        }
    }

    /// Whether the worker owns no leg.
    pub fn is_idle(&self) -> bool {
        self.calls.is_empty()
    }

    /// Legs on the worker.
    pub fn legs(&self) -> usize {
        self.calls.len()
    }

    /// One tick at `now`: queued commands, then every conversation's audio.
    pub fn step(&mut self, now: Instant) {
        self.env.take_back_clips();
        while let Some(command) = self.queue.pop() {
            self.apply(command);
        }
        if self.room_wanted {
            self.room_wanted = false;
            for conversation in self.conversations.values_mut() {
                self.room_wanted |= conversation.make_room(&self.env);
            }
        }
        for conversation in self.conversations.values_mut() {
            conversation.tick(&mut self.env, now);
        }
    }

    fn apply(&mut self, command: WorkerCommand) {
        match command {
            WorkerCommand::Open {
                call,
                conversation,
                participant,
                hosting,
            } => {
                if self.calls.contains_key(&call) {
                    self.env.emit(MediaEvent::LegReady { call });
                    return;
                }
                let entry = self
                    .conversations
                    .entry(conversation.clone())
                    .or_insert_with(|| Conversation::new(conversation.clone()));
                match entry.join(&self.env, call.clone(), participant, hosting) {
                    Ok(()) => {
                        self.calls.insert(call.clone(), conversation);
                        self.room_wanted = true;
                        self.env.emit(MediaEvent::LegReady { call });
                    }
                    Err(refused) => {
                        if entry.is_empty() {
                            self.conversations.remove(&conversation);
                        }
                        self.env.emit(MediaEvent::LegFailed {
                            call,
                            detail: refused.0,
                        });
                    }
                }
                self.count();
            }
            WorkerCommand::Close { call } => {
                if let Some(id) = self.calls.remove(&call)
                    && let Some(conversation) = self.conversations.get_mut(&id)
                {
                    conversation.leave(&mut self.env, &call);
                    if conversation.is_empty() {
                        self.conversations.remove(&id);
                    }
                    self.room_wanted = true;
                }
                // Recordings of the call go with it, as Graph deletes them after the call.
                self.env.recordings.call_ended(&call);
                self.count();
            }
            WorkerCommand::Play {
                call,
                operation,
                prompts,
            } => self.enqueue(call, operation, OpKind::Play(prompts)),
            WorkerCommand::Record {
                call,
                operation,
                settings,
                prompt,
            } => self.enqueue(call, operation, OpKind::Record { settings, prompt }),
            WorkerCommand::SendDtmf {
                call,
                operation,
                tones,
            } => self.enqueue(call, operation, OpKind::Dtmf(tones)),
            WorkerCommand::SubscribeTones { call } => {
                if let Some(member) = self.member(&call) {
                    member.hosted_mut().tones_subscribed = true;
                }
            }
            WorkerCommand::Cancel { call } => {
                let Self {
                    env,
                    conversations,
                    calls,
                    ..
                } = self;
                if let Some(member) = calls
                    .get(&call)
                    .and_then(|id| conversations.get_mut(id))
                    .and_then(|c| c.member_mut(&call))
                {
                    member.hosted_mut().cancel_all(env, &call);
                }
            }
            WorkerCommand::SelfMute { call, muted } => {
                if let Some(member) = self.member(&call) {
                    member.self_muted = muted;
                }
            }
            WorkerCommand::ServerMute {
                conversation,
                participant,
                muted,
            } => {
                if let Some(conversation) = self.conversations.get_mut(&conversation) {
                    conversation.server_mute(&participant, muted);
                }
            }
            WorkerCommand::Resolved {
                call,
                operation,
                prompts,
            } => {
                if let Some(member) = self.member(&call) {
                    member.hosted_mut().resolved(&operation, prompts);
                }
            }
        }
    }

    fn member(&mut self, call: &CallId) -> Option<&mut super::conversation::Member> {
        let id = self.calls.get(call)?;
        self.conversations.get_mut(id)?.member_mut(call)
    }

    fn enqueue(&mut self, call: CallId, operation: crate::calls::ids::OperationId, kind: OpKind) {
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
        {
            Some(member) => member.hosted_mut().enqueue(env, &call, operation, kind),
            None => env.emit(finished(
                &call,
                operation,
                ResultCode::OperationMediaFailure,
                Some("the call's media is not open (it ended or never connected)".into()),
            )),
        }
    }

    fn count(&self) {
        let stats = &self.env.stats;
        stats.legs.store(self.calls.len() as u64, Ordering::Relaxed);
        stats
            .conversations
            .store(self.conversations.len() as u64, Ordering::Relaxed);
    }

    /// The thread's loop: tick at every 20 ms deadline until `stop` is set.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        let stats = self.env.stats.clone();
        let mut next = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if self.is_idle() && self.queue.is_empty() {
                std::thread::park_timeout(IDLE_PARK);
                next = Instant::now();
                continue;
            }
            let started = Instant::now();
            self.step(next);
            let ended = Instant::now();
            stats.tick_took(ended.saturating_duration_since(started));
            WorkerStats::add(&stats.ticks, 1);
            next += TICK;
            if ended > next {
                WorkerStats::add(&stats.late_ticks, 1);
                let behind = ended.saturating_duration_since(next);
                if behind > TICK * MAX_BEHIND {
                    let skipped = (behind.as_nanos() / TICK.as_nanos()) as u32;
                    WorkerStats::add(&stats.skipped_ticks, u64::from(skipped));
                    next += TICK * skipped;
                }
            } else {
                std::thread::sleep(next - ended);
            }
        }
        // Shutting down: end every leg quietly so clip buffers are returned and sessions freed.
        let calls: Vec<CallId> = self.calls.keys().cloned().collect();
        for call in calls {
            self.apply(WorkerCommand::Close { call });
        }
    }
}
