//! Reminder calls end to end: scheduled with `POST /v1.0/communications/reminders`, kept in
//! SQLite across a restart, placed as the scheduling app, the prompt heard by the callee (real
//! audio), retried exactly per the policy, and the final outcome POSTed and readable with GET.

mod bot_support;
mod calls_support;
mod media_support;
mod support;

use std::path::Path;
use std::time::Duration;

use bot_support::*;
use calls_support::*;
use serde_json::{Value, json};
use support::*;

const PROMPTS: [(&str, f64); 1] = [("reminder", 450.0)];

/// A server with webhooks for A1, A2 and B1, reusing `data_dir` (so it can be restarted).
async fn start(data_dir: &Path, prompts: &Path, hooks: [Webhook; 3], env: &[(&str, &str)]) -> Bots {
    let media = format!(
        "[media]\nworkers = 1\n\n[media.prompts]\ndir = \"{}\"\n",
        prompts.display()
    );
    Bots::start_with(hooks, &media, env, Some(data_dir.to_owned())).await
}

fn reminder_body(delay_secs: u64, retry: Value) -> Value {
    json!({
        "target": {"identity": {"application": {"id": APP_A2, "displayName": "Bot A2"}}},
        "delayInSeconds": delay_secs,
        "prompts": [{"@odata.type": "#microsoft.graph.mediaPrompt",
                     "mediaInfo": {"resourceId": "reminder"}}],
        "retry": retry,
        "clientContext": "dentist",
    })
}

async fn schedule(bots: &Bots, body: Value) -> Value {
    let response = bots.post(&bots.a1, "/communications/reminders", body).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let reminder: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{reminder}");
    let id = reminder["id"].as_str().unwrap();
    assert!(
        location.is_some_and(|l| l.ends_with(&format!("/v1.0/communications/reminders/{id}"))),
        "Location header"
    );
    assert_eq!(reminder["status"], "scheduled");
    reminder
}

/// The final outcome notification of reminder `id` at A1.
async fn outcome(bots: &Bots, id: &str, timeout: Duration) -> Value {
    let url = format!("/communications/reminders/{id}");
    wait_long(&bots.a1.hook, timeout, "reminder outcome", |n| {
        n["resourceUrl"] == url && n["changeType"] == "deleted"
    })
    .await["resourceData"]
        .clone()
}

fn incoming(hook: &Webhook) -> Vec<Value> {
    hook.notifications()
        .into_iter()
        .filter(|n| n["changeType"] == "created")
        .collect()
}

