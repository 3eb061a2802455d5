//! Built-in bots end to end: flows from the server's TOML answer calls placed by external bots
//! over the HTTP API, with real audio through the media plane. The prompts are pure tones, so
//! each test reads back from a recording which prompts the caller heard, in which order.
//!
//! - front desk: a blocked caller is rejected; outside office hours the call is redirected to a
//!   configured agent (an app, which answers; a user signed in nowhere, which cannot); otherwise
//!   it is answered and the prompt is heard;
//! - IVR: welcome, menu, an invalid key and a timeout each re-prompt, key 1 tries an agent who
//!   declines, the fallback records a message, the analysis service's `{"intent":"billing"}`
//!   picks the billing prompt, goodbye, the bot hangs up;
//! - a slow analysis service times out into the fallback branch;
//! - invalid flows stop start-up with file, line and reason.
//!
//! A recording that the other side's hang-up cuts off is dropped by the media plane, so the test
//! flows linger three seconds (a one-key menu that times out) before hanging up, long enough for
//! the caller's recording to end on silence.

mod bot_support;
mod calls_support;
mod media_support;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bot_support::*;
use calls_support::*;
use serde_json::{Value, json};
use support::*;

const DESK: &str = "f0000000-0000-4000-8000-0000000000d1";
const CLOSED_DESK: &str = "f0000000-0000-4000-8000-0000000000d2";
const IVR: &str = "f0000000-0000-4000-8000-0000000000d3";
const SLOW_IVR: &str = "f0000000-0000-4000-8000-0000000000d4";
const USER_DESK: &str = "f0000000-0000-4000-8000-0000000000d5";

/// Prompt names and their tone frequencies (clear of the DTMF frequencies).
const PROMPTS: [(&str, f64); 9] = [
    ("welcome", 400.0),
    ("menu", 550.0),
    ("invalid", 1900.0),
    ("no-input", 2200.0),
    ("connecting", 2500.0),
    ("leave", 2800.0),
    ("billing", 3100.0),
    ("fallback", 3400.0),
    ("goodbye", 320.0),
];

