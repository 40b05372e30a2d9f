//! The body wrapper: reads the length prefixes with [`FrameScanner`] and fails at the first
//! one above the limit.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Buf, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::{Status, body::Body};

use crate::framing::FrameScanner;

pin_project_lite::pin_project! {
    /// Passes frames through unchanged, failing with `RESOURCE_EXHAUSTED` at the first
    /// length prefix above the limit.
    pub(crate) struct LimitedBody<B = Body> {
        #[pin]
        inner: B,
        max: usize,
        frames: FrameScanner,
        failed: bool,
    }
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, max: usize) -> Self {
        Self {
            inner,
            max,
            frames: FrameScanner::default(),
            failed: false,
        }
    }
}

/// The announced length of the first message in `chunk` above `max`.
fn first_oversized(frames: &mut FrameScanner, chunk: &[u8], max: usize) -> Option<u32> {
    frames
        .feed(
            chunk,
            |len| {
                if len as usize > max { Err(len) } else { Ok(()) }
            },
        )
        .err()
}

impl<B> HttpBody for LimitedBody<B>
where
    B: HttpBody<Data = Bytes, Error = Status>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.project();
        if *this.failed {
            return Poll::Ready(None);
        }
        let frame = match std::task::ready!(this.inner.poll_frame(cx)) {
            Some(Ok(f)) => f,
            Some(Err(e)) => return Poll::Ready(Some(Err(e))),
            None => return Poll::Ready(None),
        };
        if let Some(len) = frame
            .data_ref()
            .and_then(|d| first_oversized(this.frames, d.chunk(), *this.max))
        {
            *this.failed = true;
            return Poll::Ready(Some(Err(crate::reason::MESSAGE_TOO_LARGE.status(
                tonic::Code::ResourceExhausted,
                format!("received message larger than max ({len} vs. {})", this.max),
            ))));
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: u32) -> Vec<u8> {
        let mut v = vec![0];
        v.extend_from_slice(&len.to_be_bytes());
        v.extend(std::iter::repeat_n(7u8, len as usize));
        v
    }

    #[test]
    fn passes_small_messages_split_anywhere() {
        let mut all = frame(3);
        all.extend(frame(0));
        all.extend(frame(10));
        for split in 0..all.len() {
            let mut st = FrameScanner::default();
            assert_eq!(first_oversized(&mut st, &all[..split], 10), None);
            assert_eq!(first_oversized(&mut st, &all[split..], 10), None);
        }
    }

    #[test]
    fn flags_the_first_oversized_message_even_mid_stream() {
        let mut all = frame(4);
        all.extend(frame(11));
        let mut st = FrameScanner::default();
        assert_eq!(first_oversized(&mut st, &all[..7], 10), None);
        assert_eq!(first_oversized(&mut st, &all[7..], 10), Some(11));
    }
}
