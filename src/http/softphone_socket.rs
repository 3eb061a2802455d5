//! `GET /softphone/ws`: one page's signaling socket. It reads the page's messages (see
//! `softphone::protocol`), resolves call targets and meetings through the directory, hands the
//! requests to the [`Softphone`], and writes the softphone's messages for that page. A bad
//! message gets an `error` message; the socket stays open.

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use tokio::sync::mpsc;

use super::state::AppState;
use crate::calls::call::AppRef;
use crate::calls::endpoints::{EndpointId, EndpointRegistry, Reach};
use crate::calls::validate::Target;
use crate::graph::{IdentitySet, InvitationParticipantInfo, ParticipantInfo, Party as GraphParty};
use crate::softphone::protocol::{self, CallTarget, ClientMessage, Party, ServerMessage};
use crate::softphone::sign_in::SignedInUser;
use crate::softphone::{Refusal, Softphone};

/// `GET /softphone/ws`: upgrades to the signaling socket.
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(2 * protocol::MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| run(socket, state))
}

/// A registered page: its endpoint, user and incoming messages.
struct Session {
    endpoint: EndpointId,
    user: SignedInUser,
    messages: mpsc::Receiver<ServerMessage>,
}

async fn run(mut socket: WebSocket, state: AppState) {
    let mut session: Option<Session> = None;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        let refusal = ServerMessage::error(
                            "binary messages are not part of the protocol; send JSON text",
                            None,
                        );
                        if send(&mut socket, &refusal).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Some(Ok(_)) => continue,
                };
                let reply = handle(&state, &mut session, text.as_str()).await;
                if let Some(reply) = reply
                    && send(&mut socket, &reply).await.is_err()
                {
                    break;
                }
            }
            Some(message) = next(&mut session) => {
                if send(&mut socket, &message).await.is_err() {
                    break;
                }
            }
        }
    }
    if let Some(session) = session {
        state.softphone.unregister(&session.endpoint);
    }
}

/// The next message for a registered page; never resolves before `register`.
async fn next(session: &mut Option<Session>) -> Option<ServerMessage> {
    match session {
        Some(session) => session.messages.recv().await,
        None => std::future::pending().await,
    }
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), axum::Error> {
    socket.send(Message::Text(message.to_text().into())).await
}

/// Handles one message; returns the direct reply, if any.
async fn handle(
    state: &AppState,
    session: &mut Option<Session>,
    text: &str,
) -> Option<ServerMessage> {
    let message = match protocol::parse(text) {
        Ok(message) => message,
        Err(why) => return Some(ServerMessage::error(why, None)),
    };
    let softphone = &state.softphone;
    if let ClientMessage::Register { token } = &message {
        if session.is_some() {
            return Some(ServerMessage::error(
                "this socket is registered already; open another socket to sign in again",
                None,
            ));
        }
        let Some(user) = softphone.sign_ins.user(token, std::time::Instant::now()) else {
            return Some(ServerMessage::error(
                "unknown or expired sign-in token; sign in again with POST /softphone/login",
                None,
            ));
        };
        let (endpoint, messages) = softphone.register(&user);
        let reply = ServerMessage::Registered {
            endpoint: endpoint.clone(),
            user: Party {
                kind: "user".into(),
                id: user.id.clone(),
                display_name: Some(user.display_name.clone()),
            },
        };
        *session = Some(Session {
            endpoint,
            user,
            messages,
        });
        return Some(reply);
    }
    if let ClientMessage::Ping = message {
        return Some(ServerMessage::Pong);
    }
    let Some(session) = session.as_ref() else {
        return Some(ServerMessage::error(
            "send register with a sign-in token first",
            None,
        ));
    };
    let endpoint = session.endpoint.as_str();
    let (call, result): (Option<String>, Result<(), Refusal>) = match message {
        ClientMessage::Call { target, sdp } => {
            let result = match resolve(state, softphone, &session.user, &target).await {
                Ok((target, reach)) => {
                    softphone
                        .place_call(endpoint, &session.user, target, reach, sdp)
                        .await
                }
                Err(why) => Err(why),
            };
            (None, result)
        }
        ClientMessage::Join { meeting, sdp } => {
            let result = join(state, softphone, endpoint, &session.user, &meeting, sdp).await;
            (None, result)
        }
        ClientMessage::Answer { call, sdp } => {
            let result = softphone.answer(endpoint, &call, sdp).await;
            (Some(call), result)
        }
        ClientMessage::Decline { call } => {
            let result = softphone.decline(endpoint, &call);
            (Some(call), result)
        }
        ClientMessage::Unmute { call } => {
            let result = softphone.unmute(endpoint, &call);
            (Some(call), result)
        }
        ClientMessage::Hangup { call } => {
            let result = softphone.hang_up(endpoint, &call);
            (Some(call), result)
        }
        ClientMessage::Register { .. } | ClientMessage::Ping => (None, Ok(())),
    };
    result
        .err()
        .map(|why| ServerMessage::error(why.to_string(), call.as_deref()))
}