/// A loopback speech-analysis service: answers `answer` after `delay`, and keeps each body.
struct AnalysisService {
    url: String,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl AnalysisService {
    async fn start(answer: Value, delay: Duration) -> AnalysisService {
        let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let kept = Arc::clone(&bodies);
        let app = axum::Router::new().route(
            "/analyse",
            axum::routing::post(move |body: axum::body::Bytes| {
                let kept = Arc::clone(&kept);
                let answer = answer.clone();
                async move {
                    kept.lock().unwrap().push(body.to_vec());
                    tokio::time::sleep(delay).await;
                    axum::Json(answer)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        AnalysisService {
            url: format!("http://127.0.0.1:{port}/analyse"),
            bodies,
            task,
        }
    }
}

impl Drop for AnalysisService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An office-hours window that does not contain the current UTC time.
fn closed_now_hours() -> String {
    let hour = (support::unix_now() / 3600 + 2) % 24;
    format!("daily {hour:02}:00-{:02}:00", (hour + 1) % 24)
}

fn flows(prompts: &std::path::Path, good: &str, slow: &str) -> String {
    let prompt_table: String = PROMPTS
        .iter()
        .map(|(name, _)| format!("{name} = \"{name}\"\n"))
        .collect();
    format!(
        r#"
[media]
workers = 1

[media.prompts]
dir = "{dir}"

[[analysis]]
name = "intent"
url = "{good}"
timeout_ms = 5000

[[analysis]]
name = "slow"
url = "{slow}"
timeout_ms = 1000

[[bots]]
id = "{DESK}"
name = "Desk"
tenant = "{TENANT_A}"
start = "hello"

[bots.rules]
block = ["app:{APP_A2}"]
block_reason = "forbidden"

[bots.prompts]
welcome = "welcome"

[bots.states.hello]
play = "welcome"
menu = {{ "0" = "end" }}
timeout_secs = 3
retries = 0
on_failure = "end"

[bots.states.end]
hangup = true

[[bots]]
id = "{CLOSED_DESK}"
name = "Closed Desk"
tenant = "{TENANT_A}"
start = "hello"

[bots.rules]
hours = ["{hours}"]
closed = {{ redirect = ["app:{APP_A2}"], timeout_secs = 20 }}

[bots.prompts]
welcome = "welcome"

[bots.states.hello]
play = "welcome"
menu = {{ "0" = "end" }}
timeout_secs = 3
retries = 0
on_failure = "end"

[bots.states.end]
hangup = true

[[bots]]
id = "{USER_DESK}"
name = "User Desk"
tenant = "{TENANT_A}"
start = "hello"

[bots.rules]
hours = ["{hours}"]
closed = {{ redirect = ["user:{USER_A}"], timeout_secs = 15 }}

[bots.prompts]
welcome = "welcome"

[bots.states.hello]
play = "welcome"
hangup = true

[[bots]]
id = "{IVR}"
name = "IVR"
tenant = "{TENANT_A}"
start = "welcome"

[bots.prompts]
{prompt_table}
[bots.states.welcome]
play = "welcome"
next = "menu"

[bots.states.menu]
play = "menu"
menu = {{ "1" = "agent", "2" = "message" }}
timeout_secs = 4
retries = 2
invalid_prompt = "invalid"
timeout_prompt = "no-input"
on_failure = "goodbye"

[bots.states.agent]
play = "connecting"
transfer = ["app:{APP_A2}"]
on_failure = "message"

[bots.states.message]
play = "leave"
record = {{ max_secs = 20, max_silence_secs = 1, initial_silence_secs = 10 }}
next = "analyse"
on_failure = "goodbye"

[bots.states.analyse]
analyse = "intent"
branch = [{{ if = "analysis.intent == 'billing'", goto = "billing" }}]
next = "goodbye"
on_failure = "fallback"

[bots.states.billing]
play = "billing"
next = "goodbye"

[bots.states.fallback]
play = "fallback"
next = "goodbye"

[bots.states.goodbye]
play = "goodbye"
menu = {{ "0" = "end" }}
timeout_secs = 3
retries = 0
on_failure = "end"

[bots.states.end]
hangup = true

[[bots]]
id = "{SLOW_IVR}"
name = "Slow IVR"
tenant = "{TENANT_A}"
start = "message"

[bots.prompts]
leave = "leave"
billing = "billing"
fallback = "fallback"
goodbye = "goodbye"

[bots.states.message]
play = "leave"
record = {{ max_secs = 20, max_silence_secs = 1, initial_silence_secs = 10 }}
next = "analyse"
on_failure = "goodbye"

[bots.states.analyse]
analyse = "slow"
branch = [{{ if = "analysis.intent == 'billing'", goto = "billing" }}]
next = "goodbye"
on_failure = "fallback"

[bots.states.billing]
play = "billing"
next = "goodbye"

[bots.states.fallback]
play = "fallback"
next = "goodbye"

[bots.states.goodbye]
play = "goodbye"
menu = {{ "0" = "end" }}
timeout_secs = 3
retries = 0
on_failure = "end"

[bots.states.end]
hangup = true
"#,
        dir = prompts.display(),
        hours = closed_now_hours(),
    )
}

struct Setup {
    bots: Bots,
    _prompts: tempfile::TempDir,
    good: AnalysisService,
    slow: AnalysisService,
}

impl Drop for Setup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("server output:\n{}", self.bots.server.output());
        }
    }
}

async fn setup() -> Setup {
    let prompts = tempfile::tempdir().unwrap();
    for (name, freq) in PROMPTS {
        write_tone(prompts.path(), name, freq, 1.0);
    }
    std::fs::copy(media_support::SPEECH, prompts.path().join("speech.wav")).unwrap();
    let good = AnalysisService::start(
        json!({"intent": "billing", "sentiment": "negative"}),
        Duration::ZERO,
    )
    .await;
    let slow = AnalysisService::start(json!({"intent": "billing"}), Duration::from_secs(4)).await;
    let bots = Bots::start(
        &flows(prompts.path(), &good.url, &slow.url),
        &[("SWITCHBOARD_LOG__FILTER", "info,switchboard::bots=debug")],
    )
    .await;
    Setup {
        bots,
        _prompts: prompts,
        good,
        slow,
    }
}

fn terminated(call: &str) -> impl Fn(&Value) -> bool + '_ {
    move |n| is_state(n, call, "terminated")
}

async fn send_key(bots: &Bots, bot: &Bot, call: &str, tone: &str) {
    let op = start_op(bots, bot, call, "sendDtmfTones", json!({"tones": [tone]})).await;
    let sent = finished(&bot.hook, call, &op, Duration::from_secs(10)).await;
    assert_eq!(sent["status"], "completed", "{sent}");
}

async fn speak(bots: &Bots, bot: &Bot, call: &str) {
    let op = start_op(
        bots,
        bot,
        call,
        "playPrompt",
        json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                            "mediaInfo": {"resourceId": "speech"}}]}),
    )
    .await;
    let played = finished(&bot.hook, call, &op, Duration::from_secs(20)).await;
    assert_eq!(played["status"], "completed", "{played}");
}

