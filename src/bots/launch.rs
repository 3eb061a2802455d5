//! Starting the built-in bots once the server listens: each bot becomes an application of the
//! directory with a fresh secret and a calling webhook on the loopback [`Inbox`], signs in like
//! any bot, and runs one [`CallFlow`] per incoming call.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use super::call_flow::{BotRuntime, CallFlow};
use super::client::{Credentials, GraphClient};
use super::events::{CallNotice, classify};
use super::flow::FlowConfig;
use super::inbox::Inbox;
use crate::auth::secret::{generate_secret, hash_secret};
use crate::store::{AppRecord, Store};

/// Longest a built-in bot or the reminder scheduler waits for one API request or download.
const API_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Why the built-in bots could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// Registering a bot's application failed.
    #[error("built-in bot '{bot}': {source}")]
    Store {
        /// The bot's name.
        bot: String,
        /// Why the directory (SQLite) refused to register the bot's application.
        source: crate::store::StoreError,
    },
}

/// The address the server's own clients use: loopback when it listens on every interface.
pub fn local_base_url(bound: SocketAddr) -> String {
    if bound.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", bound.port())
    } else {
        format!("http://{bound}")
    }
}

/// The client built-in bots and the reminder scheduler call this server's API with: requests to
/// the same server are quick, and a stuck one must not hold a call for long.
pub fn api_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(API_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Registers the built-in bots of `flows` as applications with fresh secrets and starts them;
/// they reach the API at `base_url` with `http` and get their notifications through `inbox`.
pub async fn start(
    flows: &FlowConfig,
    store: &Store,
    inbox: &Inbox,
    base_url: &str,
    http: reqwest::Client,
) -> Result<(), LaunchError> {
    // Analysis services get their own per-service timeout instead.
    let analysis_http = reqwest::Client::new();
    for bot in &flows.bots {
        // A new secret each start: only this process ever signs in as the bot.
        let secret = generate_secret();
        store
            .upsert_app(AppRecord {
                id: bot.app_id.clone(),
                tenant_id: bot.tenant.clone(),
                name: bot.name.clone(),
                secret_hash: Some(hash_secret(&secret)),
                calling_webhook: Some(inbox.url(&format!("bots/{}", bot.app_id))),
            })
            .await
            .map_err(|source| LaunchError::Store {
                bot: bot.name.clone(),
                source,
            })?;
        let runtime = Arc::new(BotRuntime {
            client: GraphClient::new(
                http.clone(),
                base_url,
                &bot.tenant,
                &bot.app_id,
                Credentials::Secret(secret),
            ),
            bot: bot.clone(),
            analysis: flows.analysis.clone(),
            http: analysis_http.clone(),
        });
        let notifications = inbox.register(&format!("bots/{}", bot.app_id), &bot.app_id);
        tokio::spawn(dispatch(runtime, notifications));
        tracing::info!(bot = %bot.name, app_id = %bot.app_id, "built-in bot answering calls");
    }
    Ok(())
}

/// Printed, like the demo credentials, so a newcomer sees where to click.
pub fn print_bots_banner(bots: &[super::flow::BotDefinition], public_url: &str) {
    let mut text =
        String::from("\nBuilt-in bots (call them from the softphone page or as an app):\n");
    for bot in bots {
        text.push_str(&format!(
            "  {:<14} app id {}   flow {}\n",
            bot.name, bot.app_id, bot.origin
        ));
    }
    text.push_str(&format!(
        "\nTry it: open {public_url}/ and call Front Desk. Press 1 to reach an agent (sign in as an \
         agent in a second tab first), 2 to leave a message and hear it analysed, 3 for a reminder \
         call in 30 seconds.\n"
    ));
    println!("{text}");
}

/// Hands each notification of a bot to the flow of its call, starting a flow per incoming call.
async fn dispatch(runtime: Arc<BotRuntime>, mut notifications: mpsc::UnboundedReceiver<Value>) {
    let mut calls: HashMap<String, mpsc::UnboundedSender<CallNotice>> = HashMap::new();
    while let Some(notification) = notifications.recv().await {
        let Some((call_id, event)) = classify(&notification) else {
            continue;
        };
        match event {
            CallNotice::Incoming(call) => {
                let (sender, receiver) = mpsc::unbounded_channel();
                calls.insert(call_id.clone(), sender);
                let flow = CallFlow::new(Arc::clone(&runtime), call_id, receiver);
                tokio::spawn(flow.run(call));
            }
            event => {
                let ended =
                    matches!(&event, CallNotice::State { state, .. } if state == "terminated");
                if let Some(sender) = calls.get(&call_id)
                    && sender.send(event).is_err()
                {
                    calls.remove(&call_id);
                }
                if ended {
                    calls.remove(&call_id);
                }
            }
        }
    }
}
