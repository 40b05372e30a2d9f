//! [`ResponseLimitsLayer`]: what the server does to every response body, whatever the
//! service: messages above `server.max_send_size` end the call with `RESOURCE_EXHAUSTED`,
//! and a body still open when the drain starts (a server or bidi stream, a health `Watch`)
//! ends with `UNAVAILABLE`, so handlers need not watch for shutdown themselves.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::end_stream::SHUTTING_DOWN;
use crate::framing::FrameScanner;

/// Wraps every response body in a [`LimitedResponse`].
#[derive(Debug, Clone)]
pub(super) struct ResponseLimitsLayer {
    max_send: usize,
    drained: CancellationToken,
}

impl ResponseLimitsLayer {
    /// `drained` fires once health reports `NOT_SERVING` and `drain_delay` has passed.
    pub(super) fn new(max_send: usize, drained: CancellationToken) -> Self {
        Self { max_send, drained }
    }
}

impl<S> Layer<S> for ResponseLimitsLayer {
    type Service = ResponseLimits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResponseLimits {
            inner,
            layer: self.clone(),
        }
    }
}

/// See [`ResponseLimitsLayer`].
#[derive(Debug, Clone)]
pub(super) struct ResponseLimits<S> {
    inner: S,
    layer: ResponseLimitsLayer,
}

impl<S> Service<Request<Body>> for ResponseLimits<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        ResponseFuture {
            inner: self.inner.call(req),
            layer: Some(self.layer.clone()),
        }
    }
}

pin_project! {
    /// Future of [`ResponseLimits`].
    pub(super) struct ResponseFuture<F> {
        #[pin]
        inner: F,
        layer: Option<ResponseLimitsLayer>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let resp = std::task::ready!(this.inner.poll(cx))?;
        let Some(layer) = this.layer.take() else {
            return Poll::Ready(Ok(resp));
        };
        Poll::Ready(Ok(resp.map(|b| {
            Body::new(LimitedResponse {
                inner: b,
                max: layer.max_send,
                frames: FrameScanner::default(),
                drained: layer.drained,
                wait: None,
                done: false,
            })
        })))
    }
}

pin_project! {
    /// A response body that ends early with a status in its trailers: `RESOURCE_EXHAUSTED`
    /// at the first message above the send limit (the message is not sent), `UNAVAILABLE`
    /// once the drain starts while the body waits for its next message. Frames the inner
    /// body has ready are always passed first, so a unary answer that is ready completes.
    pub(super) struct LimitedResponse {
        #[pin]
        inner: Body,
        max: usize,
        frames: FrameScanner,
        drained: CancellationToken,
        #[pin]
        wait: Option<WaitForCancellationFutureOwned>,
        done: bool,
    }
}

/// The status a response gets when its message of `len` bytes is above `max`.
pub(crate) fn send_limit_status(len: u32, max: usize) -> Status {
    crate::reason::MESSAGE_TOO_LARGE.status(
        tonic::Code::ResourceExhausted,
        format!("trying to send message larger than max ({len} vs. {max})"),
    )
}

/// Trailers carrying `status`.
pub(crate) fn trailers(status: &Status) -> Frame<Bytes> {
    let mut map = HeaderMap::new();
    if status.add_header(&mut map).is_err() {
        // Only a message that cannot be a header value fails; the code alone still is.
        map.insert("grpc-status", http::HeaderValue::from(status.code() as i32));
    }
    Frame::trailers(map)
}

impl HttpBody for LimitedResponse {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = this.inner.as_mut().poll_frame(cx) {
            let Some(Ok(frame)) = frame else {
                *this.done = frame.is_none();
                return Poll::Ready(frame);
            };
            let max = *this.max;
            let oversized = frame.data_ref().and_then(|d| {
                this.frames
                    .feed(d.chunk(), |len| {
                        if len as usize > max { Err(len) } else { Ok(()) }
                    })
                    .err()
            });
            if let Some(len) = oversized {
                *this.done = true;
                return Poll::Ready(Some(Ok(trailers(&send_limit_status(len, max)))));
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        if this.wait.is_none() {
            this.wait.set(Some(this.drained.clone().cancelled_owned()));
        }
        if let Some(wait) = this.wait.as_pin_mut() {
            std::task::ready!(wait.poll(cx));
        }
        *this.done = true;
        Poll::Ready(Some(Ok(trailers(&Status::unavailable(SHUTTING_DOWN)))))
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.done {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn limited(inner: Body, max: usize, drained: &CancellationToken) -> LimitedResponse {
        LimitedResponse {
            inner,
            max,
            frames: FrameScanner::default(),
            drained: drained.clone(),
            wait: None,
            done: false,
        }
    }

    fn message(len: u32) -> Bytes {
        let mut v = vec![0];
        v.extend_from_slice(&len.to_be_bytes());
        v.extend(std::iter::repeat_n(7u8, len as usize));
        v.into()
    }

    fn status_of(frame: &Frame<Bytes>) -> Option<&str> {
        frame
            .trailers_ref()
            .and_then(|t| t.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn an_oversized_message_ends_the_call_with_resource_exhausted() {
        let drained = CancellationToken::new();
        let inner = Body::new(http_body_util::Full::new(message(20)).map_err(|e| match e {}));
        let mut body = Box::pin(limited(inner, 10, &drained));
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(status_of(&frame), Some("8"));
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn an_open_stream_ends_with_unavailable_when_drained() {
        let drained = CancellationToken::new();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Status>>(4);
        let inner = Body::new(http_body_util::StreamBody::new(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ));
        let mut body = Box::pin(limited(inner, 100, &drained));
        tx.send(Ok(Frame::data(message(3)))).await.unwrap();
        assert!(body.frame().await.unwrap().unwrap().is_data());
        tx.send(Ok(Frame::data(message(4)))).await.unwrap();
        drained.cancel();
        assert!(
            body.frame().await.unwrap().unwrap().is_data(),
            "ready frames first"
        );
        let end = body.frame().await.unwrap().unwrap();
        assert_eq!(status_of(&end), Some("14"));
        assert!(body.frame().await.is_none());
    }
}
