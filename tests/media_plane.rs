//! The media plane against the running server over HTTP: two bots exchanging real audio (a
//! prompt and in-band keys that the other bot detects and records), prompt-fetching limits with
//! their messages, recording access and lifetime, cancelMediaProcessing, and worker metrics.

mod calls_support;
mod media_support;
mod support;

use std::time::Duration;

use calls_support::*;
use media_support::*;
use serde_json::{Value, json};
use support::*;

/// Loopback prompts allowed (the prompt server is on 127.0.0.1), tight fetch limits, two workers.
fn media_config(prompts_dir: &std::path::Path, ttl_secs: u32) -> String {
    format!(
        r#"
[media]
workers = 2
recording_ttl_secs = {ttl_secs}

[media.prompts]
allow_private_addresses = true
max_bytes = 200000
fetch_timeout_ms = 1500
dir = "{}"
"#,
        prompts_dir.display()
    )
}

fn operation_id(op: &Value) -> String {
    op["id"].as_str().expect("operation id").to_owned()
}

async fn start_op(bots: &Bots, bot: &Bot, call: &str, action: &str, body: Value) -> String {
    let response = bots
        .post(bot, &format!("/communications/calls/{call}/{action}"), body)
        .await;
    let status = response.status();
    let op: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{action}: {op}");
    operation_id(&op)
}

/// Waits for the `deleted` notification that ends operation `op` of `call`.
async fn finished(hook: &Webhook, call: &str, op: &str) -> Value {
    let n = wait_for(hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{call}/operations/{op}")
            && n["changeType"] == "deleted"
    })
    .await;
    n["resourceData"].clone()
}

