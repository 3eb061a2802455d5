//! End to end with people in headless Chromium on the real softphone page: a user calls a bot
//! (reject, answer, redirect to an agent), a bot calls a user (ringing, unanswered, declined),
//! the IVR path (prompt heard, keypad digits, transfer to an agent with two-way audio), in-band
//! DTMF from the fake microphone, a user calling a user, people joining a meeting from its link,
//! and a group call ringing two people into which a second bot is invited.

mod calls_support;
mod media_support;
mod softphone_support;
mod support;

use std::time::{Duration, Instant};

use calls_support::*;
use serde_json::{Value, json};
use softphone_support::*;
use support::*;

/// The incoming calls a bot's webhook received so far (their `created` notifications).
fn incoming_calls(bot: &Bot) -> Vec<Value> {
    bot.hook
        .notifications()
        .into_iter()
        .filter(|n| n["changeType"] == "created" && n["resourceData"]["direction"] == "incoming")
        .collect()
}

/// Waits for the bot's `n`-th incoming call (from 0) and returns its notification.
async fn nth_incoming(bot: &Bot, n: usize) -> Value {
    eventually("an incoming call at the bot", || {
        incoming_calls(bot).len() > n
    })
    .await;
    incoming_calls(bot).swap_remove(n)
}

fn call_id(notification: &Value) -> String {
    notification["resourceData"]["id"]
        .as_str()
        .expect("call id")
        .to_owned()
}

