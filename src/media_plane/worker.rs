//! A media worker: one OS thread that owns a set of conversations, their sessions and one
//! WebRTC edge with its UDP socket, and ticks them every 20 ms at explicit deadlines.
//!
//! Each tick first takes the commands queued since the last one (so a cached prompt requested
//! between ticks starts on the next tick), then ticks every conversation with the deadline as
//! `now`, then sends what the tick made for browsers. Between ticks the thread waits on its
//! socket until the next deadline: datagrams are handed to the edge as they arrive, and the
//! audio and keys they carry go straight into the sessions that hear them (a browser's packet
//! for another browser leaves at once). Commands wake it through the socket's waker, so a
//! browser's offer is answered without waiting for the tick. A tick whose work ends after the
//! next deadline is counted late; a worker more than [`MAX_BEHIND`] ticks behind skips ahead
//! (and counts the skipped ticks) rather than running a burst. No thread or task per call or
//! per peer: the edge, the sessions and the socket are all driven from this one loop. What each
//! command does is in `worker_commands.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use super::browser::{BrowserMember, PeerSender};
use super::command::WorkerCommand;
use super::conversation_audio::ConversationAudio;
use super::env::WorkerEnv;
use super::stats::WorkerStats;
use super::webrtc_legs::WebRtcLegState;
use crate::calls::ids::{CallId, ConversationId};
use crate::calls::media::MediaEvent;
use crate::webrtc::{DisconnectReason, EdgeEvent, EdgeSocket, PeerId, WebRtcEdge};

#[path = "worker_commands.rs"]
mod commands;

/// How often a worker ticks: each tick moves one 20 ms frame of every leg's audio.
pub const TICK: Duration = Duration::from_millis(20);
/// Ticks a worker may fall behind before it skips ahead.
pub const MAX_BEHIND: u32 = 5;
/// How long an idle worker waits on its socket before it looks at its stop flag again.
const IDLE_WAIT: Duration = Duration::from_millis(250);

/// A worker's state; [`Worker::step`] is one tick and [`Worker::handle_edge_events`] takes what
/// the edge received, so tests drive it without a thread or a socket.
pub struct Worker {
    env: WorkerEnv,
    queue: Arc<ArrayQueue<WorkerCommand>>,
    edge: WebRtcEdge,
    conversations: HashMap<ConversationId, ConversationAudio>,
    calls: HashMap<CallId, ConversationId>,
    /// Browser legs by their edge peer.
    peers: HashMap<PeerId, (CallId, ConversationId)>,
}

/// Sends the conversations' audio for browsers through the edge. A refused write concerns one
/// peer (it is ending) and is counted, never logged per packet.
struct EdgeOut<'a> {
    edge: &'a mut WebRtcEdge,
    stats: &'a WorkerStats,
    now: Instant,
}

impl PeerSender for EdgeOut<'_> {
    fn send(&mut self, peer: PeerId, timestamp: u32, marker: bool, payload: &[u8]) {
        // str0m takes shared buffers; made packets live in the sessions, so this one is copied.
        let payload: Arc<[u8]> = Arc::from(payload);
        if self
            .edge
            .write_audio(self.now, peer, timestamp, marker, payload)
            .is_err()
        {
            WorkerStats::add(&self.stats.webrtc_write_errors, 1);
        }
    }

    fn forward(&mut self, peer: PeerId, timestamp: u32, marker: bool, payload: &Arc<[u8]>) {
        if self
            .edge
            .write_audio(self.now, peer, timestamp, marker, Arc::clone(payload))
            .is_err()
        {
            WorkerStats::add(&self.stats.webrtc_write_errors, 1);
        }
    }
}

