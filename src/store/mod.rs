//! The embedded SQLite store: directory (tenants, applications, users), online meetings,
//! scheduled reminder calls, and the journal of live calls (so a restart after a crash can tell
//! their bots they ended).
//!
//! One connection behind a `std::sync::Mutex`, used from `spawn_blocking` so a query never blocks
//! the async runtime. Queries are small and indexed; one connection is enough for the directory
//! and meeting traffic of one node (see architecture: PostgreSQL when one node is not enough).

mod apps;
pub mod demo;
mod live_calls;
mod meetings;
mod reminders;
mod schema;
mod tenants;
mod users;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use apps::{AppRecord, NewApp};
pub use live_calls::{LiveCallChange, LiveCallRow};
pub use meetings::MeetingRecord;
pub use reminders::ReminderRow;
pub use tenants::TenantRecord;
pub use users::UserRecord;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "switchboard.sqlite3";

/// Why a store operation failed. These are server faults, not bad input.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON document did not parse.
    #[error("stored JSON is corrupt: {0}")]
    Json(#[from] serde_json::Error),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
    /// An insert collided with an existing unique value.
    #[error("{what} {value:?} already exists")]
    Duplicate {
        /// Which field.
        what: &'static str,
        /// The value already taken (a meeting's id, join id or join URL).
        value: String,
    },
}

/// Handle to the SQLite store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/switchboard.sqlite3` and migrates it.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::from_connection(Connection::open(data_dir.join(DATABASE_FILE))?)
    }

    /// An in-memory store, for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::from_connection(Connection::open_in_memory()?)
    }

    fn from_connection(connection: Connection) -> Result<Store, StoreError> {
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&connection)?;
        Ok(Store {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `job` with the connection on the blocking pool.
    pub async fn run<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            // A poisoned lock means a query panicked mid-way; SQLite rolled the statement back,
            // so the connection itself is still consistent and can be used.
            let mut guard = connection
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            job(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `job` on the current thread (start-up, before the server accepts requests).
    pub fn run_blocking<T>(
        &self,
        job: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self
            .connection
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        job(&mut guard)
    }
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
