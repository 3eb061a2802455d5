//! The README's demo walkthrough with people in headless Chromium on the real softphone page and
//! real audio: a demo user calls the built-in Front Desk, hears the welcome, presses 1 on the
//! keypad (RFC 4733) and is transferred to an agent signed in on a second page, and the two hear
//! each other; a caller on the desk's block list sees the rejection on the page; pressing 3 gets
//! a reminder call that rings the caller's page back.

mod calls_support;
mod softphone_support;
mod support;

use std::time::Duration;

use softphone_support::*;
use support::browser::Page;
use support::*;

const FRONT_DESK: &str = "00000000-0000-4000-8000-0000000f0de5";
const ALICE: &str = "00000000-0000-4000-8000-00000000a11c";
const BOB: &str = "00000000-0000-4000-8000-00000000b0b0";

/// The demo's flow as the binary runs it.
const DEMO_FLOW: &str = include_str!("../examples/demo.toml");

/// A browser on this machine reaches the media plane only through loopback candidates.
const LOOPBACK_ICE: (&str, &str) = ("SWITCHBOARD_MEDIA__WEBRTC__ADVERTISE_LOOPBACK", "true");

/// Waits for the page to connect with the Front Desk, then asserts its speech is heard.
fn hears_the_desk(phones: &mut Phones, page: &Page, what: &str) {
    phones.wait(
        page,
        &format!("softphone.state === 'connected' && softphone.peer.id === '{FRONT_DESK}'"),
    );
    phones.wait_for_audio(page);
    let level = phones.inbound_dbfs(page, Duration::from_millis(2000));
    println!("{what}: {level:?} dBFS");
    assert!(
        level.is_some_and(|db| db > -40.0),
        "{what} not heard: {level:?}"
    );
}

/// A value of the server's Prometheus page (the first series of `name`), 0 when absent.
async fn metric(server: &Server, name: &str) -> f64 {
    let text = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_walkthrough_press_1_reaches_an_agent_on_a_second_page() {
    // `switchboard serve` with no configuration at all: the demo directory and the Front Desk.
    let server = Server::start(ServerOptions {
        env: vec![(LOOPBACK_ICE.0.into(), LOOPBACK_ICE.1.into())],
        ..Default::default()
    });
    assert!(
        server.wait_for_output("Try it: open", Duration::from_secs(10)),
        "{}",
        server.output()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut phones = Phones::launch(&server, Some(voice_microphone(dir.path())));
    let caller = phones.signed_in("/", BOB);
    let agent = phones.signed_in("/", ALICE);

    phones.eval(
        &caller,
        &format!("softphone.callTarget('application', '{FRONT_DESK}')"),
    );
    hears_the_desk(&mut phones, &caller, "caller hears the welcome");
    let calls_with_the_desk = metric(&server, "switchboard_active_calls").await;

    // Key 1 on the keypad (RFC 4733): "connecting you", then the transfer rings Alice's page.
    phones.eval(&caller, "softphone.press('1')");
    phones.wait_state(&agent, "ringing");
    assert_eq!(phones.eval(&agent, "softphone.incoming.caller.id"), BOB);
    phones.eval(&agent, "softphone.answer()");
    phones.wait_state(&agent, "connected");
    phones.wait(
        &caller,
        &format!("softphone.state === 'connected' && softphone.peer.id === '{ALICE}'"),
    );
    phones.wait_for_audio(&agent);
    std::thread::sleep(Duration::from_millis(500));
    // Chromium's noise suppression damps the steady tone well below its -13 dBFS, but silence
    // measures -120 dBFS: -45 dBFS separates them with a wide margin.
    let agent_hears = phones.inbound_dbfs(&agent, Duration::from_millis(1500));
    let caller_hears = phones.inbound_dbfs(&caller, Duration::from_millis(1500));
    println!("after the transfer: agent hears {agent_hears:?} dBFS, caller {caller_hears:?} dBFS");
    assert!(
        agent_hears.is_some_and(|db| db > -45.0),
        "agent hears {agent_hears:?}"
    );
    assert!(
        caller_hears.is_some_and(|db| db > -45.0),
        "caller hears {caller_hears:?}"
    );

    // The desk's leg is gone: `switchboard_active_calls` counts the calls admitted for apps (a
    // call between two people is not one), so the desk's call was the only one and has ended.
    let after = metric(&server, "switchboard_active_calls").await;
    println!("active calls: {calls_with_the_desk} with the desk, {after} after the transfer");
    assert_eq!(
        (calls_with_the_desk, after),
        (1.0, 0.0),
        "active calls with the desk, then after the transfer"
    );

    phones.eval(&caller, "softphone.hangUp()");
    phones.wait_state(&agent, "ended");
}

/// The demo flow with Alice on the block list and the reminder due after `after_secs`; prompts
/// from the repository's `assets/prompts`. The reminder must ring after the desk has hung up
/// (about 7 s after key 3: confirmation, goodbye, 2 s of quiet), as a busy page declines it.
fn demo_config(after_secs: u32) -> String {
    let flow = DEMO_FLOW.replace(
        "remind = { after_secs = 30,",
        &format!("remind = {{ after_secs = {after_secs},"),
    );
    assert_ne!(
        flow, DEMO_FLOW,
        "examples/demo.toml no longer has its reminder line"
    );
    format!(
        r#"
[media.webrtc]
advertise_loopback = true

[media.prompts]
dir = "{prompts}/assets/prompts"

{flow}

[bots.rules]
block = ["user:{ALICE}"]
block_reason = "forbidden"
"#,
        prompts = env!("CARGO_MANIFEST_DIR"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_blocked_caller_sees_the_rejection_and_key_3_rings_the_page_back() {
    let server = Server::start_with_config(&demo_config(12));
    let dir = tempfile::tempdir().unwrap();
    let mut phones = Phones::launch(&server, Some(voice_microphone(dir.path())));
    let blocked = phones.signed_in("/", ALICE);
    let caller = phones.signed_in("/", BOB);

    // Block list: Alice's call is rejected at once; her page shows it.
    phones.eval(
        &blocked,
        &format!("softphone.callTarget('application', '{FRONT_DESK}')"),
    );
    phones.wait_state(&blocked, "ended");
    assert_eq!(phones.ended_with(&blocked), (480, 10076));
    let reason = phones.eval(&blocked, "softphone.lastEnded.reason");
    assert!(
        reason.as_str().is_some_and(|r| r.contains("forbidden")),
        "{reason}"
    );

    // Key 3: the desk schedules a reminder, confirms and hangs up; the page rings again later.
    phones.eval(
        &caller,
        &format!("softphone.callTarget('application', '{FRONT_DESK}')"),
    );
    hears_the_desk(&mut phones, &caller, "caller hears the welcome");
    phones.eval(&caller, "softphone.press('3')");
    phones.wait_state(&caller, "ended");
    assert_eq!(phones.ended_with(&caller).0, 200);
    phones.wait_state(&caller, "ringing");
    assert_eq!(
        phones.eval(&caller, "softphone.incoming.caller.id"),
        FRONT_DESK
    );
    phones.eval(&caller, "softphone.answer()");
    hears_the_desk(&mut phones, &caller, "caller hears the reminder");
    phones.wait_state(&caller, "ended");
    assert_eq!(phones.ended_with(&caller).0, 200);
}
