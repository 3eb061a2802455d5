//! One call through a bot's flow: the front-desk rules, then state after state. Every step is a
//! `/v1.0` request of the bot's application, and every outcome arrives as a notification, so a
//! built-in bot can do exactly what an external bot can and nothing more.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::analysis;
use super::client::GraphClient;
use super::events::{CallNotice, Outcome};
use super::flow::expr::Value as FlowValue;
use super::flow::hours::LocalMoment;
use super::flow::model::{RecordSpec, RemindSpec, Template};
use super::flow::vars::Variables;
use super::flow::{
    Action, AnalysisService, BotDefinition, ClosedAction, PartyRef, Prompt, StateId,
};

mod input;

/// Quiet kept before `hangup`: a prompt reports completion when its last packet is sent, while
/// the caller still has it in the jitter buffer, and a hang-up on the last word sounds rude.
const HANG_UP_GRACE: Duration = Duration::from_secs(2);
/// Longest wait for a transfer's outcome before the flow treats it as failed.
const TRANSFER_WAIT: Duration = Duration::from_secs(120);
/// Longest wait for the call to be established after answering.
const ESTABLISH_WAIT: Duration = Duration::from_secs(20);
/// Longest wait for one media operation (a recording lasts at most 120 s plus silences).
const OPERATION_WAIT: Duration = Duration::from_secs(300);

/// What a bot's calls share.
#[derive(Debug)]
pub struct BotRuntime {
    /// The bot's application, signed in.
    pub client: GraphClient,
    /// The bot: its application and the flow that answers its calls.
    pub bot: BotDefinition,
    /// The analysis services of the same file.
    pub analysis: Vec<AnalysisService>,
    /// HTTP client for analysis services.
    pub http: reqwest::Client,
}

/// Why the flow stopped early.
#[derive(Debug)]
enum Stop {
    /// The call ended (hung up, rejected, redirected, transferred away).
    Ended,
    /// A request failed in a way the flow cannot recover from.
    Broken(String),
}

/// How an action went.
enum Done {
    /// It succeeded: branch, then `next`.
    Success,
    /// It failed: `on_failure`.
    Failure(String),
    /// It chose the next state itself (a menu key).
    Goto(StateId),
    /// It ended the flow and the call is no longer the bot's.
    Finished,
}

/// One running call.
pub struct CallFlow {
    rt: Arc<BotRuntime>,
    call_id: String,
    events: mpsc::UnboundedReceiver<CallNotice>,
    vars: Variables,
    caller: Option<PartyRef>,
    answered: bool,
    ended: bool,
    keys: VecDeque<char>,
    recording: Option<(String, String)>,
}

impl CallFlow {
    /// A flow for incoming call `call_id`; its notifications arrive on `events`.
    pub fn new(
        rt: Arc<BotRuntime>,
        call_id: String,
        events: mpsc::UnboundedReceiver<CallNotice>,
    ) -> CallFlow {
        CallFlow {
            rt,
            call_id,
            events,
            vars: Variables::default(),
            caller: None,
            answered: false,
            ended: false,
            keys: VecDeque::new(),
            recording: None,
        }
    }

    /// Runs the call to its end; `incoming` is the `created` notification's call.
    pub async fn run(mut self, incoming: Value) {
        let limit = self.rt.bot.max_call;
        let outcome = tokio::time::timeout(limit, self.drive(&incoming)).await;
        let reason = match outcome {
            Ok(Ok(()) | Err(Stop::Ended)) => None,
            Ok(Err(Stop::Broken(reason))) => Some(reason),
            Err(_) => Some(format!(
                "the call passed the bot's max_call_secs ({limit:?})"
            )),
        };
        if let Some(reason) = reason {
            tracing::warn!(bot = %self.rt.bot.name, call = %self.call_id, %reason, "flow stopped; hanging up");
        }
        if !self.ended {
            let _ = self.rt.client.delete(&self.path("")).await;
        }
    }

