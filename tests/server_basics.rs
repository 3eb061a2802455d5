//! Start-up, configuration, error bodies, throttling and shutdown of the running binary.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test]
async fn without_config_a_demo_directory_is_seeded_with_a_stable_secret() {
    let temp = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        config: None,
        data_dir: Some(temp.path().to_owned()),
        ..Default::default()
    };
    let server = Server::start(options.clone());
    let output = server.output();
    let secret = std::fs::read_to_string(temp.path().join("demo-app-secret")).unwrap();
    assert!(
        output.contains("Alice Agent") && output.contains("Bob Agent"),
        "{output}"
    );
    assert!(
        output.contains(&format!("client_secret={secret}")),
        "a ready-to-paste curl: {output}"
    );
    assert!(output.contains(&format!(
        "{}/00000000-0000-4000-8000-000000000001/oauth2/v2.0/token",
        server.base_url
    )));

    // The printed credentials work.
    let token = server
        .token(
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-00000000a001",
            &secret,
        )
        .await;
    let response = server
        .http
        .get(server.url("/v1.0/switchboard/notificationDelivery"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The secret is printed once in the banner, never in a log line.
    let log_lines_with_secret = output
        .lines()
        .filter(|l| l.contains(&secret) && (l.contains(" INFO ") || l.contains(" WARN ")))
        .count();
    assert_eq!(log_lines_with_secret, 0, "{output}");
    drop(server);

    // A restart keeps the secret and the signing key.
    let key_before = std::fs::read(temp.path().join("keys/signing-key.pem")).unwrap();
    let server = Server::start(options);
    assert!(server.output().contains(&format!("client_secret={secret}")));
    assert_eq!(
        std::fs::read(temp.path().join("keys/signing-key.pem")).unwrap(),
        key_before
    );
}

#[tokio::test]
async fn configured_apps_replace_the_demo() {
    let server = Server::start_standard();
    assert!(
        !server.output().contains("Demo directory"),
        "{}",
        server.output()
    );
    assert!(!server.data_dir.join("demo-app-secret").exists());
}

#[tokio::test]
async fn config_file_and_environment_overrides_apply() {
    // The file sets a tight rate limit and an issuer; the environment overrides the limit.
    let config = format!(
        "{STANDARD_CONFIG}\n[auth]\nissuer = \"https://issuer.example\"\n[limits]\nrequests_per_window = 100\nwindow_secs = 60\n"
    );
    let server = Server::start(ServerOptions {
        config: Some(config),
        env: vec![("SWITCHBOARD_LIMITS__REQUESTS_PER_WINDOW".into(), "2".into())],
        ..Default::default()
    });
    let discovery: serde_json::Value = server
        .http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], "https://issuer.example", "TOML value");

    let token = server.token(TENANT_A, APP_A1, SECRET).await;
    let get = || {
        server
            .http
            .get(server.url("/v1.0/switchboard/notificationDelivery"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    assert_eq!(get().await.unwrap().status(), 200);
    let throttled = get().await.unwrap();
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=30).contains(&retry_after),
        "2 per 60 s refills one every 30 s: {retry_after}"
    );
    expect_graph_error(throttled, 429, "activityLimitReached").await;
    // Another app has its own bucket.
    let other = server.token(TENANT_A, APP_A2, SECRET).await;
    let response = server
        .http
        .get(server.url("/v1.0/switchboard/notificationDelivery"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn bad_config_is_refused_with_a_precise_message() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("bad.toml");
    std::fs::write(&path, "[limits]\nrequests_per_window = \"many\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("SWITCHBOARD_DATA_DIR", temp.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("requests_per_window"), "{stderr}");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve"])
        .env("SWITCHBOARD_DATA_DIR", temp.path())
        .env("SWITCHBOARD_HTTP__LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.to_lowercase().contains("http.listen") && stderr.contains("SWITCHBOARD_"),
        "{stderr}"
    );
}

#[tokio::test]
async fn errors_are_graph_error_bodies_with_request_ids() {
    let server = Server::start_standard();
    let token = server.token(TENANT_A, APP_A1, SECRET).await;

    let response = server
        .http
        .get(server.url("/v1.0/communications/nothingHere"))
        .send()
        .await
        .unwrap();
    expect_graph_error(response, 404, "UnknownResource").await;
    let response = server
        .http
        .get(server.url("/nowhere"))
        .send()
        .await
        .unwrap();
    expect_graph_error(response, 404, "UnknownResource").await;

    let response = server
        .http
        .delete(server.url("/v1.0/switchboard/notificationDelivery"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("allow"));
    expect_graph_error(response, 405, "notSupported").await;

    // The client's request id is echoed.
    let response = server
        .http
        .get(server.url("/nowhere"))
        .header("client-request-id", "my-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["client-request-id"], "my-id-42");
    let body = expect_graph_error(response, 404, "UnknownResource").await;
    assert_eq!(body["error"]["innerError"]["client-request-id"], "my-id-42");

    let post = |body: &'static str| {
        server
            .http
            .post(server.url("/v1.0/switchboard/testNotification"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let body = expect_graph_error(
        post("{\"callbackUri\": ").await.unwrap(),
        400,
        "invalidRequest",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{body}"
    );
    let body = expect_graph_error(
        post(r#"{"count": "three"}"#).await.unwrap(),
        400,
        "invalidRequest",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`count`"),
        "{body}"
    );
    let body = expect_graph_error(
        post(r#"{"callbackUri": "ftp://x/y"}"#).await.unwrap(),
        400,
        "invalidRequest",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed"),
        "{body}"
    );
    let body = expect_graph_error(
        post(r#"{"callbackUri": "http://127.0.0.1:9/", "count": 1000}"#)
            .await
            .unwrap(),
        400,
        "invalidRequest",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 100"),
        "{body}"
    );
    let body = expect_graph_error(
        post(r#"{"bogus": 1}"#).await.unwrap(),
        400,
        "invalidRequest",
    )
    .await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("bogus"),
        "{body}"
    );

    let response = server
        .http
        .post(server.url("/v1.0/switchboard/testNotification"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    expect_graph_error(response, 415, "invalidRequest").await;

    // Bodiless POST (as the SDK sends keepAlive): read as {}, so the route's own rule answers.
    let response = server
        .http
        .post(server.url("/v1.0/switchboard/testNotification"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body = expect_graph_error(response, 400, "invalidRequest").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("calling_webhook"),
        "{body}"
    );

    // A body over the limit.
    let huge = format!("{{\"callbackUri\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let response = server
        .http
        .post(server.url("/v1.0/switchboard/testNotification"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    expect_graph_error(response, 413, "invalidRequest").await;

    // A header value with control characters: a Graph error from the routes, not a bare 400.
    let answer = raw_request(
        server.port,
        &format!(
            "POST /v1.0/communications/calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: \x01\x02\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ),
    );
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 4"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "invalidRequest", "{body}");
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
}

/// Sends `request` as bytes and reads the whole answer (the request asks to close).
fn raw_request(port: u16, request: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
    let mut server = Server::start_standard();
    let status = server
        .terminate(Duration::from_secs(30))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(
        server.wait_for_output("shutdown complete", Duration::from_secs(5)),
        "{}",
        server.output()
    );
}

#[tokio::test]
async fn metrics_are_exported_in_prometheus_format() {
    let server = Server::start_standard();
    server
        .http
        .get(server.url("/nowhere"))
        .send()
        .await
        .unwrap();
    let response = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("switchboard_http_responses_total{status=\"404\"}"),
        "{text}"
    );
}

/// `/metrics` names apps and shows load: without `metrics.token` it answers loopback only (a
/// request from another address of the machine gets 403); with the token set it answers whoever
/// presents it, and nobody else.
#[tokio::test]
async fn metrics_are_served_to_loopback_or_to_the_token() {
    let open = Server::start(ServerOptions {
        config: Some(STANDARD_CONFIG.to_owned()),
        env: vec![("SWITCHBOARD_HTTP__LISTEN".into(), "0.0.0.0:0".into())],
        ..Default::default()
    });
    let from_loopback = open.http.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(from_loopback.status(), 200);
    let outside = if_addrs::get_if_addrs()
        .unwrap()
        .into_iter()
        .map(|i| i.ip())
        .find(|ip| ip.is_ipv4() && !ip.is_loopback());
    match outside {
        Some(ip) => {
            let url = format!("http://{ip}:{}/metrics", open.port);
            let refused = open.http.get(url).send().await.unwrap();
            let body = expect_graph_error(refused, 403, "accessDenied").await;
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("metrics.token"),
                "{body}"
            );
        }
        None => {
            eprintln!("SKIPPED part: this machine has no non-loopback IPv4 address to ask from")
        }
    }

    let guarded = Server::start_with_config(&format!(
        "{STANDARD_CONFIG}\n[metrics]\ntoken = \"scrape-me\"\n"
    ));
    let anonymous = guarded
        .http
        .get(guarded.url("/metrics"))
        .send()
        .await
        .unwrap();
    expect_graph_error(anonymous, 401, "InvalidAuthenticationToken").await;
    let scraper = guarded
        .http
        .get(guarded.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(scraper.status(), 200);
}
