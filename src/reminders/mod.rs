//! Reminder calls: an extension of the Graph API (`/v1.0/communications/reminders`) with which an
//! application asks Switchboard to call someone at a given time, play prompts and hang up,
//! retrying per a policy when the call is not answered. Reminders live in SQLite, so a restart
//! between scheduling and the due time still delivers them; the final outcome is POSTed to the
//! application as a `commsNotification` and can be read back with GET.
//!
//! The README's "Reminders" section documents the resource; [`ReminderRequest::validate`] holds
//! every rule.

mod scheduler;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use scheduler::{Scheduler, start};

/// Outcomes of one reminder call.
pub const OUTCOMES: [&str; 6] = [
    "answered",
    "busy",
    "declined",
    "noAnswer",
    "unreachable",
    "failed",
];
/// Outcomes a retry policy may name.
pub const RETRYABLE: [&str; 4] = ["busy", "declined", "noAnswer", "unreachable"];
/// Most calls one reminder may place.
pub const MAX_ATTEMPTS: u32 = 10;
/// Longest delay between attempts, in seconds (one day).
pub const MAX_RETRY_DELAY_SECS: u64 = 86_400;
/// Furthest a reminder may be scheduled ahead, in seconds (one year).
pub const MAX_AHEAD_SECS: i64 = 366 * 86_400;

/// A reminder as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminder {
    /// Reminder id.
    pub id: String,
    /// Whom to call: `{"identity": identitySet}`.
    pub target: Value,
    /// When the first call is due (RFC 3339, UTC).
    pub due_date_time: String,
    /// Graph `mediaPrompt`s played when the call is answered.
    pub prompts: Vec<Value>,
    /// How many calls to place at most, how long to wait between them, and on which outcomes.
    pub retry: RetryPolicy,
    /// Where the final outcome is POSTed; `None`: the application's calling webhook.
    #[serde(default)]
    pub callback_uri: Option<String>,
    /// Echoed back in the outcome notification.
    #[serde(default)]
    pub client_context: Option<String>,
    /// `scheduled`, `calling`, `delivered`, `failed` or `cancelled`.
    pub status: String,
    /// The calls placed so far.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// When the next call is due, while one is.
    #[serde(default)]
    pub next_attempt_date_time: Option<String>,
    /// When the reminder was created.
    pub created_date_time: String,
}

/// When to call again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Calls placed at most, the first included (1–10).
    pub max_attempts: u32,
    /// Wait between one call's end and the next call, in seconds.
    pub delay_in_seconds: u64,
    /// Outcomes that lead to another call.
    pub retry_on: Vec<String>,
}

/// One call placed for a reminder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// When the call was placed.
    pub start_date_time: String,
    /// The call's id (owned by the reminder's application).
    #[serde(default)]
    pub call_id: Option<String>,
    /// One of [`OUTCOMES`].
    pub outcome: String,
    /// The call's ending `resultInfo`.
    #[serde(default)]
    pub result_info: Option<Value>,
}

/// `POST /communications/reminders` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderRequest {
    /// `{"identity": {"user": {"id": …}}}` or an `application` identity.
    pub target: Option<Value>,
    /// RFC 3339 time; or use `delayInSeconds`.
    pub due_date_time: Option<String>,
    /// Seconds from now; or use `dueDateTime`.
    pub delay_in_seconds: Option<u64>,
    /// `mediaPrompt`s.
    pub prompts: Option<Vec<Value>>,
    /// Retry policy; defaults: 3 attempts, 60 s apart, on every retryable outcome.
    pub retry: Option<RetryRequest>,
    /// Where the outcome goes.
    pub callback_uri: Option<String>,
    /// Echoed back.
    pub client_context: Option<String>,
}

/// The `retry` object as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryRequest {
    /// Calls at most.
    pub max_attempts: Option<u32>,
    /// Seconds between calls.
    pub delay_in_seconds: Option<u64>,
    /// Outcomes retried.
    pub retry_on: Option<Vec<String>>,
}

