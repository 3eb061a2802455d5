//! Applications (bots): their credentials and calling webhook.

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError};

/// A row of `applications`: a bot that may sign in, place and receive calls.
#[derive(Clone, PartialEq, Eq)]
pub struct AppRecord {
    /// Application (client) id.
    pub id: String,
    /// Tenant the application is registered in.
    pub tenant_id: String,
    /// Display name.
    pub name: String,
    /// PBKDF2 hash of the client secret (see `auth::secret`); `None`: no client-credential sign-in.
    pub secret_hash: Option<String>,
    /// Where incoming-call notifications go.
    pub calling_webhook: Option<String>,
}

impl std::fmt::Debug for AppRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRecord")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("name", &self.name)
            .field("secret_hash", &self.secret_hash.as_ref().map(|_| "***"))
            .field("calling_webhook", &self.calling_webhook)
            .finish()
    }
}

/// An application to insert or update; `secret_hash: None` keeps the stored hash.
pub type NewApp = AppRecord;

fn app_from_row(row: &Row<'_>) -> rusqlite::Result<AppRecord> {
    Ok(AppRecord {
        id: row.get(0)?,
        tenant_id: row.get(1)?,
        name: row.get(2)?,
        secret_hash: row.get(3)?,
        calling_webhook: row.get(4)?,
    })
}

const APP_COLUMNS: &str = "id, tenant_id, name, secret_hash, calling_webhook";

impl Store {
    /// Inserts or updates an application. A `None` secret hash keeps the stored one.
    pub async fn upsert_app(&self, app: NewApp) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO applications (id, tenant_id, name, secret_hash, calling_webhook)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET tenant_id = excluded.tenant_id, name = excluded.name,
                     secret_hash = COALESCE(excluded.secret_hash, applications.secret_hash),
                     calling_webhook = excluded.calling_webhook",
                params![
                    app.id,
                    app.tenant_id,
                    app.name,
                    app.secret_hash,
                    app.calling_webhook
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Sets (or, with `None`, clears) an application's calling webhook; `false` when there is no
    /// such application.
    pub async fn set_calling_webhook(
        &self,
        id: &str,
        webhook: Option<String>,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run(move |c| {
            let changed = c.execute(
                "UPDATE applications SET calling_webhook = ?2 WHERE id = ?1",
                params![id, webhook],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    /// The application with this id, in any tenant.
    pub async fn get_app(&self, id: &str) -> Result<Option<AppRecord>, StoreError> {
        let id = id.to_owned();
        self.run(move |c| {
            Ok(c.query_row(
                &format!("SELECT {APP_COLUMNS} FROM applications WHERE id = ?1"),
                [id],
                app_from_row,
            )
            .optional()?)
        })
        .await
    }

    /// The applications of a tenant, by id.
    pub async fn list_apps(&self, tenant_id: &str) -> Result<Vec<AppRecord>, StoreError> {
        let tenant_id = tenant_id.to_owned();
        self.run(move |c| {
            let mut statement = c.prepare(&format!(
                "SELECT {APP_COLUMNS} FROM applications WHERE tenant_id = ?1 ORDER BY id"
            ))?;
            let rows = statement.query_map([tenant_id], app_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
