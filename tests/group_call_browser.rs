//! A group call of a bot with mixed targets and people inviting in and out, in headless Chromium:
//! a bot's group call rings a person's page and a second bot at once; the bot invites another
//! person through `participants/invite`, who declines (the operation fails with the decline's
//! code) and is invited again and answers (the operation completes with its clientContext);
//! both people hear each other and the second bot's prompt (by spectrum in each page); the bot
//! removes a person, whose page ends and who leaves the roster.
//!
//! (tests/softphone_browser.rs covers a group call ringing two people into which a bot is
//! invited, its prompt heard as level and a key from the keypad.)

mod calls_support;
mod meeting_support;
mod softphone_support;
mod support;

use std::time::Duration;

use calls_support::*;
use meeting_support::*;
use serde_json::{Value, json};
use softphone_support::*;
use support::browser::Page;
use support::*;

/// Both people's microphone tone (one browser, so one fake microphone for both pages).
const VOICE_HZ: f64 = 600.0;
/// The second bot's prompt.
const PROMPT_HZ: f64 = 1300.0;

/// A1 invites the agent into `call` with `context`; returns the operation's id.
async fn invite_agent(bots: &Bots, call: &str, context: &str) -> String {
    let invite = json!({"participants": [{"identity": {"user": {"id": AGENT}}}],
                        "clientContext": context});
    let response = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{call}/participants/invite"),
            invite,
        )
        .await;
    assert_eq!(response.status(), 200);
    let op: Value = response.json().await.unwrap();
    assert_eq!(
        op["@odata.type"],
        "#microsoft.graph.inviteParticipantsOperation"
    );
    assert_eq!(op["status"], "running");
    op["id"].as_str().unwrap().to_owned()
}

/// The notification that operation `op` of `call` has finished.
async fn op_settled(bots: &Bots, call: &str, op: &str) -> Value {
    wait_for(&bots.a1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{call}/operations/{op}")
            && n["resourceData"]["status"] != "running"
    })
    .await["resourceData"]
        .clone()
}

fn wait_ringing_from_a1(phones: &mut Phones, page: &Page) {
    phones.wait_state(page, "ringing");
    assert_eq!(phones.eval(page, "softphone.incoming.caller.id"), APP_A1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_call_rings_a_person_and_a_bot_invites_a_person_twice_and_removes_one() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = tone_bursts(PROMPT_HZ, 6.0, 0.2);
    switchboard::webrtc::client::write_wav(&dir.path().join("tone-prompt.wav"), &prompt).unwrap();
    let microphone = dir.path().join("voice.wav");
    switchboard::webrtc::client::write_wav(&microphone, &tone_bursts(VOICE_HZ, 4.0, 0.2)).unwrap();
    let config = softphone_config().replace(
        "[media.prompts]\n",
        &format!("[media.prompts]\ndir = \"{}\"\n", dir.path().display()),
    );
    let bots = Bots::start(&config, &[]).await;
    let mut phones = Phones::launch(&bots.server, Some(microphone));
    let user = phones.signed_in("/", USER_A);
    let agent = phones.signed_in("/", AGENT);

    // A1's group call has a person and a bot as targets: the page rings, the bot gets an
    // incoming call; both answer.
    let body = json!({"callbackUri": bots.a1.hook.url, "subject": "Mixed",
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "requestedModalities": ["audio"],
        "targets": [{"identity": {"user": {"id": USER_A}}},
                    {"identity": {"application": {"id": APP_A2}}}],
        "tenantId": TENANT_A});
    let created = bots.post(&bots.a1, "/communications/calls", body).await;
    let status = created.status();
    let created: Value = created.json().await.unwrap();
    assert_eq!(status, 201, "{created}");
    let call = created["id"].as_str().unwrap().to_owned();
    wait_ringing_from_a1(&mut phones, &user);
    let a2 = bots.incoming(&bots.a2).await;
    phones.eval(&user, "softphone.answer()");
    bots.answer(&bots.a2, &a2).await;
    phones.wait_state(&user, "connected");
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;
    wait_for(&bots.a2.hook, |n| is_state(n, &a2, "established")).await;
    eventually("A1, the person and A2 in A1's roster", || {
        roster(&bots.a1, &call).len() == 3
    })
    .await;

    // A1 invites the agent, who declines: the invite fails with the decline's code.
    let declined = invite_agent(&bots, &call, "first try").await;
    wait_ringing_from_a1(&mut phones, &agent);
    phones.eval(&agent, "softphone.decline()");
    phones.wait_state(&agent, "ended");
    let failed = op_settled(&bots, &call, &declined).await;
    println!("declined invite: {failed}");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["resultInfo"]["code"], 480, "{failed}");
    assert_eq!(failed["clientContext"], "first try");

    // Invited again, the agent answers: the invite completes.
    let answered = invite_agent(&bots, &call, "second try").await;
    wait_ringing_from_a1(&mut phones, &agent);
    phones.eval(&agent, "softphone.answer()");
    phones.wait_state(&agent, "connected");
    let completed = op_settled(&bots, &call, &answered).await;
    assert_eq!(completed["status"], "completed", "{completed}");
    assert_eq!(completed["clientContext"], "second try");
    eventually("four in A1's roster", || roster(&bots.a1, &call).len() == 4).await;
    let agent_participant = participant_of(&bots.a1, &call, AGENT);
    let user_participant = participant_of(&bots.a1, &call, USER_A);

    // A2 plays its prompt: both people hear it and each other.
    for page in [&user, &agent] {
        install_tone_meter(&mut phones, page);
    }
    let played = start_op(&bots, &bots.a2, &a2, "playPrompt", play("tone-prompt")).await;
    std::thread::sleep(Duration::from_millis(1000));
    for page in [&user, &agent] {
        start_tone_meter(&mut phones, page);
    }
    std::thread::sleep(Duration::from_millis(2000));
    let freqs = [VOICE_HZ, PROMPT_HZ];
    for page in [&user, &agent] {
        let shares = read_tone_meter(&mut phones, page, &freqs);
        println!("a page hears {}", describe(&freqs, &shares));
        assert!(shares[0] > HEARD, "the other person is not heard");
        assert!(shares[1] > HEARD, "the prompt is not heard");
    }
    assert_eq!(
        finished(&bots.a2, &a2, &played).await["status"],
        "completed"
    );

    // A1 removes the first person: their page ends, the roster no longer lists them, and the
    // invited person stays.
    let removed = bots
        .delete(
            &bots.a1,
            &format!("/communications/calls/{call}/participants/{user_participant}"),
        )
        .await;
    assert_eq!(removed.status(), 204);
    phones.wait_state(&user, "ended");
    println!(
        "removed: the page ended with {:?}",
        phones.ended_with(&user)
    );
    eventually("three in A1's roster, without the removed person", || {
        let r = roster(&bots.a1, &call);
        r.len() == 3
            && r.iter().all(|p| user_of(p) != Some(USER_A))
            && r.iter().any(|p| p["id"] == agent_participant.as_str())
    })
    .await;
    assert_eq!(phones.state(&agent), "connected");
}
