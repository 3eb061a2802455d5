//! Keys from the caller: one-key menus and digit collection, with re-prompts after an invalid
//! key or silence. Keys arrive as tone notifications of the subscription made when answering.

use std::time::Duration;

use tokio::time::Instant;

use super::super::flow::Prompt;
use super::super::flow::expr::Value as FlowValue;
use super::super::flow::model::{Collect, InputSettings, Menu};
use super::{CallFlow, Done, Stop};

impl CallFlow {
    /// Waits up to `timeout` for a key.
    pub(super) async fn wait_key(&mut self, timeout: Duration) -> Result<Option<char>, Stop> {
        let deadline = Instant::now() + timeout;
        while self.keys.is_empty() {
            if self.next_event(deadline).await?.is_none() {
                return Ok(None);
            }
        }
        Ok(self.keys.pop_front())
    }

    pub(super) async fn menu(&mut self, play: &[Prompt], menu: &Menu) -> Result<Done, Stop> {
        let mut left = menu.input.retries;
        let mut lead: Option<&Prompt> = None;
        loop {
            self.prompt_for_input(lead, play).await?;
            let key = match self.keys.pop_front() {
                Some(key) => Some(key),
                None => self.wait_key(menu.input.timeout).await?,
            };
            lead = match key {
                Some(key) => match menu.choices.iter().find(|(k, _)| *k == key) {
                    Some((_, target)) => return Ok(Done::Goto(*target)),
                    None => {
                        tracing::debug!(call = %self.call_id, %key, "not a menu key");
                        menu.input.invalid_prompt.as_ref()
                    }
                },
                None => menu.input.timeout_prompt.as_ref(),
            };
            if left == 0 {
                return Ok(Done::Failure("no valid key after every retry".to_owned()));
            }
            left -= 1;
            // A wrong key pressed ahead must not count against the next attempt too.
            self.keys.clear();
        }
    }

    pub(super) async fn prompt_for_input(
        &mut self,
        lead: Option<&Prompt>,
        play: &[Prompt],
    ) -> Result<(), Stop> {
        self.ensure_answered().await?;
        if !self.keys.is_empty() {
            return Ok(());
        }
        let mut prompts: Vec<Prompt> = lead.into_iter().cloned().collect();
        prompts.extend(play.iter().cloned());
        self.play(&prompts, true).await
    }

    pub(super) async fn collect(
        &mut self,
        play: &[Prompt],
        collect: &Collect,
    ) -> Result<Done, Stop> {
        let InputSettings {
            timeout,
            retries,
            invalid_prompt: _,
            timeout_prompt,
        } = &collect.input;
        let mut left = *retries;
        let mut lead: Option<&Prompt> = None;
        loop {
            self.prompt_for_input(lead, play).await?;
            let mut digits = String::new();
            while digits.len() < collect.max_digits {
                match self.wait_key(*timeout).await? {
                    Some(key) if Some(key) == collect.end_key => break,
                    Some(key) => digits.push(key),
                    None => break,
                }
            }
            if !digits.is_empty() {
                self.vars.set("digits", FlowValue::Str(digits));
                return Ok(Done::Success);
            }
            if left == 0 {
                return Ok(Done::Failure("no keys after every retry".to_owned()));
            }
            left -= 1;
            lead = timeout_prompt.as_ref();
        }
    }
}
