//! Users: the people (agents, callers, meeting organizers) of a tenant.

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError};

/// A row of `users`: a person who can be called, sign in to the softphone, organize meetings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// User id.
    pub id: String,
    /// Tenant the user belongs to.
    pub tenant_id: String,
    /// Display name (shown in identity sets).
    pub display_name: String,
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(0)?,
        tenant_id: row.get(1)?,
        display_name: row.get(2)?,
    })
}

impl Store {
    /// Inserts or updates a user.
    pub async fn upsert_user(&self, user: UserRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO users (id, tenant_id, display_name) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET tenant_id = excluded.tenant_id,
                     display_name = excluded.display_name",
                params![user.id, user.tenant_id, user.display_name],
            )?;
            Ok(())
        })
        .await
    }

    /// The user with this id, in any tenant.
    pub async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let id = id.to_owned();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT id, tenant_id, display_name FROM users WHERE id = ?1",
                [id],
                user_from_row,
            )
            .optional()?)
        })
        .await
    }

    /// The users of a tenant, by display name.
    pub async fn list_users(&self, tenant_id: &str) -> Result<Vec<UserRecord>, StoreError> {
        let tenant_id = tenant_id.to_owned();
        self.run(move |c| {
            let mut statement = c.prepare(
                "SELECT id, tenant_id, display_name FROM users WHERE tenant_id = ?1 ORDER BY display_name, id",
            )?;
            let rows = statement.query_map([tenant_id], user_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
