//! What a checked flow is: bots, their front-desk rules, states and actions. Built only by
//! [`super::parse`], so every reference in it resolves and every value is in range.

use std::time::Duration;

use super::expr::Expr;
use super::hours::OfficeHours;
use super::source::Location;

/// Index of a state in [`Flow::states`].
pub type StateId = usize;

/// A built-in bot: an application of the directory whose calls a flow answers.
#[derive(Debug, Clone)]
pub struct BotDefinition {
    /// Application id (the bot's identity; callers call this id).
    pub app_id: String,
    /// Display name.
    pub name: String,
    /// Tenant the application is registered in.
    pub tenant: String,
    /// Time zone of office hours and of the `time`, `weekday` and `date` variables.
    pub timezone: jiff::tz::TimeZone,
    /// Name of the time zone as configured.
    pub timezone_name: String,
    /// The bot hangs up a call that lasts longer than this.
    pub max_call: Duration,
    /// Rules applied to every incoming call before the flow starts.
    pub rules: FrontDeskRules,
    /// Its `[bots.states.<name>]` tables: what it does with each call the front desk lets through.
    pub flow: Flow,
    /// Where the `[[bots]]` entry starts.
    pub origin: Location,
    /// Every directory party the flow names (transfer, redirect, block list), with where, for the
    /// start-up check against the directory.
    pub parties: Vec<(PartyRef, Location)>,
    /// Every prompt file (resource id) the flow names, with where, for the start-up check
    /// against the prompts folder.
    pub resource_prompts: Vec<(String, Location)>,
}

/// Front-desk rules: checked on every incoming call, in this order.
#[derive(Debug, Clone, Default)]
pub struct FrontDeskRules {
    /// Callers (user or application ids) rejected at once.
    pub block: Vec<String>,
    /// The reason given when rejecting a blocked caller.
    pub block_reason: RejectReason,
    /// Opening hours; `None` means always open.
    pub hours: Option<OfficeHours>,
    /// What happens outside the hours.
    pub closed: ClosedAction,
}

/// What the front desk does with a call outside office hours.
#[derive(Debug, Clone, Default)]
pub enum ClosedAction {
    /// Run the flow anyway (the flow can branch on `office.open`).
    #[default]
    RunFlow,
    /// Redirect the call to these parties, ringing for `timeout`.
    Redirect {
        /// Targets, rung at once.
        targets: Vec<PartyRef>,
        /// Ring time (15–90 s).
        timeout: Duration,
    },
    /// Start the flow in this state instead of the start state.
    Goto(StateId),
}

/// The reason of a rejection, as Graph names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RejectReason {
    /// `none`
    None,
    /// `busy`
    Busy,
    /// `forbidden`
    #[default]
    Forbidden,
}

impl RejectReason {
    /// The `rejectReason` value sent in the reject request.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::None => "none",
            RejectReason::Busy => "busy",
            RejectReason::Forbidden => "forbidden",
        }
    }
}

/// A user or an application of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyRef {
    /// A user's object id: rung on the softphones the user is signed in on.
    User(String),
    /// An application's (client) id: it gets an incoming call at its calling webhook.
    App(String),
}

impl PartyRef {
    /// The user's object id or the application's id, whichever this party is.
    pub fn id(&self) -> &str {
        match self {
            PartyRef::User(id) | PartyRef::App(id) => id,
        }
    }

    /// The Graph `identitySet` naming this party.
    pub fn identity_set(&self) -> serde_json::Value {
        match self {
            PartyRef::User(id) => serde_json::json!({"user": {"id": id}}),
            PartyRef::App(id) => serde_json::json!({"application": {"id": id}}),
        }
    }
}

/// A prompt: a file in the prompts folder, or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// `mediaInfo.resourceId`: a WAV in `media.prompts.dir`.
    Resource(String),
    /// `mediaInfo.uri`: fetched over http(s).
    Uri(String),
}

impl Prompt {
    /// The Graph `mediaPrompt` for this prompt.
    pub fn media_prompt(&self) -> serde_json::Value {
        let media_info = match self {
            Prompt::Resource(id) => serde_json::json!({"resourceId": id}),
            Prompt::Uri(uri) => serde_json::json!({"uri": uri}),
        };
        serde_json::json!({"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": media_info})
    }
}

/// A bot's flow: its states and the one every answered call starts in.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The state every answered call starts in.
    pub start: StateId,
    /// Every state, in file order.
    pub states: Vec<State>,
}

impl Flow {
    /// The id of the state named `name`.
    pub fn state_named(&self, name: &str) -> Option<StateId> {
        self.states.iter().position(|s| s.name == name)
    }
}

