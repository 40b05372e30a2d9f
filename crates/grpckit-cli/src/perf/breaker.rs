//! Stops a run that only measures a dead connection. A call whose local error chain holds an
//! I/O error (connect refused, reset, broken pipe) or an HTTP/2 connection error (GOAWAY) never
//! reached the service; after `limit` such calls in a row the run stops instead of reporting
//! thousands of "requests per second" of connection errors. Any other outcome (OK, or a status
//! the server sent) resets the count.

use std::{
    error::Error,
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

use tonic::Status;

/// Counts consecutive connection failures; trips once at `limit` (0 = never).
#[derive(Debug)]
pub(crate) struct Breaker {
    limit: u32,
    consecutive: AtomicU32,
    /// The connection error of the call that reached `limit`.
    tripped: OnceLock<String>,
}

impl Breaker {
    pub(crate) fn new(limit: u32) -> Self {
        Self {
            limit,
            consecutive: AtomicU32::new(0),
            tripped: OnceLock::new(),
        }
    }

    /// Counts the outcome of one call.
    pub(crate) fn record(&self, res: &Result<(), Status>) {
        let Some(why) = res.as_ref().err().and_then(connection_error) else {
            if self.consecutive.load(Ordering::Relaxed) != 0 {
                self.consecutive.store(0, Ordering::Relaxed);
            }
            return;
        };
        let n = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if self.limit != 0 && n >= self.limit {
            let _ = self.tripped.set(why);
        }
    }

    /// The connection error that stopped the run, once `limit` failures came in a row.
    pub(crate) fn tripped(&self) -> Option<&str> {
        self.tripped.get().map(String::as_str)
    }

    /// Whether the run must stop.
    pub(crate) fn is_tripped(&self) -> bool {
        self.tripped.get().is_some()
    }
}

/// The local cause of `s` when the call failed for want of a working connection: the OS error
/// (e.g. "Connection refused (os error 111)") or the HTTP/2 connection error. `None` for a
/// status the server sent, or a stream-level error.
pub(crate) fn connection_error(s: &Status) -> Option<String> {
    let mut cause: Option<&(dyn Error + 'static)> = s.source();
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.to_string());
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            if let Some(io) = h2.get_io() {
                return Some(io.to_string());
            }
            // A GOAWAY ends the connection; a stream reset is an answer to one call.
            return h2.is_go_away().then(|| match h2.reason() {
                Some(r) => format!("the server closed the connection (GOAWAY {r:?})"),
                None => h2.to_string(),
            });
        }
        cause = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_failure() -> Status {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        Status::from_error(Box::new(io))
    }

    #[test]
    fn only_local_connection_errors_count() {
        assert!(connection_error(&io_failure()).is_some());
        assert!(connection_error(&Status::unavailable("server says no")).is_none());
        let reset = h2::Error::from(h2::Reason::CANCEL);
        assert!(connection_error(&Status::from_error(Box::new(reset))).is_none());
    }

    #[test]
    fn trips_after_limit_in_a_row() {
        let b = Breaker::new(3);
        b.record(&Err(io_failure()));
        b.record(&Err(io_failure()));
        b.record(&Err(Status::not_found("x")));
        b.record(&Err(io_failure()));
        b.record(&Ok(()));
        assert!(!b.is_tripped());
        for _ in 0..3 {
            b.record(&Err(io_failure()));
        }
        assert!(b.tripped().is_some_and(|m| m.contains("refused")), "{b:?}");
        let never = Breaker::new(0);
        for _ in 0..10 {
            never.record(&Err(io_failure()));
        }
        assert!(!never.is_tripped());
    }
}
