//! [`Signals`]: the process signals a server reacts to, registered once at start.
//!
//! SIGINT and SIGTERM stop the server: the first starts the graceful drain, a second one
//! means "now" (the caller exits at once). SIGHUP would kill the process with its default
//! action; until configuration reload exists it is logged and ignored here (a server
//! serving TLS reads its certificate files again on SIGHUP).

/// SIGINT, SIGTERM and SIGHUP, registered when [`Signals::install`] runs: from then on none
/// of them takes its default action (killing the process).
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Registers the handlers. Call it before the server starts serving (inside a Tokio
    /// runtime), so a signal that arrives early is handled, not fatal.
    pub fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the next SIGINT or SIGTERM and returns its name (`"SIGINT"`, `"SIGTERM"`).
    /// A SIGHUP meanwhile is logged (reload is not supported yet) and otherwise ignored.
    pub async fn terminate(&mut self) -> &'static str {
        #[cfg(unix)]
        loop {
            tokio::select! {
                _ = self.int.recv() => return "SIGINT",
                _ = self.term.recv() => return "SIGTERM",
                _ = self.hup.recv() => tracing::warn!(
                    signal = "SIGHUP",
                    "SIGHUP received: configuration reload is not supported yet (with TLS, the certificate files are read again); otherwise ignoring it (SIGTERM or SIGINT stop the server)"
                ),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

/// The conventional exit code of a process ended by `signal` (`128 + number`).
pub fn signal_exit_code(signal: &str) -> u8 {
    match signal {
        "SIGINT" => 130,
        "SIGTERM" => 143,
        _ => 1,
    }
}
