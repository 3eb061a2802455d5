//! From TOML text to checked [`FlowConfig`]: every error names `file:line:column` and says what is
//! allowed. All errors of a file are reported together, in file order.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::hours::OfficeHours;
use super::model::{
    Action, AnalysisKind, AnalysisService, BotDefinition, ClosedAction, Flow, FlowConfig,
    FrontDeskRules, PartyRef, Prompt, RejectReason, StateId,
};
use super::raw::{RawAnalysis, RawBot, RawFile, RawRules, RawState};
use super::source::{FlowError, FlowErrors, SourceText};
use super::vars;

mod action;
mod state;

/// The outcomes a reminder's retry policy may name.
pub const RETRY_OUTCOMES: [&str; 4] = ["busy", "declined", "noAnswer", "unreachable"];

/// Parses and checks the `[[bots]]` and `[[analysis]]` entries of a configuration file.
pub fn parse(source: &SourceText) -> Result<FlowConfig, FlowErrors> {
    let raw: RawFile = toml::from_str(source.text()).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        FlowErrors(vec![source.error(&span, error.message().trim().to_owned())])
    })?;
    let mut checker = Checker {
        source,
        errors: Vec::new(),
    };
    let analysis = checker.analysis(raw.analysis);
    let names: HashSet<&str> = analysis.iter().map(|a| a.name.as_str()).collect();
    let mut bots = Vec::new();
    let mut ids: HashMap<String, Range<usize>> = HashMap::new();
    for bot in raw.bots {
        let span = bot.span();
        let raw = bot.into_inner();
        if let Some(first) = ids.get(raw.id.get_ref()) {
            let line = source.locate(first.start).line;
            checker.error(
                raw.id.span(),
                format!(
                    "bot id '{}' is already used by the bot at line {line}; each bot is its own application",
                    raw.id.get_ref()
                ),
            );
        }
        ids.insert(raw.id.get_ref().clone(), raw.id.span());
        if let Some(bot) = checker.bot(span, raw, &names) {
            bots.push(bot);
        }
    }
    if checker.errors.is_empty() {
        Ok(FlowConfig { bots, analysis })
    } else {
        let mut errors = checker.errors;
        errors.sort_by_key(|e| (e.at.line, e.at.column));
        Err(FlowErrors(errors))
    }
}

struct Checker<'a> {
    source: &'a SourceText,
    errors: Vec<FlowError>,
}

