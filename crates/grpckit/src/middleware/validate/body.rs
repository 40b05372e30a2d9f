//! The request body wrapper: splits the gRPC frames of the request stream, validates each
//! message before passing it on, counts messages and picks the audit target id.

use std::{
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    task::{Context, Poll, ready},
};

use bytes::{Buf, Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use tonic::Status;

use super::Schemas;
use crate::middleware::method::MethodInfo;

/// What the request side learned, read by the access log and the audit record.
#[derive(Debug, Default)]
pub struct Inspected {
    /// Request messages seen.
    pub messages: AtomicU32,
    /// `id`/`order_id`/`user_id` of the first message.
    pub target: OnceLock<String>,
}

/// Wraps a request body (see the module docs).
pub struct InspectBody<B> {
    inner: B,
    buf: BytesMut,
    schemas: Arc<Schemas>,
    validate: bool,
    method: Arc<MethodInfo>,
    /// Where counts and the target go; `None` when nobody reads them (a validated unary
    /// call that is not audited), which saves an allocation per call.
    out: Option<Arc<Inspected>>,
    want_target: bool,
    failed: bool,
}

impl<B> std::fmt::Debug for InspectBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectBody")
            .field("method", &self.method.name)
            .finish_non_exhaustive()
    }
}

impl<B> InspectBody<B> {
    /// `validate = false` only counts messages and picks the target.
    pub fn new(
        inner: B,
        schemas: Arc<Schemas>,
        validate: bool,
        method: Arc<MethodInfo>,
        out: Option<Arc<Inspected>>,
        want_target: bool,
    ) -> Self {
        Self {
            inner,
            buf: BytesMut::new(),
            schemas,
            validate,
            method,
            out,
            want_target,
            failed: false,
        }
    }

    /// Checks the complete messages at the start of `data`; returns how many bytes they span.
    fn check(&mut self, data: &[u8]) -> Result<usize, Status> {
        let mut at = 0;
        while let Some((compressed, msg, len)) = crate::framing::split_message(&data[at..]) {
            let end = at + len;
            let out = self.out.as_deref();
            let n = out.map_or(1, |o| o.messages.fetch_add(1, Ordering::Relaxed));
            // Compressed messages are left to the codec (it refuses them unless enabled).
            if !compressed && let Some(ty) = self.method.input_type.as_deref() {
                if self.validate {
                    self.schemas.validate(self.method.set, ty, msg)?;
                }
                if n == 0
                    && self.want_target
                    && let Some(out) = out
                    && let Some(id) = self.schemas.target_id(self.method.set, ty, msg)
                {
                    let _ = out.target.set(id);
                }
            }
            at = end;
        }
        Ok(at)
    }
}

impl<B> Body for InspectBody<B>
where
    B: Body<Data = Bytes, Error = Status> + Unpin,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        loop {
            let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(f)) => f,
                None if !this.buf.is_empty() => {
                    // A truncated message: hand it on so the codec reports it.
                    return Poll::Ready(Some(Ok(Frame::data(
                        std::mem::take(&mut this.buf).freeze(),
                    ))));
                }
                other => return Poll::Ready(other),
            };
            let data = match frame.into_data() {
                Ok(d) => d,
                Err(f) => return Poll::Ready(Some(Ok(f))),
            };
            // Fast path: nothing buffered and the chunk holds whole messages only.
            if this.buf.is_empty() {
                match this.check(&data) {
                    Ok(n) if n == data.len() => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(n) => {
                        this.buf.extend_from_slice(&data[n..]);
                        if n > 0 {
                            return Poll::Ready(Some(Ok(Frame::data(data.slice(..n)))));
                        }
                        continue;
                    }
                    Err(s) => {
                        this.failed = true;
                        return Poll::Ready(Some(Err(s)));
                    }
                }
            }
            this.buf.extend_from_slice(&data);
            let buffered = std::mem::take(&mut this.buf);
            match this.check(&buffered) {
                Ok(n) => {
                    let mut buffered = buffered;
                    let ready = buffered.split_to(n);
                    this.buf = buffered;
                    if n > 0 {
                        return Poll::Ready(Some(Ok(Frame::data(ready.freeze()))));
                    }
                }
                Err(s) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(s)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || (self.buf.is_empty() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.buf.has_remaining() {
            SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}
