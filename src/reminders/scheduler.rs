//! The reminder scheduler: claims due reminders from the store, places each call as the
//! reminder's application through the public `/v1.0` API (its notifications come back through
//! the loopback inbox), plays the prompts, hangs up, and records the outcome — scheduling the next
//! attempt or reporting the final outcome to the application.
//!
//! The store is polled rather than woken: the reminder routes only write rows, the scheduler only
//! reads due ones, and a restart needs nothing but the rows.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Attempt, Reminder, outcome_of};
use crate::auth::tokens::TokenService;
use crate::bots::client::{Credentials, GraphClient};
use crate::bots::events::{CallNotice, classify};
use crate::bots::inbox::Inbox;
use crate::graph::odata::type_name;
use crate::graph::{ChangeType, CommsNotification};
use crate::notify::{Notifier, Outbound};
use crate::store::{ReminderRow, Store};

/// How often the store is asked for due reminders.
const POLL: Duration = Duration::from_millis(250);
/// Quiet kept after the prompts before hanging up: the last packets are still in the callee's
/// jitter buffer when the prompt reports completion, and a hang-up on the last word sounds rude.
const HANG_UP_GRACE: Duration = Duration::from_secs(2);
/// Longest one reminder call may take, ringing and prompts included.
const ATTEMPT_LIMIT: Duration = Duration::from_secs(300);

/// What the scheduler works with: the reminders' store, the notifier for outcomes, the server's
/// token service (a reminder's call is placed as its application), the loopback inbox its calls'
/// notifications come back to, and the server's own base URL with an HTTP client for the API.
pub struct Scheduler {
    /// Where reminders are kept.
    pub store: Store,
    /// Delivers each reminder's outcome to its application.
    pub notifier: Notifier,
    /// Issues the tokens a reminder's calls are placed with.
    pub tokens: Arc<TokenService>,
    /// The server's own address for API requests (`http://127.0.0.1:PORT`).
    pub base_url: String,
    /// Where the reminder calls' notifications arrive.
    pub inbox: Inbox,
    /// The client for API requests.
    pub http: reqwest::Client,
}

/// Starts the scheduler; reminders cut off by an earlier stop are due again at once.
pub fn start(scheduler: Scheduler) {
    let scheduler = Arc::new(scheduler);
    tokio::spawn(async move {
        match scheduler.store.resume_interrupted_reminders(now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                reminders = n,
                "reminder calls cut off by the last stop are due again"
            ),
            Err(error) => tracing::error!(%error, "cannot resume interrupted reminders"),
        }
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match scheduler.store.claim_due_reminders(now_ms()).await {
                Ok(due) => {
                    for row in due {
                        tokio::spawn(Arc::clone(&scheduler).attempt(row));
                    }
                }
                Err(error) => tracing::error!(%error, "cannot read due reminders"),
            }
        }
    });
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Scheduler {
    async fn attempt(self: Arc<Self>, row: ReminderRow) {
        let mut reminder: Reminder = match serde_json::from_value(row.document.clone()) {
            Ok(reminder) => reminder,
            Err(error) => {
                tracing::error!(reminder = %row.id, %error, "stored reminder is corrupt");
                return;
            }
        };
        let number = reminder.attempts.len() + 1;
        let key = format!("reminders/{}/{number}", reminder.id);
        let mut events = self.inbox.register(&key, &row.app_id);
        let client = GraphClient::new(
            self.http.clone(),
            &self.base_url,
            &row.tenant_id,
            &row.app_id,
            Credentials::Issued(Arc::clone(&self.tokens)),
        );
        let started = jiff::Timestamp::now();
        let mut call_id = None;
        let callback_uri = self.inbox.url(&key);
        let call = call(&client, &reminder, &callback_uri, &mut events, &mut call_id);
        let (outcome, result_info) = match tokio::time::timeout(ATTEMPT_LIMIT, call).await {
            Ok(result) => result,
            Err(_) => {
                if let Some(id) = &call_id {
                    let _ = client.delete(&format!("/communications/calls/{id}")).await;
                }
                (
                    "failed",
                    Some(json!({"code": 408, "subcode": 0,
                    "message": format!("the reminder call did not finish within {ATTEMPT_LIMIT:?}")})),
                )
            }
        };
        self.inbox.unregister(&key);
        tracing::info!(reminder = %reminder.id, attempt = number, outcome, "reminder call ended");
        reminder.attempts.push(Attempt {
            start_date_time: started.to_string(),
            call_id,
            outcome: outcome.to_owned(),
            result_info,
        });
        let retry = &reminder.retry;
        let again = outcome != "answered"
            && reminder.attempts.len() < retry.max_attempts as usize
            && retry.retry_on.iter().any(|o| o == outcome);
        let next_at = now_ms() + i64::try_from(retry.delay_in_seconds * 1000).unwrap_or(i64::MAX);
        reminder.status = match (outcome, again) {
            ("answered", _) => "delivered",
            (_, true) => "scheduled",
            _ => "failed",
        }
        .to_owned();
        reminder.next_attempt_date_time = again.then(|| {
            jiff::Timestamp::from_millisecond(next_at)
                .map(|t| t.to_string())
                .unwrap_or_default()
        });
        let stored = ReminderRow {
            status: reminder.status.clone(),
            next_attempt_at: if again { next_at } else { 0 },
            document: serde_json::to_value(&reminder).unwrap_or_default(),
            ..row
        };
        let (app_id, tenant_id) = (stored.app_id.clone(), stored.tenant_id.clone());
        if let Err(error) = self.store.put_reminder(stored).await {
            tracing::error!(reminder = %reminder.id, %error, "cannot store the reminder's outcome");
            return;
        }
        // `updated` after an attempt that will be retried, `deleted` with the final outcome.
        let change = if again {
            ChangeType::Updated
        } else {
            ChangeType::Deleted
        };
        self.report(&app_id, &tenant_id, &reminder, change).await;
    }

    /// POSTs the reminder to its callback URI (or the app's calling webhook).
    async fn report(&self, app_id: &str, tenant_id: &str, reminder: &Reminder, change: ChangeType) {
        let uri = match &reminder.callback_uri {
            Some(uri) => Some(uri.clone()),
            None => match self.store.get_app(app_id).await {
                Ok(app) => app.and_then(|a| a.calling_webhook),
                Err(error) => {
                    tracing::error!(%error, "cannot read the reminder's application");
                    None
                }
            },
        };
        let Some(callback_uri) = uri else {
            tracing::warn!(reminder = %reminder.id, "no callbackUri nor calling webhook; the outcome is only readable with GET");
            return;
        };
        let path = reminder.path();
        let notification = CommsNotification {
            odata_type: type_name("commsNotification"),
            change_type: change,
            resource: Some(path.replacen("/communications", "/app", 1)),
            resource_url: path,
            callback_uri: Some(callback_uri.clone()),
            resource_data: reminder.view(),
            extensions: serde_json::Map::new(),
        };
        let _ = self.notifier.enqueue(Outbound {
            app_id: app_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            callback_uri,
            ordering_key: reminder.id.clone(),
            notification,
        });
    }
}

