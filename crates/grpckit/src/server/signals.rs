//! [`Signals`]: the process signals a server reacts to, registered once at start.
//!
//! SIGINT and SIGTERM stop the server: the first starts the graceful drain, a second one
//! means "now" (the caller exits at once). SIGHUP would kill the process with its default
//! action; here it is only logged: the reload watches listen for it themselves ([`Hangup`]:
//! the configuration file's, `crate::config::reload`, and the TLS certificate files').

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
    /// A SIGHUP meanwhile is logged and otherwise ignored here (the reload watches act on it).
    pub async fn terminate(&mut self) -> &'static str {
        #[cfg(unix)]
        loop {
            tokio::select! {
                _ = self.int.recv() => return "SIGINT",
                _ = self.term.recv() => return "SIGTERM",
                _ = self.hup.recv() => tracing::info!(
                    signal = "SIGHUP",
                    "SIGHUP received: the configuration file (when the server has one) and TLS certificate files are read again; it does not stop the server (SIGTERM or SIGINT do)"
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

/// SIGHUP, when it can be listened to (Unix).
pub(crate) struct Hangup(#[cfg(unix)] Option<tokio::signal::unix::Signal>);

impl Hangup {
    /// Listens for SIGHUP from now on (never fires where it cannot be listened to).
    pub(crate) fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self(signal(SignalKind::hangup()).ok())
        }
        #[cfg(not(unix))]
        {
            Self()
        }
    }

    /// The next SIGHUP (never, where there is none).
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.0
            && s.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await;
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
