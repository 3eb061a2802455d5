//! A bot places a group call to two people: both pages ring, both answer and hear each other.
//! The bot then invites a second bot (`participants/invite`, its operation and notifications),
//! which plays a prompt both people hear (by spectrum in each page) and receives a key one of
//! them presses on the page's keypad (RFC 4733), named by that person's participant id.

mod calls_support;
mod meeting_support;
mod softphone_support;
mod support;

use std::time::Duration;

use calls_support::*;
use meeting_support::*;
use serde_json::{Value, json};
use softphone_support::*;
use support::audio::tone;
use support::*;

/// Both people's microphone tone (one browser, so one fake microphone for both pages).
const VOICE_HZ: f64 = 600.0;
/// The invited bot's prompt.
const PROMPT_HZ: f64 = 1300.0;

/// The keys `bot` was told about on `call`, with who pressed them.
fn keys(bot: &Bot, call: &str) -> Vec<(String, String)> {
    bot.hook
        .notifications()
        .iter()
        .filter(|n| {
            n["resourceUrl"] == format!("/communications/calls/{call}")
                && n["resourceData"]["toneInfo"].is_object()
        })
        .map(|n| {
            let info = &n["resourceData"]["toneInfo"];
            (
                info["tone"].as_str().unwrap_or("?").to_owned(),
                info["participantId"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_invited_into_two_peoples_group_call_is_heard_by_both_and_gets_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = tone(PROMPT_HZ, 48_000, 6.0, 0.02);
    switchboard::webrtc::client::write_wav(&dir.path().join("tone-prompt.wav"), &prompt).unwrap();
    let microphone = dir.path().join("voice.wav");
    switchboard::webrtc::client::write_wav(&microphone, &tone(VOICE_HZ, 48_000, 4.0, 0.2)).unwrap();
    let config = softphone_config().replace(
        "[media.prompts]\n",
        &format!("[media.prompts]\ndir = \"{}\"\n", dir.path().display()),
    );
    let bots = Bots::start(&config, &[]).await;
    let mut phones = Phones::launch(&bots.server, Some(microphone));
    let pages = [phones.signed_in("/", USER_A), phones.signed_in("/", AGENT)];

    // A1 calls both people at once: both pages ring and answer.
    let body = json!({"callbackUri": bots.a1.hook.url, "subject": "Two people",
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "requestedModalities": ["audio"],
        "targets": [{"identity": {"user": {"id": USER_A}}},
                    {"identity": {"user": {"id": AGENT}}}],
        "tenantId": TENANT_A});
    let created = bots.post(&bots.a1, "/communications/calls", body).await;
    let status = created.status();
    let created: Value = created.json().await.unwrap();
    assert_eq!(status, 201, "{created}");
    let call = created["id"].as_str().unwrap().to_owned();
    for page in &pages {
        phones.wait_state(page, "ringing");
        assert_eq!(phones.eval(page, "softphone.incoming.caller.id"), APP_A1);
        phones.eval(page, "softphone.answer()");
    }
    for page in &pages {
        phones.wait_state(page, "connected");
        install_tone_meter(&mut phones, page);
    }
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;

    // They hear each other (each page hears the other's voice through the mix).
    let freqs = [VOICE_HZ, PROMPT_HZ];
    let measure = |phones: &mut Phones, label: &str| {
        for page in &pages {
            start_tone_meter(phones, page);
        }
        std::thread::sleep(Duration::from_millis(2000));
        pages
            .iter()
            .map(|page| {
                let shares = read_tone_meter(phones, page, &freqs);
                println!("{label}: a page hears {}", describe(&freqs, &shares));
                shares
            })
            .collect::<Vec<_>>()
    };
    for shares in measure(&mut phones, "two people") {
        assert!(shares[0] > HEARD, "the other person is not heard");
        assert!(shares[1] < ABSENT, "a prompt before anyone plays one");
    }

    // A1 invites A2: a running operation, then A2's incoming call; answered, it completes.
    let invite = json!({"participants": [{"identity": {"application": {"id": APP_A2}}}],
                        "clientContext": "add the recorder"});
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
    let a2 = bots.incoming(&bots.a2).await;
    bots.answer(&bots.a2, &a2).await;
    let op_id = op["id"].as_str().unwrap();
    let done = wait_for(&bots.a1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{call}/operations/{op_id}")
            && n["resourceData"]["status"] == "completed"
    })
    .await;
    assert_eq!(done["resourceData"]["clientContext"], "add the recorder");
    wait_for(&bots.a2.hook, |n| is_state(n, &a2, "established")).await;
    eventually("both people and both bots in A2's roster", || {
        roster(&bots.a2, &a2).len() == 4
    })
    .await;

    // A2 plays its prompt: both people hear it, and still each other.
    let subscribe = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{a2}/subscribeToTone"),
            json!({"clientContext": "keys"}),
        )
        .await;
    assert_eq!(subscribe.status(), 200);
    let played = start_op(&bots, &bots.a2, &a2, "playPrompt", play("tone-prompt")).await;
    std::thread::sleep(Duration::from_millis(1000));
    for shares in measure(&mut phones, "prompt") {
        assert!(shares[0] > HEARD, "the other person is not heard");
        assert!(shares[1] > HEARD, "the prompt is not heard");
    }
    assert_eq!(
        finished(&bots.a2, &a2, &played).await["status"],
        "completed"
    );

    // The first person presses 7: A2 gets it once, naming that person.
    let presser = participant_of(&bots.a2, &a2, USER_A);
    phones.eval(&pages[0], "softphone.press('7')");
    eventually("the key at the invited bot", || {
        !keys(&bots.a2, &a2).is_empty()
    })
    .await;
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(keys(&bots.a2, &a2), [("tone7".to_owned(), presser)]);
}
