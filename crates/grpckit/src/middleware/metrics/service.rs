//! [`MetricsService`] and its future.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tonic::{Code, body::Body};
use tower::Service;

use crate::telemetry::metrics::{self, CallRecorder, MeteredBody, Side, count_body, grpc_status};

/// See [`super::MetricsLayer`].
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    side: Side,
}

impl<S> MetricsService<S> {
    /// Measures calls through `inner` on `side`.
    pub fn new(inner: S, side: Side) -> Self {
        Self { inner, side }
    }
}

impl<S, ResBody> Service<Request<Body>> for MetricsService<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes>,
{
    type Response = Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        if !metrics::enabled() {
            return MetricsFuture {
                inner: self.inner.call(req),
                rec: None,
                side: self.side,
            };
        }
        let m = metrics::lookup(req.uri().path());
        let rec = CallRecorder::start(m, self.side);
        if m.kind.client_streams() {
            let counter = rec.request_messages();
            req = req.map(|b| count_body(b, counter));
        }
        MetricsFuture {
            inner: self.inner.call(req),
            rec: Some(rec),
            side: self.side,
        }
    }
}

pin_project! {
    /// Finishes trailers-only responses at the headers; otherwise hands the recorder to the body.
    #[derive(Debug)]
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        rec: Option<CallRecorder>,
        side: Side,
    }
}

impl<F, ResBody, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<MeteredBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.inner.poll(cx));
        let mut rec = this.rec.take();
        match res {
            Ok(resp) => {
                if let Some(r) = rec.as_mut()
                    && let Some(code) = grpc_status(resp.headers())
                {
                    r.finish(code);
                    rec = None;
                }
                Poll::Ready(Ok(resp.map(|b| MeteredBody::new(b, rec))))
            }
            Err(e) => {
                if let Some(r) = rec.as_mut() {
                    // A client that never got a response could not reach the peer.
                    r.finish(if *this.side == Side::Client {
                        Code::Unavailable
                    } else {
                        Code::Unknown
                    });
                }
                Poll::Ready(Err(e))
            }
        }
    }
}