#[tokio::test]
async fn a_restart_between_scheduling_and_the_due_time_still_delivers_the_reminder() {
    let data = tempfile::tempdir().unwrap();
    let prompts = tempfile::tempdir().unwrap();
    write_tone(prompts.path(), "reminder", 450.0, 1.5);
    let bots = start(data.path(), prompts.path(), Bots::hooks().await, &[]).await;
    let reminder = schedule(&bots, reminder_body(5, json!({"maxAttempts": 1}))).await;
    let id = reminder["id"].as_str().unwrap().to_owned();

    // Stop before it is due, and start again on the same data directory.
    let Bots {
        mut server,
        a1,
        a2,
        b1,
    } = bots;
    assert!(
        server.terminate(Duration::from_secs(20)).is_some(),
        "server stops"
    );
    drop(server);
    assert!(incoming(&a2.hook).is_empty(), "no call before the restart");
    let bots = start(
        data.path(),
        prompts.path(),
        [a1.hook, a2.hook, b1.hook],
        &[],
    )
    .await;

    // A2 is called, answers, and hears the reminder prompt; the reminder hangs up.
    let created = wait_long(
        &bots.a2.hook,
        Duration::from_secs(30),
        "reminder call",
        |n| n["changeType"] == "created",
    )
    .await;
    assert_eq!(
        created["resourceData"]["source"]["identity"]["application"]["id"], APP_A1,
        "the reminder calls as the app that scheduled it: {created}"
    );
    let call = created["resourceData"]["id"].as_str().unwrap().to_owned();
    bots.answer(&bots.a2, &call).await;
    wait_for(&bots.a2.hook, |n| is_state(n, &call, "established")).await;
    let op = start_recording(&bots, &bots.a2, &call, 5, 1).await;
    let (pcm, rate) = recorded(&bots, &bots.a2, &call, &op).await;
    assert_eq!(heard(&pcm, rate, &PROMPTS), ["reminder"]);

    let done = outcome(&bots, &id, Duration::from_secs(20)).await;
    assert_eq!(done["status"], "delivered", "{done}");
    assert_eq!(done["clientContext"], "dentist");
    let attempts = done["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{done}");
    assert_eq!(attempts[0]["outcome"], "answered");
    let read: Value = bots
        .get(&bots.a1, &format!("/communications/reminders/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "delivered", "{read}");
    // Another app does not see it.
    let foreign = bots
        .get(&bots.a2, &format!("/communications/reminders/{id}"))
        .await;
    expect_graph_error(foreign, 404, "itemNotFound").await;
}

#[tokio::test]
async fn an_unanswered_reminder_is_retried_exactly_as_configured() {
    let data = tempfile::tempdir().unwrap();
    let prompts = tempfile::tempdir().unwrap();
    write_tone(prompts.path(), "reminder", 450.0, 1.0);
    // A2 never answers; its answer window is 1.5 s instead of Graph's 15 s.
    let bots = start(
        data.path(),
        prompts.path(),
        Bots::hooks().await,
        &[("SWITCHBOARD_CALLS__ANSWER_TIMEOUT_MS", "1500")],
    )
    .await;
    let reminder = schedule(
        &bots,
        reminder_body(
            1,
            json!({"maxAttempts": 3, "delayInSeconds": 2, "retryOn": ["noAnswer"]}),
        ),
    )
    .await;
    let id = reminder["id"].as_str().unwrap();
    let done = outcome(&bots, id, Duration::from_secs(40)).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["nextAttemptDateTime"].is_null(), "{done}");
    let attempts = done["attempts"].as_array().unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["noAnswer", "noAnswer", "noAnswer"], "{done}");
    // Each retry waited at least the configured 2 s after the previous call ended (1.5 s ring).
    let starts: Vec<jiff::Timestamp> = attempts
        .iter()
        .map(|a| a["startDateTime"].as_str().unwrap().parse().unwrap())
        .collect();
    for pair in starts.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap >= jiff::SignedDuration::from_millis(3400),
            "gap {gap:?}"
        );
    }
    // Each attempt that was to be retried was reported as an update first.
    let updates: Vec<Value> = bots
        .a1
        .hook
        .notifications()
        .into_iter()
        .filter(|n| {
            n["resourceUrl"] == format!("/communications/reminders/{id}")
                && n["changeType"] == "updated"
        })
        .collect();
    let retries: Vec<usize> = updates
        .iter()
        .map(|n| n["resourceData"]["attempts"].as_array().unwrap().len())
        .collect();
    assert_eq!(retries, [1, 2], "{updates:#?}");
    assert!(
        updates
            .iter()
            .all(|n| n["resourceData"]["status"] == "scheduled")
    );
    // Exactly three calls reached A2, and no more follow.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(incoming(&bots.a2.hook).len(), 3);

    // An outcome the policy does not name is not retried: A2 answers busy.
    let reminder = schedule(
        &bots,
        reminder_body(
            0,
            json!({"maxAttempts": 3, "delayInSeconds": 1, "retryOn": ["noAnswer"]}),
        ),
    )
    .await;
    let id = reminder["id"].as_str().unwrap();
    wait_long(
        &bots.a2.hook,
        Duration::from_secs(10),
        "the busy call",
        |_| incoming(&bots.a2.hook).len() == 4,
    )
    .await;
    let last = incoming(&bots.a2.hook).pop().unwrap();
    let call = last["resourceData"]["id"].as_str().unwrap().to_owned();
    let response = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{call}/reject"),
            json!({"reason": "busy"}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let done = outcome(&bots, id, Duration::from_secs(20)).await;
    assert_eq!(done["status"], "failed", "{done}");
    let attempts = done["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{done}");
    assert_eq!(attempts[0]["outcome"], "busy");

    // Bad requests say what is allowed; list shows both reminders.
    let bad = bots
        .post(
            &bots.a1,
            "/communications/reminders",
            reminder_body(1, json!({"maxAttempts": 11})),
        )
        .await;
    let body = expect_graph_error(bad, 400, "invalidRequest").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 10"),
        "{body}"
    );
    let list: Value = bots
        .get(&bots.a1, "/communications/reminders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["value"].as_array().unwrap().len(), 2, "{list}");

    // A scheduled reminder can be cancelled, once.
    let later = schedule(&bots, reminder_body(3600, json!({"maxAttempts": 1}))).await;
    let path = format!(
        "/communications/reminders/{}",
        later["id"].as_str().unwrap()
    );
    assert_eq!(bots.delete(&bots.a1, &path).await.status(), 204);
    let read: Value = bots.get(&bots.a1, &path).await.json().await.unwrap();
    assert_eq!(read["status"], "cancelled", "{read}");
    let again = bots.delete(&bots.a1, &path).await;
    let body = expect_graph_error(again, 400, "invalidRequest").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled"),
        "{body}"
    );
}
