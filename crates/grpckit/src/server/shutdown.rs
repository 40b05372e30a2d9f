//! Graceful shutdown: one token that SIGINT/SIGTERM (or a test) cancels.
//!
//! On cancel: health turns `NOT_SERVING`, the listener stops accepting, connections get
//! GOAWAY, long-lived streams are told to end, in-flight calls get `shutdown_grace` to
//! finish, then the server returns.

use tokio_util::sync::CancellationToken;

/// A cloneable shutdown handle. Streaming handlers select on [`Shutdown::cancelled`] so they
/// end cleanly instead of holding the drain open.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A fresh, not yet triggered handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the shutdown.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once shutdown has started.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// The underlying token.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C elsewhere).
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
