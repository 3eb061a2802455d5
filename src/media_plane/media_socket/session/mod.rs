//! The socket task of one app-hosted leg: it dials, keeps the link (redialling a lost one with
//! backoff within the reconnect window), pumps the lane every [`PUMP_INTERVAL`] and answers the
//! bot. Nothing here waits on the worker or makes it wait: the lane is lock-free, and a slow bot
//! only fills the lane's own ring.
//!
//! Writing is a task of its own per connection (`link.rs`), fed through a small queue: the pump
//! hands it frames only while the queue has room, so frames the bot is too slow for stay in the
//! lane, where the oldest are dropped and counted. Control messages wait in the session's
//! outbox, and the bot is not read while the outbox is long (its own messages are what fill it).
//! The bot's messages are handled in `from_bot.rs`.

mod from_bot;
mod link;

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::dial::{DialError, DialRequest, Socket};
use super::outbound::{ToBot, Warnings, frames_dropped, notice_message};
use super::playout::{BotAudio, FlowChange};
use super::protocol::{FlowState, MEDIA_FORMAT, ServerMessage, WireParticipant};
use super::{STOP_BOT_STOPPED, STOP_SHUTDOWN, SocketLeg};
use crate::calls::media::{MediaEvent, StreamParticipant};
use crate::metrics as names;
use crate::notify::redacted;
use from_bot::Next;
use link::{Connection, Dialing, Event, Link};

/// How often the lane is pumped: frames to the bot, the playout ring topped up. Half the
/// worker's tick, so a frame waits 5 ms on average before it leaves.
pub const PUMP_INTERVAL: Duration = Duration::from_millis(10);
/// The first redial after a loss waits this long, doubling up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two redials.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// Control messages waiting for the writer beyond which the bot is not read.
const OUTBOX_HIGH: usize = 256;
/// Time allowed to send `stop` and the close frame when the task ends.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// A connected bot is pinged this often, so a vanished one (no close, no reset) is noticed.
pub const PING_INTERVAL: Duration = Duration::from_secs(5);
/// A connection on which nothing (not even a pong) arrived for this long is treated as lost.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(15);

/// The task's state besides the link.
struct Session {
    leg: SocketLeg,
    /// The leg's media stream id, the same on every connection.
    stream_id: String,
    /// Redacted URL for logs and failure details.
    url: String,
    to_bot: ToBot,
    audio: BotAudio,
    warnings: Warnings,
    /// The lane's dropped-frame count already accounted for.
    dropped_seen: u64,
    /// Whether a `recvonly` bot was told its audio is ignored.
    recvonly_told: bool,
    participants: Vec<StreamParticipant>,
    /// The list the bot has now (`None` before the first `start`).
    told_participants: Option<Vec<StreamParticipant>>,
    outbox: VecDeque<Message>,
    /// Connections made so far (the next `start` is resumed when this is not 0).
    connections: u64,
    /// When the link went down (or the first dial began); the reconnect window counts from it.
    down_since: Instant,
    backoff: Duration,
    /// When the bot was last heard from (any message, pongs included) on this connection.
    last_heard: Instant,
    /// When the bot was last pinged.
    last_ping: Instant,
    /// Why the last dial failed, for the failure's detail.
    last_error: String,
}

