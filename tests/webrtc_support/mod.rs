//! A media engine on loopback with people on str0m WebRTC clients and bots on engine legs, for
//! the conversation tests: real UDP, real ICE/DTLS-SRTP, real Opus both ways.
//!
//! - [`Rig`]: the engine (two workers, so placement matters), its media events, a prompts folder
//!   with tone WAVs that bots play by `resourceId`.
//! - [`Person`]: a WebRTC client that sends a pure tone over and over and records what it hears.
//! - [`Rig::run`] drives every person's client and collects events; the measuring helpers cut
//!   what a person heard into windows and measure tones in them by Goertzel.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::auth::keys::SigningKeys;
use switchboard::auth::tokens::TokenService;
use switchboard::calls::ids::{CallId, ConversationId, OperationId, ParticipantId};
use switchboard::calls::media::{
    Hosting, MediaCommand, MediaEvent, MediaEventSink, MediaPlane, OperationOutcome,
};
use switchboard::calls::validate::{PromptSource, RecordResponse};
use switchboard::media_plane::{
    MediaEngine, MediaSettings, WebRtcLeg, WebRtcLegState, WebRtcSettings,
};
use switchboard::webrtc::client::{WebRtcClient, read_wav, write_wav};
use tokio::sync::{mpsc, watch};

use crate::support::audio::{mean_power, power_at, tone};

/// Amplitude of each person's tone: three of them mixed stay far from clipping.
pub const TONE_AMPLITUDE: f64 = 0.15;

/// A media engine with its event stream and a prompts folder.
pub struct Rig {
    pub engine: Arc<MediaEngine>,
    pub plane: Arc<dyn MediaPlane>,
    events: mpsc::Receiver<MediaEvent>,
    /// Every media event so far, with when it was collected.
    pub seen: Vec<(Instant, MediaEvent)>,
    prompts: tempfile::TempDir,
}

/// A person in a browser: a WebRTC client sending a tone.
pub struct Person {
    pub leg: WebRtcLeg,
    pub client: WebRtcClient,
    pub state: watch::Receiver<WebRtcLegState>,
    /// Its tone in Hz.
    pub tone_hz: f64,
    /// Whether the rig still drives its client (a vanished peer is no longer driven).
    pub driven: bool,
}

/// The token service every engine of the test binary shares (an RSA key per engine would cost
/// more than the tests); it signs media-socket dials, which these tests never make.
fn tokens() -> Arc<TokenService> {
    static SHARED: std::sync::OnceLock<Arc<TokenService>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let keys = SigningKeys::load_or_create(dir.path()).unwrap();
            Arc::new(TokenService::new(
                Arc::new(keys),
                "http://test".into(),
                "https://graph.microsoft.com".into(),
                3600,
                "http://test".into(),
                300,
            ))
        })
        .clone()
}

impl Rig {
    /// Starts an engine with two workers on loopback; `tweak` adjusts the WebRTC settings.
    pub fn start(tweak: impl FnOnce(&mut WebRtcSettings)) -> Rig {
        let prompts = tempfile::tempdir().unwrap();
        let mut webrtc = WebRtcSettings {
            bind: "127.0.0.1".parse().unwrap(),
            port: 0,
            ..WebRtcSettings::default()
        };
        tweak(&mut webrtc);
        let mut settings = MediaSettings {
            workers: 2,
            webrtc,
            ..MediaSettings::default()
        };
        settings.prompts.dir = prompts.path().to_owned();
        let (sink, events) = MediaEventSink::channel(4096);
        let engine = MediaEngine::start(&settings, "http://test", sink, tokens()).unwrap();
        let plane: Arc<dyn MediaPlane> = engine.clone();
        Rig {
            engine,
            plane,
            events,
            seen: Vec::new(),
            prompts,
        }
    }

    /// Writes a prompt `name` with a pure tone of `hz` for `seconds` into the prompts folder.
    pub fn tone_prompt(&self, name: &str, hz: f64, seconds: f64) {
        let path = self.prompts.path().join(format!("{name}.wav"));
        write_wav(&path, &tone(hz, 48_000, seconds, TONE_AMPLITUDE)).unwrap();
    }

