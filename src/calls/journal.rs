//! What the call registry tells its journal: which bot calls are live and where their
//! notifications go, so that after a crash the next start can tell each bot its call ended
//! (`server::journal` keeps it in the store, off the registry's lock and the media path).

use super::call::Call;
use super::ids::CallId;

/// One change to the set of live calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalEntry {
    /// A call is live (new, or its notifications go somewhere new).
    Live {
        /// The call.
        call: CallId,
        /// The application that owns it.
        app_id: String,
        /// The application's tenant.
        tenant_id: String,
        /// Where its notifications go.
        callback_uri: String,
    },
    /// A call ended and its bot was told.
    Ended(CallId),
}

impl JournalEntry {
    /// The entry for `call` as it is now; `None` when it has nowhere to send notifications.
    pub fn live(call: &Call) -> Option<JournalEntry> {
        Some(JournalEntry::Live {
            call: call.id.clone(),
            app_id: call.owner.app_id.clone(),
            tenant_id: call.owner.tenant_id.clone(),
            callback_uri: call.notification_uri()?.to_owned(),
        })
    }
}

/// Where the registry's journal entries go. Must not block: it is called with the registry locked.
pub trait CallJournal: Send + Sync + 'static {
    /// Records `entries`, in order.
    fn record(&self, entries: Vec<JournalEntry>);
}

/// A journal that keeps nothing: for tests, and servers that need no crash recovery.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoJournal;

impl CallJournal for NoJournal {
    fn record(&self, _entries: Vec<JournalEntry>) {}
}