/// Whether a notification says the call ended with `code`/`subcode`.
fn ended_with(n: &Value, call: &str, code: i64, subcode: i64) -> bool {
    n["resourceUrl"] == format!("/communications/calls/{call}")
        && n["changeType"] == "deleted"
        && n["resourceData"]["resultInfo"]["code"] == code
        && n["resourceData"]["resultInfo"]["subcode"] == subcode
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_calls_a_bot_which_rejects_answers_and_redirects_to_an_agent() {
    let bots = start_bots().await;
    let mut phones = Phones::launch(&bots.server, None);
    let caller = phones.signed_in("/", USER_A);
    let agent = phones.signed_in("/", AGENT);

    // Rejected: the webhook saw the user's identity; the page ends with 480/10076.
    phones.eval(
        &caller,
        &format!("softphone.callTarget('application', '{APP_A1}')"),
    );
    let first = nth_incoming(&bots.a1, 0).await;
    let source = &first["resourceData"]["source"]["identity"]["user"];
    assert_eq!(source["id"], USER_A, "{first:#}");
    assert_eq!(source["displayName"], "User A", "{first:#}");
    let reject = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{}/reject", call_id(&first)),
            json!({"reason": "busy"}),
        )
        .await;
    assert_eq!(reject.status(), 202);
    phones.wait_state(&caller, "ended");
    assert_eq!(phones.ended_with(&caller), (480, 10076));

    // Answered: the bot's leg is established, the page connected with the bot, audio flows;
    // the user hangs up and the bot hears 200/4521.
    phones.eval(
        &caller,
        &format!("softphone.callTarget('application', '{APP_A1}')"),
    );
    let second = call_id(&nth_incoming(&bots.a1, 1).await);
    let clicked = Instant::now();
    bots.answer(&bots.a1, &second).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &second, "established")).await;
    phones.wait_state(&caller, "connected");
    phones.wait_for_audio(&caller);
    println!(
        "user → bot: established {:?} after the bot answered",
        clicked.elapsed()
    );
    let setup = phones.wait(&caller, "softphone.setupMs");
    println!(
        "caller: call click → page media connected in {setup} ms (the page connects while the bot is rung)"
    );
    assert_eq!(
        phones.eval(&caller, "softphone.peer && softphone.peer.kind"),
        "application"
    );
    phones.eval(&caller, "softphone.hangUp()");
    wait_for(&bots.a1.hook, |n| ended_with(n, &second, 200, 4521)).await;
    phones.wait_state(&caller, "ended");

    // Redirected to the agent: the agent's page rings with the caller's name, answers, and
    // both pages are connected to each other; the bot's leg is gone.
    phones.eval(
        &caller,
        &format!("softphone.callTarget('application', '{APP_A1}')"),
    );
    let third = call_id(&nth_incoming(&bots.a1, 2).await);
    let body = json!({"targets": [{"identity": {"user": {"id": AGENT, "displayName": "Agent C"}}}],
                      "timeout": 20});
    let redirect = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{third}/redirect"),
            body,
        )
        .await;
    assert_eq!(redirect.status(), 202);
    wait_for(&bots.a1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{third}") && n["changeType"] == "deleted"
    })
    .await;
    phones.wait_state(&agent, "ringing");
    assert_eq!(
        phones.eval(&agent, "softphone.incoming.caller.id"),
        USER_A,
        "the agent sees who calls"
    );
    phones.eval(&agent, "softphone.answer()");
    phones.wait_state(&agent, "connected");
    phones.wait(
        &caller,
        &format!("softphone.state === 'connected' && softphone.peer.id === '{AGENT}'"),
    );
    phones.wait_for_audio(&agent);
    phones.wait_for_audio(&caller);
    phones.eval(&agent, "softphone.hangUp()");
    phones.wait_state(&caller, "ended");
    assert_eq!(phones.ended_with(&caller), (200, 4521));

    // The caller closes the tab mid-call: the bot's call ends as if the caller hung up.
    phones.eval(
        &caller,
        &format!("softphone.callTarget('application', '{APP_A1}')"),
    );
    let fourth = call_id(&nth_incoming(&bots.a1, 3).await);
    bots.answer(&bots.a1, &fourth).await;
    phones.wait_state(&caller, "connected");
    phones.browser.close(caller).expect("close the tab");
    wait_for(&bots.a1.hook, |n| ended_with(n, &fourth, 200, 4521)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_calls_a_user_whose_page_rings_then_ends_unanswered_or_declined() {
    let bots = start_bots().await;
    let mut phones = Phones::launch(&bots.server, None);
    let user = phones.signed_in("/", USER_A);
    let body = json!({
        "callbackUri": bots.a1.hook.url,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "requestedModalities": ["audio"],
        "targets": [{"identity": {"user": {"id": USER_A}}}]
    });

    // Unanswered: the page rings, then both sides end with 408/10057 after the ring window.
    let created = bots
        .post(&bots.a1, "/communications/calls", body.clone())
        .await;
    assert_eq!(created.status(), 201);
    let unanswered = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    phones.wait_state(&user, "ringing");
    let rang_at = Instant::now();
    assert_eq!(phones.eval(&user, "softphone.incoming.caller.id"), APP_A1);
    wait_for(&bots.a1.hook, |n| ended_with(n, &unanswered, 408, 10057)).await;
    let rang_for = rang_at.elapsed();
    phones.wait_state(&user, "ended");
    assert_eq!(phones.ended_with(&user), (408, 10057));
    assert!(
        rang_for + Duration::from_millis(500) >= Duration::from_millis(RING_MS),
        "ended after {rang_for:?}, before the {RING_MS} ms ring window"
    );

    // Declined on the page: the bot's call ends with 480/10076.
    let created = bots.post(&bots.a1, "/communications/calls", body).await;
    let declined = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    phones.wait_state(&user, "ringing");
    phones.eval(&user, "softphone.decline()");
    wait_for(&bots.a1.hook, |n| ended_with(n, &declined, 480, 10076)).await;
    phones.wait_state(&user, "ended");
}

/// The tones a bot was told about on `call`, in order, with who pressed them.
fn tones(bot: &Bot, call: &str) -> Vec<(String, String)> {
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

/// A user calls bot A1, which answers and subscribes to tones; returns the bot's call id and
/// the page's participant id (as the bot's roster names the caller).
async fn call_bot_and_subscribe(
    bots: &Bots,
    phones: &mut Phones,
    caller: &Page,
    n: usize,
) -> String {
    phones.eval(
        caller,
        &format!("softphone.callTarget('application', '{APP_A1}')"),
    );
    let call = call_id(&nth_incoming(&bots.a1, n).await);
    bots.answer(&bots.a1, &call).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;
    phones.wait_state(caller, "connected");
    let subscribe = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{call}/subscribeToTone"),
            json!({"clientContext": "keys"}),
        )
        .await;
    assert_eq!(subscribe.status(), 200);
    call
}

use support::browser::Page;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_prompt_is_heard_keys_reach_the_bot_once_then_transfer_to_an_agent_with_two_way_audio()
{
    let prompts = media_support::PromptServer::start().await;
    let bots = start_bots().await;
    let dir = tempfile::tempdir().unwrap();
    let microphone = voice_microphone(dir.path());
    let mut phones = Phones::launch(&bots.server, Some(microphone));
    let caller = phones.signed_in("/", USER_A);
    let agent = phones.signed_in("/", AGENT);
    let call = call_bot_and_subscribe(&bots, &mut phones, &caller, 0).await;

    // Before the prompt the bot sends nothing audible.
    let before = phones.inbound_dbfs(&caller, Duration::from_millis(1500));
    println!("caller hears before the prompt: {before:?} dBFS");
    assert!(
        before.is_none_or(|db| db < -50.0),
        "not silent before the prompt: {before:?}"
    );
    let play = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{call}/playPrompt"),
            json!({"prompts": [{"mediaInfo": {"uri": prompts.url("/speech.wav")}}]}),
        )
        .await;
    assert_eq!(play.status(), 200);
    std::thread::sleep(Duration::from_millis(700));
    let during = phones.inbound_dbfs(&caller, Duration::from_millis(2000));
    println!("caller hears during the prompt: {during:?} dBFS");
    assert!(
        during.is_some_and(|db| db > -40.0),
        "prompt not heard: {during:?}"
    );

    // Keypad: each key reaches the bot once, named as the caller's participant.
    let mut latencies = Vec::new();
    for (i, key) in ["1", "2", "#"].iter().enumerate() {
        let pressed = Instant::now();
        phones.eval(&caller, &format!("softphone.press('{key}')"));
        eventually("the key at the bot", || tones(&bots.a1, &call).len() > i).await;
        latencies.push(pressed.elapsed());
        std::thread::sleep(Duration::from_millis(300));
    }
    println!("keypad press → tone notification: {latencies:?}");
    std::thread::sleep(Duration::from_millis(1000));
    let heard = tones(&bots.a1, &call);
    let keys: Vec<&str> = heard.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(keys, ["tone1", "tone2", "pound"], "{heard:?}");
    let presser = &heard[0].1;
    assert!(
        !presser.is_empty() && heard.iter().all(|(_, p)| p == presser),
        "{heard:?}"
    );

    // Transfer to the agent: the agent's page rings and answers; the bot's leg ends 200/7015;
    // caller and agent hear each other.
    let transfer = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{call}/transfer"),
            json!({"transferTarget": {"identity": {"user": {"id": AGENT, "displayName": "Agent C"}}}}),
        )
        .await;
    assert_eq!(transfer.status(), 202);
    phones.wait_state(&agent, "ringing");
    assert_eq!(phones.eval(&agent, "softphone.incoming.caller.id"), USER_A);
    phones.eval(&agent, "softphone.answer()");
    wait_for(&bots.a1.hook, |n| ended_with(n, &call, 200, 7015)).await;
    phones.wait_state(&agent, "connected");
    let setup = phones.wait(&agent, "softphone.setupMs");
    println!("agent: answer click → media connected in {setup} ms");
    phones.wait(
        &caller,
        &format!("softphone.state === 'connected' && softphone.peer.id === '{AGENT}'"),
    );
    phones.wait_for_audio(&agent);
    std::thread::sleep(Duration::from_millis(500));
    // Chromium's noise suppression damps a steady tone well below its -13 dBFS, but silence
    // measures -120 dBFS: -45 dBFS separates them with a wide margin.
    let agent_hears = phones.inbound_dbfs(&agent, Duration::from_millis(1500));
    let caller_hears = phones.inbound_dbfs(&caller, Duration::from_millis(1500));
    println!(
        "after the transfer: agent hears {agent_hears:?} dBFS, caller hears {caller_hears:?} dBFS"
    );
    assert!(
        agent_hears.is_some_and(|db| db > -45.0),
        "agent hears {agent_hears:?}"
    );
    assert!(
        caller_hears.is_some_and(|db| db > -45.0),
        "caller hears {caller_hears:?}"
    );
    phones.eval(&caller, "softphone.hangUp()");
    phones.wait_state(&agent, "ended");
}

