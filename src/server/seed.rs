//! Start-up seeding: the directory from the config, or a demo tenant when none is configured.

use std::path::Path;

use crate::auth::secret::{generate_secret, hash_secret};
use crate::config::Config;
use crate::store::demo::{DEMO_ALICE_ID, DEMO_APP_ID, DEMO_BOB_ID, DEMO_TENANT_ID};
use crate::store::{AppRecord, Store, StoreError, TenantRecord, UserRecord};
/// File in the data directory holding the demo app's secret, so it survives restarts.
pub const DEMO_SECRET_FILE: &str = "demo-app-secret";

/// What the demo seeding created, for the start-up banner.
#[derive(Clone)]
pub struct DemoCredentials {
    /// Demo tenant id.
    pub tenant_id: String,
    /// Demo app id.
    pub app_id: String,
    /// Demo app secret, in clear (printed once per start, never logged).
    pub app_secret: String,
    /// (id, display name) of the demo users.
    pub users: Vec<(String, String)>,
}

impl std::fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The directory (SQLite) could not be read or written while seeding.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The demo secret file could not be read or written.
    #[error("demo secret file {path}: {source}")]
    SecretFile {
        /// The demo app's secret file in the data directory (`demo-app-secret`).
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Upserts the configured tenants, apps and users; seeds the demo directory when `config.demo` is
/// on and no application is configured. Returns the demo credentials when it seeded them.
pub async fn seed_directory(
    store: &Store,
    config: &Config,
) -> Result<Option<DemoCredentials>, SeedError> {
    for tenant in &config.tenants {
        let name = if tenant.name.is_empty() {
            tenant.id.clone()
        } else {
            tenant.name.clone()
        };
        store
            .upsert_tenant(TenantRecord {
                id: tenant.id.clone(),
                name,
            })
            .await?;
    }
    for app in &config.apps {
        store
            .upsert_app(AppRecord {
                id: app.id.clone(),
                tenant_id: app.tenant.clone(),
                name: if app.name.is_empty() {
                    app.id.clone()
                } else {
                    app.name.clone()
                },
                secret_hash: app.secret.as_ref().map(|s| hash_secret(s.expose())),
                calling_webhook: app.calling_webhook.clone(),
            })
            .await?;
    }
    for user in &config.users {
        store
            .upsert_user(UserRecord {
                id: user.id.clone(),
                tenant_id: user.tenant.clone(),
                display_name: user.display_name.clone(),
            })
            .await?;
    }
    if !config.demo || !config.apps.is_empty() {
        return Ok(None);
    }
    seed_demo(store, &config.data_dir).await.map(Some)
}

async fn seed_demo(store: &Store, data_dir: &Path) -> Result<DemoCredentials, SeedError> {
    let app_secret = load_or_create_demo_secret(data_dir)?;
    store
        .upsert_tenant(TenantRecord {
            id: DEMO_TENANT_ID.into(),
            name: "Demo Tenant".into(),
        })
        .await?;
    let users = vec![
        (DEMO_ALICE_ID.to_owned(), "Alice Agent".to_owned()),
        (DEMO_BOB_ID.to_owned(), "Bob Agent".to_owned()),
    ];
    for (id, display_name) in &users {
        store
            .upsert_user(UserRecord {
                id: id.clone(),
                tenant_id: DEMO_TENANT_ID.into(),
                display_name: display_name.clone(),
            })
            .await?;
    }
    store
        .upsert_app(AppRecord {
            id: DEMO_APP_ID.into(),
            tenant_id: DEMO_TENANT_ID.into(),
            name: "Demo Bot".into(),
            secret_hash: Some(hash_secret(&app_secret)),
            calling_webhook: None,
        })
        .await?;
    Ok(DemoCredentials {
        tenant_id: DEMO_TENANT_ID.into(),
        app_id: DEMO_APP_ID.into(),
        app_secret,
        users,
    })
}

fn load_or_create_demo_secret(data_dir: &Path) -> Result<String, SeedError> {
    let path = data_dir.join(DEMO_SECRET_FILE);
    let error = |source| SeedError::SecretFile {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(error(e)),
    }
    let secret = generate_secret();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    use std::io::Write as _;
    let mut file = options.open(&path).map_err(error)?;
    file.write_all(secret.as_bytes()).map_err(error)?;
    Ok(secret)
}
