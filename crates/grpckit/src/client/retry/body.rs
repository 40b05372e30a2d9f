//! Keeping a request body so that it can be sent again.
//!
//! A unary (or server-streaming) request body is one encoded message that is ready at once:
//! it is read into memory (up to `max_buffer` bytes) and every attempt gets a copy. A body
//! that is larger, or not complete yet (client streaming), is sent once: it sits in a shared
//! slot that the first attempt empties when the transport starts reading it, so a retry is
//! still possible when the transport failed before reading anything ("nothing sent yet").

use std::{
    collections::VecDeque,
    future::poll_fn,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::Full;
use tonic::{Status, body::Body};

/// A request body owned by the retry loop.
#[derive(Debug)]
pub(crate) enum RequestBody {
    /// Complete and small: replayable.
    Buffered(Bytes),
    /// Sent at most once.
    Once(Arc<Mutex<Option<Prefixed>>>),
}

impl RequestBody {
    /// Wraps `body` without reading it (no replay unless untouched).
    pub(crate) fn once(body: Body) -> Self {
        Self::Once(Arc::new(Mutex::new(Some(Prefixed {
            prefix: VecDeque::new(),
            rest: body,
        }))))
    }

    /// Reads what is ready of `body`; buffers it when complete within `max` bytes.
    pub(crate) async fn prefetch(mut body: Body, max: usize) -> Result<Self, Status> {
        let mut buf = BytesMut::new();
        let mut frames = VecDeque::new();
        loop {
            if body.is_end_stream() {
                return Ok(Self::Buffered(buf.freeze()));
            }
            let next = poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await;
            match next {
                Poll::Ready(None) => return Ok(Self::Buffered(buf.freeze())),
                Poll::Ready(Some(Err(status))) => return Err(status),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if buf.len() + data.len() <= max && frames.is_empty() => {
                        buf.extend_from_slice(&data);
                    }
                    Ok(data) => frames.push_back(Frame::data(data)),
                    Err(frame) => frames.push_back(frame),
                },
                Poll::Pending => break,
            }
            if !frames.is_empty() {
                break;
            }
        }
        // Streaming or too large: send once, starting with what was already read.
        if !buf.is_empty() {
            frames.push_front(Frame::data(buf.freeze()));
        }
        Ok(Self::Once(Arc::new(Mutex::new(Some(Prefixed {
            prefix: frames,
            rest: body,
        })))))
    }

    /// The body for the next attempt, or `None` when it was already consumed.
    pub(crate) fn for_attempt(&self) -> Option<Body> {
        match self {
            Self::Buffered(b) if b.is_empty() => Some(Body::empty()),
            Self::Buffered(b) => Some(Body::new(Full::new(b.clone()))),
            Self::Once(slot) => {
                let full = slot.lock().unwrap_or_else(|p| p.into_inner()).is_some();
                full.then(|| {
                    Body::new(SlotBody {
                        slot: slot.clone(),
                        taken: None,
                    })
                })
            }
        }
    }

    /// Whether another attempt could be sent.
    pub(crate) fn replayable(&self) -> bool {
        match self {
            Self::Buffered(_) => true,
            Self::Once(slot) => slot.lock().unwrap_or_else(|p| p.into_inner()).is_some(),
        }
    }
}

/// Frames read ahead, then the rest of the original body.
#[derive(Debug)]
pub(crate) struct Prefixed {
    prefix: VecDeque<Frame<Bytes>>,
    rest: Body,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(f) = self.prefix.pop_front() {
            return Poll::Ready(Some(Ok(f)));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let pre: u64 = self
            .prefix
            .iter()
            .filter_map(|f| f.data_ref())
            .map(|d| d.len() as u64)
            .sum();
        let mut h = self.rest.size_hint();
        h.set_lower(h.lower() + pre);
        if let Some(u) = h.upper() {
            h.set_upper(u + pre);
        }
        h
    }
}

/// Takes the body out of the shared slot on first read.
#[derive(Debug)]
struct SlotBody {
    slot: Arc<Mutex<Option<Prefixed>>>,
    taken: Option<Prefixed>,
}

impl http_body::Body for SlotBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.taken.is_none() {
            let taken = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            match taken {
                Some(b) => self.taken = Some(b),
                None => return Poll::Ready(None),
            }
        }
        match self.taken.as_mut() {
            Some(b) => Pin::new(b).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn small_complete_body_is_replayable() {
        let body = Body::new(Full::new(Bytes::from_static(b"hello")));
        let rb = RequestBody::prefetch(body, 1024).await.expect("ok");
        for _ in 0..3 {
            let b = rb.for_attempt().expect("replayable");
            let got = b.collect().await.expect("body").to_bytes();
            assert_eq!(&got[..], b"hello");
        }
    }

    #[tokio::test]
    async fn large_body_is_sent_once_and_intact() {
        let body = Body::new(Full::new(Bytes::from(vec![7u8; 100])));
        let rb = RequestBody::prefetch(body, 10).await.expect("ok");
        assert!(matches!(rb, RequestBody::Once(_)));
        let b = rb.for_attempt().expect("first attempt");
        assert!(rb.replayable(), "not read yet");
        let got = b.collect().await.expect("body").to_bytes();
        assert_eq!(got.len(), 100);
        assert!(!rb.replayable());
        assert!(rb.for_attempt().is_none());
    }

    #[tokio::test]
    async fn pending_stream_is_not_buffered() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Status>>(4);
        tx.send(Ok(Frame::data(Bytes::from_static(b"a"))))
            .await
            .expect("send");
        let body = Body::new(http_body_util::StreamBody::new(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ));
        let rb = RequestBody::prefetch(body, 1024).await.expect("ok");
        assert!(matches!(rb, RequestBody::Once(_)));
        tx.send(Ok(Frame::data(Bytes::from_static(b"b"))))
            .await
            .expect("send");
        drop(tx);
        let got = rb
            .for_attempt()
            .expect("once")
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(&got[..], b"ab");
    }
}
