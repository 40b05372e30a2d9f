//! Timeout: the call's deadline is min(configured, the caller's `grpc-timeout`), handed to
//! the handler as [`Deadline`]; when it runs out the handler future is dropped. Response
//! streams also get the lifetime/idle timers of the body wrapper (`middleware::timeout`).

use std::{future::Future, time::Duration};

use futures::{FutureExt, future::Either};
use http::{HeaderValue, Request, Response};
use tokio::time::Instant;
use tonic::{Code, Status, body::Body};

use super::{body::Timers, record::CallRecord};
use crate::middleware::{method::CallKind, timeout::Deadline};

/// The call's deadline and the response stream's idle timeout.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Timing {
    deadline: Option<Instant>,
    idle: Option<Duration>,
}

/// Resolves the call's deadline and puts it in the request extensions.
#[inline]
pub(super) fn start(rec: &CallRecord, req: &mut Request<Body>, now: Instant) -> Timing {
    let Some(t) = &rec.shared.timeout else {
        return Timing::default();
    };
    let t = t.load();
    let m = &rec.method;
    let header = req
        .headers()
        .get(crate::headers::GRPC_TIMEOUT)
        .map(HeaderValue::as_bytes);
    let deadline = t.deadline(m.index, &m.name, m.kind != CallKind::Unary, header, now);
    if let Some(d) = deadline {
        req.extensions_mut().insert(Deadline(d));
    }
    Timing {
        deadline,
        idle: t.stream_idle,
    }
}

/// The handler's answer, or `DEADLINE_EXCEEDED` once the deadline passes (dropping the
/// handler future cancels its work). A combinator, not an `async fn` (which would keep the
/// handler future twice in the call's future).
#[inline]
pub(super) fn within<F>(
    deadline: Option<Instant>,
    handler: F,
) -> impl Future<Output = Result<Response<Body>, Status>>
where
    F: Future<Output = Result<Response<Body>, Status>>,
{
    match deadline {
        Some(d) => Either::Left(
            tokio::time::timeout_at(d, handler).map(|r| r.unwrap_or_else(|_| Err(exceeded()))),
        ),
        None => Either::Right(handler),
    }
}

/// The status of a call whose deadline passed.
pub(super) fn exceeded() -> Status {
    crate::reason::DEADLINE_EXCEEDED.status(Code::DeadlineExceeded, "deadline exceeded")
}

/// The lifetime/idle timers of a response stream (none for unary replies).
#[inline]
pub(super) fn stream_timers(rec: &CallRecord, timing: Timing) -> Option<Timers> {
    if rec.method.kind.server_streams() {
        Timers::new(timing.deadline, timing.idle)
    } else {
        None
    }
}

impl Timing {
    /// The call's deadline, if any.
    #[inline]
    pub(super) fn deadline(self) -> Option<Instant> {
        self.deadline
    }
}
