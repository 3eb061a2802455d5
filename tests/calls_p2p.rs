//! Two apps calling each other over real HTTP: the incoming call at the callee's webhook,
//! answer, reject, redirect, transfer, hang-up, and the answer and keepAlive timeouts, with the
//! documented notifications in order on both sides.

mod calls_support;
mod support;

use std::time::Duration;

use calls_support::*;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn app_calls_app_which_answers_then_the_caller_hangs_up() {
    let bots = Bots::start("", &[]).await;
    let response = bots
        .post(
            &bots.a1,
            "/communications/calls",
            p2p_to_app(&bots.a1.hook.url, APP_A2),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let a = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        location,
        bots.server.url(&format!("/v1.0/communications/calls/{a}"))
    );
    assert_eq!(created["state"], "establishing");
    assert_eq!(created["direction"], "outgoing");
    assert_eq!(created["@odata.type"], "#microsoft.graph.call");
    assert!(
        created["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#communications/calls/$entity")
    );
    assert_eq!(created["source"]["identity"]["application"]["id"], APP_A1);
    assert_eq!(
        created["mediaConfig"]["@odata.type"],
        "#microsoft.graph.serviceHostedMediaConfig"
    );

    // The callee's webhook gets the incoming call, with its own call id and the caller as source.
    let incoming = wait_for(&bots.a2.hook, |n| n["changeType"] == "created").await;
    let b = incoming["resourceData"]["id"].as_str().unwrap().to_owned();
    assert_ne!(a, b);
    assert_eq!(incoming["resource"], format!("/app/calls/{b}"));
    assert_eq!(
        incoming["resourceUrl"],
        format!("/communications/calls/{b}")
    );
    assert_eq!(incoming["resourceData"]["state"], "incoming");
    assert_eq!(incoming["resourceData"]["direction"], "incoming");
    assert_eq!(
        incoming["resourceData"]["source"]["identity"]["application"]["id"],
        APP_A1
    );
    assert_eq!(
        incoming["resourceData"]["callChainId"],
        created["callChainId"]
    );
    let post = &bots.a2.hook.accepted()[0];
    assert!(
        post.headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );
    assert_eq!(
        post.body["@odata.type"],
        "#microsoft.graph.commsNotifications"
    );

    bots.answer(&bots.a2, &b).await;
    expect_log(
        &bots.a2.hook,
        &b,
        &[
            "created incoming",
            "updated establishing",
            "updated established",
        ],
    )
    .await;
    expect_log(
        &bots.a1.hook,
        &a,
        &["updated establishing", "updated established"],
    )
    .await;

    let got: Value = bots
        .get(&bots.a2, &format!("/communications/calls/{b}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["state"], "established");
    assert_eq!(
        got["myParticipantId"],
        incoming["resourceData"]["myParticipantId"]
    );
    let listed: Value = bots
        .get(&bots.a1, "/communications/calls")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["value"].as_array().unwrap().len(), 1);
    let roster: Value = bots
        .get(&bots.a1, &format!("/communications/calls/{a}/participants"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(roster["value"].as_array().unwrap().len(), 2);
    let keep_alive = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/keepAlive"),
            json!(null),
        )
        .await;
    assert_eq!(keep_alive.status(), 200);

    let deleted = bots
        .delete(&bots.a1, &format!("/communications/calls/{a}"))
        .await;
    assert_eq!(deleted.status(), 204);
    expect_log(
        &bots.a1.hook,
        &a,
        &[
            "updated establishing",
            "updated established",
            "updated terminating",
            "deleted terminated 200/5001",
        ],
    )
    .await;
    expect_log(
        &bots.a2.hook,
        &b,
        &[
            "created incoming",
            "updated establishing",
            "updated established",
            "deleted terminated 200/4521",
        ],
    )
    .await;
    let gone = bots
        .get(&bots.a1, &format!("/communications/calls/{a}"))
        .await;
    expect_graph_error(gone, 404, "itemNotFound").await;
    let late_keep_alive = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{b}/keepAlive"),
            json!(null),
        )
        .await;
    expect_graph_error(late_keep_alive, 404, "itemNotFound").await;
}

#[tokio::test]
async fn reject_and_unanswered_calls_end_with_documented_codes() {
    let bots = Bots::start("", &[("SWITCHBOARD_CALLS__ANSWER_TIMEOUT_MS", "1500")]).await;
    let a = bots.call_app(&bots.a1, APP_A2).await;
    let b = bots.incoming(&bots.a2).await;
    let reject = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{b}/reject"),
            json!({"reason": "busy"}),
        )
        .await;
    assert_eq!(reject.status(), 202);
    expect_log(
        &bots.a2.hook,
        &b,
        &["created incoming", "deleted terminated 200/7000"],
    )
    .await;
    expect_log(
        &bots.a1.hook,
        &a,
        &["updated establishing", "deleted terminated 480/10076"],
    )
    .await;
    let ended = wait_for(&bots.a1.hook, |n| is_state(n, &a, "terminated")).await;
    let message = ended["resourceData"]["resultInfo"]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("reason busy") && message.ends_with("DiagCode: 480#10076.@"),
        "{message}"
    );

    // Nobody answers: after the (shortened) answer window both legs end.
    let a = bots.call_app(&bots.a1, APP_B1).await;
    let b = bots.incoming(&bots.b1).await;
    expect_log(
        &bots.b1.hook,
        &b,
        &["created incoming", "deleted terminated 408/1106"],
    )
    .await;
    expect_log(
        &bots.a1.hook,
        &a,
        &["updated establishing", "deleted terminated 408/10057"],
    )
    .await;
    let too_late = bots
        .post(
            &bots.b1,
            &format!("/communications/calls/{b}/reject"),
            json!({}),
        )
        .await;
    expect_graph_error(too_late, 404, "itemNotFound").await;
}

