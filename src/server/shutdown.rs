//! Graceful shutdown: one signal fans out to the HTTP server and to long-running tasks, and hooks
//! registered by the call code run first (to end every call with a proper notification) before
//! the notification queues are drained.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The shutdown signal and its hooks; cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<ShutdownInner>,
}

struct ShutdownInner {
    signal: watch::Sender<bool>,
    hooks: Mutex<Vec<(&'static str, Hook)>>,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("started", &self.is_started())
            .finish_non_exhaustive()
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Shutdown {
            inner: Arc::new(ShutdownInner {
                signal: watch::channel(false).0,
                hooks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Registers a hook run once when shutdown starts, after new connections stop and before
    /// the notification queues drain. Hooks run concurrently, bounded by `shutdown.grace_secs`.
    ///
    /// The call code registers one that ends every call and enqueues its final notifications.
    pub fn on_shutdown<F, Fut>(&self, name: &'static str, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Hook = Box::new(move || Box::pin(hook()));
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name, hook));
    }

    /// Starts shutdown (idempotent).
    pub fn trigger(&self) {
        self.inner.signal.send_replace(true);
    }

    /// Whether shutdown has started.
    pub fn is_started(&self) -> bool {
        *self.inner.signal.borrow()
    }

    /// Resolves when shutdown starts.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut receiver = self.inner.signal.subscribe();
        async move {
            // An error means the sender is gone, which only happens when the server is gone.
            let _ = receiver.wait_for(|started| *started).await;
        }
    }

    /// Runs every registered hook concurrently, for at most `timeout`.
    pub async fn run_hooks(&self, timeout: Duration) {
        let hooks =
            std::mem::take(&mut *self.inner.hooks.lock().unwrap_or_else(|p| p.into_inner()));
        let mut tasks = tokio::task::JoinSet::new();
        for (name, hook) in hooks {
            tasks.spawn(async move {
                hook().await;
                name
            });
        }
        let all = async {
            while let Some(done) = tasks.join_next().await {
                match done {
                    Ok(name) => tracing::info!(hook = name, "shutdown hook finished"),
                    Err(error) => tracing::error!(%error, "shutdown hook failed"),
                }
            }
        };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!(
                timeout_secs = timeout.as_secs(),
                "shutdown hooks did not finish in time; abandoning them"
            );
        }
    }
}

/// Listens for ctrl-c or SIGTERM from the moment it is called (so a signal that arrives while the
/// server is still starting is not lost to the default action, which would kill the process);
/// the returned future resolves when one arrives.
pub fn os_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let (mut interrupt, mut terminate) = match (interrupt, terminate) {
                (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::error!(%error, "cannot listen for ctrl-c and SIGTERM");
                    return std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("ctrl-c received"),
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
        tracing::info!("ctrl-c received");
    }
}
