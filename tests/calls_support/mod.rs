//! Shared set-up for the call API tests: a server whose three apps have calling webhooks on
//! loopback receivers, tokens for each app, and helpers to send requests and wait for
//! notifications.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// How long a test waits for a notification before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// One app of the test server: its id, token and webhook.
pub struct Bot {
    /// The app id.
    pub id: &'static str,
    /// Its access token.
    pub token: String,
    /// Its calling webhook.
    pub hook: Webhook,
}

/// A server with apps A1 and A2 (tenant A) and B1 (tenant B), each with a webhook.
pub struct Bots {
    /// The server.
    pub server: Server,
    /// App A1.
    pub a1: Bot,
    /// App A2.
    pub a2: Bot,
    /// App B1.
    pub b1: Bot,
}

impl Bots {
    /// Starts the server with webhooks, extra TOML and environment variables.
    pub async fn start(extra_config: &str, env: &[(&str, &str)]) -> Bots {
        Bots::start_with(Bots::hooks().await, extra_config, env, None).await
    }

    /// Three webhooks, for A1, A2 and B1.
    pub async fn hooks() -> [Webhook; 3] {
        [
            Webhook::start().await,
            Webhook::start().await,
            Webhook::start().await,
        ]
    }

    /// Starts the server with the given webhooks (kept by a test that restarts the server), extra
    /// TOML, environment variables and, when given, a data directory to reuse.
    pub async fn start_with(
        hooks: [Webhook; 3],
        extra_config: &str,
        env: &[(&str, &str)],
        data_dir: Option<std::path::PathBuf>,
    ) -> Bots {
        let mut config = STANDARD_CONFIG.to_owned();
        for (app, hook) in [APP_A1, APP_A2, APP_B1].iter().zip(&hooks) {
            let marker = format!("id = \"{app}\"\n");
            config = config.replacen(
                &marker,
                &format!("{marker}calling_webhook = \"{}\"\n", hook.url),
                1,
            );
        }
        config.push('\n');
        config.push_str(extra_config);
        let server = Server::start(ServerOptions {
            config: Some(config),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            data_dir,
        });
        let [h1, h2, h3] = hooks;
        let a1 = Bot {
            id: APP_A1,
            token: server.token(TENANT_A, APP_A1, SECRET).await,
            hook: h1,
        };
        let a2 = Bot {
            id: APP_A2,
            token: server.token(TENANT_A, APP_A2, SECRET).await,
            hook: h2,
        };
        let b1 = Bot {
            id: APP_B1,
            token: server.token(TENANT_B, APP_B1, SECRET).await,
            hook: h3,
        };
        Bots { server, a1, a2, b1 }
    }

    /// POSTs JSON to a `/v1.0` path as `bot`.
    pub async fn post(&self, bot: &Bot, path: &str, body: Value) -> reqwest::Response {
        self.server
            .http
            .post(self.server.url(&format!("/v1.0{path}")))
            .bearer_auth(&bot.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// GETs a `/v1.0` path as `bot`.
    pub async fn get(&self, bot: &Bot, path: &str) -> reqwest::Response {
        self.server
            .http
            .get(self.server.url(&format!("/v1.0{path}")))
            .bearer_auth(&bot.token)
            .send()
            .await
            .unwrap()
    }

    /// DELETEs a `/v1.0` path as `bot`.
    pub async fn delete(&self, bot: &Bot, path: &str) -> reqwest::Response {
        self.server
            .http
            .delete(self.server.url(&format!("/v1.0{path}")))
            .bearer_auth(&bot.token)
            .send()
            .await
            .unwrap()
    }

    /// `from` calls app `to` (P2P, service-hosted media); returns the caller's call id.
    pub async fn call_app(&self, from: &Bot, to: &str) -> String {
        let response = self
            .post(
                from,
                "/communications/calls",
                p2p_to_app(&from.hook.url, to),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Waits for the incoming call at `bot` and returns its call id.
    pub async fn incoming(&self, bot: &Bot) -> String {
        let created = wait_for(&bot.hook, |n| n["changeType"] == "created").await;
        created["resourceData"]["id"].as_str().unwrap().to_owned()
    }

    /// `bot` answers `call` with service-hosted media.
    pub async fn answer(&self, bot: &Bot, call: &str) {
        let body = json!({"acceptedModalities": ["audio"],
                          "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}});
        let response = self
            .post(bot, &format!("/communications/calls/{call}/answer"), body)
            .await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    }

    /// A1 calls A2, A2 answers, both are established: returns (A1's call, A2's call).
    pub async fn established(&self) -> (String, String) {
        let a = self.call_app(&self.a1, APP_A2).await;
        let b = self.incoming(&self.a2).await;
        self.answer(&self.a2, &b).await;
        wait_for(&self.a1.hook, |n| is_state(n, &a, "established")).await;
        wait_for(&self.a2.hook, |n| is_state(n, &b, "established")).await;
        (a, b)
    }
}

/// A P2P create body to app `to`, in the shape the Python SDK sends.
pub fn p2p_to_app(callback: &str, to: &str) -> Value {
    json!({
        "callbackUri": callback,
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        "requestedModalities": ["audio"],
        "targets": [{"identity": {"application": {"id": to, "displayName": "Callee"}}}]
    })
}

/// Whether a notification reports `state` for `call`.
pub fn is_state(notification: &Value, call: &str, state: &str) -> bool {
    notification["resourceUrl"] == format!("/communications/calls/{call}")
        && notification["resourceData"]["state"] == state
}

/// Waits until the webhook has a notification matching `matches`, and returns it.
pub async fn wait_for(hook: &Webhook, matches: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = hook.notifications().into_iter().find(|n| matches(n)) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no matching notification; got {:#?}",
            hook.notifications()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The webhook's notifications for `call` as `changeType state code/subcode` lines, in order.
pub fn call_log(hook: &Webhook, call: &str) -> Vec<String> {
    hook.notifications()
        .iter()
        .filter(|n| n["resourceUrl"] == format!("/communications/calls/{call}"))
        .map(|n| {
            let data = &n["resourceData"];
            let mut line = format!(
                "{} {}",
                n["changeType"].as_str().unwrap(),
                data["state"].as_str().unwrap_or("-")
            );
            if data["resultInfo"].is_object() {
                line.push_str(&format!(
                    " {}/{}",
                    data["resultInfo"]["code"], data["resultInfo"]["subcode"]
                ));
            }
            line
        })
        .collect()
}

/// Waits until `call_log` has `lines`, then asserts it equals them.
pub async fn expect_log(hook: &Webhook, call: &str, lines: &[&str]) {
    let deadline = Instant::now() + WAIT;
    while call_log(hook, call).len() < lines.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(call_log(hook, call), lines, "notifications for call {call}");
}
