//! [`EndOnShutdown`]: a response stream that ends with `UNAVAILABLE` when shutdown starts.
//!
//! Long-lived streams (feeds, tracking, health watches) would otherwise hold the drain open
//! for the whole grace period, or end with `OK`, which tells the client the stream is over
//! for good. `UNAVAILABLE` is retryable: the client reconnects, to another instance.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use futures::Stream;
use pin_project_lite::pin_project;
use tokio_util::sync::WaitForCancellationFutureOwned;
use tonic::Status;

/// The message of the final `UNAVAILABLE` status.
pub(crate) const SHUTTING_DOWN: &str = "server shutting down; reconnect to continue";

pin_project! {
    /// Yields the inner stream's items until shutdown starts, then one
    /// `Err(UNAVAILABLE)` and the end. Items the inner stream has ready are sent first.
    /// Built by [`Shutdown::end_stream`](super::Shutdown::end_stream).
    #[must_use = "streams do nothing unless polled"]
    pub struct EndOnShutdown<S> {
        #[pin]
        inner: S,
        #[pin]
        cancelled: WaitForCancellationFutureOwned,
        done: bool,
    }
}

impl<S> std::fmt::Debug for EndOnShutdown<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndOnShutdown")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S> EndOnShutdown<S> {
    pub(super) fn new(inner: S, cancelled: WaitForCancellationFutureOwned) -> Self {
        Self {
            inner,
            cancelled,
            done: false,
        }
    }
}

impl<S, T> Stream for EndOnShutdown<S>
where
    S: Stream<Item = Result<T, Status>>,
{
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = this.inner.poll_next(cx) {
            *this.done = item.is_none();
            return Poll::Ready(item);
        }
        ready!(this.cancelled.poll(cx));
        *this.done = true;
        Poll::Ready(Some(Err(Status::unavailable(SHUTTING_DOWN))))
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::super::Shutdown;

    #[tokio::test]
    async fn ends_with_unavailable_after_the_ready_items() {
        let shutdown = Shutdown::new();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<u32, tonic::Status>>();
        let mut s =
            Box::pin(shutdown.end_stream(tokio_stream::wrappers::UnboundedReceiverStream::new(rx)));
        tx.send(Ok(1)).unwrap();
        assert_eq!(s.next().await.unwrap().unwrap(), 1);
        tx.send(Ok(2)).unwrap();
        shutdown.trigger();
        assert_eq!(s.next().await.unwrap().unwrap(), 2, "ready items first");
        let end = s.next().await.unwrap().unwrap_err();
        assert_eq!(end.code(), tonic::Code::Unavailable);
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn a_stream_that_ends_by_itself_ends_ok() {
        let shutdown = Shutdown::new();
        let mut s =
            Box::pin(shutdown.end_stream(futures::stream::iter([Ok::<_, tonic::Status>(1)])));
        assert_eq!(s.next().await.unwrap().unwrap(), 1);
        assert!(s.next().await.is_none());
        shutdown.trigger();
        assert!(s.next().await.is_none());
    }
}
