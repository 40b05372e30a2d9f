//! One call's recording: started at the first byte, finished exactly once with its final
//! code (trailers, trailers-only headers, or `Canceled` when dropped unfinished), and the
//! body wrappers that count messages per gRPC frame.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use prometheus::IntCounter;
use tonic::Code;

use super::{FrameCounter, Side, global, grpc::SideHandles, methods::MethodInfo, stats};

pub(crate) use crate::headers::grpc_status;

/// Records one call on one side.
#[derive(Debug)]
pub(crate) struct CallRecorder {
    m: &'static MethodInfo,
    side: Side,
    h: &'static SideHandles,
    start: Instant,
    done: bool,
}

impl CallRecorder {
    /// Counts the start (and, for unary calls, the request message as go-grpc-prometheus does).
    #[inline]
    pub(crate) fn start(m: &'static MethodInfo, side: Side) -> Self {
        Self::start_at(m, side, Instant::now())
    }

    /// [`Self::start`] with the clock already read by the caller.
    #[inline]
    pub(crate) fn start_at(m: &'static MethodInfo, side: Side, start: Instant) -> Self {
        let g = global();
        let h = match side {
            Side::Server => m.server.get_or_init(|| g.server.handles(m)),
            Side::Client => m.client.get_or_init(|| g.client.handles(m)),
        };
        h.started.inc();
        match side {
            Side::Server => {
                g.in_flight.inc();
                if !m.kind.client_streams() {
                    h.received.inc();
                }
            }
            Side::Client => {
                if !m.kind.client_streams() {
                    h.sent.inc();
                }
            }
        }
        Self {
            m,
            side,
            h,
            start,
            done: false,
        }
    }

    /// The counter for messages travelling in the request direction (server: received,
    /// client: sent).
    pub(crate) fn request_messages(&self) -> IntCounter {
        match self.side {
            Side::Server => self.h.received.clone(),
            Side::Client => self.h.sent.clone(),
        }
    }

    pub(crate) fn response_messages(&self, n: u64) {
        match self.side {
            Side::Server => self.h.sent.inc_by(n),
            Side::Client => self.h.received.inc_by(n),
        }
    }

    /// Records the end with `code` (only the first call counts).
    #[inline]
    pub(crate) fn finish(&mut self, code: Code) {
        // Checked before the clock is read: finishing twice (e.g. the drop of a finished
        // call) costs nothing.
        if !self.done {
            self.finish_at(code, Instant::now());
        }
    }

    /// [`Self::finish`] with the clock already read by the caller.
    #[inline]
    pub(crate) fn finish_at(&mut self, code: Code, end: Instant) {
        if self.done {
            return;
        }
        self.done = true;
        let latency = end.saturating_duration_since(self.start);
        self.h.handled(self.m, code).inc();
        self.h.seconds.observe(latency.as_secs_f64());
        let single_response = !self.m.kind.server_streams();
        if single_response && code == Code::Ok {
            self.response_messages(1);
        }
        if self.side == Side::Server {
            global().in_flight.dec();
            stats::record(self.m, end, latency, code != Code::Ok);
        }
    }
}

impl Drop for CallRecorder {
    fn drop(&mut self) {
        // Dropped before the final status: the peer went away or the call was abandoned.
        self.finish(Code::Cancelled);
    }
}

pin_project! {
    /// A response body that finishes the call at its trailers and, for streaming responses,
    /// counts messages per frame.
    #[derive(Debug)]
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        rec: Option<CallRecorder>,
        frames: Option<FrameCounter>,
    }
}

impl<B> MeteredBody<B> {
    /// Wraps `inner`; `rec: None` passes everything through (call already finished).
    pub(crate) fn new(inner: B, rec: Option<CallRecorder>) -> Self {
        let frames = rec
            .as_ref()
            .filter(|r| r.m.kind.server_streams())
            .map(|_| FrameCounter::default());
        Self { inner, rec, frames }
    }
}

impl<B> Body for MeteredBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let res = ready!(this.inner.poll_frame(cx));
        match &res {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if let (Some(fc), Some(rec)) = (this.frames.as_mut(), this.rec.as_ref()) {
                        let n = fc.count(data);
                        if n > 0 {
                            rec.response_messages(n);
                        }
                    }
                } else if let Some(t) = frame.trailers_ref()
                    && let Some(mut rec) = this.rec.take()
                {
                    rec.finish(grpc_status(t).unwrap_or(Code::Unknown));
                }
            }
            Some(Err(_)) | None => {
                if let Some(mut rec) = this.rec.take() {
                    rec.finish(Code::Unknown);
                }
            }
        }
        Poll::Ready(res)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    struct CountingBody<B> {
        #[pin]
        inner: B,
        frames: FrameCounter,
        counter: IntCounter,
    }
}

impl<B> Body for CountingBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let res = ready!(this.inner.poll_frame(cx));
        if let Some(Ok(frame)) = &res
            && let Some(data) = frame.data_ref()
        {
            let n = this.frames.count(data);
            if n > 0 {
                this.counter.inc_by(n);
            }
        }
        Poll::Ready(res)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Wraps a streaming request body so each gRPC frame increments `counter`.
pub(crate) fn count_body(body: tonic::body::Body, counter: IntCounter) -> tonic::body::Body {
    tonic::body::Body::new(CountingBody {
        inner: body,
        frames: FrameCounter::default(),
        counter,
    })
}