    /// A person joins `conversation` from a new client that sends `tone_hz`; returns once the
    /// answer is applied (not yet connected).
    pub async fn join(&mut self, conversation: &str, name: &str, tone_hz: f64) -> Person {
        let now = Instant::now();
        let samples = tone(tone_hz, 48_000, 2.0, TONE_AMPLITUDE);
        let mut client =
            WebRtcClient::new(now, "127.0.0.1:0".parse().unwrap(), samples, true).unwrap();
        let offer = client.create_offer(now).unwrap();
        let leg = WebRtcLeg {
            call: CallId::from(format!("leg-{name}")),
            conversation: ConversationId::from(conversation),
            participant: ParticipantId::from(format!("participant-{name}")),
            source_id: 2,
        };
        let answer = self
            .engine
            .accept_webrtc_offer(leg.clone(), offer)
            .await
            .unwrap();
        client.accept_answer(Instant::now(), &answer.sdp).unwrap();
        Person {
            leg,
            client,
            state: answer.state,
            tone_hz,
            driven: true,
        }
    }

    /// Opens a bot's leg in `conversation` and waits for it to be ready.
    pub async fn bot(
        &mut self,
        people: &mut [&mut Person],
        conversation: &str,
        name: &str,
    ) -> CallId {
        let call = CallId::from(format!("bot-{name}"));
        self.plane
            .submit(MediaCommand::OpenLeg {
                call: call.clone(),
                conversation: ConversationId::from(conversation),
                participant: ParticipantId::from(format!("participant-{name}")),
                source_id: 1,
                hosting: Hosting::Service,
                prefetch: vec![],
            })
            .unwrap();
        self.wait_for(
            people,
            Duration::from_secs(5),
            "the bot's leg",
            |e| matches!(e, MediaEvent::LegReady { call: c } if *c == call),
        )
        .await;
        call
    }

