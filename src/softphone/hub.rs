//! The endpoint registry and the users' calls: which pages (endpoints) each user is signed in
//! on, ringing them, and carrying a user's call from ringing or calling to connected to ended.
//!
//! The call service rings users and tells them about their calls through a channel ([`signals`]),
//! made before either exists: the call service starts with the sending end (a [`UserRinger`]), and
//! [`Softphone::start`] takes the call service and reads the signals in order on one task.
//!
//! Lock order: the call registry's lock may be held while the hub's is taken (a page's call is
//! recorded under the registry's lock), never the other way round — the hub releases its lock
//! before it calls into the call service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;

use super::media::BrowserMedia;
use super::protocol::{PageCallState, ServerMessage, ended_message, party_of, state_message};
use super::sign_in::{SignIns, SignedInUser};
use crate::calls::endpoints::{EndpointId, EndpointRegistry, Reach, RingUser};
use crate::calls::ids::{CallId, ConversationId, ParticipantId};
use crate::calls::registry::{UserChange, UserNotice};
use crate::calls::result_codes::ResultCode;
use crate::calls::runtime::{CallService, UserRinger};
use crate::calls::validate::{InvalidField, Target};
use crate::graph::{IdentitySet, ParticipantInfo};
use crate::media_plane::{WebRtcLeg, WebRtcOfferError};

/// Messages waiting for one page; a page that falls this far behind is sent no more.
pub const OUTBOX_CAPACITY: usize = 256;

/// Why a page's request was refused; its text goes back to the page as an `error` message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Answer or decline of a call that is not ringing on this page.
    #[error("call {call:?} is not ringing on this page")]
    NotRingingHere {
        /// The page's call id.
        call: String,
    },
    /// Hang-up or unmute of a call that is not on this page.
    #[error("call {call:?} is not on this page")]
    NotOnThisPage {
        /// The page's call id.
        call: String,
    },
    /// The target could not be rung.
    #[error("the call could not be placed: {detail} ({}/{})", .result.parts().0, .result.parts().1)]
    NotPlaced {
        /// The result, from the one result-code table.
        result: ResultCode,
        /// Why, in words.
        detail: String,
    },
    /// The media plane did not accept the page's SDP offer.
    #[error("the media plane refused the offer: {0}")]
    OfferRefused(#[source] WebRtcOfferError),
    /// The directory could not be read.
    #[error("the directory is not available: {reason}")]
    DirectoryUnavailable {
        /// The store's error.
        reason: String,
    },
    /// A call target that is not a user of the caller's tenant.
    #[error("target.user {id:?} is not a user of tenant {tenant:?}")]
    UnknownUser {
        /// The `target.user` id the page sent.
        id: String,
        /// The caller's tenant.
        tenant: String,
    },
    /// A call target that is not an application of the caller's tenant.
    #[error("target.application {id:?} is not an application of tenant {tenant:?}")]
    UnknownApplication {
        /// The `target.application` id the page sent.
        id: String,
        /// The caller's tenant.
        tenant: String,
    },
    /// A meeting id that is not a meeting of the user's tenant.
    #[error("meeting {meeting:?} is not a meeting of tenant {tenant:?}")]
    UnknownMeeting {
        /// The meeting id asked for.
        meeting: String,
        /// The user's tenant.
        tenant: String,
    },
    /// The meeting is over and nobody is in it.
    #[error(transparent)]
    MeetingOver(#[from] InvalidField),
}

/// What the call service tells the softphone, in the order it happened.
#[derive(Debug)]
enum UserSignal {
    /// Ring a user's pages (boxed: a ring carries the caller's whole participant info).
    Ring(Box<RingUser>),
    /// A user's place in a conversation changed.
    Notice(UserNotice),
}

/// The call service's end of the softphone's signal channel: rings and notices are queued, never
/// waited on (the call service calls it with its registry locked).
#[derive(Debug, Clone)]
pub struct UserSignals(mpsc::UnboundedSender<UserSignal>);

/// The softphone's end of the signal channel, handed to [`Softphone::start`].
#[derive(Debug)]
pub struct UserSignalReceiver(mpsc::UnboundedReceiver<UserSignal>);

/// The channel between the call service and the softphone, made first at start-up.
pub fn signals() -> (UserSignals, UserSignalReceiver) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (UserSignals(sender), UserSignalReceiver(receiver))
}

