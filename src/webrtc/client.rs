//! A small WebRTC endpoint on str0m, for tests and load generation: it places a call (makes an
//! offer) or answers one, sends Opus encoded from a WAV file in 20 ms frames, records what it
//! hears (decoded to PCM), and sends and receives RFC 4733 digits.
//!
//! It is a full ICE agent (not lite) with its own UDP socket, driven like the edge with explicit
//! time: call [`WebRtcClient::drive`] often (every few milliseconds). Many clients can share one
//! thread, which is what a load generator needs.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::format::{Codec, CodecExtra};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Pt, TelephoneEvent};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use super::client_audio::{FRAME_SAMPLES, OpusRecorder, OpusSource};
use super::negotiation;

pub use super::client_audio::{SAMPLE_RATE, read_wav, write_wav};

/// What went wrong in the test client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client's UDP socket could not be bound, or sending or receiving on it failed.
    #[error("client socket: {0}")]
    Io(#[from] std::io::Error),
    /// A WAV file could not be read or written.
    #[error("WAV file {path}: {reason}")]
    Wav {
        /// The WAV file's path, as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// libopus refused.
    #[error("opus: {0}")]
    Opus(String),
    /// The SDP could not be used.
    #[error("SDP {kind}: {reason}")]
    Sdp {
        /// `"offer"` or `"answer"`.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// The WebRTC stack failed or refused a write.
    #[error("WebRTC: {0}")]
    Rtc(String),
    /// Media was asked for before the call was negotiated.
    #[error("the call is not negotiated yet: make or accept an offer first")]
    NotNegotiated,
}

/// One RFC 4733 report the client received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedTelephoneEvent {
    /// Event code (0-9 digits, 10 `*`, 11 `#`, 12-15 `A`-`D`).
    pub event: u8,
    /// Whether it is an end report.
    pub end: bool,
    /// RTP timestamp: the same for every report of one key press.
    pub rtp_timestamp: u64,
    /// Clock rate of the telephone-event payload type it came with.
    pub clock_rate: u32,
}

/// A WebRTC call endpoint for tests and load: see the module documentation.
pub struct WebRtcClient {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    mid: Option<Mid>,
    opus_pt: Option<Pt>,
    source: OpusSource,
    recorder: OpusRecorder,
    telephone_events: Vec<ReceivedTelephoneEvent>,
    next_frame: Option<Instant>,
    rtp_timestamp: u32,
    frames_sent: u64,
    connected_at: Option<Instant>,
    ended: Option<String>,
    buffer: Box<[u8]>,
}

/// Frames sent in one `drive` at most, so a stalled caller catches up without a burst.
const MAX_CATCH_UP_FRAMES: u32 = 5;
const FRAME: Duration = Duration::from_millis(20);

impl WebRtcClient {
    /// A client on a new UDP socket at `bind` (for tests `127.0.0.1:0`), sending `samples`
    /// (48 kHz mono, see [`read_wav`]) once, or over and over with `looping`.
    pub fn new(
        now: Instant,
        bind: SocketAddr,
        samples: Vec<i16>,
        looping: bool,
    ) -> Result<WebRtcClient, ClientError> {
        let socket = UdpSocket::bind(bind)?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let mut rtc = negotiation::rtc_config(false, negotiation::new_certificate()).build(now);
        let candidate = Candidate::host(local, "udp")
            .map_err(|e| ClientError::Rtc(format!("{local} cannot be a host candidate: {e}")))?;
        rtc.add_local_candidate(candidate);
        let mut client = WebRtcClient {
            rtc,
            socket,
            local,
            pending: None,
            mid: None,
            opus_pt: None,
            source: OpusSource::new(samples, looping)?,
            recorder: OpusRecorder::new()?,
            telephone_events: Vec::new(),
            next_frame: None,
            // A fixed start keeps runs reproducible; real endpoints pick a random one.
            rtp_timestamp: 0x1234_5678,
            frames_sent: 0,
            connected_at: None,
            ended: None,
            buffer: vec![0; 4096].into_boxed_slice(),
        };
        client.drain(now)?;
        Ok(client)
    }

    /// The client's UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Places a call: returns the SDP offer to send to the other side.
    pub fn create_offer(&mut self, now: Instant) -> Result<String, ClientError> {
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change
            .apply()
            .expect("a change that adds media always makes an offer");
        self.mid = Some(mid);
        self.pending = Some(pending);
        self.drain(now)?;
        Ok(offer.to_sdp_string())
    }

    /// Applies the other side's answer to our offer.
    pub fn accept_answer(&mut self, now: Instant, answer_sdp: &str) -> Result<(), ClientError> {
        let answer = negotiation::parse_answer(answer_sdp).map_err(|e| ClientError::Sdp {
            kind: "answer",
            reason: e.to_string(),
        })?;
        let pending = self.pending.take().ok_or_else(|| ClientError::Sdp {
            kind: "answer",
            reason: "no offer of ours is waiting for an answer".into(),
        })?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| ClientError::Sdp {
                kind: "answer",
                reason: e.to_string(),
            })?;
        self.drain(now)?;
        self.find_opus()
    }

    /// Answers a call: returns the SDP answer to the other side's offer.
    pub fn accept_offer(&mut self, now: Instant, offer_sdp: &str) -> Result<String, ClientError> {
        let sdp_error = |reason: String| ClientError::Sdp {
            kind: "offer",
            reason,
        };
        let offer = negotiation::parse_offer(offer_sdp).map_err(|e| sdp_error(e.to_string()))?;
        let mids = negotiation::offer_mids(&offer);
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| sdp_error(e.to_string()))?;
        self.drain(now)?;
        self.mid = negotiation::first_audio_mid(&self.rtc, &mids);
        self.find_opus()?;
        Ok(answer.to_sdp_string())
    }

    fn find_opus(&mut self) -> Result<(), ClientError> {
        let audio = negotiation::negotiated_audio(&mut self.rtc, self.mid)
            .ok_or(ClientError::NotNegotiated)?;
        self.opus_pt = Some(audio.opus_pt);
        Ok(())
    }

    /// Reads every waiting datagram, advances time to `now`, and sends the 20 ms audio frames
    /// that are due once connected. Call it every few milliseconds.
    pub fn drive(&mut self, now: Instant) -> Result<(), ClientError> {
        if self.ended.is_some() {
            return Ok(());
        }
        loop {
            match self.socket.recv_from(&mut self.buffer) {
                Ok((len, source)) => {
                    let Ok(receive) =
                        Receive::new(Protocol::Udp, source, self.local, &self.buffer[..len])
                    else {
                        continue;
                    };
                    let input = Input::Receive(now, receive);
                    if self.rtc.accepts(&input) {
                        self.rtc
                            .handle_input(input)
                            .map_err(|e| ClientError::Rtc(e.to_string()))?;
                        self.drain(now)?;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.rtc
            .handle_input(Input::Timeout(now))
            .map_err(|e| ClientError::Rtc(e.to_string()))?;
        self.drain(now)?;
        self.send_due_frames(now)
    }

    fn send_due_frames(&mut self, now: Instant) -> Result<(), ClientError> {
        let (Some(mid), Some(pt)) = (self.mid, self.opus_pt) else {
            return Ok(());
        };
        let Some(mut due) = self.next_frame else {
            return Ok(());
        };
        let mut sent = 0;
        while due <= now && sent < MAX_CATCH_UP_FRAMES {
            let payload: Arc<[u8]> = Arc::from(self.source.next_packet()?);
            let time = MediaTime::new(u64::from(self.rtp_timestamp), Frequency::FORTY_EIGHT_KHZ);
            if let Some(writer) = self.rtc.writer(mid) {
                writer
                    .write(pt, due, time, payload)
                    .map_err(|e| ClientError::Rtc(e.to_string()))?;
                self.drain(now)?;
            }
            self.rtp_timestamp = self.rtp_timestamp.wrapping_add(FRAME_SAMPLES as u32);
            self.frames_sent += 1;
            due += FRAME;
            sent += 1;
        }
        // A caller that stalled longer than the catch-up allows skips the lost time.
        self.next_frame = Some(if due <= now { now + FRAME } else { due });
        Ok(())
    }

    /// Presses a key: sends RFC 4733 event `event` (0-15) for `duration`, starting at the next
    /// audio frame's timestamp. Keys must be at least 50 ms apart.
    pub fn send_digit(
        &mut self,
        now: Instant,
        event: u8,
        duration: Duration,
    ) -> Result<(), ClientError> {
        let (Some(mid), Some(pt)) = (self.mid, self.opus_pt) else {
            return Err(ClientError::NotNegotiated);
        };
        let writer = self.rtc.writer(mid).ok_or(ClientError::NotNegotiated)?;
        let report = TelephoneEvent {
            event,
            end: true,
            volume: 10,
            duration,
        };
        let time = MediaTime::new(u64::from(self.rtp_timestamp), Frequency::FORTY_EIGHT_KHZ);
        writer
            .telephone_event(report)
            .write(pt, now, time, Arc::<[u8]>::from([]))
            .map_err(|e| ClientError::Rtc(format!("digit {event} refused: {e}")))?;
        self.drain(now)
    }

    /// Hangs up: sends RTCP BYE and DTLS close_notify.
    pub fn close(&mut self, now: Instant) -> Result<(), ClientError> {
        self.rtc
            .close()
            .map_err(|e| ClientError::Rtc(e.to_string()))?;
        self.drain(now)?;
        self.ended = Some("closed locally".into());
        Ok(())
    }

    fn drain(&mut self, now: Instant) -> Result<(), ClientError> {
        loop {
            let output = self
                .rtc
                .poll_output()
                .map_err(|e| ClientError::Rtc(e.to_string()))?;
            match output {
                Output::Timeout(_) => return Ok(()),
                Output::Transmit(t) => {
                    // A full socket buffer drops the datagram, as the network would.
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(event) => self.handle_event(now, event),
            }
        }
    }

    fn handle_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Connected => {
                self.connected_at = Some(now);
                self.next_frame = Some(now);
            }
            Event::MediaData(data) => match data.codec_extra {
                CodecExtra::Tele(report) => self.telephone_events.push(ReceivedTelephoneEvent {
                    event: report.event,
                    end: report.end,
                    rtp_timestamp: data.time.numer(),
                    clock_rate: data.params.spec().clock_rate.get(),
                }),
                _ if data.params.spec().codec == Codec::Opus => self.recorder.push(&data.data),
                _ => {}
            },
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.ended = Some("ICE disconnected".into());
            }
            Event::Closed => self.ended = Some("closed by the other side".into()),
            _ => {}
        }
    }

    /// When the call connected (ICE and DTLS done), by the `now` of the drive that saw it.
    pub fn connected_at(&self) -> Option<Instant> {
        self.connected_at
    }

    /// Why the call ended, if it did.
    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    /// The audio heard so far: 48 kHz mono PCM.
    pub fn recorded(&self) -> &[i16] {
        self.recorder.pcm()
    }

    /// Received packets libopus could not decode.
    pub fn undecodable_packets(&self) -> u64 {
        self.recorder.undecodable()
    }

    /// Whether the whole WAV has been sent once.
    pub fn finished_sending(&self) -> bool {
        self.source.finished()
    }

    /// Audio frames sent so far.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    /// Every RFC 4733 report received, in order.
    pub fn telephone_events(&self) -> &[ReceivedTelephoneEvent] {
        &self.telephone_events
    }

    /// The key presses received: one per event (reports sharing a timestamp), in order.
    pub fn received_digits(&self) -> Vec<u8> {
        let mut digits: Vec<(u64, u8)> = Vec::new();
        for report in &self.telephone_events {
            if !digits.contains(&(report.rtp_timestamp, report.event)) {
                digits.push((report.rtp_timestamp, report.event));
            }
        }
        digits.into_iter().map(|(_, event)| event).collect()
    }
}