    /// Waits until every person's client and the engine report the leg connected.
    pub async fn connect(&mut self, people: &mut [&mut Person]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let seen = &self.seen;
            let ready = |p: &&mut Person| {
                let ready = MediaEvent::LegReady {
                    call: p.leg.call.clone(),
                };
                p.client.connected_at().is_some() && seen.iter().any(|(_, e)| *e == ready)
            };
            if people.iter().all(ready) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not every leg connected within 5 s; seen: {:?}",
                self.seen
            );
            self.run(people, Duration::from_millis(10)).await;
        }
        for person in people.iter() {
            assert!(
                matches!(*person.state.borrow(), WebRtcLegState::Connected { .. }),
                "{:?}",
                *person.state.borrow()
            );
        }
    }

    /// Drives the people's clients and collects events for `duration`.
    pub async fn run(&mut self, people: &mut [&mut Person], duration: Duration) {
        let until = Instant::now() + duration;
        loop {
            let now = Instant::now();
            for person in people.iter_mut().filter(|p| p.driven) {
                person.client.drive(now).unwrap();
            }
            self.collect();
            if now >= until {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn collect(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push((Instant::now(), event));
        }
    }

    /// Drives until an event not seen before matches, at most `limit`; returns it and when it
    /// was collected.
    pub async fn wait_for(
        &mut self,
        people: &mut [&mut Person],
        limit: Duration,
        what: &str,
        matches: impl Fn(&MediaEvent) -> bool,
    ) -> (Instant, MediaEvent) {
        let from = self.seen.len();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(found) = self.seen[from..].iter().find(|(_, e)| matches(e)) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no event for {what} within {limit:?}; seen: {:?}",
                self.seen
            );
            self.run(people, Duration::from_millis(10)).await;
        }
    }

    /// Starts playing prompt `name` (from the prompts folder) on `bot`.
    pub fn play(&self, bot: &CallId, name: &str) {
        self.plane
            .submit(MediaCommand::PlayPrompts {
                call: bot.clone(),
                operation: OperationId::from(format!("play-{name}")),
                prompts: vec![PromptSource {
                    uri: None,
                    resource_id: Some(name.to_owned()),
                }],
            })
            .unwrap();
    }

    /// Queues a recording of `seconds` on `bot` under operation id `operation`.
    pub fn record(&self, bot: &CallId, operation: &str, seconds: u64) {
        self.plane
            .submit(MediaCommand::Record {
                call: bot.clone(),
                operation: OperationId::from(operation),
                settings: RecordResponse {
                    prompt: None,
                    barge_in_allowed: false,
                    initial_silence_timeout: Duration::from_secs(10),
                    max_silence_timeout: Duration::from_secs(10),
                    max_record_duration: Duration::from_secs(seconds),
                    play_beep: false,
                    stop_tones: vec![],
                    client_context: None,
                },
            })
            .unwrap();
    }

    /// Waits for operation `operation` to finish and returns its outcome.
    pub async fn finished(
        &mut self,
        people: &mut [&mut Person],
        operation: &str,
        limit: Duration,
    ) -> OperationOutcome {
        let (_, event) = self
            .wait_for(people, limit, operation, |e| {
                matches!(e, MediaEvent::OperationFinished { operation: o, .. } if o.as_str() == operation)
            })
            .await;
        match event {
            MediaEvent::OperationFinished { outcome, .. } => outcome,
            _ => unreachable!(),
        }
    }

    /// The clip of a finished recording, as 48 kHz PCM.
    pub fn recording_pcm(&self, outcome: &OperationOutcome) -> Vec<i16> {
        let recording = outcome
            .recording
            .as_ref()
            .unwrap_or_else(|| panic!("no clip: {outcome:?}"));
        let id = recording.location.rsplit('/').next().unwrap();
        let wav = self
            .engine
            .recordings()
            .download(id, &recording.access_token, Instant::now())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.wav");
        std::fs::write(&path, wav).unwrap();
        read_wav(&path).unwrap()
    }

    /// The events collected since index `from` of [`Rig::seen`].
    pub fn events_since(&self, from: usize) -> Vec<MediaEvent> {
        self.seen[from..].iter().map(|(_, e)| e.clone()).collect()
    }
}

impl Person {
    /// Samples heard so far (48 kHz): a mark for [`Person::heard_since`].
    pub fn mark(&self) -> usize {
        self.client.recorded().len()
    }

    /// What it heard since `mark`.
    pub fn heard_since(&self, mark: usize) -> Vec<i16> {
        self.client.recorded()[mark..].to_vec()
    }
}

/// Share of `pcm`'s power at `hz` (about 1/n for one of n equal tones, near 0 when absent).
pub fn share(pcm: &[i16], hz: f64) -> f64 {
    let total = mean_power(pcm);
    assert!(total > 0.0, "nothing but digital silence was heard");
    power_at(pcm, 48_000, hz) / total
}

/// A share at least this large is a tone that is heard.
pub const HEARD: f64 = 0.1;
/// A share at most this large is a tone that is not there (-20 dB below a heard one).
pub const ABSENT: f64 = 0.01;

/// Asserts that `pcm` (what `who` heard) carries every tone of `heard` and none of `absent`.
pub fn assert_tones(who: &str, pcm: &[i16], heard: &[f64], absent: &[f64]) {
    assert!(
        pcm.len() >= 48_000,
        "{who} heard only {} samples",
        pcm.len()
    );
    let report: Vec<String> = heard
        .iter()
        .chain(absent)
        .map(|&hz| format!("{hz} Hz: {:.3}", share(pcm, hz)))
        .collect();
    for &hz in heard {
        assert!(
            share(pcm, hz) >= HEARD,
            "{who} should hear {hz} Hz; shares {report:?}"
        );
    }
    for &hz in absent {
        assert!(
            share(pcm, hz) <= ABSENT,
            "{who} should not hear {hz} Hz; shares {report:?}"
        );
    }
    println!("{who}: {report:?}");
}