impl UserRinger for UserSignals {
    fn ring(&self, ring: RingUser) {
        // Only fails once the softphone has stopped, when nobody is left to ring.
        let _ = self.0.send(UserSignal::Ring(Box::new(ring)));
    }

    fn notify(&self, notice: UserNotice) {
        let _ = self.0.send(UserSignal::Notice(notice));
    }
}

/// The softphone: sign-ins, signed-in pages and the users' calls. Cheap to clone.
#[derive(Clone)]
pub struct Softphone {
    inner: Arc<Inner>,
    /// Sign-in tokens.
    pub sign_ins: SignIns,
}

impl std::fmt::Debug for Softphone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Softphone").finish_non_exhaustive()
    }
}

struct Inner {
    hub: Mutex<Hub>,
    calls: CallService,
    media: Arc<dyn BrowserMedia>,
    ring_window: Duration,
}

#[derive(Default)]
struct Hub {
    endpoints: HashMap<EndpointId, Endpoint>,
    /// A user's calls, by the user's participant id (the page's call id).
    calls: HashMap<String, UserCall>,
}

struct Endpoint {
    user_id: String,
    outbox: mpsc::Sender<ServerMessage>,
}

struct UserCall {
    conversation: ConversationId,
    participant: ParticipantId,
    /// Pages ringing, until one answers.
    rung: Vec<EndpointId>,
    /// The page the call is on (placed from, or answered on).
    endpoint: Option<EndpointId>,
    /// The page's media leg, once its offer was answered.
    leg: Option<CallId>,
    /// Stops the ring timer when the call is answered or ends.
    ring_timer: Option<tokio::task::AbortHandle>,
}

impl Softphone {
    /// Starts the softphone on the current tokio runtime: its users ring for `ring_window`, their
    /// media goes to `media`, their calls to `calls`, and `signals` (the other end of the
    /// channel `calls` rings through) is read in order from now on.
    pub fn start(
        ring_window: Duration,
        media: Arc<dyn BrowserMedia>,
        calls: CallService,
        signals: UserSignalReceiver,
    ) -> Softphone {
        let softphone = Softphone {
            inner: Arc::new(Inner {
                hub: Mutex::new(Hub::default()),
                calls,
                media,
                ring_window,
            }),
            sign_ins: SignIns::default(),
        };
        let reader = softphone.clone();
        let mut signals = signals.0;
        tokio::spawn(async move {
            while let Some(signal) = signals.recv().await {
                match signal {
                    UserSignal::Ring(ring) => reader.ring(*ring),
                    UserSignal::Notice(notice) => reader.notice(notice),
                }
            }
        });
        softphone
    }

    fn hub(&self) -> MutexGuard<'_, Hub> {
        self.inner.hub.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn calls(&self) -> &CallService {
        &self.inner.calls
    }

    /// Signs a page in as `user`: returns its endpoint id and the messages for it.
    pub fn register(&self, user: &SignedInUser) -> (EndpointId, mpsc::Receiver<ServerMessage>) {
        let (outbox, messages) = mpsc::channel(OUTBOX_CAPACITY);
        let endpoint = uuid::Uuid::new_v4().to_string();
        self.hub().endpoints.insert(
            endpoint.clone(),
            Endpoint {
                user_id: user.id.clone(),
                outbox,
            },
        );
        (endpoint, messages)
    }

    /// A page went away: its calls are hung up, and it stops ringing.
    pub fn unregister(&self, endpoint: &str) {
        let on_it: Vec<String> = {
            let mut hub = self.hub();
            hub.endpoints.remove(endpoint);
            for call in hub.calls.values_mut() {
                call.rung.retain(|e| e != endpoint);
            }
            hub.calls
                .iter()
                .filter(|(_, c)| c.endpoint.as_deref() == Some(endpoint))
                .map(|(id, _)| id.clone())
                .collect()
        };
        for call in on_it {
            let _ = self.hang_up(endpoint, &call);
        }
    }