fn prompt(uri: &str) -> Value {
    json!({"prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                        "mediaInfo": {"uri": uri, "resourceId": "vm-intro"}}]})
}

#[tokio::test]
async fn two_bots_exchange_a_prompt_and_keys_and_b_records_what_a_played() {
    let dir = tempfile::tempdir().unwrap();
    let bots = Bots::start(&media_config(dir.path(), 60), &[]).await;
    let prompts = PromptServer::start().await;
    let (a, b) = bots.established().await;

    // B listens: tones, and a recording that ends on '#'.
    start_op(
        &bots,
        &bots.a2,
        &b,
        "subscribeToTone",
        json!({"clientContext": "tones"}),
    )
    .await;
    let rec = start_op(
        &bots,
        &bots.a2,
        &b,
        "recordResponse",
        json!({"maxRecordDurationInSeconds": 20, "initialSilenceTimeoutInSeconds": 10,
               "maxSilenceTimeoutInSeconds": 5, "playBeep": false, "stopTones": ["#"]}),
    )
    .await;
    // A speaks, then presses keys (in-band, as audio).
    let play = start_op(
        &bots,
        &bots.a1,
        &a,
        "playPrompt",
        prompt(&prompts.url("/speech.wav")),
    )
    .await;
    let keys = start_op(
        &bots,
        &bots.a1,
        &a,
        "sendDtmfTones",
        json!({"tones": ["tone1", "tone2", "tone3", "pound"], "delayBetweenTonesMs": 150}),
    )
    .await;

    let played = finished(&bots.a1.hook, &a, &play).await;
    assert_eq!(played["status"], "completed", "{played}");
    assert_eq!(played["resultInfo"]["code"], 200);
    let sent = finished(&bots.a1.hook, &a, &keys).await;
    assert_eq!(sent["status"], "completed", "{sent}");
    let recorded = finished(&bots.a2.hook, &b, &rec).await;
    assert_eq!(recorded["status"], "completed", "{recorded}");
    assert!(
        recorded["resultInfo"]["message"]
            .as_str()
            .unwrap()
            .contains("stop tone"),
        "{recorded}"
    );

    // B heard exactly A's keys, each attributed to A's participant.
    let roster: Value = bots
        .get(&bots.a2, &format!("/communications/calls/{b}/participants"))
        .await
        .json()
        .await
        .unwrap();
    let a_participant = roster["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["info"]["identity"]["application"]["id"] == APP_A1)
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("A in B's roster: {roster}"));
    let tones: Vec<(String, String)> = bots
        .a2
        .hook
        .notifications()
        .iter()
        .filter(|n| n["resourceData"]["toneInfo"].is_object())
        .map(|n| {
            let info = &n["resourceData"]["toneInfo"];
            (
                info["tone"].as_str().unwrap().to_owned(),
                info["participantId"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = ["tone1", "tone2", "tone3", "pound"]
        .iter()
        .map(|t| (t.to_string(), a_participant.clone()))
        .collect();
    assert_eq!(tones, expected);
    assert!(
        !bots
            .a1
            .hook
            .notifications()
            .iter()
            .any(|n| n["resourceData"]["toneInfo"].is_object()),
        "A did not subscribe and hears no keys"
    );

    // The recording: only with its token, and it is A's prompt.
    let location = recorded["recordingLocation"].as_str().unwrap().to_owned();
    let token = recorded["recordingAccessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = &bots.server.http;
    assert_eq!(http.get(&location).send().await.unwrap().status(), 401);
    let wrong = http
        .get(&location)
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let response = http
        .get(&location)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let wav = response.bytes().await.unwrap();
    let (samples, rate) = read_wav(&wav);
    assert_eq!(rate, 16_000);
    let (prompt_samples, prompt_rate) = read_wav(&std::fs::read(SPEECH).unwrap());
    let seconds = samples.len() as f64 / f64::from(rate);
    assert!(
        seconds > 5.65,
        "the recording is {seconds:.2} s; the prompt alone is 5.65 s"
    );
    let level = rms_dbfs(&samples);
    assert!(
        level > -40.0,
        "the recording carries sound ({level:.1} dBFS)"
    );
    let r = best_correlation(
        &envelope(&samples, rate),
        &envelope(&prompt_samples, prompt_rate),
    );
    eprintln!(
        "B's recording: {seconds:.2} s, {level:.1} dBFS, envelope correlation with A's prompt {r:.3}"
    );
    assert!(
        r > 0.8,
        "the recording's envelope follows A's prompt (correlation {r:.3})"
    );

    // A hangs up: both legs end with the documented codes, and B's recording goes with B's call.
    assert_eq!(
        bots.delete(&bots.a1, &format!("/communications/calls/{a}"))
            .await
            .status(),
        204
    );
    let a_end = wait_for(&bots.a1.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{a}") && n["changeType"] == "deleted"
    })
    .await;
    assert_eq!(a_end["resourceData"]["state"], "terminated");
    assert_eq!(a_end["resourceData"]["resultInfo"]["subcode"], 5001);
    let b_end = wait_for(&bots.a2.hook, |n| {
        n["resourceUrl"] == format!("/communications/calls/{b}") && n["changeType"] == "deleted"
    })
    .await;
    assert_eq!(b_end["resourceData"]["state"], "terminated");
    assert_eq!(b_end["resourceData"]["resultInfo"]["code"], 200);
    assert_eq!(b_end["resourceData"]["resultInfo"]["subcode"], 4521);
    let mut gone = false;
    for _ in 0..40 {
        let status = http
            .get(&location)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status();
        if status == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the recording is deleted when its call ends");

    // The workers' metrics are published.
    let mut metrics = String::new();
    for _ in 0..30 {
        metrics = http
            .get(bots.server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("switchboard_media_ticks_total") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for name in [
        "switchboard_media_ticks_total",
        "switchboard_media_late_ticks_total",
        "switchboard_media_command_queue_full_total",
        "switchboard_media_tick_max_seconds",
        "switchboard_media_legs",
    ] {
        assert!(
            metrics.contains(name),
            "{name} missing from /metrics:\n{metrics}"
        );
    }
}

/// Plays `body` on A's call and returns the finished operation.
async fn play_and_wait(bots: &Bots, call: &str, body: Value) -> Value {
    let op = start_op(bots, &bots.a1, call, "playPrompt", body).await;
    finished(&bots.a1.hook, call, &op).await
}

fn failure_message(op: &Value) -> String {
    assert_eq!(op["status"], "failed", "{op}");
    assert_eq!(op["resultInfo"]["code"], 400, "{op}");
    op["resultInfo"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn prompt_fetching_limits_fail_the_operation_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(SPEECH, dir.path().join("greeting.wav")).unwrap();
    let bots = Bots::start(&media_config(dir.path(), 60), &[]).await;
    let prompts = PromptServer::start().await;
    let (a, _b) = bots.established().await;

    let cases = [
        (
            "/big.wav",
            "300000 bytes; prompts may be at most 200000 bytes",
        ),
        ("/slow.wav", "no complete response within 1500 ms"),
        ("/text.wav", "is not usable audio"),
        ("/rate7000.wav", "sample rate is 7000 Hz; allowed: 8000"),
        ("/missing.wav", "HTTP 404 Not Found"),
    ];
    for (path, expected) in cases {
        let uri = prompts.url(path);
        let op = play_and_wait(&bots, &a, json!({"prompts": [{"mediaInfo": {"uri": uri}}]})).await;
        let message = failure_message(&op);
        eprintln!("{message}");
        assert!(message.contains(expected), "{path}: {message}");
        assert!(message.contains("prompts[0]"), "{path}: {message}");
    }

    // A prompt from the configured folder, by resourceId; then one that is not there.
    let ok = play_and_wait(
        &bots,
        &a,
        json!({"prompts": [{"mediaInfo": {"resourceId": "greeting"}}]}),
    )
    .await;
    assert_eq!(ok["status"], "completed", "{ok}");
    let missing = play_and_wait(
        &bots,
        &a,
        json!({"prompts": [{"mediaInfo": {"resourceId": "nope"}}]}),
    )
    .await;
    assert!(
        failure_message(&missing).contains("no file 'nope' or 'nope.wav'"),
        "{missing}"
    );
    let sneaky = play_and_wait(
        &bots,
        &a,
        json!({"prompts": [{"mediaInfo": {"resourceId": "../greeting"}}]}),
    )
    .await;
    assert!(
        failure_message(&sneaky).contains("is not a file name"),
        "{sneaky}"
    );

    // The second prompt of a list is named when it is the bad one.
    let second = play_and_wait(
        &bots,
        &a,
        json!({"prompts": [{"mediaInfo": {"resourceId": "greeting"}},
                           {"mediaInfo": {"uri": prompts.url("/text.wav")}}]}),
    )
    .await;
    assert!(failure_message(&second).contains("prompts[1]"), "{second}");
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let bots = Bots::start("[media]\nworkers = 1\n", &[]).await;
    let prompts = PromptServer::start().await;
    let (a, _b) = bots.established().await;
    let port = prompts.base.rsplit(':').next().unwrap().to_owned();
    for (uri, expected) in [
        (
            prompts.url("/speech.wav"),
            "127.0.0.1 is a loopback address",
        ),
        (
            format!("http://localhost:{port}/speech.wav"),
            "localhost resolves to",
        ),
        (
            format!("http://[::1]:{port}/speech.wav"),
            "a loopback address",
        ),
        ("http://10.1.2.3/x.wav".to_owned(), "a private address"),
        (
            "http://169.254.169.254/latest".to_owned(),
            "a link-local address",
        ),
    ] {
        let op = play_and_wait(&bots, &a, json!({"prompts": [{"mediaInfo": {"uri": uri}}]})).await;
        let message = failure_message(&op);
        assert!(message.contains(expected), "{uri}: {message}");
        assert!(
            message.contains("allow_private_addresses"),
            "{uri}: {message}"
        );
    }
}

#[tokio::test]
async fn recordings_expire_after_their_ttl_and_cancel_ends_running_operations() {
    let dir = tempfile::tempdir().unwrap();
    let bots = Bots::start(&media_config(dir.path(), 2), &[]).await;
    let prompts = PromptServer::start().await;
    let (a, b) = bots.established().await;

    // A short recording of silence ends at its maximum and is downloadable, then expires.
    let rec = start_op(
        &bots,
        &bots.a2,
        &b,
        "recordResponse",
        json!({"maxRecordDurationInSeconds": 1, "initialSilenceTimeoutInSeconds": 5, "playBeep": true}),
    )
    .await;
    let recorded = finished(&bots.a2.hook, &b, &rec).await;
    assert_eq!(recorded["resultInfo"]["subcode"], 8515, "{recorded}");
    let location = recorded["recordingLocation"].as_str().unwrap().to_owned();
    let token = recorded["recordingAccessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = &bots.server.http;
    assert_eq!(
        http.get(&location)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let expired = http
        .get(&location)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 404);
    let body: Value = expired.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("kept for 2 s"),
        "{body}"
    );

    // cancelMediaProcessing: the running prompt and the queued keys end as cancelled, once each.
    let play = start_op(
        &bots,
        &bots.a1,
        &a,
        "playPrompt",
        prompt(&prompts.url("/speech.wav")),
    )
    .await;
    let keys = start_op(
        &bots,
        &bots.a1,
        &a,
        "sendDtmfTones",
        json!({"tones": ["tone9"]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cancel = start_op(&bots, &bots.a1, &a, "cancelMediaProcessing", json!({})).await;
    assert!(!cancel.is_empty());
    for op in [&play, &keys] {
        let done = finished(&bots.a1.hook, &a, op).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["completionReason"], "mediaOperationCanceled", "{done}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ends = bots
        .a1
        .hook
        .notifications()
        .iter()
        .filter(|n| {
            n["changeType"] == "deleted"
                && n["resourceUrl"]
                    .as_str()
                    .unwrap_or("")
                    .contains("/operations/")
        })
        .count();
    assert_eq!(ends, 2, "one end per cancelled operation");
}
