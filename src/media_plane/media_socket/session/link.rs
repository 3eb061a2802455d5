//! The link to the bot as the socket task sees it: dialling, waiting to redial, or connected; and
//! a connection's writer, a task of its own fed through a small queue.

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::media_plane::media_socket::dial::{DialError, Socket};

/// Messages queued for a connection's writer; more wait in the lane (audio) or the outbox.
const WRITE_QUEUE: usize = 32;

/// A dial in progress (the socket boxed: it is large, and moved once).
pub(super) type Dialing = Pin<Box<dyn Future<Output = Result<Box<Socket>, DialError>> + Send>>;

/// One live connection: the writer's queue and task, and the bot's messages.
pub(super) struct Connection {
    pub(super) queue: mpsc::Sender<Message>,
    pub(super) writer: JoinHandle<()>,
    pub(super) incoming: SplitStream<Socket>,
}

/// Where the task stands with the bot.
pub(super) enum Link {
    /// Dialling.
    Dialing(Dialing),
    /// Waiting to redial.
    Waiting(Instant),
    /// Connected.
    Connected(Connection),
}

/// What woke the task.
pub(super) enum Event {
    /// The engine closed the leg (or dropped its handle).
    Close(&'static str),
    /// The participant list changed (`false`: the engine's handle is gone).
    Participants(bool),
    /// A dial finished.
    Dialed(Result<Box<Socket>, DialError>),
    /// Time to redial.
    DialNow,
    /// A message from the bot, or the end of its stream.
    FromBot(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    /// The writer ended (the connection failed while writing).
    WriterEnded,
    /// Time to pump the lane.
    Pump,
}

impl Link {
    /// The next thing that happens on the link; `reading` is false while the bot is not read.
    pub(super) async fn next(&mut self, reading: bool) -> Event {
        match self {
            Link::Dialing(dial) => Event::Dialed(dial.as_mut().await),
            Link::Waiting(at) => {
                tokio::time::sleep_until(*at).await;
                Event::DialNow
            }
            Link::Connected(connection) => tokio::select! {
                message = connection.incoming.next(), if reading => Event::FromBot(message),
                _ = &mut connection.writer => Event::WriterEnded,
            },
        }
    }
}

impl Connection {
    /// Splits `socket` and starts its writer.
    pub(super) fn open(socket: Socket) -> Connection {
        let (sink, incoming) = socket.split();
        let (queue, queued) = mpsc::channel(WRITE_QUEUE);
        let writer = tokio::spawn(write(sink, queued));
        Connection {
            queue,
            writer,
            incoming,
        }
    }
}

/// A connection's writer: sends what it is handed, in order, batching what is ready into one
/// flush; ends after a close frame, or when the queue or the connection closes.
async fn write(mut sink: SplitSink<Socket, Message>, mut queue: mpsc::Receiver<Message>) {
    while let Some(message) = queue.recv().await {
        let mut closing = matches!(message, Message::Close(_));
        if sink.feed(message).await.is_err() {
            return;
        }
        while !closing && let Ok(message) = queue.try_recv() {
            closing = matches!(message, Message::Close(_));
            if sink.feed(message).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}