    fn path(&self, action: &str) -> String {
        if action.is_empty() {
            format!("/communications/calls/{}", self.call_id)
        } else {
            format!("/communications/calls/{}/{action}", self.call_id)
        }
    }

    async fn drive(&mut self, incoming: &Value) -> Result<(), Stop> {
        self.fill_variables(incoming);
        let rt = Arc::clone(&self.rt);
        let bot = &rt.bot;
        let caller_id = self.caller.as_ref().map(|c| c.id().to_owned());
        if let Some(id) = &caller_id
            && bot.rules.block.iter().any(|b| b == id)
        {
            tracing::info!(bot = %bot.name, call = %self.call_id, caller = %id, "blocked caller; rejecting");
            let body = json!({"reason": bot.rules.block_reason.as_str()});
            self.request("reject", &body).await?;
            self.ended = true;
            return Ok(());
        }
        let mut state = Some(bot.flow.start);
        if let Some(hours) = &bot.rules.hours {
            let now = jiff::Timestamp::now().to_zoned_datetime(bot.timezone.clone());
            if !hours.is_open(LocalMoment::of(&now)) {
                match &bot.rules.closed {
                    ClosedAction::RunFlow => {}
                    ClosedAction::Goto(target) => state = Some(*target),
                    ClosedAction::Redirect { targets, timeout } => {
                        tracing::info!(bot = %bot.name, call = %self.call_id, "outside office hours; redirecting");
                        self.redirect(targets, *timeout).await?;
                        return Ok(());
                    }
                }
            }
        }
        while let Some(id) = state {
            state = self.run_state(id).await?;
        }
        if !self.ended {
            self.hang_up().await?;
        }
        Ok(())
    }

    fn fill_variables(&mut self, incoming: &Value) {
        let identity = &incoming["source"]["identity"];
        for (kind, key) in [("user", "user"), ("app", "application")] {
            if let Some(id) = identity[key]["id"].as_str() {
                self.caller = Some(match kind {
                    "user" => PartyRef::User(id.to_owned()),
                    _ => PartyRef::App(id.to_owned()),
                });
                self.vars.set("caller.id", FlowValue::Str(id.to_owned()));
                self.vars
                    .set("caller.kind", FlowValue::Str(kind.to_owned()));
                let name = identity[key]["displayName"].as_str().unwrap_or_default();
                self.vars
                    .set("caller.name", FlowValue::Str(name.to_owned()));
                break;
            }
        }
        let bot = &self.rt.bot;
        let now = jiff::Timestamp::now().to_zoned_datetime(bot.timezone.clone());
        let open = bot
            .rules
            .hours
            .as_ref()
            .is_none_or(|h| h.is_open(LocalMoment::of(&now)));
        self.vars.set("office.open", FlowValue::Bool(open));
        self.vars
            .set("time", FlowValue::Str(now.strftime("%H:%M").to_string()));
        self.vars.set(
            "weekday",
            FlowValue::Str(now.strftime("%a").to_string().to_lowercase()),
        );
        self.vars
            .set("date", FlowValue::Str(now.strftime("%Y-%m-%d").to_string()));
    }

    async fn run_state(&mut self, id: StateId) -> Result<Option<StateId>, Stop> {
        let rt = Arc::clone(&self.rt);
        let state = &rt.bot.flow.states[id];
        tracing::debug!(bot = %rt.bot.name, call = %self.call_id, state = %state.name, "entering state");
        for (name, template) in &state.set {
            let text = self.render(template);
            self.vars.set(name, FlowValue::Str(text));
        }
        let done = match &state.action {
            Action::Reject(reason) => {
                self.request("reject", &json!({"reason": reason.as_str()}))
                    .await?;
                self.ended = true;
                Done::Finished
            }
            Action::Redirect { targets, timeout } => {
                self.redirect(targets, *timeout).await?;
                Done::Finished
            }
            Action::Menu(menu) => self.menu(&state.play, menu).await?,
            Action::Collect(collect) => self.collect(&state.play, collect).await?,
            other => {
                self.play(&state.play, false).await?;
                self.act(other).await?
            }
        };
        Ok(match done {
            Done::Finished => None,
            Done::Goto(next) => Some(next),
            Done::Success => state
                .branch
                .iter()
                .find(|(condition, _)| condition.holds(&self.vars))
                .map(|(_, target)| *target)
                .or(state.next),
            Done::Failure(reason) => {
                tracing::info!(bot = %rt.bot.name, call = %self.call_id, state = %state.name, %reason, "action failed");
                state.on_failure
            }
        })
    }

