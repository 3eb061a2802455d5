//! People on softphones in the registry: a user calls a bot (the bot sees the user, its answer
//! tells the user's page, its hang-up ends the user), a bot rings a user who never answers, a
//! user calls a user, a user joins a meeting, and a meeting's bots are ended when its last
//! person leaves (but not while no person has come yet, or while one is still being rung).

use serde_json::json;

use super::endpoints::Reach;
use super::ids::{ConversationId, ParticipantId};
use super::registry::Effects;
use super::registry_tests::{Harness, app, incoming_call_id, summary};
use super::registry_users::{NotPlaced, UserChange, UserNotice};
use super::result_codes::ResultCode;
use super::validate::Target;
use crate::graph::{IdentitySet, InvitationParticipantInfo, ParticipantInfo, Party};

fn user(id: &str) -> ParticipantInfo {
    ParticipantInfo::new(IdentitySet::user(id, Some(format!("User {id}"))))
}

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
        super::validate::reject(serde_json::from_value(json!({"reason": "busy"})).unwrap())
            .unwrap();
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
fn users_join_a_meeting_and_it_is_forgotten_when_the_last_leaves() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let (c1, u) = h.registry.user_joins_meeting("m-1", user("u"), &mut fx);
    let (c2, v) = h.registry.user_joins_meeting("m-1", user("v"), &mut fx);
    assert_eq!(c1, c2, "one conversation per meeting");
    assert_eq!(h.registry.conversations[&c1].roster().len(), 2);
    // Server mute of a person, undone by the person.
    let mut fx = Effects::default();
    assert!(
        h.registry.user_unmuted(&c1, &u, &mut fx),
        "not muted: nothing to do"
    );
    assert_eq!(fx, Effects::default());
    h.registry
        .conversations
        .get_mut(&c1)
        .unwrap()
        .member_mut(&u)
        .unwrap()
        .server_muted = true;
    assert!(h.registry.user_unmuted(&c1, &u, &mut fx));
    assert_eq!(
        fx.media,
        [super::media::MediaCommand::SetServerMuted {
            conversation: c1.clone(),
            participant: u.clone(),
            muted: false
        }]
    );
    assert!(
        !h.registry.conversations[&c1]
            .member(&u)
            .unwrap()
            .server_muted
    );

    h.registry.user_hung_up(&c1, &u, &mut fx);
    assert_eq!(h.registry.conversations[&c1].roster().len(), 1);
    h.registry.user_hung_up(&c1, &v, &mut fx);
    assert!(h.registry.conversations.is_empty() && h.registry.meetings.is_empty());
}

/// `bot` joins meeting `meeting` by join id; its media is ready at once.
fn bot_joins(h: &mut Harness, bot: &str, meeting: &str, fx: &mut Effects) -> super::ids::CallId {
    let body = json!({"mediaConfig": {}, "meetingInfo": {"joinMeetingId": "123"}});
    let request = super::validate::create_call(serde_json::from_value(body).unwrap()).unwrap();
    let mut opened = Effects::default();
    let call = h
        .registry
        .create_call(
            app(bot),
            request,
            vec![],
            Some(meeting.into()),
            h.now,
            &mut opened,
        )
        .unwrap();
    h.media_ready(&mut opened);
    fx.notifications.append(&mut opened.notifications);
    call
}

