//! Layer + service.

use std::task::{Context, Poll};

use http::Request;
use tonic::body::Body;
use tower::{Layer, Service};

use super::body::LimitedBody;

/// Limits each request message to `max` bytes.
#[derive(Debug, Clone, Copy)]
pub struct MessageSizeLayer {
    max: usize,
}

impl MessageSizeLayer {
    /// Messages above `max` bytes are rejected.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl<S> Layer<S> for MessageSizeLayer {
    type Service = MessageSize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MessageSize {
            inner,
            max: self.max,
        }
    }
}

/// See [`MessageSizeLayer`].
#[derive(Debug, Clone)]
pub struct MessageSize<S> {
    inner: S,
    max: usize,
}

impl<S> Service<Request<Body>> for MessageSize<S>
where
    S: Service<Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let max = self.max;
        self.inner
            .call(req.map(|b| Body::new(LimitedBody::new(b, max))))
    }
}