#[tokio::test]
async fn front_desk_rejects_blocked_callers_redirects_when_closed_and_answers_the_rest() {
    let s = setup().await;
    let bots = &s.bots;

    // A2 is on the block list: its call is rejected before any media.
    let blocked = bots.call_app(&bots.a2, DESK).await;
    let ended = wait_long(&bots.a2.hook, WAIT, "rejection", terminated(&blocked)).await;
    assert_eq!(ended["resourceData"]["resultInfo"]["code"], 480, "{ended}");
    assert_eq!(
        ended["resourceData"]["resultInfo"]["subcode"], 10076,
        "{ended}"
    );
    assert!(
        !call_log(&bots.a2.hook, &blocked)
            .iter()
            .any(|l| l.contains("established")),
        "{:?}",
        call_log(&bots.a2.hook, &blocked)
    );

    // A1 is not: answered, hears the welcome prompt, then the bot hangs up.
    let call = bots.call_app(&bots.a1, DESK).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;
    let heard = hear(bots, &bots.a1, &call, 5, 1, &PROMPTS).await;
    assert_eq!(heard, ["welcome"]);
    let ended = wait_long(&bots.a1.hook, WAIT, "hang-up", terminated(&call)).await;
    assert_eq!(ended["resourceData"]["resultInfo"]["code"], 200, "{ended}");

    // Outside office hours the closed desk redirects to A2, who answers and talks to A1.
    let call = bots.call_app(&bots.a1, CLOSED_DESK).await;
    let incoming = wait_long(&bots.a2.hook, WAIT, "redirected call", |n| {
        n["changeType"] == "created" && n["resourceData"]["id"] != blocked
    })
    .await;
    assert_eq!(
        incoming["resourceData"]["source"]["identity"]["application"]["id"], APP_A1,
        "the redirected call comes from the caller: {incoming}"
    );
    let agent_call = incoming["resourceData"]["id"].as_str().unwrap().to_owned();
    bots.answer(&bots.a2, &agent_call).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;
    let rec = start_recording(bots, &bots.a1, &call, 5, 1).await;
    start_op(
        bots,
        &bots.a2,
        &agent_call,
        "playPrompt",
        json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                            "mediaInfo": {"resourceId": "billing"}}]}),
    )
    .await;
    let (pcm, rate) = recorded(bots, &bots.a1, &call, &rec).await;
    assert_eq!(heard_prompts(&pcm, rate), ["billing"]);

    // Redirected to a user who is signed in nowhere: the caller's call ends with 480/10037.
    let call = bots.call_app(&bots.a1, USER_DESK).await;
    let ended = wait_long(
        &bots.a1.hook,
        WAIT,
        "end of the redirected call",
        terminated(&call),
    )
    .await;
    let info = &ended["resourceData"]["resultInfo"];
    assert_eq!(
        (info["code"].as_i64(), info["subcode"].as_i64()),
        (Some(480), Some(10037)),
        "{ended}"
    );
}

fn heard_prompts(pcm: &[i16], rate: u32) -> Vec<String> {
    heard(pcm, rate, &PROMPTS)
}

