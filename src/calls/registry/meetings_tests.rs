//! Meetings: bots and people share one conversation per meeting, which is forgotten when the
//! last leaves; a meeting's bots are ended when its last person leaves (but not while no person
//! has come yet, or while one is still being rung).

use serde_json::json;

use crate::calls::endpoints::Reach;
use crate::calls::ids::CallId;
use crate::calls::media::MediaCommand;
use crate::calls::registry::Effects;
use crate::calls::registry::test_support::{Harness, app, summary, user};
use crate::calls::validate;

#[test]
fn meeting_joins_share_one_conversation() {
    let mut h = Harness::new();
    let mut fx = Effects::default();
    let body = || {
        validate::create_call(
            serde_json::from_value(
                json!({"mediaConfig": {}, "meetingInfo": {"joinMeetingId": "123"}}),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let a = h
        .registry
        .create_call(app("a"), body(), vec![], Some("m1".into()), h.now, &mut fx)
        .unwrap();
    let b = h
        .registry
        .create_call(app("b"), body(), vec![], Some("m1".into()), h.now, &mut fx)
        .unwrap();
    h.media_ready(&mut fx);
    assert_eq!(
        h.registry.calls[&a].conversation,
        h.registry.calls[&b].conversation
    );
    assert_eq!(h.registry.participants("a", a.as_str()).unwrap().len(), 2);
    let mut fx = Effects::default();
    h.registry.hang_up("a", a.as_str(), &mut fx).unwrap();
    assert_eq!(
        summary(&fx),
        [
            "a Updated terminating",
            "a Deleted terminated 200/5001",
            "b Updated/participants"
        ]
    );
    h.registry.hang_up("b", b.as_str(), &mut fx).unwrap();
    assert!(h.registry.meetings.is_empty() && h.registry.conversations.is_empty());
    let err = h
        .registry
        .create_call(app("a"), body(), vec![], None, h.now, &mut fx)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "meetingInfo: got nothing; allowed: the joinMeetingId, organizer or chatInfo of an existing meeting"
    );
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
        [MediaCommand::SetServerMuted {
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
fn bot_joins(h: &mut Harness, bot: &str, meeting: &str, fx: &mut Effects) -> CallId {
    let body = json!({"mediaConfig": {}, "meetingInfo": {"joinMeetingId": "123"}});
    let request = validate::create_call(serde_json::from_value(body).unwrap()).unwrap();
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
            MediaCommand::CloseLeg { call } => Some(call.clone()),
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
        let request = validate::invite(
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