/// Writes the fake microphone's WAV for the in-band test (48 kHz): the speech fixture, then
/// `keys` as DTMF bursts (80 ms at -10 dBm0 per tone, 120 ms apart), then a second of quiet.
fn speech_then_keys(path: &std::path::Path, keys: &str) {
    let (speech, rate) = media_support::read_wav(&std::fs::read(media_support::SPEECH).unwrap());
    assert_eq!(rate, 8000);
    // Upsample by repetition is enough for speech that only has to be speech-like here.
    let mut pcm: Vec<i16> = speech.iter().flat_map(|&s| [s; 6]).collect();
    let quiet = |ms: usize| vec![0i16; 48 * ms];
    pcm.extend(quiet(500));
    for key in keys.chars() {
        let (low, high) = match key {
            '1' => (697.0, 1209.0),
            '5' => (770.0, 1336.0),
            '9' => (852.0, 1477.0),
            '#' => (941.0, 1477.0),
            other => panic!("no frequencies for {other}"),
        };
        let a = support::audio::tone(low, 48_000, 0.08, 0.2);
        let b = support::audio::tone(high, 48_000, 0.08, 0.2);
        pcm.extend(a.iter().zip(&b).map(|(x, y)| x.saturating_add(*y)));
        pcm.extend(quiet(120));
    }
    pcm.extend(quiet(1000));
    switchboard::webrtc::client::write_wav(path, &pcm).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_band_keys_from_the_fake_microphone_reach_the_bot_exactly() {
    let bots = start_bots().await;
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech-and-keys.wav");
    speech_then_keys(&wav, "159#");
    // Played once from when the page opens its microphone: the keys come ~6 s in, after the
    // call is up and the bot subscribed.
    let microphone = std::path::PathBuf::from(format!("{}%noloop", wav.display()));
    let mut phones = Phones::launch(&bots.server, Some(microphone));
    let caller = phones.signed_in("/", USER_A);
    let call = call_bot_and_subscribe(&bots, &mut phones, &caller, 0).await;
    eventually("four keys at the bot", || tones(&bots.a1, &call).len() >= 4).await;
    std::thread::sleep(Duration::from_millis(1500));
    let keys: Vec<String> = tones(&bots.a1, &call).into_iter().map(|(t, _)| t).collect();
    assert_eq!(keys, ["tone1", "tone5", "tone9", "pound"]);
}

/// The latest roster a bot's webhook got for `call`.
fn roster(bot: &Bot, call: &str) -> Vec<Value> {
    bot.hook
        .notifications()
        .into_iter()
        .rev()
        .find(|n| n["resourceUrl"] == format!("/communications/calls/{call}/participants"))
        .and_then(|n| n["resourceData"].as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_join_a_meeting_from_its_join_web_url_with_a_bot_in_it() {
    let bots = start_bots().await;
    let meeting: Value = bots
        .post(
            &bots.a1,
            &format!("/users/{USER_A}/onlineMeetings"),
            json!({"subject": "Stand-up"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let url = meeting["joinWebUrl"].as_str().unwrap().to_owned();
    let path = url.strip_prefix(&bots.server.url("")).unwrap().to_owned();
    let unknown = bots
        .server
        .http
        .get(bots.server.url("/meet/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // The bot is in the meeting first.
    let join = json!({"callbackUri": bots.a1.hook.url,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "meetingInfo": {"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo",
                        "joinMeetingId": meeting["joinMeetingIdSettings"]["joinMeetingId"]},
        "tenantId": TENANT_A});
    let joined = bots.post(&bots.a1, "/communications/calls", join).await;
    assert_eq!(joined.status(), 201);
    let call = joined.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;

    let dir = tempfile::tempdir().unwrap();
    let microphone = voice_microphone(dir.path());
    let mut phones = Phones::launch(&bots.server, Some(microphone));
    let user = phones.signed_in(&path, USER_A);
    let agent = phones.signed_in(&path, AGENT);
    let id = meeting["id"].as_str().unwrap();
    assert_eq!(phones.eval(&user, "softphone.meeting"), id);
    for page in [&user, &agent] {
        phones.eval(page, "softphone.join(softphone.meeting)");
        phones.wait_state(page, "connected");
    }
    eventually("three in the bot's roster", || {
        roster(&bots.a1, &call).len() == 3
    })
    .await;
    let ids: Vec<String> = roster(&bots.a1, &call)
        .iter()
        .filter_map(|p| {
            p["info"]["identity"]["user"]["id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(ids, [USER_A, AGENT]);

    // Each person hears the other through the meeting's mix.
    phones.wait_for_audio(&user);
    phones.wait_for_audio(&agent);
    std::thread::sleep(Duration::from_millis(500));
    for page in [&user, &agent] {
        let hears = phones.inbound_dbfs(page, Duration::from_millis(1500));
        println!("meeting: a page hears {hears:?} dBFS");
        assert!(hears.is_some_and(|db| db > -45.0), "hears {hears:?}");
    }

    // The bot mutes the user for everyone: the page shows it and the agent hears nothing;
    // the user unmutes itself and is heard again.
    let user_participant = roster(&bots.a1, &call)
        .iter()
        .find(|p| p["info"]["identity"]["user"]["id"] == USER_A)
        .and_then(|p| p["id"].as_str().map(str::to_owned))
        .expect("the user in the roster");
    let mute = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{call}/participants/{user_participant}/mute"),
            json!({"clientContext": "quiet"}),
        )
        .await;
    assert_eq!(mute.status(), 200);
    // The page keeps its microphone on: the silence below is the server's doing.
    phones.wait(&user, "softphone.serverMuted && !softphone.muted");
    std::thread::sleep(Duration::from_millis(500));
    let muted = phones.inbound_dbfs(&agent, Duration::from_millis(1500));
    println!("meeting: the agent hears {muted:?} dBFS while the user is muted");
    assert!(muted.is_none_or(|db| db < -50.0), "still heard: {muted:?}");
    phones.eval(&user, "softphone.toggleMute()");
    eventually("the roster shows the user unmuted", || {
        roster(&bots.a1, &call)
            .iter()
            .any(|p| p["id"] == user_participant.as_str() && p["isMuted"] == false)
    })
    .await;
    std::thread::sleep(Duration::from_millis(500));
    let unmuted = phones.inbound_dbfs(&agent, Duration::from_millis(1500));
    println!("meeting: the agent hears {unmuted:?} dBFS after the user unmuted");
    assert!(
        unmuted.is_some_and(|db| db > -45.0),
        "not heard again: {unmuted:?}"
    );

    phones.eval(&user, "softphone.hangUp()");
    phones.wait_state(&user, "ended");
    eventually("two in the bot's roster", || {
        roster(&bots.a1, &call).len() == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_calls_another_user_and_they_hear_each_other() {
    let bots = start_bots().await;
    let dir = tempfile::tempdir().unwrap();
    let microphone = voice_microphone(dir.path());
    let mut phones = Phones::launch(&bots.server, Some(microphone));
    let caller = phones.signed_in("/", USER_A);
    let callee = phones.signed_in("/", AGENT);
    // Another tenant's user cannot be called.
    phones.eval(
        &caller,
        &format!("softphone.callTarget('user', '{USER_B}')"),
    );
    phones.wait_state(&caller, "ended");
    let refused = phones.eval(&caller, "softphone.errors.map(e => e.message).join()");
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("is not a user of tenant"),
        "{refused}"
    );

    phones.eval(&caller, &format!("softphone.callTarget('user', '{AGENT}')"));
    phones.wait_state(&callee, "ringing");
    assert_eq!(phones.eval(&callee, "softphone.incoming.caller.id"), USER_A);
    phones.eval(&callee, "softphone.answer()");
    phones.wait_state(&callee, "connected");
    phones.wait(
        &caller,
        &format!("softphone.state === 'connected' && softphone.peer.id === '{AGENT}'"),
    );
    phones.wait_for_audio(&caller);
    phones.wait_for_audio(&callee);
    std::thread::sleep(Duration::from_millis(500));
    for page in [&caller, &callee] {
        let hears = phones.inbound_dbfs(page, Duration::from_millis(1500));
        println!("user ↔ user: a page hears {hears:?} dBFS");
        assert!(hears.is_some_and(|db| db > -45.0), "hears {hears:?}");
    }
    phones.eval(&caller, "softphone.hangUp()");
    phones.wait_state(&callee, "ended");
    assert_eq!(phones.ended_with(&callee), (200, 4521));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_rings_two_people_into_a_group_call_and_an_invited_bot_is_heard_and_gets_keys() {
    let prompts = media_support::PromptServer::start().await;
    let bots = start_bots().await;
    let dir = tempfile::tempdir().unwrap();
    let microphone = voice_microphone(dir.path());
    let mut phones = Phones::launch(&bots.server, Some(microphone));
    let user = phones.signed_in("/", USER_A);
    let agent = phones.signed_in("/", AGENT);

    // A group call to two people: both pages ring and answer; the bot's roster has all three.
    let body = json!({"callbackUri": bots.a1.hook.url, "subject": "Huddle",
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "targets": [{"identity": {"user": {"id": USER_A}}}, {"identity": {"user": {"id": AGENT}}}]});
    let created = bots.post(&bots.a1, "/communications/calls", body).await;
    assert_eq!(created.status(), 201);
    let call = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for page in [&user, &agent] {
        phones.wait_state(page, "ringing");
        phones.eval(page, "softphone.answer()");
        phones.wait_state(page, "connected");
    }
    eventually("three in the roster", || roster(&bots.a1, &call).len() == 3).await;
    let user_participant = roster(&bots.a1, &call)
        .iter()
        .find(|p| p["info"]["identity"]["user"]["id"] == USER_A)
        .and_then(|p| p["id"].as_str().map(str::to_owned))
        .expect("the user in the roster");
    phones.wait_for_audio(&user);
    phones.wait_for_audio(&agent);
    std::thread::sleep(Duration::from_millis(500));
    let hears = phones.inbound_dbfs(&agent, Duration::from_millis(1500));
    assert!(
        hears.is_some_and(|db| db > -45.0),
        "the agent hears {hears:?}"
    );

    // The bot invites a second bot, which answers, plays a prompt both people hear (their own
    // microphones muted, so only the prompt is left), and gets the user's key with the user's
    // participant id.
    let invite = json!({"participants": [{"identity": {"application": {"id": APP_A2}}}]});
    let invited = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{call}/participants/invite"),
            invite,
        )
        .await;
    assert_eq!(invited.status(), 200);
    let second = call_id(&nth_incoming(&bots.a2, 0).await);
    bots.answer(&bots.a2, &second).await;
    wait_for(&bots.a2.hook, |n| is_state(n, &second, "established")).await;
    let subscribe = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{second}/subscribeToTone"),
            json!({}),
        )
        .await;
    assert_eq!(subscribe.status(), 200);
    for page in [&user, &agent] {
        assert_eq!(phones.eval(page, "softphone.toggleMute()"), true);
    }
    std::thread::sleep(Duration::from_millis(500));
    let quiet = phones.inbound_dbfs(&user, Duration::from_millis(1000));
    assert!(quiet.is_none_or(|db| db < -50.0), "not quiet: {quiet:?}");
    let play = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{second}/playPrompt"),
            json!({"prompts": [{"mediaInfo": {"uri": prompts.url("/speech.wav")}}]}),
        )
        .await;
    assert_eq!(play.status(), 200);
    std::thread::sleep(Duration::from_millis(700));
    for page in [&user, &agent] {
        let prompt = phones.inbound_dbfs(page, Duration::from_millis(1500));
        println!("group call: a page hears the invited bot's prompt at {prompt:?} dBFS");
        assert!(
            prompt.is_some_and(|db| db > -40.0),
            "prompt not heard: {prompt:?}"
        );
    }
    phones.eval(&user, "softphone.toggleMute()");
    phones.eval(&user, "softphone.press('5')");
    eventually("the key at the invited bot", || {
        !tones(&bots.a2, &second).is_empty()
    })
    .await;
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        tones(&bots.a2, &second),
        [("tone5".to_owned(), user_participant)]
    );
}