/// Runs one leg's socket until the call ends, the bot stops, or the leg fails.
pub(super) async fn run(
    leg: SocketLeg,
    mut participants: watch::Receiver<Vec<StreamParticipant>>,
    mut close: oneshot::Receiver<&'static str>,
) {
    let mut session = Session::new(leg);
    let mut link = Link::Dialing(session.dial());
    let mut pump = tokio::time::interval(PUMP_INTERVAL);
    pump.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut watching = true;
    loop {
        let reading = session.outbox.len() < OUTBOX_HIGH;
        let event = tokio::select! {
            biased;
            reason = &mut close => Event::Close(reason.unwrap_or(STOP_SHUTDOWN)),
            changed = participants.changed(), if watching => Event::Participants(changed.is_ok()),
            event = link.next(reading) => event,
            _ = pump.tick() => Event::Pump,
        };
        let now = Instant::now();
        match event {
            Event::Close(reason) => {
                session.finish(link, reason).await;
                return;
            }
            Event::Participants(alive) => {
                watching = alive;
                if alive {
                    session.participants = participants.borrow_and_update().clone();
                    session.tell_participants(&link);
                }
            }
            Event::Dialed(Ok(socket)) => {
                link = Link::Connected(session.connected(socket));
            }
            Event::Dialed(Err(error)) => {
                if error.is_final() {
                    session.refused(&error);
                    return;
                }
                session.last_error = error.to_string();
                tracing::debug!(
                    call = %session.leg.call, url = %session.url, %error,
                    "media socket dial failed; redialling"
                );
                match session.retry(now) {
                    Some(at) => link = Link::Waiting(at),
                    None => return,
                }
            }
            Event::DialNow => link = Link::Dialing(session.dial()),
            Event::FromBot(Some(Ok(message))) => match session.on_bot_message(message, now) {
                Next::Continue => {}
                Next::BotStopped => {
                    session.finish(link, STOP_BOT_STOPPED).await;
                    return;
                }
                Next::Lost(why) => match session.lost(why, now) {
                    Some(at) => link = Link::Waiting(at),
                    None => return,
                },
            },
            Event::FromBot(Some(Err(error))) => match session.lost(error.to_string(), now) {
                Some(at) => link = Link::Waiting(at),
                None => return,
            },
            Event::FromBot(None) | Event::WriterEnded => {
                match session.lost("the connection closed".into(), now) {
                    Some(at) => link = Link::Waiting(at),
                    None => return,
                }
            }
            Event::Pump => {
                if let Some(why) = session.silent_too_long(&link, now) {
                    match session.lost(why, now) {
                        Some(at) => link = Link::Waiting(at),
                        None => return,
                    }
                }
            }
        }
        session.pump(&link, now);
    }
}

impl Session {
    fn new(leg: SocketLeg) -> Session {
        let url = redacted(&leg.app.socket.url);
        let audio = BotAudio::new(&leg.settings);
        let participants = leg.app.participants.clone();
        Session {
            leg,
            stream_id: uuid::Uuid::new_v4().to_string(),
            url,
            to_bot: ToBot::default(),
            audio,
            warnings: Warnings::default(),
            dropped_seen: 0,
            recvonly_told: false,
            participants,
            told_participants: None,
            outbox: VecDeque::new(),
            connections: 0,
            down_since: Instant::now(),
            backoff: FIRST_BACKOFF,
            last_heard: Instant::now(),
            last_ping: Instant::now(),
            last_error: String::new(),
        }
    }

    fn counter(&self, name: &'static str) -> metrics::Counter {
        metrics::counter!(name, "worker" => self.leg.worker.to_string())
    }

    /// Starts a dial with a freshly minted JWT.
    fn dial(&self) -> Dialing {
        self.counter(names::MEDIA_SOCKET_DIALS).increment(1);
        let leg = &self.leg;
        let settings = &leg.settings;
        let token =
            leg.tokens
                .media_socket_token(&leg.app.app_id, &leg.app.tenant_id, leg.call.as_str());
        let request = token.map(|bearer| DialRequest {
            url: leg.app.socket.url.clone(),
            bearer,
            auth_token: leg.app.socket.auth_token.clone(),
            allow_private: settings.allow_private_addresses,
            connect_timeout: Duration::from_millis(settings.connect_timeout_ms),
            // Messages up to twice the limit are read and refused with a warning; only beyond
            // that does the WebSocket layer give up on the connection.
            max_frame_bytes: settings
                .max_message_bytes
                .saturating_mul(2)
                .max(settings.max_message_bytes + 64 * 1024),
        });
        let dialer = leg.dialer.clone();
        Box::pin(async move {
            match request {
                Ok(request) => dialer.dial(request).await.map(Box::new),
                Err(error) => Err(DialError::Token {
                    reason: error.to_string(),
                }),
            }
        })
    }

    /// When to redial, or `None` (and the leg fails) once the reconnect window is spent.
    fn retry(&mut self, now: Instant) -> Option<Instant> {
        let window = Duration::from_secs(self.leg.settings.reconnect_window_secs);
        let at = now + self.backoff;
        if at.duration_since(self.down_since) > window {
            let detail = format!(
                "the media socket at {} could not be reached for {} s \
                 (media.app_hosted.reconnect_window_secs): {}",
                self.url,
                window.as_secs(),
                self.last_error
            );
            self.fail(detail);
            return None;
        }
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        Some(at)
    }