/// The state names of one bot, for resolving references.
struct Names<'n> {
    ids: &'n HashMap<String, StateId>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, reason: impl Into<String>) {
        self.errors.push(self.source.error(&span, reason));
    }

    fn analysis(&mut self, raw: Vec<Spanned<RawAnalysis>>) -> Vec<AnalysisService> {
        let mut out: Vec<AnalysisService> = Vec::new();
        for entry in raw {
            let span = entry.span();
            let entry = entry.into_inner();
            let name = entry.name.get_ref().clone();
            if out.iter().any(|a| a.name == name) {
                self.error(
                    entry.name.span(),
                    format!("analysis service '{name}' is defined twice"),
                );
            }
            let kind = match (entry.url, entry.builtin) {
                (Some(url), None) => {
                    if !is_http_url(url.get_ref()) {
                        self.error(
                            url.span(),
                            format!("url '{}' is not an http:// or https:// URL", url.get_ref()),
                        );
                    }
                    AnalysisKind::Url(url.into_inner())
                }
                (None, Some(builtin)) if builtin.get_ref() == "energy" => {
                    AnalysisKind::BuiltinEnergy
                }
                (None, Some(builtin)) => {
                    self.error(
                        builtin.span(),
                        format!(
                            "builtin '{}' is unknown; allowed: energy",
                            builtin.get_ref()
                        ),
                    );
                    AnalysisKind::BuiltinEnergy
                }
                _ => {
                    self.error(
                        span.clone(),
                        format!("analysis service '{name}' needs exactly one of url = \"http…\" or builtin = \"energy\""),
                    );
                    AnalysisKind::BuiltinEnergy
                }
            };
            let timeout = self.range_u64(entry.timeout_ms, 5000, 100, 120_000, "timeout_ms", "ms");
            out.push(AnalysisService {
                name,
                kind,
                timeout: Duration::from_millis(timeout),
                headers: entry
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k, v.into_inner()))
                    .collect(),
            });
        }
        out
    }

    fn range_u64(
        &mut self,
        value: Option<Spanned<u64>>,
        default: u64,
        min: u64,
        max: u64,
        key: &str,
        unit: &str,
    ) -> u64 {
        match value {
            None => default,
            Some(v) if (min..=max).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                self.error(
                    v.span(),
                    format!(
                        "{key} = {} is out of range; allowed: {min} to {max} {unit}",
                        v.get_ref()
                    ),
                );
                default
            }
        }
    }

    fn bot(
        &mut self,
        span: Range<usize>,
        raw: RawBot,
        analysis: &HashSet<&str>,
    ) -> Option<BotDefinition> {
        let errors_before = self.errors.len();
        for (field, value) in [
            ("id", &raw.id),
            ("name", &raw.name),
            ("tenant", &raw.tenant),
        ] {
            if value.get_ref().trim().is_empty() {
                self.error(
                    value.span(),
                    format!("{field} is empty; give the bot's {field}"),
                );
            }
        }
        let timezone_name = raw
            .timezone
            .as_ref()
            .map_or_else(|| "UTC".to_owned(), |t| t.get_ref().clone());
        let timezone = match jiff::tz::TimeZone::get(&timezone_name) {
            Ok(tz) => tz,
            Err(_) => {
                let at = raw.timezone.as_ref().map_or(span.clone(), Spanned::span);
                self.error(at, format!("timezone '{timezone_name}' is not an IANA time zone; e.g. UTC, Europe/Berlin, America/New_York"));
                jiff::tz::TimeZone::UTC
            }
        };
        let max_call = self.range_u64(
            raw.max_call_secs,
            3600,
            10,
            86_400,
            "max_call_secs",
            "seconds",
        );

        let mut prompts: HashMap<String, (Prompt, Range<usize>)> = HashMap::new();
        for (name, value) in raw.prompts {
            if let Some(prompt) = self.prompt_value(&value) {
                prompts.insert(name.into_inner(), (prompt, value.span()));
            }
        }

        let mut states: Vec<(Spanned<String>, Spanned<RawState>)> =
            raw.states.into_iter().collect();
        states.sort_by_key(|(name, _)| name.span().start);
        let ids: HashMap<String, StateId> = states
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.get_ref().clone(), i))
            .collect();
        if states.is_empty() {
            self.error(
                span.clone(),
                format!(
                    "bot '{}' has no states; add [bots.states.{}]",
                    raw.name.get_ref(),
                    raw.start.get_ref()
                ),
            );
        }
        let names = Names { ids: &ids };
        let mut ctx = BotContext {
            prompts: &prompts,
            analysis,
            parties: Vec::new(),
            resource_prompts: Vec::new(),
            used_prompts: HashSet::new(),
        };
        let rules = match raw.rules {
            Some(rules) => self.rules(rules.into_inner(), &names, &mut ctx),
            None => FrontDeskRules::default(),
        };
        let mut built = Vec::new();
        let mut set_names: HashSet<String> = HashSet::new();
        let mut reads: Vec<(Vec<String>, Range<usize>)> = Vec::new();
        for (name, state) in &states {
            if !is_name(name.get_ref()) {
                self.error(
                    name.span(),
                    format!(
                        "state name '{}' may hold only letters, digits, '_' and '-'",
                        name.get_ref()
                    ),
                );
            }
            let state = self.state(
                name.get_ref(),
                state.get_ref(),
                &names,
                &mut ctx,
                &mut set_names,
                &mut reads,
            );
            built.push(state);
        }
        for (path, at) in reads {
            if let Err(reason) = vars::check_path(&path, &set_names) {
                self.error(at, reason);
            }
        }
        let start = self.state_ref(&raw.start, &names);
        for (name, (_, at)) in &prompts {
            if !ctx.used_prompts.contains(name) {
                self.error(
                    at.clone(),
                    format!("prompt '{name}' is never played; remove it or play it"),
                );
            }
        }
        let flow = Flow {
            start: start.unwrap_or(0),
            states: built,
        };
        if start.is_some() {
            self.reachability(&flow, &rules, &states);
        }
        if self.errors.len() != errors_before {
            return None;
        }
        let source = self.source;
        Some(BotDefinition {
            app_id: raw.id.into_inner(),
            name: raw.name.into_inner(),
            tenant: raw.tenant.into_inner(),
            timezone,
            timezone_name,
            max_call: Duration::from_secs(max_call),
            rules,
            flow,
            origin: source.locate(span.start),
            parties: ctx
                .parties
                .into_iter()
                .map(|(p, at)| (p, source.locate(at.start)))
                .collect(),
            resource_prompts: ctx
                .resource_prompts
                .into_iter()
                .map(|(p, at)| (p, source.locate(at.start)))
                .collect(),
        })
    }

    fn reachability(
        &mut self,
        flow: &Flow,
        rules: &FrontDeskRules,
        states: &[(Spanned<String>, Spanned<RawState>)],
    ) {
        let mut seen = vec![false; flow.states.len()];
        let mut stack = vec![flow.start];
        if let ClosedAction::Goto(id) = rules.closed {
            stack.push(id);
        }
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            let state = &flow.states[id];
            stack.extend(state.next);
            stack.extend(state.on_failure);
            stack.extend(state.branch.iter().map(|(_, to)| *to));
            if let Action::Menu(menu) = &state.action {
                stack.extend(menu.choices.iter().map(|(_, to)| *to));
            }
        }
        for (id, reached) in seen.iter().enumerate() {
            if !reached {
                let (name, _) = &states[id];
                self.error(
                    name.span(),
                    format!(
                        "state '{}' is never reached from the start state; remove it or go to it",
                        name.get_ref()
                    ),
                );
            }
        }
    }

    fn rules(
        &mut self,
        raw: RawRules,
        names: &Names<'_>,
        ctx: &mut BotContext<'_>,
    ) -> FrontDeskRules {
        let block = raw
            .block
            .iter()
            .filter_map(|entry| self.party(entry, ctx).map(|p| p.id().to_owned()))
            .collect();
        let block_reason = raw
            .block_reason
            .map_or(RejectReason::Forbidden, |r| self.reject_reason(&r));
        let hours = raw.hours.map(|hours| {
            let texts: Vec<&str> = hours
                .get_ref()
                .iter()
                .map(|h| h.get_ref().as_str())
                .collect();
            match OfficeHours::parse(&texts) {
                Ok(parsed) => parsed,
                Err((index, reason)) => {
                    self.error(hours.get_ref()[index].span(), reason);
                    OfficeHours::default()
                }
            }
        });
        let closed = match raw.closed {
            None => ClosedAction::RunFlow,
            Some(closed) => {
                let span = closed.span();
                let closed = closed.into_inner();
                match (closed.redirect, closed.goto) {
                    (Some(targets), None) => {
                        let targets = self.parties(&targets, ctx);
                        let timeout = self.range_u64(
                            closed.timeout_secs,
                            55,
                            15,
                            90,
                            "timeout_secs",
                            "seconds",
                        );
                        ClosedAction::Redirect {
                            targets,
                            timeout: Duration::from_secs(timeout),
                        }
                    }
                    (None, Some(goto)) => {
                        if let Some(t) = closed.timeout_secs {
                            self.error(
                                t.span(),
                                "timeout_secs belongs to closed.redirect; remove it",
                            );
                        }
                        self.state_ref(&goto, names)
                            .map_or(ClosedAction::RunFlow, ClosedAction::Goto)
                    }
                    _ => {
                        self.error(span, "closed needs exactly one of redirect = [\"user id\"] or goto = \"state\"");
                        ClosedAction::RunFlow
                    }
                }
            }
        };
        if hours.is_none() && !matches!(closed, ClosedAction::RunFlow) {
            self.errors.push(FlowError {
                at: self.source.locate(0),
                reason: "rules.closed is given without rules.hours; add hours = [\"mon-fri 09:00-17:00\"]".into(),
            });
        }
        FrontDeskRules {
            block,
            block_reason,
            hours,
            closed,
        }
    }

    fn reject_reason(&mut self, raw: &Spanned<String>) -> RejectReason {
        match raw.get_ref().as_str() {
            "none" => RejectReason::None,
            "busy" => RejectReason::Busy,
            "forbidden" => RejectReason::Forbidden,
            other => {
                self.error(
                    raw.span(),
                    format!("reject reason '{other}' is unknown; allowed: none, busy, forbidden"),
                );
                RejectReason::Forbidden
            }
        }
    }

    fn party(&mut self, raw: &Spanned<String>, ctx: &mut BotContext<'_>) -> Option<PartyRef> {
        let text = raw.get_ref().trim();
        let party = match text.split_once(':') {
            Some(("user", id)) => PartyRef::User(id.to_owned()),
            Some(("app", id)) => PartyRef::App(id.to_owned()),
            Some((kind, _)) => {
                self.error(
                    raw.span(),
                    format!(
                        "'{kind}:' is not a kind of party; write user:ID, app:ID, or a bare user id"
                    ),
                );
                return None;
            }
            None => PartyRef::User(text.to_owned()),
        };
        if party.id().is_empty() || party.id().contains(char::is_whitespace) {
            self.error(raw.span(), format!("'{text}' is not a directory id"));
            return None;
        }
        ctx.parties.push((party.clone(), raw.span()));
        Some(party)
    }

    fn parties(
        &mut self,
        raw: &Spanned<super::raw::OneOrMany>,
        ctx: &mut BotContext<'_>,
    ) -> Vec<PartyRef> {
        let list = raw.get_ref().to_vec();
        if list.is_empty() {
            self.error(
                raw.span(),
                "the list of parties is empty; name at least one user or app",
            );
        }
        list.into_iter()
            .filter_map(|id| self.party(&Spanned::new(raw.span(), id), ctx))
            .collect()
    }

    fn prompt_value(&mut self, value: &Spanned<String>) -> Option<Prompt> {
        let text = value.get_ref();
        if is_http_url(text) {
            return Some(Prompt::Uri(text.clone()));
        }
        let valid = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            self.error(value.span(), format!("prompt '{text}' is neither an http(s) URL nor a file name of media.prompts.dir (letters, digits, '.', '_', '-')"));
            return None;
        }
        Some(Prompt::Resource(text.clone()))
    }

    fn prompt_ref(&mut self, raw: &Spanned<String>, ctx: &mut BotContext<'_>) -> Option<Prompt> {
        let name = raw.get_ref();
        if let Some((prompt, _)) = ctx.prompts.get(name) {
            ctx.used_prompts.insert(name.clone());
            if let Prompt::Resource(id) = prompt {
                ctx.resource_prompts.push((id.clone(), raw.span()));
            }
            return Some(prompt.clone());
        }
        if is_http_url(name) {
            return Some(Prompt::Uri(name.clone()));
        }
        let mut known: Vec<&str> = ctx.prompts.keys().map(String::as_str).collect();
        known.sort_unstable();
        self.error(
            raw.span(),
            format!(
                "prompt '{name}' is not in [bots.prompts] (known: {}) and is not an http(s) URL",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        );
        None
    }

    fn state_ref(&mut self, raw: &Spanned<String>, names: &Names<'_>) -> Option<StateId> {
        match names.ids.get(raw.get_ref()) {
            Some(id) => Some(*id),
            None => {
                let mut known: Vec<&str> = names.ids.keys().map(String::as_str).collect();
                known.sort_unstable();
                self.error(
                    raw.span(),
                    format!(
                        "state '{}' does not exist; states: {}",
                        raw.get_ref(),
                        known.join(", ")
                    ),
                );
                None
            }
        }
    }
}

/// What one bot's checks share.
struct BotContext<'p> {
    prompts: &'p HashMap<String, (Prompt, Range<usize>)>,
    analysis: &'p HashSet<&'p str>,
    parties: Vec<(PartyRef, Range<usize>)>,
    resource_prompts: Vec<(String, Range<usize>)>,
    used_prompts: HashSet<String>,
}

fn is_http_url(text: &str) -> bool {
    (text.starts_with("http://") || text.starts_with("https://")) && text.len() > "https://".len()
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// The DTMF key a one-character string names (`a`–`d` are upper-cased).
pub fn single_key(text: &str) -> Option<char> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_digit() || matches!(c, '*' | '#') => Some(c),
        (Some(c), None) if matches!(c.to_ascii_uppercase(), 'A'..='D') => {
            Some(c.to_ascii_uppercase())
        }
        _ => None,
    }
}
