//! One gRPC call made in process through the server's stack: the bridges turn an HTTP
//! request into the messages of a gRPC call, send it down the same tower stack a native gRPC
//! call takes (so auth, limits, validation, timeouts, audit, logs, traces and metrics run
//! once, exactly as for gRPC), and read the answer back as messages and a final status.

use std::{convert::Infallible, time::Duration};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tonic::{Code, Status, body::Body};
use tower::{ServiceExt, util::BoxCloneSyncService};

use crate::{framing::PREFIX_LEN, headers::GRPC_TIMEOUT};

/// The server's stack as the bridges call it.
pub(crate) type Inner = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Request headers that belong to the HTTP exchange, not to the call's metadata.
const NOT_METADATA: &[HeaderName] = &[
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    header::CONTENT_ENCODING,
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::TE,
    header::HOST,
    header::ORIGIN,
    header::REFERER,
    header::USER_AGENT,
    header::COOKIE,
];

/// Frames one message (uncompressed) with the 5-byte gRPC prefix.
pub(crate) fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(PREFIX_LEN + message.len());
    out.put_u8(0);
    out.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    out.put_slice(message);
    out.freeze()
}

/// The call's metadata from an HTTP request's headers: everything but the HTTP exchange's
/// own headers and those starting with `grpc-` that a gRPC client would not send itself.
pub(crate) fn metadata_of(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len() + 2);
    for (name, value) in headers {
        if NOT_METADATA.contains(name) || name.as_str().starts_with("access-control-") {
            continue;
        }
        if name.as_str().starts_with("connect-") || name.as_str().starts_with("sec-") {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The request part of an in-process call.
#[derive(Debug)]
pub(crate) struct CallRequest {
    /// `/package.Service/Method`.
    pub(crate) path: String,
    /// The call's metadata (see [`metadata_of`]).
    pub(crate) metadata: HeaderMap,
    /// The HTTP request's extensions (connection info, client identity).
    pub(crate) extensions: http::Extensions,
    /// The caller's deadline, sent as `grpc-timeout`.
    pub(crate) timeout: Option<Duration>,
}

impl CallRequest {
    /// A request for `path` carrying the headers and extensions of the HTTP request `parts`.
    pub(crate) fn from_parts(path: &str, parts: &mut http::request::Parts) -> Self {
        Self {
            path: path.to_owned(),
            metadata: metadata_of(&parts.headers),
            extensions: std::mem::take(&mut parts.extensions),
            timeout: crate::headers::grpc_timeout(&parts.headers),
        }
    }

    fn into_http(self, body: Body) -> Request<Body> {
        let mut req = Request::new(body);
        *req.method_mut() = http::Method::POST;
        *req.version_mut() = http::Version::HTTP_2;
        *req.uri_mut() = http::Uri::try_from(self.path.as_str()).unwrap_or_default();
        let h = req.headers_mut();
        *h = self.metadata;
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        if let Some(v) = self
            .timeout
            .and_then(|t| HeaderValue::from_str(&crate::headers::format_grpc_timeout(t)).ok())
        {
            h.insert(GRPC_TIMEOUT, v);
        }
        *req.extensions_mut() = self.extensions;
        req
    }
}

/// Makes a unary or server-streaming call with one request message.
pub(crate) async fn call_one(inner: &Inner, req: CallRequest, message: Bytes) -> GrpcResponse {
    let body = Body::new(http_body_util::Full::new(frame(&message)));
    start(inner, req.into_http(body)).await
}

/// Makes a client-streaming or bidirectional call: `messages` are sent as they come; an
/// `Err` ends the request stream with that error (the call is then answered by the
/// handler's view of a broken stream, and the bridge reports the error itself).
pub(crate) async fn call_stream<S>(inner: &Inner, req: CallRequest, messages: S) -> GrpcResponse
where
    S: Stream<Item = Result<Bytes, Status>> + Send + 'static,
{
    let frames = messages.map(|m| m.map(|m| Frame::data(frame(&m))));
    let body = Body::new(StreamBody::new(frames));
    start(inner, req.into_http(body)).await
}

async fn start(inner: &Inner, req: Request<Body>) -> GrpcResponse {
    let Ok(res) = inner.clone().oneshot(req).await;
    let (parts, body) = res.into_parts();
    // A trailers-only answer carries the status in the headers.
    let status = Status::from_header_map(&parts.headers);
    GrpcResponse {
        headers: parts.headers,
        body,
        buf: BytesMut::new(),
        status,
        trailers: HeaderMap::new(),
    }
}

/// The answer of an in-process call: its headers, then its messages one by one, then its
/// final status (from the trailers, or the headers of a trailers-only answer).
#[derive(Debug)]
pub(crate) struct GrpcResponse {
    /// The response headers (initial metadata).
    pub(crate) headers: HeaderMap,
    body: Body,
    buf: BytesMut,
    status: Option<Status>,
    trailers: HeaderMap,
}

impl GrpcResponse {
    /// The next response message; `None` once the messages are over (then [`Self::status`]
    /// is final). A body that breaks off or a compressed message (never asked for) ends the
    /// call with `INTERNAL`/`UNAVAILABLE`.
    pub(crate) async fn message(&mut self) -> Option<Bytes> {
        if self.status.is_some() {
            return None;
        }
        loop {
            if let Some((compressed, payload, used)) = crate::framing::split_message(&self.buf) {
                if compressed {
                    self.status = Some(Status::internal("compressed response message"));
                    return None;
                }
                let start = PREFIX_LEN;
                let len = payload.len();
                let mut whole = self.buf.split_to(used);
                whole.advance(start);
                debug_assert_eq!(whole.len(), len);
                return Some(whole.freeze());
            }
            match self.body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.buf.extend_from_slice(&data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.status =
                                Some(Status::from_header_map(&trailers).unwrap_or_else(|| {
                                    Status::unknown("response trailers without grpc-status")
                                }));
                            self.trailers = trailers;
                        }
                        return None;
                    }
                },
                Some(Err(e)) => {
                    self.status = Some(Status::from_error(e.into()));
                    return None;
                }
                None => {
                    self.status = Some(if self.buf.is_empty() {
                        Status::unknown("response ended without a status")
                    } else {
                        Status::internal("response ended inside a message")
                    });
                    return None;
                }
            }
        }
    }

    /// Reads the messages to the end and returns the last one (a unary answer) with the
    /// final status: `Ok` only when the status is OK and there was a message.
    pub(crate) async fn unary(mut self) -> (Result<Bytes, Status>, HeaderMap, HeaderMap) {
        let mut last = None;
        while let Some(m) = self.message().await {
            last = Some(m);
        }
        let status = self
            .status
            .take()
            .unwrap_or_else(|| Status::unknown("no status"));
        let res = match (status.code(), last) {
            (Code::Ok, Some(m)) => Ok(m),
            (Code::Ok, None) => Err(Status::internal("OK without a response message")),
            _ => Err(status),
        };
        (res, self.headers, self.trailers)
    }

    /// The final status, once [`Self::message`] returned `None`.
    pub(crate) fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    /// The trailers (trailing metadata), once [`Self::message`] returned `None`.
    pub(crate) fn trailers(&self) -> &HeaderMap {
        &self.trailers
    }
}

/// A response body made of a stream of byte chunks (and optional trailers at the end).
pub(crate) fn stream_body<S>(chunks: S) -> Body
where
    S: Stream<Item = Result<Frame<Bytes>, Status>> + Send + 'static,
{
    Body::new(StreamBody::new(chunks))
}

/// A response body holding `bytes`.
pub(crate) fn full_body(bytes: impl Into<Bytes>) -> Body {
    Body::new(http_body_util::Full::new(bytes.into()))
}