#[tokio::test]
async fn ivr_menu_reprompts_falls_back_to_a_message_and_branches_on_its_analysis() {
    let s = setup().await;
    let bots = &s.bots;
    let call = bots.call_app(&bots.a1, IVR).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;

    assert_eq!(
        hear(bots, &bots.a1, &call, 5, 1, &PROMPTS).await,
        ["welcome", "menu"]
    );
    // A key that is not on the menu: the invalid prompt, then the menu again.
    send_key(bots, &bots.a1, &call, "tone9").await;
    assert_eq!(
        hear(bots, &bots.a1, &call, 5, 1, &PROMPTS).await,
        ["invalid", "menu"]
    );
    // No key within 4 s: the no-input prompt, then the menu again.
    assert_eq!(
        hear(bots, &bots.a1, &call, 8, 1, &PROMPTS).await,
        ["no-input", "menu"]
    );

    // Key 1: "connecting", a transfer to A2, who declines; the flow falls back to a message.
    send_key(bots, &bots.a1, &call, "tone1").await;
    let rec = start_recording(bots, &bots.a1, &call, 5, 3).await;
    let transfer = wait_long(&bots.a2.hook, WAIT, "transfer to the agent", |n| {
        n["changeType"] == "created"
    })
    .await;
    let agent_call = transfer["resourceData"]["id"].as_str().unwrap();
    let response = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{agent_call}/reject"),
            json!({"reason": "busy"}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let (pcm, rate) = recorded(bots, &bots.a1, &call, &rec).await;
    assert_eq!(heard_prompts(&pcm, rate), ["connecting", "leave"]);

    // The caller speaks; the bot records it, the service says billing, the bot says so and ends.
    speak(bots, &bots.a1, &call).await;
    let rec = start_recording(bots, &bots.a1, &call, 10, 1).await;
    let (pcm, rate) = recorded(bots, &bots.a1, &call, &rec).await;
    assert_eq!(heard_prompts(&pcm, rate), ["billing", "goodbye"]);
    let ended = wait_long(&bots.a1.hook, WAIT, "hang-up", terminated(&call)).await;
    assert_eq!(ended["resourceData"]["resultInfo"]["code"], 200, "{ended}");

    // The service got the caller's speech as a WAV: its 5.65 s, the wait before it began and the
    // one second of silence that ended it.
    let bodies = s.good.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    let (clip, clip_rate) = media_support::read_wav(&bodies[0]);
    let seconds = clip.len() as f64 / f64::from(clip_rate);
    assert!((6.0..15.0).contains(&seconds), "clip of {seconds} s");
    assert!(
        media_support::rms_dbfs(&clip) > -40.0,
        "the clip holds speech"
    );
}

#[tokio::test]
async fn a_slow_analysis_service_times_out_into_the_fallback_branch() {
    let s = setup().await;
    let bots = &s.bots;
    let call = bots.call_app(&bots.a1, SLOW_IVR).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;
    assert_eq!(hear(bots, &bots.a1, &call, 5, 1, &PROMPTS).await, ["leave"]);
    speak(bots, &bots.a1, &call).await;
    let rec = start_recording(bots, &bots.a1, &call, 10, 1).await;
    let (pcm, rate) = recorded(bots, &bots.a1, &call, &rec).await;
    assert_eq!(heard_prompts(&pcm, rate), ["fallback", "goodbye"]);
    wait_long(&bots.a1.hook, WAIT, "hang-up", terminated(&call)).await;
    assert_eq!(
        s.slow.bodies.lock().unwrap().len(),
        1,
        "the service was asked"
    );
}

#[test]
fn invalid_flows_stop_start_up_with_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{STANDARD_CONFIG}\n[[bots]]\nid = \"{IVR}\"\nname = \"IVR\"\ntenant = \"{TENANT_A}\"\nstart = \"welcome\"\n\n[bots.states.welcome]\nmenu = {{ \"1\" = \"nowhere\" }}\nretries = 99\n"
    );
    let path = dir.path().join("bots.toml");
    std::fs::write(&path, &config).unwrap();
    let line_of = |needle: &str| config[..config.find(needle).unwrap()].matches('\n').count() + 1;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .env("SWITCHBOARD_HTTP__LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file = path.display().to_string();
    assert!(
        stderr.contains(&format!("{file}:{}:", line_of("menu = {")))
            && stderr.contains("'nowhere'"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{file}:{}:", line_of("retries = 99")))
            && stderr.contains("0 to 10"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
}

#[tokio::test]
async fn ivr_key_one_transfers_the_caller_to_an_agent_who_answers() {
    let s = setup().await;
    let bots = &s.bots;
    let call = bots.call_app(&bots.a1, IVR).await;
    wait_for(&bots.a1.hook, |n| is_state(n, &call, "established")).await;
    assert_eq!(
        hear(bots, &bots.a1, &call, 5, 1, &PROMPTS).await,
        ["welcome", "menu"]
    );
    send_key(bots, &bots.a1, &call, "tone1").await;

    // A2 gets the transferred call from the caller, answers, and the two talk.
    let incoming = wait_long(&bots.a2.hook, WAIT, "transferred call", |n| {
        n["changeType"] == "created"
    })
    .await;
    assert_eq!(
        incoming["resourceData"]["source"]["identity"]["application"]["id"], APP_A1,
        "{incoming}"
    );
    let agent_call = incoming["resourceData"]["id"].as_str().unwrap().to_owned();
    bots.answer(&bots.a2, &agent_call).await;
    wait_for(&bots.a2.hook, |n| is_state(n, &agent_call, "established")).await;
    let rec = start_recording(bots, &bots.a1, &call, 5, 1).await;
    start_op(
        bots,
        &bots.a2,
        &agent_call,
        "playPrompt",
        json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                            "mediaInfo": {"resourceId": "billing"}}]}),
    )
    .await;
    let (pcm, rate) = recorded(bots, &bots.a1, &call, &rec).await;
    // "connecting" may still be in the recording's first moments; the agent's voice must follow.
    let heard = heard_prompts(&pcm, rate);
    assert_eq!(
        heard.last().map(String::as_str),
        Some("billing"),
        "{heard:?}"
    );
    assert!(
        !call_log(&bots.a1.hook, &call)
            .iter()
            .any(|l| l.contains("terminated")),
        "the caller's call goes on with the agent: {:?}",
        call_log(&bots.a1.hook, &call)
    );
}