/// One state: set variables, play prompts, do one action, then move on.
#[derive(Debug, Clone)]
pub struct State {
    /// The state's name.
    pub name: String,
    /// Variables set on entry, in order; values may hold `{variable}` placeholders.
    pub set: Vec<(String, Template)>,
    /// Prompts played on entry (before the action; a menu's prompts can be interrupted by a key).
    pub play: Vec<Prompt>,
    /// What the state does.
    pub action: Action,
    /// Conditions tried in order once the action succeeded; the first that holds wins.
    pub branch: Vec<(Expr, StateId)>,
    /// Where to go when the action succeeded and no branch matched.
    pub next: Option<StateId>,
    /// Where to go when the action failed (no input, transfer failed, no speech, analysis
    /// failed or timed out, reminder refused). Without it the bot hangs up.
    pub on_failure: Option<StateId>,
}

/// A string with `{variable}` placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Literal text and variable paths, in order.
    pub parts: Vec<TemplatePart>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    /// Text copied as is.
    Text(String),
    /// A variable's value.
    Var(Vec<String>),
}

/// The one thing a state does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Nothing beyond `set` and `play`.
    Nothing,
    /// Answer the call (media actions answer it anyway when needed).
    Answer,
    /// Reject the call; ends the flow.
    Reject(RejectReason),
    /// Redirect the call; ends the flow.
    Redirect {
        /// Parties rung at once.
        targets: Vec<PartyRef>,
        /// Ring time (15–90 s).
        timeout: Duration,
    },
    /// A one-key menu.
    Menu(Menu),
    /// Collect several keys into `digits`.
    Collect(Collect),
    /// Transfer the call to the first of these that accepts; ends the flow on success.
    Transfer(Vec<PartyRef>),
    /// Record what the caller says (recordResponse).
    Record(RecordSpec),
    /// Send the last recording to a speech-analysis service.
    Analyse(String),
    /// Schedule a reminder call back to the caller.
    Remind(RemindSpec),
    /// Hang up; ends the flow.
    HangUp,
}

/// Input handling shared by menus and digit collection.
#[derive(Debug, Clone)]
pub struct InputSettings {
    /// Time to wait for a key after the prompt ends (and between keys when collecting).
    pub timeout: Duration,
    /// Re-prompts after an invalid key or no input, before `on_failure`.
    pub retries: u32,
    /// Played before the re-prompt after an invalid key.
    pub invalid_prompt: Option<Prompt>,
    /// Played before the re-prompt after no input.
    pub timeout_prompt: Option<Prompt>,
}

/// A one-key menu.
#[derive(Debug, Clone)]
pub struct Menu {
    /// Key → state.
    pub choices: Vec<(char, StateId)>,
    /// Timeout and retries.
    pub input: InputSettings,
}

/// Collect several keys.
#[derive(Debug, Clone)]
pub struct Collect {
    /// Most keys.
    pub max_digits: usize,
    /// Key that ends the input early (not stored).
    pub end_key: Option<char>,
    /// Timeout and retries.
    pub input: InputSettings,
}

/// The settings of a `record` action, sent as the recordResponse request's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSpec {
    /// `maxRecordDurationInSeconds`.
    pub max_secs: u32,
    /// `maxSilenceTimeoutInSeconds`.
    pub max_silence_secs: u32,
    /// `initialSilenceTimeoutInSeconds`.
    pub initial_silence_secs: u32,
    /// `playBeep`.
    pub beep: bool,
    /// `stopTones`.
    pub stop_keys: Vec<char>,
}

/// A reminder call back to the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct RemindSpec {
    /// Delay until the call.
    pub after: Duration,
    /// The prompt the reminder plays.
    pub prompt: Prompt,
    /// Calls placed at most.
    pub attempts: u32,
    /// Delay between attempts.
    pub retry_after: Duration,
    /// Which outcomes are retried (`busy`, `declined`, `noAnswer`, `unreachable`).
    pub retry_on: Vec<String>,
}

/// A speech-analysis service flows may call.
#[derive(Debug, Clone)]
pub struct AnalysisService {
    /// Name flows use in `analyse = "…"`.
    pub name: String,
    /// Where it runs.
    pub kind: AnalysisKind,
    /// Time allowed for the whole request.
    pub timeout: Duration,
    /// Extra request headers (for example an API key).
    pub headers: Vec<(String, String)>,
}

/// Where an analysis service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnalysisKind {
    /// POST the WAV to this URL.
    Url(String),
    /// The built-in energy and length classifier (the demo's).
    BuiltinEnergy,
}

/// Everything the `[[bots]]` and `[[analysis]]` entries of one file define.
#[derive(Debug, Clone, Default)]
pub struct FlowConfig {
    /// Every `[[bots]]` entry, checked, in file order.
    pub bots: Vec<BotDefinition>,
    /// Every `[[analysis]]` entry, named by the `analyse` actions of the bots.
    pub analysis: Vec<AnalysisService>,
}
