//! What gRPC-Web and Connect share around one call: the request messages read from
//! envelopes, the first error the bridge itself met, the response metadata, and the one
//! metrics record per call.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::Stream;
use http::{HeaderMap, HeaderName, header};
use tonic::{Code, Status, body::Body};

use super::{
    codec::Format,
    frames::{self, COMPRESSED, EnvelopeReader},
};
use crate::bridge::{Ctx, Protocol, catalog::Method, metrics};

/// Response headers of the in-process call that are not metadata for the browser.
const NOT_METADATA: &[&str] = &[
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "grpc-encoding",
    "grpc-accept-encoding",
];

/// Whether a response header of the in-process call is metadata to pass on.
pub(crate) fn is_metadata(name: &HeaderName) -> bool {
    !matches!(
        *name,
        header::CONTENT_TYPE
            | header::CONTENT_LENGTH
            | header::TRANSFER_ENCODING
            | header::CONNECTION
            | header::TE
            | header::TRAILER
    ) && !NOT_METADATA.contains(&name.as_str())
}

/// Copies the metadata of `from` (see [`is_metadata`]) into `to`.
pub(crate) fn copy_metadata(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if is_metadata(name) {
            to.append(name.clone(), value.clone());
        }
    }
}

/// The payload of a request envelope with `flags`, as protobuf: compressed messages are
/// `UNIMPLEMENTED` (no request compression is offered), other flags `INVALID_ARGUMENT`.
pub(crate) fn request_message(
    format: Format,
    method: Option<&Method>,
    flags: u8,
    payload: Bytes,
) -> Result<Bytes, Status> {
    if flags & COMPRESSED != 0 {
        return Err(Status::unimplemented(
            "compressed request messages are not supported; send them uncompressed",
        ));
    }
    if flags != 0 {
        return Err(Status::invalid_argument(format!(
            "unexpected request envelope flags {flags:#04x}"
        )));
    }
    match method {
        Some(m) => format.request(m, payload),
        None if format == Format::Proto => Ok(payload),
        None => Err(Status::unimplemented("unknown method")),
    }
}

/// Every request message of a whole body (read up to `max_body` bytes), as protobuf.
pub(crate) async fn read_all(
    ctx: &Ctx,
    body: Body,
    text: bool,
    format: Format,
    method: Option<&Method>,
) -> Result<Vec<Bytes>, Status> {
    let bytes = ctx.read_body(body).await?;
    frames::split_all(bytes, text)?
        .into_iter()
        .map(|(flags, payload)| request_message(format, method, flags, payload))
        .collect()
}

/// The first error the bridge met in a call's request stream; it, rather than the
/// handler's view of the broken stream, is the call's final status.
#[derive(Debug, Clone, Default)]
pub(crate) struct FirstError(Arc<Mutex<Option<Status>>>);

impl FirstError {
    /// Keeps `status` unless an error is kept already.
    pub(crate) fn set(&self, status: Status) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(status);
        }
    }

    /// The kept error, if any.
    pub(crate) fn take(&self) -> Option<Status> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The request messages of a streaming body as they arrive, as protobuf; the first error
/// is kept in `first` and ends the stream.
pub(crate) fn request_stream(
    reader: EnvelopeReader,
    format: Format,
    method: Option<Arc<Method>>,
    first: FirstError,
) -> impl Stream<Item = Result<Bytes, Status>> + Send + 'static {
    futures::stream::unfold(Some(reader), move |state| {
        let method = method.clone();
        let first = first.clone();
        async move {
            let mut reader = state?;
            let next = match reader.next().await {
                Ok(None) => return None,
                Ok(Some((flags, payload))) => {
                    request_message(format, method.as_deref(), flags, payload)
                }
                Err(e) => Err(e),
            };
            match next {
                Ok(m) => Some((Ok(m), Some(reader))),
                Err(e) => {
                    let code = e.code();
                    first.set(e);
                    Some((Err(Status::new(code, "request stream broken")), None))
                }
            }
        }
    })
}

/// Records a bridged call's final code once: when it is known, or `CANCELLED` when the
/// answer is dropped before (the client went away).
#[derive(Debug)]
pub(crate) struct Outcome {
    protocol: Protocol,
    method: Option<Arc<Method>>,
}

impl Outcome {
    /// A call of `method` (unknown methods are not recorded) over `protocol`.
    pub(crate) fn new(protocol: Protocol, method: Option<Arc<Method>>) -> Self {
        Self { protocol, method }
    }

    /// Records the final `code`.
    pub(crate) fn finish(&mut self, code: Code) {
        if let Some(m) = self.method.take() {
            metrics::record(self.protocol, &m, code);
        }
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}