    async fn act(&mut self, action: &Action) -> Result<Done, Stop> {
        match action {
            Action::Nothing => Ok(Done::Success),
            Action::Answer => {
                self.ensure_answered().await?;
                Ok(Done::Success)
            }
            Action::Transfer(targets) => self.transfer(targets).await,
            Action::Record(spec) => self.record(spec).await,
            Action::Analyse(name) => self.analyse(name).await,
            Action::Remind(spec) => self.remind(spec).await,
            Action::HangUp => {
                if self.answered {
                    // Let the last prompt drain from the caller's jitter buffer first.
                    tokio::time::sleep(HANG_UP_GRACE).await;
                }
                self.hang_up().await?;
                Ok(Done::Finished)
            }
            // Handled by run_state before media starts.
            Action::Reject(_) | Action::Redirect { .. } | Action::Menu(_) | Action::Collect(_) => {
                Ok(Done::Success)
            }
        }
    }

    fn render(&self, template: &Template) -> String {
        self.vars.render(template)
    }

    /// POSTs `/v1.0/communications/calls/{id}/{action}`.
    async fn request(&mut self, action: &str, body: &Value) -> Result<Value, Stop> {
        match self.rt.client.post(&self.path(action), body).await {
            Ok(value) => Ok(value),
            Err(error) => {
                // A request refused because the call ended meanwhile is the caller hanging up.
                self.drain_events();
                if self.ended {
                    Err(Stop::Ended)
                } else {
                    Err(Stop::Broken(error.to_string()))
                }
            }
        }
    }