#[tokio::test]
async fn redirect_hands_the_caller_to_the_new_target() {
    let bots = Bots::start("", &[]).await;
    let a = bots.call_app(&bots.a1, APP_A2).await;
    let b = bots.incoming(&bots.a2).await;
    let body = json!({"targets": [{"identity": {"application": {"id": APP_B1}}}], "timeout": 20});
    let response = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{b}/redirect"),
            body,
        )
        .await;
    assert_eq!(response.status(), 202);
    expect_log(
        &bots.a2.hook,
        &b,
        &[
            "created incoming",
            "updated redirecting",
            "deleted terminated 200/7000",
        ],
    )
    .await;
    let c = bots.incoming(&bots.b1).await;
    let incoming = wait_for(&bots.b1.hook, |n| n["changeType"] == "created").await;
    assert_eq!(
        incoming["resourceData"]["source"]["identity"]["application"]["id"],
        APP_A1
    );
    bots.answer(&bots.b1, &c).await;
    expect_log(
        &bots.a1.hook,
        &a,
        &["updated establishing", "updated established"],
    )
    .await;
    let bad = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{b}/redirect"),
            json!({"targets": []}),
        )
        .await;
    let error = expect_graph_error(bad, 400, "invalidRequest").await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("targets: got 0 targets; allowed: 1 to 25 targets")
    );
}

#[tokio::test]
async fn transfer_reports_every_state_and_failures_return_to_established() {
    let bots = Bots::start("", &[]).await;
    let (a, b) = bots.established().await;
    let body = json!({"transferTarget": {"identity": {"application": {"id": APP_B1}}}});
    let response = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/transfer"),
            body,
        )
        .await;
    assert_eq!(response.status(), 202);
    let c = bots.incoming(&bots.b1).await;
    let incoming = wait_for(&bots.b1.hook, |n| n["changeType"] == "created").await;
    assert_eq!(
        incoming["resourceData"]["source"]["identity"]["application"]["id"], APP_A2,
        "the target is called by the transferee"
    );
    bots.answer(&bots.b1, &c).await;
    expect_log(
        &bots.a1.hook,
        &a,
        &[
            "updated establishing",
            "updated established",
            "updated transferring",
            "updated transferAccepted",
            "deleted terminated 200/7015",
        ],
    )
    .await;
    expect_log(
        &bots.b1.hook,
        &c,
        &[
            "created incoming",
            "updated establishing",
            "updated established",
        ],
    )
    .await;
    let still: Value = bots
        .get(&bots.a2, &format!("/communications/calls/{b}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["state"], "established");

    // A transfer to a user with no signed-in endpoint fails and the call carries on.
    let body = json!({"transferTarget": {"identity": {"user": {"id": USER_B}}}});
    let response = bots
        .post(
            &bots.b1,
            &format!("/communications/calls/{c}/transfer"),
            body,
        )
        .await;
    assert_eq!(response.status(), 202);
    let failed = wait_for(&bots.b1.hook, |n| {
        is_state(n, &c, "established") && n["resourceData"]["resultInfo"].is_object()
    })
    .await;
    assert_eq!(failed["resourceData"]["resultInfo"]["code"], 500);
    assert_eq!(failed["resourceData"]["resultInfo"]["subcode"], 7000);
    assert!(
        failed["resourceData"]["resultInfo"]["message"]
            .as_str()
            .unwrap()
            .contains("no signed-in endpoint")
    );
}

#[tokio::test]
async fn keep_alive_window_ends_idle_calls() {
    let bots = Bots::start("", &[("SWITCHBOARD_CALLS__KEEP_ALIVE_TIMEOUT_MS", "3000")]).await;
    let (a, b) = bots.established().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let renewed = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/keepAlive"),
            json!(null),
        )
        .await;
    assert_eq!(renewed.status(), 200);
    let ended = wait_for(&bots.a2.hook, |n| is_state(n, &b, "terminated")).await;
    assert_eq!(ended["resourceData"]["resultInfo"]["subcode"], 8537);
    assert_eq!(ended["resourceData"]["resultInfo"]["code"], 408);
    let peer = wait_for(&bots.a1.hook, |n| is_state(n, &a, "terminated")).await;
    assert_eq!(peer["resourceData"]["resultInfo"]["subcode"], 4521);
}

