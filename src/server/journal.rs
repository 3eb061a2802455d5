//! The journal of live calls in the store, and what the next start does with what a crash left
//! in it. The registry hands its entries over without waiting (it holds its lock); one task writes
//! them in order, batching what arrived meanwhile, so the store is never on the media path or
//! under the registry's lock.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::calls::journal::{CallJournal, JournalEntry};
use crate::notify::Notifier;
use crate::store::{LiveCallChange, LiveCallRow, Store};

/// The registry's journal: entries go to a writer task.
pub struct StoreJournal(mpsc::UnboundedSender<JournalEntry>);

impl CallJournal for StoreJournal {
    fn record(&self, entries: Vec<JournalEntry>) {
        for entry in entries {
            // Fails only once the writer has stopped, at the very end of a shutdown.
            let _ = self.0.send(entry);
        }
    }
}

/// Starts the writer task on the current runtime; the journal hands it the registry's entries.
pub fn start(store: Store) -> Arc<StoreJournal> {
    let (sender, mut entries) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(first) = entries.recv().await {
            let mut batch = vec![change_of(first)];
            while let Ok(next) = entries.try_recv() {
                batch.push(change_of(next));
            }
            if let Err(error) = store.journal_live_calls(batch).await {
                tracing::error!(%error, "cannot record live calls; a crash now would leave their bots uninformed");
            }
        }
    });
    Arc::new(StoreJournal(sender))
}

fn change_of(entry: JournalEntry) -> LiveCallChange {
    match entry {
        JournalEntry::Live {
            call,
            app_id,
            tenant_id,
            callback_uri,
        } => LiveCallChange::Upsert(LiveCallRow {
            id: call.to_string(),
            app_id,
            tenant_id,
            callback_uri,
            started_at: jiff::Timestamp::now().as_millisecond(),
        }),
        JournalEntry::Ended(call) => LiveCallChange::Remove(call.to_string()),
    }
}

/// Tells the bot of every call the last process left live (it stopped without ending them) that
/// the call ended, with 500/1005: their media was in that process. Returns how many.
pub async fn end_lost_calls(store: &Store, notifier: &Notifier) -> usize {
    let lost = match store.take_live_calls().await {
        Ok(lost) => lost,
        Err(error) => {
            tracing::error!(%error, "cannot read the calls the last stop left live");
            return 0;
        }
    };
    for call in &lost {
        let started = jiff::Timestamp::from_millisecond(call.started_at)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let detail = format!(
            "the server stopped without ending the call (started {started}); its media was lost"
        );
        let _ = notifier.enqueue(crate::calls::notify::lost(
            &call.id,
            &call.app_id,
            &call.tenant_id,
            &call.callback_uri,
            &detail,
        ));
    }
    if !lost.is_empty() {
        tracing::warn!(
            calls = lost.len(),
            "the last stop left calls live; their bots were told they ended (500/1005)"
        );
    }
    lost.len()
}