    /// The page calls `target` as `user` with its offer; the call id goes back in `state`
    /// (`calling`) and `sdp` messages.
    pub async fn place_call(
        &self,
        endpoint: &str,
        user: &SignedInUser,
        target: Target,
        reach: Reach,
        offer: String,
    ) -> Result<(), Refusal> {
        let calls = self.calls().clone();
        let caller = ParticipantInfo::new(IdentitySet::user(
            user.id.clone(),
            Some(user.display_name.clone()),
        ));
        let placed = calls.with(|registry, now, fx| {
            let placed = registry.user_calls(caller, target, reach, now, fx);
            if let Ok((conversation, participant)) = &placed {
                // Recorded under the registry's lock, so a quick answer finds the call.
                self.hub().calls.insert(
                    participant.to_string(),
                    UserCall {
                        conversation: conversation.clone(),
                        participant: participant.clone(),
                        rung: Vec::new(),
                        endpoint: Some(endpoint.to_owned()),
                        leg: None,
                        ring_timer: None,
                    },
                );
            }
            placed
        });
        let (conversation, participant) = placed.map_err(|refused| Refusal::NotPlaced {
            detail: refused
                .detail
                .unwrap_or_else(|| refused.code.parts().2.to_owned()),
            result: refused.code,
        })?;
        let call = participant.to_string();
        self.send(endpoint, state_message(&call, PageCallState::Calling, None));
        self.connect_media(&call, endpoint, conversation, participant, offer)
            .await
    }

    /// The page joins an online meeting (by meeting id) as `info`, with its offer.
    pub async fn join_meeting(
        &self,
        endpoint: &str,
        meeting: &str,
        info: ParticipantInfo,
        offer: String,
    ) -> Result<(), Refusal> {
        let calls = self.calls().clone();
        let (conversation, participant) = calls.with(|registry, _, fx| {
            let (conversation, participant) = registry.user_joins_meeting(meeting, info, fx);
            self.hub().calls.insert(
                participant.to_string(),
                UserCall {
                    conversation: conversation.clone(),
                    participant: participant.clone(),
                    rung: Vec::new(),
                    endpoint: Some(endpoint.to_owned()),
                    leg: None,
                    ring_timer: None,
                },
            );
            (conversation, participant)
        });
        let call = participant.to_string();
        self.send(
            endpoint,
            state_message(&call, PageCallState::Connected, None),
        );
        self.connect_media(&call, endpoint, conversation, participant, offer)
            .await
    }

    /// The page answers a ringing call with its offer.
    pub async fn answer(&self, endpoint: &str, call: &str, offer: String) -> Result<(), Refusal> {
        let (conversation, participant, others) = {
            let mut hub = self.hub();
            let entry = hub
                .calls
                .get_mut(call)
                .filter(|c| c.endpoint.is_none() && c.rung.iter().any(|e| e == endpoint))
                .ok_or_else(|| Refusal::NotRingingHere {
                    call: call.to_owned(),
                })?;
            let others: Vec<EndpointId> = entry.rung.drain(..).filter(|e| e != endpoint).collect();
            entry.endpoint = Some(endpoint.to_owned());
            if let Some(timer) = entry.ring_timer.take() {
                timer.abort();
            }
            (
                entry.conversation.clone(),
                entry.participant.clone(),
                others,
            )
        };
        for other in others {
            self.send(
                &other,
                ended_message(call, None, Some("answered on another device".into())),
            );
        }
        // Media first, so the caller hears the user the moment the call connects.
        self.connect_media(
            call,
            endpoint,
            conversation.clone(),
            participant.clone(),
            offer,
        )
        .await?;
        let calls = self.calls();
        let still_there = calls.with(|registry, _, fx| {
            let there = registry.has_member(&conversation, &participant);
            if there {
                registry.user_answered(&conversation, &participant, fx);
            }
            there
        });
        if still_there {
            self.send(
                endpoint,
                state_message(call, PageCallState::Connected, None),
            );
        }
        Ok(())
    }