    /// The connection is gone: redial after the first backoff (or fail, see [`Session::retry`]).
    fn lost(&mut self, why: String, now: Instant) -> Option<Instant> {
        tracing::warn!(
            call = %self.leg.call, url = %self.url, reason = %why,
            "media socket lost; redialling"
        );
        self.down_since = now;
        self.backoff = FIRST_BACKOFF;
        self.last_error = why;
        self.retry(now)
    }

    /// A dial the bot (401/403) or the address policy refused: the leg ends at once.
    fn refused(&mut self, error: &DialError) {
        self.counter(names::MEDIA_SOCKET_REFUSED_DIALS).increment(1);
        let detail = format!(
            "the media socket at {} cannot be dialled: {error}",
            self.url
        );
        self.fail(detail);
    }

    /// Ends the leg: `LegFailed` to the control plane, the bot's audio silenced.
    fn fail(&mut self, detail: String) {
        self.counter(names::MEDIA_SOCKET_LEGS_FAILED).increment(1);
        tracing::warn!(call = %self.leg.call, %detail, "app-hosted leg failed");
        self.leg.stream.clear_playout();
        let event = MediaEvent::LegFailed {
            call: self.leg.call.clone(),
            detail,
        };
        if self.leg.events.push(event).is_err() {
            tracing::warn!(
                call = %self.leg.call,
                "the control plane's event queue is full; a media socket's failure was dropped"
            );
        }
    }

    /// A dial succeeded: `start` goes first, stale frames are discarded, the writer starts.
    fn connected(&mut self, socket: Box<Socket>) -> Connection {
        let resumed = self.connections > 0;
        self.connections += 1;
        if resumed {
            self.counter(names::MEDIA_SOCKET_RECONNECTS).increment(1);
        }
        tracing::info!(call = %self.leg.call, url = %self.url, resumed, "media socket connected");
        // Latency beats completeness: what queued while nobody listened is not sent late.
        let stream = &self.leg.stream;
        let mut stale = 0;
        while stream.take_frame().is_some() {
            stale += 1;
        }
        if resumed || stale > 0 {
            self.to_bot.frames_lost();
        }
        self.dropped_seen = stream.frames_dropped();
        if self.audio.paused() {
            let buffered_ms = self.audio.buffered_ms(stream);
            self.push_front(ServerMessage::FlowControl {
                state: FlowState::Pause,
                buffered_ms,
            });
        }
        self.push_front(self.start(resumed));
        self.told_participants = Some(self.participants.clone());
        self.down_since = Instant::now();
        self.backoff = FIRST_BACKOFF;
        self.last_heard = Instant::now();
        self.last_ping = Instant::now();
        Connection::open(*socket)
    }

    fn start(&self, resumed: bool) -> ServerMessage {
        let socket = &self.leg.app.socket;
        ServerMessage::Start {
            call_id: self.leg.call.to_string(),
            stream_id: self.stream_id.clone(),
            media_format: MEDIA_FORMAT,
            directions: socket.directions.as_str(),
            receive_mixed_audio: socket.mixed,
            receive_unmixed_meeting_audio: socket.unmixed,
            participants: wire(&self.participants),
            resumed,
        }
    }

    /// Tells a connected bot the participant list, if it differs from what it has.
    fn tell_participants(&mut self, link: &Link) {
        if !matches!(link, Link::Connected(_))
            || self.told_participants.as_ref() == Some(&self.participants)
        {
            return;
        }
        self.told_participants = Some(self.participants.clone());
        self.push(ServerMessage::ParticipantsUpdated {
            participants: wire(&self.participants),
        });
    }

    fn push(&mut self, message: ServerMessage) {
        self.outbox.push_back(Message::text(message.to_json()));
    }

    fn push_front(&mut self, message: ServerMessage) {
        self.outbox.push_front(Message::text(message.to_json()));
    }