impl Worker {
    /// A worker reading `queue`, with `edge` for browsers.
    pub fn new(env: WorkerEnv, queue: Arc<ArrayQueue<WorkerCommand>>, edge: WebRtcEdge) -> Worker {
        Worker {
            env,
            queue,
            edge,
            conversations: HashMap::new(),
            calls: HashMap::new(),
            peers: HashMap::new(),
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

    /// The worker's WebRTC edge (tests feed it datagrams and read what it sends).
    pub fn edge_mut(&mut self) -> &mut WebRtcEdge {
        &mut self.edge
    }

    /// One tick at `now`: queued commands, then every conversation's audio.
    pub fn step(&mut self, now: Instant) {
        self.env.take_back_clips();
        self.apply_commands(now);
        let Self {
            env,
            edge,
            conversations,
            ..
        } = self;
        let stats = env.stats.clone();
        let mut out = EdgeOut {
            edge,
            stats: &stats,
            now,
        };
        for conversation in conversations.values_mut() {
            conversation.tick(env, &mut out, now);
        }
    }

    /// Takes everything the edge has to report: connections, browsers' audio and keys (into the
    /// sessions that hear them at once), and peers that are gone.
    pub fn handle_edge_events(&mut self, now: Instant) {
        while let Some(event) = self.edge.poll_event() {
            match event {
                EdgeEvent::Audio { peer, packet } => {
                    let Self {
                        env,
                        edge,
                        conversations,
                        peers,
                        ..
                    } = self;
                    let Some(conversation) = peers
                        .get(&peer)
                        .and_then(|(_, id)| conversations.get_mut(id))
                    else {
                        continue;
                    };
                    let Some(index) = conversation.browser_index(peer) else {
                        continue;
                    };
                    let mut out = EdgeOut {
                        edge,
                        stats: &env.stats,
                        now,
                    };
                    conversation.browser_audio(env, index, &packet, &mut out, now);
                }
                EdgeEvent::TelephoneEvent { peer, packet } => {
                    let Some(conversation) = self
                        .peers
                        .get(&peer)
                        .and_then(|(_, id)| self.conversations.get_mut(id))
                    else {
                        continue;
                    };
                    if let Some(index) = conversation.browser_index(peer) {
                        conversation.browser_telephone_event(index, &packet, now);
                    }
                }
                EdgeEvent::Connected { peer, setup, .. } => self.connected(peer, setup),
                EdgeEvent::Disconnected { peer, reason } => self.disconnected(peer, reason),
            }
        }
    }

    fn connected(&mut self, peer: PeerId, setup: Duration) {
        let Some((call, id)) = self.peers.get(&peer) else {
            return;
        };
        let call = call.clone();
        let Some(browser) = self
            .conversations
            .get_mut(id)
            .and_then(|c| c.member_mut(&call))
            .and_then(|m| m.browser_mut())
        else {
            return;
        };
        browser.connected = true;
        browser.set_state(WebRtcLegState::Connected { setup });
        WorkerStats::add(&self.env.stats.webrtc_connected, 1);
        self.env.emit(MediaEvent::LegReady { call });
    }

    /// The edge dropped a peer (it already logged why): its leg leaves the conversation, the
    /// engine forgets it, and the control plane and signaling layer hear of it once.
    fn disconnected(&mut self, peer: PeerId, reason: DisconnectReason) {
        let Some((call, _)) = self.peers.remove(&peer) else {
            return;
        };
        let leg = self.remove_leg(&call);
        // Before the state changes, so a new offer under the same call id finds it forgotten.
        if self.env.departed.push(call.clone()).is_err() {
            WorkerStats::add(&self.env.stats.event_queue_full, 1);
        }
        // The control plane hears of a hang-up by the browser too (its leg has no media any
        // more); the detail and the watch tell it apart from a failure.
        let (detail, state) = match reason.result_info() {
            Some(_) => {
                WorkerStats::add(&self.env.stats.webrtc_failed, 1);
                let detail = format!("the browser's media was lost: {reason}");
                (detail.clone(), WebRtcLegState::Failed { detail })
            }
            None => (
                format!("the browser hung up: {reason} (DTLS close_notify)"),
                WebRtcLegState::ClosedByPeer,
            ),
        };
        self.env.emit(MediaEvent::LegFailed { call, detail });
        if let Some(browser) = leg {
            browser.set_state(state);
        }
        self.count();
    }

    /// Takes a leg out of its conversation; a browser's member is handed back.
    fn remove_leg(&mut self, call: &CallId) -> Option<Box<BrowserMember>> {
        let id = self.calls.remove(call)?;
        let conversation = self.conversations.get_mut(&id)?;
        let browser = conversation.leave(&mut self.env, call);
        if conversation.is_empty() {
            self.conversations.remove(&id);
        }
        browser
    }

    fn count(&self) {
        let stats = &self.env.stats;
        stats.legs.store(self.calls.len() as u64, Ordering::Relaxed);
        stats
            .conversations
            .store(self.conversations.len() as u64, Ordering::Relaxed);
        stats
            .webrtc_peers
            .store(self.peers.len() as u64, Ordering::Relaxed);
    }

    /// The thread's loop until `stop` is set: wait on the socket for datagrams, commands or the
    /// next deadline; hand datagrams to the edge and their media to the conversations; tick at
    /// every 20 ms deadline.
    pub fn run(mut self, mut socket: EdgeSocket, stop: Arc<AtomicBool>) {
        let stats = self.env.stats.clone();
        let mut next = Instant::now();
        let mut socket_failures = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let idle = self.is_idle() && self.queue.is_empty();
            let until = if idle {
                Instant::now() + IDLE_WAIT
            } else {
                next
            };
            let now = match socket.turn(&mut self.edge, until) {
                Ok(now) => now,
                Err(error) => {
                    // Waiting itself failed (not one datagram): count, say so once, and keep
                    // ticking on the clock so calls without browsers go on.
                    socket_failures += 1;
                    if socket_failures == 1 {
                        tracing::error!(%error, "media worker socket wait failed");
                    }
                    std::thread::sleep(until.saturating_duration_since(Instant::now()));
                    Instant::now()
                }
            };
            self.handle_edge_events(now);
            self.apply_commands(now);
            if self.is_idle() && self.queue.is_empty() {
                next = now;
                socket.flush(&mut self.edge);
                continue;
            }
            if now < next {
                socket.flush(&mut self.edge);
                continue;
            }
            let started = Instant::now();
            self.step(next);
            socket.flush(&mut self.edge);
            let ended = Instant::now();
            stats.tick_took(ended.saturating_duration_since(started));
            WorkerStats::add(&stats.ticks, 1);
            self.publish_socket_counters(&socket);
            next += TICK;
            if ended > next {
                WorkerStats::add(&stats.late_ticks, 1);
                let behind = ended.saturating_duration_since(next);
                if behind > TICK * MAX_BEHIND {
                    let skipped = (behind.as_nanos() / TICK.as_nanos()) as u32;
                    WorkerStats::add(&stats.skipped_ticks, u64::from(skipped));
                    next += TICK * skipped;
                }
            }
        }
        // Shutting down: end every leg quietly so clip buffers are returned, sessions freed and
        // browsers told (DTLS close_notify).
        let now = Instant::now();
        let calls: Vec<CallId> = self.calls.keys().cloned().collect();
        for call in calls {
            self.close(&call, now);
        }
        socket.flush(&mut self.edge);
    }

    fn publish_socket_counters(&self, socket: &EdgeSocket) {
        let stats = &self.env.stats;
        let counters = socket.counters();
        stats
            .udp_send_dropped
            .store(counters.send_dropped, Ordering::Relaxed);
        stats
            .udp_datagrams_in
            .store(counters.received, Ordering::Relaxed);
        stats
            .udp_datagrams_out
            .store(counters.sent, Ordering::Relaxed);
    }
}
