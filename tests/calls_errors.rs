//! Every malformed body, unknown id, wrong state and over-limit value gets a Graph 4xx naming
//! the field and what is allowed; another app's call is 404; admission caps answer 429.

mod calls_support;
mod support;

use calls_support::*;
use serde_json::{Value, json};
use support::*;

async fn message(response: reqwest::Response, status: u16, code: &str) -> String {
    let body = expect_graph_error(response, status, code).await;
    body["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn bad_create_bodies_are_400_with_the_field_and_the_limit() {
    let bots = Bots::start("", &[]).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"targets": [{"identity": {"application": {"id": APP_A2}}}]}),
            "mediaConfig: got nothing",
        ),
        (
            json!({"mediaConfig": {}, "targets": (0..6).map(|i| json!({"identity": {"user": {"id": format!("u{i}")}}})).collect::<Vec<_>>()}),
            "targets: got 6 targets; allowed: 1 to 5 targets",
        ),
        (json!({"mediaConfig": {}}), "targets: got nothing"),
        (
            json!({"mediaConfig": {}, "targets": [{"identity": {"application": {"id": "no-such-app"}}}]}),
            "targets[0].identity.application.id: got 'no-such-app'",
        ),
        (
            json!({"mediaConfig": {}, "targets": [{"identity": {"phone": {"id": "+15551234567"}}}]}),
            "no PSTN gateway",
        ),
        (
            json!({"mediaConfig": {}, "targets": [{"identity": {"user": {"id": USER_B}}}]}),
            "targets[0].identity.user.id: got",
        ),
        (
            json!({"mediaConfig": {"@odata.type": "#microsoft.graph.fancyMediaConfig"}, "targets": [{"identity": {"user": {"id": USER_A}}}]}),
            "fancyMediaConfig' is not supported",
        ),
        (
            json!({"mediaConfig": {}, "callbackUri": "ftp://x", "targets": [{"identity": {"user": {"id": USER_A}}}]}),
            "callbackUri: got 'ftp://x'",
        ),
        (
            json!({"mediaConfig": {}, "meetingInfo": {"joinMeetingId": "999"}}),
            "meetingInfo.joinMeetingId: got '999'",
        ),
        (
            json!({"mediaConfig": {}, "requestedModalities": ["hologram"], "targets": []}),
            "'hologram' is not a valid modality",
        ),
    ];
    for (body, expected) in cases {
        let response = bots
            .post(&bots.a1, "/communications/calls", body.clone())
            .await;
        let text = message(response, 400, "invalidRequest").await;
        assert!(
            text.contains(expected),
            "body {body}: message {text:?} lacks {expected:?}"
        );
    }
    let not_json = bots
        .server
        .http
        .post(bots.server.url("/v1.0/communications/calls"))
        .bearer_auth(&bots.a1.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_graph_error(not_json, 400, "invalidRequest").await;
}