    fn drain_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.note(&event);
        }
    }

    /// Book-keeping every event gets: keys are buffered, the end of the call is remembered.
    fn note(&mut self, event: &CallNotice) {
        match event {
            CallNotice::Tone(key) => self.keys.push_back(*key),
            CallNotice::State { state, .. } if state == "terminated" => self.ended = true,
            _ => {}
        }
    }

    /// The next event before `deadline`; `Ok(None)` when the deadline passes first.
    async fn next_event(&mut self, deadline: Instant) -> Result<Option<CallNotice>, Stop> {
        if self.ended {
            return Err(Stop::Ended);
        }
        match tokio::time::timeout_at(deadline, self.events.recv()).await {
            Err(_) => Ok(None),
            Ok(None) => Err(Stop::Broken("the bot's notification inbox closed".into())),
            Ok(Some(event)) => {
                tracing::trace!(call = %self.call_id, ?event, "call event");
                self.note(&event);
                if self.ended {
                    return Err(Stop::Ended);
                }
                Ok(Some(event))
            }
        }
    }

    async fn ensure_answered(&mut self) -> Result<(), Stop> {
        if self.answered {
            return Ok(());
        }
        let body = json!({
            "acceptedModalities": ["audio"],
            "mediaConfig": {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
        });
        self.request("answer", &body).await?;
        let deadline = Instant::now() + ESTABLISH_WAIT;
        loop {
            match self.next_event(deadline).await? {
                None => return Err(Stop::Broken("the call was not established in time".into())),
                Some(CallNotice::State { state, .. }) if state == "established" => break,
                Some(_) => {}
            }
        }
        self.answered = true;
        // Keys are collected from the start so a caller may type ahead of a menu.
        self.request("subscribeToTone", &json!({"clientContext": "flow"}))
            .await?;
        Ok(())
    }

    async fn hang_up(&mut self) -> Result<(), Stop> {
        if self.ended {
            return Ok(());
        }
        match self.rt.client.delete(&self.path("")).await {
            Ok(()) => {
                self.ended = true;
                Ok(())
            }
            Err(error) => {
                self.drain_events();
                if self.ended {
                    Ok(())
                } else {
                    Err(Stop::Broken(error.to_string()))
                }
            }
        }
    }

    async fn redirect(&mut self, targets: &[PartyRef], timeout: Duration) -> Result<(), Stop> {
        let targets: Vec<Value> = targets
            .iter()
            .map(|t| json!({"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": t.identity_set()}))
            .collect();
        let body = json!({"targets": targets, "timeout": timeout.as_secs()});
        self.request("redirect", &body).await?;
        self.ended = true;
        Ok(())
    }

    /// Starts a media operation; returns its id, or its final outcome when it finished at once.
    async fn start_operation(
        &mut self,
        action: &str,
        body: &Value,
    ) -> Result<Result<String, OpResult>, Stop> {
        let op = self.request(action, body).await?;
        let status = op["status"].as_str().unwrap_or_default().to_lowercase();
        if status == "completed" || status == "failed" {
            return Ok(Err(OpResult {
                status,
                outcome: None,
                recording: None,
            }));
        }
        match op["id"].as_str() {
            Some(id) => Ok(Ok(id.to_owned())),
            None => Err(Stop::Broken(format!(
                "{action} returned no operation id: {op}"
            ))),
        }
    }

    /// Waits for operation `id` to finish; a key cancels it when `interruptible`.
    async fn wait_operation(&mut self, id: &str, interruptible: bool) -> Result<OpResult, Stop> {
        let deadline = Instant::now() + OPERATION_WAIT;
        let mut cancelled = false;
        loop {
            if interruptible && !cancelled && !self.keys.is_empty() {
                cancelled = true;
                self.request("cancelMediaProcessing", &json!({})).await?;
            }
            match self.next_event(deadline).await? {
                None => return Err(Stop::Broken(format!("operation {id} never finished"))),
                Some(CallNotice::OperationDone {
                    id: done,
                    status,
                    outcome,
                    recording,
                }) if done == id => {
                    return Ok(OpResult {
                        status,
                        outcome,
                        recording,
                    });
                }
                Some(_) => {}
            }
        }
    }

    /// Plays `prompts` to the end (or until a key, when `interruptible`).
    async fn play(&mut self, prompts: &[Prompt], interruptible: bool) -> Result<(), Stop> {
        if prompts.is_empty() {
            return Ok(());
        }
        self.ensure_answered().await?;
        let prompts: Vec<Value> = prompts.iter().map(Prompt::media_prompt).collect();
        let body = json!({"prompts": prompts, "clientContext": "flow"});
        if let Ok(id) = self.start_operation("playPrompt", &body).await? {
            let result = self.wait_operation(&id, interruptible).await?;
            if result.status == "failed" {
                tracing::warn!(bot = %self.rt.bot.name, call = %self.call_id, outcome = ?result.outcome, "prompt failed");
            }
        }
        Ok(())
    }

    async fn transfer(&mut self, targets: &[PartyRef]) -> Result<Done, Stop> {
        self.ensure_answered().await?;
        let mut last = String::from("no transfer target");
        for target in targets {
            let body = json!({"transferTarget": {
                "@odata.type": "#microsoft.graph.invitationParticipantInfo",
                "endpointType": "default",
                "identity": target.identity_set(),
            }});
            if let Err(error) = self.rt.client.post(&self.path("transfer"), &body).await {
                self.drain_events();
                if self.ended {
                    return Ok(Done::Finished);
                }
                last = error.to_string();
                continue;
            }
            let deadline = Instant::now() + TRANSFER_WAIT;
            loop {
                match self.next_event(deadline).await {
                    // Transferred: this leg ends with 200/7015.
                    Err(Stop::Ended) => return Ok(Done::Finished),
                    Err(other) => return Err(other),
                    Ok(None) => {
                        last = format!("transfer to {} did not finish in time", target.id());
                        break;
                    }
                    Ok(Some(CallNotice::State { state, outcome })) if state == "established" => {
                        last = format!(
                            "transfer to {} failed: {}",
                            target.id(),
                            outcome.map(|o| o.message).unwrap_or_default()
                        );
                        break;
                    }
                    Ok(Some(_)) => {}
                }
            }
        }
        Ok(Done::Failure(last))
    }

    async fn record(&mut self, spec: &RecordSpec) -> Result<Done, Stop> {
        self.ensure_answered().await?;
        // Graph spells stop tones as the keys themselves ("#"), unlike toneInfo's tone names.
        let stop_tones: Vec<String> = spec.stop_keys.iter().map(char::to_string).collect();
        let body = json!({
            "bargeInAllowed": false,
            "initialSilenceTimeoutInSeconds": spec.initial_silence_secs,
            "maxSilenceTimeoutInSeconds": spec.max_silence_secs,
            "maxRecordDurationInSeconds": spec.max_secs,
            "playBeep": spec.beep,
            "stopTones": stop_tones,
            "clientContext": "flow",
        });
        let result = match self.start_operation("recordResponse", &body).await? {
            Ok(id) => self.wait_operation(&id, false).await?,
            Err(done) => done,
        };
        // Keys that ended the recording are not menu input.
        self.keys.clear();
        match (result.status.as_str(), result.recording) {
            ("completed", Some(recording)) => {
                self.recording = Some(recording);
                Ok(Done::Success)
            }
            _ => Ok(Done::Failure(format!(
                "no recording: {}",
                result.outcome.map(|o| o.message).unwrap_or(result.status)
            ))),
        }
    }

    async fn analyse(&mut self, name: &str) -> Result<Done, Stop> {
        let Some(service) = self.rt.analysis.iter().find(|s| s.name == name) else {
            return Ok(Done::Failure(format!("no analysis service '{name}'")));
        };
        let Some((location, token)) = self.recording.clone() else {
            return Ok(Done::Failure("nothing was recorded to analyse".into()));
        };
        let wav = match self.rt.client.download(&location, &token).await {
            Ok(wav) => wav,
            Err(error) => return Ok(Done::Failure(format!("downloading the recording: {error}"))),
        };
        // The analysis runs while notifications keep arriving; they are read afterwards.
        match analysis::analyse(&self.rt.http, service, wav).await {
            Ok(result) => {
                tracing::info!(bot = %self.rt.bot.name, call = %self.call_id, %result, "analysis result");
                self.vars.set_analysis(result);
                Ok(Done::Success)
            }
            Err(error) => {
                self.vars.set_analysis(Value::Null);
                Ok(Done::Failure(error.to_string()))
            }
        }
    }

    async fn remind(&mut self, spec: &RemindSpec) -> Result<Done, Stop> {
        let Some(caller) = self.caller.clone() else {
            return Ok(Done::Failure(
                "the caller has no identity to call back".into(),
            ));
        };
        let due = jiff::Timestamp::now() + spec.after;
        let body = json!({
            "target": {"identity": caller.identity_set()},
            "dueDateTime": due.to_string(),
            "prompts": [spec.prompt.media_prompt()],
            "retry": {
                "maxAttempts": spec.attempts,
                "delayInSeconds": spec.retry_after.as_secs(),
                "retryOn": spec.retry_on,
            },
            "clientContext": format!("call {}", self.call_id),
        });
        match self
            .rt
            .client
            .post("/communications/reminders", &body)
            .await
        {
            Ok(reminder) => {
                tracing::info!(bot = %self.rt.bot.name, call = %self.call_id, reminder = %reminder["id"], "reminder scheduled");
                Ok(Done::Success)
            }
            Err(error) => Ok(Done::Failure(format!("scheduling the reminder: {error}"))),
        }
    }
}

/// How a media operation ended.
struct OpResult {
    status: String,
    outcome: Option<Outcome>,
    recording: Option<(String, String)>,
}
