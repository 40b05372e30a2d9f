//! The body wrapper: a tiny state machine over the gRPC length-prefixed framing.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Buf, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::{Status, body::Body};

/// Where the parser is in the message stream.
#[derive(Debug)]
enum Framing {
    /// Collecting the 5-byte prefix (`have` bytes so far).
    Header { buf: [u8; 5], have: usize },
    /// Skipping `left` bytes of message payload.
    Payload { left: usize },
}

pin_project_lite::pin_project! {
    /// Passes frames through unchanged, failing with `RESOURCE_EXHAUSTED` at the first
    /// length prefix above the limit.
    pub(crate) struct LimitedBody {
        #[pin]
        inner: Body,
        max: usize,
        state: Framing,
        failed: bool,
    }
}

impl LimitedBody {
    pub(crate) fn new(inner: Body, max: usize) -> Self {
        Self {
            inner,
            max,
            state: Framing::Header {
                buf: [0; 5],
                have: 0,
            },
            failed: false,
        }
    }
}

/// Advances the framing state over `chunk`; returns the announced length of the first
/// message that exceeds `max`.
fn scan(state: &mut Framing, mut chunk: &[u8], max: usize) -> Option<usize> {
    while !chunk.is_empty() {
        match state {
            Framing::Header { buf, have } => {
                let n = (5 - *have).min(chunk.len());
                buf[*have..*have + n].copy_from_slice(&chunk[..n]);
                *have += n;
                chunk = &chunk[n..];
                if *have == 5 {
                    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
                    if len > max {
                        return Some(len);
                    }
                    *state = if len == 0 {
                        Framing::Header {
                            buf: [0; 5],
                            have: 0,
                        }
                    } else {
                        Framing::Payload { left: len }
                    };
                }
            }
            Framing::Payload { left } => {
                let n = (*left).min(chunk.len());
                *left -= n;
                chunk = &chunk[n..];
                if *left == 0 {
                    *state = Framing::Header {
                        buf: [0; 5],
                        have: 0,
                    };
                }
            }
        }
    }
    None
}

impl HttpBody for LimitedBody {
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
            .and_then(|d| scan(this.state, d.chunk(), *this.max))
        {
            *this.failed = true;
            return Poll::Ready(Some(Err(Status::resource_exhausted(format!(
                "received message larger than max ({len} vs. {})",
                this.max
            )))));
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
            let mut st = Framing::Header {
                buf: [0; 5],
                have: 0,
            };
            assert_eq!(scan(&mut st, &all[..split], 10), None);
            assert_eq!(scan(&mut st, &all[split..], 10), None);
        }
    }

    #[test]
    fn flags_the_first_oversized_message_even_mid_stream() {
        let mut all = frame(4);
        all.extend(frame(11));
        let mut st = Framing::Header {
            buf: [0; 5],
            have: 0,
        };
        assert_eq!(scan(&mut st, &all[..7], 10), None);
        assert_eq!(scan(&mut st, &all[7..], 10), Some(11));
    }
}
