//! Checking one state: its variables, prompts, the one action it does, and where it goes next.

use std::collections::HashSet;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::super::expr::Expr;
use super::super::model::{
    Action, Collect, InputSettings, Menu, RecordSpec, RejectReason, RemindSpec, State,
};
use super::super::raw::{RawRemind, RawState};
use super::super::vars;
use super::{BotContext, Checker, Names, RETRY_OUTCOMES, single_key};

impl Checker<'_> {
    #[allow(clippy::too_many_lines)]
    pub(super) fn state(
        &mut self,
        name: &str,
        raw: &RawState,
        names: &Names<'_>,
        ctx: &mut BotContext<'_>,
        set_names: &mut HashSet<String>,
        reads: &mut Vec<(Vec<String>, Range<usize>)>,
    ) -> State {
        let mut set = Vec::new();
        for (key, value) in &raw.set {
            match vars::template_of(key.get_ref(), value.get_ref()) {
                Ok((template, paths)) => {
                    set_names.insert(key.get_ref().clone());
                    reads.extend(paths.into_iter().map(|p| (p, value.span())));
                    set.push((key.get_ref().clone(), template));
                }
                Err(reason) => self.error(value.span(), reason),
            }
        }
        let play = match &raw.play {
            None => Vec::new(),
            Some(play) => {
                let list = play.get_ref().to_vec();
                if list.len() > 20 {
                    self.error(
                        play.span(),
                        format!(
                            "{} prompts; a state plays at most 20 (Graph's playPrompt limit)",
                            list.len()
                        ),
                    );
                }
                list.into_iter()
                    .filter_map(|p| self.prompt_ref(&Spanned::new(play.span(), p), ctx))
                    .collect()
            }
        };

        // Which action keys are present, in a fixed order, with their spans.
        let present: Vec<(&str, Range<usize>)> = [
            ("answer", raw.answer.as_ref().map(Spanned::span)),
            ("reject", raw.reject.as_ref().map(Spanned::span)),
            ("redirect", raw.redirect.as_ref().map(Spanned::span)),
            ("menu", raw.menu.as_ref().map(Spanned::span)),
            ("collect", raw.collect.as_ref().map(Spanned::span)),
            ("transfer", raw.transfer.as_ref().map(Spanned::span)),
            ("record", raw.record.as_ref().map(Spanned::span)),
            ("analyse", raw.analyse.as_ref().map(Spanned::span)),
            ("remind", raw.remind.as_ref().map(Spanned::span)),
            ("hangup", raw.hangup.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(k, s)| s.map(|s| (k, s)))
        .collect();
        if present.len() > 1 {
            self.error(
                present[1].1.clone(),
                format!(
                    "state '{name}' has both '{}' and '{}'; a state does one thing: split it into two states joined by next",
                    present[0].0, present[1].0
                ),
            );
        }
        let kind = present.first().map_or("", |(k, _)| *k);
        let input_settings = |this: &mut Self, ctx: &mut BotContext<'_>| InputSettings {
            timeout: Duration::from_secs(this.range_u64(
                raw.timeout_secs.clone(),
                5,
                1,
                60,
                "timeout_secs",
                "seconds",
            )),
            retries: match &raw.retries {
                Some(r) if *r.get_ref() > 10 => {
                    this.error(
                        r.span(),
                        format!(
                            "retries = {} is out of range; allowed: 0 to 10",
                            r.get_ref()
                        ),
                    );
                    2
                }
                Some(r) => *r.get_ref(),
                None => 2,
            },
            invalid_prompt: raw
                .invalid_prompt
                .as_ref()
                .and_then(|p| this.prompt_ref(p, ctx)),
            timeout_prompt: raw
                .timeout_prompt
                .as_ref()
                .and_then(|p| this.prompt_ref(p, ctx)),
        };
        let action = match kind {
            "answer" => {
                if raw.answer.as_ref().is_some_and(|a| !a.get_ref()) {
                    self.error(
                        present[0].1.clone(),
                        "answer = false does nothing; remove it",
                    );
                }
                Action::Answer
            }
            "hangup" => {
                if raw.hangup.as_ref().is_some_and(|a| !a.get_ref()) {
                    self.error(
                        present[0].1.clone(),
                        "hangup = false does nothing; remove it",
                    );
                }
                Action::HangUp
            }
            "reject" => Action::Reject(
                raw.reject
                    .as_ref()
                    .map_or(RejectReason::None, |r| self.reject_reason(r)),
            ),
            "redirect" => {
                let targets = raw
                    .redirect
                    .as_ref()
                    .map(|r| self.parties(r, ctx))
                    .unwrap_or_default();
                if targets.len() > 25 {
                    self.error(
                        present[0].1.clone(),
                        format!(
                            "{} redirect targets; Graph allows at most 25",
                            targets.len()
                        ),
                    );
                }
                let timeout = self.range_u64(
                    raw.timeout_secs.clone(),
                    55,
                    15,
                    90,
                    "timeout_secs",
                    "seconds",
                );
                Action::Redirect {
                    targets,
                    timeout: Duration::from_secs(timeout),
                }
            }
            "menu" => {
                let mut choices = Vec::new();
                if let Some(menu) = &raw.menu {
                    if menu.get_ref().is_empty() {
                        self.error(
                            menu.span(),
                            "the menu has no keys; write menu = { \"1\" = \"state\" }",
                        );
                    }
                    for (key, target) in menu.get_ref() {
                        match single_key(key.get_ref()) {
                            Some(k) => {
                                if let Some(to) = self.state_ref(target, names) {
                                    choices.push((k, to));
                                }
                            }
                            None => self.error(
                                key.span(),
                                format!(
                                    "menu key '{}' is not one key; allowed: one of 0-9, *, #, A-D",
                                    key.get_ref()
                                ),
                            ),
                        }
                    }
                }
                Action::Menu(Menu {
                    choices,
                    input: input_settings(self, ctx),
                })
            }
            "collect" => {
                let collect = raw.collect.as_ref().map(Spanned::get_ref);
                let max_digits = collect.map_or(1, |c| {
                    let m = &c.max_digits;
                    if !(1..=32).contains(m.get_ref()) {
                        self.error(
                            m.span(),
                            format!(
                                "max_digits = {} is out of range; allowed: 1 to 32",
                                m.get_ref()
                            ),
                        );
                    }
                    usize::try_from(*m.get_ref()).unwrap_or(1)
                });
                let end_key = collect.and_then(|c| c.end_key.as_ref()).and_then(|k| {
                    let key = single_key(k.get_ref());
                    if key.is_none() {
                        self.error(
                            k.span(),
                            format!(
                                "end_key '{}' is not one key; allowed: one of 0-9, *, #, A-D",
                                k.get_ref()
                            ),
                        );
                    }
                    key
                });
                Action::Collect(Collect {
                    max_digits,
                    end_key,
                    input: input_settings(self, ctx),
                })
            }
            "transfer" => {
                let targets = raw
                    .transfer
                    .as_ref()
                    .map(|r| self.parties(r, ctx))
                    .unwrap_or_default();
                Action::Transfer(targets)
            }
            "record" => {
                let record = raw.record.as_ref().map(Spanned::get_ref);
                let mut spec = RecordSpec {
                    max_secs: 30,
                    max_silence_secs: 3,
                    initial_silence_secs: 5,
                    beep: true,
                    stop_keys: vec!['#'],
                };
                if let Some(r) = record {
                    let secs =
                        |this: &mut Self, v: &Option<Spanned<u64>>, default: u32, key: &str| {
                            u32::try_from(this.range_u64(
                                v.clone(),
                                u64::from(default),
                                1,
                                120,
                                key,
                                "seconds",
                            ))
                            .unwrap_or(default)
                        };
                    spec.max_secs = secs(self, &r.max_secs, 30, "max_secs");
                    spec.max_silence_secs = secs(self, &r.max_silence_secs, 3, "max_silence_secs");
                    spec.initial_silence_secs =
                        secs(self, &r.initial_silence_secs, 5, "initial_silence_secs");
                    spec.beep = r.beep.unwrap_or(true);
                    if let Some(keys) = &r.stop_keys {
                        spec.stop_keys = Vec::new();
                        for c in keys.get_ref().chars() {
                            match single_key(&c.to_string()) {
                                Some(k) => spec.stop_keys.push(k),
                                None => self.error(keys.span(), format!("stop_keys '{}' holds '{c}', which is not a key; allowed: 0-9, *, #, A-D", keys.get_ref())),
                            }
                        }
                    }
                }
                Action::Record(spec)
            }
            "analyse" => {
                let service = raw
                    .analyse
                    .as_ref()
                    .map(|a| a.get_ref().clone())
                    .unwrap_or_default();
                if !ctx.analysis.contains(service.as_str()) {
                    let mut known: Vec<&str> = ctx.analysis.iter().copied().collect();
                    known.sort_unstable();
                    self.error(
                        present[0].1.clone(),
                        format!(
                            "analysis service '{service}' is not defined; add an [[analysis]] entry with name = \"{service}\" (defined: {})",
                            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                        ),
                    );
                }
                Action::Analyse(service)
            }
            "remind" => match raw.remind.as_ref() {
                Some(r) => self
                    .remind(r.get_ref(), ctx)
                    .map_or(Action::Nothing, Action::Remind),
                None => Action::Nothing,
            },
            _ => Action::Nothing,
        };

        // Which of the shared keys this kind of state may have.
        let takes_input = matches!(action, Action::Menu(_) | Action::Collect(_));
        let takes_timeout = takes_input || matches!(action, Action::Redirect { .. });
        let ends_flow = matches!(
            action,
            Action::Reject(_) | Action::Redirect { .. } | Action::HangUp | Action::Transfer(_)
        );
        let can_fail = matches!(
            action,
            Action::Menu(_)
                | Action::Collect(_)
                | Action::Transfer(_)
                | Action::Record(_)
                | Action::Analyse(_)
                | Action::Remind(_)
        );
        let kind_text = if kind.is_empty() {
            "a state without an action"
        } else {
            kind
        };
        if !takes_timeout && let Some(t) = &raw.timeout_secs {
            self.error(t.span(), format!("timeout_secs does not apply to {kind_text}; it belongs to menu, collect and redirect"));
        }
        if !takes_input {
            for (key, span) in [
                ("retries", raw.retries.as_ref().map(Spanned::span)),
                (
                    "invalid_prompt",
                    raw.invalid_prompt.as_ref().map(Spanned::span),
                ),
                (
                    "timeout_prompt",
                    raw.timeout_prompt.as_ref().map(Spanned::span),
                ),
            ] {
                if let Some(span) = span {
                    self.error(
                        span,
                        format!(
                            "{key} does not apply to {kind_text}; it belongs to menu and collect"
                        ),
                    );
                }
            }
        }
        if !can_fail && let Some(f) = &raw.on_failure {
            self.error(
                f.span(),
                format!("on_failure does not apply to {kind_text}: it cannot fail"),
            );
        }
        let mut branch = Vec::new();
        for entry in &raw.branch {
            let entry = entry.get_ref();
            match Expr::parse(entry.condition.get_ref()) {
                Ok(expr) => {
                    reads.extend(
                        expr.paths()
                            .into_iter()
                            .map(|p| (p.to_vec(), entry.condition.span())),
                    );
                    if let Some(to) = self.state_ref(&entry.goto, names) {
                        branch.push((expr, to));
                    }
                }
                Err(error) => {
                    let e = self.source.error_inside_string(
                        &entry.condition.span(),
                        error.offset,
                        format!("condition: {}", error.reason),
                    );
                    self.errors.push(e);
                }
            }
        }
        let next = raw.next.as_ref().and_then(|n| self.state_ref(n, names));
        let on_failure = raw
            .on_failure
            .as_ref()
            .and_then(|f| self.state_ref(f, names));
        let state_span = raw.next.as_ref().map(Spanned::span);
        if ends_flow || matches!(action, Action::Menu(_)) {
            let why = if ends_flow {
                "ends the call for the bot"
            } else {
                "goes where its keys say"
            };
            if let Some(span) = state_span {
                self.error(
                    span,
                    format!("next does not apply to {kind_text}: it {why}"),
                );
            }
            if let Some(first) = raw.branch.first() {
                self.error(
                    first.span(),
                    format!("branch does not apply to {kind_text}: it {why}"),
                );
            }
        } else if raw.next.is_none() {
            let at = raw
                .branch
                .first()
                .map(Spanned::span)
                .unwrap_or_else(|| self.state_span(name));
            let hint = if raw.branch.is_empty() {
                ""
            } else {
                " (taken when no branch matches)"
            };
            self.error(at, format!("state '{name}' has no way on: add next = \"state\"{hint}, or end the call with hangup = true"));
        }
        State {
            name: name.to_owned(),
            set,
            play,
            action,
            branch,
            next,
            on_failure,
        }
    }

    /// The span of `[bots.states.NAME]`'s header key, found in the text (for errors about a state
    /// as a whole).
    pub(super) fn state_span(&self, name: &str) -> Range<usize> {
        let text = self.source.text();
        let needle = format!("states.{name}]");
        text.find(&needle).map_or(0..0, |i| i..i + needle.len())
    }

    pub(super) fn remind(
        &mut self,
        raw: &RawRemind,
        ctx: &mut BotContext<'_>,
    ) -> Option<RemindSpec> {
        let after = self.range_u64(
            Some(raw.after_secs.clone()),
            30,
            1,
            30 * 86_400,
            "after_secs",
            "seconds",
        );
        let prompt = self.prompt_ref(&raw.prompt, ctx)?;
        let attempts = self.range_u64(raw.attempts.clone(), 3, 1, 10, "attempts", "calls");
        let retry_after = self.range_u64(
            raw.retry_after_secs.clone(),
            60,
            1,
            86_400,
            "retry_after_secs",
            "seconds",
        );
        let retry_on = match &raw.retry_on {
            None => RETRY_OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
            Some(list) => list
                .get_ref()
                .iter()
                .filter_map(|o| {
                    if RETRY_OUTCOMES.contains(&o.get_ref().as_str()) {
                        Some(o.get_ref().clone())
                    } else {
                        self.error(
                            o.span(),
                            format!(
                                "retry_on '{}' is unknown; allowed: {}",
                                o.get_ref(),
                                RETRY_OUTCOMES.join(", ")
                            ),
                        );
                        None
                    }
                })
                .collect(),
        };
        Some(RemindSpec {
            after: Duration::from_secs(after),
            prompt,
            attempts: u32::try_from(attempts).unwrap_or(3),
            retry_after: Duration::from_secs(retry_after),
            retry_on,
        })
    }
}
