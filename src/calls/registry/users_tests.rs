//! People on softphones in the registry: a user calls a bot (the bot sees the user, its answer
//! tells the user's page, its hang-up ends the user), a bot rings a user who answers or never
//! does, and a user calls a user.

use serde_json::json;

use crate::calls::endpoints::Reach;
use crate::calls::ids::{ConversationId, ParticipantId};
use crate::calls::registry::test_support::{Harness, app, incoming_call_id, summary, user};
use crate::calls::registry::{Effects, NotPlaced, UserChange, UserNotice};
use crate::calls::result_codes::ResultCode;
use crate::calls::validate::{self, Target};
use crate::graph::{IdentitySet, InvitationParticipantInfo, Party};

fn target(party: Party, identity: IdentitySet) -> Target {
    Target {
        party,
        info: InvitationParticipantInfo {
            identity: Some(identity),
            ..InvitationParticipantInfo::default()
        },
    }
}

fn bot_target(id: &str) -> Target {
    target(
        Party::Application(id.into()),
        IdentitySet::application(id, None),
    )
}

fn ended(fx: &Effects) -> Vec<(ParticipantId, ResultCode)> {
    fx.users
        .iter()
        .filter_map(|n| match &n.change {
            UserChange::Ended { code, .. } => Some((n.participant.clone(), *code)),
            UserChange::PeerJoined { .. } | UserChange::ServerMuted => None,
        })
        .collect()
}

fn user_calls_bot(h: &mut Harness, fx: &mut Effects) -> (ConversationId, ParticipantId) {
    h.registry
        .user_calls(user("u"), bot_target("b"), Reach::App(app("b")), h.now, fx)
        .unwrap()
}

#[test]
fn a_user_calls_a_bot_which_sees_the_user_and_answers() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (conversation, me) = user_calls_bot(&mut h, &mut fx);
    assert_eq!(summary(&fx), ["b Created incoming"]);
    let incoming = &fx.notifications[0].notification.resource_data;
    assert_eq!(incoming["source"]["identity"]["user"]["id"], "u");
    assert_eq!(
        incoming["source"]["identity"]["user"]["displayName"],
        "User u"
    );
    assert_eq!(incoming["source"]["participantId"], json!(me.as_str()));
    let call = incoming_call_id(&fx, "b");

    let mut fx = Effects::default();
    h.answer("b", &call, &mut fx);
    assert_eq!(
        fx.users,
        [UserNotice {
            conversation: conversation.clone(),
            participant: me.clone(),
            change: UserChange::PeerJoined {
                peer: Box::new(
                    h.registry.conversations[&conversation].members[1]
                        .info
                        .clone()
                )
            },
        }]
    );

    // The bot hangs up: the user's page is told 200/4521 and the conversation is gone.
    let mut fx = Effects::default();
    h.registry.hang_up("b", call.as_str(), &mut fx).unwrap();
    assert_eq!(ended(&fx), [(me, ResultCode::EndedByPeer)]);
    assert!(h.registry.conversations.is_empty());
}

#[test]
fn a_rejected_or_unreachable_call_ends_the_users_attempt_with_the_reason() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (_, me) = user_calls_bot(&mut h, &mut fx);
    let call = incoming_call_id(&fx, "b");
    let mut fx = Effects::default();
    let reject =
        validate::reject(serde_json::from_value(json!({"reason": "busy"})).unwrap()).unwrap();
    h.registry
        .reject("b", call.as_str(), reject, &mut fx)
        .unwrap();
    assert_eq!(ended(&fx), [(me, ResultCode::CalleeDeclined)]);
    assert!(h.registry.conversations.is_empty());

    let mut no_hook = app("c");
    no_hook.calling_webhook = None;
    let refused = h
        .registry
        .user_calls(
            user("u"),
            bot_target("c"),
            Reach::App(no_hook),
            h.now,
            &mut fx,
        )
        .unwrap_err();
    assert_eq!(refused.code, ResultCode::NoCalleeEndpoints);
    assert!(
        matches!(refused, NotPlaced { detail: Some(d), .. } if d.contains("no calling webhook"))
    );
    assert!(h.registry.conversations.is_empty(), "nothing kept");
}

#[test]
fn a_user_who_never_answers_ends_the_bots_call_with_408_10057() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = json!({"mediaConfig": {}, "targets": [{"identity": {"user": {"id": "u"}}}]});
    let reach = Reach::User {
        user_id: "u".into(),
        endpoints: vec!["page-1".into()],
    };
    let a = h.create("a", body, vec![reach], &mut fx);
    let ring = fx.rings.pop().expect("the user is rung");
    assert_eq!(ring.endpoints, ["page-1"]);
    let mut fx = Effects::default();
    h.registry
        .user_not_answered(&ring.conversation, &ring.participant, &mut fx);
    assert_eq!(summary(&fx), ["a Deleted terminated 408/10057"]);
    assert!(!h.registry.calls.contains_key(&a));
    // Late: nothing more happens.
    let mut fx = Effects::default();
    h.registry
        .user_not_answered(&ring.conversation, &ring.participant, &mut fx);
    assert_eq!(fx, Effects::default());
}

#[test]
fn a_user_calls_a_user_and_either_hang_up_ends_the_other() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let callee = target(Party::User("v".into()), IdentitySet::user("v", None));
    let reach = Reach::User {
        user_id: "v".into(),
        endpoints: vec!["page-v".into()],
    };
    let (conversation, caller) = h
        .registry
        .user_calls(user("u"), callee, reach, h.now, &mut fx)
        .unwrap();
    let ring = fx.rings.pop().unwrap();
    assert_eq!(
        ring.caller.identity.unwrap().user.unwrap().id.as_deref(),
        Some("u")
    );
    let mut fx = Effects::default();
    h.registry
        .user_answered(&conversation, &ring.participant, &mut fx);
    assert_eq!(fx.users.len(), 1, "the caller is told: {:?}", fx.users);
    assert_eq!(fx.users[0].participant, caller);
    let mut fx = Effects::default();
    h.registry.user_hung_up(&conversation, &caller, &mut fx);
    assert_eq!(ended(&fx), [(ring.participant, ResultCode::EndedByPeer)]);
    assert!(fx.notifications.is_empty(), "no app is in this call");
    assert!(h.registry.conversations.is_empty());
}

#[test]
fn signed_in_user_is_rung_and_joins_on_answer() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = json!({"mediaConfig": {}, "targets": [{"identity": {"user": {"id": "u1"}}}]});
    let a = h.create(
        "a",
        body,
        vec![Reach::User {
            user_id: "u1".into(),
            endpoints: vec!["phone-1".into()],
        }],
        &mut fx,
    );
    assert_eq!(fx.rings.len(), 1);
    let ring = fx.rings[0].clone();
    assert_eq!(
        ring.caller
            .identity
            .as_ref()
            .unwrap()
            .application
            .as_ref()
            .unwrap()
            .id
            .as_deref(),
        Some("a")
    );
    let mut fx = Effects::default();
    h.registry
        .user_answered(&ring.conversation, &ring.participant, &mut fx);
    h.media_ready(&mut fx);
    assert_eq!(summary(&fx), ["a Updated established"]);
    let mut fx = Effects::default();
    h.registry
        .user_hung_up(&ring.conversation, &ring.participant, &mut fx);
    assert_eq!(summary(&fx), ["a Deleted terminated 200/4521"]);
    assert!(h.registry.call("a", a.as_str()).is_err());
}
