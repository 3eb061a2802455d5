//! End to end with people in headless Chromium on the real softphone page: a user calls a bot
//! (reject, answer, redirect to an agent), a bot calls a user (ringing, unanswered, declined),
//! the IVR path (prompt heard, keypad digits, transfer to an agent with two-way audio), and
//! in-band DTMF from the fake microphone.

mod calls_support;
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
    println!("user → bot: established after {:?}", clicked.elapsed());
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
