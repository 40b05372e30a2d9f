//! The ONE response body wrapper of the stack: counts response messages, reads the final
//! `grpc-status`, turns a panic while polling a response stream into `INTERNAL`, enforces
//! stream lifetime/idle timeouts and the server's response limits (send size, end of open
//! streams when the drain starts), and finishes the [`CallRecord`] exactly once.

use std::{
    panic::AssertUnwindSafe,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::{Code, Status, body::Body};

use super::record::CallRecord;
use crate::framing::FrameScanner;
use crate::middleware::recover;

/// Stream timers.
pub(crate) struct Timers {
    pub(crate) sleep: Pin<Box<Sleep>>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) idle: Option<Duration>,
}

impl Timers {
    pub(crate) fn new(deadline: Option<Instant>, idle: Option<Duration>) -> Option<Self> {
        let first = match (deadline, idle) {
            (None, None) => return None,
            (Some(d), None) => d,
            (None, Some(i)) => Instant::now() + i,
            (Some(d), Some(i)) => d.min(Instant::now() + i),
        };
        Some(Self {
            sleep: Box::pin(tokio::time::sleep_until(first)),
            deadline,
            idle,
        })
    }

    fn touch(&mut self) {
        if let Some(i) = self.idle {
            let next = Instant::now() + i;
            let next = self.deadline.map_or(next, |d| d.min(next));
            self.sleep.as_mut().reset(next);
        }
    }
}

/// What the server holds every response body to (see `ServerBuilder::serve`): messages
/// above `max_send` end the call with `RESOURCE_EXHAUSTED` (the message is not sent); a
/// body still waiting for its next message when `drained` fires ends with `UNAVAILABLE`.
#[derive(Debug, Clone)]
pub(crate) struct ResponseLimits {
    pub(crate) max_send: usize,
    pub(crate) drained: CancellationToken,
}

/// Response body of [`super::GrpcStack`].
pub struct StackBody {
    inner: Body,
    /// Boxed: the response is moved through every outer layer's future, and the record is
    /// most of the body's size.
    rec: Option<Box<CallRecord>>,
    recover: bool,
    timers: Option<Timers>,
    /// Counts the messages sent, however they are split into chunks.
    frames: FrameScanner,
    /// Largest message sent (`usize::MAX`: no limit).
    max_send: usize,
    /// Fires when the server drains; waited on only while the inner body is pending.
    drained: Option<CancellationToken>,
    wait: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    finished: bool,
}

impl std::fmt::Debug for StackBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackBody").finish_non_exhaustive()
    }
}

fn status_trailers(status: &Status) -> Frame<Bytes> {
    let (mut parts, ()) = status.clone().into_http::<()>().into_parts();
    parts.headers.remove(http::header::CONTENT_TYPE);
    Frame::trailers(parts.headers)
}

impl StackBody {
    pub(crate) fn new(
        inner: Body,
        rec: Option<Box<CallRecord>>,
        recover: bool,
        timers: Option<Timers>,
        limits: Option<&ResponseLimits>,
    ) -> Self {
        Self {
            inner,
            rec,
            recover,
            timers,
            frames: FrameScanner::default(),
            max_send: limits.map_or(usize::MAX, |l| l.max_send),
            drained: limits.map(|l| l.drained.clone()),
            wait: None,
            finished: false,
        }
    }

    /// An empty body for a response that already carries its status in the headers.
    pub(crate) fn empty() -> Self {
        let mut b = Self::new(Body::empty(), None, false, None, None);
        b.finished = true;
        b
    }

    /// Counts the messages in `data`; `Err(len)` for the first one above `max_send`.
    fn count(&mut self, data: &[u8]) -> Result<(), u32> {
        let max = self.max_send;
        let n = self.frames.feed(
            data,
            |len| {
                if len as usize > max { Err(len) } else { Ok(()) }
            },
        )?;
        if let Some(r) = &mut self.rec {
            r.out_msgs = r
                .out_msgs
                .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
            // Unary replies are counted when the call finishes (as go-grpc-prometheus does).
            if n > 0
                && r.method.kind.server_streams()
                && let Some(m) = &r.metrics
            {
                m.response_messages(n);
            }
        }
        Ok(())
    }

    fn finish(&mut self, code: Code) {
        self.finished = true;
        if let Some(mut r) = self.rec.take() {
            r.finish(code);
        }
    }

    fn end_with(&mut self, status: &Status) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.finish(status.code());
        Poll::Ready(Some(Ok(status_trailers(status))))
    }
}

impl HttpBody for StackBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some(t) = &mut this.timers
            && t.sleep.as_mut().poll(cx).is_ready()
        {
            return this.end_with(&crate::reason::DEADLINE_EXCEEDED.status(
                Code::DeadlineExceeded,
                "stream deadline or idle timeout exceeded",
            ));
        }
        let polled = if this.recover {
            match std::panic::catch_unwind(AssertUnwindSafe(|| {
                Pin::new(&mut this.inner).poll_frame(cx)
            })) {
                Ok(p) => p,
                Err(panic) => {
                    let (m, id) = this
                        .rec
                        .as_ref()
                        .map_or(("", ""), |r| (&*r.method.name, r.request_id_str()));
                    recover::log_panic(&*panic, m, id, true);
                    return this.end_with(&recover::panic_status());
                }
            }
        } else {
            Pin::new(&mut this.inner).poll_frame(cx)
        };
        match polled {
            Poll::Pending => {
                let Some(drained) = &this.drained else {
                    return Poll::Pending;
                };
                let wait = this
                    .wait
                    .get_or_insert_with(|| Box::pin(drained.clone().cancelled_owned()));
                std::task::ready!(wait.as_mut().poll(cx));
                this.end_with(&Status::unavailable(crate::server::SHUTTING_DOWN))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    if let Err(len) = this.count(d) {
                        let max = this.max_send;
                        return this.end_with(&crate::server::send_limit_status(len, max));
                    }
                    if let Some(t) = &mut this.timers {
                        t.touch();
                    }
                } else if let Some(tr) = frame.trailers_ref() {
                    this.finish(crate::headers::grpc_status(tr).unwrap_or(Code::Ok));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish(e.code());
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.finish(Code::Ok);
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished || (self.timers.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The code in headers of a trailers-only response.
pub(crate) fn header_code(h: &HeaderMap) -> Option<Code> {
    crate::headers::grpc_status(h)
}