    /// The page declines a ringing call: it stops ringing everywhere; the caller hears 480/10076.
    pub fn decline(&self, endpoint: &str, call: &str) -> Result<(), Refusal> {
        let entry = {
            let mut hub = self.hub();
            let ringing_here = hub
                .calls
                .get(call)
                .is_some_and(|c| c.endpoint.is_none() && c.rung.iter().any(|e| e == endpoint));
            if !ringing_here {
                return Err(Refusal::NotRingingHere {
                    call: call.to_owned(),
                });
            }
            hub.calls.remove(call)
        };
        if let Some(entry) = entry {
            self.finish(call, &entry, ResultCode::CalleeDeclined, None);
            self.calls().with(|registry, _, fx| {
                registry.user_declined(&entry.conversation, &entry.participant, fx)
            });
        }
        Ok(())
    }

    /// The page unmutes its user after a server mute.
    pub fn unmute(&self, endpoint: &str, call: &str) -> Result<(), Refusal> {
        let member = {
            let hub = self.hub();
            hub.calls
                .get(call)
                .filter(|c| c.endpoint.as_deref() == Some(endpoint))
                .map(|c| (c.conversation.clone(), c.participant.clone()))
        };
        let (conversation, participant) = member.ok_or_else(|| Refusal::NotOnThisPage {
            call: call.to_owned(),
        })?;
        self.calls().with(|registry, _, fx| {
            registry.user_unmuted(&conversation, &participant, fx);
        });
        Ok(())
    }

    /// The page leaves a call it placed or answered.
    pub fn hang_up(&self, endpoint: &str, call: &str) -> Result<(), Refusal> {
        let entry = {
            let mut hub = self.hub();
            let here = hub
                .calls
                .get(call)
                .is_some_and(|c| c.endpoint.as_deref() == Some(endpoint));
            if !here {
                return Err(Refusal::NotOnThisPage {
                    call: call.to_owned(),
                });
            }
            hub.calls.remove(call)
        };
        if let Some(entry) = entry {
            self.finish(call, &entry, ResultCode::ConversationEnded, None);
            self.calls().with(|registry, _, fx| {
                registry.user_hung_up(&entry.conversation, &entry.participant, fx)
            });
        }
        Ok(())
    }

    /// Answers the page's offer for a member and watches the media until it is gone.
    async fn connect_media(
        &self,
        call: &str,
        endpoint: &str,
        conversation: ConversationId,
        participant: ParticipantId,
        offer: String,
    ) -> Result<(), Refusal> {
        let leg = CallId::random();
        let source_id = self
            .calls()
            .read(|registry| registry.source_id_of(&conversation, &participant))
            .unwrap_or(0);
        let answer = self
            .inner
            .media
            .accept_offer(
                WebRtcLeg {
                    call: leg.clone(),
                    conversation,
                    participant,
                    source_id,
                },
                offer,
            )
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(why) => {
                self.media_lost(call, None, format!("the offer was refused: {why}"));
                return Err(Refusal::OfferRefused(why));
            }
        };
        let kept = {
            let mut hub = self.hub();
            match hub.calls.get_mut(call) {
                Some(entry) => {
                    entry.leg = Some(leg.clone());
                    true
                }
                None => false,
            }
        };
        if !kept {
            // The call ended while the offer was being answered.
            self.inner.media.close(&leg);
            return Ok(());
        }
        self.send(
            endpoint,
            ServerMessage::Sdp {
                call: call.to_owned(),
                sdp: answer.sdp,
            },
        );
        let softphone = self.clone();
        let call = call.to_owned();
        let gone = answer.gone;
        tokio::spawn(async move {
            if let Some(why) = gone.await {
                softphone.media_lost(&call, Some(&leg), why);
            }
        });
        Ok(())
    }

    /// The page's media failed or closed on its own: the user leaves the call (410/301005).
    fn media_lost(&self, call: &str, leg: Option<&CallId>, why: String) {
        let entry = {
            let mut hub = self.hub();
            let matches = hub
                .calls
                .get(call)
                .is_some_and(|c| leg.is_none() || c.leg.as_ref() == leg);
            if !matches {
                return;
            }
            hub.calls.remove(call)
        };
        let Some(entry) = entry else { return };
        tracing::info!(call, reason = %why, "softphone media gone; the user leaves the call");
        self.finish(
            call,
            &entry,
            ResultCode::MediaConnectivityFailure,
            Some(why),
        );
        self.calls().with(|registry, _, fx| {
            registry.user_hung_up(&entry.conversation, &entry.participant, fx)
        });
    }

    /// Tells the call's pages it ended, and stops its timer and media.
    fn finish(&self, call: &str, entry: &UserCall, code: ResultCode, detail: Option<String>) {
        if let Some(timer) = &entry.ring_timer {
            timer.abort();
        }
        if let Some(leg) = &entry.leg {
            self.inner.media.close(leg);
        }
        for endpoint in entry.rung.iter().chain(entry.endpoint.iter()) {
            self.send(endpoint, ended_message(call, Some(code), detail.clone()));
        }
    }

    /// Queues a message for a page; a page too far behind loses it (and is told by its socket
    /// closing when it stays stuck).
    fn send(&self, endpoint: &str, message: ServerMessage) {
        let hub = self.hub();
        if let Some(page) = hub.endpoints.get(endpoint)
            && page.outbox.try_send(message).is_err()
        {
            tracing::warn!(
                endpoint,
                "softphone page is not reading its messages; one dropped"
            );
        }
    }

    /// The ring window ran out: the caller hears 408/10057.
    fn ring_expired(&self, call: &str) {
        let entry = {
            let mut hub = self.hub();
            let ringing = hub.calls.get(call).is_some_and(|c| c.endpoint.is_none());
            if !ringing {
                return;
            }
            hub.calls.remove(call)
        };
        let Some(entry) = entry else { return };
        let seconds = self.inner.ring_window.as_secs_f32();
        self.finish(
            call,
            &entry,
            ResultCode::NoAnswer,
            Some(format!("not answered within {seconds} s")),
        );
        self.calls().with(|registry, _, fx| {
            registry.user_not_answered(&entry.conversation, &entry.participant, fx)
        });
    }
}

