//! [`TraceService`] and its future.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http::{Request, Response};
use opentelemetry::trace::TraceContextExt;
use pin_project_lite::pin_project;
use tonic::Code;
use tower::Service;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{
    TracedBody,
    body::{record_status, status_of},
};
use crate::telemetry::{
    metrics::{self, Side},
    otel,
};

/// See [`super::TraceLayer`].
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
    side: Side,
}

impl<S> TraceService<S> {
    /// Traces calls through `inner` on `side`.
    pub fn new(inner: S, side: Side) -> Self {
        Self { inner, side }
    }
}

fn server_span<B>(req: &Request<B>) -> Option<tracing::Span> {
    let parent = otel::extract(req.headers());
    if !otel::worth_a_span(parent.span().span_context()) {
        return None;
    }
    let m = metrics::lookup(req.uri().path());
    let span = tracing::info_span!(
        target: "grpckit::rpc",
        "grpc.server",
        otel.name = &*m.full_name,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = &*m.service,
        rpc.method = &*m.method,
        rpc.grpc.status_code = Empty,
        error.type = Empty,
        trace_id = Empty,
        span_id = Empty,
    );
    let _ = span.set_parent(parent);
    Some(span)
}

fn client_span<B>(req: &Request<B>) -> Option<tracing::Span> {
    let current = tracing::Span::current();
    if !otel::worth_a_span(current.context().span().span_context()) {
        return None;
    }
    let m = metrics::lookup(req.uri().path());
    let span = tracing::info_span!(
        target: "grpckit::rpc",
        "grpc.client",
        otel.name = &*m.full_name,
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = &*m.service,
        rpc.method = &*m.method,
        rpc.grpc.status_code = Empty,
        error.type = Empty,
        server.address = req.uri().host().unwrap_or_default(),
        server.port = req.uri().port_u16().unwrap_or(0),
        trace_id = Empty,
        span_id = Empty,
    );
    Some(span)
}

impl<S, ResBody> Service<Request<tonic::body::Body>> for TraceService<S>
where
    S: Service<Request<tonic::body::Body>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes>,
{
    type Response = Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = TraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<tonic::body::Body>) -> Self::Future {
        if !otel::enabled() {
            return TraceFuture {
                inner: self.inner.call(req),
                span: None,
                side: self.side,
            };
        }
        let span = match self.side {
            Side::Server => server_span(&req),
            Side::Client => client_span(&req),
        };
        let Some(span) = span else {
            return TraceFuture {
                inner: self.inner.call(req),
                span: None,
                side: self.side,
            };
        };
        let cx = span.context();
        let sc = cx.span().span_context().clone();
        if sc.is_valid() {
            span.record("trace_id", tracing::field::display(sc.trace_id()));
            span.record("span_id", tracing::field::display(sc.span_id()));
        }
        if self.side == Side::Client {
            otel::inject(&cx, req.headers_mut());
        }
        let inner = {
            let _enter = span.enter();
            self.inner.call(req)
        };
        TraceFuture {
            inner,
            span: Some(span),
            side: self.side,
        }
    }
}

pin_project! {
    /// Runs the inner future inside the call span and hands the span to the body.
    #[derive(Debug)]
    pub struct TraceFuture<F> {
        #[pin]
        inner: F,
        span: Option<tracing::Span>,
        side: Side,
    }
}

impl<F, ResBody, E> Future for TraceFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<TracedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let side = *this.side;
        let Some(span) = this.span.as_ref() else {
            let res = ready!(this.inner.poll(cx));
            return Poll::Ready(res.map(|r| r.map(|b| TracedBody::new(b, None, side))));
        };
        let res = {
            let _enter = span.enter();
            ready!(this.inner.poll(cx))
        };
        let span = this.span.take();
        Poll::Ready(match res {
            Ok(resp) => {
                let span = match (span, status_of(resp.headers())) {
                    (Some(s), Some((code, msg))) => {
                        record_status(&s, side, code, msg.as_deref());
                        None
                    }
                    (s, _) => s,
                };
                Ok(resp.map(|b| TracedBody::new(b, span, side)))
            }
            Err(e) => {
                if let Some(s) = &span {
                    record_status(
                        s,
                        side,
                        Code::Unavailable,
                        Some("the call failed before a response"),
                    );
                }
                Err(e)
            }
        })
    }
}
