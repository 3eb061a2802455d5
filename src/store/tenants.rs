//! Tenants: the directories apps and users belong to.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// A row of `tenants`: a directory that apps and users belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// Tenant id (the `tid` claim).
    pub id: String,
    /// Display name.
    pub name: String,
}

impl Store {
    /// Inserts or updates a tenant.
    pub async fn upsert_tenant(&self, tenant: TenantRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO tenants (id, name) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name",
                params![tenant.id, tenant.name],
            )?;
            Ok(())
        })
        .await
    }

    /// The tenant with this id.
    pub async fn get_tenant(&self, id: &str) -> Result<Option<TenantRecord>, StoreError> {
        let id = id.to_owned();
        self.run(move |c| {
            Ok(
                c.query_row("SELECT id, name FROM tenants WHERE id = ?1", [id], |row| {
                    Ok(TenantRecord {
                        id: row.get(0)?,
                        name: row.get(1)?,
                    })
                })
                .optional()?,
            )
        })
        .await
    }

    /// Every tenant, by id.
    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        self.run(|c| {
            let mut statement = c.prepare("SELECT id, name FROM tenants ORDER BY id")?;
            let rows = statement.query_map([], |row| {
                Ok(TenantRecord {
                    id: row.get(0)?,
                    name: row.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
