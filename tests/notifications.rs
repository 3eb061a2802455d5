//! Notification delivery over real HTTP: the binary POSTs to a loopback webhook. Notifications
//! are produced with the `testNotification` extension, which uses the same queue, signing and
//! retry path as call notifications.

mod support;

use std::time::Duration;

use support::*;

fn config(extra: &str) -> String {
    format!("{STANDARD_CONFIG}\n{extra}")
}

async fn queue_test_notifications(
    server: &Server,
    token: &str,
    uri: &str,
    call_id: &str,
    count: u32,
) -> serde_json::Value {
    let response = server
        .http
        .post(server.url("/v1.0/switchboard/testNotification"))
        .bearer_auth(token)
        .json(&serde_json::json!({"callbackUri": uri, "count": count, "callId": call_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

#[tokio::test]
async fn webhook_down_for_ten_seconds_then_back_loses_nothing_and_keeps_order() {
    let server = Server::start_with_config(&config(
        "[notify]\ninitial_backoff_ms = 100\nmax_backoff_ms = 1000\nrequest_timeout_ms = 2000\n",
    ));
    let token = server.token(TENANT_A, APP_A1, SECRET).await;
    let webhook = Webhook::start().await;
    webhook.answer_with(503);
    let outage = std::time::Instant::now();

    // Two calls; notifications keep coming during the outage.
    for round in 0..4 {
        queue_test_notifications(&server, &token, &webhook.url, "call-one", 5).await;
        queue_test_notifications(&server, &token, &webhook.url, "call-two", 5).await;
        tokio::time::sleep(Duration::from_millis(500 * (round + 1))).await;
    }
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(outage.elapsed())).await;
    assert!(
        webhook.accepted().is_empty(),
        "nothing is accepted during the outage"
    );
    assert!(
        webhook.posts().len() >= 4,
        "deliveries were retried during the outage"
    );
    webhook.answer_with(202);

    let notifications = webhook
        .wait_for_notifications(40, Duration::from_secs(20))
        .await;
    assert_eq!(
        notifications.len(),
        40,
        "every notification arrives exactly once"
    );
    for call in ["call-one", "call-two"] {
        let sequence: Vec<(u64, u64)> = notifications
            .iter()
            .filter(|n| n["resourceData"]["id"] == call)
            .enumerate()
            .map(|(i, n)| {
                (
                    i as u64 / 5,
                    n["switchboardTest"]["sequence"].as_u64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(u64, u64)> = (0..20).map(|i| (i / 5, i % 5)).collect();
        assert_eq!(sequence, expected, "{call} in order");
    }
    let status: serde_json::Value = server
        .http
        .get(server.url("/v1.0/switchboard/notificationDelivery"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (status["pending"].as_u64(), status["delivered"].as_u64()),
        (Some(0), Some(40)),
        "{status}"
    );
}

#[tokio::test]
async fn notification_jwt_verifies_through_oidc_discovery_and_jwks() {
    let server = Server::start_with_config(&config(
        "[notify]\ntoken_issuer = \"https://api.botframework.com\"\n",
    ));
    let token = server.token(TENANT_A, APP_A1, SECRET).await;
    let webhook = Webhook::start().await;
    queue_test_notifications(&server, &token, &webhook.url, "call-jwt", 1).await;
    webhook
        .wait_for_notifications(1, Duration::from_secs(20))
        .await;
    let post = webhook.accepted().remove(0);

    assert_eq!(
        post.body["@odata.type"],
        "#microsoft.graph.commsNotifications"
    );
    assert_eq!(
        post.body["value"][0]["resourceUrl"],
        "/communications/calls/call-jwt"
    );
    assert_eq!(post.body["value"][0]["resource"], "/app/calls/call-jwt");
    for header in [
        "x-microsoft-skype-chain-id",
        "x-microsoft-skype-message-id",
        "scenario-id",
        "user-agent",
    ] {
        assert!(
            post.headers.contains_key(header),
            "{header} missing: {:?}",
            post.headers
        );
    }
    assert_eq!(post.headers["accept"], "application/json");

    // A bot's validator: discovery → jwks_uri → key by kid → verify signature, iss, aud, exp.
    let discovery: serde_json::Value = server
        .http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/{{tenant}}/oauth2/v2.0/token", server.base_url)
    );
    let jwks: jsonwebtoken::jwk::JwkSet = server
        .http
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = post.headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[APP_A1]);
    validation.set_issuer(&["https://api.botframework.com"]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(&jwt, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["tid"], TENANT_A);
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!(lifetime <= 600, "short-lived: {lifetime} s");

    // The same token is useless as an API access token (its audience is the bot).
    let response = server
        .http
        .get(server.url("/v1.0/switchboard/notificationDelivery"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    expect_graph_error(response, 401, "InvalidAuthenticationToken").await;
}

#[tokio::test]
async fn queue_overflow_is_reported_in_the_response_the_status_api_and_metrics() {
    let server = Server::start_with_config(&config(
        "[notify]\nqueue_capacity_per_app = 5\ninitial_backoff_ms = 1000\n",
    ));
    let token = server.token(TENANT_A, APP_A1, SECRET).await;
    let webhook = Webhook::start().await;
    webhook.answer_with(503);
    let result = queue_test_notifications(&server, &token, &webhook.url, "call-overflow", 8).await;
    assert_eq!(
        (result["queued"].as_u64(), result["dropped"].as_u64()),
        (Some(5), Some(3)),
        "{result}"
    );

    let status: serde_json::Value = server
        .http
        .get(server.url("/v1.0/switchboard/notificationDelivery"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["dropped"]["queueFull"], 3, "{status}");
    assert_eq!(
        status["recentDrops"][0]["callId"], "call-overflow",
        "{status}"
    );
    assert_eq!(status["recentDrops"][0]["reason"], "queueFull", "{status}");

    let metrics = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("switchboard_notifications_dropped_total") && l.contains("queue_full")
        })
        .unwrap_or_else(|| panic!("no drop counter in:\n{metrics}"));
    assert!(line.contains(APP_A1) && line.ends_with(" 3"), "{line}");
    assert!(
        server.wait_for_output("call-overflow", Duration::from_secs(5)),
        "drop logged with the call id"
    );

    // Once the webhook recovers the five queued ones arrive.
    webhook.answer_with(202);
    assert_eq!(
        webhook
            .wait_for_notifications(5, Duration::from_secs(20))
            .await
            .len(),
        5
    );
}
