//! `switchboard serve`: binds, seeds the directory, serves, and shuts down gracefully.

pub mod calls;
pub mod router;
pub mod shutdown;
pub mod state;

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::Config;
use crate::store::seed::{DemoCredentials, seed_directory};
use state::AppState;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Building the state failed.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// Seeding the directory failed.
    #[error(transparent)]
    Seed(#[from] crate::store::seed::SeedError),
    /// The built-in bots or the reminder scheduler could not start.
    #[error(transparent)]
    Bots(#[from] crate::bots::launch::LaunchError),
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Http(std::io::Error),
}

/// Runs the server until ctrl-c or SIGTERM, then shuts down gracefully.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let addr = config.http.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let public_url = resolve_public_url(&config.http.public_url, bound);
    let grace = Duration::from_secs(config.shutdown.grace_secs);
    let drain = Duration::from_secs(config.shutdown.notify_drain_secs);
    // Listening for signals before anything else starts: a SIGTERM during start-up shuts down
    // cleanly instead of killing the process.
    let os_signal = shutdown::os_signal();
    let state = AppState::build(config, &public_url, crate::metrics::install_recorder())?;
    if let Some(demo) = seed_directory(&state.store, &state.config).await? {
        print_demo_banner(&demo, &public_url, &state.config.data_dir);
    }
    crate::bots::start(&state, bound).await?;
    tracing::info!(data_dir = %state.config.data_dir.display(), public_url = %public_url, issuer = %state.tokens.issuer(), "switchboard started");
    // Tests and scripts parse this line for the bound port.
    tracing::info!("listening on http://{bound}");

    let shutdown = state.shutdown.clone();
    let app = router::build(state.clone());
    let mut server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.wait())
            .into_future(),
    );
    tokio::select! {
        () = os_signal => {}
        () = shutdown.wait() => {}
        result = &mut server => {
            return match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(ServeError::Http(error)),
                Err(error) => Err(ServeError::Http(std::io::Error::other(error.to_string()))),
            };
        }
    }
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down: no new connections; ending calls"
    );
    shutdown.trigger();
    shutdown.run_hooks(grace).await;
    if tokio::time::timeout(grace, &mut server).await.is_err() {
        tracing::warn!("in-flight requests did not finish within the grace period; closing them");
        server.abort();
    }
    let report = state.notifier.drain(drain).await;
    tracing::info!(
        abandoned_notifications = report.abandoned,
        "shutdown complete"
    );
    Ok(())
}

/// The configured public URL, or one derived from the bound address.
pub fn resolve_public_url(configured: &str, bound: SocketAddr) -> String {
    if !configured.is_empty() {
        return configured.trim_end_matches('/').to_owned();
    }
    if bound.ip().is_unspecified() {
        format!("http://localhost:{}", bound.port())
    } else {
        format!("http://{bound}")
    }
}

fn print_demo_banner(demo: &DemoCredentials, public_url: &str, data_dir: &std::path::Path) {
    let users: Vec<String> = demo
        .users
        .iter()
        .map(|(id, name)| format!("{name} ({id})"))
        .collect();
    // Printed, not logged: the secret must not end up in log collectors.
    println!(
        "\nDemo directory (no [[apps]] configured):\n  tenant      {tenant}\n  app id      {app}\n  app secret  {secret}   (kept in {dir}/demo-app-secret)\n  users       {users}\n\nGet a token:\n  curl -s -X POST {url}/{tenant}/oauth2/v2.0/token \\\n    -d grant_type=client_credentials -d client_id={app} \\\n    -d client_secret={secret} -d scope=https://graph.microsoft.com/.default\n",
        tenant = demo.tenant_id,
        app = demo.app_id,
        secret = demo.app_secret,
        dir = data_dir.display(),
        users = users.join(", "),
        url = public_url,
    );
}
