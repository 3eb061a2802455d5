//! Token endpoint and bearer authentication, against the running binary over HTTP.

mod support;

use support::*;

/// Every `/v1.0` route of the server shell, as (method, path, JSON body).
const V1_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/v1.0/switchboard/notificationDelivery", ""),
    (
        "POST",
        "/v1.0/switchboard/testNotification",
        r#"{"callbackUri":"http://127.0.0.1:9/cb"}"#,
    ),
];

async fn send(
    server: &Server,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = server.http.request(method, server.url(path));
    if !body.is_empty() {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn token_endpoint_issues_and_refuses_as_oauth2_says() {
    let server = Server::start_standard();

    // Good credentials: a bearer token with an expiry.
    let response = server.token_response(TENANT_A, APP_A1, SECRET).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(
        body["access_token"].as_str().unwrap().split('.').count(),
        3,
        "a compact JWT"
    );

    // HTTP Basic client authentication works too.
    let response = server
        .http
        .post(server.url(&format!("/{TENANT_A}/oauth2/v2.0/token")))
        .basic_auth(APP_A1, Some(SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let oauth_error = |response: reqwest::Response, status: u16, error: &'static str| async move {
        assert_eq!(response.status().as_u16(), status);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        assert!(body["trace_id"].is_string(), "{body}");
        assert!(
            !body.to_string().contains(SECRET),
            "the secret must never be echoed"
        );
        body
    };
    oauth_error(
        server
            .token_response(TENANT_A, APP_A1, "wrong-secret")
            .await,
        401,
        "invalid_client",
    )
    .await;
    oauth_error(
        server.token_response(TENANT_A, "no-such-app", SECRET).await,
        401,
        "invalid_client",
    )
    .await;
    // An app of tenant B cannot sign in through tenant A.
    oauth_error(
        server.token_response(TENANT_A, APP_B1, SECRET).await,
        401,
        "invalid_client",
    )
    .await;
    let body = oauth_error(
        server
            .token_response("no-such-tenant", APP_A1, SECRET)
            .await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("no-such-tenant"),
        "{body}"
    );

    let form = |fields: &[(&str, &str)]| {
        server
            .http
            .post(server.url(&format!("/{TENANT_A}/oauth2/v2.0/token")))
            .form(&fields.to_vec())
            .send()
    };
    let wrong_grant = form(&[
        ("grant_type", "password"),
        ("client_id", APP_A1),
        ("client_secret", SECRET),
    ])
    .await
    .unwrap();
    oauth_error(wrong_grant, 400, "unsupported_grant_type").await;
    let no_grant = form(&[("client_id", APP_A1), ("client_secret", SECRET)])
        .await
        .unwrap();
    oauth_error(no_grant, 400, "invalid_request").await;
    let bad_scope = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", APP_A1),
        ("client_secret", SECRET),
        ("scope", "Calls.Initiate.All"),
    ])
    .await
    .unwrap();
    oauth_error(bad_scope, 400, "invalid_scope").await;
    let json_body = server
        .http
        .post(server.url(&format!("/{TENANT_A}/oauth2/v2.0/token")))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    oauth_error(json_body, 400, "invalid_request").await;

    assert!(
        !server.output().contains(SECRET),
        "the secret must never be logged"
    );
}

#[tokio::test]
async fn every_v1_route_needs_a_valid_token_of_a_known_app() {
    let server = Server::start_standard();
    let good = server.token(TENANT_A, APP_A1, SECRET).await;

    let now = unix_now();
    let mut expired = server.access_claims("app", APP_A1, TENANT_A);
    expired["iat"] = (now - 7200).into();
    expired["nbf"] = (now - 7200).into();
    expired["exp"] = (now - 600).into();
    let expired = server.mint_token(&expired).await;
    // Signed by this server but claiming tenant B for an app of tenant A.
    let cross_tenant = server
        .mint_token(&server.access_claims("app", APP_A1, TENANT_B))
        .await;
    let unknown_tenant = server
        .mint_token(&server.access_claims("app", APP_A1, "not-a-tenant"))
        .await;
    let wrong_audience = {
        let mut claims = server.access_claims("app", APP_A1, TENANT_A);
        claims["aud"] = "https://elsewhere.example".into();
        server.mint_token(&claims).await
    };
    // A token of another Switchboard server (its own key), valid in every other respect.
    let other_server = Server::start_standard();
    let foreign_key = other_server.token(TENANT_A, APP_A1, SECRET).await;
    drop(other_server);

    let refused: &[(&str, Option<&str>)] = &[
        ("no token", None),
        ("garbage", Some("not-a-jwt")),
        ("expired", Some(&expired)),
        ("cross-tenant", Some(&cross_tenant)),
        ("unknown tenant", Some(&unknown_tenant)),
        ("wrong audience", Some(&wrong_audience)),
        ("other server's key", Some(&foreign_key)),
    ];
    for (method, path, body) in V1_ROUTES {
        for (what, token) in refused {
            let response = send(&server, method, path, body, *token).await;
            let challenge = response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            let error = expect_graph_error(response, 401, "InvalidAuthenticationToken").await;
            assert!(
                challenge.is_some_and(|c| c.starts_with("Bearer ")),
                "{method} {path} with {what}: {error}"
            );
        }
        let response = send(&server, method, path, body, Some(&good)).await;
        assert!(
            response.status().is_success(),
            "{method} {path} with a good token: {}",
            response.status()
        );
    }
    // The expired token's message says so.
    let response = send(&server, "GET", V1_ROUTES[0].1, "", Some(&expired)).await;
    let body = expect_graph_error(response, 401, "InvalidAuthenticationToken").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn user_tokens_are_forbidden_on_application_routes() {
    let server = Server::start_standard();
    let user_token = server
        .mint_token(&server.access_claims("user", USER_A, TENANT_A))
        .await;
    for (method, path, body) in V1_ROUTES {
        let response = send(&server, method, path, body, Some(&user_token)).await;
        expect_graph_error(response, 403, "accessDenied").await;
    }
    // A user of tenant B claiming tenant A is not authenticated at all.
    let wrong_tenant_user = server
        .mint_token(&server.access_claims("user", USER_B, TENANT_A))
        .await;
    let response = send(&server, "GET", V1_ROUTES[0].1, "", Some(&wrong_tenant_user)).await;
    expect_graph_error(response, 401, "InvalidAuthenticationToken").await;
}

#[tokio::test]
async fn each_app_sees_only_its_own_delivery_status() {
    let server = Server::start_standard();
    let a1 = server.token(TENANT_A, APP_A1, SECRET).await;
    let a2 = server.token(TENANT_A, APP_A2, SECRET).await;
    let status = |token: String| {
        let request = server
            .http
            .get(server.url("/v1.0/switchboard/notificationDelivery"))
            .bearer_auth(token);
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(status(a1).await["appId"], APP_A1);
    assert_eq!(status(a2).await["appId"], APP_A2);
}

/// Failed sign-ins cost an unauthenticated client its own budget, not the server's CPU: past
/// `auth.failed_sign_ins_per_source` failures a minute the source gets 429 with `Retry-After`
/// before any secret is checked, and past `auth.failed_sign_ins_per_client` a client's slow
/// (key-stretched) checks are refused while other clients go on.
#[tokio::test]
async fn failed_sign_ins_are_bounded_per_source_and_per_client() {
    let per_client = Server::start_with_config(&format!(
        "{STANDARD_CONFIG}\n[auth]\nfailed_sign_ins_per_source = 100\nfailed_sign_ins_per_client = 3\n"
    ));
    // SECRET is a passphrase-like test secret: stored stretched, so its checks are the slow kind.
    for _ in 0..3 {
        let wrong = per_client.token_response(TENANT_A, APP_A1, "wrong").await;
        assert_eq!(wrong.status(), 401);
    }
    let locked = per_client.token_response(TENANT_A, APP_A1, SECRET).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    let body: serde_json::Value = locked.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&format!("failed sign-ins as {APP_A1}")),
        "{body}"
    );
    let other = per_client.token_response(TENANT_A, APP_A2, SECRET).await;
    assert_eq!(other.status(), 200, "another client is not held back");

    let per_source = Server::start_with_config(&format!(
        "{STANDARD_CONFIG}\n[auth]\nfailed_sign_ins_per_source = 5\n"
    ));
    for i in 0..5 {
        // Unknown clients and wrong secrets alike count against the source.
        let id = format!("no-such-client-{i}");
        let wrong = per_source.token_response(TENANT_A, &id, "x").await;
        assert_eq!(wrong.status(), 401);
    }
    let refused = per_source.token_response(TENANT_A, APP_A1, SECRET).await;
    assert_eq!(
        refused.status(),
        429,
        "the source is refused before any check"
    );
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}