impl ReminderRequest {
    /// Checks every field; the error names the field, the value and what is allowed.
    pub fn validate(self, id: String, now: jiff::Timestamp) -> Result<Reminder, String> {
        let target = self
            .target
            .ok_or("target is missing; give {\"identity\": {\"user\": {\"id\": \"…\"}}}")?;
        let identity = &target["identity"];
        let party = ["user", "application"].iter().find(|k| {
            identity[**k]["id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        });
        if party.is_none() {
            return Err(format!(
                "target {target} names nobody; allowed: {{\"identity\": {{\"user\": {{\"id\": \"…\"}}}}}} or an application identity"
            ));
        }
        let due = match (self.due_date_time, self.delay_in_seconds) {
            (Some(text), None) => text.parse::<jiff::Timestamp>().map_err(|e| {
                format!(
                    "dueDateTime '{text}' is not an RFC 3339 time such as 2026-11-28T09:30:00Z: {e}"
                )
            })?,
            (None, Some(secs)) => {
                let secs = i64::try_from(secs)
                    .unwrap_or(i64::MAX)
                    .min(MAX_AHEAD_SECS + 1);
                now + jiff::SignedDuration::from_secs(secs)
            }
            (None, None) => return Err("dueDateTime or delayInSeconds is missing".into()),
            (Some(_), Some(_)) => {
                return Err("give dueDateTime or delayInSeconds, not both".into());
            }
        };
        if due.as_second() - now.as_second() > MAX_AHEAD_SECS {
            return Err(format!(
                "the reminder is due at {due}, more than 366 days ahead; allowed: up to 366 days"
            ));
        }
        let prompts = self.prompts.unwrap_or_default();
        if prompts.is_empty() || prompts.len() > 20 {
            return Err(format!(
                "prompts holds {} items; allowed: 1 to 20 mediaPrompts",
                prompts.len()
            ));
        }
        for (i, prompt) in prompts.iter().enumerate() {
            let info = &prompt["mediaInfo"];
            if info["uri"].as_str().is_none() && info["resourceId"].as_str().is_none() {
                return Err(format!(
                    "prompts[{i}] {prompt} has no mediaInfo.uri or mediaInfo.resourceId"
                ));
            }
        }
        let retry = self.retry.map_or(
            RetryRequest {
                max_attempts: None,
                delay_in_seconds: None,
                retry_on: None,
            },
            |r| r,
        );
        let max_attempts = retry.max_attempts.unwrap_or(3);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            return Err(format!(
                "retry.maxAttempts is {max_attempts}; allowed: 1 to {MAX_ATTEMPTS}"
            ));
        }
        let delay = retry.delay_in_seconds.unwrap_or(60);
        if !(1..=MAX_RETRY_DELAY_SECS).contains(&delay) {
            return Err(format!(
                "retry.delayInSeconds is {delay}; allowed: 1 to {MAX_RETRY_DELAY_SECS}"
            ));
        }
        let retry_on = retry
            .retry_on
            .unwrap_or_else(|| RETRYABLE.iter().map(|s| (*s).to_owned()).collect());
        if let Some(bad) = retry_on.iter().find(|o| !RETRYABLE.contains(&o.as_str())) {
            return Err(format!(
                "retry.retryOn holds '{bad}'; allowed: {}",
                RETRYABLE.join(", ")
            ));
        }
        if let Some(uri) = &self.callback_uri
            && !(uri.starts_with("https://") || uri.starts_with("http://"))
        {
            return Err(format!(
                "callbackUri '{uri}' is not an http:// or https:// URL"
            ));
        }
        if let Some(context) = &self.client_context
            && context.chars().count() > 256
        {
            return Err(format!(
                "clientContext has {} characters; allowed: at most 256",
                context.chars().count()
            ));
        }
        let due = due.max(now);
        Ok(Reminder {
            id,
            target: json!({"identity": identity}),
            due_date_time: due.to_string(),
            prompts,
            retry: RetryPolicy {
                max_attempts,
                delay_in_seconds: delay,
                retry_on,
            },
            callback_uri: self.callback_uri,
            client_context: self.client_context,
            status: "scheduled".into(),
            attempts: Vec::new(),
            next_attempt_date_time: Some(due.to_string()),
            created_date_time: now.to_string(),
        })
    }
}

impl Reminder {
    /// The resource as the API returns it.
    pub fn view(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        value["@odata.type"] = json!("#switchboard.reminder");
        value
    }

    /// The Graph path of this reminder.
    pub fn path(&self) -> String {
        format!("/communications/reminders/{}", self.id)
    }
}

/// The outcome of a call from the `resultInfo` it ended with, before it was answered.
pub fn outcome_of(code: i64, subcode: i64, message: &str) -> &'static str {
    match (code, subcode) {
        (480, 10076) if message.contains("busy") => "busy",
        (480, 10076) => "declined",
        (408, _) => "noAnswer",
        (480, _) | (404, _) => "unreachable",
        _ => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-11-28T05:00:00Z".parse().unwrap()
    }

    fn request(body: Value) -> Result<Reminder, String> {
        serde_json::from_value::<ReminderRequest>(body)
            .unwrap()
            .validate("r1".into(), now())
    }

    fn prompt() -> Value {
        json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"resourceId": "demo-reminder"}})
    }

    #[test]
    fn a_request_gets_the_default_policy_and_its_due_time() {
        let reminder = request(json!({"target": {"identity": {"user": {"id": "u1"}}},
            "delayInSeconds": 30, "prompts": [prompt()]}))
        .unwrap();
        assert_eq!(reminder.due_date_time, "2026-11-28T05:00:30Z");
        assert_eq!(reminder.retry.max_attempts, 3);
        assert_eq!(reminder.retry.delay_in_seconds, 60);
        assert_eq!(reminder.retry.retry_on, RETRYABLE);
        assert_eq!(reminder.status, "scheduled");
        assert_eq!(reminder.view()["@odata.type"], "#switchboard.reminder");
    }

    #[test]
    fn bad_fields_say_what_is_allowed() {
        let base = |extra: Value| {
            let mut body = json!({"target": {"identity": {"application": {"id": "a1"}}},
                "dueDateTime": "2026-11-28T06:00:00Z", "prompts": [prompt()]});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            request(body).unwrap_err()
        };
        assert!(base(json!({"target": {"identity": {}}})).contains("names nobody"));
        assert!(base(json!({"dueDateTime": "tomorrow"})).contains("RFC 3339"));
        assert!(base(json!({"delayInSeconds": 5})).contains("not both"));
        assert!(base(json!({"dueDateTime": "2028-01-01T00:00:00Z"})).contains("366 days"));
        assert!(base(json!({"prompts": []})).contains("1 to 20"));
        assert!(base(json!({"prompts": [{"mediaInfo": {}}]})).contains("prompts[0]"));
        assert!(base(json!({"retry": {"maxAttempts": 0}})).contains("1 to 10"));
        assert!(base(json!({"retry": {"delayInSeconds": 0}})).contains("delayInSeconds is 0"));
        assert!(base(json!({"retry": {"retryOn": ["sometimes"]}})).contains("'sometimes'"));
        assert!(base(json!({"callbackUri": "ftp://x"})).contains("callbackUri"));
    }

    #[test]
    fn call_endings_map_to_outcomes() {
        assert_eq!(
            outcome_of(480, 10076, "the callee rejected the call, reason busy"),
            "busy"
        );
        assert_eq!(
            outcome_of(480, 10076, "the user declined the call"),
            "declined"
        );
        assert_eq!(outcome_of(408, 10057, ""), "noAnswer");
        assert_eq!(outcome_of(408, 1106, ""), "noAnswer");
        assert_eq!(outcome_of(480, 10037, ""), "unreachable");
        assert_eq!(outcome_of(500, 1005, ""), "failed");
    }
}
