//! The bot's messages: its audio into the playout buffer (or ignored on a `recvonly` stream), its
//! control messages, and a `badMessage` warning for anything malformed.

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::Session;
use crate::media_plane::media_socket::outbound::warning;
use crate::media_plane::media_socket::protocol::{
    BadMessage, BotControl, ServerMessage, WarningCode, bot_audio, bot_control,
};
use crate::metrics as names;

/// What the task does after a bot's message.
pub(super) enum Next {
    /// Go on.
    Continue,
    /// The bot sent `stop`.
    BotStopped,
    /// The connection is gone (the bot closed it, or it failed).
    Lost(String),
}

impl Session {
    /// One message from the bot.
    pub(super) fn on_bot_message(&mut self, message: Message, now: Instant) -> Next {
        self.last_heard = now;
        let max = self.leg.settings.max_message_bytes;
        match message {
            Message::Binary(bytes) => match bot_audio(&bytes, max) {
                Ok(pcm) => self.bot_audio(pcm, now),
                Err(bad) => self.bad(bad, now),
            },
            Message::Text(text) => match bot_control(text.as_str(), max) {
                Ok(BotControl::Mark { name }) => match self.audio.mark(name) {
                    Ok(()) => {}
                    Err(pending) => self.bad(BadMessage::TooManyMarks { pending }, now),
                },
                Ok(BotControl::Clear) => {
                    let marks = self.audio.clear(&self.leg.stream);
                    self.push(ServerMessage::Cleared { marks });
                }
                Ok(BotControl::Stop) => return Next::BotStopped,
                Err(bad) => self.bad(bad, now),
            },
            Message::Close(frame) => {
                let why = match frame {
                    Some(frame) => format!("the bot closed the socket ({})", frame.code),
                    None => "the bot closed the socket".into(),
                };
                return Next::Lost(why);
            }
            // Pings are answered by the WebSocket layer.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
        Next::Continue
    }

    /// The bot's audio: buffered for playout, or ignored on a `recvonly` stream.
    fn bot_audio(&mut self, pcm: &[u8], now: Instant) {
        let stream = &self.leg.stream;
        if !self.leg.app.socket.directions.bot_speaks() {
            if !self.recvonly_told {
                self.recvonly_told = true;
                let ms = (pcm.len() / 32) as u64;
                self.push(warning(
                    WarningCode::MediaDiscarded,
                    ms,
                    "streamDirections is recvonly: audio from the bot is not played (told once)"
                        .into(),
                ));
            }
            return;
        }
        let discarded = self.audio.add(pcm, stream, now.into_std());
        if discarded > 0 {
            self.counter(names::MEDIA_SOCKET_DISCARDED_MILLISECONDS)
                .increment(discarded);
            self.warnings.discarded_words = format!(
                "audio beyond media.app_hosted.max_buffered_ms ({} ms) ahead of playout was \
                 discarded; wait for flowControl resume before sending more",
                self.leg.settings.max_buffered_ms
            );
            if let Some(count) = self.warnings.discarded.add(discarded, now.into_std()) {
                let words = self.warnings.discarded_words.clone();
                self.push(warning(WarningCode::MediaDiscarded, count, words));
            }
        }
    }

    /// A malformed message: a `badMessage` warning (rate-limited); the socket goes on.
    fn bad(&mut self, bad: BadMessage, now: Instant) {
        tracing::debug!(call = %self.leg.call, %bad, "bad message on a media socket");
        self.warnings.bad_words = bad.to_string();
        if let Some(count) = self.warnings.bad.add(1, now.into_std()) {
            let words = self.warnings.bad_words.clone();
            self.push(warning(WarningCode::BadMessage, count, words));
        }
    }
}