/// How to reach a page's call target: a user or bot of the caller's tenant.
async fn resolve(
    state: &AppState,
    softphone: &Softphone,
    caller: &SignedInUser,
    target: &CallTarget,
) -> Result<(Target, Reach), Refusal> {
    let store = &state.store;
    let unavailable = |e: crate::store::StoreError| Refusal::DirectoryUnavailable {
        reason: e.to_string(),
    };
    match target {
        CallTarget::User(id) => {
            let user = store
                .get_user(id)
                .await
                .map_err(unavailable)?
                .filter(|u| u.tenant_id == caller.tenant_id)
                .ok_or_else(|| Refusal::UnknownUser {
                    id: id.clone(),
                    tenant: caller.tenant_id.clone(),
                })?;
            let identity = IdentitySet::user(user.id.clone(), Some(user.display_name));
            Ok((
                target_of(GraphParty::User(user.id.clone()), identity),
                Reach::User {
                    endpoints: softphone.endpoints_of(&user.id),
                    user_id: user.id,
                },
            ))
        }
        CallTarget::Application(id) => {
            let app = store
                .get_app(id)
                .await
                .map_err(unavailable)?
                .filter(|a| a.tenant_id == caller.tenant_id)
                .ok_or_else(|| Refusal::UnknownApplication {
                    id: id.clone(),
                    tenant: caller.tenant_id.clone(),
                })?;
            let identity = IdentitySet::application(app.id.clone(), Some(app.name.clone()));
            Ok((
                target_of(GraphParty::Application(app.id.clone()), identity),
                Reach::App(AppRef {
                    app_id: app.id,
                    tenant_id: app.tenant_id,
                    display_name: Some(app.name),
                    calling_webhook: app.calling_webhook,
                }),
            ))
        }
    }
}

fn target_of(party: GraphParty, identity: IdentitySet) -> Target {
    Target {
        party,
        info: InvitationParticipantInfo {
            identity: Some(identity),
            ..InvitationParticipantInfo::default()
        },
    }
}

/// The page joins an online meeting of its user's tenant by meeting id.
async fn join(
    state: &AppState,
    softphone: &Softphone,
    endpoint: &str,
    user: &SignedInUser,
    meeting: &str,
    offer: String,
) -> Result<(), Refusal> {
    let record = state
        .store
        .get_meeting(&user.tenant_id, meeting)
        .await
        .map_err(|e| Refusal::DirectoryUnavailable {
            reason: e.to_string(),
        })?
        .ok_or_else(|| Refusal::UnknownMeeting {
            meeting: meeting.to_owned(),
            tenant: user.tenant_id.clone(),
        })?;
    let in_progress = state
        .calls
        .read(|registry| registry.meeting_in_progress(&record.id));
    crate::meetings::check_not_ended(
        "meeting",
        record.end_date_time.as_deref(),
        in_progress,
        jiff::Timestamp::now(),
    )?;
    let info = ParticipantInfo::new(IdentitySet::user(
        user.id.clone(),
        Some(user.display_name.clone()),
    ));
    softphone
        .join_meeting(endpoint, &record.id, info, offer)
        .await
}
