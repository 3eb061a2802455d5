//! The flow tables as TOML spells them, with the byte span of every value so that each check can
//! say `file:line:column`. Only [`super::parse`] reads these.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The parts of a configuration file flows live in; every other key is the server's.
#[derive(Debug, Deserialize)]
pub(super) struct RawFile {
    #[serde(default)]
    pub bots: Vec<Spanned<RawBot>>,
    #[serde(default)]
    pub analysis: Vec<Spanned<RawAnalysis>>,
}

/// One `[[analysis]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAnalysis {
    pub name: Spanned<String>,
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    #[serde(default)]
    pub builtin: Option<Spanned<String>>,
    #[serde(default)]
    pub timeout_ms: Option<Spanned<u64>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
}

/// One `[[bots]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBot {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub tenant: Spanned<String>,
    pub start: Spanned<String>,
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub max_call_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub prompts: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub rules: Option<Spanned<RawRules>>,
    #[serde(default)]
    pub states: BTreeMap<Spanned<String>, Spanned<RawState>>,
}

/// `[bots.rules]`: the front desk.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRules {
    #[serde(default)]
    pub block: Vec<Spanned<String>>,
    #[serde(default)]
    pub block_reason: Option<Spanned<String>>,
    #[serde(default)]
    pub hours: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub closed: Option<Spanned<RawClosed>>,
}

/// `closed = { redirect = […], timeout_secs = … }` or `closed = { goto = "state" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClosed {
    #[serde(default)]
    pub redirect: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub timeout_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub goto: Option<Spanned<String>>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// One `[bots.states.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    #[serde(default)]
    pub set: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    pub play: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub answer: Option<Spanned<bool>>,
    #[serde(default)]
    pub reject: Option<Spanned<String>>,
    #[serde(default)]
    pub redirect: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub menu: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    #[serde(default)]
    pub collect: Option<Spanned<RawCollect>>,
    #[serde(default)]
    pub transfer: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub record: Option<Spanned<RawRecord>>,
    #[serde(default)]
    pub analyse: Option<Spanned<String>>,
    #[serde(default)]
    pub remind: Option<Spanned<RawRemind>>,
    #[serde(default)]
    pub hangup: Option<Spanned<bool>>,
    #[serde(default)]
    pub timeout_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub retries: Option<Spanned<u32>>,
    #[serde(default)]
    pub invalid_prompt: Option<Spanned<String>>,
    #[serde(default)]
    pub timeout_prompt: Option<Spanned<String>>,
    #[serde(default)]
    pub branch: Vec<Spanned<RawBranch>>,
    #[serde(default)]
    pub next: Option<Spanned<String>>,
    #[serde(default)]
    pub on_failure: Option<Spanned<String>>,
}

/// `collect = { max_digits = 4, end_key = "#" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCollect {
    pub max_digits: Spanned<u64>,
    #[serde(default)]
    pub end_key: Option<Spanned<String>>,
}

/// `record = { max_secs = 30, … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecord {
    #[serde(default)]
    pub max_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub max_silence_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub initial_silence_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub beep: Option<bool>,
    #[serde(default)]
    pub stop_keys: Option<Spanned<String>>,
}

/// `remind = { after_secs = 30, prompt = "…", … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRemind {
    pub after_secs: Spanned<u64>,
    pub prompt: Spanned<String>,
    #[serde(default)]
    pub attempts: Option<Spanned<u64>>,
    #[serde(default)]
    pub retry_after_secs: Option<Spanned<u64>>,
    #[serde(default)]
    pub retry_on: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `{ if = "condition", goto = "state" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBranch {
    #[serde(rename = "if")]
    pub condition: Spanned<String>,
    pub goto: Spanned<String>,
}