#[test]
fn a_meetings_bots_are_ended_when_its_last_person_leaves() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    // Bots alone in a meeting nobody has joined yet stay, even when another bot leaves.
    let a = bot_joins(&mut h, "a", "m-1", &mut fx);
    let b = bot_joins(&mut h, "b", "m-1", &mut fx);
    let mut fx = Effects::default();
    h.registry.hang_up("b", b.as_str(), &mut fx).unwrap();
    assert_eq!(
        summary(&fx),
        [
            "b Updated terminating",
            "b Deleted terminated 200/5001",
            "a Updated/participants"
        ]
    );
    assert!(h.registry.calls.contains_key(&a), "a bot alone stays");

    let (conversation, u) = h.registry.user_joins_meeting("m-1", user("u"), &mut fx);
    let (_, v) = h.registry.user_joins_meeting("m-1", user("v"), &mut fx);
    let c = bot_joins(&mut h, "c", "m-1", &mut fx);
    // One person leaves, one stays: nothing ends.
    let mut fx = Effects::default();
    h.registry.user_hung_up(&conversation, &u, &mut fx);
    assert_eq!(
        summary(&fx),
        ["a Updated/participants", "c Updated/participants"]
    );

    // The last person leaves: every bot hangs up, terminating then terminated 200/5002.
    let mut fx = Effects::default();
    h.registry.user_hung_up(&conversation, &v, &mut fx);
    assert_eq!(
        summary(&fx),
        [
            "a Updated/participants",
            "c Updated/participants",
            "a Updated terminating",
            "a Deleted terminated 200/5002",
            "c Updated/participants",
            "c Updated terminating",
            "c Deleted terminated 200/5002"
        ]
    );
    let ended = &fx.notifications[3].notification.resource_data;
    assert_eq!(
        ended["resultInfo"]["message"],
        "The call ended because all other participants left: the last person left meeting 'm-1'. DiagCode: 200#5002.@"
    );
    let closed: Vec<_> = fx
        .media
        .iter()
        .filter_map(|m| match m {
            super::media::MediaCommand::CloseLeg { call } => Some(call.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        closed,
        [a.clone(), c.clone()],
        "each leg's media closed once"
    );
    assert!(h.registry.calls.is_empty());
    assert!(h.registry.conversations.is_empty() && h.registry.meetings.is_empty());

    // The meeting is joinable again: a new conversation, whose lone bot stays.
    let mut fx = Effects::default();
    let d = bot_joins(&mut h, "d", "m-1", &mut fx);
    assert_ne!(h.registry.calls[&d].conversation, conversation);
    assert_eq!(
        summary(&fx),
        [
            "d Updated establishing",
            "d Updated/participants",
            "d Updated established"
        ]
    );
}

#[test]
fn a_person_being_rung_into_a_meeting_keeps_its_bots_and_one_never_joined_ends_nothing() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let a = bot_joins(&mut h, "a", "m-2", &mut fx);
    let conversation = h.registry.calls[&a].conversation.clone();
    let invite = |h: &mut Harness, who: &str, fx: &mut Effects| {
        let request = super::validate::invite(
            serde_json::from_value(json!({"participants": [{"identity": {"user": {"id": who}}}]}))
                .unwrap(),
        )
        .unwrap();
        let reach = Reach::User {
            user_id: who.into(),
            endpoints: vec![format!("page-{who}")],
        };
        h.registry
            .invite("a", a.as_str(), request, vec![reach], h.now, fx)
            .unwrap();
        fx.rings.pop().expect("the person is rung").participant
    };

    // A person who declines was never in the meeting: the bot stays.
    let w = invite(&mut h, "w", &mut fx);
    let mut fx = Effects::default();
    h.registry.user_declined(&conversation, &w, &mut fx);
    assert_eq!(summary(&fx), ["a Deleted/operations 480/10076 failed"]);
    assert!(h.registry.calls.contains_key(&a));

    // A person joins; another is rung; the first leaves while the second still rings.
    let (_, u) = h.registry.user_joins_meeting("m-2", user("u"), &mut fx);
    let x = invite(&mut h, "x", &mut fx);
    let mut fx = Effects::default();
    h.registry.user_hung_up(&conversation, &u, &mut fx);
    assert_eq!(summary(&fx), ["a Updated/participants"]);
    // The second never answers: nobody is left to come, so the bot's call ends.
    let mut fx = Effects::default();
    h.registry.user_not_answered(&conversation, &x, &mut fx);
    assert_eq!(
        summary(&fx),
        [
            "a Deleted/operations 408/10057 failed",
            "a Updated terminating",
            "a Deleted terminated 200/5002"
        ]
    );
    assert!(h.registry.calls.is_empty() && h.registry.meetings.is_empty());
}
