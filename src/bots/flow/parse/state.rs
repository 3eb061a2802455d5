//! Checking one state as a whole: its variables, its prompts, which one action it does (checked
//! in `action`), which shared keys apply to that action, and where the state goes next.

use std::collections::HashSet;
use std::ops::Range;

use toml::Spanned;

use super::super::expr::Expr;
use super::super::model::{Action, Prompt, State, StateId, Template};
use super::super::raw::RawState;
use super::super::vars;
use super::{BotContext, Checker, Names};

/// The action keys a state may have, in the order errors name them.
const ACTION_KEYS: usize = 10;

impl Checker<'_> {
    /// Checks state `name`; the variables it sets go to `set_names`, the paths it reads to
    /// `reads` (checked once every state is known).
    pub(super) fn state(
        &mut self,
        name: &str,
        raw: &RawState,
        names: &Names<'_>,
        ctx: &mut BotContext<'_>,
        set_names: &mut HashSet<String>,
        reads: &mut Vec<(Vec<String>, Range<usize>)>,
    ) -> State {
        let set = self.assignments(raw, set_names, reads);
        let play = self.play_list(raw, ctx);
        let present = self.action_keys(name, raw);
        let kind = present.first().map_or("", |(k, _)| *k);
        let span = present.first().map_or(0..0, |(_, s)| s.clone());
        let action = self.action(kind, span, raw, names, ctx);
        let kind_text = if kind.is_empty() {
            "a state without an action"
        } else {
            kind
        };
        self.check_shared_keys(&action, kind_text, raw);
        let branch = self.branches(raw, names, reads);
        let next = raw.next.as_ref().and_then(|n| self.state_ref(n, names));
        let on_failure = raw
            .on_failure
            .as_ref()
            .and_then(|f| self.state_ref(f, names));
        self.check_way_on(name, &action, kind_text, raw);
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

    /// The state's `set` entries as templates.
    fn assignments(
        &mut self,
        raw: &RawState,
        set_names: &mut HashSet<String>,
        reads: &mut Vec<(Vec<String>, Range<usize>)>,
    ) -> Vec<(String, Template)> {
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
        set
    }

    /// The prompts the state plays first (at most 20, Graph's playPrompt limit).
    fn play_list(&mut self, raw: &RawState, ctx: &mut BotContext<'_>) -> Vec<Prompt> {
        let Some(play) = &raw.play else {
            return Vec::new();
        };
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

    /// Which action keys are present, in a fixed order, with their spans; more than one is an
    /// error (a state does one thing).
    fn action_keys(&mut self, name: &str, raw: &RawState) -> Vec<(&'static str, Range<usize>)> {
        let keys: [(&'static str, Option<Range<usize>>); ACTION_KEYS] = [
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
        ];
        let present: Vec<_> = keys
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
        present
    }

    /// Refuses the shared keys that do not apply to this kind of state.
    fn check_shared_keys(&mut self, action: &Action, kind_text: &str, raw: &RawState) {
        let takes_input = matches!(action, Action::Menu(_) | Action::Collect(_));
        let takes_timeout = takes_input || matches!(action, Action::Redirect { .. });
        let can_fail = matches!(
            action,
            Action::Menu(_)
                | Action::Collect(_)
                | Action::Transfer(_)
                | Action::Record(_)
                | Action::Analyse(_)
                | Action::Remind(_)
        );
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
    }

    /// The state's `branch` entries: a parsed condition and the state it leads to.
    fn branches(
        &mut self,
        raw: &RawState,
        names: &Names<'_>,
        reads: &mut Vec<(Vec<String>, Range<usize>)>,
    ) -> Vec<(Expr, StateId)> {
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
        branch
    }

    /// A state that ends the call or follows its keys has no `next` or `branch`; any other
    /// state must have a `next`.
    fn check_way_on(&mut self, name: &str, action: &Action, kind_text: &str, raw: &RawState) {
        let ends_flow = matches!(
            action,
            Action::Reject(_) | Action::Redirect { .. } | Action::HangUp | Action::Transfer(_)
        );
        if ends_flow || matches!(action, Action::Menu(_)) {
            let why = if ends_flow {
                "ends the call for the bot"
            } else {
                "goes where its keys say"
            };
            if let Some(span) = raw.next.as_ref().map(Spanned::span) {
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
    }

    /// The span of `[bots.states.NAME]`'s header key, found in the text (for errors about a state
    /// as a whole).
    pub(super) fn state_span(&self, name: &str) -> Range<usize> {
        let text = self.source.text();
        let needle = format!("states.{name}]");
        text.find(&needle).map_or(0..0, |i| i..i + needle.len())
    }
}