/// Places one reminder call and plays its prompts: the outcome and the call's `resultInfo`.
async fn call(
    client: &GraphClient,
    reminder: &Reminder,
    callback_uri: &str,
    events: &mut mpsc::UnboundedReceiver<Value>,
    call_id: &mut Option<String>,
) -> (&'static str, Option<Value>) {
    let body = json!({
        "@odata.type": "#microsoft.graph.call",
        "callbackUri": callback_uri,
        "targets": [{"@odata.type": "#microsoft.graph.invitationParticipantInfo",
                     "identity": reminder.target["identity"]}],
        "requestedModalities": ["audio"],
        "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
    });
    let created = match client.post("/communications/calls", &body).await {
        Ok(created) => created,
        Err(error) => {
            return (
                "failed",
                Some(json!({"code": 400, "subcode": 0, "message": error.to_string()})),
            );
        }
    };
    let Some(id) = created["id"].as_str().map(str::to_owned) else {
        return ("failed", None);
    };
    *call_id = Some(id.clone());
    let path = format!("/communications/calls/{id}");
    let mut answered = false;
    let mut prompt_op: Option<String> = None;
    while let Some(notification) = events.recv().await {
        let Some((call, event)) = classify(&notification) else {
            continue;
        };
        if call != id {
            continue;
        }
        match event {
            CallNotice::State { state, outcome } if state == "terminated" => {
                let info = outcome
                    .as_ref()
                    .map(|o| json!({"code": o.code, "subcode": o.subcode, "message": o.message}));
                if answered {
                    return ("answered", info);
                }
                let (code, subcode, message) = outcome
                    .map(|o| (o.code, o.subcode, o.message))
                    .unwrap_or_default();
                return (outcome_of(code, subcode, &message), info);
            }
            CallNotice::State { state, .. } if state == "established" && !answered => {
                answered = true;
                let play = json!({"prompts": reminder.prompts, "clientContext": reminder.id});
                match client.post(&format!("{path}/playPrompt"), &play).await {
                    Ok(op) => {
                        let status = op["status"].as_str().unwrap_or_default().to_lowercase();
                        if status == "completed" || status == "failed" {
                            let _ = client.delete(&path).await;
                        } else {
                            prompt_op = op["id"].as_str().map(str::to_owned);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(reminder = %reminder.id, %error, "reminder prompt refused");
                        let _ = client.delete(&path).await;
                    }
                }
            }
            CallNotice::OperationDone { id: op, .. } if prompt_op.as_deref() == Some(&op) => {
                tokio::time::sleep(HANG_UP_GRACE).await;
                let _ = client.delete(&path).await;
            }
            _ => {}
        }
    }
    ("failed", None)
}
