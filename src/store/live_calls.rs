//! The journal of live calls: one row per bot call with a callback URI while it lives. Nothing
//! else about a call is durable (its media was on this process); the row exists so that after a
//! crash the next start can tell each bot its call is gone, instead of the bot believing it
//! established until a request fails.

use rusqlite::params;

use super::{Store, StoreError};

/// A live call as the journal keeps it: whom to tell, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCallRow {
    /// The call id.
    pub id: String,
    /// The application that owns the call.
    pub app_id: String,
    /// The application's tenant.
    pub tenant_id: String,
    /// Where the call's notifications go.
    pub callback_uri: String,
    /// When the call started, in Unix milliseconds.
    pub started_at: i64,
}

/// One change to the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveCallChange {
    /// A call started, or where its notifications go changed.
    Upsert(LiveCallRow),
    /// A call ended.
    Remove(String),
}

impl Store {
    /// Applies `changes` in order, in one transaction.
    pub async fn journal_live_calls(&self, changes: Vec<LiveCallChange>) -> Result<(), StoreError> {
        self.run(move |c| {
            let transaction = c.transaction()?;
            for change in changes {
                match change {
                    LiveCallChange::Upsert(row) => {
                        transaction.execute(
                            "INSERT INTO live_calls (id, app_id, tenant_id, callback_uri, started_at)
                             VALUES (?1, ?2, ?3, ?4, ?5)
                             ON CONFLICT(id) DO UPDATE SET callback_uri = excluded.callback_uri",
                            params![
                                row.id,
                                row.app_id,
                                row.tenant_id,
                                row.callback_uri,
                                row.started_at
                            ],
                        )?;
                    }
                    LiveCallChange::Remove(id) => {
                        transaction.execute("DELETE FROM live_calls WHERE id = ?1", [id])?;
                    }
                }
            }
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    /// Takes every call the journal holds (the calls of a process that stopped without ending
    /// them), emptying it.
    pub async fn take_live_calls(&self) -> Result<Vec<LiveCallRow>, StoreError> {
        self.run(|c| {
            let transaction = c.transaction()?;
            let rows = {
                let mut statement = transaction.prepare(
                    "SELECT id, app_id, tenant_id, callback_uri, started_at FROM live_calls
                     ORDER BY started_at, id",
                )?;
                statement
                    .query_map([], |row| {
                        Ok(LiveCallRow {
                            id: row.get(0)?,
                            app_id: row.get(1)?,
                            tenant_id: row.get(2)?,
                            callback_uri: row.get(3)?,
                            started_at: row.get(4)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?
            };
            transaction.execute("DELETE FROM live_calls", [])?;
            transaction.commit()?;
            Ok(rows)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, uri: &str) -> LiveCallRow {
        LiveCallRow {
            id: id.into(),
            app_id: "app".into(),
            tenant_id: "t".into(),
            callback_uri: uri.into(),
            started_at: 1,
        }
    }

    #[tokio::test]
    async fn the_journal_keeps_live_calls_until_they_end_and_is_emptied_when_taken() {
        let store = Store::open_in_memory().unwrap();
        store
            .journal_live_calls(vec![
                LiveCallChange::Upsert(row("a", "http://bot/a")),
                LiveCallChange::Upsert(row("b", "http://bot/b")),
                LiveCallChange::Upsert(row("a", "http://bot/a2")),
                LiveCallChange::Remove("b".into()),
            ])
            .await
            .unwrap();
        assert_eq!(
            store.take_live_calls().await.unwrap(),
            vec![row("a", "http://bot/a2")]
        );
        assert!(store.take_live_calls().await.unwrap().is_empty());
    }
}
