//! The one UDP socket of a media worker, moving datagrams between the network and a
//! [`WebRtcEdge`], on the worker's own OS thread.
//!
//! mio gives a non-blocking socket, a wait with a deadline, and a waker for other threads that
//! queue commands for the worker. Sends go out one `send_to` each: batching with `sendmmsg`
//! would need unsafe FFI for a gain that matters only at thousands of calls per core, and the
//! destinations differ per peer so GSO does not apply.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use super::WebRtcEdge;

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);
/// Larger than any datagram a WebRTC peer sends (they keep under the path MTU, about 1200-1500
/// bytes); a longer one is truncated and then refused by the edge as malformed.
const RECEIVE_BUFFER: usize = 4096;
/// Datagrams read in one turn before timers get a look, so a flood cannot starve them.
const MAX_READS_PER_TURN: usize = 512;

/// What the socket dropped or failed on, for metrics. Errors are counted, never logged per packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketCounters {
    /// Datagrams received.
    pub received: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams dropped because the socket's send buffer was full (never waited on).
    pub send_dropped: u64,
    /// Sends the kernel refused (no route, and similar).
    pub send_errors: u64,
    /// Receive errors other than "nothing to read".
    pub receive_errors: u64,
}

/// A media worker's UDP socket. Owned by one thread; other threads reach it through
/// [`EdgeSocket::waker`].
pub struct EdgeSocket {
    socket: UdpSocket,
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    buffer: Box<[u8]>,
    /// Reads stopped at [`MAX_READS_PER_TURN`] with data left: mio is edge-triggered, so the
    /// next wait must not block.
    more_to_read: bool,
    counters: SocketCounters,
}

impl EdgeSocket {
    /// Binds the worker's socket (port 0 picks a free one).
    pub fn bind(addr: SocketAddr) -> io::Result<EdgeSocket> {
        let mut socket = UdpSocket::bind(addr)?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut socket, SOCKET, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(EdgeSocket {
            socket,
            poll,
            events: Events::with_capacity(16),
            waker,
            buffer: vec![0; RECEIVE_BUFFER].into_boxed_slice(),
            more_to_read: false,
            counters: SocketCounters::default(),
        })
    }

    /// The address the socket is bound to, with the actual port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Wakes the owning thread from [`Self::turn`] early, for commands queued by other threads.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Counters of this socket.
    pub fn counters(&self) -> &SocketCounters {
        &self.counters
    }

    /// One turn of the worker loop: send what the edge queued, wait until a datagram arrives, a
    /// waker fires, the edge's next timer or `until` (whichever is first), then feed every
    /// datagram read and the elapsed time to the edge and send its replies. Returns the time
    /// the turn woke up at, for the worker's own schedule (MediaSession ticks).
    pub fn turn(&mut self, edge: &mut WebRtcEdge, until: Instant) -> io::Result<Instant> {
        self.flush(edge);
        let deadline = edge.next_timeout().map_or(until, |t| t.min(until));
        let timeout = if self.more_to_read {
            Duration::ZERO
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        self.wait(timeout)?;
        // One clock read per wake-up: every datagram of this batch arrived "now" within the
        // precision jitter statistics need.
        let now = Instant::now();
        self.receive(edge, now)?;
        edge.handle_timeout(now);
        self.flush(edge);
        Ok(now)
    }

    /// Blocks until the socket is readable, the waker fires, or `timeout` passes.
    fn wait(&mut self, timeout: Duration) -> io::Result<()> {
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Reads every waiting datagram (up to a per-turn cap) into the edge.
    pub fn receive(&mut self, edge: &mut WebRtcEdge, now: Instant) -> io::Result<usize> {
        let mut read = 0;
        self.more_to_read = false;
        while read < MAX_READS_PER_TURN {
            match self.socket.recv_from(&mut self.buffer) {
                Ok((len, from)) => {
                    read += 1;
                    self.counters.received += 1;
                    let to = edge.local_address_for(from);
                    edge.handle_datagram(now, from, to, &self.buffer[..len]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(read),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // ICMP errors surface here on some systems; they concern one peer, not the socket.
                Err(_) => self.counters.receive_errors += 1,
            }
        }
        self.more_to_read = true;
        Ok(read)
    }

    /// Sends every datagram the edge queued. A full send buffer drops the datagram (counted):
    /// a media thread never waits on the network.
    pub fn flush(&mut self, edge: &mut WebRtcEdge) -> usize {
        let mut sent = 0;
        while let Some(transmit) = edge.poll_transmit() {
            match self
                .socket
                .send_to(&transmit.contents, transmit.destination)
            {
                Ok(_) => {
                    sent += 1;
                    self.counters.sent += 1;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.counters.send_dropped += 1,
                Err(_) => self.counters.send_errors += 1,
            }
        }
        sent
    }
}
