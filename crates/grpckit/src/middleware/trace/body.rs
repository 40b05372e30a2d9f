//! Ends the call span at the response's final status.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::Status;
use pin_project_lite::pin_project;
use tonic::Code;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::telemetry::metrics::{CODE_NAMES, Side, grpc_status};

/// Whether `code` marks the span as an error (rpc semconv: on servers only codes that point
/// at the server; on clients every code but OK).
fn is_error(side: Side, code: Code) -> bool {
    match side {
        Side::Client => code != Code::Ok,
        Side::Server => matches!(
            code,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        ),
    }
}

/// Records the final code on `span` (then dropping it ends the span).
pub(crate) fn record_status(span: &tracing::Span, side: Side, code: Code, message: Option<&str>) {
    span.record("rpc.grpc.status_code", code as i64);
    if is_error(side, code) {
        let name = CODE_NAMES[(code as usize).min(16)];
        span.record("error.type", name);
        span.set_status(Status::error(match message {
            Some(m) if !m.is_empty() => format!("{name}: {m}"),
            _ => name.to_owned(),
        }));
    }
}

/// The final code and message of trailers or trailers-only headers.
pub(crate) fn status_of(h: &http::HeaderMap) -> Option<(Code, Option<String>)> {
    Some((grpc_status(h)?, crate::headers::grpc_message(h)))
}

pin_project! {
    /// A response body that carries the call span until the trailers.
    #[derive(Debug)]
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        span: Option<tracing::Span>,
        side: Side,
    }
}

impl<B> TracedBody<B> {
    pub(crate) fn new(inner: B, span: Option<tracing::Span>, side: Side) -> Self {
        Self { inner, span, side }
    }
}

impl<B> Body for TracedBody<B>
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
        let Some(span) = this.span.as_ref() else {
            return this.inner.poll_frame(cx);
        };
        let res = {
            let _enter = span.enter();
            ready!(this.inner.poll_frame(cx))
        };
        match &res {
            Some(Ok(frame)) => {
                if let Some(t) = frame.trailers_ref() {
                    let (code, msg) = status_of(t).unwrap_or((Code::Unknown, None));
                    record_status(span, *this.side, code, msg.as_deref());
                    *this.span = None;
                }
            }
            Some(Err(_)) | None => {
                record_status(
                    span,
                    *this.side,
                    Code::Unknown,
                    Some("stream ended without a status"),
                );
                *this.span = None;
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
