//! Checking the one action a state does (answer, reject, redirect, menu, collect, transfer,
//! record, analyse, remind, hang up) and the settings that belong to it.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::super::model::{
    Action, Collect, InputSettings, Menu, RecordSpec, RejectReason, RemindSpec,
};
use super::super::raw::{RawRemind, RawState};
use super::{BotContext, Checker, Names, RETRY_OUTCOMES, single_key};

impl Checker<'_> {
    /// The action of a state whose action key is `kind` (empty: none), at `span`.
    pub(super) fn action(
        &mut self,
        kind: &str,
        span: Range<usize>,
        raw: &RawState,
        names: &Names<'_>,
        ctx: &mut BotContext<'_>,
    ) -> Action {
        match kind {
            "answer" => {
                if raw.answer.as_ref().is_some_and(|a| !a.get_ref()) {
                    self.error(span, "answer = false does nothing; remove it");
                }
                Action::Answer
            }
            "hangup" => {
                if raw.hangup.as_ref().is_some_and(|a| !a.get_ref()) {
                    self.error(span, "hangup = false does nothing; remove it");
                }
                Action::HangUp
            }
            "reject" => Action::Reject(
                raw.reject
                    .as_ref()
                    .map_or(RejectReason::None, |r| self.reject_reason(r)),
            ),
            "redirect" => self.redirect(span, raw, ctx),
            "menu" => self.menu(raw, names, ctx),
            "collect" => self.collect(raw, ctx),
            "transfer" => Action::Transfer(
                raw.transfer
                    .as_ref()
                    .map(|r| self.parties(r, ctx))
                    .unwrap_or_default(),
            ),
            "record" => Action::Record(self.record(raw)),
            "analyse" => self.analyse(span, raw, ctx),
            "remind" => match raw.remind.as_ref() {
                Some(r) => self
                    .remind(r.get_ref(), ctx)
                    .map_or(Action::Nothing, Action::Remind),
                None => Action::Nothing,
            },
            _ => Action::Nothing,
        }
    }

    /// `redirect = [parties]`: at most 25 targets (Graph's limit), rung for `timeout_secs`.
    fn redirect(&mut self, span: Range<usize>, raw: &RawState, ctx: &mut BotContext<'_>) -> Action {
        let targets = raw
            .redirect
            .as_ref()
            .map(|r| self.parties(r, ctx))
            .unwrap_or_default();
        if targets.len() > 25 {
            self.error(
                span,
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

    /// `menu = { key = state }`: one key per choice.
    fn menu(&mut self, raw: &RawState, names: &Names<'_>, ctx: &mut BotContext<'_>) -> Action {
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
            input: self.input_settings(raw, ctx),
        })
    }

    /// `collect = { max_digits, end_key }`: up to 32 keys, ended by one key.
    fn collect(&mut self, raw: &RawState, ctx: &mut BotContext<'_>) -> Action {
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
            input: self.input_settings(raw, ctx),
        })
    }

    /// What a menu or collect does while waiting: its timeout, retries and prompts.
    fn input_settings(&mut self, raw: &RawState, ctx: &mut BotContext<'_>) -> InputSettings {
        InputSettings {
            timeout: Duration::from_secs(self.range_u64(
                raw.timeout_secs.clone(),
                5,
                1,
                60,
                "timeout_secs",
                "seconds",
            )),
            retries: match &raw.retries {
                Some(r) if *r.get_ref() > 10 => {
                    self.error(
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
                .and_then(|p| self.prompt_ref(p, ctx)),
            timeout_prompt: raw
                .timeout_prompt
                .as_ref()
                .and_then(|p| self.prompt_ref(p, ctx)),
        }
    }

    /// `record = { … }`: Graph's recordResponse limits (1–120 s), a beep, stop keys.
    fn record(&mut self, raw: &RawState) -> RecordSpec {
        let mut spec = RecordSpec {
            max_secs: 30,
            max_silence_secs: 3,
            initial_silence_secs: 5,
            beep: true,
            stop_keys: vec!['#'],
        };
        let Some(r) = raw.record.as_ref().map(Spanned::get_ref) else {
            return spec;
        };
        let secs = |this: &mut Self, v: &Option<Spanned<u64>>, default: u32, key: &str| {
            u32::try_from(this.range_u64(v.clone(), u64::from(default), 1, 120, key, "seconds"))
                .unwrap_or(default)
        };
        spec.max_secs = secs(self, &r.max_secs, 30, "max_secs");
        spec.max_silence_secs = secs(self, &r.max_silence_secs, 3, "max_silence_secs");
        spec.initial_silence_secs = secs(self, &r.initial_silence_secs, 5, "initial_silence_secs");
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
        spec
    }

    /// `analyse = "service"`: one of the `[[analysis]]` services.
    fn analyse(&mut self, span: Range<usize>, raw: &RawState, ctx: &mut BotContext<'_>) -> Action {
        let service = raw
            .analyse
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or_default();
        if !ctx.analysis.contains(service.as_str()) {
            let mut known: Vec<&str> = ctx.analysis.iter().copied().collect();
            known.sort_unstable();
            self.error(
                span,
                format!(
                    "analysis service '{service}' is not defined; add an [[analysis]] entry with name = \"{service}\" (defined: {})",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            );
        }
        Action::Analyse(service)
    }

    /// `remind = { … }`: a reminder call the caller asked for.
    fn remind(&mut self, raw: &RawRemind, ctx: &mut BotContext<'_>) -> Option<RemindSpec> {
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
