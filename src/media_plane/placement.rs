//! Which worker owns which call. All legs of one conversation live on one worker, so the audio
//! they exchange never crosses threads: the first leg of a conversation goes to the worker with
//! the fewest legs, and every later leg of that conversation follows it. The table lives on the
//! control-plane side (it is read and changed only in `submit`), never on a worker.

use std::collections::HashMap;

use crate::calls::ids::{CallId, ConversationId};

/// The call and conversation → worker table.
#[derive(Debug)]
pub struct Placement {
    legs_per_worker: Vec<usize>,
    conversations: HashMap<ConversationId, (usize, usize)>,
    calls: HashMap<CallId, (usize, ConversationId)>,
}

impl Placement {
    /// An empty table for `workers` workers.
    pub fn new(workers: usize) -> Placement {
        Placement {
            legs_per_worker: vec![0; workers.max(1)],
            conversations: HashMap::new(),
            calls: HashMap::new(),
        }
    }

    /// The worker a new leg of `conversation` goes to (not recorded until [`Placement::add`]).
    pub fn choose(&self, conversation: &ConversationId) -> usize {
        if let Some(&(worker, _)) = self.conversations.get(conversation) {
            return worker;
        }
        self.legs_per_worker
            .iter()
            .enumerate()
            .min_by_key(|&(i, legs)| (*legs, i))
            .map_or(0, |(i, _)| i)
    }

    /// Records that `call` of `conversation` lives on `worker`. A call placed twice keeps its
    /// first place.
    pub fn add(&mut self, call: &CallId, conversation: &ConversationId, worker: usize) {
        if self.calls.contains_key(call) {
            return;
        }
        self.calls
            .insert(call.clone(), (worker, conversation.clone()));
        self.conversations
            .entry(conversation.clone())
            .or_insert((worker, 0))
            .1 += 1;
        self.legs_per_worker[worker] += 1;
    }

    /// Forgets `call`; returns the worker it was on.
    pub fn remove(&mut self, call: &CallId) -> Option<usize> {
        let (worker, conversation) = self.calls.remove(call)?;
        self.legs_per_worker[worker] -= 1;
        if let Some(entry) = self.conversations.get_mut(&conversation) {
            entry.1 -= 1;
            if entry.1 == 0 {
                self.conversations.remove(&conversation);
            }
        }
        Some(worker)
    }

    /// The worker owning `call`.
    pub fn worker_of_call(&self, call: &CallId) -> Option<usize> {
        self.calls.get(call).map(|&(w, _)| w)
    }

    /// The worker owning `conversation`'s legs.
    pub fn worker_of_conversation(&self, conversation: &ConversationId) -> Option<usize> {
        self.conversations.get(conversation).map(|&(w, _)| w)
    }

    /// Legs placed on each worker.
    pub fn legs_per_worker(&self) -> &[usize] {
        &self.legs_per_worker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_stays_on_one_worker_and_new_ones_go_to_the_least_loaded() {
        let mut p = Placement::new(3);
        let (x, y, z) = (
            ConversationId::from("x"),
            ConversationId::from("y"),
            ConversationId::from("z"),
        );
        let wx = p.choose(&x);
        p.add(&CallId::from("x1"), &x, wx);
        p.add(&CallId::from("x2"), &x, p.choose(&x));
        p.add(&CallId::from("x3"), &x, p.choose(&x));
        assert_eq!(wx, 0);
        assert_eq!(p.worker_of_call(&CallId::from("x3")), Some(0));
        let wy = p.choose(&y);
        assert_eq!(wy, 1, "least loaded");
        p.add(&CallId::from("y1"), &y, wy);
        assert_eq!(p.choose(&z), 2);
        assert_eq!(p.legs_per_worker(), &[3, 1, 0]);
        assert_eq!(p.remove(&CallId::from("x1")), Some(0));
        assert_eq!(p.remove(&CallId::from("x1")), None, "removed once");
        p.remove(&CallId::from("x2"));
        p.remove(&CallId::from("x3"));
        assert_eq!(
            p.worker_of_conversation(&x),
            None,
            "empty conversations are forgotten"
        );
        assert_eq!(p.legs_per_worker(), &[0, 1, 0]);
        assert_eq!(p.choose(&z), 0);
    }
}