#[tokio::test]
async fn unknown_ids_other_apps_calls_and_wrong_states() {
    let bots = Bots::start(
        "",
        &[(
            "SWITCHBOARD_MEDIA__APP_HOSTED__ALLOW_PRIVATE_ADDRESSES",
            "false",
        )],
    )
    .await;
    let (a, b) = bots.established().await;
    for path in [
        "/communications/calls/nope".to_owned(),
        format!("/communications/calls/{a}/participants/nope"),
        format!("/communications/calls/{a}/operations/nope"),
    ] {
        expect_graph_error(bots.get(&bots.a1, &path).await, 404, "itemNotFound").await;
    }
    // A2 and B1 cannot see or touch A1's call.
    expect_graph_error(
        bots.get(&bots.a2, &format!("/communications/calls/{a}"))
            .await,
        404,
        "itemNotFound",
    )
    .await;
    expect_graph_error(
        bots.get(&bots.b1, &format!("/communications/calls/{a}"))
            .await,
        404,
        "itemNotFound",
    )
    .await;
    expect_graph_error(
        bots.delete(&bots.b1, &format!("/communications/calls/{a}"))
            .await,
        404,
        "itemNotFound",
    )
    .await;
    let listed: Value = bots
        .get(&bots.b1, "/communications/calls")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["value"], json!([]));

    let answer =
        json!({"mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}});
    let again = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{b}/answer"),
            answer,
        )
        .await;
    let text = message(again, 409, "notAllowed").await;
    assert!(text.contains("answer is not allowed while the call is established; allowed while the call is incoming"), "{text}");
    let reject = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/reject"),
            json!({}),
        )
        .await;
    message(reject, 409, "notAllowed").await;

    let many: Vec<_> = (0..21)
        .map(|_| json!({"mediaInfo": {"uri": "https://x/a.wav"}}))
        .collect();
    let prompts = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/playPrompt"),
            json!({"prompts": many}),
        )
        .await;
    assert!(
        message(prompts, 400, "invalidRequest")
            .await
            .contains("prompts: got 21 prompts; allowed: 1 to 20 prompts")
    );
    let context = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/subscribeToTone"),
            json!({"clientContext": "x".repeat(257)}),
        )
        .await;
    assert!(
        message(context, 400, "invalidRequest")
            .await
            .contains("clientContext: got 257 characters")
    );
    let record = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/recordResponse"),
            json!({"maxRecordDurationInSeconds": 121}),
        )
        .await;
    assert!(
        message(record, 400, "invalidRequest")
            .await
            .contains("maxRecordDurationInSeconds: got 121; allowed: 1 to 120 seconds")
    );
    let tones = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{a}/sendDtmfTones"),
            json!({"tones": ["tone1", "flash"]}),
        )
        .await;
    assert!(
        message(tones, 400, "invalidRequest")
            .await
            .contains("tones[1]")
    );
    let wrong_type = bots
        .post(
            &bots.a2,
            &format!("/communications/calls/{b}/reject"),
            json!({"reason": 5}),
        )
        .await;
    expect_graph_error(wrong_type, 400, "invalidRequest").await;

    // A ringing outgoing call has no media yet; an incoming one must be answered first.
    let ringing = bots.call_app(&bots.a1, APP_B1).await;
    let incoming = bots.incoming(&bots.b1).await;
    let early = bots
        .post(
            &bots.a1,
            &format!("/communications/calls/{ringing}/subscribeToTone"),
            json!({}),
        )
        .await;
    assert!(
        message(early, 409, "notAllowed")
            .await
            .contains("until the call's media is connected")
    );
    let unanswered = bots
        .post(
            &bots.b1,
            &format!("/communications/calls/{incoming}/playPrompt"),
            json!({"prompts": [{"mediaInfo": {"uri": "https://x/a.wav"}}]}),
        )
        .await;
    assert!(
        message(unanswered, 409, "notAllowed")
            .await
            .contains("while the call is incoming")
    );
    // App-hosted media: a blob that is not Switchboard's media-socket JSON, or whose URL the
    // server may not dial, is refused naming the field; the service-hosted actions are refused.
    let answer_with = |blob: &str| json!({"mediaConfig": {"@odata.type": "#microsoft.graph.appHostedMediaConfig", "blob": blob}});
    let answer_path = format!("/communications/calls/{incoming}/answer");
    let malformed = bots.post(&bots.b1, &answer_path, answer_with("x")).await;
    assert!(
        message(malformed, 400, "invalidRequest")
            .await
            .contains("mediaConfig.blob")
    );
    let private = bots
        .post(
            &bots.b1,
            &answer_path,
            answer_with(r#"{"url": "ws://10.1.2.3:9000/media"}"#),
        )
        .await;
    let refusal = message(private, 400, "invalidRequest").await;
    assert!(
        refusal.contains("mediaConfig.blob.url")
            && refusal.contains("10.1.2.3 is a private address")
            && refusal.contains("media.app_hosted.allow_private_addresses"),
        "{refusal}"
    );
    // A public address nothing listens on: the call is answered; its socket is redialled.
    assert_eq!(
        bots.post(
            &bots.b1,
            &answer_path,
            answer_with(r#"{"url": "ws://192.0.2.1:9/media"}"#)
        )
        .await
        .status(),
        202
    );
    wait_for(&bots.b1.hook, |n| is_state(n, &incoming, "established")).await;
    let refused = bots
        .post(
            &bots.b1,
            &format!("/communications/calls/{incoming}/playPrompt"),
            json!({"prompts": [{"mediaInfo": {"uri": "https://x/a.wav"}}]}),
        )
        .await;
    assert!(
        message(refused, 400, "invalidRequest")
            .await
            .contains("needs a call with serviceHostedMediaConfig")
    );
    let tones = bots
        .post(
            &bots.b1,
            &format!("/communications/calls/{incoming}/subscribeToTone"),
            json!({}),
        )
        .await;
    assert_eq!(
        tones.status(),
        200,
        "keys are detected whoever hosts the media"
    );
}

#[tokio::test]
async fn concurrent_call_caps_answer_429() {
    let bots = Bots::start("[limits]\nmax_concurrent_calls_per_app = 1\n", &[]).await;
    bots.call_app(&bots.a1, APP_A2).await;
    let second = bots
        .post(
            &bots.a1,
            "/communications/calls",
            p2p_to_app(&bots.a1.hook.url, APP_B1),
        )
        .await;
    assert!(second.headers().contains_key("retry-after"));
    let text = message(second, 429, "activityLimitReached").await;
    assert!(text.contains("max_concurrent_calls_per_app"), "{text}");
}

/// Callback URIs are under the address policy: an app cannot make the server POST into its own
/// network (a private address, or a name resolving to loopback) — refused with a 400 naming the
/// field and the setting — while the calling webhooks the operator configured keep working.
#[tokio::test]
async fn callback_uris_at_private_addresses_are_refused() {
    let bots = Bots::start(
        "",
        &[("SWITCHBOARD_NOTIFY__ALLOW_PRIVATE_ADDRESSES", "false")],
    )
    .await;
    let mut call = p2p_to_app("http://10.0.0.9/calls", APP_A2);
    let refused = bots
        .post(&bots.a1, "/communications/calls", call.clone())
        .await;
    let refusal = message(refused, 400, "invalidRequest").await;
    assert!(
        refusal.contains("callbackUri")
            && refusal.contains("10.0.0.9 is a private address")
            && refusal.contains("notify.allow_private_addresses"),
        "{refusal}"
    );
    call["callbackUri"] = json!("http://localhost:9/calls");
    let refused = bots.post(&bots.a1, "/communications/calls", call).await;
    assert!(
        message(refused, 400, "invalidRequest")
            .await
            .contains("localhost resolves to"),
    );
    let test = bots
        .post(
            &bots.a1,
            "/switchboard/testNotification",
            json!({"callbackUri": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert!(
        message(test, 400, "invalidRequest")
            .await
            .contains("loopback")
    );
    let webhook = bots
        .server
        .http
        .put(bots.server.url("/v1.0/switchboard/callingWebhook"))
        .bearer_auth(&bots.a1.token)
        .json(&json!({"url": "http://192.168.1.20/calls"}))
        .send()
        .await
        .unwrap();
    assert!(
        message(webhook, 400, "invalidRequest")
            .await
            .contains("private")
    );
    // The configured webhooks (loopback here) are trusted: calls go on as before.
    bots.established().await;
}

/// Tenants can be kept apart: with `calls.allow_cross_tenant_app_calls = false` an app calling an
/// app of another tenant gets a 400 naming the target and the setting; within a tenant calls go
/// on. (On by default: A1 calls B1 in `unknown_ids_other_apps_calls_and_wrong_states`.)
#[tokio::test]
async fn cross_tenant_app_calls_can_be_forbidden() {
    let bots = Bots::start("[calls]\nallow_cross_tenant_app_calls = false\n", &[]).await;
    let refused = bots
        .post(
            &bots.a1,
            "/communications/calls",
            p2p_to_app(&bots.a1.hook.url, APP_B1),
        )
        .await;
    let refusal = message(refused, 400, "invalidRequest").await;
    assert!(
        refusal.contains("targets[0].identity.application.id")
            && refusal.contains("calls.allow_cross_tenant_app_calls"),
        "{refusal}"
    );
    bots.established().await;
}