    /// Why a connected bot counts as gone: nothing heard for [`SILENCE_LIMIT`]. Pings it every
    /// [`PING_INTERVAL`] meanwhile (WebSocket stacks answer them by themselves).
    fn silent_too_long(&mut self, link: &Link, now: Instant) -> Option<String> {
        if !matches!(link, Link::Connected(_)) {
            return None;
        }
        if now.duration_since(self.last_heard) >= SILENCE_LIMIT {
            return Some(format!(
                "nothing heard from the bot for {} s (not even a pong)",
                SILENCE_LIMIT.as_secs()
            ));
        }
        if now.duration_since(self.last_ping) >= PING_INTERVAL {
            self.last_ping = now;
            self.outbox.push_back(Message::Ping(Default::default()));
        }
        None
    }

    /// Moves audio both ways: the bot's into the playout ring, the worker's frames and notices
    /// (and everything due: played marks, flow control, warnings) to a connected bot.
    fn pump(&mut self, link: &Link, now: Instant) {
        let stream = self.leg.stream.clone();
        let std_now = now.into_std();
        self.audio.top_up(&stream, std_now);
        let Link::Connected(connection) = link else {
            return;
        };
        for name in self.audio.played_marks(&stream) {
            self.push(ServerMessage::MarkPlayed { name });
        }
        match self.audio.flow(&stream) {
            Some(FlowChange::Pause { buffered_ms }) => self.push(ServerMessage::FlowControl {
                state: FlowState::Pause,
                buffered_ms,
            }),
            Some(FlowChange::Resume { buffered_ms }) => self.push(ServerMessage::FlowControl {
                state: FlowState::Resume,
                buffered_ms,
            }),
            None => {}
        }
        let dropped = stream.frames_dropped();
        if dropped > self.dropped_seen {
            let count = dropped - self.dropped_seen;
            self.dropped_seen = dropped;
            self.to_bot.frames_lost();
            self.counter(names::MEDIA_SOCKET_FRAMES_DROPPED)
                .increment(count);
            if let Some(count) = self.warnings.dropped.add(count, std_now) {
                self.push(frames_dropped(count));
            }
        }
        for warning in self.warnings.due(std_now) {
            self.push(warning);
        }
        while let Some(notice) = stream.take_notice() {
            self.push(notice_message(notice));
        }
        self.write(connection);
    }

    /// Hands the writer what it has room for: the outbox first, then frames.
    fn write(&mut self, connection: &Connection) {
        while !self.outbox.is_empty() {
            let Ok(permit) = connection.queue.try_reserve() else {
                return;
            };
            if let Some(message) = self.outbox.pop_front() {
                permit.send(message);
            }
        }
        let stream = &self.leg.stream;
        if !self.leg.app.socket.directions.bot_hears() {
            // A sendonly bot hears nothing; the worker's frames (if any) are not kept.
            while stream.take_frame().is_some() {}
            return;
        }
        while let Ok(permit) = connection.queue.try_reserve() {
            let Some(frame) = stream.take_frame() else {
                break;
            };
            permit.send(Message::binary(self.to_bot.message(&frame)));
        }
    }

    /// Ends the task: a connected bot gets `stop` with `reason` and a close (1000); the bot's
    /// audio is silenced.
    async fn finish(mut self, link: Link, reason: &'static str) {
        let stream = self.leg.stream.clone();
        let unplayed = self.audio.clear(&stream);
        tracing::info!(call = %self.leg.call, url = %self.url, reason, "media socket stopping");
        let Link::Connected(connection) = link else {
            return;
        };
        if !unplayed.is_empty() {
            self.push(ServerMessage::Cleared { marks: unplayed });
        }
        self.push(ServerMessage::Stop {
            reason: reason.into(),
        });
        self.outbox.push_back(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: reason.into(),
        })));
        let Connection { queue, writer, .. } = connection;
        let outbox = std::mem::take(&mut self.outbox);
        let send_all = async move {
            for message in outbox {
                if queue.send(message).await.is_err() {
                    break;
                }
            }
            drop(queue);
            let _ = writer.await;
        };
        if tokio::time::timeout(CLOSE_GRACE, send_all).await.is_err() {
            tracing::debug!(call = %self.leg.call, "media socket did not close in time");
        }
    }
}

/// The participants as the socket lists them.
fn wire(participants: &[StreamParticipant]) -> Vec<WireParticipant> {
    participants
        .iter()
        .map(|p| WireParticipant {
            id: p.id.to_string(),
            source_id: p.source_id,
            identity: p.identity.clone(),
        })
        .collect()
}
