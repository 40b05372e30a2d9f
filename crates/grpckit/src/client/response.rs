//! The response body handed to tonic: the endpoint's body plus bookkeeping. It keeps the
//! call counted as outstanding on its endpoint until dropped (least connections, P2C), and
//! reads `grpc-status` from the trailers to feed outlier detection, breaker and budget.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tonic::{Status, body::Body};

use super::{
    classify,
    pool::InFlight,
    service::{CallPolicy, Shared},
};

/// Body of a response from a [`super::BalancedChannel`].
#[derive(Debug)]
pub struct ResponseBody {
    inner: Body,
    track: Option<Track>,
}

#[derive(Debug)]
pub(crate) struct Track {
    pub(crate) shared: Arc<Shared>,
    /// The policies the call started with.
    pub(crate) policy: Arc<CallPolicy>,
    pub(crate) inflight: InFlight,
    /// Whether the trailers still have to be reported.
    pub(crate) report: bool,
}

impl ResponseBody {
    pub(crate) fn new(inner: Body, track: Option<Track>) -> Self {
        Self { inner, track }
    }

    fn on_trailers(&mut self, trailers: &http::HeaderMap) {
        let Some(t) = self.track.as_mut() else { return };
        if !t.report {
            return;
        }
        t.report = false;
        if let Some(code) = classify::grpc_status(trailers) {
            let now = tokio::time::Instant::now();
            t.shared
                .attempt_outcome(&t.policy.retry, &t.inflight.0, code, now);
            t.policy.call_outcome(code, now);
        }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(t) = frame.trailers_ref() {
                    self.on_trailers(t);
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                // Finished: no longer outstanding.
                self.track = None;
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
