//! `switchboard serve`: binds, builds the services in order ([`start`]), seeds the directory
//! ([`seed`]), starts the built-in bots and the reminder scheduler, serves, and shuts down
//! gracefully ([`shutdown`]).

pub mod journal;
pub mod seed;
pub mod shutdown;
pub mod start;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::bots::flow::FlowConfig;
use crate::bots::inbox::Inbox;
use crate::config::Config;
use crate::http::AppState;
use seed::{DemoCredentials, seed_directory};
use shutdown::Shutdown;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for (`http.listen`).
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Building the services failed.
    #[error(transparent)]
    Start(#[from] start::StartError),
    /// Seeding the directory failed.
    #[error(transparent)]
    Seed(#[from] seed::SeedError),
    /// The built-in bots' loopback notification listener could not bind.
    #[error("built-in bots: cannot bind the loopback notification listener: {0}")]
    Inbox(std::io::Error),
    /// The built-in bots could not start.
    #[error(transparent)]
    Bots(#[from] crate::bots::launch::LaunchError),
    /// The HTTP server stopped with an error while serving.
    #[error("HTTP server: {0}")]
    Http(std::io::Error),
}

/// Runs the server until ctrl-c or SIGTERM, then shuts down gracefully. `flows` are the checked
/// flows of the built-in bots (`bots::setup::prepare`), if any run.
pub async fn serve(config: Config, flows: Option<Arc<FlowConfig>>) -> Result<(), ServeError> {
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
    let shutdown = Shutdown::new();
    // The built-in bots' loopback listener is bound first: the notifier trusts its address.
    let inbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(ServeError::Inbox)?;
    let inbox_addr = inbox_listener.local_addr().map_err(ServeError::Inbox)?;
    let state = start::services(
        config,
        &public_url,
        crate::metrics::install_recorder(),
        &shutdown,
        inbox_addr,
    )?;
    journal::end_lost_calls(&state.store, &state.notifier).await;
    if let Some(demo) = seed_directory(&state.store, &state.config).await? {
        print_demo_banner(&demo, &public_url, &state.config.data_dir);
    }
    start_bots(&state, bound, inbox_listener, flows.as_deref()).await?;
    tracing::info!(data_dir = %state.config.data_dir.display(), public_url = %public_url, issuer = %state.tokens.issuer(), "switchboard started");
    // Tests and scripts parse this line for the bound port.
    tracing::info!("listening on http://{bound}");

    let app = crate::http::router::build(state.clone());
    let mut server = tokio::spawn(crate::http::serve::serve(listener, app, shutdown.wait()));
    tokio::select! {
        () = os_signal => {}
        () = shutdown.wait() => {}
        result = &mut server => {
            return result.map_err(|error| ServeError::Http(std::io::Error::other(error.to_string())));
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
    // Every call was ended (and its bot told) by the shutdown hook: the journal of live calls is
    // empty by now, unless its writer had not caught up; either way the next start must not tell
    // those bots a second time.
    if let Err(error) = state.store.take_live_calls().await {
        tracing::warn!(%error, "cannot clear the journal of live calls");
    }
    tracing::info!(
        abandoned_notifications = report.abandoned,
        "shutdown complete"
    );
    Ok(())
}

/// Starts what acts as an application through the public API: the built-in bots of `flows` and
/// the reminder scheduler, both reached at the loopback inbox and calling the API at `bound`.
async fn start_bots(
    state: &AppState,
    bound: SocketAddr,
    listener: tokio::net::TcpListener,
    flows: Option<&FlowConfig>,
) -> Result<(), ServeError> {
    let inbox = Inbox::new(
        listener.local_addr().map_err(ServeError::Inbox)?,
        Arc::clone(&state.tokens),
    );
    tokio::spawn(crate::http::inbox::serve(listener, inbox.clone()));
    let base_url = crate::bots::launch::local_base_url(bound);
    let http = crate::bots::launch::api_client();
    crate::reminders::start(crate::reminders::Scheduler {
        store: state.store.clone(),
        notifier: state.notifier.clone(),
        tokens: Arc::clone(&state.tokens),
        base_url: base_url.clone(),
        inbox: inbox.clone(),
        http: http.clone(),
    });
    if let Some(flows) = flows {
        crate::bots::start(flows, &state.store, &inbox, &base_url, http).await?;
        crate::bots::launch::print_bots_banner(&flows.bots, &state.public_url);
    }
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
