//! Scheduled reminder calls: the whole reminder as a JSON document, plus the columns the
//! scheduler and the API search on (owner, status, next attempt time).

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError};

/// A row of `reminders`: the reminder's JSON and the columns the scheduler and API search.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderRow {
    /// Reminder id.
    pub id: String,
    /// The application that scheduled it (it owns the reminder and its calls).
    pub app_id: String,
    /// The application's tenant.
    pub tenant_id: String,
    /// `scheduled`, `calling`, `delivered`, `failed` or `cancelled`.
    pub status: String,
    /// When the next call is due, in Unix milliseconds.
    pub next_attempt_at: i64,
    /// The reminder resource (`crate::reminders::Reminder`).
    pub document: serde_json::Value,
}

fn row_of(row: &Row<'_>) -> rusqlite::Result<(ReminderRow, String)> {
    Ok((
        ReminderRow {
            id: row.get(0)?,
            app_id: row.get(1)?,
            tenant_id: row.get(2)?,
            status: row.get(3)?,
            next_attempt_at: row.get(4)?,
            document: serde_json::Value::Null,
        },
        row.get(5)?,
    ))
}

fn parsed(pair: (ReminderRow, String)) -> Result<ReminderRow, StoreError> {
    let (mut row, json) = pair;
    row.document = serde_json::from_str(&json)?;
    Ok(row)
}

const COLUMNS: &str = "id, app_id, tenant_id, status, next_attempt_at, reminder_json";

impl Store {
    /// Inserts or replaces a reminder.
    pub async fn put_reminder(&self, reminder: ReminderRow) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                &format!(
                    "INSERT OR REPLACE INTO reminders ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                ),
                params![
                    reminder.id,
                    reminder.app_id,
                    reminder.tenant_id,
                    reminder.status,
                    reminder.next_attempt_at,
                    reminder.document.to_string()
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// The reminder with this id.
    pub async fn get_reminder(&self, id: &str) -> Result<Option<ReminderRow>, StoreError> {
        let id = id.to_owned();
        self.run(move |c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM reminders WHERE id = ?1"),
                [id],
                row_of,
            )
            .optional()?
            .map(parsed)
            .transpose()
        })
        .await
    }

    /// The reminders of an application, oldest first.
    pub async fn list_reminders(&self, app_id: &str) -> Result<Vec<ReminderRow>, StoreError> {
        let app_id = app_id.to_owned();
        self.run(move |c| {
            let mut statement = c.prepare(&format!(
                "SELECT {COLUMNS} FROM reminders WHERE app_id = ?1 ORDER BY rowid"
            ))?;
            let rows = statement.query_map([app_id], row_of)?;
            rows.map(|r| parsed(r?)).collect()
        })
        .await
    }

    /// Marks every `scheduled` reminder due at `now_ms` as `calling` and returns them: each is
    /// claimed exactly once.
    pub async fn claim_due_reminders(&self, now_ms: i64) -> Result<Vec<ReminderRow>, StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let due = {
                let mut statement = tx.prepare(&format!(
                    "SELECT {COLUMNS} FROM reminders WHERE status = 'scheduled' AND next_attempt_at <= ?1 ORDER BY next_attempt_at"
                ))?;
                let rows = statement.query_map([now_ms], row_of)?;
                rows.map(|r| parsed(r?)).collect::<Result<Vec<_>, _>>()?
            };
            for row in &due {
                tx.execute(
                    "UPDATE reminders SET status = 'calling' WHERE id = ?1",
                    [&row.id],
                )?;
            }
            tx.commit()?;
            Ok(due)
        })
        .await
    }

    /// Puts reminders whose call was cut off by a stop (`calling`) back to `scheduled`, due now.
    pub async fn resume_interrupted_reminders(&self, now_ms: i64) -> Result<usize, StoreError> {
        self.run(move |c| {
            Ok(c.execute(
                "UPDATE reminders SET status = 'scheduled', next_attempt_at = ?1 WHERE status = 'calling'",
                [now_ms],
            )?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, app: &str, due: i64) -> ReminderRow {
        ReminderRow {
            id: id.into(),
            app_id: app.into(),
            tenant_id: "t".into(),
            status: "scheduled".into(),
            next_attempt_at: due,
            document: serde_json::json!({"id": id}),
        }
    }

    #[tokio::test]
    async fn due_reminders_are_claimed_once_and_interrupted_ones_come_back() {
        let store = Store::open_in_memory().unwrap();
        store.put_reminder(row("early", "a1", 1_000)).await.unwrap();
        store.put_reminder(row("late", "a1", 5_000)).await.unwrap();
        store.put_reminder(row("other", "a2", 1_000)).await.unwrap();

        let due: Vec<String> = store
            .claim_due_reminders(2_000)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(due.len(), 2);
        assert!(due.contains(&"early".to_owned()) && due.contains(&"other".to_owned()));
        assert!(store.claim_due_reminders(2_000).await.unwrap().is_empty());
        assert_eq!(
            store.get_reminder("early").await.unwrap().unwrap().status,
            "calling"
        );

        // A stop while calling: the reminder is due again at once, and claimed again.
        assert_eq!(store.resume_interrupted_reminders(3_000).await.unwrap(), 2);
        assert_eq!(store.claim_due_reminders(3_000).await.unwrap().len(), 2);

        let mine = store.list_reminders("a1").await.unwrap();
        assert_eq!(
            mine.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["early", "late"]
        );
        assert_eq!(mine[0].document["id"], "early");
        assert!(store.get_reminder("missing").await.unwrap().is_none());
    }
}