#[tokio::test]
async fn calling_a_user_without_an_endpoint_ends_with_no_callee_endpoints() {
    let bots = Bots::start("", &[]).await;
    let body = json!({"callbackUri": bots.a1.hook.url, "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
                      "targets": [{"identity": {"user": {"id": USER_A}}}]});
    let response = bots.post(&bots.a1, "/communications/calls", body).await;
    assert_eq!(response.status(), 201);
    let a = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_log(
        &bots.a1.hook,
        &a,
        &["updated establishing", "deleted terminated 480/10037"],
    )
    .await;
}

// Multi-threaded: `terminate` blocks its thread while the webhooks keep receiving on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_every_call_with_a_notification() {
    let mut bots = Bots::start("", &[]).await;
    let (a, b) = bots.established().await;
    let status = bots.server.terminate(Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "the server exits cleanly: {}",
        bots.server.output()
    );
    for (hook, call) in [(&bots.a1.hook, &a), (&bots.a2.hook, &b)] {
        let ended = wait_for(hook, |n| is_state(n, call, "terminated")).await;
        assert_eq!(ended["resourceData"]["resultInfo"]["code"], 200);
        assert_eq!(ended["resourceData"]["resultInfo"]["subcode"], 5003);
    }
}

/// An app moves its calling webhook with the Switchboard extension: incoming calls are announced
/// at the new one, a bad URL is refused naming the field, and a cleared webhook makes the app
/// unreachable.
#[tokio::test]
async fn an_app_sets_its_own_calling_webhook() {
    let bots = Bots::start("", &[]).await;
    let http = reqwest::Client::new();
    let path = bots.server.url("/v1.0/switchboard/callingWebhook");
    let put = |url: Value| {
        http.put(&path)
            .bearer_auth(&bots.a2.token)
            .json(&json!({ "url": url }))
            .send()
    };
    let moved = Webhook::start().await;
    let response = put(json!(moved.url)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["url"], moved.url.as_str());
    let read: Value = http
        .get(&path)
        .bearer_auth(&bots.a2.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["url"], moved.url.as_str());
    bots.call_app(&bots.a1, APP_A2).await;
    let created = wait_for(&moved, |n| n["changeType"] == "created").await;
    assert_eq!(created["resourceData"]["direction"], "incoming");
    assert!(
        bots.a2.hook.notifications().is_empty(),
        "the old webhook hears nothing"
    );

    let refused = put(json!("ftp://bot.example.com/calls")).await.unwrap();
    let refusal = expect_graph_error(refused, 400, "invalidRequest").await;
    let message = refusal["error"]["message"].as_str().unwrap();
    assert!(message.contains("url"), "{message}");

    let cleared = http
        .delete(&path)
        .bearer_auth(&bots.a2.token)
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    let a = bots.call_app(&bots.a1, APP_A2).await;
    let ended = wait_for(&bots.a1.hook, |n| is_state(n, &a, "terminated")).await;
    assert_eq!(ended["resourceData"]["resultInfo"]["code"], 480, "{ended}");
}

/// A process killed with calls live (kill -9): the next start on the same data directory tells
/// each bot its call ended — `terminated` with 500/1005 (the media is gone), naming what happened
/// — and the calls are gone from the API. Before the journal of live calls, those bots were never
/// told and believed their calls established.
#[tokio::test]
async fn calls_of_a_killed_process_are_ended_for_their_bots_after_the_restart() {
    let data = tempfile::tempdir().unwrap();
    let bots = Bots::start_with(Bots::hooks().await, "", &[], Some(data.path().to_owned())).await;
    let (a, b) = bots.established().await;
    let ringing = bots.call_app(&bots.a1, APP_B1).await;
    bots.incoming(&bots.b1).await;
    // Give the journal's writer a moment to put the calls in the store, then kill the process.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Bots {
        server, a1, a2, b1, ..
    } = bots;
    drop(server); // SIGKILL: no shutdown, no final notifications.
    let before = (a1.hook.notifications().len(), a2.hook.notifications().len());

    let bots = Bots::start_with(
        [a1.hook, a2.hook, b1.hook],
        "",
        &[],
        Some(data.path().to_owned()),
    )
    .await;
    for (hook, call) in [
        (&bots.a1.hook, &a),
        (&bots.a2.hook, &b),
        (&bots.a1.hook, &ringing),
    ] {
        let ended = wait_for(hook, |n| is_state(n, call, "terminated")).await;
        assert_eq!(ended["changeType"], "deleted", "{ended}");
        let result = &ended["resourceData"]["resultInfo"];
        assert_eq!(
            (result["code"].as_u64(), result["subcode"].as_u64()),
            (Some(500), Some(1005))
        );
        assert!(
            result["message"]
                .as_str()
                .unwrap()
                .contains("the server stopped without ending the call"),
            "{result}"
        );
    }
    assert!(
        bots.a1.hook.notifications().len() > before.0
            && bots.a2.hook.notifications().len() > before.1
    );
    let listed: Value = bots
        .get(&bots.a1, "/communications/calls")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["value"].as_array().unwrap().len(), 0);
    let gone = bots
        .get(&bots.a1, &format!("/communications/calls/{a}"))
        .await;
    assert_eq!(gone.status(), 404);
}
