//! Graceful shutdown: one token that SIGINT/SIGTERM (or a test) cancels. What the server
//! does then is written once, in `# Shutdown` on [`ServerBuilder::serve`](super::ServerBuilder::serve).

use tokio_util::sync::CancellationToken;

use super::{Signals, end_stream::EndOnShutdown};

/// A cloneable shutdown handle. The server ends open response streams itself; background
/// work selects on [`Shutdown::cancelled`] to stop.
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

    /// Wraps a stream so that it ends with `UNAVAILABLE` (retryable: the client reconnects
    /// elsewhere) as soon as this handle fires. The server already ends every open response
    /// stream when the drain starts; this is for streams that must end earlier.
    ///
    /// # Examples
    /// ```
    /// # async fn run() {
    /// use futures::StreamExt;
    /// let shutdown = grpckit::server::Shutdown::new();
    /// let mut feed = Box::pin(shutdown.end_stream(futures::stream::pending::<Result<u8, tonic::Status>>()));
    /// shutdown.trigger();
    /// assert_eq!(feed.next().await.unwrap().unwrap_err().code(), tonic::Code::Unavailable);
    /// # }
    /// ```
    pub fn end_stream<S>(&self, stream: S) -> EndOnShutdown<S> {
        EndOnShutdown::new(stream, self.token.clone().cancelled_owned())
    }
}

/// Resolves on the first SIGINT or SIGTERM (Ctrl-C elsewhere), logging it; SIGHUP is
/// logged and ignored meanwhile. See [`Signals`] to react to a second signal too.
pub async fn wait_for_signal() {
    match Signals::install() {
        Ok(mut s) => {
            let name = s.terminate().await;
            tracing::info!(signal = name, "{name} received, shutting down");
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for signals; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