impl EndpointRegistry for Softphone {
    fn endpoints_of(&self, user_id: &str) -> Vec<EndpointId> {
        let mut endpoints: Vec<_> = self
            .hub()
            .endpoints
            .iter()
            .filter(|(_, e)| e.user_id == user_id)
            .map(|(id, _)| id.clone())
            .collect();
        endpoints.sort();
        endpoints
    }
}

impl Softphone {
    /// Rings a user's pages until one answers or the ring window runs out.
    fn ring(&self, ring: RingUser) {
        let call = ring.participant.to_string();
        let softphone = self.clone();
        let expires = call.clone();
        let window = self.inner.ring_window;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(window).await;
            softphone.ring_expired(&expires);
        })
        .abort_handle();
        let caller = party_of(&ring.caller);
        self.hub().calls.insert(
            call.clone(),
            UserCall {
                conversation: ring.conversation,
                participant: ring.participant,
                rung: ring.endpoints.clone(),
                endpoint: None,
                leg: None,
                ring_timer: Some(timer),
            },
        );
        for endpoint in &ring.endpoints {
            self.send(
                endpoint,
                ServerMessage::Ring {
                    call: call.clone(),
                    caller: caller.clone(),
                },
            );
        }
    }

    /// Carries out a change of a user's place in a conversation on the user's page.
    fn notice(&self, notice: UserNotice) {
        let call = notice.participant.to_string();
        match notice.change {
            UserChange::PeerJoined { peer } => {
                let endpoint = self.hub().calls.get(&call).and_then(|c| c.endpoint.clone());
                if let Some(endpoint) = endpoint {
                    self.send(
                        &endpoint,
                        state_message(&call, PageCallState::Connected, Some(party_of(&peer))),
                    );
                }
            }
            UserChange::ServerMuted => {
                let endpoint = self.hub().calls.get(&call).and_then(|c| c.endpoint.clone());
                if let Some(endpoint) = endpoint {
                    self.send(&endpoint, ServerMessage::Muted { call });
                }
            }
            UserChange::Ended { code, detail } => {
                let entry = self.hub().calls.remove(&call);
                if let Some(entry) = entry {
                    self.finish(&call, &entry, code, detail);
                }
            }
        }
    }
}
